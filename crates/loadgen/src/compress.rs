//! Request body compression as OTLP senders do it (gzip, zstd), with reusable state.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The `grpc-encoding` / `Content-Encoding` value, if any.
    pub fn encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// A compressor for one kind and level, by the collector's own code (the `compression`
/// crate: libdeflate for gzip, zstd's bulk API, per-thread state reused), so that the floor
/// and the generator compress as fast as ferrotel does. It holds no state of its own.
#[derive(Debug, Clone, Copy)]
pub struct Compressor {
    kind: Compression,
    level: Option<i32>,
}

impl Compressor {
    /// `level`: gzip 0-12 (default 6, like tonic and Go), zstd 1-22 (default 3).
    pub fn new(kind: Compression, level: Option<i32>) -> anyhow::Result<Compressor> {
        if let Some(codec) = codec(kind) {
            codec.validate_level(level).map_err(anyhow::Error::msg)?;
        }
        Ok(Compressor { kind, level })
    }

    pub fn kind(&self) -> Compression {
        self.kind
    }

    /// Appends the compressed form of `input` to `out`.
    pub fn compress_append(&self, input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        match codec(self.kind) {
            None => out.extend_from_slice(input),
            Some(c) => {
                compression::compress_into(c, self.level, input, out)?;
            }
        }
        Ok(())
    }
}

fn codec(kind: Compression) -> Option<compression::Codec> {
    match kind {
        Compression::None => None,
        Compression::Gzip => Some(compression::Codec::Gzip),
        Compression::Zstd => Some(compression::Codec::Zstd),
    }
}

/// Decompresses a request body by its `grpc-encoding` / `Content-Encoding` value, refusing to
/// produce more than `limit` bytes, by the collector's own code.
pub fn decompress(encoding: Option<&str>, input: &[u8], limit: u64) -> anyhow::Result<Vec<u8>> {
    let name = encoding.map(str::trim).unwrap_or("");
    if name.is_empty() || name == "identity" {
        return Ok(input.to_vec());
    }
    // Go's confighttp reads `deflate` as zlib, as the collector does.
    let codec = match name {
        "gzip" | "deflate" | "zstd" => compression::Codec::parse(name),
        _ => None,
    }
    .ok_or_else(|| anyhow::anyhow!("unsupported encoding {name:?}"))?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(compression::decompress(codec, input, limit)?)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compressed_bodies_round_trip() {
        let input = b"hello hello hello hello telemetry".repeat(100);
        for kind in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let c = Compressor::new(kind, None).unwrap();
            let mut out = b"pre".to_vec();
            c.compress_append(&input, &mut out).unwrap();
            assert_eq!(&out[..3], b"pre");
            assert_eq!(
                decompress(kind.encoding(), &out[3..], 1 << 20).unwrap(),
                input,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_reused_compressor_produces_independent_members() {
        for kind in [Compression::Gzip, Compression::Zstd] {
            let c = Compressor::new(kind, Some(1)).unwrap();
            for round in 0..3u8 {
                let input: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8 ^ round).collect();
                let mut out = Vec::new();
                c.compress_append(&input, &mut out).unwrap();
                assert_eq!(
                    decompress(kind.encoding(), &out, 1 << 20).unwrap(),
                    input,
                    "{kind:?} {round}"
                );
                if kind == Compression::Gzip {
                    let mut plain = Vec::new();
                    flate2::read::GzDecoder::new(&out[..])
                        .read_to_end(&mut plain)
                        .unwrap();
                    assert_eq!(plain, input);
                }
            }
        }
    }

    #[test]
    fn decompression_stops_at_the_limit() {
        let c = Compressor::new(Compression::Gzip, None).unwrap();
        let mut out = Vec::new();
        c.compress_append(&[0u8; 100_000], &mut out).unwrap();
        let err = decompress(Some("gzip"), &out, 1000).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(decompress(Some("br"), &out, 1000).is_err());
    }
}
