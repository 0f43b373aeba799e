//! `ferrotel-loadgen`: the measuring instruments of ferrotel's benchmarks.
//!
//! * [`generate`]: an OTLP load generator (gRPC or HTTP, none/gzip/zstd, fixed rate or as fast as
//!   acknowledged, N connections x M in flight) whose requests are pre-encoded templates with a
//!   unique `loadgen.seq` attribute per item written in place ([`template`], [`seq`]).
//! * [`sink`]: a counting OTLP server: items, distinct sequence numbers, duplicates, holes.
//! * [`floor`]: the least work a collector must do for the same bytes (no protobuf decoding).
//!
//! For the filelog -> Loki benchmark (bench/filelog.sh):
//!
//! * [`podlogs`]: writes a `/var/log/pods`-shaped tree of containerd log files.
//! * [`lokisink`]: a counting Loki push server ([`loki`] holds the wire format).
//! * [`lokifloor`]: reads the same files and pushes them to Loki with nothing parsed.
//!
//! For the scrape -> remote-write benchmark (bench/scrape.sh):
//!
//! * [`promtarget`]: a Prometheus scrape target of a chosen number of series.
//! * [`rwsink`]: a counting remote-write receiver ([`wire`] reads protobuf without structs).

pub mod client;
pub mod compress;
pub mod floor;
pub mod generate;
pub mod loki;
pub mod lokifloor;
pub mod lokisink;
pub mod podlogs;
pub mod promtarget;
pub mod rwsink;
pub mod seq;
pub mod server;
pub mod sink;
pub mod template;
pub mod wire;

/// Parses `30s`, `500ms`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "us" | "µs" => n / 1e6,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("invalid duration unit in {s:?} (use ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Parses a byte size: `1G`, `64M`, `500k`, `1GiB`, `100MB` or a plain number of bytes. Units
/// are binary (k = 1024) whatever the spelling: these sizes only shape test data.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("invalid size unit in {s:?} (use k, M, G)")),
    };
    let v = n * mult as f64;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("invalid size {s:?}"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("5x").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn durations_parse_like_go_flags() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
