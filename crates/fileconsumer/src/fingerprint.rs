//! File identity: the first `fingerprint_size` bytes of a file (decompressed for gzip
//! files). A file whose fingerprint starts with a known one is the same file, grown.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

/// gzip's magic bytes.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The first bytes of a file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint(pub Vec<u8>);

impl Fingerprint {
    /// Reads up to `size` bytes from the start of `file`; with `decompress`, a gzip file's
    /// fingerprint is taken from its decompressed content.
    pub fn from_file(file: &File, size: usize, decompress: bool) -> std::io::Result<Fingerprint> {
        let mut buf = vec![0u8; size];
        let n = read_full_at(file, &mut buf, 0)?;
        buf.truncate(n);
        if decompress && buf.starts_with(&GZIP_MAGIC) {
            let reader = std::io::BufReader::new(OffsetReader { file, pos: 0 });
            let mut out = Vec::with_capacity(size);
            // a gzip stream still being written ends early: keep what decompressed
            let _ = flate2::read::MultiGzDecoder::new(reader)
                .take(size as u64)
                .read_to_end(&mut out);
            return Ok(Fingerprint(out));
        }
        Ok(Fingerprint(buf))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Go's `StartsWith`: `old` is a non-empty prefix of `self`.
    pub fn starts_with(&self, old: &Fingerprint) -> bool {
        !old.0.is_empty() && self.0.starts_with(&old.0)
    }
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
pub(crate) fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A `Read` over a file by positional reads, leaving the file's cursor alone.
pub(crate) struct OffsetReader<'a> {
    pub file: &'a File,
    pub pos: u64,
}

impl Read for OffsetReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rule_is_gos() {
        let a = Fingerprint(b"abc".to_vec());
        let ab = Fingerprint(b"abcdef".to_vec());
        assert!(ab.starts_with(&a));
        assert!(!a.starts_with(&ab));
        assert!(!ab.starts_with(&Fingerprint::default()));
    }

    #[test]
    fn reads_first_bytes_and_decompresses_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(Fingerprint::from_file(&f, 4, false).unwrap().0, b"0123");
        assert_eq!(
            Fingerprint::from_file(&f, 40, false).unwrap().0,
            b"0123456789"
        );
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, b"hello gzip world\n").unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(Fingerprint::from_file(&f, 5, true).unwrap().0, b"hello");
    }
}
