//! Time parameters as each upstream API reads them, and Go durations.

/// Unix nanoseconds now.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// RFC 3339 (with or without fraction) to Unix nanoseconds.
pub fn rfc3339_ns(s: &str) -> Option<i64> {
    let ts: jiff::Timestamp = s.parse().ok()?;
    i64::try_from(ts.as_nanosecond()).ok()
}

/// Prometheus' time and duration parameters, as the promql crate reads them.
pub use promql::api::{parse_duration as prom_duration, parse_time as prom_time};

/// Loki: a float is seconds, an integer of at most 10 digits is seconds and a longer one
/// nanoseconds (Loki's `parseTimestamp`), else RFC 3339. Returns nanoseconds.
pub fn loki_time(s: &str) -> Result<i64, String> {
    if s.contains('.')
        && let Ok(f) = s.parse::<f64>()
    {
        return Ok((f * 1e9) as i64);
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(if s.trim_start_matches('-').len() <= 10 {
            n.saturating_mul(1_000_000_000)
        } else {
            n
        });
    }
    rfc3339_ns(s).ok_or_else(|| format!("cannot parse \"{s}\": invalid timestamp"))
}

/// Go's `time.ParseDuration`, in nanoseconds (Loki step, Jaeger and Tempo durations).
pub fn go_duration(s: &str) -> Result<i64, String> {
    traceql::parse_go_duration(s)
}

/// Loki's step: a Go duration or float seconds; nanoseconds.
pub fn loki_step(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        return Ok((f * 1e9) as i64);
    }
    go_duration(s).map_err(|_| format!("invalid step duration: {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_each_api_reads_them() {
        assert_eq!(rfc3339_ns("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            rfc3339_ns("2015-07-01T20:10:51.781Z"),
            Some(1_435_781_451_781_000_000)
        );
        assert_eq!(
            rfc3339_ns("2015-07-01T22:10:51.781+02:00"),
            Some(1_435_781_451_781_000_000)
        );
        assert_eq!(prom_time("1435781451.781").unwrap(), 1_435_781_451_781);
        assert_eq!(
            prom_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert!(prom_time("yesterday").is_err());
        assert_eq!(prom_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(prom_duration("15").unwrap(), 15_000);
        assert_eq!(loki_time("1569266497").unwrap(), 1_569_266_497_000_000_000);
        assert_eq!(
            loki_time("1569266497240578000").unwrap(),
            1_569_266_497_240_578_000
        );
        assert_eq!(
            loki_time("1569266497.5").unwrap(),
            1_569_266_497_500_000_000
        );
        assert_eq!(loki_step("30s").unwrap(), 30_000_000_000);
        assert_eq!(loki_step("15").unwrap(), 15_000_000_000);
    }
}
