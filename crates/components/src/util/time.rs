//! Wall-clock times written as the Go collector writes them, in UTC: `time.Time.String()`
//! (debug exporter) and RFC 3339 with nanoseconds (health_check's `upSince`). No time-zone
//! database: the date comes from days since the epoch (H. Hinnant's `civil_from_days`).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in nanoseconds since the Unix epoch (0 before 1970).
pub fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Go `time.Unix(0, ns).UTC().String()`: `2020-02-11 20:26:12.000000321 +0000 UTC`, trailing
/// zeros of the fraction dropped, no fraction when it is zero. Negative `ns` is before 1970.
pub fn go_string(unix_nanos: i64) -> String {
    let secs = unix_nanos.div_euclid(1_000_000_000);
    let nanos = unix_nanos.rem_euclid(1_000_000_000) as u32;
    format_utc(secs, nanos, ' ', " +0000 UTC")
}

/// Go `t.UTC().Format(time.RFC3339Nano)`: `2023-11-14T22:13:20.5Z`. Times before 1970 are
/// written as 1970-01-01T00:00:00Z.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    format_utc(secs, d.subsec_nanos(), 'T', "Z")
}

/// `YYYY-MM-DD<sep>hh:mm:ss[.fraction]<zone>`, the fraction without trailing zeros.
fn format_utc(secs: i64, nanos: u32, sep: char, zone: &str) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = String::with_capacity(40);
    let _ = write!(
        s,
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push_str(zone);
    s
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_days_and_century_years_land_on_the_right_date() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
    }
}
