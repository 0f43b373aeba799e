//! Cutting a file's bytes into tokens, as Go's stanza stacks its split functions:
//! `trim(to_length(flush(split)))`. `split` is the newline / `line_start_pattern` /
//! `line_end_pattern` / nop splitter (patterns run over the raw bytes), `flush` emits a
//! trailing partial token once it has not grown for `force_flush_period`, `to_length` cuts
//! anything longer than `max_log_size` into pieces, and `trim` removes `\r\n\t ` at the
//! ends unless told to preserve them.
//!
//! Each call looks at the unread bytes of one file and either returns the next token (how
//! far to advance and the token's range) or asks for more data.

use std::ops::Range;
use std::time::{Duration, SystemTime};

use regex::bytes::Regex;

use crate::config::{Config, MaxLogSizeBehavior};
use crate::decode::Encoding;

/// Per-file state of the force-flush timer (Go's `flush.State`, persisted in checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushState {
    pub last_data_change: SystemTime,
    pub last_data_length: usize,
    /// `max_log_size_behavior: truncate` cut a token without seeing its end: bytes up to
    /// the end of that token are dropped. Not persisted: after a restart the remainder
    /// is read as a token of its own.
    pub dropping: bool,
}

impl FlushState {
    pub fn new(now: SystemTime) -> FlushState {
        FlushState {
            last_data_change: now,
            last_data_length: 0,
            dropping: false,
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Newline {
        newline: &'static [u8],
        carriage_return: &'static [u8],
    },
    LineStart {
        re: Regex,
        omit: bool,
    },
    LineEnd {
        re: Regex,
        omit: bool,
    },
    Nop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trim {
    None,
    Leading,
    Trailing,
    Both,
}

/// A token found by [`Splitter::next`]: advance `advance` bytes past the data start; the
/// token is `range` of the data (possibly empty after trimming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub advance: usize,
    pub range: Range<usize>,
    /// the bytes are dropped, not a token (the rest of a truncated token): no record
    pub dropped: bool,
}

/// The configured split stack of one receiver.
#[derive(Debug, Clone)]
pub struct Splitter {
    kind: Kind,
    max_log_size: usize,
    truncate: bool,
    flush_period: Duration,
    trim: Trim,
}

impl Splitter {
    /// Builds the stack from the config, with Go's errors for bad patterns.
    pub fn new(cfg: &Config, enc: Encoding) -> Result<Splitter, String> {
        let ml = cfg.multiline.clone().unwrap_or_default();
        let kind = if enc == Encoding::Nop {
            if !ml.line_end_pattern.is_empty() {
                return Err("line_end_pattern should not be set when using nop encoding".into());
            }
            if !ml.line_start_pattern.is_empty() {
                return Err("line_start_pattern should not be set when using nop encoding".into());
            }
            Kind::Nop
        } else {
            match (
                ml.line_start_pattern.is_empty(),
                ml.line_end_pattern.is_empty(),
            ) {
                (true, true) => Kind::Newline {
                    newline: enc.newline(),
                    carriage_return: enc.carriage_return(),
                },
                (true, false) => Kind::LineEnd {
                    re: Regex::new(&format!("(?m){}", ml.line_end_pattern))
                        .map_err(|e| format!("compile line end regex: {e}"))?,
                    omit: ml.omit_pattern,
                },
                (false, true) => Kind::LineStart {
                    re: Regex::new(&format!("(?m){}", ml.line_start_pattern))
                        .map_err(|e| format!("compile line start regex: {e}"))?,
                    omit: ml.omit_pattern,
                },
                (false, false) => {
                    return Err(
                        "only one of line_start_pattern or line_end_pattern can be set".into(),
                    );
                }
            }
        };
        let trim = if enc == Encoding::Nop {
            Trim::None
        } else {
            match (
                cfg.preserve_leading_whitespaces,
                cfg.preserve_trailing_whitespaces,
            ) {
                (true, true) => Trim::None,
                (true, false) => Trim::Trailing,
                (false, true) => Trim::Leading,
                (false, false) => Trim::Both,
            }
        };
        Ok(Splitter {
            kind,
            max_log_size: usize::try_from(cfg.max_log_size.0.max(1)).unwrap_or(usize::MAX),
            truncate: cfg.max_log_size_behavior()? == MaxLogSizeBehavior::Truncate,
            flush_period: cfg.force_flush_period.0,
            trim,
        })
    }

    pub fn max_log_size(&self) -> usize {
        self.max_log_size
    }

    /// The next token in `data` (the unread bytes from the file's offset), or `None` when
    /// more data is needed. `at_eof` says no more bytes follow for now.
    pub fn next(
        &self,
        data: &[u8],
        at_eof: bool,
        flush: &mut FlushState,
        now: SystemTime,
    ) -> Option<Found> {
        if flush.dropping {
            return self.drop_rest(data, at_eof, flush, now);
        }
        let found = self.flushed(data, at_eof, flush, now);
        let found = match found {
            None if data.len() >= self.max_log_size => {
                // the token's end is not in sight: with truncate, what follows up to it
                // is dropped as it arrives
                flush.dropping = self.truncate;
                Some(Found {
                    dropped: false,
                    advance: self.max_log_size,
                    range: 0..self.max_log_size,
                })
            }
            Some(f) if f.range.len() > self.max_log_size => Some(Found {
                dropped: false,
                advance: if self.truncate {
                    f.advance
                } else {
                    self.max_log_size
                },
                range: f.range.start..f.range.start + self.max_log_size,
            }),
            other => other,
        };
        found.map(|f| Found {
            dropped: false,
            range: self.trimmed(data, f.range),
            advance: f.advance,
        })
    }

    /// The rest of a token cut by `truncate`: up to the end of the token (as the split
    /// finds it, including a force flush) is dropped; a window full of it is dropped
    /// whole and dropping goes on.
    fn drop_rest(
        &self,
        data: &[u8],
        at_eof: bool,
        flush: &mut FlushState,
        now: SystemTime,
    ) -> Option<Found> {
        let advance = match self.flushed(data, at_eof, flush, now) {
            Some(f) => {
                flush.dropping = false;
                f.advance
            }
            None if data.len() >= self.max_log_size => data.len(),
            None => return None,
        };
        Some(Found {
            dropped: true,
            advance,
            range: 0..0,
        })
    }

    fn flushed(
        &self,
        data: &[u8],
        at_eof: bool,
        flush: &mut FlushState,
        now: SystemTime,
    ) -> Option<Found> {
        let found = self.split(data, at_eof);
        if self.flush_period.is_zero() {
            return found;
        }
        if found.is_some() {
            flush.last_data_change = now;
            flush.last_data_length = 0;
            return found;
        }
        if at_eof && data.is_empty() {
            flush.last_data_length = 0;
            return None;
        }
        if data.len() > flush.last_data_length {
            flush.last_data_change = now;
            flush.last_data_length = data.len();
            return None;
        }
        let since = now
            .duration_since(flush.last_data_change)
            .unwrap_or(Duration::ZERO);
        if since > self.flush_period {
            flush.last_data_change = now;
            flush.last_data_length = 0;
            return Some(Found {
                dropped: false,
                advance: data.len(),
                range: 0..data.len(),
            });
        }
        None
    }

    fn split(&self, data: &[u8], at_eof: bool) -> Option<Found> {
        match &self.kind {
            Kind::Newline {
                newline,
                carriage_return,
            } => {
                if data.is_empty() {
                    return None;
                }
                let i = if newline.len() == 1 {
                    memchr(newline[0], data)?
                } else {
                    find(data, newline)?
                };
                let mut end = i;
                if data[..i].ends_with(carriage_return) {
                    end -= carriage_return.len();
                }
                Some(Found {
                    dropped: false,
                    advance: i + newline.len(),
                    range: 0..end,
                })
            }
            Kind::LineStart { re, omit } => {
                let first = re.find(data)?;
                if first.start() != 0 {
                    return Some(Found {
                        dropped: false,
                        advance: first.start(),
                        range: 0..first.start(),
                    });
                }
                if first.end() == data.len() {
                    return None;
                }
                // the next entry starts at a match beginning after the first one ends
                let second = re.find_at(data, first.end() + 1)?;
                let start = if *omit { first.end() } else { first.start() };
                Some(Found {
                    dropped: false,
                    advance: second.start(),
                    range: start..second.start(),
                })
            }
            Kind::LineEnd { re, omit } => {
                let m = re.find(data)?;
                // Go waits when the match ends one byte before the buffer end (its
                // off-by-one), so that a match reaching the buffer end is not cut short.
                if m.end() + 1 == data.len() && !at_eof {
                    return None;
                }
                if m.end() == 0 {
                    // an empty match at the start makes no progress
                    return None;
                }
                let end = if *omit { m.start() } else { m.end() };
                Some(Found {
                    dropped: false,
                    advance: m.end(),
                    range: 0..end,
                })
            }
            Kind::Nop => {
                if data.len() >= self.max_log_size {
                    return Some(Found {
                        dropped: false,
                        advance: self.max_log_size,
                        range: 0..self.max_log_size,
                    });
                }
                if !at_eof || data.is_empty() {
                    return None;
                }
                Some(Found {
                    dropped: false,
                    advance: data.len(),
                    range: 0..data.len(),
                })
            }
        }
    }

    fn trimmed(&self, data: &[u8], mut r: Range<usize>) -> Range<usize> {
        let space = |b: u8| matches!(b, b'\r' | b'\n' | b'\t' | b' ');
        if matches!(self.trim, Trim::Both | Trim::Trailing) {
            while r.end > r.start && space(data[r.end - 1]) {
                r.end -= 1;
            }
        }
        if matches!(self.trim, Trim::Both | Trim::Leading) {
            while r.start < r.end && space(data[r.start]) {
                r.start += 1;
            }
        }
        r
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ByteSize, MultilineConfig};

    fn splitter(f: impl FnOnce(&mut Config)) -> Splitter {
        let mut cfg = Config {
            include: vec!["x".into()],
            force_flush_period: config::Duration::ZERO,
            ..Config::default()
        };
        f(&mut cfg);
        let enc = Encoding::lookup(&cfg.encoding).unwrap();
        Splitter::new(&cfg, enc).unwrap()
    }

    /// All tokens of `data` as a reader at EOF would cut them.
    fn tokens(s: &Splitter, data: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut fs = FlushState::new(SystemTime::now());
        while let Some(f) = s.next(&data[pos..], true, &mut fs, SystemTime::now()) {
            out.push(String::from_utf8_lossy(&data[pos..][f.range]).into_owned());
            pos += f.advance;
        }
        out
    }

    #[test]
    fn newline_split_strips_cr_and_trims() {
        let s = splitter(|_| {});
        assert_eq!(
            tokens(&s, b"a\r\n  b \n\nc"),
            vec!["a", "b", ""] // "c" has no newline yet
        );
    }

    #[test]
    fn preserve_whitespace_keeps_ends() {
        let s = splitter(|c| {
            c.preserve_leading_whitespaces = true;
            c.preserve_trailing_whitespaces = true;
        });
        assert_eq!(tokens(&s, b"  a \r\n"), vec!["  a "]);
        let s = splitter(|c| c.preserve_leading_whitespaces = true);
        assert_eq!(tokens(&s, b"  a \n"), vec!["  a"]);
    }

    #[test]
    fn max_log_size_splits_long_lines_into_pieces() {
        let s = splitter(|c| c.max_log_size = ByteSize(4));
        assert_eq!(
            tokens(&s, b"abcdefghij\nxy\n"),
            vec!["abcd", "efgh", "ij", "xy"]
        );
    }

    #[test]
    fn line_start_pattern_groups_lines() {
        let s = splitter(|c| {
            c.multiline = Some(MultilineConfig {
                line_start_pattern: r"^\d".into(),
                ..Default::default()
            })
        });
        assert_eq!(
            tokens(&s, b"junk\n1 a\n  more\n2 b\n3 c"),
            vec!["junk", "1 a\n  more", "2 b"]
        );
        let s = splitter(|c| {
            c.multiline = Some(MultilineConfig {
                line_start_pattern: r"^START ".into(),
                omit_pattern: true,
                ..Default::default()
            })
        });
        assert_eq!(
            tokens(&s, b"START a\nb\nSTART c\nSTART "),
            vec!["a\nb", "c"]
        );
    }

    #[test]
    fn line_end_pattern_groups_lines() {
        let s = splitter(|c| {
            c.multiline = Some(MultilineConfig {
                line_end_pattern: r"END$".into(),
                ..Default::default()
            })
        });
        assert_eq!(tokens(&s, b"a\nb END\nc END\nd"), vec!["a\nb END", "c END"]);
        let s = splitter(|c| {
            c.multiline = Some(MultilineConfig {
                line_end_pattern: r";".into(),
                omit_pattern: true,
                ..Default::default()
            })
        });
        assert_eq!(tokens(&s, b"a;b;c"), vec!["a", "b"]);
    }

    #[test]
    fn force_flush_emits_partial_token_after_period() {
        let s = splitter(|c| c.force_flush_period = config::Duration::from_millis(100));
        let t0 = SystemTime::now();
        let mut fs = FlushState::new(t0);
        assert_eq!(s.next(b"partial", true, &mut fs, t0), None);
        assert_eq!(fs.last_data_length, 7);
        let early = t0 + Duration::from_millis(50);
        assert_eq!(s.next(b"partial", true, &mut fs, early), None);
        let late = t0 + Duration::from_millis(150);
        assert_eq!(
            s.next(b"partial", true, &mut fs, late),
            Some(Found {
                dropped: false,
                advance: 7,
                range: 0..7
            })
        );
    }

    #[test]
    fn utf16_splits_on_encoded_newline() {
        let s = splitter(|c| c.encoding = "utf-16le".into());
        let data: Vec<u8> = "ab\r\ncd\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let mut fs = FlushState::new(SystemTime::now());
        let f = s.next(&data, false, &mut fs, SystemTime::now()).unwrap();
        assert_eq!(f.advance, 8);
        assert_eq!(&data[f.range], &[b'a', 0, b'b', 0]);
    }

    #[test]
    fn nop_emits_raw_chunks() {
        let s = splitter(|c| {
            c.encoding = "nop".into();
            c.max_log_size = ByteSize(4);
        });
        assert_eq!(tokens(&s, b" abcdef\n"), vec![" abc", "def\n"]);
    }
}
