//! Timestamp parsing for the stanza `timestamp` block and the `time_parser` operator, as the Go
//! collector does it (`pkg/stanza/operator/helper/time.go`, `internal/coreinternal/timeutils`):
//! strptime layouts are turned into Go reference layouts by directive substitution, and values
//! are then parsed with Go's `time.ParseInLocation` semantics (reimplemented here, quirks
//! included), followed by stanza's zone-abbreviation correction and missing-year fix-up.
//! `epoch` layouts parse seconds/milliseconds/... with Go's non-normalising fraction handling.
//!
//! Results are unix nanoseconds computed as Go's `Time.UnixNano` (wrapping on overflow), so the
//! caller can store them in a log record with `as u64` exactly as pdata's `NewTimestampFromTime`.
//! Time zones come from the system zoneinfo files, found where Go looks for them.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// A configured timestamp parser (`layout_type` + `layout` + `location`), validated at build time.
#[derive(Debug)]
pub struct TimeParser {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Native,
    Go(Box<GoParser>),
    Epoch(Epoch),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Epoch {
    S,
    Ms,
    Us,
    Ns,
    SMs,
    SUs,
    SNs,
}

impl Epoch {
    fn name(self) -> &'static str {
        match self {
            Epoch::S => "s",
            Epoch::Ms => "ms",
            Epoch::Us => "us",
            Epoch::Ns => "ns",
            Epoch::SMs => "s.ms",
            Epoch::SUs => "s.us",
            Epoch::SNs => "s.ns",
        }
    }
    fn dotted(self) -> bool {
        matches!(self, Epoch::SMs | Epoch::SUs | Epoch::SNs)
    }
}

impl TimeParser {
    /// Builds a parser from the config keys. `layout_type` empty means `strptime`; `location`
    /// `None` or empty means UTC when the (Go) layout ends with `Z`, else the local zone.
    /// Errors carry the Go collector's texts (without the config path prefix).
    pub fn new(
        layout_type: &str,
        layout: &str,
        location: Option<&str>,
    ) -> Result<TimeParser, String> {
        if layout.is_empty() && layout_type != "native" {
            return Err("missing required configuration parameter `layout`".to_string());
        }
        let layout_type = if layout_type.is_empty() {
            "strptime"
        } else {
            layout_type
        };
        let go_layout = match layout_type {
            "native" => return Ok(TimeParser { kind: Kind::Native }),
            "gotime" => {
                validate_gotime(layout).map_err(|e| format!("invalid gotime layout: {e}"))?;
                layout.to_string()
            }
            "strptime" => {
                validate_strptime(layout).map_err(|e| format!("invalid strptime layout: {e}"))?;
                strptime_to_gotime(layout).map_err(|e| format!("invalid strptime layout: {e}"))?
            }
            "epoch" => {
                let e = match layout {
                    "s" => Epoch::S,
                    "ms" => Epoch::Ms,
                    "us" => Epoch::Us,
                    "ns" => Epoch::Ns,
                    "s.ms" => Epoch::SMs,
                    "s.us" => Epoch::SUs,
                    "s.ns" => Epoch::SNs,
                    _ => return Err("invalid `layout` for `epoch` type".to_string()),
                };
                return Ok(TimeParser {
                    kind: Kind::Epoch(e),
                });
            }
            other => return Err(format!("unsupported layout_type {other}")),
        };
        let loc = match location.filter(|l| !l.is_empty()) {
            Some(name) => load_location(name)
                .map_err(|e| format!("invalid 'location': failed to load location {name}: {e}"))?,
            None if go_layout.ends_with('Z') => Location::Utc,
            None => local().clone(),
        };
        Ok(TimeParser {
            kind: Kind::Go(Box::new(GoParser::new(go_layout, loc))),
        })
    }

    /// The Go reference layout values are parsed with (strptime layouts converted), if any.
    pub fn go_layout(&self) -> Option<&str> {
        match &self.kind {
            Kind::Go(g) => Some(&g.layout.text),
            _ => None,
        }
    }

    /// Parses a string value; returns unix nanoseconds. This is the per-line hot path: it does
    /// not allocate unless it fails.
    pub fn parse_str(&self, s: &str) -> Result<i64, String> {
        self.parse_bytes(s.as_bytes())
    }

    /// Parses a byte-string value (Go converts `[]byte` to a string first).
    pub fn parse_bytes(&self, s: &[u8]) -> Result<i64, String> {
        match &self.kind {
            Kind::Go(g) => g.parse(s),
            Kind::Epoch(e) => parse_epoch_str(*e, s),
            Kind::Native => Err(format!(
                "native time.Time field required, but found {} of type string",
                String::from_utf8_lossy(s)
            )),
        }
    }

    /// Parses an integer value (a JSON number decoded with `parse_ints`, an int attribute).
    /// Only `epoch` layouts accept it; the others answer Go's type error.
    pub fn parse_int(&self, v: i64) -> Result<i64, String> {
        match &self.kind {
            Kind::Epoch(e) => {
                if e.dotted() {
                    // Go formats the int as "%d.0": whole seconds whatever the unit.
                    Ok(epoch_year_fixup((v, 0)))
                } else {
                    Ok(epoch_year_fixup(epoch_int(*e, v)))
                }
            }
            Kind::Go(_) => Err("type int64 cannot be parsed as a time".to_string()),
            Kind::Native => Err(format!(
                "native time.Time field required, but found {v} of type int64"
            )),
        }
    }

    /// Parses a float value (JSON numbers are float64 in Go). Integer epoch layouts truncate;
    /// dotted layouts format the float as Go's `%10.3f`/`%10.6f`/`%10.9f` and parse that text,
    /// so values with fewer than 10 characters fail because of the padding, as in Go.
    pub fn parse_float(&self, v: f64) -> Result<i64, String> {
        match &self.kind {
            Kind::Epoch(e) => match e {
                Epoch::S | Epoch::Ms | Epoch::Us | Epoch::Ns => {
                    Ok(epoch_year_fixup(epoch_int(*e, go_f64_to_i64(v))))
                }
                Epoch::SMs | Epoch::SUs | Epoch::SNs => {
                    let prec = match e {
                        Epoch::SMs => 3,
                        Epoch::SUs => 6,
                        _ => 9,
                    };
                    let text = go_format_float(v, prec);
                    parse_epoch_str(*e, text.as_bytes())
                }
            },
            Kind::Go(_) => Err("type float64 cannot be parsed as a time".to_string()),
            Kind::Native => Err(format!(
                "native time.Time field required, but found {} of type float64",
                go_format_float_v(v)
            )),
        }
    }
}

/// `type %T cannot be parsed as a time`, for values of other types (Go type names such as
/// `bool`, `map[string]interface {}`), so the caller words it as Go does.
pub fn type_error(go_type: &str) -> String {
    format!("type {go_type} cannot be parsed as a time")
}

// ---------------------------------------------------------------------------------------------
// Layout validation and strptime conversion (ctimefmt)

const STRPTIME_TABLE: &[(u8, &str)] = &[
    (b'Y', "2006"),
    (b'y', "06"),
    (b'm', "01"),
    (b'o', "_1"),
    (b'q', "1"),
    (b'b', "Jan"),
    (b'h', "Jan"),
    (b'B', "January"),
    (b'd', "02"),
    (b'e', "_2"),
    (b'g', "2"),
    (b'a', "Mon"),
    (b'A', "Monday"),
    (b'H', "15"),
    (b'l', "3"),
    (b'I', "03"),
    (b'p', "PM"),
    (b'P', "pm"),
    (b'M', "04"),
    (b'S', "05"),
    (b'L', "999"),
    (b'f', "999999"),
    (b's', "99999999"),
    (b'Z', "MST"),
    (b'z', "Z0700"),
    (b'w', "-070000"),
    (b'i', "-07"),
    (b'j', "-07:00"),
    (b'k', "-07:00:00"),
    (b'D', "01/02/2006"),
    (b'x', "01/02/2006"),
    (b'F', "2006-01-02"),
    (b'T', "15:04:05"),
    (b'X', "15:04:05"),
    (b'r', "03:04:05 pm"),
    (b'R', "15:04"),
    (b'n', "\n"),
    (b't', "\t"),
    (b'%', "%"),
    (b'c', "Mon Jan 02 15:04:05 2006"),
];

fn substitute(directive: char) -> Option<&'static str> {
    let b = u8::try_from(directive).ok()?;
    STRPTIME_TABLE
        .iter()
        .find(|(d, _)| *d == b)
        .map(|(_, s)| *s)
}

/// Walks the `%.` directives as Go's regexp does (leftmost, non-overlapping; `.` is any
/// character but a newline), calling `f` for each directive and each run of literal text.
fn walk_directives(layout: &str, mut f: impl FnMut(Result<char, &str>)) {
    let mut lit_start = 0;
    let mut it = layout.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c != '%' {
            continue;
        }
        match it.peek() {
            Some(&(_, d)) if d != '\n' => {
                if lit_start < i {
                    f(Err(&layout[lit_start..i]));
                }
                f(Ok(d));
                it.next();
                lit_start = i + 1 + d.len_utf8();
            }
            _ => {}
        }
    }
    if lit_start < layout.len() {
        f(Err(&layout[lit_start..]));
    }
}

fn validate_strptime(layout: &str) -> Result<(), String> {
    if layout.bytes().any(|b| b.is_ascii_digit()) {
        return Err("format string should not contain decimals".to_string());
    }
    // Go: regexp `[^.,]%[Lfs]`, leftmost match.
    let chars: Vec<(usize, char)> = layout.char_indices().collect();
    for w in 0..chars.len().saturating_sub(2) {
        let (i, c) = chars[w];
        if c != '.'
            && c != ','
            && chars[w + 1].1 == '%'
            && matches!(chars[w + 2].1, 'L' | 'f' | 's')
        {
            let end = chars[w + 2].0 + 1;
            return Err(format!(
                "invalid fractional seconds directive: '{}'. must be preceded with '.' or ','",
                &layout[i..end]
            ));
        }
    }
    let mut errs = Vec::new();
    walk_directives(layout, |d| {
        if let Ok(d) = d
            && substitute(d).is_none()
        {
            errs.push(format!("unsupported ctimefmt.ToNative() directive: %{d}"));
        }
    });
    if !errs.is_empty() {
        return Err(format!("invalid strptime format: [{}]", errs.join(" ")));
    }
    Ok(())
}

fn strptime_to_gotime(layout: &str) -> Result<String, String> {
    let mut out = String::with_capacity(layout.len() * 2);
    let mut errs = Vec::new();
    walk_directives(layout, |d| match d {
        Ok(d) => match substitute(d) {
            Some(s) => out.push_str(s),
            None => errs.push(format!("unsupported ctimefmt.ToNative() directive: %{d}")),
        },
        Err(lit) => out.push_str(lit),
    });
    if !errs.is_empty() {
        return Err(format!("convert to go time format: [{}]", errs.join(" ")));
    }
    Ok(out)
}

fn validate_gotime(layout: &str) -> Result<(), String> {
    // Go: regexp `[^.,9]9+`, leftmost match.
    let chars: Vec<(usize, char)> = layout.char_indices().collect();
    for w in 0..chars.len().saturating_sub(1) {
        let (i, c) = chars[w];
        if c != '.' && c != ',' && c != '9' && chars[w + 1].1 == '9' {
            let mut end = chars[w + 1].0;
            while layout.as_bytes().get(end) == Some(&b'9') {
                end += 1;
            }
            return Err(format!(
                "invalid fractional seconds directive: '{}'. must be preceded with '.' or ','",
                &layout[i..end]
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Go layout compilation (time.nextStdChunk)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    Iso8601TZ,
    Iso8601SecondsTZ,
    Iso8601ShortTZ,
    Iso8601ColonTZ,
    Iso8601ColonSecondsTZ,
    NumTZ,
    NumSecondsTz,
    NumShortTZ,
    NumColonTZ,
    NumColonSecondsTZ,
    /// Fixed-width fraction (`.000`): digit count.
    FracSecond0(usize),
    /// Optional fraction (`.999`).
    FracSecond9,
}

impl Std {
    fn is_frac(self) -> bool {
        matches!(self, Std::FracSecond0(_) | Std::FracSecond9)
    }
}

/// Returns (prefix length, std, std length) of the next element, as Go's `nextStdChunk`.
fn next_std_chunk(layout: &[u8]) -> Option<(usize, Std, usize)> {
    let l = layout;
    let n = l.len();
    let starts_lower = |j: usize| j < n && l[j].is_ascii_lowercase();
    let has = |i: usize, s: &[u8]| l.len() >= i + s.len() && &l[i..i + s.len()] == s;
    for i in 0..n {
        match l[i] {
            b'J' if has(i, b"Jan") => {
                if has(i, b"January") {
                    return Some((i, Std::LongMonth, 7));
                }
                if !starts_lower(i + 3) {
                    return Some((i, Std::Month, 3));
                }
            }
            b'M' if n >= i + 3 => {
                if has(i, b"Mon") {
                    if has(i, b"Monday") {
                        return Some((i, Std::LongWeekDay, 6));
                    }
                    if !starts_lower(i + 3) {
                        return Some((i, Std::WeekDay, 3));
                    }
                }
                if has(i, b"MST") {
                    return Some((i, Std::TZ, 3));
                }
            }
            b'0' => {
                if n >= i + 2 && (b'1'..=b'6').contains(&l[i + 1]) {
                    let std = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][(l[i + 1] - b'1') as usize];
                    return Some((i, std, 2));
                }
                if n >= i + 3 && l[i + 1] == b'0' && l[i + 2] == b'2' {
                    return Some((i, Std::ZeroYearDay, 3));
                }
            }
            b'1' => {
                if n >= i + 2 && l[i + 1] == b'5' {
                    return Some((i, Std::Hour, 2));
                }
                return Some((i, Std::NumMonth, 1));
            }
            b'2' => {
                if has(i, b"2006") {
                    return Some((i, Std::LongYear, 4));
                }
                return Some((i, Std::Day, 1));
            }
            b'_' => {
                if n >= i + 2 && l[i + 1] == b'2' {
                    // `_2006` is a literal `_` followed by the long year.
                    if has(i + 1, b"2006") {
                        return Some((i + 1, Std::LongYear, 4));
                    }
                    return Some((i, Std::UnderDay, 2));
                }
                if n >= i + 3 && l[i + 1] == b'_' && l[i + 2] == b'2' {
                    return Some((i, Std::UnderYearDay, 3));
                }
            }
            b'3' => return Some((i, Std::Hour12, 1)),
            b'4' => return Some((i, Std::Minute, 1)),
            b'5' => return Some((i, Std::Second, 1)),
            b'P' if n >= i + 2 && l[i + 1] == b'M' => {
                return Some((i, Std::PM, 2));
            }
            b'p' if n >= i + 2 && l[i + 1] == b'm' => {
                return Some((i, Std::Pm, 2));
            }
            b'-' => {
                if has(i, b"-070000") {
                    return Some((i, Std::NumSecondsTz, 7));
                }
                if has(i, b"-07:00:00") {
                    return Some((i, Std::NumColonSecondsTZ, 9));
                }
                if has(i, b"-0700") {
                    return Some((i, Std::NumTZ, 5));
                }
                if has(i, b"-07:00") {
                    return Some((i, Std::NumColonTZ, 6));
                }
                if has(i, b"-07") {
                    return Some((i, Std::NumShortTZ, 3));
                }
            }
            b'Z' => {
                if has(i, b"Z070000") {
                    return Some((i, Std::Iso8601SecondsTZ, 7));
                }
                if has(i, b"Z07:00:00") {
                    return Some((i, Std::Iso8601ColonSecondsTZ, 9));
                }
                if has(i, b"Z0700") {
                    return Some((i, Std::Iso8601TZ, 5));
                }
                if has(i, b"Z07:00") {
                    return Some((i, Std::Iso8601ColonTZ, 6));
                }
                if has(i, b"Z07") {
                    return Some((i, Std::Iso8601ShortTZ, 3));
                }
            }
            b'.' | b',' if i + 1 < n && (l[i + 1] == b'0' || l[i + 1] == b'9') => {
                let ch = l[i + 1];
                let mut j = i + 1;
                while j < n && l[j] == ch {
                    j += 1;
                }
                // The run of digits must end here to be a fraction.
                if !(j < n && l[j].is_ascii_digit()) {
                    let std = if ch == b'0' {
                        Std::FracSecond0(j - (i + 1))
                    } else {
                        Std::FracSecond9
                    };
                    return Some((i, std, j - i));
                }
            }
            _ => {}
        }
    }
    None
}

#[derive(Debug)]
struct Chunk {
    /// Literal text the value must match before the element.
    prefix: Box<[u8]>,
    std: Std,
    /// The element as written in the layout, for error messages.
    std_text: Box<str>,
    /// Whether the next element of the layout is a fraction (Go's stdSecond special case).
    next_is_frac: bool,
}

#[derive(Debug)]
struct GoLayout {
    text: String,
    chunks: Vec<Chunk>,
    /// Literal text after the last element.
    tail: Box<[u8]>,
}

impl GoLayout {
    fn compile(text: String) -> GoLayout {
        let mut chunks: Vec<Chunk> = Vec::new();
        let bytes = text.as_bytes();
        let mut rest = 0;
        loop {
            match next_std_chunk(&bytes[rest..]) {
                Some((p, std, len)) => {
                    if let Some(last) = chunks.last_mut() {
                        last.next_is_frac = std.is_frac();
                    }
                    chunks.push(Chunk {
                        prefix: bytes[rest..rest + p].into(),
                        std,
                        std_text: text[rest + p..rest + p + len].into(),
                        next_is_frac: false,
                    });
                    rest += p + len;
                }
                None => {
                    return GoLayout {
                        tail: bytes[rest..].into(),
                        chunks,
                        text,
                    };
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Go's time.Parse

enum ParseErr<'a> {
    /// `cannot parse <value_elem> as <layout_elem>`
    Elem {
        value_elem: &'a [u8],
        layout_elem: &'a [u8],
    },
    /// A message appended after the quoted value (`: month out of range`).
    Msg(String),
}

fn go_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let text = String::from_utf8_lossy(s);
    if let std::borrow::Cow::Borrowed(t) = text {
        for c in t.chars() {
            if (c as u32) >= 0x80 || c < ' ' {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            } else {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    } else {
        // Invalid UTF-8: Go escapes every byte that is not printable ASCII.
        for &b in s {
            if !(b' '..0x80).contains(&b) {
                out.push_str(&format!("\\x{b:02x}"));
            } else {
                if b == b'"' || b == b'\\' {
                    out.push('\\');
                }
                out.push(b as char);
            }
        }
    }
    out.push('"');
    out
}

fn render_err(layout: &str, value: &[u8], e: ParseErr<'_>) -> String {
    match e {
        ParseErr::Elem {
            value_elem,
            layout_elem,
        } => format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote(value),
            go_quote(layout.as_bytes()),
            go_quote(value_elem),
            go_quote(layout_elem)
        ),
        ParseErr::Msg(m) => format!("parsing time {}{}", go_quote(value), m),
    }
}

/// Where the parsed time lives, as Go's `Time.Location()`.
enum ZoneRes<'v> {
    Utc,
    /// The location passed to ParseInLocation.
    Loc,
    /// A fixed zone (name borrowed from the value) with an offset in seconds.
    Fixed(&'v [u8], i32),
}

/// Sign, hours, minutes and seconds of a numeric zone offset, and its length in the value.
type OffsetParts<'v> = (u8, &'v [u8], &'v [u8], &'v [u8], usize);

struct Parsed<'v> {
    secs: i64,
    nsec: i64,
    zone: ZoneRes<'v>,
}

fn is_digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(|b| b.is_ascii_digit())
}

fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !is_digit(s, 0) {
        return None;
    }
    if !is_digit(s, 1) {
        if fixed {
            return None;
        }
        return Some(((s[0] - b'0') as i64, &s[1..]));
    }
    Some((((s[0] - b'0') as i64) * 10 + (s[1] - b'0') as i64, &s[2..]))
}

fn getnum3(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && is_digit(s, i) {
        n = n * 10 + (s[i] - b'0') as i64;
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &s[i..]))
}

/// Go's `leadingInt`: leading digits; `None` on overflow.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > (1u64 << 63) / 10 {
            return None;
        }
        x = x * 10 + (s[i] - b'0') as u64;
        if x > 1 << 63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Go's time-package `atoi`: optional sign, then digits only (empty digits is 0).
fn go_atoi(s: &[u8]) -> Option<i64> {
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (q, rem) = leading_int(s)?;
    if !rem.is_empty() {
        return None;
    }
    let x = q as i64;
    Some(if neg { x.wrapping_neg() } else { x })
}

const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn lookup<'v>(tab: &[&str], val: &'v [u8]) -> Option<(i64, &'v [u8])> {
    for (i, v) in tab.iter().enumerate() {
        let v = v.as_bytes();
        if val.len() >= v.len() && val[..v.len()].eq_ignore_ascii_case(v) {
            return Some((i as i64, &val[v.len()..]));
        }
    }
    None
}

fn cutspace(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ').count();
    &s[n..]
}

/// Go's `skip`: a space in the layout matches any run of spaces (also none) in the value.
fn skip<'v>(mut value: &'v [u8], mut prefix: &[u8]) -> Result<&'v [u8], &'v [u8]> {
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if !value.is_empty() && value[0] != b' ' {
                return Err(value);
            }
            prefix = cutspace(prefix);
            value = cutspace(value);
            continue;
        }
        if value.first() != Some(&p) {
            return Err(value);
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

fn comma_or_period(b: u8) -> bool {
    b == b'.' || b == b','
}

/// Go's `parseNanoseconds`: `value[0]` is the separator, then `nbytes - 1` digits.
fn parse_nanoseconds(value: &[u8], nbytes: usize) -> Result<i64, Option<&'static str>> {
    if !comma_or_period(value[0]) {
        return Err(None);
    }
    let nbytes = nbytes.min(10);
    let ns = go_atoi(&value[1..nbytes]).ok_or(None)?;
    if ns < 0 {
        return Err(Some("fractional second"));
    }
    let mut ns = ns;
    for _ in 0..(10 - nbytes) {
        ns *= 10;
    }
    Ok(ns)
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of `value`.
fn parse_time_zone(value: &[u8]) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.len() >= 4 && (&value[..4] == b"ChST" || &value[..4] == b"MeST") {
        return Some(4);
    }
    if &value[..3] == b"GMT" {
        let rest = &value[3..];
        if rest.is_empty() {
            return Some(3);
        }
        return Some(3 + parse_signed_offset(rest));
    }
    if value[0] == b'+' || value[0] == b'-' {
        let n = parse_signed_offset(value);
        return (n > 0).then_some(n);
    }
    let mut n_upper = 0;
    while n_upper < 6 {
        if n_upper >= value.len() || !value[n_upper].is_ascii_uppercase() {
            break;
        }
        n_upper += 1;
    }
    match n_upper {
        5 if value[4] == b'T' => Some(5),
        4 if value[3] == b'T' || &value[..4] == b"WITA" => Some(4),
        3 => Some(3),
        _ => None,
    }
}

fn parse_signed_offset(value: &[u8]) -> usize {
    let sign = value[0];
    if sign != b'-' && sign != b'+' {
        return 0;
    }
    match leading_int(&value[1..]) {
        Some((x, rem)) if rem.len() != value.len() - 1 && x <= 12 => value.len() - rem.len(),
        _ => 0,
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const DAYS_BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// Days since 1970-01-01 of a proleptic Gregorian date; `day` may overflow the month (Go's
/// `Date` normalisation).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (day - 1)
}

/// (year, month, day) of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[derive(Clone, Copy)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
}

impl Civil {
    fn as_utc_secs(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + self.hour * 3600
            + self.min * 60
            + self.sec
    }
    fn from_secs(s: i64) -> Civil {
        let days = s.div_euclid(86_400);
        let rem = s.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
        }
    }
}

/// A layout of fixed-width numbers, literals and numeric zones (`2006-01-02T15:04:05.999Z`,
/// RFC 3339's `2006-01-02T15:04:05.999999999Z07:00` and the like), in a location with one
/// offset unless the layout has a zone: what most log timestamps use. [`FastLayout::parse`] reads
/// such values without Go's general machinery and gives up (`None`) on anything it does not
/// read exactly, so that the general parser decides the value and words the error. What it
/// accepts, the general parser accepts with the same instant (the test
/// `fast_layouts_agree_with_the_general_parser` compares them over mutated values).
#[derive(Debug)]
struct FastLayout {
    items: Vec<FastItem>,
    /// The location's fixed offset in seconds, if it has one the general parser keeps.
    offset: Option<i64>,
    /// The layout has a fraction right after the seconds.
    frac_after_seconds: bool,
    /// When every date and clock field comes first, ending with the seconds: the length of
    /// that prefix in bytes and the index of the item after it. Values of one file share
    /// their second far more often than not, so the prefix's civil seconds are remembered
    /// ([`SECONDS_MEMO`]) and only the fraction and zone are read again.
    memo_prefix: Option<(usize, usize)>,
    /// Tells this layout's memo from another's (an address could be reused).
    id: u64,
}

/// The memo size: prefixes longer than this are not remembered.
const MEMO_PREFIX_MAX: usize = 24;

/// A fast layout's last prefix and its civil seconds (before any offset), per thread: the
/// layout's id, the prefix's length and bytes. A value read on another thread or by
/// another layout just misses.
type SecondsMemo = (u64, u8, [u8; MEMO_PREFIX_MAX], i64);

thread_local! {
    static SECONDS_MEMO: std::cell::Cell<SecondsMemo> =
        const { std::cell::Cell::new((0, 0, [0; MEMO_PREFIX_MAX], 0)) };
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FastField {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

#[derive(Debug)]
enum FastItem {
    Lit(Box<[u8]>),
    /// Exactly 2 digits (4 for the year).
    Num(FastField),
    /// `.999`: an optional fraction, any number of digits.
    Frac9,
    /// `.000`: exactly that many digits.
    Frac0(usize),
    /// A numeric zone, `+hh:mm` (`colon`) or `+hhmm`; `z`: or `Z` for UTC (ISO 8601).
    Zone {
        colon: bool,
        z: bool,
    },
}

impl FastLayout {
    fn compile(layout: &GoLayout, loc: &Location) -> Option<FastLayout> {
        // The general parser keeps the instant in this location when its offset is not 0
        // or it is named UTC (an offset of 0 under another name is looked up again).
        let offset = match loc {
            Location::Utc => Some(0),
            Location::Tz(t) => match &t.fixed {
                Some((name, off)) if *off != 0 || name == "UTC" => Some(i64::from(*off)),
                _ => None,
            },
        };
        let mut zone = false;
        let mut items = Vec::new();
        let mut seen: Vec<FastField> = Vec::new();
        for (i, c) in layout.chunks.iter().enumerate() {
            if c.prefix.contains(&b' ') {
                return None; // a space matches a run of spaces: left to the general parser
            }
            if !c.prefix.is_empty() {
                items.push(FastItem::Lit(c.prefix.clone()));
            }
            let field = match c.std {
                Std::LongYear => FastField::Year,
                Std::ZeroMonth => FastField::Month,
                Std::ZeroDay => FastField::Day,
                Std::Hour => FastField::Hour,
                Std::ZeroMinute => FastField::Minute,
                Std::ZeroSecond => FastField::Second,
                Std::FracSecond9 | Std::FracSecond0(_) => {
                    // Only right after the seconds, as Go reads them.
                    let after_seconds =
                        i > 0 && layout.chunks[i - 1].std == Std::ZeroSecond && c.prefix.is_empty();
                    if !after_seconds {
                        return None;
                    }
                    items.push(match c.std {
                        Std::FracSecond0(n) => FastItem::Frac0(n),
                        _ => FastItem::Frac9,
                    });
                    continue;
                }
                Std::Iso8601ColonTZ | Std::Iso8601TZ | Std::NumColonTZ | Std::NumTZ if !zone => {
                    zone = true;
                    items.push(FastItem::Zone {
                        colon: matches!(c.std, Std::Iso8601ColonTZ | Std::NumColonTZ),
                        z: matches!(c.std, Std::Iso8601ColonTZ | Std::Iso8601TZ),
                    });
                    continue;
                }
                _ => return None,
            };
            if seen.contains(&field) {
                return None;
            }
            seen.push(field);
            items.push(FastItem::Num(field));
        }
        if layout.tail.contains(&b' ') {
            return None;
        }
        if !layout.tail.is_empty() {
            items.push(FastItem::Lit(layout.tail.clone()));
        }
        let has = |f| seen.contains(&f);
        let frac_after_seconds = items.windows(2).any(|w| {
            matches!(w[0], FastItem::Num(FastField::Second))
                && matches!(w[1], FastItem::Frac9 | FastItem::Frac0(_))
        });
        let dated = has(FastField::Year) && has(FastField::Month) && has(FastField::Day);
        // The memo's prefix: only literals and numbers up to the seconds, none after.
        let memo_prefix = items
            .iter()
            .position(|i| matches!(i, FastItem::Num(FastField::Second)))
            .filter(|&at| {
                items[..at]
                    .iter()
                    .all(|i| matches!(i, FastItem::Lit(_) | FastItem::Num(_)))
                    && !items[at + 1..]
                        .iter()
                        .any(|i| matches!(i, FastItem::Num(_)))
            })
            .map(|at| {
                let len = items[..=at]
                    .iter()
                    .map(|i| match i {
                        FastItem::Lit(l) => l.len(),
                        FastItem::Num(FastField::Year) => 4,
                        _ => 2,
                    })
                    .sum::<usize>();
                (len, at + 1)
            })
            .filter(|&(len, _)| len <= MEMO_PREFIX_MAX);
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        (dated && (zone || offset.is_some())).then(|| FastLayout {
            items,
            offset,
            frac_after_seconds,
            memo_prefix,
            id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// [`FastLayout::parse`], reading only what follows the seconds when the value's
    /// prefix is the one this thread read last with this layout.
    fn parse(&self, value: &[u8]) -> Option<i64> {
        let Some((len, after)) = self.memo_prefix else {
            return self.parse_all(value);
        };
        let Some(prefix) = value.get(..len) else {
            return self.parse_all(value);
        };
        let memo = SECONDS_MEMO.with(|m| m.get());
        if memo.0 == self.id && usize::from(memo.1) == len && memo.2[..len] == *prefix {
            return self.parse_after_seconds(&value[len..], after, memo.3);
        }
        let (ns, secs) = self.parse_fields(value)?;
        let mut key = [0u8; MEMO_PREFIX_MAX];
        key[..len].copy_from_slice(prefix);
        SECONDS_MEMO.with(|m| m.set((self.id, len as u8, key, secs)));
        Some(ns)
    }

    /// The rest of a value whose prefix up to the seconds read as `secs` civil seconds:
    /// what [`FastLayout::parse_fields`] does from the item `from` on.
    fn parse_after_seconds(&self, mut v: &[u8], from: usize, secs: i64) -> Option<i64> {
        // The check the seconds' item makes on what follows them.
        if !self.frac_after_seconds
            && v.first().is_some_and(|&b| comma_or_period(b))
            && is_digit(v, 1)
        {
            return None;
        }
        let (mut nsec, mut offset) = (0, self.offset);
        for item in &self.items[from..] {
            v = self.read_tail_item(item, v, &mut nsec, &mut offset)?;
        }
        if !v.is_empty() {
            return None;
        }
        Some(unix_nano(secs - offset?, nsec))
    }

    /// Reads one item that may follow the seconds (a literal, a fraction, a zone) from `v`,
    /// returning the rest; `None` to leave the value to the general parser.
    #[inline]
    fn read_tail_item<'v>(
        &self,
        item: &FastItem,
        v: &'v [u8],
        nsec: &mut i64,
        offset: &mut Option<i64>,
    ) -> Option<&'v [u8]> {
        let digits = |v: &[u8], n: usize| -> Option<i64> {
            let d = v.get(..n)?;
            d.iter().try_fold(0i64, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
            })
        };
        match item {
            FastItem::Lit(l) => {
                // Byte by byte: these are one or two bytes, and memcmp's call cost more.
                if v.len() < l.len() || !v.iter().zip(l.iter()).all(|(a, b)| a == b) {
                    return None;
                }
                Some(&v[l.len()..])
            }
            FastItem::Num(_) => None, // not after the seconds (see `memo_prefix`)
            FastItem::Frac9 => {
                if v.len() >= 2 && comma_or_period(v[0]) && v[1].is_ascii_digit() {
                    let n = 1 + v[1..].iter().take_while(|b| b.is_ascii_digit()).count();
                    *nsec = frac_nanos(&v[1..n]);
                    return Some(&v[n..]);
                }
                Some(v)
            }
            FastItem::Frac0(n) => {
                if !v.first().is_some_and(|&b| comma_or_period(b)) {
                    return None;
                }
                digits(&v[1..], *n)?;
                *nsec = frac_nanos(&v[1..1 + n]);
                Some(&v[1 + n..])
            }
            FastItem::Zone { colon, z } => {
                if *z && v.first() == Some(&b'Z') {
                    *offset = Some(0);
                    return Some(&v[1..]);
                }
                let sign = match v.first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return None,
                };
                let hh = digits(&v[1..], 2)?;
                let m_at = if *colon { 4 } else { 3 };
                if *colon && v.get(3) != Some(&b':') {
                    return None;
                }
                let mm = digits(v.get(m_at..)?, 2)?;
                let off = sign * (hh * 3600 + mm * 60);
                // A zero offset is looked up as a zone name by the general parser.
                if hh >= 24 || mm >= 60 || off == 0 {
                    return None;
                }
                *offset = Some(off);
                Some(&v[m_at + 2..])
            }
        }
    }

    /// Without the memo.
    fn parse_all(&self, value: &[u8]) -> Option<i64> {
        self.parse_fields(value).map(|(ns, _)| ns)
    }

    /// Unix nanoseconds and the civil seconds of the date and clock fields (before the
    /// offset), or `None` to leave the value to the general parser.
    fn parse_fields(&self, value: &[u8]) -> Option<(i64, i64)> {
        let mut v = value;
        let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nsec) =
            (0, 0, 0, 0, 0, 0, 0);
        let mut offset = self.offset;
        for item in &self.items {
            let FastItem::Num(f) = item else {
                v = self.read_tail_item(item, v, &mut nsec, &mut offset)?;
                continue;
            };
            let width = if *f == FastField::Year { 4 } else { 2 };
            let d = v.get(..width)?;
            let n = d.iter().try_fold(0i64, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
            })?;
            v = &v[width..];
            match f {
                FastField::Year => year = n,
                FastField::Month => month = n,
                FastField::Day => day = n,
                FastField::Hour => hour = n,
                FastField::Minute => min = n,
                FastField::Second => {
                    sec = n;
                    // A fraction the layout does not have: the general parser.
                    if !self.frac_after_seconds
                        && v.first().is_some_and(|&b| comma_or_period(b))
                        && is_digit(v, 1)
                    {
                        return None;
                    }
                }
            }
        }
        let valid = v.is_empty()
            && year > 0
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in(month, year)
            && hour < 24
            && min < 60
            && sec < 60;
        if !valid {
            return None;
        }
        let civil = Civil {
            year,
            month,
            day,
            hour,
            min,
            sec,
        }
        .as_utc_secs();
        Some((unix_nano(civil - offset?, nsec), civil))
    }
}

/// Nanoseconds of a fraction's digits (the first 9 count, as Go's `parseNanoseconds`).
fn frac_nanos(d: &[u8]) -> i64 {
    let mut ns = 0i64;
    for i in 0..9 {
        ns = ns * 10 + d.get(i).map_or(0, |&b| i64::from(b - b'0'));
    }
    ns
}

#[derive(Debug)]
struct GoParser {
    layout: GoLayout,
    /// The fast reading of common layouts, when this layout and location allow it.
    fast: Option<FastLayout>,
    loc: Location,
    /// Locations loaded by zone abbreviation (Go reloads them on every value; we remember).
    by_abbrev: RwLock<HashMap<Box<[u8]>, Option<Location>>>,
}

const ABBREV_CACHE_MAX: usize = 64;

impl GoParser {
    fn new(layout: String, loc: Location) -> GoParser {
        let layout = GoLayout::compile(layout);
        GoParser {
            fast: FastLayout::compile(&layout, &loc),
            layout,
            loc,
            by_abbrev: RwLock::new(HashMap::new()),
        }
    }

    fn parse(&self, value: &[u8]) -> Result<i64, String> {
        if let Some(ns) = self.fast.as_ref().and_then(|f| f.parse(value)) {
            return Ok(ns);
        }
        self.parse_general(value)
    }

    fn parse_general(&self, value: &[u8]) -> Result<i64, String> {
        let p = parse_in_location(&self.layout, value, &self.loc)
            .map_err(|e| render_err(&self.layout.text, value, e))?;
        // stanza: an offset of 0 under a zone name other than UTC may be a pseudo match
        // (an abbreviation the layout's location did not know); look the name up as a
        // location and parse again there.
        let corrected = match &p.zone {
            ZoneRes::Utc => None,
            ZoneRes::Fixed(name, off) => (*off == 0).then_some(*name),
            ZoneRes::Loc => None,
        };
        let (p, loc) = match corrected {
            Some(name) => self.reparse(value, name)?,
            None => {
                if let ZoneRes::Loc = p.zone {
                    let (is_utc_zero, name_needs) = self.loc.lookup(p.secs, |name, off| {
                        if off != 0 || name == "UTC" {
                            (true, None)
                        } else {
                            (false, Some(name.as_bytes().to_vec()))
                        }
                    });
                    match (is_utc_zero, name_needs) {
                        (false, Some(name)) => self.reparse(value, &name)?,
                        _ => (p, None),
                    }
                } else {
                    (p, None)
                }
            }
        };
        let loc_ref = loc.as_ref().unwrap_or(&self.loc);
        Ok(set_timestamp_year(p, loc_ref))
    }

    fn reparse<'v>(
        &'v self,
        value: &'v [u8],
        zone: &[u8],
    ) -> Result<(Parsed<'v>, Option<Location>), String> {
        let loc = self.load_abbrev(zone)?;
        // Parsing again cannot fail: it differs only in zone resolution.
        let p = parse_in_location(&self.layout, value, &loc)
            .map_err(|e| render_err(&self.layout.text, value, e))?;
        Ok((p, Some(loc)))
    }

    fn load_abbrev(&self, zone: &[u8]) -> Result<Location, String> {
        let fail = |e: &str| {
            format!(
                "failed to load location {}: {e}",
                String::from_utf8_lossy(zone)
            )
        };
        if let Ok(cache) = self.by_abbrev.read()
            && let Some(hit) = cache.get(zone)
        {
            return hit.clone().ok_or_else(|| fail(&load_location_err(zone)));
        }
        let name = String::from_utf8_lossy(zone);
        let res = load_location(&name);
        if let Ok(mut cache) = self.by_abbrev.write()
            && cache.len() < ABBREV_CACHE_MAX
        {
            cache.insert(zone.into(), res.as_ref().ok().cloned());
        }
        res.map_err(|e| fail(&e))
    }
}

fn load_location_err(zone: &[u8]) -> String {
    load_location(&String::from_utf8_lossy(zone))
        .err()
        .unwrap_or_default()
}

/// Go's `time.ParseInLocation(layout, value, loc)`.
fn parse_in_location<'v>(
    layout: &'v GoLayout,
    value: &'v [u8],
    loc: &Location,
) -> Result<Parsed<'v>, ParseErr<'v>> {
    let mut value = value;
    let mut range_err: Option<&'static str> = None;
    let mut am_set = false;
    let mut pm_set = false;
    let mut year: i64 = 0;
    let mut month: i64 = -1;
    let mut day: i64 = -1;
    let mut yday: i64 = -1;
    let mut hour: i64 = 0;
    let mut min: i64 = 0;
    let mut sec: i64 = 0;
    let mut nsec: i64 = 0;
    let mut z_utc = false;
    let mut zone_offset: i64 = -1;
    let mut zone_name: Option<&'v [u8]> = None;

    for chunk in &layout.chunks {
        value = skip(value, &chunk.prefix).map_err(|v| ParseErr::Elem {
            value_elem: v,
            layout_elem: &chunk.prefix,
        })?;
        let hold = value;
        let mut ok = true;
        let std = chunk.std;
        match std {
            Std::Year => {
                if value.len() < 2 {
                    ok = false;
                } else {
                    match go_atoi(&value[..2]) {
                        Some(y) => {
                            year = if y >= 69 { y + 1900 } else { y + 2000 };
                            value = &value[2..];
                        }
                        None => {
                            ok = false;
                            value = &value[2..];
                        }
                    }
                }
            }
            Std::LongYear => {
                if value.len() < 4 || !is_digit(value, 0) {
                    ok = false;
                } else {
                    match go_atoi(&value[..4]) {
                        Some(y) => year = y,
                        None => ok = false,
                    }
                    value = &value[4..];
                }
            }
            Std::Month | Std::LongMonth => {
                let tab: &[&str] = if std == Std::Month {
                    &SHORT_MONTHS
                } else {
                    &LONG_MONTHS
                };
                match lookup(tab, value) {
                    Some((m, rest)) => {
                        month = m + 1;
                        value = rest;
                    }
                    None => ok = false,
                }
            }
            Std::NumMonth | Std::ZeroMonth => match getnum(value, std == Std::ZeroMonth) {
                Some((m, rest)) => {
                    month = m;
                    value = rest;
                    if month <= 0 || 12 < month {
                        range_err = Some("month");
                    }
                }
                None => ok = false,
            },
            Std::WeekDay | Std::LongWeekDay => {
                let tab: &[&str] = if std == Std::WeekDay {
                    &SHORT_DAYS
                } else {
                    &LONG_DAYS
                };
                match lookup(tab, value) {
                    Some((_, rest)) => value = rest,
                    None => ok = false,
                }
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && value.first() == Some(&b' ') {
                    value = &value[1..];
                }
                match getnum(value, std == Std::ZeroDay) {
                    Some((d, rest)) => {
                        day = d;
                        value = rest;
                    }
                    None => ok = false,
                }
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                for _ in 0..2 {
                    if std == Std::UnderYearDay && value.first() == Some(&b' ') {
                        value = &value[1..];
                    }
                }
                match getnum3(value, std == Std::ZeroYearDay) {
                    Some((d, rest)) => {
                        yday = d;
                        value = rest;
                    }
                    None => ok = false,
                }
            }
            Std::Hour => match getnum(value, false) {
                Some((h, rest)) => {
                    hour = h;
                    value = rest;
                    if !(0..24).contains(&hour) {
                        range_err = Some("hour");
                    }
                }
                None => ok = false,
            },
            Std::Hour12 | Std::ZeroHour12 => match getnum(value, std == Std::ZeroHour12) {
                Some((h, rest)) => {
                    hour = h;
                    value = rest;
                    if !(0..=12).contains(&hour) {
                        range_err = Some("hour");
                    }
                }
                None => ok = false,
            },
            Std::Minute | Std::ZeroMinute => match getnum(value, std == Std::ZeroMinute) {
                Some((m, rest)) => {
                    min = m;
                    value = rest;
                    if !(0..60).contains(&min) {
                        range_err = Some("minute");
                    }
                }
                None => ok = false,
            },
            Std::Second | Std::ZeroSecond => match getnum(value, std == Std::ZeroSecond) {
                Some((s, rest)) => {
                    sec = s;
                    value = rest;
                    if !(0..60).contains(&sec) {
                        range_err = Some("second");
                    } else if value.len() >= 2
                        && comma_or_period(value[0])
                        && is_digit(value, 1)
                        && !chunk.next_is_frac
                    {
                        // A fraction in the value that the layout does not have: Go takes it.
                        let mut n = 2;
                        while is_digit(value, n) {
                            n += 1;
                        }
                        match parse_nanoseconds(value, n) {
                            Ok(ns) => nsec = ns,
                            Err(Some(r)) => range_err = Some(r),
                            Err(None) => ok = false,
                        }
                        value = &value[n..];
                    }
                }
                None => ok = false,
            },
            Std::PM | Std::Pm => {
                if value.len() < 2 {
                    ok = false;
                } else {
                    let p = &value[..2];
                    value = &value[2..];
                    let (pm, am): (&[u8], &[u8]) = if std == Std::PM {
                        (b"PM", b"AM")
                    } else {
                        (b"pm", b"am")
                    };
                    if p == pm {
                        pm_set = true;
                    } else if p == am {
                        am_set = true;
                    } else {
                        ok = false;
                    }
                }
            }
            Std::Iso8601TZ
            | Std::Iso8601ShortTZ
            | Std::Iso8601ColonTZ
            | Std::Iso8601SecondsTZ
            | Std::Iso8601ColonSecondsTZ
            | Std::NumTZ
            | Std::NumShortTZ
            | Std::NumColonTZ
            | Std::NumSecondsTz
            | Std::NumColonSecondsTZ => {
                let iso = matches!(
                    std,
                    Std::Iso8601TZ
                        | Std::Iso8601ShortTZ
                        | Std::Iso8601ColonTZ
                        | Std::Iso8601SecondsTZ
                        | Std::Iso8601ColonSecondsTZ
                );
                if iso && value.first() == Some(&b'Z') {
                    value = &value[1..];
                    z_utc = true;
                } else {
                    let parts: Option<OffsetParts<'_>> = match std {
                        Std::Iso8601ColonTZ | Std::NumColonTZ => (value.len() >= 6
                            && value[3] == b':')
                            .then(|| (value[0], &value[1..3], &value[4..6], &b"00"[..], 6)),
                        Std::NumShortTZ | Std::Iso8601ShortTZ => (value.len() >= 3)
                            .then(|| (value[0], &value[1..3], &b"00"[..], &b"00"[..], 3)),
                        Std::Iso8601ColonSecondsTZ | Std::NumColonSecondsTZ => {
                            (value.len() >= 9 && value[3] == b':' && value[6] == b':')
                                .then(|| (value[0], &value[1..3], &value[4..6], &value[7..9], 9))
                        }
                        Std::Iso8601SecondsTZ | Std::NumSecondsTz => (value.len() >= 7)
                            .then(|| (value[0], &value[1..3], &value[3..5], &value[5..7], 7)),
                        _ => (value.len() >= 5)
                            .then(|| (value[0], &value[1..3], &value[3..5], &b"00"[..], 5)),
                    };
                    match parts {
                        None => ok = false,
                        Some((sign, h, m, s, len)) => {
                            value = &value[len..];
                            // Go reads hours, then minutes, then seconds, stopping at the
                            // first bad one; the range checks still see the zeros.
                            let mut nums = [0i64; 3];
                            for (slot, part) in nums.iter_mut().zip([h, m, s]) {
                                match getnum(part, true) {
                                    Some((n, _)) => *slot = n,
                                    None => {
                                        ok = false;
                                        break;
                                    }
                                }
                            }
                            let [hr, mm, ss] = nums;
                            if hr > 24 {
                                range_err = Some("time zone offset hour");
                            }
                            if mm > 60 {
                                range_err = Some("time zone offset minute");
                            }
                            if ss > 60 {
                                range_err = Some("time zone offset second");
                            }
                            zone_offset = (hr * 60 + mm) * 60 + ss;
                            match sign {
                                b'+' => {}
                                b'-' => zone_offset = -zone_offset,
                                _ => ok = false,
                            }
                        }
                    }
                }
            }
            Std::TZ => {
                if value.len() >= 3 && &value[..3] == b"UTC" {
                    z_utc = true;
                    value = &value[3..];
                } else {
                    match parse_time_zone(value) {
                        Some(n) => {
                            zone_name = Some(&value[..n]);
                            value = &value[n..];
                        }
                        None => ok = false,
                    }
                }
            }
            Std::FracSecond0(digits) => {
                let ndigit = 1 + digits;
                if value.len() < ndigit {
                    ok = false;
                } else {
                    match parse_nanoseconds(value, ndigit) {
                        Ok(ns) => nsec = ns,
                        Err(Some(r)) => range_err = Some(r),
                        Err(None) => ok = false,
                    }
                    value = &value[ndigit..];
                }
            }
            Std::FracSecond9 => {
                if value.len() >= 2 && comma_or_period(value[0]) && value[1].is_ascii_digit() {
                    let mut i = 0;
                    while i + 1 < value.len() && value[i + 1].is_ascii_digit() {
                        i += 1;
                    }
                    match parse_nanoseconds(value, 1 + i) {
                        Ok(ns) => nsec = ns,
                        Err(Some(r)) => range_err = Some(r),
                        Err(None) => ok = false,
                    }
                    value = &value[1 + i..];
                }
            }
        }
        if let Some(r) = range_err {
            return Err(ParseErr::Msg(format!(": {r} out of range")));
        }
        if !ok {
            return Err(ParseErr::Elem {
                value_elem: hold,
                layout_elem: chunk.std_text.as_bytes(),
            });
        }
    }
    value = skip(value, &layout.tail).map_err(|v| ParseErr::Elem {
        value_elem: v,
        layout_elem: &layout.tail,
    })?;
    if !value.is_empty() {
        return Err(ParseErr::Msg(format!(": extra text: {}", go_quote(value))));
    }

    if pm_set && hour < 12 {
        hour += 12;
    } else if am_set && hour == 12 {
        hour = 0;
    }

    if yday >= 0 {
        let mut d = 0;
        let mut m = 0;
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(ParseErr::Msg(": day-of-year out of range".to_string()));
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            if DAYS_BEFORE[m as usize] < yday {
                m += 1;
            }
            d = yday - DAYS_BEFORE[(m - 1) as usize];
        }
        if month >= 0 && month != m {
            return Err(ParseErr::Msg(
                ": day-of-year does not match month".to_string(),
            ));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(ParseErr::Msg(
                ": day-of-year does not match day".to_string(),
            ));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(ParseErr::Msg(": day out of range".to_string()));
    }

    let civil = Civil {
        year,
        month,
        day,
        hour,
        min,
        sec,
    };
    if z_utc {
        return Ok(Parsed {
            secs: civil.as_utc_secs(),
            nsec,
            zone: ZoneRes::Utc,
        });
    }
    if zone_offset != -1 {
        let secs = civil.as_utc_secs() - zone_offset;
        let matches_local = loc.lookup(secs, |name, off| {
            i64::from(off) == zone_offset && zone_name.is_none_or(|z| z == name.as_bytes())
        });
        let zone = if matches_local {
            ZoneRes::Loc
        } else {
            ZoneRes::Fixed(zone_name.unwrap_or(b""), zone_offset as i32)
        };
        return Ok(Parsed { secs, nsec, zone });
    }
    if let Some(name) = zone_name {
        let secs = civil.as_utc_secs();
        if let Some(off) = loc.lookup_name(name, secs) {
            return Ok(Parsed {
                secs: secs - i64::from(off),
                nsec,
                zone: ZoneRes::Loc,
            });
        }
        let mut offset = 0i32;
        if name.len() > 3 && &name[..3] == b"GMT" {
            offset = go_atoi(&name[3..]).unwrap_or(0) as i32 * 3600;
        }
        // The instant stays the civil time read as UTC; only the zone records the offset.
        return Ok(Parsed {
            secs,
            nsec,
            zone: ZoneRes::Fixed(name, offset),
        });
    }
    Ok(Parsed {
        secs: loc.date(civil),
        nsec,
        zone: ZoneRes::Loc,
    })
}

/// The offset in seconds of the parsed time's zone at its instant.
fn zone_offset_of(p: &Parsed<'_>, loc: &Location) -> i64 {
    match p.zone {
        ZoneRes::Utc => 0,
        ZoneRes::Fixed(_, off) => i64::from(off),
        ZoneRes::Loc => i64::from(loc.lookup(p.secs, |_, off| off)),
    }
}

fn unix_nano(secs: i64, nsec: i64) -> i64 {
    secs.wrapping_mul(1_000_000_000).wrapping_add(nsec)
}

/// stanza's `SetTimestampYear`: a time whose year is 0 (layout without a year) gets the
/// current year, or the previous one if that puts it more than 7 days in the future.
fn set_timestamp_year(p: Parsed<'_>, loc: &Location) -> i64 {
    let off = zone_offset_of(&p, loc);
    let c = Civil::from_secs(p.secs + off);
    if c.year > 0 {
        return unix_nano(p.secs, p.nsec);
    }
    let now = now_unix();
    let local = local();
    let now_civil = Civil::from_secs(now.0 + i64::from(local.lookup(now.0, |_, o| o)));
    let date_in = |year: i64| -> i64 {
        let civ = Civil { year, ..c };
        match p.zone {
            ZoneRes::Utc => civ.as_utc_secs(),
            ZoneRes::Fixed(_, o) => civ.as_utc_secs() - i64::from(o),
            ZoneRes::Loc => loc.date(civ),
        }
    };
    let mut secs = date_in(now_civil.year);
    // now.AddDate(0, 0, 7), in the local zone.
    let limit = local.date(Civil {
        day: now_civil.day + 7,
        ..now_civil
    });
    if (secs, p.nsec) > (limit, now.1) {
        // d.AddDate(-1, 0, 0) on the normalised date of d.
        let d_off = match p.zone {
            ZoneRes::Utc => 0,
            ZoneRes::Fixed(_, o) => i64::from(o),
            ZoneRes::Loc => i64::from(loc.lookup(secs, |_, o| o)),
        };
        let dc = Civil::from_secs(secs + d_off);
        let prev = Civil {
            year: dc.year - 1,
            ..dc
        };
        secs = match p.zone {
            ZoneRes::Utc => prev.as_utc_secs(),
            ZoneRes::Fixed(_, o) => prev.as_utc_secs() - i64::from(o),
            ZoneRes::Loc => loc.date(prev),
        };
    }
    unix_nano(secs, p.nsec)
}

fn now_unix() -> (i64, i64) {
    #[cfg(test)]
    if let Some(n) = tests::fake_now() {
        return n;
    }
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, i64::from(d.subsec_nanos())),
        Err(e) => {
            let d = e.duration();
            (
                -(d.as_secs() as i64) - 1,
                1_000_000_000 - i64::from(d.subsec_nanos()),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Epoch layouts

/// Go's `time.Unix(sec, nsec)` for an integer epoch layout.
fn epoch_int(e: Epoch, v: i64) -> (i64, i64) {
    match e {
        Epoch::S => (v, 0),
        Epoch::Ms => go_unix(v / 1000, (v % 1000) * 1_000_000),
        Epoch::Us => go_unix(v / 1_000_000, (v % 1_000_000) * 1000),
        _ => go_unix(0, v),
    }
}

/// Go's `time.Unix` normalisation of the nanoseconds into [0, 1e9).
fn go_unix(mut sec: i64, mut nsec: i64) -> (i64, i64) {
    if !(0..1_000_000_000).contains(&nsec) {
        let n = nsec / 1_000_000_000;
        sec = sec.wrapping_add(n);
        nsec -= n * 1_000_000_000;
        if nsec < 0 {
            nsec += 1_000_000_000;
            sec = sec.wrapping_sub(1);
        }
    }
    (sec, nsec)
}

fn parse_epoch_str(e: Epoch, stamp: &[u8]) -> Result<i64, String> {
    let bad = || {
        format!(
            "invalid value '{}' for layout '{}'",
            String::from_utf8_lossy(stamp),
            e.name()
        )
    };
    let text = std::str::from_utf8(stamp).map_err(|_| bad())?;
    if !e.dotted() {
        let v: i64 = go_parse_int(text).ok_or_else(bad)?;
        return Ok(epoch_year_fixup(epoch_int(e, v)));
    }
    let mut parts = text.split('.');
    let (Some(s), Some(sub), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (Some(s), Some(sub)) = (go_parse_int(s), go_parse_int(sub)) else {
        return Err(bad());
    };
    let mult = match e {
        Epoch::SMs => 1_000_000,
        Epoch::SUs => 1000,
        _ => 1,
    };
    // Not normalised: "1.12" as s.ms is 1 s + 12 ms.
    Ok(epoch_year_fixup(go_unix(s, sub.wrapping_mul(mult))))
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits, no overflow.
fn go_parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's float64 -> int64 conversion on amd64: out of range and NaN give the minimum.
fn go_f64_to_i64(v: f64) -> i64 {
    // 2^63 as f64; NaN fails the range test too.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

/// Go's `fmt.Sprintf("%10.<prec>f", v)`.
fn go_format_float(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return format!("{:>10}", "NaN");
    }
    if v.is_infinite() {
        return format!("{:>10}", if v > 0.0 { "+Inf" } else { "-Inf" });
    }
    format!("{v:10.prec$}")
}

/// Go's `%v` of a float64, for the native-layout error only.
fn go_format_float_v(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Epoch times are `time.Unix` values in the local zone; a year at or before 0 there gets the
/// same fix-up as parsed times (only far-past values reach it).
fn epoch_year_fixup((secs, nsec): (i64, i64)) -> i64 {
    // 0001-01-01T00:00:00Z plus a day of margin for local offsets.
    const YEAR1: i64 = -62_135_596_800 + 86_400;
    if secs > YEAR1 {
        return unix_nano(secs, nsec);
    }
    set_timestamp_year(
        Parsed {
            secs,
            nsec,
            zone: ZoneRes::Loc,
        },
        local(),
    )
}

// ---------------------------------------------------------------------------------------------
// Locations (Go's time.Location over the system zoneinfo)

/// A time zone as Go's `*time.Location`: UTC (no zones), or a zone loaded from a TZif file.
#[derive(Debug, Clone)]
enum Location {
    Utc,
    Tz(Arc<TzLoc>),
}

#[derive(Debug)]
struct TzLoc {
    tz: jiff::tz::TimeZone,
    /// A zone without transitions: (abbreviation, offset) at any instant.
    fixed: Option<(String, i32)>,
    /// The zone types (abbreviation, offset) in order of first use, for `lookupName`.
    zones: Vec<(String, i32)>,
}

impl Location {
    fn from_tzif(name: &str, data: &[u8]) -> Result<Location, String> {
        let tz = jiff::tz::TimeZone::tzif(name, data)
            .map_err(|_| "malformed time zone information".to_string())?;
        let mut zones: Vec<(String, i32)> = Vec::new();
        let mut push = |abbr: &str, off: i32| {
            if !zones.iter().any(|(a, o)| a == abbr && *o == off) {
                zones.push((abbr.to_string(), off));
            }
        };
        let first = tz.to_offset_info(jiff::Timestamp::MIN);
        push(first.abbreviation(), first.offset().seconds());
        let mut transitions = 0usize;
        for t in tz.following(jiff::Timestamp::MIN) {
            // Far-future transitions repeat the POSIX rule's two zones; a bound keeps this finite.
            transitions += 1;
            if transitions > 4000 || t.timestamp().as_second() > 4_102_444_800 {
                break;
            }
            push(t.abbreviation(), t.offset().seconds());
        }
        let fixed = if transitions == 0 {
            Some(zones[0].clone())
        } else {
            None
        };
        Ok(Location::Tz(Arc::new(TzLoc { tz, fixed, zones })))
    }

    /// Go's `Location.lookup`: the zone abbreviation and offset in effect at `secs`.
    fn lookup<R>(&self, secs: i64, f: impl FnOnce(&str, i32) -> R) -> R {
        match self {
            Location::Utc => f("UTC", 0),
            Location::Tz(t) => {
                if let Some((name, off)) = &t.fixed {
                    return f(name, *off);
                }
                let ts = jiff::Timestamp::from_second(secs).unwrap_or(if secs < 0 {
                    jiff::Timestamp::MIN
                } else {
                    jiff::Timestamp::MAX
                });
                let info = t.tz.to_offset_info(ts);
                f(info.abbreviation(), info.offset().seconds())
            }
        }
    }

    /// Go's `Location.lookupName`: the offset of a zone with this abbreviation, preferring one
    /// in effect around `secs`.
    fn lookup_name(&self, name: &[u8], secs: i64) -> Option<i32> {
        let Location::Tz(t) = self else { return None };
        for (abbr, off) in &t.zones {
            if abbr.as_bytes() == name {
                let (same, actual) =
                    self.lookup(secs - i64::from(*off), |n, o| (n.as_bytes() == name, o));
                if same {
                    return Some(actual);
                }
            }
        }
        t.zones
            .iter()
            .find(|(a, _)| a.as_bytes() == name)
            .map(|(_, o)| *o)
    }

    /// Go's `time.Date` in this location: civil time to unix seconds.
    fn date(&self, c: Civil) -> i64 {
        let unix = c.as_utc_secs();
        let off = self.lookup(unix, |_, o| o);
        if off == 0 {
            return unix;
        }
        unix - i64::from(self.lookup(unix - i64::from(off), |_, o| o))
    }
}

const ZONE_SOURCES: [&str; 4] = [
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo/",
];

/// Go's `time.LoadLocation`. Names are case-sensitive file names, as on Go/Linux.
fn load_location(name: &str) -> Result<Location, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(Location::Utc);
    }
    if name == "Local" {
        return Ok(local().clone());
    }
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return Err("time: invalid location name".to_string());
    }
    let mut first_err: Option<String> = None;
    let zoneinfo = std::env::var("ZONEINFO").unwrap_or_default();
    let dirs = (!zoneinfo.is_empty())
        .then(|| format!("{zoneinfo}/"))
        .into_iter()
        .chain(ZONE_SOURCES.iter().map(|s| s.to_string()));
    for dir in dirs {
        match std::fs::read(format!("{dir}{name}")) {
            Ok(data) => match Location::from_tzif(name, &data) {
                Ok(l) => return Ok(l),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                first_err.get_or_insert(io_err_text(&e));
            }
        }
    }
    Err(first_err.unwrap_or_else(|| format!("unknown time zone {name}")))
}

/// The bare errno text Go prints (`is a directory`), without Rust's `(os error 21)`.
fn io_err_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Go's `time.Local`: `$TZ` (unset: /etc/localtime; empty: UTC; `:name`, `/path` or a zone
/// name), falling back to UTC.
fn local() -> &'static Location {
    static LOCAL: OnceLock<Location> = OnceLock::new();
    LOCAL.get_or_init(|| local_from_env(std::env::var("TZ").ok().as_deref()))
}

fn local_from_env(tz: Option<&str>) -> Location {
    let from_file = |path: &str| -> Option<Location> {
        let data = std::fs::read(path).ok()?;
        Location::from_tzif("Local", &data).ok()
    };
    match tz {
        None => from_file("/etc/localtime"),
        Some(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(tz);
            if tz.starts_with('/') {
                from_file(tz)
            } else if !tz.is_empty() && tz != "UTC" {
                ZONE_SOURCES
                    .iter()
                    .find_map(|d| from_file(&format!("{d}{tz}")))
            } else {
                None
            }
        }
    }
    .unwrap_or(Location::Utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        static FAKE_NOW: Cell<Option<(i64, i64)>> = const { Cell::new(None) };
    }

    pub(super) fn fake_now() -> Option<(i64, i64)> {
        FAKE_NOW.with(|c| c.get())
    }

    fn with_now<R>(secs: i64, f: impl FnOnce() -> R) -> R {
        FAKE_NOW.with(|c| c.set(Some((secs, 0))));
        let r = f();
        FAKE_NOW.with(|c| c.set(None));
        r
    }

    fn p(lt: &str, layout: &str, loc: Option<&str>) -> TimeParser {
        match TimeParser::new(lt, layout, loc) {
            Ok(p) => p,
            Err(e) => panic!("{lt} {layout:?}: {e}"),
        }
    }

    /// The fast reading of fixed-width layouts gives the general parser's instant for every
    /// value it accepts (it leaves the rest to the general parser), over well-formed values
    /// and values with bytes changed, cut, doubled or inserted.
    #[test]
    fn fast_layouts_agree_with_the_general_parser() {
        let layouts = [
            ("gotime", "2006-01-02T15:04:05.999Z", None),
            ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None),
            ("gotime", "2006-01-02T15:04:05.000Z", Some("UTC")),
            ("gotime", "2006-01-02T15:04:05Z", Some("Etc/UTC")),
            ("gotime", "2006/01/02-15:04:05,000000", Some("Etc/GMT+5")),
            ("gotime", "02.01.2006T15:04", Some("Etc/GMT-3")),
            ("gotime", "20060102150405.999", Some("UTC")),
            ("gotime", "2006-01-02 15:04:05", Some("UTC")),
            ("gotime", "2006-01-02T15:04:05.999", Some("Etc/GMT")),
            (
                "gotime",
                "2006-01-02T15:04:05.999",
                Some("America/New_York"),
            ),
            ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None),
            (
                "gotime",
                "2006-01-02T15:04:05.999999999Z07:00",
                Some("America/New_York"),
            ),
            ("gotime", "2006-01-02T15:04:05Z0700", Some("Etc/GMT")),
            ("gotime", "2006-01-02T15:04:05-07:00", Some("UTC")),
            (
                "gotime",
                "2006-01-02T15:04:05.000-0700",
                Some("Europe/Paris"),
            ),
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut fast_hits = 0;
        for (kind, layout, loc) in layouts {
            let Ok(t) = TimeParser::new(kind, layout, loc) else {
                continue; // a zone this machine lacks
            };
            let Kind::Go(g) = &t.kind else { unreachable!() };
            let mut hits = 0;
            for _ in 0..4000 {
                // A well-formed value: the layout with its reference fields replaced.
                let go = &g.layout.text;
                let mut v = go
                    .replace("2006", &format!("{:04}", 1 + next(2999)))
                    .replace("01", &format!("{:02}", next(14)))
                    .replace("02", &format!("{:02}", next(33)))
                    .replace("15", &format!("{:02}", next(25)))
                    .replace("04", &format!("{:02}", next(61)))
                    .replace("05", &format!("{:02}", next(61)))
                    .replace(
                        "Z07:00",
                        [
                            "Z", "+02:00", "-05:30", "+00:00", "-00:00", "+24:00", "+0100",
                        ][next(7) as usize],
                    )
                    .replace(
                        "Z0700",
                        ["Z", "+0200", "-0530", "+0000", "+02:00"][next(5) as usize],
                    )
                    .replace(
                        "-07:00",
                        ["Z", "+02:00", "-05:30", "+00:00", "+1:00"][next(5) as usize],
                    )
                    .replace(
                        "-0700",
                        ["Z", "+0200", "-0530", "+0000", "+02"][next(5) as usize],
                    )
                    .into_bytes();
                for b in v.iter_mut() {
                    if *b == b'9' || (*b == b'0' && next(2) == 0) {
                        *b = b'0' + next(10) as u8;
                    }
                }
                if v.ends_with(b"0") || v.ends_with(b"9") {
                    for _ in 0..next(12) {
                        v.push(b'0' + next(10) as u8);
                    }
                }
                match next(6) {
                    0 if !v.is_empty() => {
                        let i = next(v.len() as u64) as usize;
                        v[i] = b"0123456789.,: TZ-+x"[next(19) as usize];
                    }
                    1 if !v.is_empty() => {
                        v.truncate(next(v.len() as u64) as usize);
                    }
                    2 => {
                        let i = next(v.len() as u64 + 1) as usize;
                        v.insert(i, b".,0 9"[next(5) as usize]);
                    }
                    _ => {}
                }
                let general = g.parse_general(&v);
                if let Some(ns) = g.fast.as_ref().and_then(|f| f.parse(&v)) {
                    hits += 1;
                    assert_eq!(
                        general,
                        Ok(ns),
                        "{layout} in {loc:?}: {:?}",
                        String::from_utf8_lossy(&v)
                    );
                }
            }
            let zoned = layout.contains("07");
            let fast_expected = !layout.contains(' ')
                && (zoned || !matches!(loc, Some("Etc/GMT" | "America/New_York")));
            assert_eq!(g.fast.is_some(), fast_expected, "{layout} in {loc:?}");
            if fast_expected {
                assert!(hits > 50, "{layout}: only {hits} values read fast");
            }
            fast_hits += hits;
        }
        assert!(fast_hits > 0);
    }

    /// Values that share their date and clock with the one read before (the memo's case)
    /// give the general parser's instant too, whatever follows the seconds: fractions of
    /// any length, zones, bytes changed, cut or added after the seconds.
    #[test]
    fn values_sharing_their_second_read_from_the_memo_agree_with_the_general_parser() {
        let layouts = [
            ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None),
            ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None),
            (
                "gotime",
                "2006-01-02T15:04:05.000-0700",
                Some("Europe/Paris"),
            ),
            ("gotime", "2006/01/02-15:04:05,000000", Some("Etc/GMT+5")),
            ("gotime", "2006-01-02T15:04:05Z", Some("Etc/UTC")),
        ];
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let tails: [&[u8]; 12] = [
            b".123456789Z",
            b".1Z",
            b"Z",
            b".000Z",
            b".12345678901Z",
            b"+02:00",
            b".5-07:00",
            b",123456",
            b".123+0100",
            b".999Z ",
            b"",
            b".123-0000",
        ];
        for (kind, layout, loc) in layouts {
            let Ok(t) = TimeParser::new(kind, layout, loc) else {
                continue; // a zone this machine lacks
            };
            let Kind::Go(g) = &t.kind else { unreachable!() };
            let f = g.fast.as_ref().expect("a fast layout");
            let (len, _) = f.memo_prefix.expect("the clock comes first");
            let (mut hits, mut agreed) = (0, 0);
            for _ in 0..3000 {
                let sep = if layout.contains('/') { b'/' } else { b'-' };
                let mut base = format!(
                    "{:04}{}{:02}{}{:02}",
                    1970 + next(80),
                    sep as char,
                    1 + next(12),
                    sep as char,
                    1 + next(28)
                )
                .into_bytes();
                base.push(if layout.contains('/') { b'-' } else { b'T' });
                base.extend_from_slice(
                    format!("{:02}:{:02}:{:02}", next(24), next(60), next(60)).as_bytes(),
                );
                assert_eq!(base.len(), len);
                // First a value that sets the memo, then others with the same second.
                for round in 0..4 {
                    let mut v = base.clone();
                    v.extend_from_slice(tails[next(tails.len() as u64) as usize]);
                    if round > 0 && next(3) == 0 && v.len() > len {
                        let i = len + next((v.len() - len) as u64) as usize;
                        v[i] = b"0123456789.,:TZ-+x"[next(18) as usize];
                    }
                    let memo = SECONDS_MEMO.with(|m| m.get());
                    let from_memo = memo.0 == f.id && memo.2[..len] == v[..len];
                    let fast = f.parse(&v);
                    if from_memo {
                        hits += 1;
                    }
                    if let Some(ns) = fast {
                        agreed += 1;
                        assert_eq!(
                            g.parse_general(&v),
                            Ok(ns),
                            "{layout}: {:?} (memo {from_memo})",
                            String::from_utf8_lossy(&v)
                        );
                    }
                    // Without the memo, the same answer.
                    assert_eq!(f.parse_all(&v), fast, "{:?}", String::from_utf8_lossy(&v));
                }
            }
            assert!(
                hits > 1000 && agreed > 500,
                "{layout}: {hits} memo hits, {agreed} read fast"
            );
        }
    }

    #[test]
    fn converts_strptime_directives_to_go_layout() {
        let cases = [
            ("%Y-%m-%dT%H:%M:%S.%LZ", "2006-01-02T15:04:05.999Z"),
            (
                "%y %o %q %b %h %B %d %e %g",
                "06 _1 1 Jan Jan January 02 _2 2",
            ),
            (
                "%a %A %H %l %I %p %P %M %S",
                "Mon Monday 15 3 03 PM pm 04 05",
            ),
            ("%S.%L %S,%f %S.%s", "05.999 05,999999 05.99999999"),
            (
                "%Z %z %w %i %j %k",
                "MST Z0700 -070000 -07 -07:00 -07:00:00",
            ),
            (
                "%D %x %F %T %X %r %R %c",
                "01/02/2006 01/02/2006 2006-01-02 15:04:05 15:04:05 03:04:05 pm 15:04 Mon Jan 02 15:04:05 2006",
            ),
            ("%n%t%%|%", "\n\t%|%"),
        ];
        for (strp, go) in cases {
            assert_eq!(p("strptime", strp, None).go_layout(), Some(go), "{strp}");
        }
        assert_eq!(p("", "%Y", None).go_layout(), Some("2006"));
    }

    #[test]
    fn refuses_bad_layouts_with_go_errors() {
        let cases = [
            (
                "strptime",
                "%Y-%m-%d %H:%M:%S:%L",
                None,
                "invalid strptime layout: invalid fractional seconds directive: ':%L'. must be preceded with '.' or ','",
            ),
            (
                "strptime",
                "%Y%L",
                None,
                "invalid strptime layout: invalid fractional seconds directive: 'Y%L'. must be preceded with '.' or ','",
            ),
            (
                "strptime",
                "%%L",
                None,
                "invalid strptime layout: invalid fractional seconds directive: '%%L'. must be preceded with '.' or ','",
            ),
            (
                "strptime",
                "ä%L",
                None,
                "invalid strptime layout: invalid fractional seconds directive: 'ä%L'. must be preceded with '.' or ','",
            ),
            (
                "strptime",
                "%Y %C %Q",
                None,
                "invalid strptime layout: invalid strptime format: [unsupported ctimefmt.ToNative() directive: %C unsupported ctimefmt.ToNative() directive: %Q]",
            ),
            (
                "strptime",
                "2006 %Y",
                None,
                "invalid strptime layout: format string should not contain decimals",
            ),
            (
                "gotime",
                "2006-01-02 15:04:05:999",
                None,
                "invalid gotime layout: invalid fractional seconds directive: ':999'. must be preceded with '.' or ','",
            ),
            (
                "gotime",
                "Jan 9",
                None,
                "invalid gotime layout: invalid fractional seconds directive: ' 9'. must be preceded with '.' or ','",
            ),
            ("epoch", "x", None, "invalid `layout` for `epoch` type"),
            ("foo", "x", None, "unsupported layout_type foo"),
            (
                "strptime",
                "",
                None,
                "missing required configuration parameter `layout`",
            ),
            (
                "gotime",
                "2006",
                Some("Mars/Olympus"),
                "invalid 'location': failed to load location Mars/Olympus: unknown time zone Mars/Olympus",
            ),
            (
                "strptime",
                "%Y",
                Some("america/new_york"),
                "invalid 'location': failed to load location america/new_york: unknown time zone america/new_york",
            ),
            (
                "strptime",
                "%Y",
                Some("America"),
                "invalid 'location': failed to load location America: is a directory",
            ),
            (
                "strptime",
                "%Y",
                Some("zone.tab"),
                "invalid 'location': failed to load location zone.tab: malformed time zone information",
            ),
            (
                "strptime",
                "%Y",
                Some("../etc/x"),
                "invalid 'location': failed to load location ../etc/x: time: invalid location name",
            ),
            (
                "strptime",
                "%Y",
                Some("/etc/localtime"),
                "invalid 'location': failed to load location /etc/localtime: time: invalid location name",
            ),
            (
                "strptime",
                "%Y",
                Some("GMT+3"),
                "invalid 'location': failed to load location GMT+3: unknown time zone GMT+3",
            ),
        ];
        for (lt, layout, loc, want) in cases {
            match TimeParser::new(lt, layout, loc) {
                Ok(_) => panic!("{lt} {layout:?} {loc:?} accepted"),
                Err(e) => assert_eq!(e, want, "{lt} {layout:?} {loc:?}"),
            }
        }
        for (lt, layout, loc) in [
            ("strptime", "%L%Y", None),
            ("strptime", "%", None),
            ("native", "", None),
            ("", "%Y", None),
            ("strptime", "%Y", Some("Local")),
            ("strptime", "%Y", Some("UTC")),
            ("strptime", "%Y", Some("EST")),
            ("strptime", "%Y", Some("Etc/GMT+3")),
            ("epoch", "s.ns", Some("Mars/Olympus")),
        ] {
            assert!(
                TimeParser::new(lt, layout, loc).is_ok(),
                "{lt} {layout:?} {loc:?}"
            );
        }
    }

    #[test]
    fn parser_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<TimeParser>();
    }

    #[test]
    fn parses_the_seed_layouts() {
        let a = p("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None);
        assert_eq!(
            a.parse_str("2024-05-06T07:08:09.123Z"),
            Ok(1_714_979_289_123_000_000)
        );
        let b = p("gotime", "2006-01-02T15:04:05.999999999Z07:00", None);
        assert_eq!(
            b.parse_str("2024-05-06T07:08:09.123456789Z"),
            Ok(1_714_979_289_123_456_789)
        );
        assert_eq!(
            b.parse_str("2024-05-06T09:08:09.5+02:00"),
            Ok(1_714_979_289_500_000_000)
        );
    }
    enum V {
        S(&'static str),
        I(i64),
        F(f64),
    }

    fn run(lt: &str, layout: &str, loc: Option<&str>, v: &V) -> Result<i64, String> {
        let p = TimeParser::new(lt, layout, loc)?;
        match v {
            V::S(s) => p.parse_str(s),
            V::I(i) => p.parse_int(*i),
            V::F(f) => p.parse_float(*f),
        }
    }

    /// 2026-11-30T02:30:00Z, when the expected values were taken from the Go collector.
    const GO_RUN_NOW: i64 = 1_796_005_800;

    /// Every row was run through otelcol-contrib 0.135 (filelog + time_parser into otlphttp,
    /// UTC local zone); the expected value is the timeUnixNano it sent (as i64) or the error it
    /// logged.
    #[test]
    fn parses_values_as_the_go_collector_does() {
        // (layout_type, layout, location, value, unix nanos or error)
        type Row = (
            &'static str,
            &'static str,
            Option<&'static str>,
            V,
            Result<i64, &'static str>,
        );
        #[rustfmt::skip]
        let table: &[Row] = &[
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09.123Z"), Ok(1714979289123000000)),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09Z"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09.1Z"), Ok(1714979289100000000)),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09.123456789Z"), Ok(1714979289123456789)),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09.1234567891Z"), Ok(1714979289123456789)),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09,5Z"), Ok(1714979289500000000)),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09.123"), Err("parsing time \"2024-05-06T07:08:09.123\" as \"2006-01-02T15:04:05.999Z\": cannot parse \"\" as \"Z\"")),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:09.123Zx"), Err("parsing time \"2024-05-06T07:08:09.123Zx\": extra text: \"x\"")),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-02-30T07:08:09.123Z"), Err("parsing time \"2024-02-30T07:08:09.123Z\": day out of range")),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-13-06T07:08:09.123Z"), Err("parsing time \"2024-13-06T07:08:09.123Z\": month out of range")),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T24:08:09.123Z"), Err("parsing time \"2024-05-06T24:08:09.123Z\": hour out of range")),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:60:09.123Z"), Err("parsing time \"2024-05-06T07:60:09.123Z\": minute out of range")),
        ("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None, V::S("2024-05-06T07:08:60.123Z"), Err("parsing time \"2024-05-06T07:08:60.123Z\": second out of range")),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09.123456789Z"), Ok(1714979289123456789)),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09+02:00"), Ok(1714972089000000000)),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09.5-07:30"), Ok(1715006289500000000)),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09.12+00:00"), Ok(1714979289120000000)),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09.1234567891Z"), Ok(1714979289123456789)),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09"), Err("parsing time \"2024-05-06T07:08:09\" as \"2006-01-02T15:04:05.999999999Z07:00\": cannot parse \"\" as \"Z07:00\"")),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09+0200"), Err("parsing time \"2024-05-06T07:08:09+0200\" as \"2006-01-02T15:04:05.999999999Z07:00\": cannot parse \"+0200\" as \"Z07:00\"")),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09+25:00"), Err("parsing time \"2024-05-06T07:08:09+25:00\": time zone offset hour out of range")),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09+02:61"), Err("parsing time \"2024-05-06T07:08:09+02:61\": time zone offset minute out of range")),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09 +02:00"), Err("parsing time \"2024-05-06T07:08:09 +02:00\" as \"2006-01-02T15:04:05.999999999Z07:00\": cannot parse \" +02:00\" as \"Z07:00\"")),
        ("gotime", "2006-01-02T15:04:05.999999999Z07:00", None, V::S("2024-05-06T07:08:09.+02:00"), Err("parsing time \"2024-05-06T07:08:09.+02:00\" as \"2006-01-02T15:04:05.999999999Z07:00\": cannot parse \".+02:00\" as \"Z07:00\"")),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.1"), Ok(1714979289100000000)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,9"), Ok(1714979289900000000)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.12"), Ok(1714979289120000000)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,98"), Ok(1714979289980000000)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.123"), Ok(1714979289123000000)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,987"), Ok(1714979289987000000)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.1234"), Ok(1714979289123400000)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,9876"), Ok(1714979289987600000)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.12345"), Ok(1714979289123450000)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,98765"), Ok(1714979289987650000)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.123456"), Ok(1714979289123456000)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,987654"), Ok(1714979289987654000)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.1234567"), Ok(1714979289123456700)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,9876543"), Ok(1714979289987654300)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.12345678"), Ok(1714979289123456780)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,98765432"), Ok(1714979289987654320)),
        ("gotime", "2006-01-02 15:04:05.999999999", None, V::S("2024-05-06 07:08:09.123456789"), Ok(1714979289123456789)),
        ("gotime", "2006-01-02 15:04:05", None, V::S("2024-05-06 07:08:09,987654321"), Ok(1714979289987654321)),
        ("gotime", "2006-01-02 15:04:05.000", None, V::S("2024-05-06 07:08:09.123"), Ok(1714979289123000000)),
        ("gotime", "2006-01-02 15:04:05.000", None, V::S("2024-05-06 07:08:09.12"), Err("parsing time \"2024-05-06 07:08:09.12\" as \"2006-01-02 15:04:05.000\": cannot parse \".12\" as \".000\"")),
        ("gotime", "2006-01-02 15:04:05.000", None, V::S("2024-05-06 07:08:09.1234"), Err("parsing time \"2024-05-06 07:08:09.1234\": extra text: \"4\"")),
        ("gotime", "2006-01-02 15:04:05.000", None, V::S("2024-05-06 07:08:09,123"), Ok(1714979289123000000)),
        ("gotime", "2006-01-02 15:04:05.000", None, V::S("2024-05-06 07:08:09.+12"), Ok(1714979289012000000)),
        ("gotime", "2006-01-02 15:04:05.000", None, V::S("2024-05-06 07:08:09.-12"), Err("parsing time \"2024-05-06 07:08:09.-12\": fractional second out of range")),
        ("gotime", "2006-01-02 15:04:05.999", None, V::S("2024-05-06 07:08:09.123456"), Ok(1714979289123456000)),
        ("gotime", "2006-01-02 15:04:05.999", None, V::S("2024-05-06 07:08:09"), Ok(1714979289000000000)),
        ("gotime", "2006-01-02 15:04:05.999", None, V::S("2024-05-06 07:08:09."), Err("parsing time \"2024-05-06 07:08:09.\": extra text: \".\"")),
        ("gotime", "2006-01-02 15:04:05.999", None, V::S("2024-05-06 07:08:09,7"), Ok(1714979289700000000)),
        ("gotime", "2006-01-02 15:04:05 .000", None, V::S("2024-05-06 07:08:09 .123"), Ok(1714979289123000000)),
        ("gotime", "2006-01-02 15:04:05 .000", None, V::S("2024-05-06 07:08:09.5 .123"), Err("parsing time \"2024-05-06 07:08:09.5 .123\" as \"2006-01-02 15:04:05 .000\": cannot parse \".5 .123\" as \" \"")),
        ("strptime", "%y %m %d %H %M %S", None, V::S("68 01 02 03 04 05"), Ok(3092699045000000000)),
        ("strptime", "%y %m %d %H %M %S", None, V::S("69 01 02 03 04 05"), Ok(-31438555000000000)),
        ("strptime", "%y %m %d %H %M %S", None, V::S("99 12 31 23 59 59"), Ok(946684799000000000)),
        ("strptime", "%y %m %d %H %M %S", None, V::S("-1 01 02 03 04 05"), Ok(915246245000000000)),
        ("strptime", "%Y %o %e", None, V::S("2024 _5 6"), Ok(1714953600000000000)),
        ("strptime", "%Y %o %e", None, V::S("2024 _5  6"), Ok(1714953600000000000)),
        ("strptime", "%Y %o %e", None, V::S("2024 5 6"), Err("parsing time \"2024 5 6\" as \"2006 _1 _2\": cannot parse \"5 6\" as \" _\"")),
        ("strptime", "%Y %o %e", None, V::S("2024 _12 16"), Ok(1734307200000000000)),
        ("strptime", "%Y %q %g", None, V::S("2024 5 6"), Ok(1714953600000000000)),
        ("strptime", "%Y %q %g", None, V::S("2024 11 16"), Ok(1731715200000000000)),
        ("strptime", "%Y %q %g", None, V::S("2024 05 06"), Ok(1714953600000000000)),
        ("strptime", "%Y %q %g", None, V::S("2024 111 1"), Err("parsing time \"2024 111 1\" as \"2006 1 2\": cannot parse \"1 1\" as \" \"")),
        ("strptime", "%Y %b %d", None, V::S("2024 may 06"), Ok(1714953600000000000)),
        ("strptime", "%Y %b %d", None, V::S("2024 MAY 06"), Ok(1714953600000000000)),
        ("strptime", "%Y %b %d", None, V::S("2024 Sept 06"), Err("parsing time \"2024 Sept 06\" as \"2006 Jan 02\": cannot parse \"t 06\" as \" \"")),
        ("strptime", "%Y %b %d", None, V::S("2024 Sep 06"), Ok(1725580800000000000)),
        ("strptime", "%Y %h %d", None, V::S("2024 Jun 06"), Ok(1717632000000000000)),
        ("strptime", "%Y %B %d", None, V::S("2024 September 06"), Ok(1725580800000000000)),
        ("strptime", "%Y %B %d", None, V::S("2024 september 06"), Ok(1725580800000000000)),
        ("strptime", "%Y %B %d", None, V::S("2024 Sept 06"), Err("parsing time \"2024 Sept 06\" as \"2006 January 02\": cannot parse \"Sept 06\" as \"January\"")),
        ("strptime", "%a %Y-%m-%d", None, V::S("Mon 2024-05-06"), Ok(1714953600000000000)),
        ("strptime", "%a %Y-%m-%d", None, V::S("Fri 2024-05-06"), Ok(1714953600000000000)),
        ("strptime", "%a %Y-%m-%d", None, V::S("xyz 2024-05-06"), Err("parsing time \"xyz 2024-05-06\" as \"Mon 2006-01-02\": cannot parse \"xyz 2024-05-06\" as \"Mon\"")),
        ("strptime", "%a %Y-%m-%d", None, V::S("thu 2024-05-06"), Ok(1714953600000000000)),
        ("strptime", "%A %Y-%m-%d", None, V::S("Monday 2024-05-06"), Ok(1714953600000000000)),
        ("strptime", "%A %Y-%m-%d", None, V::S("Wednesday 2024-05-06"), Ok(1714953600000000000)),
        ("strptime", "%A %Y-%m-%d", None, V::S("Wed 2024-05-06"), Err("parsing time \"Wed 2024-05-06\" as \"Monday 2006-01-02\": cannot parse \"Wed 2024-05-06\" as \"Monday\"")),
        ("strptime", "%Y-%m-%d %I:%M:%S %p", None, V::S("2024-05-06 12:00:00 AM"), Ok(1714953600000000000)),
        ("strptime", "%Y-%m-%d %I:%M:%S %p", None, V::S("2024-05-06 12:00:00 PM"), Ok(1714996800000000000)),
        ("strptime", "%Y-%m-%d %I:%M:%S %p", None, V::S("2024-05-06 01:02:03 PM"), Ok(1715000523000000000)),
        ("strptime", "%Y-%m-%d %I:%M:%S %p", None, V::S("2024-05-06 11:02:03 am"), Err("parsing time \"2024-05-06 11:02:03 am\" as \"2006-01-02 03:04:05 PM\": cannot parse \"am\" as \"PM\"")),
        ("strptime", "%Y-%m-%d %I:%M:%S %p", None, V::S("2024-05-06 13:02:03 PM"), Err("parsing time \"2024-05-06 13:02:03 PM\": hour out of range")),
        ("strptime", "%Y-%m-%d %I:%M:%S %p", None, V::S("2024-05-06 1:02:03 PM"), Err("parsing time \"2024-05-06 1:02:03 PM\" as \"2006-01-02 03:04:05 PM\": cannot parse \"1:02:03 PM\" as \"03\"")),
        ("strptime", "%Y-%m-%d %I:%M:%S %p", None, V::S("2024-05-06 00:02:03 AM"), Ok(1714953723000000000)),
        ("strptime", "%Y-%m-%d %l:%M:%S %P", None, V::S("2024-05-06 1:02:03 pm"), Ok(1715000523000000000)),
        ("strptime", "%Y-%m-%d %l:%M:%S %P", None, V::S("2024-05-06 12:02:03 am"), Ok(1714953723000000000)),
        ("strptime", "%Y-%m-%d %l:%M:%S %P", None, V::S("2024-05-06 01:02:03 pm"), Ok(1715000523000000000)),
        ("strptime", "%Y-%m-%d %l:%M:%S %P", None, V::S("2024-05-06 1:02:03 PM"), Err("parsing time \"2024-05-06 1:02:03 PM\" as \"2006-01-02 3:04:05 pm\": cannot parse \"PM\" as \"pm\"")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 UTC"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 EST"), Ok(1714997289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 GMT"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 CEST"), Err("failed to load location CEST: unknown time zone CEST")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 PDT"), Err("failed to load location PDT: unknown time zone PDT")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 GMT+3"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 GMT-11"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 +03"), Err("failed to load location +03: unknown time zone +03")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 ChST"), Err("failed to load location ChST: unknown time zone ChST")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 AEST"), Err("failed to load location AEST: unknown time zone AEST")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 WITA"), Err("failed to load location WITA: unknown time zone WITA")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 X"), Err("parsing time \"2024-05-06 07:08:09 X\" as \"2006-01-02 15:04:05 MST\": cannot parse \"X\" as \"MST\"")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 MSK"), Err("failed to load location MSK: unknown time zone MSK")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 HST"), Ok(1715015289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 WET"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", None, V::S("2024-05-06 07:08:09 CET"), Ok(1714975689000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("America/New_York"), V::S("2024-05-06 07:08:09 EDT"), Ok(1714993689000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("America/New_York"), V::S("2024-05-06 07:08:09 EST"), Ok(1714997289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("America/New_York"), V::S("2024-01-06 07:08:09 EDT"), Ok(1704539289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("America/New_York"), V::S("2024-01-06 07:08:09 EST"), Ok(1704542889000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("America/New_York"), V::S("2024-05-06 07:08:09 PDT"), Err("failed to load location PDT: unknown time zone PDT")),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("America/New_York"), V::S("2024-05-06 07:08:09 UTC"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("America/New_York"), V::S("2024-05-06 07:08:09 GMT"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("Europe/London"), V::S("2024-05-06 07:08:09 BST"), Ok(1714975689000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("Europe/London"), V::S("2024-01-06 07:08:09 GMT"), Ok(1704524889000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %Z", Some("Europe/London"), V::S("2024-01-06 07:08:09 BST"), Ok(1704524889000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", None, V::S("2024-05-06 07:08:09 +0200"), Ok(1714972089000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", None, V::S("2024-05-06 07:08:09 Z"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", None, V::S("2024-05-06 07:08:09 -0000"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", None, V::S("2024-05-06 07:08:09 +02:00"), Err("parsing time \"2024-05-06 07:08:09 +02:00\" as \"2006-01-02 15:04:05 Z0700\": cannot parse \"+02:00\" as \"Z0700\"")),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", None, V::S("2024-05-06 07:08:09 +02"), Err("parsing time \"2024-05-06 07:08:09 +02\" as \"2006-01-02 15:04:05 Z0700\": cannot parse \"+02\" as \"Z0700\"")),
        ("strptime", "%Y-%m-%d %H:%M:%S %w", None, V::S("2024-05-06 07:08:09 +020030"), Ok(1714972059000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %w", None, V::S("2024-05-06 07:08:09 -000001"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %w", None, V::S("2024-05-06 07:08:09 Z"), Err("parsing time \"2024-05-06 07:08:09 Z\" as \"2006-01-02 15:04:05 -070000\": cannot parse \"Z\" as \"-070000\"")),
        ("strptime", "%Y-%m-%d %H:%M:%S %i", None, V::S("2024-05-06 07:08:09 +05"), Ok(1714961289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %i", None, V::S("2024-05-06 07:08:09 -11"), Ok(1715018889000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %j", None, V::S("2024-05-06 07:08:09 +05:30"), Ok(1714959489000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %j", None, V::S("2024-05-06 07:08:09 +0530"), Err("parsing time \"2024-05-06 07:08:09 +0530\" as \"2006-01-02 15:04:05 -07:00\": cannot parse \"+0530\" as \"-07:00\"")),
        ("strptime", "%Y-%m-%d %H:%M:%S %k", None, V::S("2024-05-06 07:08:09 +05:30:15"), Ok(1714959474000000000)),
        ("strptime", "%D %T", None, V::S("05/06/2024 07:08:09"), Ok(1714979289000000000)),
        ("strptime", "%x %X", None, V::S("05/06/2024 07:08:09"), Ok(1714979289000000000)),
        ("strptime", "%F %R", None, V::S("2024-05-06 07:08"), Ok(1714979280000000000)),
        ("strptime", "%F %r", None, V::S("2024-05-06 07:08:09 pm"), Ok(1715022489000000000)),
        ("strptime", "%F %r", None, V::S("2024-05-06 07:08:09 PM"), Err("parsing time \"2024-05-06 07:08:09 PM\" as \"2006-01-02 03:04:05 pm\": cannot parse \"PM\" as \"pm\"")),
        ("strptime", "%c", None, V::S("Mon May 06 07:08:09 2024"), Ok(1714979289000000000)),
        ("strptime", "%c", None, V::S("Mon May  6 07:08:09 2024"), Err("parsing time \"Mon May  6 07:08:09 2024\" as \"Mon Jan 02 15:04:05 2006\": cannot parse \"6 07:08:09 2024\" as \"02\"")),
        ("strptime", "%F %H:%M:%S,%f", None, V::S("2024-05-06 07:08:09,123456"), Ok(1714979289123456000)),
        ("strptime", "%F %H:%M:%S,%f", None, V::S("2024-05-06 07:08:09.1"), Ok(1714979289100000000)),
        ("strptime", "%F %H:%M:%S.%s", None, V::S("2024-05-06 07:08:09.123456789"), Ok(1714979289123456789)),
        ("strptime", "%Y-%m-%d  %H", None, V::S("2024-05-06 07"), Ok(1714978800000000000)),
        ("strptime", "%Y-%m-%d  %H", None, V::S("2024-05-06     07"), Ok(1714978800000000000)),
        ("strptime", "%Y-%m-%d  %H", None, V::S("2024-05-0607"), Err("parsing time \"2024-05-0607\" as \"2006-01-02  15\": cannot parse \"07\" as \"  \"")),
        ("strptime", "%Y-%m-%d %H", None, V::S("2024-05-06   07"), Ok(1714978800000000000)),
        ("strptime", "%b %d %H:%M:%S", None, V::S("Jan 02 03:04:05"), Ok(1767323045000000000)),
        ("strptime", "%b %d %H:%M:%S", None, V::S("Dec 31 23:59:59"), Ok(1767225599000000000)),
        ("strptime", "%b %d %H:%M:%S", None, V::S("Feb 29 01:02:03"), Ok(1772326923000000000)),
        ("strptime", "%b %d %H:%M:%S", None, V::S("Nov 30 01:02:03"), Ok(1796000523000000000)),
        ("strptime", "%b %d %H:%M:%S", None, V::S("Dec 08 01:02:03"), Ok(1765155723000000000)),
        ("strptime", "%b %d %H:%M:%S", None, V::S("Dec 06 01:02:03"), Ok(1796518923000000000)),
        ("strptime", "%b %d %H:%M:%S", Some("America/New_York"), V::S("Jan 02 03:04:05"), Ok(1767341045000000000)),
        ("strptime", "%b %d %H:%M:%S %Z", Some("America/New_York"), V::S("Jan 02 03:04:05 EST"), Ok(1767341283000000000)),
        ("strptime", "%H:%M:%S", None, V::S("03:04:05"), Ok(1767236645000000000)),
        ("gotime", "2006 002", None, V::S("2024 060"), Ok(1709164800000000000)),
        ("gotime", "2006 002", None, V::S("2023 060"), Ok(1677628800000000000)),
        ("gotime", "2006 002", None, V::S("2024 366"), Ok(1735603200000000000)),
        ("gotime", "2006 002", None, V::S("2023 366"), Err("parsing time \"2023 366\": day-of-year out of range")),
        ("gotime", "2006 002", None, V::S("2024 000"), Err("parsing time \"2024 000\": day-of-year out of range")),
        ("gotime", "2006 __2", None, V::S("2024  60"), Ok(1709164800000000000)),
        ("gotime", "2006 __2", None, V::S("2024 1"), Ok(1704067200000000000)),
        ("gotime", "2006-01-02 002", None, V::S("2024-02-29 060"), Ok(1709164800000000000)),
        ("gotime", "2006-01-02 002", None, V::S("2024-03-01 060"), Err("parsing time \"2024-03-01 060\": day-of-year does not match month")),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("America/New_York"), V::S("2024-05-06 07:08:09"), Ok(1714993689000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("America/New_York"), V::S("2024-03-10 02:30:00"), Ok(1710052200000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("America/New_York"), V::S("2024-11-03 01:30:00"), Ok(1730611800000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("America/New_York"), V::S("1800-01-01 00:00:00"), Ok(-5364644638000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Europe/Berlin"), V::S("2024-03-31 02:30:00"), Ok(1711848600000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Europe/Berlin"), V::S("2024-10-27 02:30:00"), Ok(1729992600000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Europe/Berlin"), V::S("2024-07-01 12:00:00"), Ok(1719828000000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Asia/Kolkata"), V::S("2024-07-01 12:00:00"), Ok(1719815400000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("EST"), V::S("2024-07-01 12:00:00"), Ok(1719853200000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Etc/GMT+3"), V::S("2024-07-01 12:00:00"), Ok(1719846000000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Europe/London"), V::S("2024-01-01 12:00:00"), Ok(1704110400000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Europe/London"), V::S("2024-07-01 12:00:00"), Ok(1719831600000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Antarctica/Troll"), V::S("2024-01-01 12:00:00"), Err("failed to load location +00: unknown time zone +00")),
        ("strptime", "%Y-%m-%d %H:%M:%S", Some("Africa/Abidjan"), V::S("2024-01-01 12:00:00"), Ok(1704110400000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", Some("America/New_York"), V::S("2024-05-06 07:08:09 -0400"), Ok(1714993689000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", Some("America/New_York"), V::S("2024-05-06 07:08:09 +0000"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%S %z", Some("America/New_York"), V::S("2024-05-06 07:08:09 Z"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%SZ", None, V::S("2024-05-06 07:08:09Z"), Ok(1714979289000000000)),
        ("strptime", "%Y-%m-%d %H:%M:%SZ", Some("Asia/Tokyo"), V::S("2024-05-06 07:08:09Z"), Ok(1714946889000000000)),
        ("gotime", "Jan _2 15:04:05", None, V::S("Feb  3 04:05:06"), Ok(1770091506000000000)),
        ("gotime", "Jan _2 15:04:05", None, V::S("Feb 13 04:05:06"), Ok(1770955506000000000)),
        ("gotime", "Jan _2 15:04:05", None, V::S("Feb 3 04:05:06"), Ok(1770091506000000000)),
        ("gotime", "_2006", None, V::S("_2024"), Ok(1704067200000000000)),
        ("gotime", "Janet 2006", None, V::S("Janet 2024"), Ok(1704067200000000000)),
        ("gotime", "Mon, 02 Jan 2006 15:04:05 MST", None, V::S("Mon, 06 May 2024 07:08:09 GMT"), Ok(1714979289000000000)),
        ("gotime", "Mon, 02 Jan 2006 15:04:05 MST", None, V::S("Mon, 06 May 2024 07:08:09 PST"), Err("failed to load location PST: unknown time zone PST")),
        ("gotime", "02/Jan/2006:15:04:05 -0700", None, V::S("06/May/2024:07:08:09 +0200"), Ok(1714972089000000000)),
        ("gotime", "02/Jan/2006:15:04:05 -0700", None, V::S("06/may/2024:07:08:09 +0200"), Ok(1714972089000000000)),
        ("gotime", "02/Jan/2006:15:04:05 -0700", None, V::S("06/May/2024:07:08:09"), Err("parsing time \"06/May/2024:07:08:09\" as \"02/Jan/2006:15:04:05 -0700\": cannot parse \"\" as \"-0700\"")),
        ("gotime", "2006-01-02 15:04:05.000000000", None, V::S("2024-05-06 07:08:09.123456789"), Ok(1714979289123456789)),
        ("gotime", "2006", None, V::S("abcd"), Err("parsing time \"abcd\" as \"2006\": cannot parse \"abcd\" as \"2006\"")),
        ("gotime", "2006", None, V::S("20245"), Err("parsing time \"20245\": extra text: \"5\"")),
        ("strptime", "%Y-%m-%d", None, V::S("2024-5-6"), Err("parsing time \"2024-5-6\" as \"2006-01-02\": cannot parse \"5-6\" as \"01\"")),
        ("strptime", "%Y-%m-%d", None, V::S("2024-05-6x"), Err("parsing time \"2024-05-6x\" as \"2006-01-02\": cannot parse \"6x\" as \"02\"")),
        ("strptime", "%Y-%m-%d", None, V::S("2024/05/06"), Err("parsing time \"2024/05/06\" as \"2006-01-02\": cannot parse \"/05/06\" as \"-\"")),
        ("strptime", "%Y-%m-%d", None, V::S("2024-05-06ä"), Err("parsing time \"2024-05-06\\xc3\\xa4\": extra text: \"\\xc3\\xa4\"")),
        ("strptime", "%Y-%m-%d", None, V::S("2024-05-06\"x"), Err("parsing time \"2024-05-06\\\"x\": extra text: \"\\\"x\"")),
        ("epoch", "s", None, V::S("1700000000"), Ok(1700000000000000000)),
        ("epoch", "s", None, V::S("-5"), Ok(-5000000000)),
        ("epoch", "s", None, V::S("+7"), Ok(7000000000)),
        ("epoch", "s", None, V::S("1700000000.5"), Err("invalid value '1700000000.5' for layout 's'")),
        ("epoch", "s", None, V::I(1700000000), Ok(1700000000000000000)),
        ("epoch", "s", None, V::F(1700000000.0), Ok(1700000000000000000)),
        ("epoch", "s", None, V::F(1700000000.9), Ok(1700000000000000000)),
        ("epoch", "s", None, V::F(-1.5), Ok(-1000000000)),
        ("epoch", "ms", None, V::S("1700000000123"), Ok(1700000000123000000)),
        ("epoch", "ms", None, V::S("-1500"), Ok(-1500000000)),
        ("epoch", "ms", None, V::I(1700000000123), Ok(1700000000123000000)),
        ("epoch", "ms", None, V::F(1500000000000.0), Ok(1500000000000000000)),
        ("epoch", "us", None, V::S("1700000000123456"), Ok(1700000000123456000)),
        ("epoch", "us", None, V::I(1700000000123456), Ok(1700000000123456000)),
        ("epoch", "ns", None, V::S("1700000000123456789"), Ok(1700000000123456789)),
        ("epoch", "ns", None, V::I(1700000000123456789), Ok(1700000000123456789)),
        ("epoch", "s.ms", None, V::S("1.12"), Ok(1012000000)),
        ("epoch", "s.ms", None, V::S("1700000000.123"), Ok(1700000000123000000)),
        ("epoch", "s.ms", None, V::S("1700000000"), Err("invalid value '1700000000' for layout 's.ms'")),
        ("epoch", "s.ms", None, V::S("1.2.3"), Err("invalid value '1.2.3' for layout 's.ms'")),
        ("epoch", "s.ms", None, V::S("1.-5"), Ok(995000000)),
        ("epoch", "s.ms", None, V::S("1.+5"), Ok(1005000000)),
        ("epoch", "s.ms", None, V::S("-1.5"), Ok(-995000000)),
        ("epoch", "s.ms", None, V::F(1700000000.5), Ok(1700000000500000000)),
        ("epoch", "s.ms", None, V::F(1.5), Err("invalid value '     1.500' for layout 's.ms'")),
        ("epoch", "s.ms", None, V::I(5), Ok(5000000000)),
        ("epoch", "s.ms", None, V::I(1700000000), Ok(1700000000000000000)),
        ("epoch", "s.us", None, V::S("1.12"), Ok(1000012000)),
        ("epoch", "s.us", None, V::S("1700000000.123456"), Ok(1700000000123456000)),
        ("epoch", "s.us", None, V::F(1700000000.25), Ok(1700000000250000000)),
        ("epoch", "s.ns", None, V::S("1.12"), Ok(1000000012)),
        ("epoch", "s.ns", None, V::S("1700000000.123456789"), Ok(1700000000123456789)),
        ("epoch", "s.ns", None, V::F(1700000000.25), Ok(1700000000250000000)),
        ("epoch", "s.ns", None, V::F(12345.5), Ok(12345500000000)),
        ];
        with_now(GO_RUN_NOW, || {
            let mut failures = Vec::new();
            for (lt, layout, loc, v, want) in table {
                let got = run(lt, layout, *loc, v);
                let want = want.map_err(|e| e.to_string());
                if got != want {
                    failures.push(format!(
                        "{lt} {layout:?} {loc:?} {:?}: got {got:?}, want {want:?}",
                        match v {
                            V::S(s) => s.to_string(),
                            V::I(i) => i.to_string(),
                            V::F(f) => f.to_string(),
                        }
                    ));
                }
            }
            assert!(
                failures.is_empty(),
                "{} mismatches:\n{}",
                failures.len(),
                failures.join("\n")
            );
        });
    }

    #[test]
    fn literal_newline_tab_and_percent_directives_match_themselves() {
        let t = p("strptime", "%F%n%T%t%%", None);
        assert_eq!(
            t.parse_str("2024-05-06\n07:08:09\t%"),
            Ok(1_714_979_289_000_000_000)
        );
        assert!(t.parse_str("2024-05-06 07:08:09\t%").is_err());
    }

    #[test]
    fn trailing_text_and_empty_values_are_errors() {
        let t = p("strptime", "%Y-%m-%d %H", None);
        assert_eq!(
            t.parse_str("2024-05-06 07   "),
            Err("parsing time \"2024-05-06 07   \": extra text: \"   \"".to_string())
        );
        let t = p("gotime", "2006", None);
        assert_eq!(
            t.parse_str(""),
            Err("parsing time \"\" as \"2006\": cannot parse \"\" as \"2006\"".to_string())
        );
        let t = p("epoch", "s", None);
        assert_eq!(
            t.parse_str(" 1"),
            Err("invalid value ' 1' for layout 's'".to_string())
        );
    }

    #[test]
    fn year_zero_rolls_back_when_more_than_a_week_ahead() {
        // Go's own unit test: now 2020-01-01T03:31:34Z, "Dec 31" belongs to 2019.
        let t = p("strptime", "%b %d %H:%M:%S", Some("UTC"));
        with_now(1_577_849_494, || {
            assert_eq!(
                t.parse_str("Dec 31 03:31:34"),
                Ok(1_577_763_094_000_000_000)
            );
            assert_eq!(
                t.parse_str("Jan 08 03:31:34"),
                Ok(1_578_454_294_000_000_000)
            );
            // Jan 8 03:31:35 is more than 7 days ahead: previous year.
            assert_eq!(
                t.parse_str("Jan 08 03:31:35"),
                Ok(1_546_918_295_000_000_000)
            );
        });
    }

    #[test]
    fn local_zone_follows_tz_like_go() {
        let utc_noon = |l: &Location| {
            l.date(Civil {
                year: 2024,
                month: 7,
                day: 1,
                hour: 12,
                min: 0,
                sec: 0,
            })
        };
        let base = 1_719_835_200;
        assert_eq!(utc_noon(&local_from_env(Some(""))), base);
        assert_eq!(utc_noon(&local_from_env(Some("UTC"))), base);
        assert_eq!(
            utc_noon(&local_from_env(Some("America/New_York"))),
            base + 4 * 3600
        );
        assert_eq!(
            utc_noon(&local_from_env(Some(":Asia/Kolkata"))),
            base - 5 * 3600 - 1800
        );
        assert_eq!(
            utc_noon(&local_from_env(Some("/usr/share/zoneinfo/Asia/Tokyo"))),
            base - 9 * 3600
        );
        assert_eq!(utc_noon(&local_from_env(Some("No/Such_Zone"))), base);
    }

    #[test]
    fn zone_abbreviation_lookups_are_remembered() {
        let t = p("strptime", "%Y-%m-%d %H:%M:%S %Z", None);
        for _ in 0..3 {
            assert_eq!(
                t.parse_str("2024-05-06 07:08:09 EST"),
                Ok(1_714_997_289_000_000_000)
            );
            assert_eq!(
                t.parse_str("2024-05-06 07:08:09 CEST"),
                Err("failed to load location CEST: unknown time zone CEST".to_string())
            );
        }
        let Kind::Go(g) = &t.kind else { unreachable!() };
        assert_eq!(g.by_abbrev.read().map(|c| c.len()).unwrap_or(0), 2);
    }

    #[test]
    fn non_string_values_are_refused_by_text_layouts() {
        let t = p("strptime", "%Y", None);
        assert_eq!(
            t.parse_int(5),
            Err("type int64 cannot be parsed as a time".to_string())
        );
        assert_eq!(
            t.parse_float(5.0),
            Err("type float64 cannot be parsed as a time".to_string())
        );
        assert_eq!(type_error("bool"), "type bool cannot be parsed as a time");
        let n = p("native", "", None);
        assert!(n.parse_str("x").is_err());
    }

    #[test]
    fn epoch_edge_values_follow_go() {
        let t = p("epoch", "s.ms", None);
        // "%10.3f" of NaN is "       NaN": not a number.
        assert_eq!(
            t.parse_float(f64::NAN),
            Err("invalid value '       NaN' for layout 's.ms'".to_string())
        );
        let s = p("epoch", "s", None);
        assert_eq!(s.parse_float(1.7e9 + 0.9), Ok(1_700_000_000_000_000_000));
        let ns = p("epoch", "ns", None);
        assert_eq!(ns.parse_str("-1"), Ok(-1));
        assert_eq!(
            ns.parse_str("9223372036854775808"),
            Err("invalid value '9223372036854775808' for layout 'ns'".to_string())
        );
    }
}
