//! One-shot compression and decompression of whole buffers, for exporters (a batch is
//! compressed once per attempt) and receivers (a request body is decompressed once).
//!
//! gzip and zlib go through libdeflate, which works on whole buffers and is several times
//! faster than a streaming deflate at the same level; zstd through the `zstd` crate's bulk API;
//! snappy (block and framed) through `snap`; lz4 (frame format, as Go's confighttp) through
//! `lz4_flex`. Compressor state (libdeflate and zstd contexts) lives in a per-thread
//! workspace and is reused; snappy's block format goes through `pdata::snappy`, shared with
//! the Loki and remote-write bodies. gzip, zlib and zstd write straight into the spare
//! capacity of the output (reserved at the compress bound, shrunk back afterwards), so no
//! per-thread output buffer pins the size of the largest batch ever compressed: past glibc's
//! mmap threshold the reservation is a fresh mapping whose unwritten pages never become
//! resident.
//!
//! ```
//! use compression::{Codec, compress, decompress};
//! let body = b"hello hello hello hello".repeat(100);
//! let gz = compress(Codec::Gzip, None, &body).unwrap();
//! assert!(gz.len() < body.len());
//! assert_eq!(decompress(Codec::Gzip, &gz, 1 << 20).unwrap(), body);
//! ```

use std::cell::RefCell;
use std::io::{Read, Write};

use bytes::Bytes;
use serde::Deserialize;

/// A compression format, named as in `Content-Encoding` / `grpc-encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    /// zlib streams; Go's confighttp writes and reads `deflate` as zlib too.
    Zlib,
    Zstd,
    /// Snappy block format (`snappy`).
    Snappy,
    /// Snappy framing format (`x-snappy-framed`).
    SnappyFramed,
    /// LZ4 frame format (`lz4`).
    Lz4,
}

/// The codec of a request's `Content-Encoding` under confighttp's `compression_algorithms`
/// (`allowed`, lower case, `""` for identity): `None` for identity (no header, or
/// `identity`), Go's `unsupported Content-Encoding: x` for anything not allowed or not known.
pub fn request_codec(
    headers: &http::HeaderMap,
    allowed: &[String],
) -> Result<Option<Codec>, String> {
    let value = headers
        .get(http::header::CONTENT_ENCODING)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let value = if value == "identity" {
        String::new()
    } else {
        value
    };
    let unsupported = || format!("unsupported Content-Encoding: {value}\n");
    if !allowed.contains(&value) {
        return Err(unsupported());
    }
    if value.is_empty() {
        return Ok(None);
    }
    Codec::parse(&value).map(Some).ok_or_else(unsupported)
}

impl Codec {
    /// Parses an encoding name; `None` for unknown names and for `identity` / `none` / `""`.
    pub fn parse(name: &str) -> Option<Codec> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "gzip" => Codec::Gzip,
            "zlib" | "deflate" => Codec::Zlib,
            "zstd" => Codec::Zstd,
            "snappy" => Codec::Snappy,
            "x-snappy-framed" => Codec::SnappyFramed,
            "lz4" => Codec::Lz4,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zlib => "zlib",
            Codec::Zstd => "zstd",
            Codec::Snappy => "snappy",
            Codec::SnappyFramed => "x-snappy-framed",
            Codec::Lz4 => "lz4",
        }
    }

    /// The level used when none is configured: 6 for gzip/zlib (Go's and tonic's default, so
    /// ratios compare fairly), 3 for zstd (zstd's own default).
    pub fn default_level(self) -> i32 {
        match self {
            Codec::Gzip | Codec::Zlib => 6,
            Codec::Zstd => zstd::DEFAULT_COMPRESSION_LEVEL,
            Codec::Snappy | Codec::SnappyFramed | Codec::Lz4 => 0,
        }
    }

    /// Checks a configured level: gzip/zlib 0-12 (Go's 0-9 plus libdeflate's slower 10-12;
    /// -1 means the default), zstd its own range, none for snappy and lz4.
    pub fn validate_level(self, level: Option<i32>) -> Result<(), String> {
        let Some(level) = level else { return Ok(()) };
        let ok = match self {
            Codec::Gzip | Codec::Zlib => level == -1 || (0..=12).contains(&level),
            Codec::Zstd => zstd::compression_level_range().contains(&level),
            Codec::Snappy | Codec::SnappyFramed | Codec::Lz4 => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "compression_params: unsupported compression level {level} for {}",
                self.name()
            ))
        }
    }

    fn resolve_level(self, level: Option<i32>) -> i32 {
        match level {
            Some(l) if l != -1 && self.validate_level(Some(l)).is_ok() => l,
            _ => self.default_level(),
        }
    }
}

/// `compression_params` of client configs (Go `configcompression`): `{level: N}`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CompressionParams {
    pub level: Option<i32>,
}

/// Per-thread compressor state, reused across calls.
struct Workspace {
    /// libdeflate compressors by level (a config uses one or two levels).
    deflate: Vec<Deflater>,
    zstd: Option<(i32, zstd::bulk::Compressor<'static>)>,
    inflate: Option<Inflater>,
    unzstd: Option<zstd::bulk::Decompressor<'static>>,
}

thread_local! {
    static WORKSPACE: RefCell<Workspace> = const { RefCell::new(Workspace {
        deflate: Vec::new(),
        zstd: None,
        inflate: None,
        unzstd: None,
    }) };
}

impl Workspace {
    fn deflater(&mut self, level: i32) -> std::io::Result<&mut Deflater> {
        let i = match self.deflate.iter().position(|d| d.level == level) {
            Some(i) => i,
            None => {
                let d = Deflater::new(level)?;
                if self.deflate.len() >= 2 {
                    self.deflate.remove(0);
                }
                self.deflate.push(d);
                self.deflate.len() - 1
            }
        };
        Ok(&mut self.deflate[i])
    }

    fn zstd(&mut self, level: i32) -> std::io::Result<&mut zstd::bulk::Compressor<'static>> {
        match &mut self.zstd {
            Some((l, _)) if *l == level => {}
            Some((l, c)) => {
                c.set_compression_level(level)?;
                *l = level;
            }
            None => self.zstd = Some((level, zstd::bulk::Compressor::new(level)?)),
        }
        Ok(&mut self.zstd.as_mut().expect("set just above").1)
    }
}

/// Reserves `room` more bytes in `out`, runs `f` (which appends to `out`, in at most that room),
/// then gives back what the reservation added and `f` did not use, so a compressed body keeps
/// no compress-bound-sized tail while it is being sent (glibc shrinks in place: a heap chunk is
/// split, a mapping is `mremap`ped). Capacity `out` already had is left alone.
fn with_room(
    out: &mut Vec<u8>,
    room: usize,
    f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    let had = out.capacity();
    out.try_reserve_exact(room).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("cannot reserve {room} bytes for the compressed output: {e}"),
        )
    })?;
    let result = f(out);
    if out.capacity() > had {
        out.shrink_to(had.max(out.len()));
    }
    result
}

/// Compresses `input` and appends the result to `out` (which may already hold a frame header);
/// returns the number of bytes appended. `level: None` is the codec's default level.
///
/// gzip, zlib and zstd compress directly into `out`'s spare capacity; any capacity added for
/// that and left unused is released before returning.
pub fn compress_into(
    codec: Codec,
    level: Option<i32>,
    input: &[u8],
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let level = codec.resolve_level(level);
    WORKSPACE.with(|ws| {
        let ws = &mut *ws.borrow_mut();
        match codec {
            Codec::Gzip | Codec::Zlib => {
                let format = if codec == Codec::Gzip {
                    DeflateFormat::Gzip
                } else {
                    DeflateFormat::Zlib
                };
                let deflater = ws.deflater(level)?;
                let bound = deflater.bound(format, input.len());
                with_room(out, bound, |out| {
                    deflater.compress_append(format, input, out, bound)
                })
            }
            Codec::Zstd => {
                let bound = zstd::zstd_safe::compress_bound(input.len());
                let zstd = ws.zstd(level)?;
                with_room(out, bound, |out| zstd_append(zstd, input, out))
            }
            Codec::Snappy => {
                pdata::snappy::compress_into(input, out).map_err(std::io::Error::other)
            }
            Codec::SnappyFramed => {
                let start = out.len();
                out.reserve(input.len() / 2 + 64);
                let mut e = snap::write::FrameEncoder::new(&mut *out);
                e.write_all(input)?;
                e.flush()?;
                drop(e);
                Ok(out.len() - start)
            }
            Codec::Lz4 => {
                let start = out.len();
                out.reserve(input.len() / 2 + 64);
                let mut e = lz4_flex::frame::FrameEncoder::new(&mut *out);
                e.write_all(input)?;
                e.finish().map_err(std::io::Error::other)?;
                Ok(out.len() - start)
            }
        }
    })
}

/// zstd-compresses `input` (one frame that declares its size) into `out`'s spare capacity and
/// appends it; an error, with `out` unchanged, when the capacity is too small.
fn zstd_append(
    zstd: &mut zstd::bulk::Compressor<'static>,
    input: &[u8],
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    // zstd-safe's `WriteBuf` for a `Cursor` over `&mut Vec` writes at the cursor (here: after
    // what `out` holds), bounded by the Vec's capacity, and marks the bytes written as the new
    // length: no uninitialised memory is ever seen as a slice.
    let start = out.len();
    let mut tail = std::io::Cursor::new(out);
    tail.set_position(start as u64);
    let n = zstd.compress_to_buffer(input, &mut tail)?;
    debug_assert_eq!(tail.get_ref().len(), start + n);
    Ok(n)
}

/// Compresses `input` into a new buffer of exactly the compressed size.
pub fn compress(codec: Codec, level: Option<i32>, input: &[u8]) -> std::io::Result<Bytes> {
    let mut out = Vec::new();
    compress_into(codec, level, input, &mut out)?;
    Ok(Bytes::from(out))
}

/// Why a body could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    #[error("body too large: more than {limit} bytes after decompression")]
    TooLarge { limit: usize },
    #[error("failed to decompress {encoding} body: {message}")]
    Corrupt {
        encoding: &'static str,
        message: String,
    },
}

/// Decompresses `input` into at most `limit` bytes: a small body that inflates past the limit
/// (a "zip bomb") is refused without allocating more than `limit`.
///
/// gzip takes libdeflate's one-shot path when the trailer's ISIZE is a believable size (at most
/// `limit`) and the body is a single member; a lying ISIZE, several concatenated members or an
/// ISIZE past the limit go through a streaming decoder with the cap instead, so the answer
/// never depends on the trailer being honest. zstd likewise decodes in one shot into a buffer
/// of the frame header's content size when it declares one within the limit.
pub fn decompress(codec: Codec, input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |e: std::io::Error| DecompressError::Corrupt {
        encoding: codec.name(),
        message: e.to_string(),
    };
    let capped = |r: Result<Vec<u8>, Capped>| {
        r.map_err(|e| match e {
            Capped::TooLarge => DecompressError::TooLarge { limit },
            Capped::Io(e) => corrupt(e),
        })
    };
    match codec {
        Codec::Gzip => {
            if let Some(out) = gzip_one_shot(input, limit) {
                return Ok(out);
            }
            capped(read_capped(
                flate2::read::MultiGzDecoder::new(input),
                limit,
                input.len(),
            ))
        }
        Codec::Zlib => capped(read_capped(
            flate2::read::ZlibDecoder::new(input),
            limit,
            input.len(),
        )),
        Codec::Zstd => {
            if let Some(out) = zstd_one_shot(input, limit) {
                return Ok(out);
            }
            let mut decoder = zstd::stream::read::Decoder::new(input).map_err(corrupt)?;
            // The decoder allocates the window a frame header asks for; keep that bounded by
            // the cap (but allow the 8 MiB windows of ordinary compression levels).
            let log = (usize::BITS - limit.max(1).saturating_sub(1).leading_zeros()).clamp(23, 27);
            decoder.window_log_max(log).map_err(corrupt)?;
            capped(read_capped(decoder, limit, input.len()))
        }
        Codec::Snappy => {
            let snappy = |e: snap::Error| DecompressError::Corrupt {
                encoding: "snappy",
                message: e.to_string(),
            };
            let len = snap::raw::decompress_len(input).map_err(snappy)?;
            if len > limit {
                return Err(DecompressError::TooLarge { limit });
            }
            snap::raw::Decoder::new()
                .decompress_vec(input)
                .map_err(snappy)
        }
        Codec::SnappyFramed => capped(read_capped(
            snap::read::FrameDecoder::new(input),
            limit,
            input.len(),
        )),
        Codec::Lz4 => capped(read_capped(
            lz4_flex::frame::FrameDecoder::new(input),
            limit,
            input.len(),
        )),
    }
}

enum Capped {
    TooLarge,
    Io(std::io::Error),
}

/// Reads at most `limit + 1` bytes, so going past the cap is seen without buffering more.
fn read_capped(reader: impl Read, limit: usize, compressed_len: usize) -> Result<Vec<u8>, Capped> {
    // A first guess from the compressed size; the cap bounds what a lying body can make us reserve.
    let mut out = Vec::with_capacity(compressed_len.saturating_mul(4).min(limit).min(16 << 20));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(&mut out).map_err(Capped::Io)?;
    if out.len() > limit {
        return Err(Capped::TooLarge);
    }
    Ok(out)
}

/// libdeflate's one-shot gzip path; `None` means "use the streaming decoder" (no believable
/// size hint, several members, or data libdeflate refuses, whose error the streaming decoder
/// then reports in its own words).
fn gzip_one_shot(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    // 10-byte header + at least an empty deflate block + 8-byte trailer.
    if input.len() < 20 {
        return None;
    }
    let trailer: [u8; 4] = input[input.len() - 4..].try_into().ok()?;
    let isize = u32::from_le_bytes(trailer) as usize;
    if isize > limit {
        return None;
    }
    WORKSPACE.with(|ws| {
        let ws = &mut *ws.borrow_mut();
        if ws.inflate.is_none() {
            ws.inflate = Some(Inflater::new()?);
        }
        let inflater = ws.inflate.as_mut()?;
        let mut out = Vec::with_capacity(isize);
        let (in_used, out_len) = inflater.gzip(input, out.spare_capacity_mut())?;
        if in_used != input.len() || out_len != isize {
            return None;
        }
        // SAFETY: libdeflate reported writing `out_len` bytes into the spare capacity, which
        // holds at least `isize == out_len` bytes.
        unsafe { out.set_len(out_len) };
        Some(out)
    })
}

/// zstd's one-shot path: a frame whose header declares its content size (as zstd's bulk
/// compressors write it, ours included) is decoded straight into a buffer of that size, with no
/// window buffer. `None` means "use the streaming decoder": no declared size, a size past the
/// limit, or data that does not decode to exactly that size (more frames, a lying header,
/// corruption, whose error the streaming decoder then reports).
fn zstd_one_shot(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(input).ok()??;
    let size = usize::try_from(size).ok().filter(|s| *s <= limit)?;
    WORKSPACE.with(|ws| {
        let ws = &mut *ws.borrow_mut();
        if ws.unzstd.is_none() {
            ws.unzstd = Some(zstd::bulk::Decompressor::new().ok()?);
        }
        let decoder = ws.unzstd.as_mut()?;
        // Decoding stops with an error rather than write past the capacity.
        let mut out = Vec::with_capacity(size);
        let n = decoder.decompress_to_buffer(input, &mut out).ok()?;
        (n == size && out.len() == size).then_some(out)
    })
}

/// A libdeflate decompressor used through libdeflate-sys, for the `_ex` call that reports how
/// much input the first gzip member used (libdeflater's safe wrapper ignores trailing data,
/// which would silently drop every member after the first).
struct Inflater(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

impl Inflater {
    fn new() -> Option<Inflater> {
        // SAFETY: a plain allocation call; a null result (out of memory) is handled.
        let p = unsafe { libdeflate_sys::libdeflate_alloc_decompressor() };
        std::ptr::NonNull::new(p).map(Inflater)
    }

    /// Decompresses the first gzip member of `input` into `out`: `(input used, output len)`,
    /// or `None` on bad data or too little room.
    fn gzip(
        &mut self,
        input: &[u8],
        out: &mut [std::mem::MaybeUninit<u8>],
    ) -> Option<(usize, usize)> {
        let mut in_used = 0usize;
        let mut out_len = 0usize;
        // SAFETY: the pointers and lengths describe live buffers borrowed for this call;
        // libdeflate writes at most `out.len()` bytes to `out` and never reads it.
        let ret = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut in_used,
                &mut out_len,
            )
        };
        (ret == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS && out_len <= out.len())
            .then_some((in_used, out_len))
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: allocated by `libdeflate_alloc_decompressor` and freed only here.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeflateFormat {
    Gzip,
    Zlib,
}

/// A libdeflate compressor used through libdeflate-sys, so that it can write into a Vec's
/// uninitialised spare capacity (libdeflater's safe wrapper wants an initialised `&mut [u8]`).
struct Deflater {
    ptr: std::ptr::NonNull<libdeflate_sys::libdeflate_compressor>,
    level: i32,
}

impl Deflater {
    /// A compressor at `level` (libdeflate's 0-12; `resolve_level` passes nothing else).
    fn new(level: i32) -> std::io::Result<Deflater> {
        // SAFETY: a plain allocation call; a null result (bad level, out of memory) is handled.
        let p = unsafe { libdeflate_sys::libdeflate_alloc_compressor(level) };
        std::ptr::NonNull::new(p)
            .map(|ptr| Deflater { ptr, level })
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "cannot create a deflate compressor at level {level}"
                ))
            })
    }

    /// The most bytes compressing `len` bytes can take in `format`.
    fn bound(&mut self, format: DeflateFormat, len: usize) -> usize {
        // SAFETY: `self.ptr` is a live compressor; the bound functions only read its settings.
        unsafe {
            match format {
                DeflateFormat::Gzip => {
                    libdeflate_sys::libdeflate_gzip_compress_bound(self.ptr.as_ptr(), len)
                }
                DeflateFormat::Zlib => {
                    libdeflate_sys::libdeflate_zlib_compress_bound(self.ptr.as_ptr(), len)
                }
            }
        }
    }

    /// Compresses `input` into at most `room` bytes of `out`'s spare capacity and appends it:
    /// the number of bytes appended, or an error (with `out` unchanged) when the output would
    /// not fit in `room` or the spare capacity.
    fn compress_append(
        &mut self,
        format: DeflateFormat,
        input: &[u8],
        out: &mut Vec<u8>,
        room: usize,
    ) -> std::io::Result<usize> {
        let spare = out.spare_capacity_mut();
        let avail = room.min(spare.len());
        let (in_ptr, out_ptr) = (input.as_ptr().cast(), spare.as_mut_ptr().cast());
        // SAFETY: `self.ptr` is a live compressor used by this thread only; `input` is a live
        // slice of `input.len()` bytes that libdeflate only reads; `out_ptr` points at the
        // spare capacity, at least `avail` writable bytes owned by `out`, which libdeflate
        // writes without reading and never past `avail` (it returns 0 instead).
        let n = unsafe {
            match format {
                DeflateFormat::Gzip => libdeflate_sys::libdeflate_gzip_compress(
                    self.ptr.as_ptr(),
                    in_ptr,
                    input.len(),
                    out_ptr,
                    avail,
                ),
                DeflateFormat::Zlib => libdeflate_sys::libdeflate_zlib_compress(
                    self.ptr.as_ptr(),
                    in_ptr,
                    input.len(),
                    out_ptr,
                    avail,
                ),
            }
        };
        if n == 0 || n > avail {
            return Err(std::io::Error::other(format!(
                "compressed {} bytes do not fit in {avail} bytes of output",
                input.len()
            )));
        }
        // SAFETY: libdeflate initialised the first `n <= avail` bytes of the spare capacity.
        unsafe { out.set_len(out.len() + n) };
        Ok(n)
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // SAFETY: allocated by `libdeflate_alloc_compressor` and freed only here.
        unsafe { libdeflate_sys::libdeflate_free_compressor(self.ptr.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_codec_follows_compression_algorithms() {
        let allowed: Vec<String> = ["", "gzip"].iter().map(|s| s.to_string()).collect();
        let with = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::CONTENT_ENCODING, v.parse().unwrap());
            h
        };
        assert_eq!(request_codec(&http::HeaderMap::new(), &allowed), Ok(None));
        assert_eq!(request_codec(&with(" Identity "), &allowed), Ok(None));
        assert_eq!(
            request_codec(&with("GZIP"), &allowed),
            Ok(Some(Codec::Gzip))
        );
        assert_eq!(
            request_codec(&with("zstd"), &allowed),
            Err("unsupported Content-Encoding: zstd\n".to_string())
        );
        let all = vec!["br".to_string()];
        assert_eq!(
            request_codec(&with("br"), &all),
            Err("unsupported Content-Encoding: br\n".to_string())
        );
    }

    fn sample() -> Vec<u8> {
        let req = pdata::testdata::request(pdata::Signal::Traces, 2, 200, 7);
        req.encode_to_vec()
    }

    const ALL: [Codec; 6] = [
        Codec::Gzip,
        Codec::Zlib,
        Codec::Zstd,
        Codec::Snappy,
        Codec::SnappyFramed,
        Codec::Lz4,
    ];

    #[test]
    fn every_codec_round_trips_and_shrinks_otlp() {
        let data = sample();
        for codec in ALL {
            let c = compress(codec, None, &data).unwrap();
            assert!(
                c.len() < data.len() / 2,
                "{codec:?}: {} of {}",
                c.len(),
                data.len()
            );
            assert_eq!(
                decompress(codec, &c, data.len()).unwrap(),
                data,
                "{codec:?}"
            );
        }
    }

    #[test]
    fn gzip_and_zlib_are_readable_by_flate2_and_zstd_by_the_zstd_stream_decoder() {
        let data = sample();
        let gz = compress(Codec::Gzip, Some(1), &data).unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let z = compress(Codec::Zlib, None, &data).unwrap();
        out.clear();
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let zs = compress(Codec::Zstd, Some(1), &data).unwrap();
        assert_eq!(zstd::stream::decode_all(&zs[..]).unwrap(), data);
    }

    #[test]
    fn level_changes_the_output_and_reuse_keeps_outputs_independent() {
        let data = sample();
        for codec in [Codec::Gzip, Codec::Zstd] {
            let fast = compress(codec, Some(1), &data).unwrap();
            let slow = compress(codec, Some(9), &data).unwrap();
            assert_ne!(fast.len(), slow.len(), "{codec:?}");
            // The same level again gives the same bytes: reused state carries nothing over.
            assert_eq!(compress(codec, Some(1), &data).unwrap(), fast, "{codec:?}");
        }
    }

    #[test]
    fn compress_into_appends_after_a_frame_header() {
        let data = sample();
        let mut out = vec![1, 2, 3, 4, 5];
        let n = compress_into(Codec::Gzip, None, &data, &mut out).unwrap();
        assert_eq!(out.len(), 5 + n);
        assert_eq!(&out[..5], &[1, 2, 3, 4, 5]);
        assert_eq!(decompress(Codec::Gzip, &out[5..], 1 << 24).unwrap(), data);
    }

    #[test]
    fn output_appended_after_a_prefix_is_byte_identical_to_a_fresh_compression() {
        let data = sample();
        for input in [&data[..], &data[..1], &[][..]] {
            for codec in ALL {
                let fresh = compress(codec, None, input).unwrap();
                // The same bytes as the libraries' own safe one-shot APIs.
                let reference = match codec {
                    Codec::Gzip | Codec::Zlib => {
                        let mut c = libdeflater::Compressor::new(Default::default());
                        let mut buf = vec![0u8; c.gzip_compress_bound(input.len()) + 64];
                        let n = if codec == Codec::Gzip {
                            c.gzip_compress(input, &mut buf).unwrap()
                        } else {
                            c.zlib_compress(input, &mut buf).unwrap()
                        };
                        Some(buf[..n].to_vec())
                    }
                    Codec::Zstd => Some(zstd::bulk::compress(input, 3).unwrap()),
                    _ => None,
                };
                if let Some(reference) = reference {
                    assert_eq!(&fresh[..], &reference[..], "{codec:?}");
                }
                // A gRPC frame header, then a prefix in a buffer that already has room to spare.
                for mut out in [vec![1, 2, 3, 4, 5], {
                    let mut v = Vec::with_capacity(1 << 20);
                    v.extend_from_slice(b"prefix");
                    v
                }] {
                    let prefix = out.clone();
                    let had = out.capacity();
                    let n = compress_into(codec, None, input, &mut out).unwrap();
                    assert_eq!(n, fresh.len(), "{codec:?}");
                    assert_eq!(&out[..prefix.len()], &prefix[..], "{codec:?}");
                    assert_eq!(&out[prefix.len()..], &fresh[..], "{codec:?}");
                    assert_eq!(
                        decompress(codec, &out[prefix.len()..], input.len()).unwrap(),
                        input,
                        "{codec:?}"
                    );
                    if had >= 1 << 20 {
                        assert_eq!(out.capacity(), had, "{codec:?}: existing room is kept");
                    }
                }
            }
        }
    }

    #[test]
    fn the_compress_bound_reservation_is_given_back() {
        // 1 MiB of repetitive input: the bound is ~1 MiB, the output a few KiB.
        let data = b"span span span span ".repeat(50_000);
        for codec in [Codec::Gzip, Codec::Zlib, Codec::Zstd] {
            let mut out = vec![0u8; 5];
            let n = compress_into(codec, None, &data, &mut out).unwrap();
            assert!(n < data.len() / 50, "{codec:?}: {n}");
            assert_eq!(out.capacity(), out.len(), "{codec:?}");
        }
    }

    #[test]
    fn every_level_round_trips() {
        let data = sample();
        for codec in [Codec::Gzip, Codec::Zlib] {
            for level in -1..=12 {
                let mut out = vec![9; 5];
                compress_into(codec, Some(level), &data, &mut out).unwrap();
                assert_eq!(&out[..5], &[9; 5]);
                assert_eq!(
                    decompress(codec, &out[5..], data.len()).unwrap(),
                    data,
                    "{codec:?} {level}"
                );
            }
        }
        for level in (-5..=22).chain([*zstd::compression_level_range().start()]) {
            let mut out = vec![9; 5];
            compress_into(Codec::Zstd, Some(level), &data, &mut out).unwrap();
            assert_eq!(
                decompress(Codec::Zstd, &out[5..], data.len()).unwrap(),
                data,
                "zstd {level}"
            );
        }
    }

    #[test]
    fn too_little_room_is_an_error_and_leaves_the_output_untouched() {
        let data = sample();
        for format in [DeflateFormat::Gzip, DeflateFormat::Zlib] {
            let mut d = Deflater::new(6).unwrap();
            // Too small a room in a large enough buffer...
            let mut out = Vec::with_capacity(1 << 20);
            out.extend_from_slice(b"head");
            assert!(d.compress_append(format, &data, &mut out, 64).is_err());
            assert_eq!(out, b"head");
            // ...and a room larger than the buffer's spare capacity, which bounds it.
            let mut out = Vec::with_capacity(100);
            out.extend_from_slice(b"head");
            let bound = d.bound(format, data.len());
            assert!(d.compress_append(format, &data, &mut out, bound).is_err());
            assert_eq!(out, b"head");
            // The compressor is still good afterwards.
            let mut out = b"head".to_vec();
            out.reserve_exact(bound);
            let n = d.compress_append(format, &data, &mut out, bound).unwrap();
            assert_eq!(out.len(), 4 + n);
        }
        let mut z = zstd::bulk::Compressor::new(3).unwrap();
        let mut out = Vec::with_capacity(100);
        out.extend_from_slice(b"head");
        assert!(zstd_append(&mut z, &data, &mut out).is_err());
        assert_eq!(out, b"head");
        out.reserve_exact(zstd::zstd_safe::compress_bound(data.len()));
        let n = zstd_append(&mut z, &data, &mut out).unwrap();
        assert_eq!(
            decompress(Codec::Zstd, &out[4..], data.len()).unwrap(),
            data
        );
        assert_eq!(out.len(), 4 + n);
    }

    #[test]
    fn an_out_of_range_deflate_level_is_an_error_not_a_null_compressor() {
        assert!(Deflater::new(13).is_err());
        assert!(Deflater::new(1000).is_err());
    }

    #[test]
    fn levels_are_validated_per_codec() {
        assert!(Codec::Gzip.validate_level(Some(9)).is_ok());
        assert!(Codec::Gzip.validate_level(Some(-1)).is_ok());
        assert!(Codec::Gzip.validate_level(Some(13)).is_err());
        assert!(Codec::Zstd.validate_level(Some(19)).is_ok());
        let err = Codec::Snappy.validate_level(Some(1)).unwrap_err();
        assert_eq!(
            err,
            "compression_params: unsupported compression level 1 for snappy"
        );
    }

    fn flate2_gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn concatenated_gzip_members_are_all_read() {
        let a = sample();
        let b = b"second member".repeat(50);
        let mut body = flate2_gzip(&a);
        body.extend(flate2_gzip(&b));
        let out = decompress(Codec::Gzip, &body, 1 << 24).unwrap();
        assert_eq!(out.len(), a.len() + b.len());
        assert_eq!(&out[..a.len()], &a[..]);
        assert_eq!(&out[a.len()..], &b[..]);
        // Members of equal size: ISIZE matches the first member too, and still both count.
        let mut twins = flate2_gzip(&b);
        twins.extend(flate2_gzip(&b));
        assert_eq!(
            decompress(Codec::Gzip, &twins, 1 << 24).unwrap().len(),
            2 * b.len()
        );
    }

    #[test]
    fn a_lying_isize_falls_back_to_streaming_and_still_respects_the_limit() {
        let data = vec![b'x'; 1 << 20];
        let mut gz = flate2_gzip(&data);
        let n = gz.len();
        // ISIZE says 10 bytes: libdeflate runs out of room, the streaming path reads it all...
        gz[n - 4..].copy_from_slice(&10u32.to_le_bytes());
        // ...and flate2 checks the trailer, so a lying ISIZE is corrupt data either way.
        assert!(matches!(
            decompress(Codec::Gzip, &gz, 4 << 20),
            Err(DecompressError::Corrupt { .. })
        ));
        // A small limit is enforced without trusting the trailer.
        let honest = flate2_gzip(&data);
        assert_eq!(
            decompress(Codec::Gzip, &honest, 1000),
            Err(DecompressError::TooLarge { limit: 1000 })
        );
    }

    #[test]
    fn concatenated_members_past_the_limit_are_refused() {
        let member = flate2_gzip(&vec![0u8; 64 << 10]);
        let bomb = member.repeat(64); // 4 MiB inflated, each trailer says 64 KiB
        assert_eq!(
            decompress(Codec::Gzip, &bomb, 1 << 20),
            Err(DecompressError::TooLarge { limit: 1 << 20 })
        );
    }

    #[test]
    fn zstd_with_and_without_a_declared_size_decodes_within_the_limit() {
        let data = sample();
        let sized = compress(Codec::Zstd, None, &data).unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&sized).ok(),
            Some(Some(data.len() as u64))
        );
        let streamed = zstd::stream::encode_all(&data[..], 3).unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&streamed).ok(),
            Some(None)
        );
        for body in [&sized[..], &streamed[..]] {
            assert_eq!(decompress(Codec::Zstd, body, data.len()).unwrap(), data);
            assert_eq!(
                decompress(Codec::Zstd, body, data.len() - 1),
                Err(DecompressError::TooLarge {
                    limit: data.len() - 1
                })
            );
        }
        // Two frames: the first header's size is not the whole body's.
        let mut twins = sized.to_vec();
        twins.extend_from_slice(&sized);
        assert_eq!(
            decompress(Codec::Zstd, &twins, 4 * data.len())
                .unwrap()
                .len(),
            2 * data.len()
        );
        assert_eq!(
            decompress(Codec::Zstd, &twins, data.len() + 1),
            Err(DecompressError::TooLarge {
                limit: data.len() + 1
            })
        );
    }

    #[test]
    fn a_zstd_header_that_understates_the_size_is_not_trusted() {
        let data = vec![7u8; 100_000];
        let mut sized = compress(Codec::Zstd, None, &data).unwrap().to_vec();
        // Frame header: magic (4), descriptor (1), then the content size. Shrink the size
        // field's value; decoding must not write past a buffer sized by it.
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&sized).ok(),
            Some(Some(100_000))
        );
        let descriptor = sized[4];
        let single_segment = descriptor & 0x20 != 0;
        let fcs_at = 5 + usize::from(!single_segment);
        let fcs_len = [usize::from(single_segment), 2, 4, 8][usize::from(descriptor >> 6)];
        assert!(fcs_len >= 2, "descriptor {descriptor:#x}");
        sized[fcs_at] = sized[fcs_at].wrapping_sub(1);
        for limit in [1000, 99_999, 1 << 20] {
            assert!(
                matches!(
                    decompress(Codec::Zstd, &sized, limit),
                    Err(DecompressError::Corrupt { .. } | DecompressError::TooLarge { .. })
                ),
                "limit {limit}"
            );
        }
    }

    #[test]
    fn gzip_bomb_stops_at_the_cap() {
        // 64 MiB of zeros as 64 concatenated 1 MiB gzip members.
        let bomb = flate2_gzip(&vec![0u8; 1 << 20]).repeat(64);
        assert!(bomb.len() < 100 << 10);
        assert_eq!(
            decompress(Codec::Gzip, &bomb, 1 << 20),
            Err(DecompressError::TooLarge { limit: 1 << 20 })
        );
    }

    #[test]
    fn truncated_gzip_is_corrupt() {
        let body = flate2_gzip(b"hello world, hello world");
        let err = decompress(Codec::Gzip, &body[..body.len() - 6], 1024).unwrap_err();
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
    fn garbage_is_a_corrupt_error_not_a_panic() {
        for codec in ALL {
            let garbage = vec![
                0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                19, 20, 21,
            ];
            assert!(decompress(codec, &garbage, 1 << 20).is_err(), "{codec:?}");
        }
    }
}
