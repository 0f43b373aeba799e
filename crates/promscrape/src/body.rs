//! The scrape body: gunzipped when the target sent it gzip'd, and never more than
//! `body_size_limit` bytes (the decompressed size counts, as in Prometheus).

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
    inflate(raw, limit, out)?;
    Ok(true)
}

/// Inflates the gzip members of `raw` into `out`'s spare room, growing it (by doubling, to
/// at most `limit` + 1 bytes) only when full. flate2's `Decompress` in gzip mode reads each
/// member's header and checks its CRC and size; a reader through `read_to_end` would be the
/// same, but `read_to_end` zero-fills the room before every read into it (std cannot lend
/// uninitialised memory to a foreign `Read`): a second pass over a body of many megabytes,
/// 7 % of a scrape's CPU in the profile of bench/scrape.sh.
fn inflate(raw: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let failed = |e: &dyn std::fmt::Display| format!("decompressing the gzip'd body: {e}");
    let cap = if limit > 0 {
        usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
    } else {
        usize::MAX
    };
    let mut input = raw;
    // One member per round; the body ends where a member does.
    loop {
        let mut member = Decompress::new_gzip(15);
        loop {
            if out.len() == out.capacity() {
                let grow = out.capacity().max(64 << 10).min(cap - out.len().min(cap));
                if grow == 0 {
                    return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
                }
                out.reserve_exact(grow);
            }
            let (read_before, written_before) = (member.total_in(), out.len());
            let status = member
                .decompress_vec(input, out, FlushDecompress::None)
                .map_err(|e| failed(&e))?;
            let read = (member.total_in() - read_before) as usize;
            input = &input[read..];
            if limit > 0 && out.len() as u64 > limit {
                return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
            }
            match status {
                Status::StreamEnd => break,
                // Neither read nor written with room to write: the input ended mid-member.
                _ if read == 0 && out.len() == written_before && out.len() < out.capacity() => {
                    return Err(failed(&"unexpected end of file"));
                }
                _ => {}
            }
        }
        if input.is_empty() {
            return Ok(());
        }
    }
}
