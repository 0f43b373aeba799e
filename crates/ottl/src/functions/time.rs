//! Time and duration converters. A time is an instant with the location it is shown in, as
//! Go's `time.Time`: `Time(.., location)` keeps its location, `Now()` and `Unix()` are in the
//! local zone (Go's `time.Local`), pdata timestamps in UTC; `Hour`, `FormatTime`, ... answer
//! in the time's location. `Time` takes the strptime-like directives of Go's `ctimefmt` table
//! and reads them with jiff; locations come from the system tz database (`ZONEINFO` first).

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::ParamKind::*;
use super::editors::{get_int, get_string};
use super::{Args, Functions, Param, opt, req};
use crate::context::Context;
use crate::expr::Expr;
use crate::value::Value;
use crate::{ConverterFn, EvalError};

pub(super) fn register<C: Context>(f: &mut Functions<C>) {
    f.converter("Now", NONE, now::<C>)
        .converter("Unix", UNIX, unix::<C>)
        .converter("UnixNano", ONE, |a| time_to_int(a, |t| t))
        .converter("UnixMicro", ONE, |a| {
            time_to_int(a, |t| t.div_euclid(1_000))
        })
        .converter("UnixMilli", ONE, |a| {
            time_to_int(a, |t| t.div_euclid(1_000_000))
        })
        .converter("UnixSeconds", ONE, |a| {
            time_to_int(a, |t| t.div_euclid(1_000_000_000))
        })
        .converter("Year", ONE, |a| component(a, |z| z.year() as i64))
        .converter("Month", ONE, |a| component(a, |z| z.month() as i64))
        .converter("Day", ONE, |a| component(a, |z| z.day() as i64))
        .converter("Hour", ONE, |a| component(a, |z| z.hour() as i64))
        .converter("Minute", ONE, |a| component(a, |z| z.minute() as i64))
        .converter("Second", ONE, |a| component(a, |z| z.second() as i64))
        .converter("Nanosecond", ONE, |a| {
            component(a, |z| z.subsec_nanosecond() as i64)
        })
        .converter("Weekday", ONE, |a| {
            component(a, |z| z.weekday().to_sunday_zero_offset() as i64)
        })
        .converter("Duration", ONE, duration::<C>)
        .converter("Hours", ONE, |a| dur_float(a, 3_600_000_000_000.0))
        .converter("Minutes", ONE, |a| dur_float(a, 60_000_000_000.0))
        .converter("Seconds", ONE, |a| dur_float(a, 1_000_000_000.0))
        .converter("Milliseconds", ONE, |a| dur_int(a, 1_000_000))
        .converter("Microseconds", ONE, |a| dur_int(a, 1_000))
        .converter("Nanoseconds", ONE, |a| dur_int(a, 1))
        .converter("TruncateTime", TRUNCATE, truncate_time::<C>)
        .converter("FormatTime", FORMAT_TIME, format_time::<C>)
        .converter("Time", TIME, time::<C>);
}

const NONE: &[Param] = &[];
const ONE: &[Param] = &[req("value", Getter)];
const UNIX: &[Param] = &[req("seconds", Getter), opt("nanoseconds", Getter)];
const TRUNCATE: &[Param] = &[req("time", Getter), req("duration", Getter)];
const FORMAT_TIME: &[Param] = &[req("time", Getter), req("format", Getter)];
const TIME: &[Param] = &[
    req("target", Getter),
    req("format", Str),
    opt("location", Getter),
    opt("locale", Str),
];

/// Go's `time.Local`: fixed for the process at first use, as Go reads it once.
pub(crate) fn local() -> TimeZone {
    static LOCAL: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();
    LOCAL.get_or_init(TimeZone::system).clone()
}

type CR<C> = Result<ConverterFn<C>, String>;

fn get_time<C: Context>(e: &Expr<C>, d: &C::Data<'_>) -> Result<(i64, TimeZone), EvalError> {
    match e.eval(d)? {
        Value::Time(t, tz) => Ok((t, tz)),
        other => Err(EvalError::new(format!(
            "expected time but got {}",
            other.type_name()
        ))),
    }
}

fn get_duration<C: Context>(e: &Expr<C>, d: &C::Data<'_>) -> Result<i64, EvalError> {
    match e.eval(d)? {
        Value::Duration(t) => Ok(t),
        other => Err(EvalError::new(format!(
            "expected duration but got {}",
            other.type_name()
        ))),
    }
}

fn now<C: Context>(_a: Args<C>) -> CR<C> {
    Ok(Box::new(|_| {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        Ok(Value::Time(n, local()))
    }))
}

fn unix<C: Context>(mut a: Args<C>) -> CR<C> {
    let s = a.getter(0);
    let n = a.opt_getter(1);
    Ok(Box::new(move |d| {
        let secs = get_int(&s, d)?;
        let nanos = match &n {
            Some(n) => get_int(n, d)?,
            None => 0,
        };
        Ok(Value::Time(
            secs.saturating_mul(1_000_000_000).saturating_add(nanos),
            local(),
        ))
    }))
}

fn time_to_int<C: Context>(mut a: Args<C>, f: fn(i64) -> i64) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| Ok(Value::Int(f(get_time(&t, d)?.0)))))
}

/// The wall clock of an instant in its location.
fn civil(t: i64, tz: TimeZone) -> Result<jiff::civil::DateTime, EvalError> {
    Timestamp::from_nanosecond(t as i128)
        .map(|ts| ts.to_zoned(tz).datetime())
        .map_err(|e| EvalError::new(e.to_string()))
}

fn component<C: Context>(mut a: Args<C>, f: fn(jiff::civil::DateTime) -> i64) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let (t, tz) = get_time(&t, d)?;
        Ok(Value::Int(f(civil(t, tz)?)))
    }))
}

fn dur_float<C: Context>(mut a: Args<C>, unit: f64) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let v = get_duration(&t, d)?;
        // Go splits whole units and remainder to keep precision
        let whole = (v as f64 / unit).trunc();
        let rem = v as f64 - whole * unit;
        Ok(Value::Float(whole + rem / unit))
    }))
}

fn dur_int<C: Context>(mut a: Args<C>, unit: i64) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        Ok(Value::Int(get_duration(&t, d)? / unit))
    }))
}

/// Go `time.ParseDuration`.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let err = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let num = &rest[..num_end];
        if num.is_empty() || num == "." {
            return Err(err());
        }
        let v: f64 = num.parse().map_err(|_| err())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        total += v * unit;
        rest = &rest[unit_end..];
    }
    if total > i64::MAX as f64 {
        return Err(err());
    }
    Ok(if neg {
        -(total.round() as i64)
    } else {
        total.round() as i64
    })
}

fn duration<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        parse_duration(&s)
            .map(Value::Duration)
            .map_err(EvalError::new)
    }))
}

fn truncate_time<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let dur = a.getter(1);
    Ok(Box::new(move |d| {
        let (t, tz) = get_time(&t, d)?;
        let u = get_duration(&dur, d)?;
        if u <= 0 {
            return Ok(Value::Time(t, tz));
        }
        // Go truncates the absolute time (since year 1, a whole number of days before the
        // Unix epoch), not the wall clock: the location does not shift the result.
        Ok(Value::Time(t - t.rem_euclid(u), tz))
    }))
}

/// The ctimefmt directives as jiff `strtime` ones.
fn ctime_to_strtime(format: &str) -> Result<String, String> {
    let mut out = String::with_capacity(format.len() + 8);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            return Err("format string ends with a lone %".into());
        };
        out.push_str(match d {
            'Y' => "%Y",
            'y' => "%y",
            'm' => "%m",
            'o' => "%_m",
            'q' => "%-m",
            'b' | 'h' => "%b",
            'B' => "%B",
            'd' => "%d",
            'e' => "%e",
            'g' => "%-d",
            'a' => "%a",
            'A' => "%A",
            'H' => "%H",
            'I' => "%I",
            'l' => "%-I",
            'p' => "%p",
            'P' => "%P",
            'M' => "%M",
            'S' => "%S",
            'L' => "%3f",
            'f' => "%6f",
            's' => "%9f",
            'z' => "%z",
            'Z' => "%Z",
            'i' => "%z",
            'j' => "%:z",
            'k' => "%::z",
            'w' => "%z",
            'D' | 'x' => "%m/%d/%y",
            'F' => "%Y-%m-%d",
            'T' | 'X' => "%H:%M:%S",
            'r' => "%I:%M:%S %p",
            'R' => "%H:%M",
            'n' => "\n",
            't' => "\t",
            '%' => "%%",
            'c' => "%a %b %d %H:%M:%S %Y",
            other => {
                return Err(format!(
                    "unsupported ctimefmt.ToNative() directive: %{other}"
                ));
            }
        });
    }
    Ok(out)
}

fn format_time<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let f = a.getter(1);
    Ok(Box::new(move |d| {
        let (t, tz) = get_time(&t, d)?;
        let f = get_string(&f, d)?;
        let fmt = ctime_to_strtime(&f).map_err(EvalError::new)?;
        let z = Timestamp::from_nanosecond(t as i128)
            .map_err(|e| EvalError::new(e.to_string()))?
            .to_zoned(tz);
        Ok(Value::Str(z.strftime(&fmt).to_string()))
    }))
}

/// A location by IANA name from the system zoneinfo files (as Go's LoadLocation).
fn load_location(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    if name == "Local" {
        return Ok(local());
    }
    let dirs = [
        std::env::var("ZONEINFO").unwrap_or_default(),
        "/usr/share/zoneinfo".into(),
        "/usr/share/lib/zoneinfo".into(),
        "/usr/lib/locale/TZ".into(),
    ];
    for dir in dirs.iter().filter(|d| !d.is_empty()) {
        if let Ok(data) = std::fs::read(std::path::Path::new(dir).join(name)) {
            return TimeZone::tzif(name, &data).map_err(|e| e.to_string());
        }
    }
    Err(format!("unknown time zone {name}"))
}

/// Go's `timeutils.GetLocation`: the named location, else UTC for a layout ending in a
/// literal `Z`, else the local zone.
fn location_for(name: &str, format: &str) -> Result<TimeZone, String> {
    if !name.is_empty() {
        return load_location(name).map_err(|e| format!("failed to load location {name}: {e}"));
    }
    if format.ends_with('Z') && !format.ends_with("%Z") {
        return Ok(TimeZone::UTC);
    }
    Ok(local())
}

fn time<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let format = a.str(1).unwrap_or_default();
    if format.is_empty() {
        return Err("format cannot be nil".into());
    }
    // jiff does not read zone abbreviations. Go reads a trailing `%Z` (`MST`) as the
    // location's zone when the location knows it and as UTC otherwise: the word is cut
    // off and the time read in the location.
    let (format_core, trailing_zone) = match format.trim_end().strip_suffix("%Z") {
        Some(core) => (core.trim_end().to_string(), true),
        None => (format.clone(), false),
    };
    let fmt = ctime_to_strtime(&format_core)?;
    // A literal location is loaded once; one read from the item per evaluation.
    let loc_expr = a.opt_getter(2);
    let fixed_tz = match loc_expr.as_ref().map(|e| e.literal()) {
        None => Some(location_for("", &format)?),
        Some(Some(Value::Str(name))) => Some(location_for(name, &format)?),
        Some(_) => None,
    };
    if let Some(locale) = a.str(3)
        && !locale.is_empty()
        && !locale.starts_with("en")
    {
        return Err(format!(
            "unsupported locale '{locale}': only English month and day names are supported"
        ));
    }
    Ok(Box::new(move |d| {
        let tz = match (&fixed_tz, &loc_expr) {
            (Some(tz), _) => tz.clone(),
            (None, Some(e)) => {
                let name = get_string(e, d)?;
                location_for(&name, &format).map_err(EvalError::new)?
            }
            (None, None) => local(),
        };
        let s = get_string(&t, d)?;
        if s.is_empty() {
            return Err(EvalError::new("time cannot be nil"));
        }
        let input = if trailing_zone {
            let t = s.trim_end();
            t.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .trim_end()
        } else {
            s.as_str()
        };
        let bdt = jiff::fmt::strtime::BrokenDownTime::parse(&fmt, input)
            .map_err(|e| EvalError::new(format!("parsing time {s:?} as {format:?}: {e}")))?;
        match bdt.to_timestamp() {
            // An offset in the input: Go keeps the location when its offset agrees at that
            // instant, else the time is in a nameless fixed zone of that offset.
            Ok(ts) => {
                let off = bdt.offset().unwrap_or(jiff::tz::Offset::UTC);
                let zone = if tz.to_offset(ts) == off {
                    tz
                } else {
                    TimeZone::fixed(off)
                };
                Ok(Value::Time(ts.as_nanosecond() as i64, zone))
            }
            Err(_) => {
                let dt = bdt.to_datetime().map_err(|e| {
                    EvalError::new(format!("parsing time {s:?} as {format:?}: {e}"))
                })?;
                let ts = tz
                    .to_zoned(dt)
                    .map_err(|e| EvalError::new(e.to_string()))?
                    .timestamp();
                Ok(Value::Time(ts.as_nanosecond() as i64, tz))
            }
        }
    }))
}
