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
    with_compressed(input, |c| {
        out.reserve_exact(c.len());
        out.extend_from_slice(c);
        c.len()
    })
}

/// Compresses `input` into the thread's kept buffer and hands `f` the compressed bytes.
fn with_compressed<R>(input: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<R, snap::Error> {
    let bound = snap::raw::max_compress_len(input.len());
    STATE.with(|state| {
        let (encoder, kept) = &mut *state.borrow_mut();
        if bound == 0 {
            return Err(too_big(input.len()));
        }
        let mut own = Vec::new();
        let buf = if bound <= KEEP { kept } else { &mut own };
        if buf.len() < bound {
            buf.resize(bound, 0);
        }
        let n = encoder.compress(input, &mut buf[..bound])?;
        Ok(f(&buf[..n]))
    })
}

/// The encoder's error for an input over what the format's 32-bit length (with room for
/// the worst-case expansion) can take.
fn too_big(len: usize) -> snap::Error {
    snap::Error::TooBig {
        given: len as u64,
        max: u64::from(u32::MAX),
    }
}

/// The snappy block compression of `parts` concatenated, without concatenating them: each
/// part is compressed on its own and its elements follow the total length (see
/// [`concat_parts`] for why that decodes to the parts one after the other). For a small header and a large
/// body that are not contiguous (a Loki push's stream frame and its entries), this saves
/// copying the body into one buffer first; a tiny part becomes a literal.
pub fn compress_parts(parts: &[&[u8]]) -> Result<Vec<u8>, snap::Error> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if snap::raw::max_compress_len(total) == 0 {
        return Err(too_big(total));
    }
    let mut out = Vec::new();
    prost::encoding::encode_varint(total as u64, &mut out);
    for p in parts {
        with_compressed(p, |c| {
            // The part's own length header, then its elements.
            let elements = read_uvarint(c).map_or(c, |(_, header)| &c[header..]);
            out.reserve_exact(elements.len());
            out.extend_from_slice(elements);
        })?;
    }
    Ok(out)
}

/// The snappy block compression of `input`.
pub fn compress(input: &[u8]) -> Result<Vec<u8>, snap::Error> {
    let mut out = Vec::new();
    compress_into(input, &mut out)?;
    Ok(out)
}

/// Joins snappy block-compressed bodies into the block compression of their inputs
/// concatenated, without decompressing or copying them: a body is its input's length (a
/// varint) followed by literal and copy elements, and a copy reaches back only into what its
/// own body produced, so the elements of all bodies after the total length decode to the
/// inputs one after the other (Go's `snappy.Decode` and every block decoder read them so).
/// Gives the joined body's length header and where each body's elements start: the joined
/// body is the header followed by `body[start..]` of each body in order (to be sent as
/// chunks). `None` when a body does not start with a valid length or the total is over the
/// format's 32-bit length.
pub fn concat_parts(bodies: &[&[u8]]) -> Option<(Vec<u8>, Vec<usize>)> {
    let mut total: u64 = 0;
    let mut starts = Vec::with_capacity(bodies.len());
    for b in bodies {
        let (len, header) = read_uvarint(b)?;
        total = total.checked_add(len)?;
        starts.push(header);
    }
    if total > u64::from(u32::MAX) {
        return None;
    }
    let mut header = Vec::with_capacity(5);
    prost::encoding::encode_varint(total, &mut header);
    Some((header, starts))
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
    /// The joined body `concat_parts` describes, in one piece.
    fn joined(bodies: &[&[u8]]) -> Option<Vec<u8>> {
        let (header, starts) = super::concat_parts(bodies)?;
        let mut out = header;
        for (b, at) in bodies.iter().zip(starts) {
            out.extend_from_slice(&b[at..]);
        }
        Some(out)
    }

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
            let joined = joined(&refs).expect("valid bodies");
            let back = snap::raw::Decoder::new().decompress_vec(&joined).unwrap();
            assert_eq!(back, parts.concat(), "{k} parts");
        }
        assert_eq!(joined(&[&[0x80, 0x80][..]]), None);
        assert_eq!(joined(&[]).map(|b| b.len()), Some(1));
    }

    #[test]
    fn parts_compressed_apart_decode_to_the_parts_one_after_the_other() {
        let mut rng = crate::testdata::Rng::new(11);
        let mut random =
            |n: usize| -> Vec<u8> { (0..n).map(|_| rng.below(5) as u8 + b'a').collect() };
        // A frame header before a large body (the Loki push's use), empty parts, a part
        // over snappy's 64 KiB block, and a part over the kept buffer.
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![
                b"\x0a\x8c\x03\x0a\x05{a=1}".to_vec(),
                b"{\"k\":\"v\"}".repeat(900),
            ],
            vec![Vec::new()],
            vec![],
            vec![Vec::new(), random(3), Vec::new()],
            vec![random(200), random(70_000), b"z".repeat(5 << 20)],
        ];
        for parts in cases {
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let body = super::compress_parts(&refs).unwrap();
            let back = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
            assert_eq!(back, parts.concat(), "{} parts", parts.len());
            if let [one] = &refs[..] {
                assert_eq!(body, super::compress(one).unwrap(), "one part is compress");
            }
        }
    }

    #[test]
    fn concat_parts_are_the_header_and_where_each_bodys_elements_start() {
        let a = super::compress(b"first").unwrap();
        let b = super::compress(&b"second ".repeat(30)).unwrap();
        let (header, starts) = super::concat_parts(&[&a, &b]).unwrap();
        assert_eq!(
            header,
            vec![0x80 | (215 & 0x7f), 215 >> 7],
            "5 + 210 as a varint"
        );
        assert_eq!(starts, vec![1, 2], "a length of 5 is one byte, of 210 two");
        let joined = [&header[..], &a[starts[0]..], &b[starts[1]..]].concat();
        let back = snap::raw::Decoder::new().decompress_vec(&joined).unwrap();
        assert_eq!(back, [&b"first"[..], &b"second ".repeat(30)].concat());
        assert_eq!(
            super::concat_parts(&[&a, &[0xff, 0xff, 0xff, 0xff, 0xff][..]]),
            None
        );
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
