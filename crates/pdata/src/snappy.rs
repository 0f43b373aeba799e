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

/// Joins snappy block-compressed bodies into the block compression of their inputs
/// concatenated, without decompressing: a body is its input's length (a varint) followed
/// by literal and copy elements, and a copy reaches back only into what its own body
/// produced, so the elements of all bodies after the total length decode to the inputs one
/// after the other (Go's `snappy.Decode` and every block decoder read them so). `None` when
/// a body does not start with a valid length.
pub fn concat(bodies: &[&[u8]]) -> Option<Vec<u8>> {
    let mut total: u64 = 0;
    let mut elements = Vec::with_capacity(bodies.len());
    for b in bodies {
        let (len, header) = read_uvarint(b)?;
        total = total.checked_add(len)?;
        elements.push(&b[header..]);
    }
    // The length header is a 32-bit varint in the format.
    if total > u64::from(u32::MAX) {
        return None;
    }
    let mut out = Vec::with_capacity(5 + elements.iter().map(|e| e.len()).sum::<usize>());
    let mut v = total;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    for e in elements {
        out.extend_from_slice(e);
    }
    Some(out)
}

/// A little-endian base-128 varint of at most 5 bytes (snappy's length header) and its size.
fn read_uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(5) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn concatenated_bodies_decode_to_the_inputs_one_after_the_other() {
        // Empty inputs, inputs across snappy's 64 KiB blocks, repetitive and random ones
        // (copies and literals), and a varint header of several bytes.
        let mut rng = crate::testdata::Rng::new(7);
        let mut random =
            |n: usize| -> Vec<u8> { (0..n).map(|_| rng.below(7) as u8 + b'a').collect() };
        let inputs: Vec<Vec<u8>> = vec![
            b"{\"body\":\"a line\"}".repeat(40),
            Vec::new(),
            random(70_000),
            b"x".repeat(200_000),
            random(1),
            random(3000),
        ];
        for k in 1..=inputs.len() {
            let parts = &inputs[..k];
            let bodies: Vec<Vec<u8>> = parts.iter().map(|p| super::compress(p).unwrap()).collect();
            let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
            let joined = super::concat(&refs).expect("valid bodies");
            let back = snap::raw::Decoder::new().decompress_vec(&joined).unwrap();
            assert_eq!(back, parts.concat(), "{k} parts");
        }
        assert_eq!(super::concat(&[&[0x80, 0x80][..]]), None);
        assert_eq!(super::concat(&[]).map(|b| b.len()), Some(1));
    }

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
