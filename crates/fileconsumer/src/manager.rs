//! The poll cycle (Go's `fileconsumer.Manager` and `internal/tracker`): match files,
//! open them in batches of `max_concurrent_files / 2`, pair each with what is known about
//! it by fingerprint (the previous poll's open readers, then three generations of closed
//! files), drain files that left the pattern, read everything to EOF, and checkpoint.

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use regex::Regex;

use crate::attrs::Resolver;
use crate::checkpoint::{self, KNOWN_FILES_KEY, Metadata};
use crate::config::{Compression, Config, FeatureGates, StartAt};
use crate::decode::Encoding;
use crate::fingerprint::{Fingerprint, GZIP_MAGIC, read_full_at};
use crate::matcher::Matcher;
use crate::reader::{ReadCtx, Reader};
use crate::split::{FlushState, Splitter};
use crate::{Emit, HeaderParser, Persister, Telemetry, Token};

/// Go's `reader.DefaultMaxBatchSize`: tokens per emitted batch.
pub const DEFAULT_BATCH_SIZE: usize = 100;
/// How many generations of closed files are remembered (Go's tracker).
const KNOWN_GENERATIONS: usize = 3;

/// What the receiver supplies besides the config and the sink.
pub struct ManagerOptions {
    /// The collector's `--feature-gates`.
    pub gates: FeatureGates,
    /// Checkpoint storage (`storage:`); none keeps offsets in memory only.
    pub persister: Option<Box<dyn Persister>>,
    /// Required when `header` is configured: runs `header.metadata_operators`.
    pub header_parser: Option<Box<dyn HeaderParser>>,
    /// Tokens per batch handed to [`Emit`] (a batch is also handed over at 1 MiB).
    pub batch_size: usize,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            gates: FeatureGates::default(),
            persister: None,
            header_parser: None,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// The file-tailing engine of one `filelog` receiver.
pub struct Manager {
    matcher: Matcher,
    splitter: Splitter,
    encoding: Encoding,
    resolver: Resolver,
    header: Option<(Regex, Box<dyn HeaderParser>)>,
    emit: Box<dyn Emit>,
    persister: Option<Box<dyn Persister>>,
    telemetry: Arc<Telemetry>,
    poll_interval: Duration,
    from_beginning: bool,
    fingerprint_size: usize,
    max_batch_files: usize,
    max_batches: usize,
    delete_after_read: bool,
    acquire_lock: bool,
    record_number: bool,
    compression: Compression,
    batch_size: usize,
    window: Vec<u8>,
    batch: Vec<Token>,
    current: Vec<Reader>,
    previous: Vec<Reader>,
    known: [Vec<Metadata>; KNOWN_GENERATIONS],
}

impl Manager {
    /// Validates the config (Go's errors), loads the checkpoint if there is storage, and
    /// looks for files once (warning if none match yet).
    pub fn new(cfg: &Config, emit: Box<dyn Emit>, opts: ManagerOptions) -> Result<Manager, String> {
        cfg.validate(&opts.gates)?;
        let encoding = Encoding::lookup(&cfg.encoding)?;
        let header = match &cfg.header {
            None => None,
            Some(h) => {
                let re = crate::header::validate(h)
                    .map_err(|e| format!("failed to build header config: {e}"))?;
                let parser = opts.header_parser.ok_or_else(|| {
                    "`header` is configured but the receiver supplied no header parser".to_string()
                })?;
                Some((re, parser))
            }
        };
        let mut m = Manager {
            matcher: Matcher::new(cfg, &opts.gates)?,
            splitter: Splitter::new(cfg, encoding)?,
            encoding,
            resolver: Resolver::new(cfg),
            header,
            emit,
            persister: opts.persister,
            telemetry: Arc::new(Telemetry::default()),
            poll_interval: cfg.poll_interval(),
            from_beginning: cfg.start_at()? == StartAt::Beginning,
            fingerprint_size: usize::try_from(cfg.fingerprint_size.0).unwrap_or(usize::MAX),
            max_batch_files: usize::try_from(cfg.max_concurrent_files / 2)
                .unwrap_or(1)
                .max(1),
            max_batches: usize::try_from(cfg.max_batches).unwrap_or(0),
            delete_after_read: cfg.delete_after_read,
            acquire_lock: cfg.acquire_fs_lock,
            record_number: cfg.include_file_record_number,
            compression: cfg.compression()?,
            batch_size: opts.batch_size.max(1),
            window: Vec::new(),
            batch: Vec::new(),
            current: Vec::new(),
            previous: Vec::new(),
            known: Default::default(),
        };
        if let Some(p) = &m.persister {
            let stored = p
                .get(KNOWN_FILES_KEY)
                .map_err(|e| format!("read known files from database: {e}"))?;
            if let Some(bytes) = stored {
                let known = checkpoint::decode(&bytes)
                    .map_err(|e| format!("read known files from database: {e}"))?;
                if !known.is_empty() {
                    tracing::info!(
                        "Resuming from previously known offset(s). 'start_at' setting is not applicable."
                    );
                    m.from_beginning = true;
                    m.known[0] = known;
                }
            }
        }
        if m.matcher.match_files().is_empty() {
            tracing::warn!(
                error = "no files match the configured criteria",
                "finding files"
            );
        }
        Ok(m)
    }

    /// `poll_interval`: how often the receiver should call [`Manager::poll`].
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The `otelcol_fileconsumer_*` values.
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.telemetry.clone()
    }

    /// One poll cycle: every matched file is read to its current end.
    pub fn poll(&mut self) {
        let matches = self.matcher.match_files();
        if matches.is_empty() {
            tracing::debug!(
                error = "no files match the configured criteria",
                "finding files"
            );
        }
        let mut rest: &[String] = &matches;
        let mut batches = 0;
        while rest.len() > self.max_batch_files {
            let (now, later) = rest.split_at(self.max_batch_files);
            self.consume(now);
            if self.max_batches != 0 {
                batches += 1;
                if batches >= self.max_batches {
                    // Go returns here: no checkpoint, no generation change this poll
                    return;
                }
            }
            rest = later;
        }
        self.consume(rest);
        // files that appear from now on are read from their start
        self.from_beginning = true;
        self.save_checkpoint();
        self.known.rotate_right(1);
        self.known[0].clear();
    }

    /// Closes every file and saves the checkpoint.
    pub fn stop(&mut self) {
        for r in self.previous.drain(..) {
            self.known[0].push(r.into_metadata());
        }
        self.save_checkpoint();
    }

    fn save_checkpoint(&mut self) {
        let Some(p) = &self.persister else {
            return;
        };
        let all: Vec<&Metadata> = self
            .known
            .iter()
            .flatten()
            .chain(self.previous.iter().map(|r| &r.meta))
            .collect();
        let bytes = checkpoint::encode(all.into_iter());
        if let Err(e) = p.set(KNOWN_FILES_KEY, bytes) {
            tracing::error!(error = %e, "failed to save offsets");
        }
    }

    fn consume(&mut self, paths: &[String]) {
        for path in paths {
            self.make_reader(path);
        }
        if !self.delete_after_read {
            self.read_lost_files();
        }
        let mut current = std::mem::take(&mut self.current);
        for r in current.iter_mut() {
            let mut ctx = self.read_ctx();
            r.read_to_end(&mut ctx);
        }
        for r in self.previous.drain(..) {
            self.known[0].push(r.into_metadata());
        }
        self.previous = current;
    }

    fn read_ctx(&mut self) -> ReadCtx<'_> {
        ReadCtx {
            splitter: &self.splitter,
            encoding: self.encoding,
            emit: &mut *self.emit,
            window: &mut self.window,
            batch: &mut self.batch,
            batch_size: self.batch_size,
            fingerprint_size: self.fingerprint_size,
            record_number: self.record_number,
            delete_at_eof: self.delete_after_read,
            acquire_lock: self.acquire_lock,
            header: self
                .header
                .as_mut()
                .map(|(re, p)| (&*re, &mut **p as &mut dyn HeaderParser)),
            telemetry: &self.telemetry,
        }
    }

    /// Previous-poll readers whose file no longer matches any current one (moved out of
    /// the pattern, deleted) are read to EOF first, so that no line written before the
    /// rotation is lost.
    fn read_lost_files(&mut self) {
        let mut lost = Vec::new();
        'outer: for (i, old) in self.previous.iter().enumerate() {
            for new in &self.current {
                if new.meta.fingerprint.starts_with(&old.meta.fingerprint) {
                    continue 'outer;
                }
                if new.path != old.path {
                    continue;
                }
                // same path, different fingerprint: moved or truncated; a truncated
                // file is only read through the new reader
                if !old.validate(self.fingerprint_size) {
                    continue 'outer;
                }
            }
            lost.push(i);
        }
        let mut previous = std::mem::take(&mut self.previous);
        for i in lost {
            let mut ctx = self.read_ctx();
            previous[i].read_to_end(&mut ctx);
        }
        self.previous = previous;
    }

    fn make_reader(&mut self, path: &str) {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(path, error = %e, "failed to open file");
                return;
            }
        };
        let fp = match Fingerprint::from_file(
            &file,
            self.fingerprint_size,
            self.compression != Compression::None,
        ) {
            Ok(fp) => fp,
            Err(e) => {
                tracing::debug!(path, error = %e, "failed to create fingerprint");
                return;
            }
        };
        if fp.is_empty() {
            return; // empty files are ignored until they have content
        }
        // the copy step of copy/truncate: two paths, same content
        if self.current.iter().any(|r| r.meta.fingerprint == fp) {
            tracing::debug!(path, "Skipping duplicate file");
            return;
        }
        match self.new_reader(file, path, fp) {
            Ok(r) => self.current.push(r),
            Err(e) => tracing::error!(path, error = %e, "Failed to create reader"),
        }
    }

    fn new_reader(&mut self, file: File, path: &str, fp: Fingerprint) -> Result<Reader, String> {
        if let Some(i) = self
            .previous
            .iter()
            .position(|r| fp.starts_with(&r.meta.fingerprint))
        {
            let old = self.previous.remove(i);
            if old.path != path {
                if old.validate(self.fingerprint_size) {
                    tracing::debug!(original_path = %old.path, rotated_path = path, "File has been rotated(moved)");
                } else {
                    tracing::debug!(original_path = %old.path, rotated_path = path, "File has been rotated(truncated)");
                }
            }
            return self.reader_from_metadata(file, path, old.into_metadata());
        }
        for generation in 0..KNOWN_GENERATIONS {
            if let Some(i) = self.known[generation]
                .iter()
                .position(|m| fp.starts_with(&m.fingerprint))
            {
                let meta = self.known[generation].remove(i);
                return self.reader_from_metadata(file, path, meta);
            }
        }
        tracing::info!(path, "Started watching file");
        let offset = if self.from_beginning {
            0
        } else {
            file.metadata().map_err(|e| format!("stat: {e}"))?.len()
        };
        let meta = Metadata {
            fingerprint: fp,
            offset,
            record_num: 0,
            attributes: Arc::new(Default::default()),
            header_finalized: false,
            flush: FlushState::new(SystemTime::now()),
        };
        self.reader_from_metadata(file, path, meta)
    }

    fn reader_from_metadata(
        &mut self,
        file: File,
        path: &str,
        mut meta: Metadata,
    ) -> Result<Reader, String> {
        let decompress = self.compression != Compression::None;
        if meta.fingerprint.len() > self.fingerprint_size {
            // fingerprint_size was lowered since this was stored
            let shorter = Fingerprint::from_file(&file, self.fingerprint_size, decompress)
                .map_err(|e| format!("reread fingerprint: {e}"))?;
            if !meta.fingerprint.starts_with(&shorter) {
                return Err("file truncated".into());
            }
            meta.fingerprint = shorter;
        }
        let resolved = self.resolver.resolve(path, &file)?;
        let attrs = Arc::make_mut(&mut meta.attributes);
        attrs.extend(resolved);
        let gzip = decompress && {
            let mut magic = [0u8; 2];
            read_full_at(&file, &mut magic, 0).is_ok_and(|n| n == 2) && magic == GZIP_MAGIC
        };
        Ok(Reader::new(
            meta,
            path.to_string(),
            file,
            gzip,
            decompress,
            self.telemetry.clone(),
        ))
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        // readers close their handles themselves; nothing else is held
        self.current.clear();
    }
}
