//! Pod log files for the filelog benchmark: a `/var/log/pods`-shaped tree
//! (`<root>/pods/<namespace>_<pod>_<uid>/<container>/0.log`) of containerd (CRI) lines
//! `2024-05-01T12:00:00.123456789Z stdout F <message>`, written once before the collectors run.
//!
//! Every physical line's message is exactly `message_size` bytes (half of it for each line of a
//! `P`/`F` partial pair) and starts with `seq=<n> `, a number unique within the tree, so the Loki
//! sink can count distinct lines and duplicates. Every file's first line differs (its seq and
//! pod), so fingerprint-based file identity tells them apart.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// What to write.
#[derive(Debug, Clone)]
pub struct PodLogsConfig {
    /// The tree goes under `<root>/pods`.
    pub root: PathBuf,
    pub pods: usize,
    /// Total bytes over all files (each file gets an equal share, rounded up to whole lines).
    pub total_bytes: u64,
    /// Bytes of each message (the part after `stdout F `).
    pub message_size: usize,
    /// Every n-th message is written as a `P` + `F` pair (0: never).
    pub partial_every: u64,
    /// Every n-th line goes to stderr (0: never).
    pub stderr_every: u64,
    pub seed: u64,
}

impl PodLogsConfig {
    pub fn new(root: impl Into<PathBuf>, total_bytes: u64, message_size: usize) -> Self {
        PodLogsConfig {
            root: root.into(),
            pods: 32,
            total_bytes,
            message_size,
            partial_every: 50,
            stderr_every: 10,
            seed: 1,
        }
    }
}

/// What was written, as printed by `gen-pod-logs` (JSON) and read by bench/filelog.py.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Manifest {
    /// `<root>/pods`: what the collectors' `include` globs point into.
    pub pods_dir: String,
    pub files: Vec<String>,
    /// Physical lines (= log entries without recombination) over all files.
    pub lines: u64,
    /// Bytes over all files.
    pub bytes: u64,
    pub message_size: usize,
    /// `P` lines written (each followed by its `F` line).
    pub partial_pairs: u64,
    /// Sequence numbers used: `seq_start..seq_end`.
    pub seq_start: u64,
    pub seq_end: u64,
}

/// splitmix64: deterministic, fast, good enough for names and filler.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn hex(&mut self, out: &mut Vec<u8>, digits: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut v = self.next();
        for i in 0..digits {
            if i % 16 == 15 {
                v = self.next();
            }
            out.push(HEX[(v & 0xf) as usize]);
            v >>= 4;
        }
    }
}

const APPS: &[&str] = &[
    "checkout",
    "cart",
    "frontend",
    "payments",
    "shipping",
    "email",
    "adservice",
    "recommender",
    "currency",
    "quote",
];
const NAMESPACES: &[&str] = &["default", "shop", "payments", "monitoring"];
const WORDS: &[&str] = &[
    "request",
    "completed",
    "user",
    "order",
    "cache",
    "miss",
    "hit",
    "upstream",
    "latency",
    "retry",
    "connection",
    "pool",
    "session",
    "token",
    "refreshed",
    "queue",
    "depth",
    "item",
    "processed",
    "handler",
    "status",
    "ok",
    "db",
    "query",
    "rows",
    "returned",
    "tenant",
    "region",
    "eu-west-1",
    "shard",
    "lease",
    "renewed",
];
const PATHS: &[&str] = &[
    "GET /api/v1/items/",
    "POST /api/v1/orders/",
    "GET /healthz/",
    "PUT /api/v1/cart/",
    "DELETE /api/v1/sessions/",
];
const LEVELS: &[&str] = &["info", "info", "info", "info", "debug", "warn", "error"];

/// One pod directory: `<namespace>_<pod>_<uid>` and its container name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDir {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
}

impl PodDir {
    fn random(rng: &mut Rng, index: usize) -> PodDir {
        let app = APPS[index % APPS.len()];
        let mut pod = format!("{app}-");
        let mut v = Vec::new();
        rng.hex(&mut v, 10);
        v.push(b'-');
        for _ in 0..5 {
            v.push(b"bcdfghjklmnpqrstvwxz2456789"[rng.below(27) as usize]);
        }
        pod.push_str(std::str::from_utf8(&v).unwrap_or("x"));
        let mut uid = Vec::with_capacity(36);
        for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if i > 0 {
                uid.push(b'-');
            }
            rng.hex(&mut uid, n);
        }
        PodDir {
            namespace: NAMESPACES[index % NAMESPACES.len()].to_string(),
            pod,
            uid: String::from_utf8(uid).unwrap_or_default(),
            container: app.to_string(),
        }
    }

    pub fn dir_name(&self) -> String {
        format!("{}_{}_{}", self.namespace, self.pod, self.uid)
    }
}

/// Appends `2024-05-01T<hh:mm:ss.nnnnnnnnn>Z` for `offset_ns` after 2024-05-01T12:00:00Z
/// (wrapping within the day).
pub fn write_timestamp(out: &mut Vec<u8>, offset_ns: u64) {
    let total_s = 12 * 3600 + offset_ns / 1_000_000_000;
    let (h, m, s) = ((total_s / 3600) % 24, (total_s / 60) % 60, total_s % 60);
    let ns = offset_ns % 1_000_000_000;
    out.extend_from_slice(b"2024-05-01T");
    for (v, sep) in [(h, b':'), (m, b':'), (s, b'.')] {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
        out.push(sep);
    }
    let mut digits = [b'0'; 9];
    let mut v = ns;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&digits);
    out.push(b'Z');
}

/// Writes messages of exact sizes from a pre-built filler so that a line costs a few copies.
struct Messages {
    rng: Rng,
    filler: Vec<u8>,
}

impl Messages {
    fn new(seed: u64) -> Messages {
        let mut rng = Rng(seed ^ 0x5eed);
        let mut filler = Vec::with_capacity(70_000);
        while filler.len() < 65_536 + 2048 {
            filler.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
            filler.push(if rng.below(8) == 0 { b',' } else { b' ' });
        }
        Messages { rng, filler }
    }

    /// Appends a message of exactly `size` bytes starting with `seq=<seq> `.
    fn write(&mut self, out: &mut Vec<u8>, seq: u64, size: usize, pod: &str) {
        let start = out.len();
        let r = self.rng.next();
        out.extend_from_slice(b"seq=");
        out.extend_from_slice(seq.to_string().as_bytes());
        out.extend_from_slice(b" level=");
        out.extend_from_slice(LEVELS[(r % LEVELS.len() as u64) as usize].as_bytes());
        out.extend_from_slice(b" trace_id=");
        self.rng.hex(out, 32);
        out.extend_from_slice(b" msg=\"");
        out.extend_from_slice(PATHS[((r >> 8) % PATHS.len() as u64) as usize].as_bytes());
        out.extend_from_slice(((r >> 16) % 100_000).to_string().as_bytes());
        out.extend_from_slice(b"\" pod=");
        out.extend_from_slice(pod.as_bytes());
        out.push(b' ');
        let written = out.len() - start;
        if written < size {
            let need = size - written;
            let mut at = ((r >> 24) % 65_536) as usize;
            let mut left = need;
            while left > 0 {
                let n = left.min(self.filler.len() - at);
                out.extend_from_slice(&self.filler[at..at + n]);
                left -= n;
                at = 0;
            }
        } else {
            out.truncate(start + size);
        }
        // A message must not end in a space (the collectors keep it, but it reads oddly).
        if let Some(last) = out.last_mut().filter(|b| **b == b' ') {
            *last = b'.';
        }
    }
}

/// Writes the tree; returns its manifest. Existing files at the same paths are replaced.
pub fn write_tree(cfg: &PodLogsConfig) -> io::Result<Manifest> {
    if cfg.pods == 0 || cfg.message_size < 8 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "need at least one pod and messages of at least 8 bytes",
        ));
    }
    let pods_dir = cfg.root.join("pods");
    fs::create_dir_all(&pods_dir)?;
    let mut rng = Rng(cfg.seed);
    let mut messages = Messages::new(cfg.seed);
    let per_file = cfg.total_bytes.div_ceil(cfg.pods as u64).max(1);
    let mut m = Manifest {
        pods_dir: pods_dir.display().to_string(),
        files: Vec::with_capacity(cfg.pods),
        lines: 0,
        bytes: 0,
        message_size: cfg.message_size,
        partial_pairs: 0,
        seq_start: 0,
        seq_end: 0,
    };
    let mut line = Vec::with_capacity(cfg.message_size + 64);
    for p in 0..cfg.pods {
        let pod = PodDir::random(&mut rng, p);
        let dir = pods_dir.join(pod.dir_name()).join(&pod.container);
        fs::create_dir_all(&dir)?;
        let path = dir.join("0.log");
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        let (mut written, mut index, mut message_no) = (0u64, 0u64, 0u64);
        while written < per_file {
            message_no += 1;
            let partial = cfg.partial_every > 0 && message_no.is_multiple_of(cfg.partial_every);
            let parts: &[(u8, usize)] = if partial {
                let first = cfg.message_size / 2;
                &[(b'P', first), (b'F', cfg.message_size - first)]
            } else {
                &[(b'F', cfg.message_size)]
            };
            for &(tag, size) in parts {
                line.clear();
                // ~1 µs between lines, files shifted by a few ns so no two lines look alike.
                write_timestamp(&mut line, index * 1_000 + p as u64 * 7);
                let stderr = cfg.stderr_every > 0 && m.lines.is_multiple_of(cfg.stderr_every);
                line.extend_from_slice(if stderr { b" stderr " } else { b" stdout " });
                line.push(tag);
                line.push(b' ');
                messages.write(&mut line, m.seq_end, size, &pod.pod);
                line.push(b'\n');
                w.write_all(&line)?;
                written += line.len() as u64;
                m.lines += 1;
                m.seq_end += 1;
                index += 1;
                if tag == b'P' {
                    m.partial_pairs += 1;
                }
            }
        }
        w.flush()?;
        m.bytes += written;
        m.files.push(path.display().to_string());
    }
    // In the order collectors and the floor list them.
    m.files.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
    Ok(m)
}

/// The `*.log` files of a pods tree (`<pods_dir>/*/*/*.log`, the seed config's glob), sorted.
pub fn list_files(pods_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for pod in sorted_dir(pods_dir)? {
        if !pod.is_dir() {
            continue;
        }
        for container in sorted_dir(&pod)? {
            if !container.is_dir() {
                continue;
            }
            for f in sorted_dir(&container)? {
                if f.extension().is_some_and(|e| e == "log") && f.is_file() {
                    out.push(f);
                }
            }
        }
    }
    Ok(out)
}

fn sorted_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_containerd_rfc3339_nanos() {
        let mut out = Vec::new();
        write_timestamp(&mut out, 3_723_000_000_042);
        assert_eq!(out, b"2024-05-01T13:02:03.000000042Z");
    }

    #[test]
    fn messages_have_the_exact_size_and_start_with_their_seq() {
        let mut m = Messages::new(3);
        for size in [8usize, 50, 100, 1024, 70_000] {
            let mut out = b"x".to_vec();
            m.write(&mut out, 123_456, size, "pod-a");
            assert_eq!(out.len(), 1 + size);
            assert!(out[1..].starts_with(b"seq=12"), "{size}");
            assert!(!out.contains(&b'\n'));
        }
    }
}
