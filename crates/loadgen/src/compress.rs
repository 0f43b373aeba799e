//! Request body compression as OTLP senders do it (gzip, zstd), with reusable state.

use std::io::Read;

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
    /// Raw deflate state, reset between requests (creating one costs ~300 KB of allocations).
    gzip: Option<flate2::Compress>,
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
        let gzip = match kind {
            Compression::Gzip => Some(flate2::Compress::new(
                flate2::Compression::new(level.clamp(0, 9) as u32),
                false,
            )),
            _ => None,
        };
        Ok(Compressor { kind, gzip, zstd })
    }

    pub fn kind(&self) -> Compression {
        self.kind
    }

    /// Appends the compressed form of `input` to `out`.
    pub fn compress_append(&mut self, input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        match self.kind {
            Compression::None => out.extend_from_slice(input),
            Compression::Gzip => {
                let c = self.gzip.as_mut().expect("gzip compressor");
                c.reset();
                // RFC 1952 member: fixed header (no name, no mtime, OS unknown), raw deflate,
                // CRC-32 and size of the input.
                out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
                out.reserve(input.len() / 2 + 64);
                let mut consumed = 0;
                loop {
                    let before_in = c.total_in();
                    let status =
                        c.compress_vec(&input[consumed..], out, flate2::FlushCompress::Finish)?;
                    consumed += (c.total_in() - before_in) as usize;
                    if status == flate2::Status::StreamEnd {
                        break;
                    }
                    out.reserve(out.capacity().max(4096));
                }
                let mut crc = flate2::Crc::new();
                crc.update(input);
                out.extend_from_slice(&crc.sum().to_le_bytes());
                out.extend_from_slice(&(input.len() as u32).to_le_bytes());
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
    fn a_reused_compressor_produces_independent_members() {
        for kind in [Compression::Gzip, Compression::Zstd] {
            let mut c = Compressor::new(kind, Some(1)).unwrap();
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
        let mut c = Compressor::new(Compression::Gzip, None).unwrap();
        let mut out = Vec::new();
        c.compress_append(&[0u8; 100_000], &mut out).unwrap();
        let err = decompress(Some("gzip"), &out, 1000).unwrap_err();
        assert!(err.to_string().contains("exceeds"), "{err}");
        assert!(decompress(Some("br"), &out, 1000).is_err());
    }
}
