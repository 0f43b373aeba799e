//! Snappy block compression (the body format of Prometheus remote write, Loki push and
//! OTLP's `snappy` content encoding), written once for every component that sends it.
//!
//! `snap` compresses into an initialised `&mut [u8]` of the worst-case size. Each thread
//! keeps its encoder (the hash table) and, up to [`KEEP`], that output buffer: a zeroed
//! worst-case buffer per request was fresh pages every time (measured on the scrape ->
//! remote-write path, docs/performance.md). Larger requests use a buffer of their own, so
//! that one huge request does not stay resident for the thread's life.

use std::cell::RefCell;

/// The largest output buffer a thread keeps between requests.
pub const KEEP: usize = 4 << 20;

thread_local! {
    static STATE: RefCell<(snap::raw::Encoder, Vec<u8>)> =
        RefCell::new((snap::raw::Encoder::new(), Vec::new()));
}

/// Appends the snappy block compression of `input` to `out`; returns the bytes appended.
pub fn compress_into(input: &[u8], out: &mut Vec<u8>) -> Result<usize, snap::Error> {
    let bound = snap::raw::max_compress_len(input.len());
    STATE.with(|state| {
        let (encoder, kept) = &mut *state.borrow_mut();
        if bound == 0 {
            // Too large for snappy: the encoder says so.
            return encoder.compress(input, &mut []);
        }
        let mut own = Vec::new();
        let buf = if bound <= KEEP { kept } else { &mut own };
        if buf.len() < bound {
            buf.resize(bound, 0);
        }
        let n = encoder.compress(input, &mut buf[..bound])?;
        out.reserve_exact(n);
        out.extend_from_slice(&buf[..n]);
        Ok(n)
    })
}

/// The snappy block compression of `input`.
pub fn compress(input: &[u8]) -> Result<Vec<u8>, snap::Error> {
    let mut out = Vec::new();
    compress_into(input, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bodies_round_trip_whatever_sizes_came_before_on_the_thread() {
        // Sizes that grow the kept buffer, go past what is kept, shrink and grow again: a
        // longer buffer left by an earlier request must not leak into a later body.
        for n in [0usize, 1, 100_000, 17 << 20, 10, 3 << 20, 5 << 20, 7] {
            let raw: Vec<u8> = (0..n).map(|i| (i % 251) as u8 ^ (i / 4096) as u8).collect();
            let body = super::compress(&raw).unwrap();
            let back = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
            assert_eq!(back, raw, "size {n}");
            let mut out = b"head".to_vec();
            assert_eq!(super::compress_into(&raw, &mut out).unwrap(), body.len());
            assert_eq!(&out[..4], b"head");
            assert_eq!(&out[4..], &body[..], "size {n}");
        }
    }
}
