//! Go `encoding/json`'s string escaping, the one implementation of it: the loki exporter's
//! lines and the debug exporter's `AsString` (through `components::util::gotext`) and the
//! benchmark's Loki floor write their JSON strings with it, so the floor does the same work
//! per byte as the collector it is the floor of.
//!
//! What `json.Marshal` escapes: `"` and `\\` as `\"` and `\\\\`, `\b \f \n \r \t`, other
//! control characters as `\u00xx`, U+2028 and U+2029 as `\u2028`/`\u2029`, and with HTML
//! escaping on (as `json.Marshal` has it) `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`.

/// Appends the inside (no quotes) of the JSON string `json.Marshal` writes for `s`, HTML
/// escaping on or off. Runs of plain bytes are found 16 at a time ([`plain_prefix`]) and copied
/// at once. Bytes that are not UTF-8 are copied as they are (Go writes `\ufffd` for each):
/// callers holding text use [`escape_str_into`].
#[inline]
pub fn escape_into(out: &mut Vec<u8>, b: &[u8], html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len());
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        i += plain_prefix(&b[i..]);
        if i >= b.len() {
            break;
        }
        let c = b[i];
        if !html && matches!(c, b'<' | b'>' | b'&') {
            i += 1;
            continue;
        }
        let (esc, width): (&[u8], usize) = match c {
            b'"' => (b"\\\"", 1),
            b'\\' => (b"\\\\", 1),
            0x08 => (b"\\b", 1),
            0x0c => (b"\\f", 1),
            b'\n' => (b"\\n", 1),
            b'\r' => (b"\\r", 1),
            b'\t' => (b"\\t", 1),
            b'<' => (b"\\u003c", 1),
            b'>' => (b"\\u003e", 1),
            b'&' => (b"\\u0026", 1),
            0xE2 if b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0xA8) => (b"\\u2028", 3),
            0xE2 if b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0xA9) => (b"\\u2029", 3),
            0xE2 => {
                i += 1;
                continue;
            }
            _ => (b"", 1), // other control characters
        };
        out.extend_from_slice(&b[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]);
        } else {
            out.extend_from_slice(esc);
        }
        i += width;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
}

/// [`escape_into`] a `String`.
#[inline]
pub fn escape_str_into(out: &mut String, s: &str, html: bool) {
    // SAFETY: `escape_into` appends `s` whole, except that it replaces some of its
    // characters, each whole (one ASCII byte, or the three bytes of U+2028/U+2029), by ASCII
    // text: what it appends to `out` is UTF-8 when `s` is.
    escape_into(unsafe { out.as_mut_vec() }, s.as_bytes(), html)
}

/// Whether the escaped form of `text[k..]` is the end of the escaped form of `text` (from
/// byte `k` of it on), so that it can be copied from there instead of escaped again: true
/// when `text[..k]` needs no escaping (it then escapes to itself, `k` bytes), since escaping
/// goes byte by byte or character by character. A parser's last group is often such a tail
/// of the line (the containerd `log` after time, stream and tag).
#[inline]
pub fn escaped_tail_is_suffix(text: &[u8], k: usize) -> bool {
    k <= text.len() && plain_prefix(&text[..k]) == k
}

/// How many leading bytes of `b` are plain, none of them one [`escape_into`] must look at
/// (a control byte, `"`, `\\`, `<`, `>`, `&`, or 0xE2, the lead byte of U+2028/U+2029):
/// 16 at a time with SSE2 (every x86-64 has it); the tail of a string of 16 bytes or more by
/// its last 16 (overlapping what was looked at), and a string shorter than 16 byte by byte
/// (most attribute values are: no copy into a padded block). Stops at the first byte that
/// may need escaping. (32 at a time with AVX2 measured no better on the filelog -> Loki
/// path.)
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn plain_prefix(b: &[u8]) -> usize {
    use std::arch::x86_64::*;
    let mut i = 0;
    // SAFETY: SSE2 is part of the x86-64 baseline; loads are unaligned and in bounds
    // (`i + 16 <= b.len()`, or of the 16-byte `pad`).
    unsafe {
        let limit = _mm_set1_epi8(0x1f);
        let targets = [b'"', b'\\', b'<', b'>', b'&', 0xE2].map(|t| _mm_set1_epi8(t as i8));
        let special = |x: __m128i| {
            // x <= 0x1f (unsigned): min(x, 0x1f) == x.
            let mut hits = _mm_cmpeq_epi8(_mm_min_epu8(x, limit), x);
            for t in targets {
                hits = _mm_or_si128(hits, _mm_cmpeq_epi8(x, t));
            }
            _mm_movemask_epi8(hits)
        };
        while i + 16 <= b.len() {
            let mask = special(_mm_loadu_si128(b.as_ptr().add(i).cast()));
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
        if i == b.len() {
            return i;
        }
        if b.len() < 16 {
            return b
                .iter()
                .position(|&c| JSON_SPECIAL[c as usize])
                .unwrap_or(b.len());
        }
        // The last 16 bytes; those before `i` were found plain already.
        let start = b.len() - 16;
        let mask = special(_mm_loadu_si128(b.as_ptr().add(start).cast())) >> (i - start);
        if mask != 0 {
            i + mask.trailing_zeros() as usize
        } else {
            b.len()
        }
    }
}

/// How many leading bytes of `b` are plain (none is marked in [`JSON_SPECIAL`]), byte by
/// byte where SSE2 is not there to look at 16 at a time.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn plain_prefix(b: &[u8]) -> usize {
    b.iter()
        .position(|&c| JSON_SPECIAL[c as usize])
        .unwrap_or(b.len())
}

/// Bytes [`escape_into`] must look at: controls, `"`, `\\`, `<`, `>`, `&`, and 0xE2.
static JSON_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xE2] = true;
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str, html: bool) -> String {
        let mut out = String::new();
        escape_str_into(&mut out, s, html);
        out
    }

    #[test]
    fn escapes_as_json_marshal() {
        assert_eq!(
            esc("a<b>&\"\\\n\t\r\u{1}\u{8}\u{c}\u{1f}\u{2028}é", true),
            r#"a\u003cb\u003e\u0026\"\\\n\t\r\u0001\b\f\u001f\u2028é"#
        );
        // Other characters whose UTF-8 starts with 0xE2 pass; U+2029 is escaped.
        assert_eq!(
            esc("—\u{2027}\u{2029}\u{202a}✓", true),
            "—\u{2027}\\u2029\u{202a}✓"
        );
        // HTML escaping off leaves <, >, & alone and escapes the rest alike.
        assert_eq!(esc("<&>\"", false), "<&>\\\"");
        // Long plain runs around the escapes (the 16-byte steps and the overlapping tail).
        let long = format!("{}\"{}\n{}", "x".repeat(37), "y".repeat(16), "z".repeat(5));
        assert_eq!(
            esc(&long, true),
            format!(
                "{}\\\"{}\\n{}",
                "x".repeat(37),
                "y".repeat(16),
                "z".repeat(5)
            )
        );
    }

    /// Where `escaped_tail_is_suffix` says so, the tail's escaped form is the end of the
    /// whole text's; it says so for every plain prefix.
    #[test]
    fn an_escaped_tail_after_a_plain_prefix_is_the_end_of_the_escaped_text() {
        let texts = [
            "2024-05-01T12:00:00Z stdout F say \"hi\" <b> & \u{2028} é\n",
            "plain text only, long enough to take more than one sixteen-byte step",
            "a\"b",
            "",
        ];
        let mut suffixes = 0;
        for text in texts {
            for k in 0..=text.len() + 1 {
                if !escaped_tail_is_suffix(text.as_bytes(), k) {
                    continue;
                }
                suffixes += 1;
                let (mut whole, mut tail) = (Vec::new(), Vec::new());
                escape_into(&mut whole, text.as_bytes(), true);
                escape_into(&mut tail, &text.as_bytes()[k..], true);
                assert_eq!(whole[k..], tail[..], "{text:?} from {k}");
            }
            assert!(!escaped_tail_is_suffix(text.as_bytes(), text.len() + 1));
        }
        assert!(suffixes > 60, "{suffixes}");
        assert!(!escaped_tail_is_suffix(b"a\"b", 2));
    }

    /// The wide scan finds exactly the first byte the table marks, whatever the length and
    /// wherever that byte is: in a short string, in a 16-byte step, in the overlapping last
    /// 16 bytes (before, at and after where the steps stopped).
    #[test]
    fn plain_prefix_stops_at_exactly_the_first_byte_to_look_at() {
        for len in 0..70 {
            let plain = vec![b'a'; len];
            assert_eq!(plain_prefix(&plain), len);
            for at in 0..len {
                for special in [b'"', b'\\', b'<', b'>', b'&', 0xE2, 0x00, 0x1f, b'\n'] {
                    let mut b = plain.clone();
                    b[at] = special;
                    // A second one later must not be the one found.
                    if at + 3 < len {
                        b[at + 3] = b'"';
                    }
                    assert_eq!(plain_prefix(&b), at, "len {len}, {special:#x} at {at}");
                }
                // Bytes that are never special, just below and above the marked ones.
                let mut b = plain.clone();
                b[at] = [0x20, b'!', b'#', b';', b'=', b'?', 0xE1, 0xE3, 0x7f, 0xff][at % 10];
                assert_eq!(plain_prefix(&b), len);
            }
        }
    }
}
