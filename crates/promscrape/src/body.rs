//! The scrape body: gunzipped when the target sent it gzip'd, and never more than
//! `body_size_limit` bytes (the decompressed size counts, as in Prometheus).

/// Prometheus's error text when a body passes `body_size_limit`.
pub const BODY_SIZE_LIMIT_EXCEEDED: &str = "body size limit exceeded";

/// Decodes `raw` as its `Content-Encoding` says (`gzip` or none; `limit` 0 is no limit) into
/// a buffer the caller keeps between scrapes (a target's bodies are about the same size
/// every time, and a fresh buffer of many megabytes is fresh pages to fault in on every
/// scrape): `Ok(Some(n))` when the body was inflated into `out[..n]`, `Ok(None)` when `raw`
/// is the body as it is (no copy of a scrape of many megabytes).
///
/// `out` is kept initialised: its length is the room written before, which the next body
/// is inflated over, and grows (zero-filled) only when a body needs more. A body read into
/// spare room would need that room zero-filled for every body (`read_to_end` does it, and
/// flate2's zlib-rs backend does it for `decompress_vec`): a second pass over a body of
/// many megabytes, 7 % of a scrape's CPU in the profile of bench/scrape.sh.
pub fn decode_into(
    raw: &[u8],
    content_encoding: &str,
    limit: u64,
    out: &mut Vec<u8>,
) -> Result<Option<usize>, String> {
    let enc = content_encoding.trim();
    if enc.is_empty() || enc.eq_ignore_ascii_case("identity") {
        if limit > 0 && raw.len() as u64 > limit {
            return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
        }
        return Ok(None);
    }
    if !enc.eq_ignore_ascii_case("gzip") {
        return Err(format!("unsupported Content-Encoding {enc:?}"));
    }
    // A gzip member ends with its uncompressed size (mod 2^32): the last member's is a good
    // hint for the usual single-member body, and saves growing a buffer of many megabytes
    // by doubling (a copy each time). Room is reserved by it (address space: pages are
    // committed only as they are written); a size deflate cannot reach from this many bytes
    // (about 1032:1 at most) is no hint.
    let trailer = raw
        .len()
        .checked_sub(4)
        .and_then(|at| raw.get(at..))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let mut hint = if trailer > 0 && trailer <= raw.len().saturating_mul(1032) {
        trailer.saturating_add(1)
    } else {
        raw.len().saturating_mul(4)
    };
    let cap = if limit > 0 {
        usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
    } else {
        usize::MAX
    };
    hint = hint.min(cap).min(64 << 20);
    out.reserve(hint.saturating_sub(out.len()));
    inflate(raw, cap, out).map(Some)
}

/// Inflates the gzip members of `raw` over `out` (kept initialised; grown by an eighth, zero
/// filled, only when full, to at most `cap` bytes); how many bytes the body is. flate2's
/// `Decompress` in gzip mode reads each member's header and checks its CRC and size.
fn inflate(raw: &[u8], cap: usize, out: &mut Vec<u8>) -> Result<usize, String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let failed = |e: &dyn std::fmt::Display| format!("decompressing the gzip'd body: {e}");
    let (mut input, mut filled) = (raw, 0usize);
    // One member per round; the body ends where a member does.
    loop {
        let mut member = Decompress::new_gzip(15);
        loop {
            if filled == out.len() {
                // (`filled` < `cap`: checked after every write.)
                let grow = (out.len() / 8).max(64 << 10).min(cap - filled);
                out.resize(filled + grow, 0);
            }
            let (read_before, written_before) = (member.total_in(), member.total_out());
            let status = member
                .decompress(input, &mut out[filled..], FlushDecompress::None)
                .map_err(|e| failed(&e))?;
            let read = (member.total_in() - read_before) as usize;
            let written = (member.total_out() - written_before) as usize;
            input = &input[read..];
            filled += written;
            if filled >= cap {
                return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
            }
            match status {
                Status::StreamEnd => break,
                // Neither read nor written, with room to write: the input ended mid-member.
                _ if read == 0 && written == 0 => return Err(failed(&"unexpected end of file")),
                _ => {}
            }
        }
        if input.is_empty() {
            return Ok(filled);
        }
    }
}
