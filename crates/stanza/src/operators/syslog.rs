//! `syslog_parser`: RFC 5424 and RFC 3164 lines (optionally RFC 6587 octet-counted, or
//! with a missing PRI header) become Go's attribute map (`priority`, `facility`,
//! `version`, `hostname`, `appname`, `proc_id`, `msg_id`, `structured_data`, `message`),
//! with severity from the PRI and the timestamp from the header. The grammars follow
//! go-syslog's state machines, including their error texts and columns and the quirks of
//! its RFC 3164 machine (fields set by alternatives that later die, message starting at
//! the last mark).

use serde::Deserialize;

use crate::entry::Entry;
use crate::operator::config::Spec;
use crate::operator::parser::{Parser, ParserKeys};
use crate::operator::{Next, Operator, Out};
use crate::time::TimeParser;
use crate::value::{Map, Value};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    #[serde(flatten)]
    parser: ParserKeys,
    protocol: String,
    location: String,
    enable_octet_counting: bool,
    allow_skip_pri_header: bool,
    non_transparent_framing_trailer: Option<String>,
    max_octets: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    None,
    OctetCounting,
    Lf,
    Nul,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        // Go builds the embedded parser first, so its errors come first.
        let parser = self.parser.build()?;
        let proto = self.protocol.to_lowercase();
        let trailer = self.non_transparent_framing_trailer.as_deref();
        if proto.is_empty() {
            return Err("missing field 'protocol'".into());
        }
        if proto != "rfc5424" && (trailer.is_some() || self.enable_octet_counting) {
            return Err("octet_counting and non_transparent_framing are only compatible with protocol rfc5424".into());
        }
        if trailer.is_some() && self.enable_octet_counting {
            return Err(
                "only one of octet_counting or non_transparent_framing can be enabled".into(),
            );
        }
        let framing = match trailer {
            Some("LF") => Framing::Lf,
            Some("NUL") => Framing::Nul,
            Some(t) => {
                return Err(format!(
                    "invalid non_transparent_framing_trailer '{t}'. Must be either 'LF' or 'NUL'"
                ));
            }
            None if self.enable_octet_counting => Framing::OctetCounting,
            None => Framing::None,
        };
        if proto != "rfc5424" && proto != "rfc3164" {
            return Err(format!("unsupported protocol version: {proto}"));
        }
        let location = if self.location.is_empty() {
            "UTC"
        } else {
            &self.location
        };
        let stamp = TimeParser::new("gotime", "Jan _2 15:04:05", Some(location)).map_err(|_| {
            format!("failed to load location {location}: unknown time zone {location}")
        })?;
        let rfc3339 = TimeParser::new("gotime", "2006-01-02T15:04:05.999999Z07:00", None)?;
        Ok(Box::new(SyslogParser {
            parser,
            rfc3164: proto == "rfc3164",
            framing,
            allow_skip_pri: self.allow_skip_pri_header,
            max_octets: usize::try_from(self.max_octets).unwrap_or(0),
            stamp,
            rfc3339,
        }))
    }
}

struct SyslogParser {
    parser: Parser,
    rfc3164: bool,
    framing: Framing,
    allow_skip_pri: bool,
    max_octets: usize,
    stamp: TimeParser,
    rfc3339: TimeParser,
}

/// A parsed message, before it becomes the attribute map.
#[derive(Default, Debug)]
struct Msg {
    priority: Option<u8>,
    version: Option<u16>,
    timestamp: Option<i64>,
    hostname: Option<String>,
    appname: Option<String>,
    proc_id: Option<String>,
    msg_id: Option<String>,
    structured_data: Option<Vec<SdElement>>,
    message: Option<String>,
}

/// One structured-data element: its id and its (name, value) parameters.
type SdElement = (String, Vec<(String, String)>);

// Go stanza's severity numbers for syslog severities 0..7, and their texts.
const SEVERITY: [u8; 8] = [21, 19, 18, 17, 13, 10, 9, 5];
const SEVERITY_TEXT: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

impl Operator for SyslogParser {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let p = &self.parser;
        if let Some(next) = p.t.check(e, out) {
            return next;
        }
        let mut skip_pri = false;
        if self.framing != Framing::OctetCounting && self.allow_skip_pri {
            // Go looks at the body here, whatever parse_from says.
            match &e.body {
                Value::Str(s) => skip_pri = s.len() > 1 && !s.starts_with('<'),
                other => {
                    let m = format!("unable to convert type '{}' to bytes", other.go_type());
                    return out.fail(p.t.on_error, &m);
                }
            }
        }
        let parsed = match p.parse_from.get(e) {
            None => Err(format!(
                "Entry is missing the expected parse_from field.: {{\"parse_from\":\"{}\"}}",
                p.parse_from
            )),
            Some(Value::Str(s)) => self.parse(s),
            Some(other) => Err(format!(
                "unable to convert type '{}' to bytes",
                other.go_type()
            )),
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(m) => return out.fail(p.t.on_error, &m),
        };
        let with_pri = !skip_pri;
        let (ts, map) = self.to_map(msg, with_pri);
        if let Err(m) = p.parse_to.set(e, Value::Map(map)) {
            return out.fail(p.t.on_error, &format!("set parse_to: {m}"));
        }
        // Go's default timestamp block reads the native time.Time the parse left in
        // attributes.timestamp; it is missing for a NILVALUE or when parse_to is elsewhere.
        let ts_ok = ts.is_some() && p.parse_to == crate::field::Field::attributes_root();
        let time_err = if p.time.is_none() && !ts_ok {
            Some("time parser: log entry does not have the expected parse_from field: {\"parse_from\":\"attributes.timestamp\"}".to_string())
        } else {
            None
        };
        if p.time.is_none()
            && let Some(t) = ts.filter(|_| ts_ok)
        {
            e.timestamp = t;
        }
        let rest = p.finish(e);
        if let Some(m) = time_err {
            return out.fail(p.t.on_error, &m);
        }
        if let Err(m) = rest {
            return out.fail(p.t.on_error, &m);
        }
        if with_pri {
            match e.attributes.remove("severity") {
                Some(Value::Int(s)) if (0..8).contains(&s) => {
                    e.severity = SEVERITY[s as usize];
                    e.severity_text = SEVERITY_TEXT[s as usize].to_string();
                }
                Some(Value::Int(s)) => {
                    return out.fail(p.t.on_error, &format!("invalid severity '{s}'"));
                }
                Some(_) => return out.fail(p.t.on_error, "severity field is not an int"),
                None => return out.fail(p.t.on_error, "severity field does not exist"),
            }
        }
        Next::Forward(0)
    }
}

impl SyslogParser {
    fn parse(&self, s: &str) -> Result<Msg, String> {
        let b = s.as_bytes();
        match self.framing {
            Framing::OctetCounting => return self.octet_counting(b),
            Framing::Lf | Framing::Nul => {
                let t = if self.framing == Framing::Lf {
                    b'\n'
                } else {
                    0
                };
                let frame = b.split(|&c| c == t).next().unwrap_or(b);
                return self.rfc5424(frame);
            }
            Framing::None => {}
        }
        let prefixed;
        let input = if self.allow_skip_pri && !has_pri(b) {
            prefixed = [b"<0>".as_slice(), b].concat();
            &prefixed[..]
        } else {
            b
        };
        if self.rfc3164 {
            self.rfc3164(input)
        } else {
            self.rfc5424(input)
        }
    }

    fn to_map(&self, m: Msg, with_pri: bool) -> (Option<i64>, Map) {
        let mut map = Map::with_capacity(10);
        let s = |v: Option<String>| v.map(Value::from);
        for (k, v) in [
            ("hostname", s(m.hostname)),
            ("appname", s(m.appname)),
            ("proc_id", s(m.proc_id)),
            ("msg_id", s(m.msg_id)),
            ("message", s(m.message)),
        ] {
            if let Some(v) = v {
                map.insert(k, v);
            }
        }
        if let Some(sd) = m.structured_data {
            let mut sdm = Map::with_capacity(sd.len());
            for (id, params) in sd {
                let mut pm = Map::with_capacity(params.len());
                for (k, v) in params {
                    pm.insert(k, Value::from(v));
                }
                sdm.insert(id, Value::Map(pm));
            }
            map.insert("structured_data", Value::Map(sdm));
        }
        if let Some(v) = m.version {
            map.insert("version", Value::Int(i64::from(v)));
        }
        if with_pri && let Some(p) = m.priority {
            map.insert("priority", Value::Int(i64::from(p)));
            map.insert("severity", Value::Int(i64::from(p & 7)));
            map.insert("facility", Value::Int(i64::from(p >> 3)));
        }
        (m.timestamp, map)
    }

    /// RFC 6587 octet counting (go-syslog's scanner, best effort; the last result wins).
    fn octet_counting(&self, b: &[u8]) -> Result<Msg, String> {
        let mut i = 0;
        let mut last = Err("found EOF, expecting a MSGLEN".to_string());
        loop {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return match b.get(i) {
                    // Nothing after a complete frame: the earlier result stands.
                    None if start > 0 => last,
                    None => Err("found EOF, expecting a MSGLEN".into()),
                    Some(&c) => Err(format!("found ILLEGAL({}), expecting a MSGLEN", c as char)),
                };
            }
            let len: usize = std::str::from_utf8(&b[start..i])
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(usize::MAX);
            if self.max_octets > 0 && len > self.max_octets {
                return Err(format!(
                    "message too long to parse. was size {len}, max length {}",
                    self.max_octets
                ));
            }
            match b.get(i) {
                Some(b' ') => i += 1,
                None => return Err("found EOF, expecting a WS".into()),
                Some(&c) => return Err(format!("found ILLEGAL({}), expecting a WS", c as char)),
            }
            if b.len() - i < len {
                return Err(format!(
                    "found EOF after \"{}\", expecting a SYSLOGMSG containing {len} octets",
                    String::from_utf8_lossy(&b[i..])
                ));
            }
            last = self.rfc5424(&b[i..i + len]);
            last.as_ref().map_err(Clone::clone)?;
            i += len;
        }
    }

    fn rfc5424(&self, b: &[u8]) -> Result<Msg, String> {
        let mut c = Cur { b, p: 0 };
        let mut m = Msg {
            priority: Some(c.pri()?),
            ..Msg::default()
        };
        // VERSION: 1-999, no leading zero.
        let v0 = c.p;
        match c.peek() {
            Some(b'1'..=b'9') => c.p += 1,
            _ => return Err(col(ERR_VERSION, c.p)),
        }
        while c.p - v0 < 3 && matches!(c.peek(), Some(b'0'..=b'9')) {
            c.p += 1;
        }
        m.version = Some(atoi(&b[v0..c.p]) as u16);
        c.sp()?;
        // TIMESTAMP
        if c.peek() == Some(b'-') && c.at(1) != Some(b'-') {
            c.p += 1;
        } else {
            let t0 = c.p;
            c.rfc3339_micro()?;
            let text = std::str::from_utf8(&b[t0..c.p]).unwrap_or("");
            m.timestamp = Some(
                self.rfc3339
                    .parse_str(text)
                    .map_err(|e| format!("{e} [col {}]", c.p))?,
            );
        }
        c.sp()?;
        m.hostname = c.header_field(255, ERR_HOSTNAME)?;
        c.sp()?;
        m.appname = c.header_field(48, ERR_APPNAME)?;
        c.sp()?;
        m.proc_id = c.header_field(128, ERR_PROCID)?;
        c.sp()?;
        m.msg_id = c.header_field(32, ERR_MSGID)?;
        c.sp()?;
        m.structured_data = c.structured_data()?;
        match c.peek() {
            None => {}
            Some(b' ') => {
                let rest = &b[c.p + 1..];
                if !rest.is_empty() {
                    m.message = Some(String::from_utf8_lossy(rest).into_owned());
                }
            }
            Some(_) => return Err(col(ERR_SD, c.p)),
        }
        Ok(m)
    }

    /// go-syslog's RFC 3164 machine (no best effort, no RFC 3339, no sequence).
    fn rfc3164(&self, b: &[u8]) -> Result<Msg, String> {
        let mut c = Cur { b, p: 0 };
        let mut m = Msg {
            priority: Some(c.pri()?),
            ..Msg::default()
        };
        while c.peek() == Some(b' ') {
            c.p += 1;
        }
        // Stamp: "Mmm dd hh:mm:ss" with a space-padded or two-digit day.
        let t0 = c.p;
        const MONTHS: [&[u8]; 12] = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        let mon_ok = |c: &Cur| {
            let s = &c.b[t0..c.b.len().min(t0 + 3)];
            MONTHS.iter().any(|m| m.starts_with(s)) && !s.is_empty()
        };
        for k in 0..3 {
            c.p = t0 + k;
            let probe = Cur {
                b: &b[..(t0 + k + 1).min(b.len())],
                p: 0,
            };
            if c.peek().is_none() || !mon_ok(&probe) {
                // Go reports a bad month name at its first letter ("Foo" at 'F').
                return Err(col(ERR_STAMP, t0));
            }
        }
        c.p = t0 + 3;
        c.expect(b' ', ERR_STAMP)?;
        match (c.peek(), c.at(1)) {
            (Some(b' '), Some(b'1'..=b'9')) => c.p += 2,
            (Some(b'1'..=b'2'), Some(b'0'..=b'9')) => c.p += 2,
            (Some(b'3'), Some(b'0'..=b'1')) => c.p += 2,
            (Some(b'0'), Some(b'1'..=b'9')) => c.p += 2,
            (Some(b' ' | b'0'..=b'3'), _) => return Err(col(ERR_STAMP, c.p + 1)),
            _ => return Err(col(ERR_STAMP, c.p)),
        }
        c.expect(b' ', ERR_STAMP)?;
        c.digits_in(b'0', b'2', ERR_STAMP)?;
        let h1 = b[c.p - 1];
        c.digits_in(b'0', if h1 == b'2' { b'3' } else { b'9' }, ERR_STAMP)?;
        c.expect(b':', ERR_STAMP)?;
        c.digits_in(b'0', b'5', ERR_STAMP)?;
        c.digits_in(b'0', b'9', ERR_STAMP)?;
        c.expect(b':', ERR_STAMP)?;
        c.digits_in(b'0', b'5', ERR_STAMP)?;
        c.digits_in(b'0', b'9', ERR_STAMP)?;
        let text = std::str::from_utf8(&b[t0..c.p]).unwrap_or("");
        if c.peek() != Some(b' ') {
            return Err(col(ERR_STAMP, c.p));
        }
        m.timestamp = Some(
            self.stamp
                .parse_str(text)
                .map_err(|_| format!("parsing time \"{text}\": day out of range [col {}]", c.p))?,
        );
        while c.peek() == Some(b' ') {
            c.p += 1;
        }
        self.rfc3164_rest(&mut c, &mut m)?;
        Ok(m)
    }

    /// After the timestamp: `(hostname sp+)? (tag content? ':' sp)? message`, run the way
    /// the Ragel machine runs it: every alternative at once, sharing one mark.
    fn rfc3164_rest(&self, c: &mut Cur, m: &mut Msg) -> Result<(), String> {
        let b = c.b;
        let s0 = c.p;
        if s0 >= b.len() || !visible(b[s0]) {
            return Err(col(ERR_HOSTNAME_3164, s0));
        }
        let mut pb = s0;
        // The hostname alternative: printable non-':' bytes up to a space.
        let tok_end = b[s0..].iter().position(|&x| x == b' ').map(|i| s0 + i);
        let mut msg_starts = vec![s0];
        if let Some(e) = tok_end
            && e - s0 <= 255
            && b[s0..e].iter().all(|&x| x.is_ascii_graphic() && x != b':')
        {
            let h = &b[s0..e];
            if h != b"-" {
                m.hostname = Some(String::from_utf8_lossy(h).into_owned());
            }
            let mut s1 = e;
            while s1 < b.len() && b[s1] == b' ' {
                s1 += 1;
            }
            if s1 < b.len() {
                msg_starts.push(s1);
            }
        }
        for &s in &msg_starts {
            pb = s;
            // Tag: printable except space, ':' and '[', 1 to 48 bytes.
            let mut i = s;
            while i < b.len() && i - s < 48 && is_print(b[i]) && !b" :[".contains(&b[i]) {
                i += 1;
            }
            if i == s || i >= b.len() {
                continue;
            }
            let tag_end = i;
            if b[i] == b'[' {
                m.appname = Some(String::from_utf8_lossy(&b[s..tag_end]).into_owned());
                i += 1;
                pb = i;
                let c0 = i;
                while i < b.len() && is_print(b[i]) && !b" []".contains(&b[i]) {
                    i += 1;
                }
                if i >= b.len() || b[i] != b']' {
                    continue;
                }
                if i > c0 {
                    m.proc_id = Some(String::from_utf8_lossy(&b[c0..i]).into_owned());
                }
                i += 1;
                if i >= b.len() || b[i] != b':' {
                    continue;
                }
            } else if b[i] != b':' {
                continue;
            } else {
                m.appname = Some(String::from_utf8_lossy(&b[s..tag_end]).into_owned());
            }
            // ':' then one space, then the message.
            if b.get(i + 1) == Some(&b' ') && i + 2 < b.len() && visible(b[i + 2]) {
                pb = i + 2;
                m.message = Some(String::from_utf8_lossy(&b[pb..]).into_owned());
                return Ok(());
            }
        }
        m.message = Some(String::from_utf8_lossy(&b[pb..]).into_owned());
        Ok(())
    }
}

fn is_print(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

fn visible(c: u8) -> bool {
    is_print(c) || c >= 0x80
}

/// Go's `<\d{1,3}>` anywhere in the input.
fn has_pri(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| {
        c == b'<' && {
            let d = b[i + 1..].iter().take_while(|x| x.is_ascii_digit()).count();
            d >= 1 && b.get(i + 1 + d.min(3)) == Some(&b'>') && d <= 3
        }
    })
}

fn atoi(d: &[u8]) -> u32 {
    d.iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0'))
}

fn col(msg: &str, p: usize) -> String {
    format!("{msg} [col {p}]")
}

const ERR_PRIVAL: &str = "expecting a priority value in the range 1-191 or equal to 0";
const ERR_PRI: &str = "expecting a priority value within angle brackets";
const ERR_VERSION: &str = "expecting a version value in the range 1-999";
const ERR_TIMESTAMP: &str = "expecting a RFC3339MICRO timestamp or a nil value";
const ERR_HOSTNAME: &str =
    "expecting an hostname (from 1 to max 255 US-ASCII characters) or a nil value";
const ERR_APPNAME: &str =
    "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value";
const ERR_PROCID: &str =
    "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value";
const ERR_MSGID: &str = "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value";
const ERR_SD: &str = "expecting a structured data section containing one or more elements (`[id( key=\"value\")*]+`) or a nil value";
const ERR_SDID: &str = "expecting a structured data element id (from 1 to max 32 US-ASCII characters; except `=`, ` `, `]`, and `\"`";
const ERR_SDID_DUP: &str = "duplicate structured data element id";
const ERR_SDPARAM: &str = "expecting a structured data parameter (`key=\"value\"`, both part from 1 to max 32 US-ASCII characters; key cannot contain `=`, ` `, `]`, and `\"`, while value cannot contain `]`, backslash, and `\"` unless escaped)";
const ERR_ESCAPE: &str = "expecting chars `]`, `\"`, and `\\` to be escaped within param value";
const ERR_PARSE: &str = "parsing error";
const ERR_STAMP: &str = "expecting a Stamp timestamp";
const ERR_HOSTNAME_3164: &str = "expecting an hostname (from 1 to max 255 US-ASCII characters)";

/// A byte cursor; errors carry go-syslog's column (the offending byte, or the end).
struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.p).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.b.get(self.p + k).copied()
    }

    fn expect(&mut self, c: u8, err: &str) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.p += 1;
            Ok(())
        } else {
            Err(col(err, self.p))
        }
    }

    fn sp(&mut self) -> Result<(), String> {
        self.expect(b' ', ERR_PARSE)
    }

    fn digits_in(&mut self, lo: u8, hi: u8, err: &str) -> Result<(), String> {
        match self.peek() {
            Some(c) if (lo..=hi).contains(&c) => {
                self.p += 1;
                Ok(())
            }
            _ => Err(col(err, self.p)),
        }
    }

    /// `<PRIVAL>`: 0, or 1-191 without leading zeros.
    fn pri(&mut self) -> Result<u8, String> {
        if self.peek() != Some(b'<') {
            return Err(col(ERR_PRI, self.p));
        }
        self.p += 1;
        let d0 = self.p;
        match self.peek() {
            Some(b'0') => {
                self.p += 1;
            }
            Some(b'1'..=b'9') => {
                self.p += 1;
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    let v = atoi(&self.b[d0..self.p]) * 10 + u32::from(c - b'0');
                    if self.p - d0 >= 3 || v > 191 {
                        return Err(col(ERR_PRIVAL, self.p));
                    }
                    self.p += 1;
                }
            }
            _ => return Err(col(ERR_PRIVAL, self.p)),
        }
        let v = atoi(&self.b[d0..self.p]) as u8;
        if self.peek() != Some(b'>') {
            return Err(col(
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    ERR_PRIVAL
                } else {
                    ERR_PRI
                },
                self.p,
            ));
        }
        self.p += 1;
        Ok(v)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|±HH:MM)`, checked byte by byte.
    fn rfc3339_micro(&mut self) -> Result<(), String> {
        let e = ERR_TIMESTAMP;
        for _ in 0..4 {
            self.digits_in(b'0', b'9', e)?;
        }
        self.expect(b'-', e)?;
        self.digits_in(b'0', b'1', e)?;
        let m1 = self.b[self.p - 1];
        if m1 == b'0' {
            self.digits_in(b'1', b'9', e)?;
        } else {
            self.digits_in(b'0', b'2', e)?;
        }
        self.expect(b'-', e)?;
        self.digits_in(b'0', b'3', e)?;
        match self.b[self.p - 1] {
            b'0' => self.digits_in(b'1', b'9', e)?,
            b'3' => self.digits_in(b'0', b'1', e)?,
            _ => self.digits_in(b'0', b'9', e)?,
        }
        self.expect(b'T', e)?;
        self.hh_mm(e)?;
        self.expect(b':', e)?;
        self.digits_in(b'0', b'5', e)?;
        self.digits_in(b'0', b'9', e)?;
        if self.peek() == Some(b'.') {
            self.p += 1;
            self.digits_in(b'0', b'9', e)?;
            let mut n = 1;
            while n < 6 && matches!(self.peek(), Some(b'0'..=b'9')) {
                self.p += 1;
                n += 1;
            }
        }
        match self.peek() {
            Some(b'Z') => self.p += 1,
            Some(b'+' | b'-') => {
                self.p += 1;
                self.hh_mm(e)?;
            }
            _ => return Err(col(e, self.p)),
        }
        Ok(())
    }

    fn hh_mm(&mut self, e: &str) -> Result<(), String> {
        self.digits_in(b'0', b'2', e)?;
        let h1 = self.b[self.p - 1];
        self.digits_in(b'0', if h1 == b'2' { b'3' } else { b'9' }, e)?;
        self.expect(b':', e)?;
        self.digits_in(b'0', b'5', e)?;
        self.digits_in(b'0', b'9', e)
    }

    /// A NILVALUE or 1..=max printable US-ASCII bytes.
    fn header_field(&mut self, max: usize, err: &str) -> Result<Option<String>, String> {
        let s = self.p;
        while let Some(c) = self.peek() {
            if !c.is_ascii_graphic() {
                break;
            }
            if self.p - s == max {
                return Err(col(err, self.p));
            }
            self.p += 1;
        }
        // At the end of input the field could still go on, so go-syslog blames it.
        if self.p == s || (self.peek().is_none() && self.p - s < max) {
            return Err(col(err, self.p));
        }
        let v = &self.b[s..self.p];
        Ok((v != b"-").then(|| String::from_utf8_lossy(v).into_owned()))
    }

    fn sd_name(&mut self, err: &str) -> Result<String, String> {
        let s = self.p;
        while let Some(c) = self.peek() {
            if !c.is_ascii_graphic() || b"= ]\"".contains(&c) {
                break;
            }
            if self.p - s == 32 {
                return Err(col(err, self.p));
            }
            self.p += 1;
        }
        if self.p == s {
            return Err(col(err, self.p));
        }
        Ok(String::from_utf8_lossy(&self.b[s..self.p]).into_owned())
    }

    fn structured_data(&mut self) -> Result<Option<Vec<SdElement>>, String> {
        match self.peek() {
            Some(b'-') => {
                self.p += 1;
                return Ok(None);
            }
            Some(b'[') => {}
            _ => return Err(col(ERR_SD, self.p)),
        }
        let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
        while self.peek() == Some(b'[') {
            self.p += 1;
            let id = self.sd_name(ERR_SDID)?;
            if out.iter().any(|(k, _)| *k == id) {
                return Err(col(ERR_SDID_DUP, self.p));
            }
            let mut params: Vec<(String, String)> = Vec::new();
            loop {
                match self.peek() {
                    Some(b']') => {
                        self.p += 1;
                        break;
                    }
                    Some(b' ') => self.p += 1,
                    _ => return Err(col(ERR_SDPARAM, self.p)),
                }
                let name = self.sd_name(ERR_SDPARAM)?;
                self.expect(b'=', ERR_SDPARAM)?;
                self.expect(b'"', ERR_SDPARAM)?;
                let mut v = Vec::new();
                loop {
                    match self.peek() {
                        None => return Err(col(ERR_SDPARAM, self.p)),
                        Some(b'"') => {
                            self.p += 1;
                            break;
                        }
                        Some(b']') => return Err(col(ERR_ESCAPE, self.p)),
                        Some(b'\\') => {
                            match self.at(1) {
                                Some(c @ (b'"' | b'\\' | b']')) => v.push(c),
                                // Other escapes stay as written.
                                _ => v.push(b'\\'),
                            }
                            self.p += if matches!(self.at(1), Some(b'"' | b'\\' | b']')) {
                                2
                            } else {
                                1
                            };
                        }
                        Some(c) => {
                            v.push(c);
                            self.p += 1;
                        }
                    }
                }
                let v = String::from_utf8_lossy(&v).into_owned();
                match params.iter_mut().find(|(k, _)| *k == name) {
                    Some(slot) => slot.1 = v,
                    None => params.push((name, v)),
                }
            }
            out.push((id, params));
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    /// Runs one line; the record's attributes, timestamp, severity, text and any error.
    fn go(cfg: &str, line: &str) -> (Map, i64, u8, String, Option<String>) {
        let mut p = pipeline(&format!("- type: syslog_parser\n{cfg}"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let s2 = seen.clone();
        p.set_error_hook(Box::new(move |e| {
            *s2.lock().unwrap() = Some(e.message.to_string())
        }));
        let out = run(&mut p, vec![Entry::with_body(line, 0)]);
        let err = seen.lock().unwrap().clone();
        let e = &out[0];
        (
            e.attributes.clone(),
            e.timestamp,
            e.severity,
            e.severity_text.clone(),
            err,
        )
    }

    const R5424: &str = "  protocol: rfc5424\n";

    // Expected values from otelcol-contrib 0.135 (filelog -> otlphttp json).
    #[test]
    fn parses_rfc5424_like_go() {
        let (a, ts, sev, txt, err) = go(
            R5424,
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
        );
        assert_eq!(err, None);
        assert_eq!(
            a,
            map! {"hostname" => "mymachine.example.com", "appname" => "su", "msg_id" => "ID47",
            "message" => "'su root' failed for lonvick on /dev/pts/8", "version" => 1,
            "priority" => 34, "facility" => 4}
        );
        assert_eq!((ts, sev, txt.as_str()), (1065910455003000000, 18, "crit"));

        let (a, ts, sev, txt, _) = go(
            R5424,
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        );
        assert_eq!(
            a,
            map! {"hostname" => "192.0.2.1", "appname" => "myproc", "proc_id" => "8710",
            "message" => "%% It's time to make the do-nuts.", "version" => 1,
            "priority" => 165, "facility" => 20}
        );
        assert_eq!((ts, sev, txt.as_str()), (1061727255000003000, 10, "notice"));

        let (a, _, _, _, _) = go(
            R5424,
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] \u{feff}An application event log entry...",
        );
        assert_eq!(
            a,
            map! {"hostname" => "mymachine.example.com", "appname" => "evntslog", "msg_id" => "ID47",
            "structured_data" => map!{
                "exampleSDID@32473" => map!{"iut" => "3", "eventSource" => "Application", "eventID" => "1011"},
                "examplePriority@32473" => map!{"class" => "high"}},
            "message" => "\u{feff}An application event log entry...", "version" => 1,
            "priority" => 165, "facility" => 20}
        );

        let (a, ts, sev, txt, _) = go(
            R5424,
            "<191>1 2023-01-01T00:00:00+02:00 h a 1 m [x@1 k=\"a\\\"b\\\\c\\]d\" e=\"\"][y@2] msg",
        );
        assert_eq!(
            a,
            map! {"hostname" => "h", "appname" => "a", "proc_id" => "1", "msg_id" => "m",
            "message" => "msg",
            "structured_data" => map!{"x@1" => map!{"k" => "a\"b\\c]d", "e" => ""}, "y@2" => map!{}},
            "version" => 1, "priority" => 191, "facility" => 23}
        );
        assert_eq!((ts, sev, txt.as_str()), (1672524000000000000, 5, "debug"));
    }

    #[test]
    fn nil_timestamp_fails_the_time_parser_like_go() {
        // Go's default time block finds no attributes.timestamp; severity stays behind.
        let (a, _, sev, _, err) = go(R5424, "<13>1 - - - - - -");
        assert_eq!(
            err.as_deref(),
            Some(
                "time parser: log entry does not have the expected parse_from field: {\"parse_from\":\"attributes.timestamp\"}"
            )
        );
        assert_eq!(
            a,
            map! {"version" => 1, "priority" => 13, "severity" => 5, "facility" => 1}
        );
        assert_eq!(sev, 0);
    }

    #[test]
    fn rfc5424_errors_match_go() {
        let h = "h".repeat(256);
        let ap = "a".repeat(49);
        let cases = [
            (
                "<0>1 2023-01-01T00:00:00.123456789Z h a 1 m - x",
                "expecting a RFC3339MICRO timestamp or a nil value [col 31]",
            ),
            (
                "<13>1 - - - - -",
                "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value [col 15]",
            ),
            (
                "<13>1 - - - - - [a@1 x=\"1\"][a@1 y=\"2\"]",
                "duplicate structured data element id [col 31]",
            ),
            (
                "hello",
                "expecting a priority value within angle brackets [col 0]",
            ),
            (
                "<999>1 - - - - - -",
                "expecting a priority value in the range 1-191 or equal to 0 [col 3]",
            ),
            (
                "<34>1 2003-13-11T22:14:15Z h a - - - m",
                "expecting a RFC3339MICRO timestamp or a nil value [col 12]",
            ),
            (
                "<34>1 2003-10-11T22:14:15 h a - - - m",
                "expecting a RFC3339MICRO timestamp or a nil value [col 25]",
            ),
            (
                "<34>1 - h a - - [a@1 x=1] m",
                "expecting a structured data parameter (`key=\"value\"`, both part from 1 to max 32 US-ASCII characters; key cannot contain `=`, ` `, `]`, and `\"`, while value cannot contain `]`, backslash, and `\"` unless escaped) [col 23]",
            ),
            (
                "<34>1 - h a - - [a@1 x=\"1\"]m",
                "expecting a structured data section containing one or more elements (`[id( key=\"value\")*]+`) or a nil value [col 27]",
            ),
            (
                "<34>1 - h  a - - - m",
                "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value [col 10]",
            ),
            ("<34>1 -", "parsing error [col 7]"),
            (
                "<34>",
                "expecting a version value in the range 1-999 [col 4]",
            ),
            (
                "<192>1 - - - - - -",
                "expecting a priority value in the range 1-191 or equal to 0 [col 3]",
            ),
            (
                "<034>1 - - - - - -",
                "expecting a priority value in the range 1-191 or equal to 0 [col 2]",
            ),
            (
                "<34>01 - - - - - -",
                "expecting a version value in the range 1-999 [col 4]",
            ),
            (
                &format!("<34>1 - {h} a - - - m"),
                "expecting an hostname (from 1 to max 255 US-ASCII characters) or a nil value [col 263]",
            ),
            (
                &format!("<34>1 - h {ap} - - - m"),
                "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value [col 58]",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(go(R5424, line).4.as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn parses_rfc3164_like_go() {
        let year = crate::time::TimeParser::new("gotime", "Jan _2 15:04:05", Some("UTC"))
            .unwrap()
            .parse_str("Oct 11 22:14:15")
            .unwrap();
        let c = "  protocol: rfc3164\n";
        let (a, ts, sev, txt, err) = go(
            c,
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        );
        assert_eq!(err, None);
        assert_eq!(
            a,
            map! {"hostname" => "mymachine", "appname" => "su",
            "message" => "'su root' failed for lonvick on /dev/pts/8", "priority" => 34, "facility" => 4}
        );
        assert_eq!((ts, sev, txt.as_str()), (year, 18, "crit"));
        // New York is 4 hours behind UTC on Oct 11.
        let (_, ts, _, _, _) = go(
            "  protocol: rfc3164\n  location: America/New_York\n",
            "<34>Oct 11 22:14:15 mymachine su: x",
        );
        assert_eq!(ts, year + 4 * 3600 * 1_000_000_000);
        let cases = [
            (
                "<13>Feb  5 17:32:18 10.0.0.99 myapp[1234]: Use the BFG!",
                map! {"hostname" => "10.0.0.99", "appname" => "myapp", "proc_id" => "1234", "message" => "Use the BFG!", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host app[12]:msg no space",
                map! {"hostname" => "host", "appname" => "app", "proc_id" => "12", "message" => "12]:msg no space", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host just a message",
                map! {"hostname" => "host", "message" => "just a message", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host",
                map! {"message" => "host", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host app[]: x",
                map! {"hostname" => "host", "appname" => "app", "message" => "x", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host app[1 2]: x",
                map! {"hostname" => "host", "appname" => "app", "message" => "1 2]: x", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host app:",
                map! {"hostname" => "host", "appname" => "app", "message" => "app:", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 - app: x",
                map! {"appname" => "app", "message" => "x", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host app:x",
                map! {"hostname" => "host", "appname" => "app", "message" => "app:x", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host ap p: x",
                map! {"hostname" => "host", "message" => "ap p: x", "priority" => 13, "facility" => 1},
            ),
            (
                "<13>Feb  5 17:32:18 host app[1]x",
                map! {"hostname" => "host", "appname" => "app", "proc_id" => "1", "message" => "1]x", "priority" => 13, "facility" => 1},
            ),
        ];
        for (line, want) in cases {
            let (a, _, _, _, err) = go(c, line);
            assert_eq!((a, err), (want, None), "{line}");
        }
        let errs = [
            (
                "<13>Jan 1 00:00:00 host a: b",
                "expecting a Stamp timestamp [col 9]",
            ),
            (
                "<13>2019-12-02T16:49:23+02:00 host app: rfc3339",
                "expecting a Stamp timestamp [col 4]",
            ),
            (
                "<13>Feb 30 17:32:18 host app: x",
                "parsing time \"Feb 30 17:32:18\": day out of range [col 19]",
            ),
            (
                "hello",
                "expecting a priority value within angle brackets [col 0]",
            ),
            (
                "<13>Foo  5 17:32:18 host app: x",
                "expecting a Stamp timestamp [col 4]",
            ),
            (
                "<13>Feb  5 25:32:18 host app: x",
                "expecting a Stamp timestamp [col 12]",
            ),
            (
                "<999>Feb  5 17:32:18 host app: x",
                "expecting a priority value in the range 1-191 or equal to 0 [col 3]",
            ),
        ];
        for (line, want) in errs {
            assert_eq!(go(c, line).4.as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn octet_counting_like_go() {
        let c = "  protocol: rfc5424\n  enable_octet_counting: true\n";
        let m = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - hello world";
        let (a, _, sev, _, err) = go(c, &format!("76 {m}"));
        assert_eq!(err, None);
        assert_eq!(a.get("message"), Some(&Value::from("hello world")));
        assert_eq!(sev, 18);
        let cases = [
            (
                format!("71 {m}"),
                "found ILLEGAL(w), expecting a MSGLEN".to_string(),
            ),
            (
                format!("81 {m}"),
                format!("found EOF after \"{m}\", expecting a SYSLOGMSG containing 81 octets"),
            ),
            (m.to_string(), "found ILLEGAL(<), expecting a MSGLEN".into()),
            ("abc".into(), "found ILLEGAL(a), expecting a MSGLEN".into()),
            (format!("76{m}"), "found ILLEGAL(<), expecting a WS".into()),
            ("0".into(), "found EOF, expecting a WS".into()),
            ("5 <34>1".into(), "parsing error [col 5]".into()),
        ];
        for (line, want) in &cases {
            assert_eq!(go(c, line).4.as_ref(), Some(want), "{line}");
        }
        let c = "  protocol: rfc5424\n  enable_octet_counting: true\n  max_octets: 20\n";
        assert_eq!(
            go(c, &format!("76{m}")).4.as_deref(),
            Some("message too long to parse. was size 76, max length 20")
        );
    }

    #[test]
    fn skip_pri_header_like_go() {
        let c = "  protocol: rfc5424\n  allow_skip_pri_header: true\n";
        let (a, ts, sev, _, err) = go(c, "1 2003-10-11T22:14:15.003Z h a - - - no pri");
        assert_eq!(err, None);
        assert_eq!(
            a,
            map! {"hostname" => "h", "appname" => "a", "message" => "no pri", "version" => 1}
        );
        assert_eq!((ts, sev), (1065910455003000000, 0));
        assert_eq!(
            go(c, "x <12> 1 - - - - - -").4.as_deref(),
            Some("expecting a priority value within angle brackets [col 0]")
        );
        let c = "  protocol: rfc3164\n  allow_skip_pri_header: true\n";
        let (a, _, sev, _, err) = go(c, "Oct 11 22:14:15 host app: no pri");
        assert_eq!(err, None);
        assert_eq!(
            a,
            map! {"hostname" => "host", "appname" => "app", "message" => "no pri"}
        );
        assert_eq!(sev, 0);
    }

    #[test]
    fn config_errors_match_go() {
        let cases = [
            ("", "missing field 'protocol'"),
            (
                "  protocol: rfc3164\n  enable_octet_counting: true\n",
                "octet_counting and non_transparent_framing are only compatible with protocol rfc5424",
            ),
            (
                "  protocol: rfc5424\n  enable_octet_counting: true\n  non_transparent_framing_trailer: LF\n",
                "only one of octet_counting or non_transparent_framing can be enabled",
            ),
            (
                "  protocol: rfc5424\n  non_transparent_framing_trailer: CR\n",
                "invalid non_transparent_framing_trailer 'CR'. Must be either 'LF' or 'NUL'",
            ),
            (
                "  protocol: rfc9999\n",
                "unsupported protocol version: rfc9999",
            ),
        ];
        for (cfg, want) in cases {
            let err = build_err(&format!("- type: syslog_parser\n{cfg}"));
            assert!(err.contains(want), "{cfg}: {err}");
        }
    }

    #[test]
    fn on_error_modes() {
        for (mode, sent) in [
            ("send", true),
            ("send_quiet", true),
            ("drop", false),
            ("drop_quiet", false),
        ] {
            let out = run_one(
                &format!("- type: syslog_parser\n  protocol: rfc5424\n  on_error: {mode}\n"),
                Entry::with_body("hello", 0),
            );
            assert_eq!(out.len(), usize::from(sent), "{mode}");
        }
    }
}
