//! The `encoding` key: Go's `decode.LookupEncoding` names, the encoded newline the
//! splitter looks for, and token decoding to UTF-8 (invalid input becomes U+FFFD).

/// A resolved `encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `utf-8`, `utf8`, `ascii`, `us-ascii`, `""`.
    Utf8,
    /// `nop`: tokens stay bytes.
    Nop,
    /// `utf-16`, `utf16`, `utf-16le`: little endian, BOM not interpreted.
    Utf16Le,
    /// `utf-16be`.
    Utf16Be,
    /// ISO-8859-1 (IANA's latin1, where 0x80-0x9F are C1 controls; the WHATWG tables
    /// would map it to windows-1252).
    Latin1,
    /// Another single- or multi-byte charset whose newline is the byte `\n`.
    Other(&'static encoding_rs::Encoding),
}

const LATIN1_LABELS: &[&str] = &[
    "iso-8859-1",
    "iso_8859-1",
    "iso_8859-1:1987",
    "iso-ir-100",
    "latin1",
    "l1",
    "ibm819",
    "cp819",
    "csisolatin1",
    "iso8859-1",
    "iso88591",
];

impl Encoding {
    /// Go's lookup: the overrides first, then the IANA name index.
    pub fn lookup(name: &str) -> Result<Encoding, String> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "" | "utf-8" | "utf8" | "ascii" | "us-ascii" => return Ok(Encoding::Utf8),
            "nop" => return Ok(Encoding::Nop),
            "utf-16" | "utf16" | "utf-16le" => return Ok(Encoding::Utf16Le),
            "utf-16be" => return Ok(Encoding::Utf16Be),
            _ => {}
        }
        if LATIN1_LABELS.contains(&lower.as_str()) {
            return Ok(Encoding::Latin1);
        }
        match encoding_rs::Encoding::for_label_no_replacement(lower.as_bytes()) {
            Some(e) if e == encoding_rs::UTF_8 => Ok(Encoding::Utf8),
            Some(e) if e == encoding_rs::UTF_16LE => Ok(Encoding::Utf16Le),
            Some(e) if e == encoding_rs::UTF_16BE => Ok(Encoding::Utf16Be),
            Some(e) if e == encoding_rs::X_USER_DEFINED => {
                Err(format!("unsupported encoding '{name}'"))
            }
            Some(e) => Ok(Encoding::Other(e)),
            None => Err(format!("unsupported encoding '{name}'")),
        }
    }

    /// `\n` in this encoding.
    pub fn newline(self) -> &'static [u8] {
        match self {
            Encoding::Utf16Le => b"\n\0",
            Encoding::Utf16Be => b"\0\n",
            _ => b"\n",
        }
    }

    /// `\r` in this encoding.
    pub fn carriage_return(self) -> &'static [u8] {
        match self {
            Encoding::Utf16Le => b"\r\0",
            Encoding::Utf16Be => b"\0\r",
            _ => b"\r",
        }
    }

    /// Decodes one token to UTF-8, replacing what cannot be decoded with U+FFFD.
    /// [`Encoding::decode`] into a reference-counted text (valid UTF-8 is copied once).
    pub fn decode_shared(self, raw: &[u8]) -> std::sync::Arc<str> {
        if matches!(self, Encoding::Utf8 | Encoding::Nop)
            && let Ok(s) = utf8(raw)
        {
            return std::sync::Arc::from(s);
        }
        std::sync::Arc::from(self.decode(raw))
    }

    pub fn decode(self, raw: &[u8]) -> String {
        match self {
            Encoding::Utf8 | Encoding::Nop => decode_utf8_lossy(raw),
            Encoding::Latin1 => raw.iter().map(|&b| b as char).collect(),
            Encoding::Utf16Le => encoding_rs::UTF_16LE
                .decode_without_bom_handling(raw)
                .0
                .into_owned(),
            Encoding::Utf16Be => encoding_rs::UTF_16BE
                .decode_without_bom_handling(raw)
                .0
                .into_owned(),
            Encoding::Other(e) => e.decode_without_bom_handling(raw).0.into_owned(),
        }
    }
}

/// `raw` as text when it is valid UTF-8, checked 32 bytes at a time where the CPU has AVX2
/// (`simdutf8`, already in the build for another crate): every line read is checked, and
/// std's check was 1 % (100-byte lines) to 2 % (1 KiB lines) of the node agent's CPU.
/// Where the bytes are not valid it says only that: callers then decode them with their
/// replacements.
#[inline]
fn utf8(raw: &[u8]) -> Result<&str, simdutf8::basic::Utf8Error> {
    simdutf8::basic::from_utf8(raw)
}

/// UTF-8 with one U+FFFD per invalid byte, as Go's x/text UTF-8 decoder does (Rust's
/// `from_utf8_lossy` replaces a whole invalid sequence by one).
pub fn decode_utf8_lossy(raw: &[u8]) -> String {
    match utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut out = String::with_capacity(raw.len() + 8);
            let mut rest = raw;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let valid = e.valid_up_to();
                        // valid_up_to is a char boundary by definition
                        out.push_str(std::str::from_utf8(&rest[..valid]).unwrap_or_default());
                        out.push('\u{FFFD}');
                        rest = &rest[valid + 1..];
                    }
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_gos_names() {
        assert_eq!(Encoding::lookup("UTF-8"), Ok(Encoding::Utf8));
        assert_eq!(Encoding::lookup(""), Ok(Encoding::Utf8));
        assert_eq!(Encoding::lookup("utf-16"), Ok(Encoding::Utf16Le));
        assert_eq!(Encoding::lookup("utf-16be"), Ok(Encoding::Utf16Be));
        assert_eq!(Encoding::lookup("latin1"), Ok(Encoding::Latin1));
        assert_eq!(Encoding::lookup("nop"), Ok(Encoding::Nop));
        assert!(matches!(
            Encoding::lookup("shift_jis"),
            Ok(Encoding::Other(_))
        ));
        assert!(matches!(Encoding::lookup("big5"), Ok(Encoding::Other(_))));
        assert!(matches!(
            Encoding::lookup("windows-1252"),
            Ok(Encoding::Other(_))
        ));
        assert_eq!(
            Encoding::lookup("nope"),
            Err("unsupported encoding 'nope'".into())
        );
    }

    #[test]
    fn decodes_with_replacement_per_invalid_byte() {
        assert_eq!(decode_utf8_lossy(b"ok \xe2\x82 x"), "ok \u{FFFD}\u{FFFD} x");
        assert_eq!(Encoding::Latin1.decode(b"caf\xe9 \x85"), "café \u{85}");
        assert_eq!(
            Encoding::Utf16Le.decode(&[0xFF, 0xFE, b'h', 0, b'i', 0]),
            "\u{FEFF}hi"
        );
        assert_eq!(Encoding::Utf16Be.decode(&[0, b'h', 0, b'i']), "hi");
        let sjis = Encoding::lookup("shift_jis").unwrap();
        assert_eq!(sjis.decode(&[0x82, 0xa0]), "あ");
    }
}
