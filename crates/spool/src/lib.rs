//! `spool`: the on-disk form of the persistent sending queue. It owns one directory and keeps
//! there an append-only log of records, each numbered (its *index*, consecutive from 0),
//! tagged with one byte the caller chooses, and checksummed; and a log of which indices are
//! done. It knows nothing of telemetry: the exporter helper's persistent queue
//! (`runtime::exporterhelper::persistent`) stores OTLP requests in it.
//!
//! Why not a key-value store: a queue is written once, read once in order, and deleted in
//! order, which is what an append-only log does with one `write` per group of records and no
//! page copies; and a damaged B-tree file cannot be opened at all, while a damaged log still
//! yields every record that is intact. No crate we found does the second part (per-record
//! checksums, resynchronising past damage, and counting what was lost), so it is written here.
//!
//! # Files
//! - `<first index, 20 digits>.seg`: segments. Records are appended to the newest one, which
//!   is closed at `segment_bytes` (and at every open: a new run never appends after a tail it
//!   did not write). A segment is deleted once every record in it is done.
//!   A record is a 24-byte header — magic, CRC-32 of the rest of the header and the payload,
//!   payload length, tag, index — and the payload.
//! - `acks`: an append-only log of done indices (and, after a rewrite, a low watermark below
//!   which everything is done), checksummed the same way. It is rewritten small at open and
//!   whenever it grows past [`ACKS_REWRITE_BYTES`].
//! - `head`: the next index to write, overwritten in place after each append. It is what lets
//!   [`Spool::open`] count records cut off the end of a truncated segment.
//! - `lock`: held with an exclusive lock while the spool is open, so two processes never
//!   share a queue.
//!
//! # Recovery
//! [`Spool::open`] reads everything back. Damaged bytes (bad magic, bad checksum, a length
//! past the end of the file, an index outside the segment's range) are skipped by scanning
//! forward for the next intact record. Every index that should be on disk — from the oldest
//! segment's first index to the head — and is neither intact nor done is counted as lost,
//! marked done (so that the next open does not count it again), and described in
//! [`Recovery::problems`]. Nothing in a damaged directory makes `open` fail: only I/O errors
//! on the directory itself (missing permissions, a full disk) or another process holding it.
//!
//! # Durability
//! With `fsync`, [`Spool::append`] returns once the records are on stable storage
//! (`fdatasync`; new segment files also sync the directory). Without it, once they are in
//! the OS page cache: they survive the process being killed, not a power loss. Acks and the
//! head are never synced: a lost ack makes a record be delivered again (a duplicate, not a
//! loss), a stale head only undercounts what a damaged tail lost.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let (mut spool, rec) = spool::Spool::open(dir.path(), spool::Options::default()).unwrap();
//! assert!(rec.records.is_empty());
//! let first = spool.append(&[(1, b"one"), (1, b"two")]).unwrap();
//! spool.release(&[first]).unwrap();
//! drop(spool);
//! let (_spool, rec) = spool::Spool::open(dir.path(), spool::Options::default()).unwrap();
//! assert_eq!(rec.records.len(), 1);
//! assert_eq!(&rec.records[0].payload[..], b"two");
//! assert_eq!(rec.lost, 0);
//! ```

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

const SEGMENT_MAGIC: u32 = 0x4651_5331; // "1SQF" little-endian: ferrotel queue segment v1
const ACK_MAGIC: u32 = 0x4651_4131; // ferrotel queue ack v1
const HEAD_MAGIC: u32 = 0x4651_4831; // ferrotel queue head v1
const HEADER: usize = 24;
/// A length beyond this is damage, not a record (the exporter helper refuses far smaller
/// requests long before).
const MAX_RECORD: u32 = 1 << 30;
/// Ack kinds.
const ACK_INDICES: u8 = 1;
const ACK_LOW: u8 = 2;
/// The ack log is rewritten (current state only) once it grows past this.
pub const ACKS_REWRITE_BYTES: u64 = 1 << 20;
/// iovecs per `writev` (Linux allows 1024).
const IOV_RECORDS: usize = 256;

/// How a spool writes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Records are on stable storage when [`Spool::append`] returns.
    pub fsync: bool,
    /// A segment is closed (and a new one started) once it holds at least this many bytes.
    pub segment_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fsync: false,
            segment_bytes: 16 << 20,
        }
    }
}

/// One intact record read back by [`Spool::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub index: u64,
    pub tag: u8,
    pub payload: Bytes,
}

/// What [`Spool::open`] found.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Records not yet done, in index order.
    pub records: Vec<Record>,
    /// Records that should have been there and were damaged or missing.
    pub lost: u64,
    /// One sentence per damage found, for the log.
    pub problems: Vec<String>,
}

/// An open spool. Not shared: callers serialise access (the persistent queue holds it in a
/// mutex).
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    opts: Options,
    _lock: File,
    /// First index of each segment on disk, oldest first; the last one is `active`'s.
    segments: Vec<u64>,
    active: File,
    active_len: u64,
    head: File,
    acks: File,
    acks_len: u64,
    next: u64,
    /// Every index below `low` is done.
    low: u64,
    /// Done indices above `low`.
    done: BTreeSet<u64>,
}

fn segment_name(first: u64) -> String {
    format!("{first:020}.seg")
}

fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn crc(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

/// magic | crc(rest of header + payload) | len | tag | 3 zero bytes | index
fn header(magic: u32, tag: u8, index: u64, payload: &[u8]) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[0..4].copy_from_slice(&magic.to_le_bytes());
    h[8..12].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    h[12] = tag;
    h[16..24].copy_from_slice(&index.to_le_bytes());
    let c = crc(&[&h[8..], payload]);
    h[4..8].copy_from_slice(&c.to_le_bytes());
    h
}

/// An intact record starting at `pos`: (tag, index, payload range end).
fn record_at(buf: &[u8], pos: usize, magic: u32) -> Option<(u8, u64, usize)> {
    let h = buf.get(pos..pos + HEADER)?;
    if u32_at(h, 0) != magic {
        return None;
    }
    let len = u32_at(h, 8);
    if len > MAX_RECORD {
        return None;
    }
    let end = pos + HEADER + len as usize;
    let payload = buf.get(pos + HEADER..end)?;
    if crc(&[&h[8..], payload]) != u32_at(h, 4) {
        return None;
    }
    Some((h[12], u64_at(h, 16), end))
}

/// Walks `buf`'s records, resynchronising past damage. `accept` decides whether an intact
/// record belongs (its index in range); refused ones count as damage too. Returns the
/// damaged regions as (offset, length).
fn scan(
    buf: &[u8],
    magic: u32,
    mut accept: impl FnMut(u8, u64, usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut damaged = Vec::new();
    let mut pos = 0;
    let mut bad_from: Option<usize> = None;
    let m = magic.to_le_bytes();
    while pos < buf.len() {
        if let Some((tag, index, end)) = record_at(buf, pos, magic)
            && accept(tag, index, pos + HEADER, end)
        {
            if let Some(b) = bad_from.take() {
                damaged.push((b, pos - b));
            }
            pos = end;
            continue;
        }
        bad_from.get_or_insert(pos);
        // The next place a record could start.
        pos = match buf[pos + 1..].windows(4).position(|w| w == m) {
            Some(i) => pos + 1 + i,
            None => buf.len(),
        };
    }
    if let Some(b) = bad_from {
        damaged.push((b, buf.len() - b));
    }
    damaged
}

/// The file's bytes, as long as it was when opened (a device or a file still growing is not
/// read forever).
fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    let f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut buf = Vec::with_capacity(len as usize);
    f.take(len).read_to_end(&mut buf)?;
    Ok(buf)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

/// `write_all` over many slices (std's `write_all_vectored` is unstable).
fn write_all_vectored(f: &mut File, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !bufs.is_empty() {
        match f.write_vectored(bufs) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "wrote nothing")),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| at(path, e))
}

impl Spool {
    /// Opens (creating if needed) the spool in `dir` and reads back what a previous run left.
    pub fn open(dir: &Path, opts: Options) -> io::Result<(Spool, Recovery)> {
        fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| at(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    format!("{}: held by another process", dir.display()),
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(at(&lock_path, e)),
        }
        let mut rec = Recovery::default();

        // Segments on disk, by first index; anything else in the directory is left alone.
        let mut firsts = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| at(dir, e))? {
            let entry = entry.map_err(|e| at(dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(".seg")
                && stem.len() == 20
                && let Ok(first) = stem.parse::<u64>()
            {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();

        // What is done.
        let acks_path = dir.join("acks");
        let mut low = 0u64;
        let mut done = BTreeSet::new();
        match read_all(&acks_path) {
            Ok(buf) => {
                let damaged = scan(&buf, ACK_MAGIC, |tag, _, from, end| {
                    let body = &buf[from..end];
                    match tag {
                        ACK_INDICES if body.len().is_multiple_of(8) => {
                            done.extend(body.chunks_exact(8).map(|c| u64_at(c, 0)));
                            true
                        }
                        ACK_LOW if body.len() == 8 => {
                            low = low.max(u64_at(body, 0));
                            true
                        }
                        _ => false,
                    }
                });
                let bytes: usize = damaged.iter().map(|d| d.1).sum();
                if bytes > 0 {
                    rec.problems.push(format!(
                        "{}: {bytes} damaged bytes skipped; the requests they marked as sent may be sent again",
                        acks_path.display()
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(at(&acks_path, e)),
        }

        // Where writing stopped.
        let head_path = dir.join("head");
        let head_next = match read_all(&head_path) {
            Ok(b) if b.is_empty() => None,
            Ok(b) => match record_at(&b, 0, HEAD_MAGIC) {
                Some((_, next, _)) => Some(next),
                None => {
                    rec.problems.push(format!(
                        "{}: damaged; requests cut off the end of the last segment cannot be counted",
                        head_path.display()
                    ));
                    None
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(at(&head_path, e)),
        };

        // The records.
        let mut last_seen: Option<u64> = None;
        let mut intact = BTreeSet::new();
        for (k, &first) in firsts.iter().enumerate() {
            let end = firsts.get(k + 1).copied().unwrap_or(u64::MAX);
            let path = dir.join(segment_name(first));
            let buf = Bytes::from(read_all(&path).map_err(|e| at(&path, e))?);
            let mut prev: Option<u64> = None;
            let damaged = scan(&buf, SEGMENT_MAGIC, |tag, index, from, to| {
                if index < first || index >= end || prev.is_some_and(|p| index <= p) {
                    return false;
                }
                prev = Some(index);
                intact.insert(index);
                if index >= low && !done.contains(&index) {
                    rec.records.push(Record {
                        index,
                        tag,
                        payload: buf.slice(from..to),
                    });
                }
                true
            });
            if let Some(p) = prev {
                last_seen = Some(p);
            }
            for (off, len) in damaged {
                rec.problems.push(format!(
                    "{}: {len} damaged bytes at offset {off} skipped",
                    path.display()
                ));
            }
        }

        // Everything that should be there and is not intact, nor done, is lost.
        let oldest = firsts.first().copied().unwrap_or(0);
        let mut next = head_next.unwrap_or(0).max(oldest);
        if let Some(l) = last_seen {
            next = next.max(l + 1);
        }
        if let Some(&f) = firsts.last() {
            next = next.max(f);
        }
        low = low.max(oldest);
        let mut lost_ranges: Vec<(u64, u64)> = Vec::new();
        let mut i = low;
        while i < next {
            if intact.contains(&i) || done.contains(&i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < next && !intact.contains(&i) && !done.contains(&i) {
                done.insert(i);
                i += 1;
            }
            lost_ranges.push((start, i));
        }
        for (a, b) in &lost_ranges {
            rec.lost += b - a;
            rec.problems.push(if b - a == 1 {
                format!("request {a} is damaged or missing: lost")
            } else {
                format!("requests {a} to {} are damaged or missing: lost", b - 1)
            });
        }
        done.retain(|&d| d >= low && d < next);
        while done.remove(&low) {
            low += 1;
        }

        // Write in a fresh segment: a tail this run did not write is never appended to. An
        // empty newest segment (a run that wrote nothing) is replaced; one named `next` that
        // holds only damage is appended to (what follows the damage is found by the scan).
        if let Some(&f) = firsts.last() {
            let path = dir.join(segment_name(f));
            let empty = fs::metadata(&path).map(|m| m.len() == 0).unwrap_or(false);
            if empty && f != next {
                fs::remove_file(&path).map_err(|e| at(&path, e))?;
                firsts.pop();
            }
        }
        if firsts.last() != Some(&next) {
            firsts.push(next);
        }
        let active_path = dir.join(segment_name(next));
        let active = open_append(&active_path)?;
        let active_len = active.metadata().map_err(|e| at(&active_path, e))?.len();
        if opts.fsync {
            sync_dir(dir).map_err(|e| at(dir, e))?;
        }
        let head = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&head_path)
            .map_err(|e| at(&head_path, e))?;

        let mut spool = Spool {
            dir: dir.to_path_buf(),
            opts,
            _lock: lock,
            segments: firsts,
            active,
            active_len,
            head,
            acks: open_append(&acks_path)?,
            acks_len: 0,
            next,
            low,
            done,
        };
        spool.write_head()?;
        spool.rewrite_acks()?;
        spool.delete_done_segments()?;
        Ok((spool, rec))
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The index the next appended record gets.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// Appends records (tag, payload) in one write; returns the first one's index (the rest
    /// follow consecutively). On error nothing is appended.
    pub fn append(&mut self, records: &[(u8, &[u8])]) -> io::Result<u64> {
        let first = self.next;
        if records.is_empty() {
            return Ok(first);
        }
        if self.active_len >= self.opts.segment_bytes {
            self.roll()?;
        }
        let headers: Vec<[u8; HEADER]> = records
            .iter()
            .enumerate()
            .map(|(i, (tag, p))| header(SEGMENT_MAGIC, *tag, first + i as u64, p))
            .collect();
        let mut written = 0u64;
        let mut result = Ok(());
        for (hs, rs) in headers.chunks(IOV_RECORDS).zip(records.chunks(IOV_RECORDS)) {
            let mut iov = Vec::with_capacity(hs.len() * 2);
            for (h, (_, p)) in hs.iter().zip(rs) {
                iov.push(IoSlice::new(h));
                iov.push(IoSlice::new(p));
                written += (HEADER + p.len()) as u64;
            }
            result = write_all_vectored(&mut self.active, &mut iov);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() && self.opts.fsync {
            result = self.active.sync_data();
        }
        if let Err(e) = result {
            // Cut what part of the group reached the file, so the segment stays clean.
            let _ = self.active.set_len(self.active_len);
            return Err(at(&self.dir.join(segment_name(self.active_first())), e));
        }
        self.active_len += written;
        self.next = first + records.len() as u64;
        self.write_head()?;
        Ok(first)
    }

    /// Marks records done (exported, or given up on). Done records are never read back;
    /// segments whose records are all done are deleted.
    pub fn release(&mut self, indices: &[u64]) -> io::Result<()> {
        let mut fresh = Vec::with_capacity(indices.len() * 8);
        for &i in indices {
            if i >= self.low && i < self.next && self.done.insert(i) {
                fresh.extend_from_slice(&i.to_le_bytes());
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        while self.done.remove(&self.low) {
            self.low += 1;
        }
        if self.acks_len + (HEADER + fresh.len()) as u64 > ACKS_REWRITE_BYTES {
            self.rewrite_acks()?;
        } else {
            let h = header(ACK_MAGIC, ACK_INDICES, 0, &fresh);
            write_all_vectored(
                &mut self.acks,
                &mut [IoSlice::new(&h), IoSlice::new(&fresh)],
            )
            .map_err(|e| at(&self.dir.join("acks"), e))?;
            self.acks_len += (HEADER + fresh.len()) as u64;
        }
        self.delete_done_segments()
    }

    /// Puts what was appended so far on stable storage (`fdatasync` of the active segment),
    /// for callers that append without `fsync` and sync on their own schedule.
    pub fn sync(&mut self) -> io::Result<()> {
        self.active
            .sync_data()
            .map_err(|e| at(&self.dir.join(segment_name(self.active_first())), e))
    }

    /// Bytes the spool's files take on disk: its segments and its ack log.
    pub fn disk_bytes(&self) -> u64 {
        let closed: u64 = self.segments[..self.segments.len().saturating_sub(1)]
            .iter()
            .filter_map(|first| fs::metadata(self.dir.join(segment_name(*first))).ok())
            .map(|m| m.len())
            .sum();
        closed + self.active_len + self.acks_len
    }

    /// Records not done, as far as this run knows (for tests and metrics).
    pub fn pending(&self) -> u64 {
        self.next - self.low - self.done.len() as u64
    }

    fn active_first(&self) -> u64 {
        self.segments.last().copied().unwrap_or(self.next)
    }

    fn roll(&mut self) -> io::Result<()> {
        let path = self.dir.join(segment_name(self.next));
        self.active = open_append(&path)?;
        self.active_len = 0;
        self.segments.push(self.next);
        if self.opts.fsync {
            sync_dir(&self.dir).map_err(|e| at(&self.dir, e))?;
        }
        self.delete_done_segments()
    }

    fn write_head(&mut self) -> io::Result<()> {
        let h = header(HEAD_MAGIC, 0, self.next, &[]);
        self.head
            .write_all_at(&h, 0)
            .map_err(|e| at(&self.dir.join("head"), e))
    }

    /// Replaces the ack log by the current state: the low watermark and the done indices
    /// above it.
    fn rewrite_acks(&mut self) -> io::Result<()> {
        let tmp = self.dir.join("acks.tmp");
        let mut body = Vec::with_capacity(self.done.len() * 8);
        for d in &self.done {
            body.extend_from_slice(&d.to_le_bytes());
        }
        let low = self.low.to_le_bytes();
        let mut out = Vec::with_capacity(2 * HEADER + 8 + body.len());
        out.extend_from_slice(&header(ACK_MAGIC, ACK_LOW, 0, &low));
        out.extend_from_slice(&low);
        if !body.is_empty() {
            out.extend_from_slice(&header(ACK_MAGIC, ACK_INDICES, 0, &body));
            out.extend_from_slice(&body);
        }
        fs::write(&tmp, &out).map_err(|e| at(&tmp, e))?;
        let path = self.dir.join("acks");
        fs::rename(&tmp, &path).map_err(|e| at(&path, e))?;
        self.acks = open_append(&path)?;
        self.acks_len = out.len() as u64;
        Ok(())
    }

    /// Deletes the oldest segments while everything in them is done (never the active one).
    fn delete_done_segments(&mut self) -> io::Result<()> {
        let mut n = 0;
        while n + 1 < self.segments.len() && self.segments[n + 1] <= self.low {
            let path = self.dir.join(segment_name(self.segments[n]));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(at(&path, e)),
            }
            n += 1;
        }
        self.segments.drain(..n);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
