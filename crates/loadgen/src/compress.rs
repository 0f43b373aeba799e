//! Request body compression as OTLP senders do it (gzip, zstd), with reusable state.

use std::io::{Read, Write};

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

/// A compressor that keeps its state between requests.
pub struct Compressor {
    kind: Compression,
    level: i32,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl Compressor {
    /// `level`: gzip 0-9 (default 6, like tonic and Go), zstd 1-22 (default 3).
    pub fn new(kind: Compression, level: Option<i32>) -> anyhow::Result<Compressor> {
        let level = level.unwrap_or(match kind {
            Compression::Gzip => 6,
            Compression::Zstd => zstd::DEFAULT_COMPRESSION_LEVEL,
            Compression::None => 0,
        });
        let zstd = match kind {
            Compression::Zstd => Some(zstd::bulk::Compressor::new(level)?),
            _ => None,
        };
        Ok(Compressor { kind, level, zstd })
    }

    pub fn kind(&self) -> Compression {
        self.kind
    }

    /// Appends the compressed form of `input` to `out`.
    pub fn compress_append(&mut self, input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        match self.kind {
            Compression::None => out.extend_from_slice(input),
            Compression::Gzip => {
                let level = flate2::Compression::new(self.level.clamp(0, 9) as u32);
                let mut enc = flate2::write::GzEncoder::new(std::mem::take(out), level);
                enc.write_all(input)?;
                *out = enc.finish()?;
            }
            Compression::Zstd => {
                let c = self.zstd.as_mut().expect("zstd compressor");
                let compressed = c.compress(input)?;
                out.extend_from_slice(&compressed);
            }
        }
        Ok(())
    }
}

/// Decompresses a request body by its `grpc-encoding` / `Content-Encoding` value, refusing to
/// produce more than `limit` bytes.
pub fn decompress(encoding: Option<&str>, input: &[u8], limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 4);
    match encoding.map(str::trim) {
        None | Some("") | Some("identity") => return Ok(input.to_vec()),
        Some("gzip") => {
            flate2::read::MultiGzDecoder::new(input)
                .take(limit + 1)
                .read_to_end(&mut out)?;
        }
        Some("deflate") => {
            flate2::read::ZlibDecoder::new(input)
                .take(limit + 1)
                .read_to_end(&mut out)?;
        }
        Some("zstd") => {
            zstd::stream::read::Decoder::new(input)?
                .take(limit + 1)
                .read_to_end(&mut out)?;
        }
        Some(other) => anyhow::bail!("unsupported encoding {other:?}"),
    }
    anyhow::ensure!(
        out.len() as u64 <= limit,
        "decompressed body exceeds {limit} bytes"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_bodies_round_trip() {
        let input = b"hello hello hello hello telemetry".repeat(100);
        for kind in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let mut c = Compressor::new(kind, None).unwrap();
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
    fn decompression_stops_at_the_limit() {
        let mut c = Compressor::new(Compression::Gzip, None).unwrap();
        let mut out = Vec::new();
        c.compress_append(&[0u8; 100_000], &mut out).unwrap();
        let err = decompress(Some("gzip"), &out, 1000).unwrap_err();
        assert!(err.to_string().contains("exceeds"), "{err}");
        assert!(decompress(Some("br"), &out, 1000).is_err());
    }
}
