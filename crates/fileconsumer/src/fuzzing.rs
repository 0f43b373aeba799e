//! Body of the fileconsumer splitting fuzz target (`/fuzz`), kept here so that a unit test
//! can run it over seeded random and mutated inputs on stable, where cargo-fuzz (nightly)
//! is not available. It must never panic; the assertions are the properties checked.

use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::decode::Encoding;
use crate::split::{FlushState, Splitter};

/// A `multiline` setting: (key, pattern, omit_pattern).
type Multiline = Option<(&'static str, &'static str, bool)>;

/// The split configurations the first byte picks from: (encoding, multiline).
const SPLITS: [(&str, Multiline); 8] = [
    ("utf-8", None),
    ("utf-16le", None),
    ("utf-16be", None),
    ("utf-8", Some(("line_start_pattern", r"^\d{4}-", false))),
    ("utf-8", Some(("line_end_pattern", r";$", false))),
    ("nop", None),
    ("utf-8", Some(("line_start_pattern", r"^START", true))),
    ("latin1", Some(("line_end_pattern", r"(?:END|\x00)", true))),
];

/// Cuts arbitrary bytes into tokens as the reader does at the end of a file: the first
/// byte picks the split, trimming and force flush, the second `max_log_size` (1..=64). Each
/// token makes progress, lies inside the data, is at most `max_log_size` long, and decodes;
/// everything is consumed in a bounded number of calls.
pub fn split(data: &[u8]) {
    let [selector, size, data @ ..] = data else {
        return;
    };
    let (encoding, multiline) = SPLITS[usize::from(selector & 7)];
    let mut cfg = serde_json::json!({
        "include": ["/x/*.log"],
        "encoding": encoding,
        "max_log_size": 1 + usize::from(size % 64),
        "preserve_leading_whitespaces": selector & 0x08 != 0,
        "preserve_trailing_whitespaces": selector & 0x10 != 0,
        "force_flush_period": if selector & 0x20 != 0 { "0s" } else { "1ns" },
    });
    if let Some((key, pattern, omit)) = multiline {
        cfg["multiline"] = serde_json::json!({ key: pattern, "omit_pattern": omit });
    }
    let cfg: Config = serde_json::from_value(cfg).expect("fuzz split config decodes");
    let enc = Encoding::lookup(encoding).expect("known encoding");
    let splitter = Splitter::new(&cfg, enc).expect("fuzz split config builds");
    let max = splitter.max_log_size();
    let flushes = selector & 0x20 == 0;

    let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut flush = FlushState::new(now);
    let mut pos = 0;
    let mut idle = 0;
    let mut calls = 0;
    while pos < data.len() && idle < 3 {
        calls += 1;
        assert!(calls <= data.len() + 8, "no end after {calls} calls");
        now += Duration::from_secs(1);
        let rest = &data[pos..];
        let Some(found) = splitter.next(rest, true, &mut flush, now) else {
            idle += 1;
            continue;
        };
        idle = 0;
        assert!(
            found.advance >= 1 && found.advance <= rest.len(),
            "advance {} of {}",
            found.advance,
            rest.len()
        );
        let r = &found.range;
        assert!(
            r.start <= r.end && r.end <= rest.len(),
            "range {r:?} of {}",
            rest.len()
        );
        assert!(r.len() <= max, "token of {} > max_log_size {max}", r.len());
        let _ = enc.decode(&rest[r.clone()]);
        pos += found.advance;
    }
    if flushes {
        assert_eq!(pos, data.len(), "force flush leaves nothing behind");
    }
    let _ = enc.decode(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*, so the inputs are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let bodies: [&[u8]; 6] = [
            b"2024-05-01 one\n  more\r\n2024-05-02 two\nSTART x END;\n",
            b"a\x00\n\x00b\x00\r\x00\n\x00",
            b"\xff\xfe\xc3\xa9\xe2\x82\n\n\n   \t\r\n",
            b"no newline at all, a long partial line that the flush must release",
            b";;\n;\nEND\x00END",
            b"",
        ];
        let mut rng = Rng(0x5eed);
        for _ in 0..4000 {
            let mut input = vec![rng.next() as u8, rng.next() as u8];
            let body = bodies[rng.below(bodies.len())];
            let mut v = body.to_vec();
            for _ in 0..rng.below(5) {
                match rng.below(4) {
                    0 if !v.is_empty() => {
                        let i = rng.below(v.len());
                        v[i] = rng.next() as u8;
                    }
                    1 => {
                        let i = rng.below(v.len() + 1);
                        let other = bodies[rng.below(bodies.len())];
                        v.splice(i..i, other.iter().copied());
                    }
                    2 if !v.is_empty() => {
                        v.truncate(rng.below(v.len()));
                    }
                    _ => v.extend((0..rng.below(16)).map(|_| rng.next() as u8)),
                }
            }
            input.extend(v);
            split(&input);
        }
    }
}
