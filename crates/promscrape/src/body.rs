//! The scrape body: gunzipped when the target sent it gzip'd, and never more than
//! `body_size_limit` bytes (the decompressed size counts, as in Prometheus).

use std::io::Read;

/// Prometheus's error text when a body passes `body_size_limit`.
pub const BODY_SIZE_LIMIT_EXCEEDED: &str = "body size limit exceeded";

/// Decodes `raw` as its `Content-Encoding` says (`gzip` or none; `limit` 0 is no limit) into
/// a buffer the caller keeps between scrapes (a target's bodies are about the same size
/// every time, and a fresh buffer of many megabytes is fresh pages to fault in on every
/// scrape): `Ok(true)` when the body was inflated into `out` (cleared first), `Ok(false)`
/// when `raw` is the body as it is (no copy of a scrape of many megabytes).
pub fn decode_into(
    raw: &[u8],
    content_encoding: &str,
    limit: u64,
    out: &mut Vec<u8>,
) -> Result<bool, String> {
    let enc = content_encoding.trim();
    if enc.is_empty() || enc.eq_ignore_ascii_case("identity") {
        if limit > 0 && raw.len() as u64 > limit {
            return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
        }
        return Ok(false);
    }
    if !enc.eq_ignore_ascii_case("gzip") {
        return Err(format!("unsupported Content-Encoding {enc:?}"));
    }
    // A gzip member ends with its uncompressed size (mod 2^32): the last member's is a good
    // hint for the usual single-member body, and saves growing a buffer of many megabytes
    // by doubling (a copy and fresh pages each time). A hint that lies costs at most the
    // 64 MiB cap of address space, committed only as it is written.
    let trailer = raw
        .len()
        .checked_sub(4)
        .and_then(|at| raw.get(at..))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let mut hint = raw.len().saturating_mul(4).max(trailer.saturating_add(1));
    if limit > 0 {
        hint = hint.min(
            usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
    }
    out.clear();
    out.reserve(hint.min(64 << 20));
    let decoder = flate2::read::MultiGzDecoder::new(raw);
    let read = if limit > 0 {
        decoder.take(limit + 1).read_to_end(out)
    } else {
        let mut d = decoder;
        d.read_to_end(out)
    };
    read.map_err(|e| format!("decompressing the gzip'd body: {e}"))?;
    if limit > 0 && out.len() as u64 > limit {
        return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
    }
    Ok(true)
}
