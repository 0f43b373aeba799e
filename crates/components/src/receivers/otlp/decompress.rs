//! HTTP request body decompression with a hard size cap, so that a small compressed body
//! (a "zip bomb") never makes the receiver allocate more than `max_request_body_size`.

use std::io::Read;

/// A `Content-Encoding` the OTLP/HTTP receiver understands (Go confighttp's set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Zstd,
    /// `zlib`, and `deflate`, which Go decodes as zlib too.
    Zlib,
    /// Snappy block format.
    Snappy,
    /// Snappy framing format (`x-snappy-framed`).
    SnappyFramed,
    /// LZ4 frame format.
    Lz4,
}

impl Encoding {
    /// Parses a `Content-Encoding` value; `None` if unsupported.
    pub fn parse(value: &str) -> Option<Encoding> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Encoding::Identity,
            "gzip" => Encoding::Gzip,
            "zstd" => Encoding::Zstd,
            "zlib" | "deflate" => Encoding::Zlib,
            "snappy" => Encoding::Snappy,
            "x-snappy-framed" => Encoding::SnappyFramed,
            "lz4" => Encoding::Lz4,
            _ => return None,
        })
    }
}

/// Why a body could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    #[error("request body too large: more than {limit} bytes after decompression")]
    TooLarge { limit: usize },
    #[error("failed to decompress {encoding} body: {message}")]
    Corrupt {
        encoding: &'static str,
        message: String,
    },
}

/// Decompresses `body` into at most `limit` bytes.
pub fn decompress(
    encoding: Encoding,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |encoding: &'static str| {
        move |e: std::io::Error| DecompressError::Corrupt {
            encoding,
            message: e.to_string(),
        }
    };
    match encoding {
        Encoding::Identity => {
            if body.len() > limit {
                return Err(DecompressError::TooLarge { limit });
            }
            Ok(body.to_vec())
        }
        Encoding::Gzip => read_capped(flate2::read::MultiGzDecoder::new(body), limit, body.len())
            .map_err_io(corrupt("gzip")),
        Encoding::Zlib => read_capped(flate2::read::ZlibDecoder::new(body), limit, body.len())
            .map_err_io(corrupt("zlib")),
        Encoding::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::new(body).map_err(corrupt("zstd"))?;
            // The decoder allocates the window a frame header asks for; keep that bounded by
            // the cap (but allow the 8 MiB windows of ordinary compression levels).
            let log = (usize::BITS - limit.max(1).saturating_sub(1).leading_zeros()).clamp(23, 27);
            decoder.window_log_max(log).map_err(corrupt("zstd"))?;
            read_capped(decoder, limit, body.len()).map_err_io(corrupt("zstd"))
        }
        Encoding::Snappy => {
            let len = snap::raw::decompress_len(body).map_err(|e| DecompressError::Corrupt {
                encoding: "snappy",
                message: e.to_string(),
            })?;
            if len > limit {
                return Err(DecompressError::TooLarge { limit });
            }
            snap::raw::Decoder::new()
                .decompress_vec(body)
                .map_err(|e| DecompressError::Corrupt {
                    encoding: "snappy",
                    message: e.to_string(),
                })
        }
        Encoding::SnappyFramed => {
            read_capped(snap::read::FrameDecoder::new(body), limit, body.len())
                .map_err_io(corrupt("x-snappy-framed"))
        }
        Encoding::Lz4 => read_capped(lz4_flex::frame::FrameDecoder::new(body), limit, body.len())
            .map_err_io(corrupt("lz4")),
    }
}

/// Either too large (reported as such) or an I/O error from the decoder.
enum Capped {
    TooLarge(usize),
    Io(std::io::Error),
}

trait MapErrIo<T> {
    fn map_err_io(
        self,
        f: impl FnOnce(std::io::Error) -> DecompressError,
    ) -> Result<T, DecompressError>;
}

impl<T> MapErrIo<T> for Result<T, Capped> {
    fn map_err_io(
        self,
        f: impl FnOnce(std::io::Error) -> DecompressError,
    ) -> Result<T, DecompressError> {
        self.map_err(|e| match e {
            Capped::TooLarge(limit) => DecompressError::TooLarge { limit },
            Capped::Io(e) => f(e),
        })
    }
}

/// Reads at most `limit + 1` bytes, so going past the cap is seen without buffering more.
fn read_capped(reader: impl Read, limit: usize, compressed_len: usize) -> Result<Vec<u8>, Capped> {
    // A first guess from the compressed size; the cap bounds what a lying body can make us reserve.
    let mut out = Vec::with_capacity(compressed_len.saturating_mul(4).min(limit).min(16 << 20));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(&mut out).map_err(Capped::Io)?;
    if out.len() > limit {
        return Err(Capped::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn every_encoding_round_trips() {
        let data: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let zlib = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let framed = {
            let mut e = snap::write::FrameEncoder::new(Vec::new());
            e.write_all(&data).unwrap();
            e.into_inner().unwrap()
        };
        let lz4 = {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let cases = [
            (Encoding::Identity, data.clone()),
            (Encoding::Gzip, gzip(&data)),
            (Encoding::Zlib, zlib),
            (
                Encoding::Zstd,
                zstd::encode_all(data.as_slice(), 3).unwrap(),
            ),
            (
                Encoding::Snappy,
                snap::raw::Encoder::new().compress_vec(&data).unwrap(),
            ),
            (Encoding::SnappyFramed, framed),
            (Encoding::Lz4, lz4),
        ];
        for (enc, body) in cases {
            assert_eq!(decompress(enc, &body, data.len()).unwrap(), data, "{enc:?}");
            assert_eq!(
                decompress(enc, &body, data.len() - 1),
                Err(DecompressError::TooLarge {
                    limit: data.len() - 1
                }),
                "{enc:?}"
            );
        }
    }

    #[test]
    fn gzip_bomb_stops_at_the_cap() {
        // 64 MiB of zeros as 64 concatenated 1 MiB gzip members.
        let bomb = gzip(&vec![0u8; 1 << 20]).repeat(64);
        assert!(bomb.len() < 100 << 10);
        assert_eq!(
            decompress(Encoding::Gzip, &bomb, 1 << 20),
            Err(DecompressError::TooLarge { limit: 1 << 20 })
        );
    }

    #[test]
    fn truncated_gzip_is_corrupt() {
        let body = gzip(b"hello world, hello world");
        let err = decompress(Encoding::Gzip, &body[..body.len() - 6], 1024).unwrap_err();
        assert!(
            matches!(
                err,
                DecompressError::Corrupt {
                    encoding: "gzip",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn deflate_is_read_as_zlib_and_unknown_encodings_are_rejected() {
        assert_eq!(Encoding::parse("deflate"), Some(Encoding::Zlib));
        assert_eq!(Encoding::parse("GZIP"), Some(Encoding::Gzip));
        assert_eq!(Encoding::parse("br"), None);
    }
}
