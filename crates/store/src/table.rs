//! The storage machinery the three signals share: a head of rows in memory (its input is
//! in the WAL), heads being sealed, and sealed blocks — immutable files of zstd-compressed
//! pages with a footer that the store keeps in memory (time bounds, page table, the
//! signal's own index). What a row is and how a page and an index are laid out is the
//! signal's [`Schema`]; scanning, sealing, caching decoded pages and evicting blocks is
//! here once.
//!
//! Block file: `FTSBLK03` magic, the pages, the footer, then footer length (u64 LE), the
//! footer's CRC-32 (u32 LE) and the magic again. A block is written to `<seq>.tmp`, synced
//! and renamed, so a crash leaves either a whole block or a temporary file that the next
//! open deletes. Pages are zstd frames with the frame checksum on. A page may be two
//! frames: a prefix the schema chose (log lines and their times) and the rest, so a scan
//! that needs only the prefix decompresses only that; the whole page is both frames
//! decompressed as one. Blocks of the development formats (`FTSBLK01`, `FTSBLK02`,
//! never released) are set aside at open like damaged ones, with a message that says so.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::codec::{Reader, Result, put_bytes, put_ivarint, put_uvarint};

const MAGIC: &[u8; 8] = b"FTSBLK03";
/// Development formats (other page layouts), never released.
const MAGIC_DEV: [&[u8; 8]; 2] = [b"FTSBLK01", b"FTSBLK02"];

/// What one signal stores and how.
pub(crate) trait Schema: Send + Sync + 'static {
    type Row: Send + Sync + 'static;
    /// The per-block index kept in memory (catalogs, filters).
    type Meta: Send + Sync + 'static;
    /// Directory under the data directory, and the name in logs and metrics.
    const NAME: &'static str;
    /// The row's time in nanoseconds (metrics: milliseconds), for time bounds and retention.
    fn time(row: &Self::Row) -> i64;
    /// Approximate bytes the row holds in memory.
    fn size(row: &Self::Row) -> usize;
    /// Orders the rows of a block before they are cut into pages.
    fn sort(rows: &mut [&Self::Row]);
    /// Writes the page; returns how many of its first bytes are compressed as a frame of
    /// their own (0: one frame), for [`Table::page_prefix`].
    fn encode_page(rows: &[&Self::Row], out: &mut Vec<u8>) -> usize;
    fn decode_page(page: &[u8]) -> Result<Vec<Self::Row>>;
    /// The index of a block whose sorted rows are cut into `pages`.
    fn build_meta(rows: &[&Self::Row], pages: &[Range<usize>]) -> Self::Meta;
    fn encode_meta(meta: &Self::Meta, out: &mut Vec<u8>);
    fn decode_meta(r: &mut Reader) -> Result<Self::Meta>;
    fn meta_bytes(meta: &Self::Meta) -> usize;
}

#[derive(Debug, Clone)]
pub(crate) struct PageRef {
    offset: u64,
    len: u32,
    raw_len: u32,
    /// Compressed and raw length of the prefix frame (0: none).
    prefix_len: u32,
    prefix_raw: u32,
    pub min_t: i64,
    pub max_t: i64,
    pub rows: u32,
}

enum Data {
    File { file: File, path: PathBuf },
    Memory(Vec<u8>),
}

/// A sealed block.
pub(crate) struct Block<S: Schema> {
    pub seq: u64,
    pub min_t: i64,
    pub max_t: i64,
    pub rows: u64,
    /// Bytes on disk (or in memory) of the whole block.
    pub bytes: u64,
    pub pages: Vec<PageRef>,
    pub meta: S::Meta,
    /// WAL records whose rows are in this block.
    pub wal: Vec<u64>,
    data: Data,
}

/// Rows not yet in a block. Kept as the chunks they arrived in, so that a query's snapshot
/// clones reference counts, not rows.
pub(crate) struct Head<S: Schema> {
    pub chunks: Vec<Arc<Vec<S::Row>>>,
    pub bytes: usize,
    pub wal: Vec<u64>,
    pub since: Option<Instant>,
}

impl<S: Schema> Default for Head<S> {
    fn default() -> Self {
        Head {
            chunks: Vec::new(),
            bytes: 0,
            wal: Vec::new(),
            since: None,
        }
    }
}

struct State<S: Schema> {
    head: Head<S>,
    /// Heads being written to blocks: still queried until their block is in `blocks`.
    sealing: Vec<Arc<Head<S>>>,
    blocks: Vec<Arc<Block<S>>>,
}

/// A consistent view for one query.
pub(crate) struct Snapshot<S: Schema> {
    /// Unsealed rows, newest chunk last.
    pub chunks: Vec<Arc<Vec<S::Row>>>,
    /// Blocks, oldest first.
    pub blocks: Vec<Arc<Block<S>>>,
}

pub(crate) struct TableOptions {
    /// Rows per page (bounded further by `page_bytes`).
    pub page_rows: usize,
    pub page_bytes: usize,
    /// The head is sealed at this many bytes.
    pub head_bytes: usize,
    pub zstd_level: i32,
    pub page_cache_bytes: usize,
}

pub(crate) struct Table<S: Schema> {
    dir: Option<PathBuf>,
    opts: TableOptions,
    state: RwLock<State<S>>,
    seal_lock: Mutex<()>,
    cache: Mutex<PageCache<S>>,
}

/// Decoded pages, most recently inserted kept, bounded by their raw size.
struct PageCache<S: Schema> {
    map: HashMap<(u64, u32), Arc<Vec<S::Row>>>,
    order: VecDeque<((u64, u32), usize)>,
    bytes: usize,
    cap: usize,
}

impl<S: Schema> Table<S> {
    /// Opens the table: reads every block's footer. Damaged blocks are set aside (renamed
    /// `.damaged`) and reported, never fatal.
    pub(crate) fn open(
        dir: Option<PathBuf>,
        opts: TableOptions,
        problems: &mut Vec<String>,
    ) -> std::io::Result<Table<S>> {
        let mut blocks = Vec::new();
        if let Some(d) = &dir {
            fs::create_dir_all(d)?;
            let mut names: Vec<_> = fs::read_dir(d)?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .collect();
            names.sort();
            for p in names {
                match p.extension().and_then(|e| e.to_str()) {
                    Some("tmp") => {
                        let _ = fs::remove_file(&p);
                    }
                    Some("blk") => match read_block::<S>(&p) {
                        Ok(b) => blocks.push(Arc::new(b)),
                        Err(e) => {
                            problems.push(format!("{}: {e}; set aside", p.display()));
                            let _ = fs::rename(&p, p.with_extension("damaged"));
                        }
                    },
                    _ => {}
                }
            }
        }
        blocks.sort_by_key(|b| b.seq);
        let cap = opts.page_cache_bytes;
        Ok(Table {
            dir,
            opts,
            state: RwLock::new(State {
                head: Head::default(),
                sealing: Vec::new(),
                blocks,
            }),
            seal_lock: Mutex::new(()),
            cache: Mutex::new(PageCache {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
                cap,
            }),
        })
    }

    pub(crate) fn max_seq(&self) -> u64 {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        st.blocks.iter().map(|b| b.seq).max().unwrap_or(0)
    }

    /// WAL records already in blocks (they are not replayed).
    pub(crate) fn covered_wal(&self) -> Vec<u64> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        st.blocks
            .iter()
            .flat_map(|b| b.wal.iter().copied())
            .collect()
    }

    /// Adds rows that arrived in WAL record `wal` (None: not logged). Returns true when the
    /// head has grown past its size and should be sealed.
    pub(crate) fn append(&self, rows: Vec<S::Row>, wal: Option<u64>) -> bool {
        if rows.is_empty() {
            if let Some(w) = wal {
                let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
                st.head.wal.push(w);
            }
            return false;
        }
        let bytes: usize = rows.iter().map(S::size).sum();
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let h = &mut st.head;
        h.chunks.push(Arc::new(rows));
        h.bytes += bytes;
        h.wal.extend(wal);
        h.since.get_or_insert_with(Instant::now);
        h.bytes >= self.opts.head_bytes
    }

    pub(crate) fn head_bytes(&self) -> usize {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        st.head.bytes + st.sealing.iter().map(|h| h.bytes).sum::<usize>()
    }

    pub(crate) fn head_age(&self) -> Option<std::time::Duration> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        st.head.since.map(|s| s.elapsed())
    }

    pub(crate) fn snapshot(&self) -> Snapshot<S> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        let mut chunks = Vec::new();
        for h in &st.sealing {
            chunks.extend(h.chunks.iter().cloned());
        }
        chunks.extend(st.head.chunks.iter().cloned());
        Snapshot {
            chunks,
            blocks: st.blocks.clone(),
        }
    }

    /// Seals the head into a block if it is not empty. Returns the WAL records the block
    /// now holds (to release) and the block's bytes.
    pub(crate) fn seal(&self, seq: u64) -> std::io::Result<Option<(Vec<u64>, u64)>> {
        let _one = self.seal_lock.lock().unwrap_or_else(|e| e.into_inner());
        let head = {
            let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
            if st.head.chunks.is_empty() {
                return Ok(None);
            }
            let h = Arc::new(std::mem::take(&mut st.head));
            st.sealing.push(h.clone());
            h
        };
        let result = self.write_block(seq, &head);
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        st.sealing.retain(|h| !Arc::ptr_eq(h, &head));
        match result {
            Ok(block) => {
                let out = (block.wal.clone(), block.bytes);
                st.blocks.push(Arc::new(block));
                Ok(Some(out))
            }
            Err(e) => {
                // Keep the rows queryable and in the WAL: put them back in front of the head.
                let h = &mut st.head;
                let mut chunks = head.chunks.clone();
                chunks.append(&mut h.chunks);
                h.chunks = chunks;
                h.bytes += head.bytes;
                h.wal.extend(head.wal.iter().copied());
                h.since = head.since.or(h.since);
                Err(e)
            }
        }
    }

    fn write_block(&self, seq: u64, head: &Head<S>) -> std::io::Result<Block<S>> {
        let mut rows: Vec<&S::Row> = head.chunks.iter().flat_map(|c| c.iter()).collect();
        S::sort(&mut rows);
        // Cut pages by rows and raw bytes.
        let mut ranges = Vec::new();
        let mut start = 0;
        let mut bytes = 0;
        for (i, r) in rows.iter().enumerate() {
            bytes += S::size(r);
            if i + 1 - start >= self.opts.page_rows || bytes >= self.opts.page_bytes {
                ranges.push(start..i + 1);
                start = i + 1;
                bytes = 0;
            }
        }
        if start < rows.len() {
            ranges.push(start..rows.len());
        }
        let mut out = Vec::with_capacity(head.bytes / 4);
        out.extend_from_slice(MAGIC);
        let mut pages = Vec::with_capacity(ranges.len());
        let mut raw = Vec::new();
        let mut comp = zstd::bulk::Compressor::new(self.opts.zstd_level)?;
        comp.include_checksum(true)?;
        for r in &ranges {
            raw.clear();
            let prefix = S::encode_page(&rows[r.clone()], &mut raw).min(raw.len());
            let mut c = Vec::new();
            let mut prefix_len = 0;
            if prefix > 0 {
                c = comp.compress(&raw[..prefix])?;
                prefix_len = c.len() as u32;
            }
            c.extend_from_slice(&comp.compress(&raw[prefix..])?);
            let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
            for row in &rows[r.clone()] {
                let t = S::time(row);
                min_t = min_t.min(t);
                max_t = max_t.max(t);
            }
            pages.push(PageRef {
                offset: out.len() as u64,
                len: c.len() as u32,
                raw_len: raw.len() as u32,
                prefix_len,
                prefix_raw: prefix as u32,
                min_t,
                max_t,
                rows: r.len() as u32,
            });
            out.extend_from_slice(&c);
        }
        let meta = S::build_meta(&rows, &ranges);
        let mut block = Block {
            seq,
            min_t: pages.iter().map(|p| p.min_t).min().unwrap_or(0),
            max_t: pages.iter().map(|p| p.max_t).max().unwrap_or(0),
            rows: rows.len() as u64,
            bytes: 0,
            pages,
            meta,
            wal: head.wal.clone(),
            data: Data::Memory(Vec::new()),
        };
        let mut footer = Vec::new();
        encode_footer(&block, &mut footer);
        out.extend_from_slice(&footer);
        out.extend_from_slice(&(footer.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&footer).to_le_bytes());
        out.extend_from_slice(MAGIC);
        block.bytes = out.len() as u64;
        block.data = match &self.dir {
            None => Data::Memory(out),
            Some(d) => {
                let path = d.join(format!("{seq:020}.blk"));
                let tmp = path.with_extension("tmp");
                let mut f = File::create(&tmp)?;
                f.write_all(&out)?;
                f.sync_data()?;
                fs::rename(&tmp, &path)?;
                if let Ok(dirf) = File::open(d) {
                    let _ = dirf.sync_all();
                }
                Data::File {
                    file: File::open(&path)?,
                    path,
                }
            }
        };
        Ok(block)
    }

    /// The decoded rows of one page, if the cache has them.
    pub(crate) fn cached_page(&self, b: &Block<S>, i: usize) -> Option<Arc<Vec<S::Row>>> {
        let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        c.map.get(&(b.seq, i as u32)).cloned()
    }

    /// The raw prefix of a page (see [`Schema::encode_page`]) into `out`, decompressing only
    /// its frame; false when the page has no prefix frame. A scan passes the same scratch
    /// for every page (a decompression context and buffers allocated once, not per page).
    pub(crate) fn page_prefix(
        &self,
        b: &Block<S>,
        i: usize,
        scratch: &mut PrefixScratch,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        let p = &b.pages[i];
        if p.prefix_len == 0 {
            return Ok(false);
        }
        let data = read_range(&b.data, p.offset, p.prefix_len, &mut scratch.compressed)?;
        out.clear();
        out.reserve(p.prefix_raw as usize);
        let dec = match &mut scratch.dec {
            Some(d) => d,
            None => scratch
                .dec
                .insert(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?),
        };
        dec.decompress_to_buffer(data, out)
            .map_err(|e| format!("{} block {} page {i}: {e}", S::NAME, b.seq))?;
        if out.len() != p.prefix_raw as usize {
            return Err(format!(
                "{} block {} page {i}: prefix size differs",
                S::NAME,
                b.seq
            ));
        }
        Ok(true)
    }

    /// A page decompressed, not decoded nor cached (for a caller that needs few of its rows).
    pub(crate) fn raw_page(&self, b: &Block<S>, i: usize) -> Result<Vec<u8>> {
        let p = &b.pages[i];
        let mut compressed = Vec::new();
        let data = read_range(&b.data, p.offset, p.len, &mut compressed)?;
        // Two frames (prefix and rest) decompress as one buffer.
        zstd::bulk::decompress(data, p.raw_len as usize)
            .map_err(|e| format!("{} block {} page {i}: {e}", S::NAME, b.seq))
    }

    /// The decoded rows of one page (cached).
    pub(crate) fn page(&self, b: &Block<S>, i: usize) -> Result<Arc<Vec<S::Row>>> {
        let key = (b.seq, i as u32);
        if let Some(p) = self.cached_page(b, i) {
            return Ok(p);
        }
        let raw = self.raw_page(b, i)?;
        let rows = Arc::new(S::decode_page(&raw)?);
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        c.bytes += raw.len();
        c.order.push_back((key, raw.len()));
        c.map.insert(key, rows.clone());
        while c.bytes > c.cap {
            let Some((k, n)) = c.order.pop_front() else {
                break;
            };
            c.map.remove(&k);
            c.bytes -= n;
        }
        Ok(rows)
    }

    /// (seq, max_t, bytes) of every block, for retention.
    pub(crate) fn block_list(&self) -> Vec<(u64, i64, u64)> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        st.blocks
            .iter()
            .map(|b| (b.seq, b.max_t, b.bytes))
            .collect()
    }

    pub(crate) fn blocks_bytes(&self) -> u64 {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        st.blocks.iter().map(|b| b.bytes).sum()
    }

    /// In-memory size of the block indexes.
    pub(crate) fn meta_bytes(&self) -> usize {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        st.blocks.iter().map(|b| S::meta_bytes(&b.meta)).sum()
    }

    /// Drops a block; returns its rows.
    pub(crate) fn evict(&self, seq: u64) -> u64 {
        let b = {
            let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
            let Some(i) = st.blocks.iter().position(|b| b.seq == seq) else {
                return 0;
            };
            st.blocks.remove(i)
        };
        if let Data::File { path, .. } = &b.data
            && let Err(e) = fs::remove_file(path)
        {
            tracing::warn!(block = %path.display(), error = %e, "Could not delete an evicted block");
        }
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        c.map.retain(|k, _| k.0 != seq);
        b.rows
    }
}

/// Reused across the pages of one scan by [`Table::page_prefix`].
#[derive(Default)]
pub(crate) struct PrefixScratch {
    dec: Option<zstd::bulk::Decompressor<'static>>,
    compressed: Vec<u8>,
}

/// `len` bytes of a block at `offset`: a slice of an in-memory block, or read into `buf`.
fn read_range<'a>(data: &'a Data, offset: u64, len: u32, buf: &'a mut Vec<u8>) -> Result<&'a [u8]> {
    match data {
        Data::Memory(m) => Ok(m
            .get(offset as usize..(offset + u64::from(len)) as usize)
            .ok_or("page outside its block")?),
        Data::File { file, path } => {
            buf.clear();
            buf.resize(len as usize, 0);
            file.read_exact_at(buf, offset)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(buf)
        }
    }
}

fn encode_footer<S: Schema>(b: &Block<S>, out: &mut Vec<u8>) {
    put_uvarint(out, b.seq);
    put_ivarint(out, b.min_t);
    put_ivarint(out, b.max_t);
    put_uvarint(out, b.rows);
    put_uvarint(out, b.pages.len() as u64);
    for p in &b.pages {
        put_uvarint(out, p.offset);
        put_uvarint(out, p.len.into());
        put_uvarint(out, p.raw_len.into());
        put_uvarint(out, p.prefix_len.into());
        put_uvarint(out, p.prefix_raw.into());
        put_ivarint(out, p.min_t);
        put_ivarint(out, p.max_t);
        put_uvarint(out, p.rows.into());
    }
    put_uvarint(out, b.wal.len() as u64);
    for w in &b.wal {
        put_uvarint(out, *w);
    }
    let mut m = Vec::new();
    S::encode_meta(&b.meta, &mut m);
    put_bytes(out, &m);
}

fn read_block<S: Schema>(path: &Path) -> std::result::Result<Block<S>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size < 8 + 20 {
        return Err("too short to be a block".into());
    }
    let mut tail = [0u8; 20];
    file.read_exact_at(&mut tail, size - 20)
        .map_err(|e| e.to_string())?;
    if MAGIC_DEV.iter().any(|m| &tail[12..] == *m) {
        return Err("written by a development build of ferrotel in an older format".into());
    }
    if &tail[12..] != MAGIC {
        return Err("no block trailer (truncated?)".into());
    }
    let flen = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(tail[8..12].try_into().expect("4 bytes"));
    if flen > size - 28 {
        return Err("footer length is damaged".into());
    }
    let mut footer = vec![0u8; flen as usize];
    file.read_exact_at(&mut footer, size - 20 - flen)
        .map_err(|e| e.to_string())?;
    if crc32fast::hash(&footer) != crc {
        return Err("footer checksum mismatch".into());
    }
    let mut r = Reader::new(&footer);
    let seq = r.uvarint()?;
    let min_t = r.ivarint()?;
    let max_t = r.ivarint()?;
    let rows = r.uvarint()?;
    let n = r.len()?;
    let mut pages = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = r.uvarint()?;
        let len = r.uvarint()? as u32;
        let raw_len = r.uvarint()? as u32;
        let (prefix_len, prefix_raw) = (r.uvarint()? as u32, r.uvarint()? as u32);
        if prefix_len > len || prefix_raw > raw_len {
            return Err("page prefix longer than its page".into());
        }
        let p = PageRef {
            offset,
            len,
            raw_len,
            prefix_len,
            prefix_raw,
            min_t: r.ivarint()?,
            max_t: r.ivarint()?,
            rows: r.uvarint()? as u32,
        };
        if p.offset + u64::from(p.len) > size - 20 - flen {
            return Err("page outside the block".into());
        }
        pages.push(p);
    }
    let n = r.len()?;
    let mut wal = Vec::with_capacity(n);
    for _ in 0..n {
        wal.push(r.uvarint()?);
    }
    let m = r.bytes()?;
    let meta = S::decode_meta(&mut Reader::new(m))?;
    Ok(Block {
        seq,
        min_t,
        max_t,
        rows,
        bytes: size,
        pages,
        meta,
        wal,
        data: Data::File {
            file,
            path: path.to_path_buf(),
        },
    })
}
