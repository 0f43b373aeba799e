//! Go-compatible scalar types used in component configs: [`Duration`] (Go `time.Duration`
//! syntax), [`ByteSize`], and the [`present_as_default`] serde helper.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::{ByteSize, Duration};

const NANOS_PER: [(&str, u64); 9] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{00b5}s", 1_000), // micro sign
    ("\u{03bc}s", 1_000), // Greek mu
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("", 0),
];

impl Duration {
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    pub fn from_secs(s: u64) -> Duration {
        Duration(std::time::Duration::from_secs(s))
    }

    pub fn from_millis(ms: u64) -> Duration {
        Duration(std::time::Duration::from_millis(ms))
    }

    /// Parses Go `time.ParseDuration` syntax: `300ms`, `-1.5h` (rejected: negative),
    /// `2h45m`, `1us`/`1µs`, `0`. Errors use Go's wording.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let invalid = || format!("time: invalid duration {text:?}");
        let (neg, mut s) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u128 = 0;
        while !s.is_empty() {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            let (int_part, rest) = s.split_at(digits);
            s = rest;
            let mut frac_part = "";
            if let Some(rest) = s.strip_prefix('.') {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                frac_part = &rest[..n];
                s = &rest[n..];
                if int_part.is_empty() && frac_part.is_empty() {
                    return Err(invalid());
                }
            } else if int_part.is_empty() {
                return Err(invalid());
            }
            let unit_len = s
                .find(|c: char| c == '.' || c.is_ascii_digit())
                .unwrap_or(s.len());
            if unit_len == 0 {
                return Err(format!("time: missing unit in duration {text:?}"));
            }
            let (unit, rest) = s.split_at(unit_len);
            s = rest;
            let Some(&(_, per)) = NANOS_PER.iter().find(|(u, n)| *u == unit && *n > 0) else {
                return Err(format!("time: unknown unit {unit:?} in duration {text:?}"));
            };
            let whole: u128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| invalid())?
            };
            let mut nanos = whole.checked_mul(u128::from(per)).ok_or_else(invalid)?;
            if !frac_part.is_empty() {
                // As Go: the fraction is scaled in floating point.
                let digits = &frac_part[..frac_part.len().min(18)];
                let f: f64 = digits.parse::<u64>().map_err(|_| invalid())? as f64;
                let scale = 10f64.powi(digits.len() as i32);
                nanos += (f * (per as f64 / scale)) as u128;
            }
            total = total.checked_add(nanos).ok_or_else(invalid)?;
            if total > i64::MAX as u128 {
                return Err(invalid());
            }
        }
        if neg && total > 0 {
            return Err(format!(
                "time: negative duration {text:?} is not supported here"
            ));
        }
        Ok(Duration(std::time::Duration::from_nanos(total as u64)))
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Duration {
        Duration(d)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> std::time::Duration {
        d.0
    }
}

impl std::ops::Deref for Duration {
    type Target = std::time::Duration;
    fn deref(&self) -> &std::time::Duration {
        &self.0
    }
}

/// Go's fmtFrac: the `prec` low digits of `v` as `.ddd` without trailing zeros.
fn frac(v: u128, prec: u32) -> (String, u128) {
    let p = 10u128.pow(prec);
    let digits = v % p;
    let s = if digits == 0 {
        String::new()
    } else {
        let full = format!("{digits:0width$}", width = prec as usize);
        format!(".{}", full.trim_end_matches('0'))
    };
    (s, v / p)
}

impl fmt::Display for Duration {
    /// Go's `time.Duration.String()`: `0s`, `1.5µs`, `300ms`, `1h0m0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = self.0.as_nanos();
        if u == 0 {
            return f.write_str("0s");
        }
        if u < 1_000_000_000 {
            let (prec, unit) = if u < 1_000 {
                (0, "ns")
            } else if u < 1_000_000 {
                (3, "µs")
            } else {
                (6, "ms")
            };
            let (fr, int) = frac(u, prec);
            return write!(f, "{int}{fr}{unit}");
        }
        let (fr, secs) = frac(u, 9);
        let (mins, hours) = (secs / 60, secs / 3600);
        if hours > 0 {
            write!(f, "{hours}h{}m{}{fr}s", mins % 60, secs % 60)
        } else if mins > 0 {
            write!(f, "{mins}m{}{fr}s", secs % 60)
        } else {
            write!(f, "{secs}{fr}s")
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration (like 5s, 200ms, 1h30m) or an integer number of nanoseconds",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration(std::time::Duration::from_nanos(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(|n| Duration(std::time::Duration::from_nanos(n)))
                    .map_err(|_| {
                        E::custom(format!("time: negative duration {v} is not supported here"))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

const BYTE_UNITS: [(&str, u64); 13] = [
    ("", 1),
    ("b", 1),
    ("k", 1_000),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("ki", 1 << 10),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
    ("m", 1_000_000),
];

impl ByteSize {
    /// Parses `20971520`, `4MiB`, `512KiB`, `1GiB` (powers of 1024) and `10MB`, `1KB`
    /// (powers of 1000). Units are case-insensitive; a fraction is allowed (`1.5MiB`).
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let invalid = || {
            format!(
                "invalid byte size {text:?}: expected a number of bytes or a size like 4MiB, 512KiB, 10MB"
            )
        };
        let t = text.trim();
        let num_len = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(num_len);
        let unit = unit.trim().to_ascii_lowercase();
        let &(_, mult) = BYTE_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .ok_or_else(invalid)?;
        if num.is_empty() {
            return Err(invalid());
        }
        if let Ok(n) = num.parse::<u64>() {
            return n.checked_mul(mult).map(ByteSize).ok_or_else(invalid);
        }
        let x: f64 = num.parse().map_err(|_| invalid())?;
        let bytes = x * mult as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(invalid());
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    /// The largest exact binary unit (`4MiB`), else the plain number of bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [
            ("TiB", 1u64 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ] {
            if n != 0 && n.is_multiple_of(size) {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}")
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteSize, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size in bytes (like 20971520, 4MiB, 512KiB, 10MB)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("invalid byte size {v}: must not be negative")))
            }
        }
        d.deserialize_any(V)
    }
}

/// `#[serde(default, deserialize_with = "config::present_as_default")]` on an `Option<T>`
/// field: absent → `None`, present (even as bare `key:` null) → `Some`, null meaning
/// `T::default()`. This is how Go treats a pointer-to-struct key such as
/// `protocols: {grpc: }` ("enabled with defaults"). The `default` attribute is needed so
/// that an absent key gives `None`.
pub fn present_as_default<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> std::time::Duration {
        Duration::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).0
    }

    #[test]
    fn duration_parses_go_syntax() {
        use std::time::Duration as D;
        assert_eq!(d("300ms"), D::from_millis(300));
        assert_eq!(d("1.5h"), D::from_secs(5400));
        assert_eq!(d("2h45m"), D::from_secs(2 * 3600 + 45 * 60));
        assert_eq!(d("1us"), D::from_micros(1));
        assert_eq!(d("1µs"), D::from_micros(1));
        assert_eq!(d("1μs"), D::from_micros(1));
        assert_eq!(d("10ns"), D::from_nanos(10));
        assert_eq!(d("0"), D::ZERO);
        assert_eq!(d("+5s"), D::from_secs(5));
        assert_eq!(d(".5s"), D::from_millis(500));
        assert_eq!(d("1h0m0.25s"), D::from_millis(3_600_250));
    }

    #[test]
    fn duration_rejects_bad_text_with_go_messages() {
        assert_eq!(
            Duration::parse("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            Duration::parse("").unwrap_err(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            Duration::parse("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
        assert_eq!(
            Duration::parse("5x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            Duration::parse(".s").unwrap_err(),
            "time: invalid duration \".s\""
        );
        assert!(Duration::parse("-5s").unwrap_err().contains("negative"));
        assert_eq!(
            Duration::parse("9999999999h").unwrap_err(),
            "time: invalid duration \"9999999999h\""
        );
    }

    #[test]
    fn duration_displays_like_go() {
        let cases = [
            ("0", "0s"),
            ("1ns", "1ns"),
            ("1.5us", "1.5µs"),
            ("300ms", "300ms"),
            ("1.5s", "1.5s"),
            ("90s", "1m30s"),
            ("1h", "1h0m0s"),
            ("2h45m0.5s", "2h45m0.5s"),
        ];
        for (input, shown) in cases {
            assert_eq!(
                Duration::parse(input).unwrap().to_string(),
                shown,
                "{input}"
            );
            assert_eq!(
                Duration::parse(shown).unwrap(),
                Duration::parse(input).unwrap(),
                "round trip {shown}"
            );
        }
    }

    #[test]
    fn byte_size_parses_numbers_and_units() {
        let cases = [
            ("20971520", 20_971_520),
            ("4MiB", 4 << 20),
            ("512KiB", 512 << 10),
            ("1GiB", 1 << 30),
            ("10MB", 10_000_000),
            ("1KB", 1_000),
            ("1.5MiB", 3 << 19),
            ("64 mib", 64 << 20),
            ("100B", 100),
        ];
        for (text, bytes) in cases {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(bytes)), "{text}");
        }
        for bad in ["", "MiB", "4 XB", "-1", "1.2.3MiB", "99999999999TiB"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn byte_size_displays_largest_exact_binary_unit() {
        assert_eq!(ByteSize(4 << 20).to_string(), "4MiB");
        assert_eq!(ByteSize(1536).to_string(), "1536");
        assert_eq!(ByteSize(1 << 10).to_string(), "1KiB");
        assert_eq!(ByteSize(0).to_string(), "0");
        assert_eq!(ByteSize(1000).to_string(), "1000");
    }
}

/// pkg/stanza's `helper.ByteSize`, used by the filelog receiver and the stanza operators
/// (`max_log_size`, `fingerprint_size`); not the collector's [`ByteSize`]: a number (int or float), or a number and a unit `kb`,
/// `mb`, `gb`, `tb`, `pb` (powers of 1000) or `kib` … `pib` (powers of 1024),
/// case-insensitive, with optional spaces between: `1kb` = 1000, `1KiB` = 1024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StanzaByteSize(pub i64);

impl StanzaByteSize {
    /// Parses the text form with Go's error wording.
    pub fn parse(text: &str) -> Result<StanzaByteSize, String> {
        let invalid = || format!("invalid byte size '{text}'");
        let digits_end = text
            .bytes()
            .position(|b| !(b.is_ascii_digit() || b == b'.'))
            .unwrap_or(text.len());
        let (number, rest) = text.split_at(digits_end);
        // Go's regex: `[0-9]+\.?[0-9]*` — one leading digit, at most one dot.
        if number.is_empty()
            || !number.as_bytes()[0].is_ascii_digit()
            || number.matches('.').count() > 1
        {
            return Err(invalid());
        }
        let unit = rest.trim_start_matches(|c: char| c.is_whitespace());
        let multiplier: f64 = match unit.to_ascii_lowercase().as_str() {
            "" => 1.0,
            "kb" => 1e3,
            "kib" => 1024.0,
            "mb" => 1e6,
            "mib" => 1024.0 * 1024.0,
            "gb" => 1e9,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tb" => 1e12,
            "tib" => 1024f64.powi(4),
            "pb" => 1e15,
            "pib" => 1024f64.powi(5),
            _ => return Err(invalid()),
        };
        if unit.is_empty() && rest.len() != unit.len() {
            // trailing spaces without a unit do not match Go's regex
            return Err(invalid());
        }
        // Go parses the numeral with 32-bit precision.
        let numeral: f32 = number
            .parse()
            .map_err(|_| format!("invalid numeric base '{number}'"))?;
        Ok(StanzaByteSize((multiplier * numeral as f64) as i64))
    }
}

impl<'de> Deserialize<'de> for StanzaByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StanzaByteSize, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = StanzaByteSize;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte size (like 1000, 1kb, 1KiB, 16MiB)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StanzaByteSize, E> {
                StanzaByteSize::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StanzaByteSize, E> {
                Ok(StanzaByteSize(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StanzaByteSize, E> {
                Ok(StanzaByteSize(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<StanzaByteSize, E> {
                Ok(StanzaByteSize(v as i64))
            }
        }
        d.deserialize_any(V)
    }
}
