//! `ferrotel-loadgen`: the measuring instruments of ferrotel's benchmarks.
//!
//! * [`generate`]: an OTLP load generator (gRPC or HTTP, none/gzip/zstd, fixed rate or as fast as
//!   acknowledged, N connections x M in flight) whose requests are pre-encoded templates with a
//!   unique `loadgen.seq` attribute per item written in place ([`template`], [`seq`]).
//! * [`sink`]: a counting OTLP server: items, distinct sequence numbers, duplicates, holes.
//! * [`floor`]: the least work a collector must do for the same bytes (no protobuf decoding).

pub mod client;
pub mod compress;
pub mod floor;
pub mod generate;
pub mod seq;
pub mod server;
pub mod sink;
pub mod template;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
