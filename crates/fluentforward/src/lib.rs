//! The Fluent Forward protocol v1 (<https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1>)
//! as the Go collector's `fluentforwardreceiver` reads it: the event modes (Message,
//! Forward, PackedForward, CompressedPackedForward with gzip), the `chunk` option and its
//! ack, EventTime (extension type 0) and integer times, and the conversion of each record
//! to an OTLP log record (`fluent.tag` attribute; `message` or `log` as the body; every
//! other key an attribute).
//!
//! No I/O here: [`Scanner`] finds where the next complete event ends in a connection's
//! bytes (resumable, so a large event arriving in many reads is scanned once), and
//! [`decode_event`] decodes it.
//!
//! ```
//! use fluentforward::{Scanner, decode_event, Mode};
//!
//! // ["app.access", 1700000000, {"message": "hello", "code": 200}]
//! let mut buf = vec![0x93, 0xaa];
//! buf.extend_from_slice(b"app.access");
//! buf.extend_from_slice(&[0xce, 0x65, 0x53, 0xf1, 0x00, 0x82, 0xa7]);
//! buf.extend_from_slice(b"message");
//! buf.extend_from_slice(&[0xa5]);
//! buf.extend_from_slice(b"hello");
//! buf.extend_from_slice(&[0xa4]);
//! buf.extend_from_slice(b"code");
//! buf.extend_from_slice(&[0xcc, 200]);
//! let end = Scanner::default().scan(&buf, 1 << 20).unwrap().unwrap();
//! let event = decode_event(&buf[..end]).unwrap();
//! assert_eq!(event.mode, Mode::Message);
//! assert_eq!(event.records[0].time_unix_nano, 1_700_000_000_000_000_000);
//! ```

use std::io::Read;

use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};
use pdata::proto::logs::v1::LogRecord;
use rmp::Marker;

/// The attribute that carries the event's tag.
pub const TAG_ATTRIBUTE: &str = "fluent.tag";

/// The largest decompressed CompressedPackedForward payload taken (a gzip bomb is refused,
/// not inflated): 8x the largest chunk Fluentd or Fluent Bit sends by default.
pub const MAX_DECOMPRESSED: usize = 64 << 20;

/// The carrier mode, from the type of an event's second element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Message,
    Forward,
    PackedForward,
}

impl Mode {
    /// Go's name of the mode in its errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Message => "message",
            Mode::Forward => "forward",
            Mode::PackedForward => "packedforward",
        }
    }
}

/// One decoded event: its log records and the `chunk` option to acknowledge.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub mode: Mode,
    pub records: Vec<LogRecord>,
    pub chunk: Option<String>,
}

/// Why bytes are not an event (the connection is closed, as Go closes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err<T>(m: impl Into<String>) -> Result<T, Error> {
    Err(Error(m.into()))
}

/// Finds the end of the next complete MessagePack object without decoding it. Keeps its
/// place between calls: after `Ok(None)` (more bytes needed), call again with the same
/// buffer grown; after `Ok(Some(end))`, [`Scanner::reset`] before the next object.
#[derive(Debug, Default)]
pub struct Scanner {
    pos: usize,
    /// Items still to skip in each open array/map.
    open: Vec<u64>,
    started: bool,
}

impl Scanner {
    pub fn reset(&mut self) {
        *self = Scanner::default();
    }

    /// `Ok(Some(end))`: `buf[..end]` is one object. `Err` when the bytes cannot be
    /// MessagePack or the object would be longer than `max_len`.
    pub fn scan(&mut self, buf: &[u8], max_len: usize) -> Result<Option<usize>, Error> {
        loop {
            if self.started && self.open.is_empty() {
                return Ok(Some(self.pos));
            }
            let Some(&b) = buf.get(self.pos) else {
                return Ok(None);
            };
            let Some((header, payload, children)) = item_size(b, &buf[self.pos..])? else {
                return Ok(None);
            };
            let end = (self.pos as u64)
                .saturating_add(header as u64)
                .saturating_add(payload);
            if end > max_len as u64 {
                return err(format!("event larger than {max_len} bytes"));
            }
            if end > buf.len() as u64 {
                return Ok(None);
            }
            self.pos = end as usize;
            self.started = true;
            if let Some(top) = self.open.last_mut() {
                *top -= 1;
            }
            if children > 0 {
                self.open.push(children);
            }
            while self.open.last() == Some(&0) {
                self.open.pop();
            }
        }
    }
}

/// (header bytes, payload bytes, child items) of the item starting with marker `b`, or
/// `None` when its header is not all in `rest`.
fn item_size(b: u8, rest: &[u8]) -> Result<Option<(usize, u64, u64)>, Error> {
    let be = |n: usize| -> Option<u64> {
        rest.get(1..1 + n)
            .map(|s| s.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    let sized = |n: usize, extra: usize, kids: u64| be(n).map(|l| (1 + n + extra, l, kids));
    let m = Marker::from_u8(b);
    Ok(match m {
        Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
            Some((1, 0, 0))
        }
        Marker::U8 | Marker::I8 => Some((2, 0, 0)),
        Marker::U16 | Marker::I16 => Some((3, 0, 0)),
        Marker::U32 | Marker::I32 | Marker::F32 => Some((5, 0, 0)),
        Marker::U64 | Marker::I64 | Marker::F64 => Some((9, 0, 0)),
        Marker::FixStr(n) => Some((1, u64::from(n), 0)),
        Marker::Str8 | Marker::Bin8 => sized(1, 0, 0),
        Marker::Str16 | Marker::Bin16 => sized(2, 0, 0),
        Marker::Str32 | Marker::Bin32 => sized(4, 0, 0),
        Marker::FixArray(n) => Some((1, 0, u64::from(n))),
        Marker::Array16 => be(2).map(|n| (3, 0, n)),
        Marker::Array32 => be(4).map(|n| (5, 0, n)),
        Marker::FixMap(n) => Some((1, 0, 2 * u64::from(n))),
        Marker::Map16 => be(2).map(|n| (3, 0, 2 * n)),
        Marker::Map32 => be(4).map(|n| (5, 0, 2 * n)),
        Marker::FixExt1 => Some((2, 1, 0)),
        Marker::FixExt2 => Some((2, 2, 0)),
        Marker::FixExt4 => Some((2, 4, 0)),
        Marker::FixExt8 => Some((2, 8, 0)),
        Marker::FixExt16 => Some((2, 16, 0)),
        Marker::Ext8 => sized(1, 1, 0),
        Marker::Ext16 => sized(2, 1, 0),
        Marker::Ext32 => sized(4, 1, 0),
        Marker::Reserved => return err("invalid MessagePack marker 0xc1"),
    })
}

/// A reader over one complete object's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A decoded MessagePack value, as Go's `msgp.ReadIntf` gives it.
enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    F32(f32),
    F64(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Val>),
    Map(Vec<(String, Val)>),
    /// EventTime: Unix nanoseconds.
    Time(i64),
    Ext(i8, Vec<u8>),
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => err("EOF"),
        }
    }

    fn be(&mut self, n: usize) -> Result<u64, Error> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    fn peek(&self) -> Result<Marker, Error> {
        match self.buf.get(self.pos) {
            Some(&b) => Ok(Marker::from_u8(b)),
            None => err("EOF"),
        }
    }

    fn marker(&mut self) -> Result<Marker, Error> {
        let m = self.peek()?;
        self.pos += 1;
        Ok(m)
    }

    fn array_len(&mut self) -> Result<u64, Error> {
        match self.marker()? {
            Marker::FixArray(n) => Ok(u64::from(n)),
            Marker::Array16 => self.be(2),
            Marker::Array32 => self.be(4),
            m => err(format!(
                "msgp: attempted to decode type \"{}\" with method for \"array\"",
                type_name(m)
            )),
        }
    }

    fn map_len(&mut self) -> Result<u64, Error> {
        match self.marker()? {
            Marker::FixMap(n) => Ok(u64::from(n)),
            Marker::Map16 => self.be(2),
            Marker::Map32 => self.be(4),
            m => err(format!(
                "msgp: attempted to decode type \"{}\" with method for \"map\"",
                type_name(m)
            )),
        }
    }

    fn str_len(&mut self, m: Marker) -> Result<Option<u64>, Error> {
        Ok(Some(match m {
            Marker::FixStr(n) => u64::from(n),
            Marker::Str8 => self.be(1)?,
            Marker::Str16 => self.be(2)?,
            Marker::Str32 => self.be(4)?,
            _ => return Ok(None),
        }))
    }

    fn bin_len(&mut self, m: Marker) -> Result<Option<u64>, Error> {
        Ok(Some(match m {
            Marker::Bin8 => self.be(1)?,
            Marker::Bin16 => self.be(2)?,
            Marker::Bin32 => self.be(4)?,
            _ => return Ok(None),
        }))
    }

    fn bytes(&mut self, n: u64) -> Result<&'a [u8], Error> {
        self.take(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn string(&mut self) -> Result<String, Error> {
        let m = self.marker()?;
        match self.str_len(m)? {
            Some(n) => Ok(lossy(self.bytes(n)?)),
            None => err(format!(
                "msgp: attempted to decode type \"{}\" with method for \"str\"",
                type_name(m)
            )),
        }
    }

    /// A map key: a string, or (some clients) binary.
    fn key(&mut self) -> Result<String, Error> {
        let m = self.marker()?;
        if let Some(n) = self.str_len(m)? {
            return Ok(lossy(self.bytes(n)?));
        }
        match self.bin_len(m)? {
            Some(n) => Ok(lossy(self.bytes(n)?)),
            None => err(format!(
                "msgp: attempted to decode type \"{}\" with method for \"str\"",
                type_name(m)
            )),
        }
    }

    fn value(&mut self) -> Result<Val, Error> {
        let m = self.marker()?;
        if let Some(n) = self.str_len(m)? {
            return Ok(Val::Str(lossy(self.bytes(n)?)));
        }
        if let Some(n) = self.bin_len(m)? {
            return Ok(Val::Bin(self.bytes(n)?.to_vec()));
        }
        Ok(match m {
            Marker::Null => Val::Nil,
            Marker::True => Val::Bool(true),
            Marker::False => Val::Bool(false),
            Marker::FixPos(n) => Val::Int(i64::from(n)),
            Marker::FixNeg(n) => Val::Int(i64::from(n)),
            Marker::U8 => Val::Uint(self.be(1)?),
            Marker::U16 => Val::Uint(self.be(2)?),
            Marker::U32 => Val::Uint(self.be(4)?),
            Marker::U64 => Val::Uint(self.be(8)?),
            Marker::I8 => Val::Int(i64::from(self.be(1)? as u8 as i8)),
            Marker::I16 => Val::Int(i64::from(self.be(2)? as u16 as i16)),
            Marker::I32 => Val::Int(i64::from(self.be(4)? as u32 as i32)),
            Marker::I64 => Val::Int(self.be(8)? as i64),
            Marker::F32 => Val::F32(f32::from_bits(self.be(4)? as u32)),
            Marker::F64 => Val::F64(f64::from_bits(self.be(8)?)),
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                self.pos -= 1;
                let n = self.array_len()?;
                // a declared length is not trusted for the allocation
                let mut items = Vec::with_capacity(cap(n, self.buf.len() - self.pos));
                for _ in 0..n {
                    items.push(self.value()?);
                }
                Val::Array(items)
            }
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                self.pos -= 1;
                let n = self.map_len()?;
                let mut items = Vec::with_capacity(cap(n, self.buf.len() - self.pos));
                for _ in 0..n {
                    // msgp reads a map key as str or bin
                    let k = self.key()?;
                    items.push((k, self.value()?));
                }
                Val::Map(items)
            }
            Marker::FixExt1 => self.ext(1)?,
            Marker::FixExt2 => self.ext(2)?,
            Marker::FixExt4 => self.ext(4)?,
            Marker::FixExt8 => self.ext(8)?,
            Marker::FixExt16 => self.ext(16)?,
            Marker::Ext8 => {
                let n = self.be(1)?;
                self.ext(n)?
            }
            Marker::Ext16 => {
                let n = self.be(2)?;
                self.ext(n)?
            }
            Marker::Ext32 => {
                let n = self.be(4)?;
                self.ext(n)?
            }
            _ => return err("msgp: invalid MessagePack value"),
        })
    }

    fn ext(&mut self, len: u64) -> Result<Val, Error> {
        let kind = self.be(1)? as u8 as i8;
        let data = self.bytes(len)?;
        if kind == 0 {
            if data.len() != 8 {
                return err("data should be exactly 8 bytes");
            }
            let secs = i64::from(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
            let nanos = i64::from(u32::from_be_bytes([data[4], data[5], data[6], data[7]]));
            return Ok(Val::Time(secs * 1_000_000_000 + nanos));
        }
        Ok(Val::Ext(kind, data.to_vec()))
    }
}

fn cap(n: u64, remaining: usize) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(remaining)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// msgp's type names, for its error texts.
fn type_name(m: Marker) -> &'static str {
    match m {
        Marker::FixPos(_) | Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => "uint",
        Marker::FixNeg(_) | Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => "int",
        Marker::Null => "nil",
        Marker::True | Marker::False => "bool",
        Marker::F32 => "float32",
        Marker::F64 => "float64",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "str",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "bin",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map",
        Marker::Reserved => "invalid",
        _ => "ext",
    }
}

/// Go's `parseToAttributeValue`.
fn any(v: Val) -> AnyValue {
    use any_value::Value as V;
    let value = match v {
        Val::Nil => None,
        Val::Bool(b) => Some(V::BoolValue(b)),
        Val::Int(i) => Some(V::IntValue(i)),
        Val::Uint(u) => Some(match i64::try_from(u) {
            Ok(i) => V::IntValue(i),
            // past i64: its decimal text, as Go does
            Err(_) => V::StringValue(u.to_string()),
        }),
        Val::F32(f) => Some(V::DoubleValue(f64::from(f))),
        Val::F64(f) => Some(V::DoubleValue(f)),
        Val::Str(s) => Some(V::StringValue(s)),
        // "Sometimes strings come in as bytes array" (Go)
        Val::Bin(b) => Some(V::StringValue(lossy(&b))),
        Val::Array(items) => Some(V::ArrayValue(ArrayValue {
            values: items.into_iter().map(any).collect(),
        })),
        Val::Map(items) => Some(V::KvlistValue(KeyValueList {
            values: items.into_iter().map(|(k, v)| kv(k, any(v))).collect(),
        })),
        // Go prints these with %v, which shows its internal structs; a readable text here
        Val::Time(ns) => Some(V::IntValue(ns)),
        Val::Ext(kind, data) => Some(V::StringValue(format!("ext({kind}):{data:02x?}"))),
    };
    AnyValue { value }
}

fn kv(key: String, value: AnyValue) -> KeyValue {
    KeyValue {
        key,
        value: Some(value),
        ..Default::default()
    }
}

fn tag_kv(tag: &str) -> KeyValue {
    kv(
        TAG_ATTRIBUTE.into(),
        AnyValue {
            value: Some(any_value::Value::StringValue(tag.to_string())),
        },
    )
}

/// Go's `timeFromTimestamp`: integer seconds or EventTime.
fn time(v: Val) -> Result<u64, Error> {
    let ns = match v {
        Val::Int(s) => s.saturating_mul(1_000_000_000),
        Val::Uint(s) => (s as i64).saturating_mul(1_000_000_000),
        Val::Time(ns) => ns,
        _ => return err("Time: unknown type of value"),
    };
    Ok(ns as u64)
}

/// `[time, record]`'s record into `lr` (the time read already): `message`/`log` is the
/// body (the last one wins), every other key an attribute, in the record's order.
fn record(r: &mut Reader, lr: &mut LogRecord) -> Result<(), Error> {
    let n = r.map_len().map_err(|e| Error(format!("Record: {e}")))?;
    for _ in 0..n {
        let key = r.key().map_err(|e| Error(format!("Record: {e}")))?;
        let val = r.value().map_err(|e| Error(format!("Record/{key}: {e}")))?;
        if key == "message" || key == "log" {
            lr.body = Some(any(val));
        } else {
            lr.attributes.push(kv(key, any(val)));
        }
    }
    Ok(())
}

fn timed_record(r: &mut Reader) -> Result<LogRecord, Error> {
    let mut lr = LogRecord::default();
    let t = r.value().map_err(|e| Error(format!("Time: {e}")))?;
    lr.time_unix_nano = time(t)?;
    record(r, &mut lr)?;
    Ok(lr)
}

/// An `[time, record]` entry of Forward and PackedForward.
fn entry(r: &mut Reader, tag: &str) -> Result<LogRecord, Error> {
    let n = r.array_len()?;
    if n != 2 {
        return err(format!("msgp: wanted array of size 2; got {n}"));
    }
    let mut lr = timed_record(r)?;
    lr.attributes.push(tag_kv(tag));
    Ok(lr)
}

/// `chunk` and `compressed` of the option map.
fn options(r: &mut Reader) -> Result<(Option<String>, Option<String>), Error> {
    let n = r.map_len().map_err(|e| Error(format!("Option: {e}")))?;
    let (mut chunk, mut compressed) = (None, None);
    for _ in 0..n {
        let key = r.string().map_err(|e| Error(format!("Option: {e}")))?;
        let val = r.value().map_err(|e| Error(format!("Option/{key}: {e}")))?;
        let Val::Str(s) = val else { continue };
        match key.as_str() {
            "chunk" => chunk = Some(s),
            "compressed" => compressed = Some(s),
            _ => {}
        }
    }
    Ok((chunk.filter(|c| !c.is_empty()), compressed))
}

/// The mode of the event in `buf` (one complete object), as Go detects it: by the type of
/// the second element.
pub fn mode(buf: &[u8]) -> Result<Mode, Error> {
    let mut r = Reader { buf, pos: 0 };
    r.array_len()?;
    let m = r.marker()?;
    match r.str_len(m)? {
        Some(n) => {
            r.bytes(n)?;
        }
        None => return err("malformed tag field"),
    }
    Ok(match r.peek()? {
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64
        | Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => Mode::Message,
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => Mode::Forward,
        Marker::FixStr(_)
        | Marker::Str8
        | Marker::Str16
        | Marker::Str32
        | Marker::Bin8
        | Marker::Bin16
        | Marker::Bin32 => Mode::PackedForward,
        m => {
            return err(format!(
                "unable to determine next event mode for type {}",
                type_name(m)
            ));
        }
    })
}

/// Decodes one complete event (the bytes [`Scanner`] delimited). Errors read as Go's
/// (`failed to parse <mode> mode event: ...`).
pub fn decode_event(buf: &[u8]) -> Result<Event, Error> {
    let mode = mode(buf)?;
    let mut r = Reader { buf, pos: 0 };
    let wrap = |e: Error| Error(format!("failed to parse {} mode event: {e}", mode.as_str()));
    let n = r.array_len().map_err(wrap)?;
    let tag = r.string().map_err(|e| wrap(Error(format!("Tag: {e}"))))?;
    let mut records = Vec::new();
    let mut opts = (None, None);
    match mode {
        Mode::Message => {
            if !(3..=4).contains(&n) {
                return Err(wrap(Error(format!(
                    "msgp: wanted array of size 3; got {n}"
                ))));
            }
            let mut lr = LogRecord::default();
            lr.attributes.push(tag_kv(&tag));
            let t = r.value().map_err(|e| wrap(Error(format!("Time: {e}"))))?;
            lr.time_unix_nano = time(t).map_err(wrap)?;
            record(&mut r, &mut lr).map_err(wrap)?;
            records.push(lr);
            if n == 4 {
                opts = options(&mut r).map_err(wrap)?;
            }
        }
        Mode::Forward => {
            if !(2..=3).contains(&n) {
                return Err(wrap(Error(format!(
                    "msgp: wanted array of size 2; got {n}"
                ))));
            }
            let entries = r
                .array_len()
                .map_err(|e| wrap(Error(format!("Record: {e}"))))?;
            records.reserve(cap(entries, buf.len()));
            for i in 0..entries {
                records.push(
                    entry(&mut r, &tag).map_err(|e| wrap(Error(format!("Entries/{i}: {e}"))))?,
                );
            }
            if n == 3 {
                opts = options(&mut r).map_err(wrap)?;
            }
        }
        Mode::PackedForward => {
            if !(2..=3).contains(&n) {
                return Err(wrap(Error(format!(
                    "msgp: wanted array of size 2; got {n}"
                ))));
            }
            let m = r.marker().map_err(wrap)?;
            let len = match (r.str_len(m).map_err(wrap)?, r.bin_len(m).map_err(wrap)?) {
                (Some(n), _) | (None, Some(n)) => n,
                _ => return Err(wrap(Error("EntriesRaw: invalid type".into()))),
            };
            let raw = r
                .bytes(len)
                .map_err(|e| wrap(Error(format!("EntriesRaw: {e}"))))?;
            if n == 3 {
                opts = options(&mut r).map_err(wrap)?;
            }
            let inflated;
            let entries: &[u8] = if opts.1.as_deref() == Some("gzip") {
                inflated = gunzip(raw).map_err(wrap)?;
                &inflated
            } else {
                raw
            };
            let mut er = Reader {
                buf: entries,
                pos: 0,
            };
            while er.pos < entries.len() {
                records.push(entry(&mut er, &tag).map_err(wrap)?);
            }
        }
    }
    Ok(Event {
        mode,
        records,
        chunk: opts.0,
    })
}

/// Gunzips every member (CompressedPackedForward may concatenate them), up to
/// [`MAX_DECOMPRESSED`].
fn gunzip(raw: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(raw.len() * 4);
    let mut dec = flate2::read::MultiGzDecoder::new(raw).take(MAX_DECOMPRESSED as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| Error(format!("gzip: {e}")))?;
    if out.len() > MAX_DECOMPRESSED {
        return err(format!(
            "gzip: entries larger than {MAX_DECOMPRESSED} bytes decompressed"
        ));
    }
    Ok(out)
}

/// The ack of a `chunk` option: `{"ack": chunk}`.
pub fn ack(chunk: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len() + 8);
    // writing to a Vec cannot fail
    let _ = rmp::encode::write_map_len(&mut out, 1);
    let _ = rmp::encode::write_str(&mut out, "ack");
    let _ = rmp::encode::write_str(&mut out, chunk);
    out
}

#[cfg(test)]
mod tests;
