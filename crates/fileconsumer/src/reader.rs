//! Reading one file from its offset to EOF: the header lines, then tokens in batches to
//! the sink. Memory is bounded by the scratch window (at most `max_log_size`, or 64 KiB
//! if larger) plus one batch, whatever the file holds.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::SystemTime;

use regex::Regex;

use crate::checkpoint::Metadata;
use crate::decode::Encoding;
use crate::fingerprint::{Fingerprint, OffsetReader};
use crate::split::Splitter;
use crate::{Body, Emit, HeaderParser, Telemetry, Token};

/// A batch is handed over at this many bytes even if not full, so that a run of
/// `max_log_size` pieces does not pile up 100 MiB.
const BATCH_BYTES: usize = 1 << 20;

/// Everything a read needs besides the file itself.
pub(crate) struct ReadCtx<'a> {
    pub splitter: &'a Splitter,
    pub encoding: Encoding,
    pub emit: &'a mut dyn Emit,
    pub window: &'a mut Vec<u8>,
    pub batch: &'a mut Vec<Token>,
    pub batch_size: usize,
    pub fingerprint_size: usize,
    pub record_number: bool,
    pub record_offset: bool,
    /// the window's starting size (`initial_buffer_size`); a longer token grows it up to
    /// `max_log_size`
    pub initial_window: usize,
    pub delete_at_eof: bool,
    pub acquire_lock: bool,
    pub header: Option<(&'a Regex, &'a mut dyn HeaderParser)>,
    pub telemetry: &'a Telemetry,
}

/// One tracked file.
pub(crate) struct Reader {
    pub meta: Metadata,
    pub path: String,
    pub file: Option<File>,
    pub gzip: bool,
    /// with `compression`, fingerprints are taken from decompressed bytes
    pub decompress_fp: bool,
    needs_fp_update: bool,
    telemetry: Arc<Telemetry>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.close();
    }
}

/// The unread bytes of a file, refilled from a source.
struct Window<'b> {
    buf: &'b mut Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    limit: usize,
    initial: usize,
}

impl<'b> Window<'b> {
    /// The window over the scratch buffer kept between reads (it keeps the size it grew
    /// to, like Go's buffer pool).
    fn new(buf: &'b mut Vec<u8>, ctx: &ReadCtx<'_>) -> Window<'b> {
        if buf.len() < ctx.initial_window {
            buf.resize(ctx.initial_window, 0);
        }
        Window {
            buf,
            start: 0,
            end: 0,
            eof: false,
            limit: ctx.splitter.max_log_size().max(ctx.initial_window),
            initial: ctx.initial_window,
        }
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    fn fill(&mut self, src: &mut dyn Read) -> std::io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).clamp(self.initial, self.limit.max(self.end + 1));
            self.buf.resize(grown, 0);
        }
        loop {
            match src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// How a token loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// EOF reached, every batch accepted
    Eof,
    /// the sink refused a batch: the offset stays before it
    Refused,
    /// reading failed (logged)
    ReadError,
}

enum Flow {
    Continue,
    /// stop reading this file for this poll (emit refused, EOF inside the header)
    Stop,
}

impl Reader {
    pub fn new(
        meta: Metadata,
        path: String,
        file: File,
        gzip: bool,
        decompress_fp: bool,
        telemetry: Arc<Telemetry>,
    ) -> Reader {
        telemetry.add_open(1);
        Reader {
            meta,
            path,
            file: Some(file),
            gzip,
            decompress_fp,
            needs_fp_update: false,
            telemetry,
        }
    }

    /// Closes the handle and hands back the metadata.
    pub fn into_metadata(mut self) -> Metadata {
        self.close();
        self.meta.clone()
    }

    pub fn close(&mut self) {
        if self.file.take().is_some() {
            self.telemetry.add_open(-1);
        }
    }

    /// Go's `Validate`: the handle still shows the content it was opened for (a
    /// truncated file no longer starts with the stored fingerprint).
    pub fn validate(&self, fingerprint_size: usize) -> bool {
        let Some(file) = &self.file else {
            return false;
        };
        match Fingerprint::from_file(file, fingerprint_size, self.decompress_fp) {
            Ok(fp) => fp.starts_with(&self.meta.fingerprint),
            Err(_) => false,
        }
    }

    /// Reads from the stored offset to EOF, emitting tokens.
    pub fn read_to_end(&mut self, ctx: &mut ReadCtx<'_>) {
        let Some(file) = self.file.take() else {
            return;
        };
        if ctx.acquire_lock {
            // SAFETY: flock on a descriptor we own; no memory is involved.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
            if rc != 0 {
                tracing::debug!(path = %self.path, "file is locked by another process; skipped this poll");
                self.file = Some(file);
                return;
            }
        }
        ctx.telemetry.add_reading(1);
        let reached_eof = if self.gzip {
            self.read_gzip(&file, ctx)
        } else {
            self.read_plain(&file, ctx)
        };
        ctx.telemetry.add_reading(-1);
        if ctx.acquire_lock {
            // SAFETY: as above.
            unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        }
        if self.needs_fp_update {
            self.needs_fp_update = false;
            self.update_fingerprint(&file, ctx.fingerprint_size);
        }
        self.file = Some(file);
        if reached_eof && ctx.delete_at_eof {
            self.close();
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::error!(filename = %self.path, error = %e, "could not delete");
            }
        }
    }

    fn update_fingerprint(&mut self, file: &File, size: usize) {
        if let Ok(fresh) = Fingerprint::from_file(file, size, self.decompress_fp) {
            if !self.meta.fingerprint.is_empty() && !fresh.starts_with(&self.meta.fingerprint) {
                return; // tampered with, likely truncated
            }
            self.meta.fingerprint = fresh;
        }
    }

    /// Returns whether EOF was reached with everything emitted.
    fn read_plain(&mut self, file: &File, ctx: &mut ReadCtx<'_>) -> bool {
        let mut window = std::mem::take(ctx.window);
        let result = self.scan_plain(file, ctx, &mut window);
        *ctx.window = window;
        result
    }

    fn scan_plain(&mut self, file: &File, ctx: &mut ReadCtx<'_>, buf: &mut Vec<u8>) -> bool {
        let mut src = OffsetReader {
            file,
            pos: self.meta.offset,
        };
        let fp_short = self.meta.fingerprint.len() < ctx.fingerprint_size;
        let mut win = Window::new(buf, ctx);
        let mut pos = self.meta.offset;
        if !self.meta.header_finalized {
            let (encoding, max) = (ctx.encoding, ctx.splitter.max_log_size());
            if let Some((re, parser)) = ctx.header.as_mut() {
                match self.read_header(
                    &mut win,
                    &mut src,
                    &mut pos,
                    re,
                    &mut **parser,
                    encoding,
                    max,
                ) {
                    Flow::Continue => {}
                    Flow::Stop => return false,
                }
            }
        }
        self.scan_tokens(&mut win, &mut src, pos, ctx, fp_short, false) == Outcome::Eof
    }

    #[allow(clippy::too_many_arguments)]
    fn read_header(
        &mut self,
        win: &mut Window<'_>,
        src: &mut dyn Read,
        pos: &mut u64,
        re: &Regex,
        parser: &mut dyn HeaderParser,
        encoding: Encoding,
        max_log_size: usize,
    ) -> Flow {
        let newline = encoding.newline();
        let cr = encoding.carriage_return();
        loop {
            let data = win.data();
            let found = memchr::memmem::find(data, newline);
            let (line_end, advance) = match found {
                Some(i) => (i, i + newline.len()),
                None if data.len() >= max_log_size => (data.len(), data.len()),
                None => {
                    if win.eof {
                        return Flow::Stop; // the header may go on: wait for more
                    }
                    if let Err(e) = win.fill(src) {
                        tracing::error!(path = %self.path, error = %e, "failed during header scan");
                        return Flow::Stop;
                    }
                    continue;
                }
            };
            let mut raw = &data[..line_end];
            if raw.ends_with(cr) {
                raw = &raw[..raw.len() - cr.len()];
            }
            let line = encoding.decode(raw);
            if !re.is_match(&line) {
                self.meta.header_finalized = true;
                return Flow::Continue;
            }
            let attrs = Arc::make_mut(&mut self.meta.attributes);
            if let Err(e) = parser.parse(&line, attrs) {
                tracing::error!(path = %self.path, error = %e, "failed to process header token");
            }
            win.consume(advance);
            *pos += advance as u64;
            self.meta.offset = *pos;
        }
    }

    fn read_gzip(&mut self, file: &File, ctx: &mut ReadCtx<'_>) -> bool {
        let eof = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                tracing::error!(path = %self.path, error = %e, "failed to stat");
                return false;
            }
        };
        if eof <= self.meta.offset {
            return true;
        }
        let section = OffsetReader {
            file,
            pos: self.meta.offset,
        }
        .take(eof - self.meta.offset);
        let mut src = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(section));
        let mut buf = std::mem::take(ctx.window);
        let mut win = Window::new(&mut buf, ctx);
        let start = self.meta.offset;
        let outcome = self.scan_tokens(&mut win, &mut src, start, ctx, false, true);
        *ctx.window = buf;
        // Offsets of a gzip file are compressed positions: all appended members up to the
        // EOF seen now were read (Go moves on after a decode error too). A refused batch
        // keeps the offset, so the members are decompressed again on the next poll.
        if outcome != Outcome::Refused {
            self.meta.offset = eof;
        }
        outcome == Outcome::Eof
    }

    /// The token loop.
    fn scan_tokens(
        &mut self,
        win: &mut Window<'_>,
        src: &mut dyn Read,
        mut pos: u64,
        ctx: &mut ReadCtx<'_>,
        fp_short: bool,
        gzip: bool,
    ) -> Outcome {
        let mut batch_bytes = 0usize;
        let mut committed_records = self.meta.record_num;
        let mut now = SystemTime::now();
        let attributes = self.meta.attributes.clone();
        loop {
            if win.data().is_empty() && !win.eof {
                match win.fill(src) {
                    Ok(n) => {
                        if n > 0 && fp_short {
                            self.needs_fp_update = true;
                        }
                        now = SystemTime::now();
                    }
                    Err(e) => {
                        tracing::error!(path = %self.path, error = %e, "failed during scan");
                        return self.finish(
                            ctx,
                            pos,
                            gzip,
                            &mut committed_records,
                            Outcome::ReadError,
                        );
                    }
                }
                continue;
            }
            let found = ctx
                .splitter
                .next(win.data(), win.eof, &mut self.meta.flush, now)
                .or_else(|| {
                    // a gzip stream is complete at its EOF: its last line needs no newline
                    (gzip && win.eof && !win.data().is_empty()).then(|| crate::split::Found {
                        dropped: false,
                        advance: win.data().len(),
                        range: 0..win.data().len(),
                    })
                });
            match found {
                Some(f) if f.dropped => {
                    win.consume(f.advance);
                    pos += f.advance as u64;
                }
                Some(f) => {
                    let raw = &win.data()[f.range];
                    self.meta.record_num += 1;
                    if !raw.is_empty() {
                        batch_bytes += raw.len();
                        let body = match ctx.encoding {
                            Encoding::Nop => Body::Bytes(raw.to_vec()),
                            enc => Body::Text(enc.decode_shared(raw)),
                        };
                        ctx.batch.push(Token {
                            body,
                            attributes: attributes.clone(),
                            record_number: ctx.record_number.then_some(self.meta.record_num),
                            record_offset: ctx
                                .record_offset
                                .then(|| i64::try_from(pos).unwrap_or(i64::MAX)),
                        });
                    }
                    win.consume(f.advance);
                    pos += f.advance as u64;
                    if ctx.batch.len() >= ctx.batch_size || batch_bytes >= BATCH_BYTES {
                        batch_bytes = 0;
                        if !self.hand_over(ctx, pos, gzip, &mut committed_records) {
                            return Outcome::Refused;
                        }
                    }
                }
                None => {
                    if win.eof {
                        break;
                    }
                    match win.fill(src) {
                        Ok(n) => {
                            if n > 0 && fp_short {
                                self.needs_fp_update = true;
                            }
                            now = SystemTime::now();
                        }
                        Err(e) => {
                            tracing::error!(path = %self.path, error = %e, "failed during scan");
                            return self.finish(
                                ctx,
                                pos,
                                gzip,
                                &mut committed_records,
                                Outcome::ReadError,
                            );
                        }
                    }
                }
            }
        }
        self.finish(ctx, pos, gzip, &mut committed_records, Outcome::Eof)
    }

    fn finish(
        &mut self,
        ctx: &mut ReadCtx<'_>,
        pos: u64,
        gzip: bool,
        committed_records: &mut i64,
        outcome: Outcome,
    ) -> Outcome {
        if self.hand_over(ctx, pos, gzip, committed_records) {
            outcome
        } else {
            Outcome::Refused
        }
    }

    /// Emits the pending batch; on success the offset moves to `pos`, on failure the
    /// offset and record count stay at the last accepted batch.
    fn hand_over(
        &mut self,
        ctx: &mut ReadCtx<'_>,
        pos: u64,
        gzip: bool,
        committed_records: &mut i64,
    ) -> bool {
        if !ctx.batch.is_empty() {
            if let Err(e) = ctx.emit.emit(ctx.batch) {
                tracing::warn!(path = %self.path, error = %e, "failed to emit tokens; they will be read again");
                ctx.batch.clear();
                self.meta.record_num = *committed_records;
                return false;
            }
            ctx.batch.clear();
        }
        *committed_records = self.meta.record_num;
        if !gzip {
            self.meta.offset = pos;
        }
        true
    }
}
