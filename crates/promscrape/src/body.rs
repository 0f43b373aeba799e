//! The scrape body: gunzipped when the target sent it gzip'd, and never more than
//! `body_size_limit` bytes (the decompressed size counts, as in Prometheus).

use std::io::Read;

/// Prometheus's error text when a body passes `body_size_limit`.
pub const BODY_SIZE_LIMIT_EXCEEDED: &str = "body size limit exceeded";

/// Decodes `raw` as its `Content-Encoding` says (`gzip` or none); `limit` 0 is no limit. An
/// uncompressed body is handed back as it is (no copy of a scrape of many megabytes).
pub fn decode(raw: Vec<u8>, content_encoding: &str, limit: u64) -> Result<Vec<u8>, String> {
    let enc = content_encoding.trim();
    if enc.is_empty() || enc.eq_ignore_ascii_case("identity") {
        if limit > 0 && raw.len() as u64 > limit {
            return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
        }
        return Ok(raw);
    }
    if !enc.eq_ignore_ascii_case("gzip") {
        return Err(format!("unsupported Content-Encoding {enc:?}"));
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(64 << 20));
    let decoder = flate2::read::MultiGzDecoder::new(&raw[..]);
    let read = if limit > 0 {
        decoder.take(limit + 1).read_to_end(&mut out)
    } else {
        let mut d = decoder;
        d.read_to_end(&mut out)
    };
    read.map_err(|e| format!("decompressing the gzip'd body: {e}"))?;
    if limit > 0 && out.len() as u64 > limit {
        return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
    }
    Ok(out)
}
