//! The poll cycle (Go's `fileconsumer.Manager` and `internal/tracker`): match files,
//! open them in batches of `max_concurrent_files / 2`, pair each with what is known about
//! it by fingerprint (the previous poll's open readers, then three generations of closed
//! files), drain files that left the pattern, read everything to EOF, and checkpoint.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use regex::Regex;

use crate::attrs::Resolver;
use crate::checkpoint::{self, ARCHIVE_INDEX_KEY, KNOWN_FILES_KEY, Metadata};
use crate::config::{Compression, Config, FeatureGates, OnTruncate, StartAt};
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
    /// Go's `WithNoTracking`: nothing is remembered between polls, so every poll after
    /// the first reads each matched file again from its start (`otlp_json_file`'s
    /// `replay_file`). No checkpoints are kept.
    pub no_tracking: bool,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            gates: FeatureGates::default(),
            persister: None,
            header_parser: None,
            batch_size: DEFAULT_BATCH_SIZE,
            no_tracking: false,
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
    record_offset: bool,
    initial_window: usize,
    on_truncate: OnTruncate,
    /// `polls_to_archive` when archiving is on (it needs storage), else 0
    polls_to_archive: usize,
    /// the next archive slot to write (Go's `archiveIndex`)
    archive_index: usize,
    compression: Compression,
    batch_size: usize,
    no_tracking: bool,
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
        let has_storage = opts.persister.is_some();
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
            record_offset: cfg.include_file_record_offset,
            initial_window: cfg.initial_buffer_size(),
            on_truncate: cfg.on_truncate()?,
            polls_to_archive: if has_storage {
                usize::try_from(cfg.polls_to_archive).unwrap_or(0)
            } else {
                0
            },
            archive_index: 0,
            compression: cfg.compression()?,
            batch_size: opts.batch_size.max(1),
            no_tracking: opts.no_tracking,
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
        m.restore_archive_index();
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
        if self.no_tracking {
            // closes the files; the next poll sees them all as new
            self.previous.clear();
            self.known.iter_mut().for_each(Vec::clear);
            return;
        }
        self.save_checkpoint();
        // the oldest generation goes to the archive instead of being forgotten
        let oldest = std::mem::take(&mut self.known[KNOWN_GENERATIONS - 1]);
        self.archive(&oldest);
        self.known.rotate_right(1);
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
        let mut unmatched = Vec::new();
        for path in paths {
            if let Some(u) = self.make_reader(path, &unmatched) {
                unmatched.push(u);
            }
        }
        // files unknown in memory are looked up in the archive (one storage read per
        // archived poll at most), then read as known or as new files
        let found = self.find_in_archive(&unmatched);
        for ((file, path, fp), meta) in unmatched.into_iter().zip(found) {
            let r = match meta {
                Some(meta) => self.reader_from_metadata(file, &path, meta),
                None => self.new_file_reader(file, &path, fp),
            };
            match r {
                Ok(r) => self.current.push(r),
                Err(e) => tracing::error!(path, error = %e, "Failed to create reader"),
            }
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
            record_offset: self.record_offset,
            initial_window: self.initial_window,
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

    /// Opens `path` and pairs it with what memory knows of it; a file memory does not
    /// know is handed back for the archive lookup.
    fn make_reader(
        &mut self,
        path: &str,
        unmatched: &[(File, String, Fingerprint)],
    ) -> Option<(File, String, Fingerprint)> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(path, error = %e, "failed to open file");
                return None;
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
                return None;
            }
        };
        if fp.is_empty() {
            return None; // empty files are ignored until they have content
        }
        // the copy step of copy/truncate: two paths, same content
        if self.current.iter().any(|r| r.meta.fingerprint == fp)
            || unmatched.iter().any(|(_, _, other)| *other == fp)
        {
            tracing::debug!(path, "Skipping duplicate file");
            return None;
        }
        match self.memory_metadata(path, &fp) {
            Some(meta) => match self.reader_from_metadata(file, path, meta) {
                Ok(r) => self.current.push(r),
                Err(e) => tracing::error!(path, error = %e, "Failed to create reader"),
            },
            None => return Some((file, path.to_string(), fp)),
        }
        None
    }

    /// What memory knows of a file with this fingerprint: the previous poll's open
    /// readers, then the generations of closed files.
    fn memory_metadata(&mut self, path: &str, fp: &Fingerprint) -> Option<Metadata> {
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
            return Some(old.into_metadata());
        }
        for generation in 0..KNOWN_GENERATIONS {
            if let Some(i) = self.known[generation]
                .iter()
                .position(|m| fp.starts_with(&m.fingerprint))
            {
                return Some(self.known[generation].remove(i));
            }
        }
        None
    }

    fn new_file_reader(
        &mut self,
        file: File,
        path: &str,
        fp: Fingerprint,
    ) -> Result<Reader, String> {
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

    /// The archive slot key (Go's `knownFiles<i>`, scoped by the operator id like the
    /// live checkpoint).
    fn archive_key(index: usize) -> String {
        format!("{KNOWN_FILES_KEY}{index}")
    }

    /// Go's `restoreArchiveIndex`: continue the ring where the last run stopped.
    fn restore_archive_index(&mut self) {
        if self.polls_to_archive == 0 {
            return;
        }
        let Some(p) = &self.persister else {
            return;
        };
        match p.get(ARCHIVE_INDEX_KEY) {
            Err(e) => {
                tracing::error!(error = %e, "error while reading the archiveIndexKey. Starting from 0");
            }
            Ok(None) => {}
            Ok(Some(bytes)) => match <[u8; 8]>::try_from(bytes.get(..8).unwrap_or_default()) {
                Err(_) => tracing::error!(
                    error = "invalid value",
                    "error getting read index. Starting from 0"
                ),
                Ok(raw) => {
                    let index = u64::from_le_bytes(raw);
                    match usize::try_from(index) {
                        Ok(i) if i < self.polls_to_archive => self.archive_index = i,
                        _ => tracing::warn!(
                            "the read index was found, but it exceeds the bounds. Starting from 0"
                        ),
                    }
                }
            },
        }
    }

    /// Go's `archive`: the generation that leaves memory is written to the next slot of
    /// the ring (even when empty, so that slots age one per poll), then the index.
    fn archive(&mut self, generation: &[Metadata]) {
        if self.polls_to_archive == 0 {
            return;
        }
        let Some(p) = &self.persister else {
            return;
        };
        let index = self.archive_index;
        self.archive_index = (index + 1) % self.polls_to_archive;
        let bytes = checkpoint::encode(generation.iter());
        let r = p.set(&Self::archive_key(index), bytes).and_then(|()| {
            p.set(
                ARCHIVE_INDEX_KEY,
                (self.archive_index as u64).to_le_bytes().to_vec(),
            )
        });
        if let Err(e) = r {
            tracing::error!(error = %e, "error faced while saving to the archive");
        }
    }

    /// Go's `FindFiles`: the archived polls from the newest to the oldest, each read at
    /// most once; a match is taken out of its slot, which is written back.
    fn find_in_archive(
        &mut self,
        unmatched: &[(File, String, Fingerprint)],
    ) -> Vec<Option<Metadata>> {
        let mut found: Vec<Option<Metadata>> = unmatched.iter().map(|_| None).collect();
        if self.polls_to_archive == 0 || unmatched.is_empty() {
            return found;
        }
        let Some(p) = &self.persister else {
            return found;
        };
        let n = self.polls_to_archive;
        let mut matched = 0;
        let mut index = self.archive_index;
        for _ in 0..n {
            index = (index + n - 1) % n;
            let key = Self::archive_key(index);
            let mut slot = match p.get(&key) {
                Ok(Some(bytes)) => match checkpoint::decode(&bytes) {
                    Ok(slot) => slot,
                    Err(e) => {
                        tracing::error!(error = %e, "error while opening archive");
                        continue;
                    }
                },
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "error while opening archive");
                    continue;
                }
            };
            let mut modified = false;
            for (i, (_, _, fp)) in unmatched.iter().enumerate() {
                if found[i].is_some() {
                    continue;
                }
                if let Some(j) = slot.iter().position(|m| fp.starts_with(&m.fingerprint)) {
                    found[i] = Some(slot.remove(j));
                    modified = true;
                    matched += 1;
                }
            }
            if !modified {
                continue;
            }
            if let Err(e) = p.set(&key, checkpoint::encode(slot.iter())) {
                tracing::error!(error = %e, "error while opening archive");
            }
            if matched == unmatched.len() {
                break;
            }
        }
        found
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
        if self.on_truncate != OnTruncate::Ignore {
            // same first bytes, fewer bytes than were read: truncated and written again
            let size = file.metadata().map_err(|e| format!("stat: {e}"))?.len();
            if size < meta.offset {
                tracing::debug!(path, offset = meta.offset, size, "File has been truncated");
                meta.offset = match self.on_truncate {
                    OnTruncate::ReadWholeFile => 0,
                    _ => size,
                };
                meta.flush = FlushState::new(SystemTime::now());
            }
        }
        let resolved = self.resolver.resolve(path, &file)?;
        let attrs = Arc::make_mut(&mut meta.attributes);
        attrs.extend(resolved);
        let gzip = match self.compression {
            Compression::None => false,
            Compression::Gzip => {
                let mut magic = [0u8; 2];
                read_full_at(&file, &mut magic, 0).is_ok_and(|n| n == 2) && magic == GZIP_MAGIC
            }
            // Go 0.135 decides by the name: a `.gz` file is gunzipped, any other is
            // read as it is, whatever its first bytes
            Compression::Auto => Path::new(path).extension().is_some_and(|e| e == "gz"),
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
