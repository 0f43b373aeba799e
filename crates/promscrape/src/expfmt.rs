//! The Prometheus text exposition format 0.0.4 and OpenMetrics 1.0, parsed as a stream of
//! entries over the body: `# HELP` / `# TYPE` / `# UNIT` metadata and samples with their
//! labels, timestamp and (OpenMetrics) exemplar.
//!
//! The parser borrows the body: names and label values are slices of it unless they hold
//! escapes, and the label vectors of the current sample are reused from line to line, so a
//! sample costs no allocation. Errors name the line; nothing in the input can make it panic.
//!
//! ```
//! use promscrape::expfmt::{Entry, Format, Parser};
//! let body = "# TYPE up gauge\nup{job=\"a\"} 1 1700000000000\n";
//! let mut p = Parser::new(body, Format::Text);
//! let mut values = Vec::new();
//! while let Some(e) = p.next_entry().unwrap() {
//!     if let Entry::Sample(s) = e {
//!         values.push((s.name.to_string(), s.labels[0].1.to_string(), s.value, s.timestamp_ms));
//!     }
//! }
//! assert_eq!(values, vec![("up".into(), "a".into(), 1.0, Some(1_700_000_000_000))]);
//! ```

use std::borrow::Cow;
use std::fmt;

/// Which exposition format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4` (and Prometheus text 1.0.0, which only adds quoted names).
    Text,
    /// `application/openmetrics-text; version=1.0.0` (or 0.0.1).
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` names, or `None` when it names neither text format.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Format::OpenMetrics)
        } else if media.eq_ignore_ascii_case("text/plain") {
            Some(Format::Text)
        } else {
            None
        }
    }
}

/// A metric family's type as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// `untyped` in the text format, `unknown` in OpenMetrics, or no `# TYPE` line at all.
    Unknown,
}

impl MetricType {
    fn parse(s: &str, format: Format) -> Option<MetricType> {
        Some(match (s, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }
}

/// A parse error and the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A label: name and value, unescaped.
pub type Label<'a> = (Cow<'a, str>, Cow<'a, str>);

/// One sample line. The vectors are reused by the parser for the next line.
#[derive(Debug, Default)]
pub struct Sample<'a> {
    /// The line's series as written: its name and `{labels}`, before the value. Two lines
    /// with the same text have the same name and labels.
    pub series: &'a str,
    pub name: Cow<'a, str>,
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    /// Milliseconds since the epoch (OpenMetrics seconds are converted).
    pub timestamp_ms: Option<i64>,
    /// The exemplar's value and timestamp (ms) when the line has one; labels below.
    pub exemplar: Option<(f64, Option<i64>)>,
    pub exemplar_labels: Vec<Label<'a>>,
    /// With [`Parser::lazy_labels`]: the text after `{` whose labels are parsed only when
    /// [`Sample::labels`] asks, and the length of the line after the `}` that ends them.
    pending: Option<(&'a str, usize)>,
    /// The line (1-based), for errors found later.
    line: usize,
}

impl<'a> Sample<'a> {
    /// The labels: those parsed with the line, or, when the parser left them for later
    /// ([`Parser::lazy_labels`]), parsed now, with the error the parser would have given.
    pub fn labels(&self) -> Result<Cow<'_, [Label<'a>]>, ParseError> {
        let Some((text, rest_len)) = self.pending else {
            return Ok(Cow::Borrowed(&self.labels));
        };
        let mut labels = Vec::new();
        let error = |message| ParseError {
            line: self.line,
            message,
        };
        let rest = parse_labels(text, &mut labels, None).map_err(error)?;
        if rest.len() != rest_len {
            // (Cannot happen: both end at the first `}` outside quotes.)
            return Err(error("invalid label set".into()));
        }
        Ok(Cow::Owned(labels))
    }
}

/// One entry of the stream.
#[derive(Debug)]
pub enum Entry<'s, 'a> {
    Help {
        name: Cow<'a, str>,
        text: Cow<'a, str>,
    },
    Type {
        name: Cow<'a, str>,
        kind: MetricType,
    },
    Unit {
        name: Cow<'a, str>,
        unit: Cow<'a, str>,
    },
    Sample(&'s Sample<'a>),
}

/// The streaming parser over one body.
pub struct Parser<'a> {
    body: &'a str,
    pos: usize,
    line: usize,
    format: Format,
    saw_eof: bool,
    failed: bool,
    lazy: bool,
    sample: Sample<'a>,
}

type Res<T> = Result<T, String>;

impl<'a> Parser<'a> {
    pub fn new(body: &'a str, format: Format) -> Parser<'a> {
        Parser {
            body,
            pos: 0,
            line: 0,
            format,
            saw_eof: false,
            failed: false,
            lazy: false,
            sample: Sample::default(),
        }
    }

    /// Leaves each sample's labels unparsed (only their end is found) until
    /// [`Sample::labels`] asks for them, as Prometheus's scrape loop does: a series whose
    /// text it has seen before needs only that text. A sample whose name is inside the
    /// braces is parsed at once. A label set that is invalid is reported when its labels
    /// are asked for, not by [`Parser::next_entry`].
    pub fn lazy_labels(mut self) -> Parser<'a> {
        self.lazy = true;
        self
    }

    /// Checks that `body` is UTF-8 (as both formats require) and starts a parser on it; the
    /// error names the line of the first bad byte.
    pub fn from_bytes(body: &'a [u8], format: Format) -> Result<Parser<'a>, ParseError> {
        match std::str::from_utf8(body) {
            Ok(s) => Ok(Parser::new(s, format)),
            Err(e) => {
                let line = 1 + body[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                Err(ParseError {
                    line,
                    message: "invalid UTF-8".into(),
                })
            }
        }
    }

    /// The line of the entry returned last (1-based).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The next entry, `None` at the end. After an error the parser stays at its end.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, 'a>>, ParseError> {
        if self.failed {
            return Ok(None);
        }
        loop {
            if self.pos >= self.body.len() {
                if self.format == Format::OpenMetrics && !self.saw_eof {
                    self.failed = true;
                    return Err(ParseError {
                        line: self.line.max(1),
                        message: "data does not end with # EOF".into(),
                    });
                }
                return Ok(None);
            }
            let rest = &self.body[self.pos..];
            let (mut line, advance) = match memchr::memchr(b'\n', rest.as_bytes()) {
                Some(i) => (&rest[..i], i + 1),
                None => (rest, rest.len()),
            };
            self.pos += advance;
            self.line += 1;
            if let Some(l) = line.strip_suffix('\r') {
                line = l;
            }
            match self.line_entry(line) {
                Ok(true) => {
                    // A sample or metadata line: the entry is in `self.sample` or rebuilt below.
                }
                Ok(false) => continue,
                Err(message) => {
                    self.failed = true;
                    return Err(ParseError {
                        line: self.line,
                        message,
                    });
                }
            }
            return match meta_entry(self.format, line) {
                Ok(Some(e)) => Ok(Some(e)),
                Ok(None) => Ok(Some(Entry::Sample(&self.sample))),
                Err(message) => {
                    self.failed = true;
                    Err(ParseError {
                        line: self.line,
                        message,
                    })
                }
            };
        }
    }

    /// Parses a line: `Ok(false)` for lines without an entry (blank, comments), `Ok(true)`
    /// when the line is metadata (re-read by `meta_entry`) or a sample (left in `self.sample`).
    fn line_entry(&mut self, line: &'a str) -> Res<bool> {
        if self.saw_eof {
            if line.trim().is_empty() && self.pos >= self.body.len() {
                return Ok(false);
            }
            return Err("unexpected data after # EOF".into());
        }
        let trimmed = match self.format {
            Format::Text => trim_blanks(line),
            Format::OpenMetrics => line,
        };
        if trimmed.trim().is_empty() {
            return match self.format {
                Format::Text => Ok(false),
                Format::OpenMetrics => Err("unexpected blank line".into()),
            };
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            return self.comment(comment);
        }
        self.sample_line(trimmed)?;
        Ok(true)
    }

    /// Classifies a `#` line; `Ok(true)` when it is HELP/TYPE/UNIT (re-read in `meta_entry`).
    fn comment(&mut self, comment: &'a str) -> Res<bool> {
        match self.format {
            Format::Text => {
                // `# HELP`/`# TYPE` need the blank after `#`; anything else is a comment.
                if !comment.starts_with([' ', '\t']) {
                    return Ok(false);
                }
                let word = trim_blanks(comment);
                let kw = word.split([' ', '\t']).next().unwrap_or("");
                Ok(kw == "HELP" || kw == "TYPE")
            }
            Format::OpenMetrics => {
                if comment == " EOF" {
                    self.saw_eof = true;
                    return Ok(false);
                }
                if comment.starts_with(" HELP ")
                    || comment.starts_with(" TYPE ")
                    || comment.starts_with(" UNIT ")
                {
                    return Ok(true);
                }
                Err(format!(
                    "expected # HELP, # TYPE, # UNIT or # EOF, got {:?}",
                    truncate(comment, 40)
                ))
            }
        }
    }
}

/// Builds the metadata entry of a `#` line, or `None` for a sample line.
fn meta_entry<'s, 'a>(format: Format, line: &'a str) -> Res<Option<Entry<'s, 'a>>> {
    {
        let t = trim_blanks(line);
        let Some(c) = t.strip_prefix('#') else {
            return Ok(None);
        };
        let c = trim_blanks(c);
        let kw = c.get(..4).unwrap_or("");
        let rest = &c[kw.len()..];
        let rest = rest.strip_prefix([' ', '\t']).unwrap_or(rest);
        let rest = match format {
            Format::Text => trim_blanks(rest),
            Format::OpenMetrics => rest,
        };
        let (name, after) = metadata_name(rest)?;
        // The text after the name: one blank separates it (more are part of HELP text).
        let text = if after.is_empty() {
            ""
        } else if let Some(t) = after.strip_prefix([' ', '\t']) {
            match format {
                Format::Text => trim_blanks(t),
                Format::OpenMetrics => t,
            }
        } else {
            return Err(format!(
                "unexpected {:?} after the metric name",
                truncate(after, 20)
            ));
        };
        match kw {
            "HELP" => Ok(Some(Entry::Help {
                name,
                text: unescape_help(text, format),
            })),
            "TYPE" => {
                let word = text.trim_matches([' ', '\t']);
                let kind = MetricType::parse(word, format)
                    .ok_or_else(|| format!("invalid metric type {word:?}"))?;
                Ok(Some(Entry::Type { name, kind }))
            }
            "UNIT" => Ok(Some(Entry::Unit {
                name,
                unit: Cow::Borrowed(text),
            })),
            _ => Ok(None),
        }
    }
}

impl<'a> Parser<'a> {
    fn sample_line(&mut self, line: &'a str) -> Res<()> {
        let result = self.sample_fields(line);
        // A line wrong in its labels and after them fails on its labels, as parsed at once.
        if result.is_err()
            && let Some((text, _)) = self.sample.pending
            && let Err(e) = parse_labels(text, &mut Vec::new(), None)
        {
            return Err(e);
        }
        result
    }

    fn sample_fields(&mut self, line: &'a str) -> Res<()> {
        let s = &mut self.sample;
        s.labels.clear();
        s.exemplar_labels.clear();
        s.exemplar = None;
        s.timestamp_ms = None;
        s.pending = None;
        s.line = self.line;
        let mut rest = line;
        let mut name: Option<Cow<'a, str>> = None;
        if !rest.starts_with('{') {
            let end = rest
                .bytes()
                .position(|b| !is_metric_name_byte(b))
                .unwrap_or(rest.len());
            if end == 0 || rest.as_bytes()[0].is_ascii_digit() {
                return Err(format!("invalid metric name at {:?}", truncate(rest, 20)));
            }
            name = Some(Cow::Borrowed(&rest[..end]));
            rest = &rest[end..];
        }
        if let Some(r) = rest.strip_prefix('{')
            && self.lazy
            && name.is_some()
            && let Some(after) = skip_labels(r)
        {
            s.pending = Some((r, after.len()));
            rest = after;
        } else if let Some(r) = rest.strip_prefix('{') {
            rest = parse_labels(
                r,
                &mut s.labels,
                if name.is_none() {
                    Some(&mut name)
                } else {
                    None
                },
            )?;
        }
        let Some(name) = name else {
            return Err("metric name missing".into());
        };
        s.name = name;
        s.series = &line[..line.len() - rest.len()];
        let after = trim_blanks(rest);
        if after.len() == rest.len() {
            return Err(format!(
                "expected a blank before the value, got {:?}",
                truncate(rest, 20)
            ));
        }
        rest = after;
        let (value, r) = token(rest);
        s.value = parse_float(value).ok_or_else(|| format!("invalid value {value:?}"))?;
        rest = trim_blanks(r);
        if !rest.is_empty() && !rest.starts_with('#') {
            let (ts, r) = token(rest);
            s.timestamp_ms = Some(parse_timestamp(ts, self.format)?);
            rest = trim_blanks(r);
        }
        if let Some(ex) = rest.strip_prefix('#') {
            if self.format == Format::Text {
                return Err(format!(
                    "unexpected {:?} after the sample",
                    truncate(rest, 20)
                ));
            }
            let ex = trim_blanks(ex);
            let Some(ex) = ex.strip_prefix('{') else {
                return Err("expected the exemplar's labels after \"#\"".into());
            };
            let r = parse_labels(ex, &mut s.exemplar_labels, None)?;
            let r = trim_blanks(r);
            let (v, r) = token(r);
            let ev = parse_float(v).ok_or_else(|| format!("invalid exemplar value {v:?}"))?;
            let r = trim_blanks(r);
            let mut ets = None;
            let r = if r.is_empty() {
                r
            } else {
                let (t, r) = token(r);
                ets = Some(parse_timestamp(t, Format::OpenMetrics)?);
                trim_blanks(r)
            };
            if !r.is_empty() {
                return Err(format!(
                    "unexpected {:?} after the exemplar",
                    truncate(r, 20)
                ));
            }
            s.exemplar = Some((ev, ets));
            rest = "";
        }
        if !rest.is_empty() {
            return Err(format!(
                "unexpected {:?} after the sample",
                truncate(rest, 20)
            ));
        }
        Ok(())
    }
}

/// Whether `b` may be in a metric name. Scanning bytes finds the same end as scanning
/// characters: the bytes before it are ASCII, so it starts a character.
fn is_metric_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// `s` without its leading blanks (spaces and tabs), found byte by byte rather than by
/// decoding characters against a set.
fn trim_blanks(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The name of a metadata line (bare or quoted) and what follows it.
fn metadata_name(s: &str) -> Res<(Cow<'_, str>, &str)> {
    if let Some(q) = s.strip_prefix('"') {
        let (name, rest) = quoted(q)?;
        return Ok((name, rest));
    }
    let end = s
        .bytes()
        .position(|b| !is_metric_name_byte(b))
        .unwrap_or(s.len());
    if end == 0 {
        return Err(format!(
            "invalid metric name in metadata at {:?}",
            truncate(s, 20)
        ));
    }
    Ok((Cow::Borrowed(&s[..end]), &s[end..]))
}

/// What follows the `}` that ends a label set (after its `{`): the first `}` outside
/// double quotes, where a backslash escapes the byte after it. `None` when there is none
/// (the eager parse then gives the error).
fn skip_labels(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quoted = false;
    while i < b.len() {
        match b[i] {
            b'"' => quoted = !quoted,
            b'\\' if quoted => i += 1,
            b'}' if !quoted => return s.get(i + 1..),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses `name="value",...}` (after the `{`) into `out`; returns the rest after `}`. When
/// `name_slot` is given, a quoted string standing alone is the metric name (`{"a.b", x="y"}`).
fn parse_labels<'a>(
    mut s: &'a str,
    out: &mut Vec<Label<'a>>,
    mut name_slot: Option<&mut Option<Cow<'a, str>>>,
) -> Res<&'a str> {
    loop {
        s = trim_blanks(s);
        if let Some(r) = s.strip_prefix('}') {
            return Ok(r);
        }
        let label_name: Cow<'a, str>;
        if let Some(q) = s.strip_prefix('"') {
            let (n, r) = quoted(q)?;
            let r2 = trim_blanks(r);
            if !r2.starts_with('=') {
                match name_slot.as_deref_mut() {
                    Some(slot @ None) => {
                        *slot = Some(n);
                        s = r2;
                        s = match s.strip_prefix(',') {
                            Some(r) => r,
                            None if s.starts_with('}') => s,
                            None => return Err(expected("\",\" or \"}\"", s)),
                        };
                        continue;
                    }
                    _ => return Err(expected("\"=\"", r2)),
                }
            }
            if n.is_empty() {
                return Err("empty label name".into());
            }
            label_name = n;
            s = r2;
        } else {
            let end = s
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            let n = &s[..end];
            if !is_label_name(n) {
                return Err(format!("invalid label name at {:?}", truncate(s, 20)));
            }
            label_name = Cow::Borrowed(n);
            s = trim_blanks(&s[end..]);
        }
        let Some(r) = s.strip_prefix('=') else {
            return Err(expected("\"=\"", s));
        };
        let r = trim_blanks(r);
        let Some(r) = r.strip_prefix('"') else {
            return Err(expected("a quoted label value", r));
        };
        let (value, r) = quoted(r)?;
        if out.iter().any(|(n, _)| *n == label_name) {
            return Err(format!(
                "invalid sample: non-unique label names: {:?}",
                label_name
            ));
        }
        out.push((label_name, value));
        s = trim_blanks(r);
        s = match s.strip_prefix(',') {
            Some(r) => r,
            None if s.starts_with('}') => s,
            None => return Err(expected("\",\" or \"}\"", s)),
        };
    }
}

fn expected(what: &str, got: &str) -> String {
    if got.is_empty() {
        format!("expected {what}, got the end of the line")
    } else {
        format!("expected {what}, got {:?}", truncate(got, 20))
    }
}

/// A quoted string's content (after the opening quote), unescaped, and the rest after the
/// closing quote. `\\`, `\"` and `\n` are escapes; other backslashes stay as written.
fn quoted(s: &str) -> Res<(Cow<'_, str>, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let raw = &s[..i];
                let v = if escaped {
                    Cow::Owned(unescape(raw, true))
                } else {
                    Cow::Borrowed(raw)
                };
                return Ok((v, &s[i + 1..]));
            }
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    Err("unterminated quoted string".into())
}

fn unescape(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// HELP text: the text format escapes `\\` and `\n`; OpenMetrics also `\"`.
fn unescape_help(s: &str, format: Format) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(unescape(s, format == Format::OpenMetrics))
}

fn token(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|b| b == b' ' || b == b'\t')
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// A float as Go's `strconv.ParseFloat` reads the values of both formats (`NaN`, `+Inf`,
/// `-Inf` and `Inf`, case-insensitive).
pub fn parse_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    // Most values are whole numbers (counters, buckets, counts): up to 15 digits they are
    // exactly the f64 of their digits, without the general parser.
    if s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')) as f64);
    }
    // Rust accepts what Go does for decimal text, except that Go also takes `0x` hex floats
    // and underscores between digits of those: rare enough in exposition to refuse.
    s.parse::<f64>().ok()
}

fn parse_timestamp(s: &str, format: Format) -> Res<i64> {
    match format {
        Format::Text => s
            .parse::<i64>()
            .map_err(|_| format!("invalid timestamp {s:?}")),
        Format::OpenMetrics => {
            let f = parse_float(s).ok_or_else(|| format!("invalid timestamp {s:?}"))?;
            if !f.is_finite() {
                return Err(format!("invalid timestamp {s:?}"));
            }
            Ok((f * 1000.0) as i64)
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
