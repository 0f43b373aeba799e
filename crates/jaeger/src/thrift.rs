//! `jaeger.thrift` and `agent.thrift` read from the Thrift binary protocol (the collector's
//! `POST /api/traces` body, the agent's UDP port 6832) and the compact protocol (the agent's
//! UDP port 6831).
//!
//! A small hand-written decoder rather than the `thrift` crate: five structs and one message
//! do not need a code generator and a runtime, and every read here is bounded — a length or an
//! element count larger than the bytes left is an error before anything is allocated, lists
//! never reserve more than a few elements ahead of what was read, and nesting is limited to
//! Go thrift's default depth of 64. Required fields are checked as Go's generated code does
//! (`Required field ServiceName is not set`); a field of the wrong type is skipped, so a
//! required one is then missing, as in Go; unknown fields are skipped.

/// Thrift type ids (the binary protocol's; compact ones are mapped onto these).
pub(crate) const STOP: u8 = 0;
pub(crate) const BOOL: u8 = 2;
pub(crate) const BYTE: u8 = 3;
pub(crate) const DOUBLE: u8 = 4;
pub(crate) const I16: u8 = 6;
pub(crate) const I32: u8 = 8;
pub(crate) const I64: u8 = 10;
pub(crate) const STRING: u8 = 11;
pub(crate) const STRUCT: u8 = 12;
pub(crate) const MAP: u8 = 13;
pub(crate) const SET: u8 = 14;
pub(crate) const LIST: u8 = 15;

/// Go thrift's `DEFAULT_RECURSION_DEPTH`.
const MAX_DEPTH: u32 = 64;
/// Lists reserve at most this many elements before reading them: a count is only a claim.
const MAX_RESERVE: usize = 64;

/// The Thrift protocol of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Binary,
    Compact,
}

/// `jaeger.thrift` `TagType`.
pub mod tag_type {
    pub const STRING: i32 = 0;
    pub const DOUBLE: i32 = 1;
    pub const BOOL: i32 = 2;
    pub const LONG: i32 = 3;
    pub const BINARY: i32 = 4;
}

/// `jaeger.thrift` `SpanRefType`.
pub mod span_ref_type {
    pub const CHILD_OF: i32 = 0;
    pub const FOLLOWS_FROM: i32 = 1;
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tag {
    pub key: String,
    pub v_type: i32,
    pub v_str: Option<String>,
    pub v_double: Option<f64>,
    pub v_bool: Option<bool>,
    pub v_long: Option<i64>,
    pub v_binary: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    /// Microseconds since the epoch.
    pub timestamp: i64,
    pub fields: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanRef {
    pub ref_type: i32,
    pub trace_id_low: i64,
    pub trace_id_high: i64,
    pub span_id: i64,
}

/// A span; the optional lists stay `None` when absent, which is what makes a span "blank" to
/// Go (`reflect.DeepEqual` with a new span), and blank spans are dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Span {
    pub trace_id_low: i64,
    pub trace_id_high: i64,
    pub span_id: i64,
    pub parent_span_id: i64,
    pub operation_name: String,
    pub references: Option<Vec<SpanRef>>,
    pub flags: i32,
    /// Microseconds since the epoch.
    pub start_time: i64,
    /// Microseconds.
    pub duration: i64,
    pub tags: Option<Vec<Tag>>,
    pub logs: Option<Vec<Log>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    pub service_name: String,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub process: Process,
    pub spans: Vec<Span>,
    pub seq_no: Option<i64>,
}

/// One call read from an agent UDP packet.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCall {
    /// `emitBatch`; `None` when the call carried no batch (Go consumes nothing then).
    EmitBatch(Option<Batch>),
    /// Any other method (`emitZipkinBatch`, which the Go receiver does not support either).
    Other(String),
}

pub(crate) fn err<T>(m: impl Into<String>) -> Result<T, String> {
    Err(m.into())
}

fn eof<T>() -> Result<T, String> {
    err("thrift: unexpected end of input")
}

fn required(set: bool, name: &str) -> Result<(), String> {
    if set {
        Ok(())
    } else {
        err(format!("Required field {name} is not set"))
    }
}

pub(crate) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    proto: Protocol,
    depth: u32,
    /// Compact: the last field id of each struct being read.
    last_field: Vec<i16>,
    /// Compact: a boolean field carries its value in the field header.
    pending_bool: Option<bool>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8], proto: Protocol) -> Reader<'a> {
        Reader {
            b,
            pos: 0,
            proto,
            depth: 0,
            last_field: Vec::new(),
            pending_bool: None,
        }
    }

    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.left() {
            return eof();
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return err("thrift: varint overflows 64 bits");
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        err("thrift: varint too long")
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// A non-negative 32-bit size.
    fn size(&mut self) -> Result<usize, String> {
        let n = match self.proto {
            Protocol::Binary => i64::from(i32::from_be_bytes(self.array()?)),
            Protocol::Compact => {
                let v = self.varint()?;
                i64::from(v as u32 as i32)
            }
        };
        usize::try_from(n).or_else(|_| err(format!("thrift: negative size {n}")))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, String> {
        if let Some(v) = self.pending_bool.take() {
            return Ok(v);
        }
        Ok(self.u8()? == 1)
    }

    pub(crate) fn i16(&mut self) -> Result<i16, String> {
        match self.proto {
            Protocol::Binary => Ok(i16::from_be_bytes(self.array()?)),
            Protocol::Compact => Ok(self.zigzag()? as i16),
        }
    }

    pub(crate) fn i32(&mut self) -> Result<i32, String> {
        match self.proto {
            Protocol::Binary => Ok(i32::from_be_bytes(self.array()?)),
            Protocol::Compact => Ok(self.zigzag()? as i32),
        }
    }

    pub(crate) fn i64(&mut self) -> Result<i64, String> {
        match self.proto {
            Protocol::Binary => Ok(i64::from_be_bytes(self.array()?)),
            Protocol::Compact => self.zigzag(),
        }
    }

    pub(crate) fn double(&mut self) -> Result<f64, String> {
        Ok(f64::from_bits(match self.proto {
            Protocol::Binary => u64::from_be_bytes(self.array()?),
            Protocol::Compact => u64::from_le_bytes(self.array()?),
        }))
    }

    pub(crate) fn binary(&mut self) -> Result<&'a [u8], String> {
        let n = self.size()?;
        self.take(n)
    }

    pub(crate) fn string(&mut self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.binary()?).into_owned())
    }

    fn compact_type(t: u8) -> Result<u8, String> {
        Ok(match t {
            1 | 2 => BOOL,
            3 => BYTE,
            4 => I16,
            5 => I32,
            6 => I64,
            7 => DOUBLE,
            8 => STRING,
            9 => LIST,
            10 => SET,
            11 => MAP,
            12 => STRUCT,
            other => return err(format!("thrift: unknown compact type {other}")),
        })
    }

    pub(crate) fn struct_begin(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err("thrift: depth limit exceeded");
        }
        if self.proto == Protocol::Compact {
            self.last_field.push(0);
        }
        Ok(())
    }

    pub(crate) fn struct_end(&mut self) {
        self.depth -= 1;
        if self.proto == Protocol::Compact {
            self.last_field.pop();
        }
    }

    /// The next field's type and id; `None` at the struct's end.
    pub(crate) fn field(&mut self) -> Result<Option<(u8, i16)>, String> {
        let b = self.u8()?;
        if b == STOP {
            return Ok(None);
        }
        match self.proto {
            Protocol::Binary => Ok(Some((b, self.i16()?))),
            Protocol::Compact => {
                let ct = b & 0x0f;
                let t = Self::compact_type(ct)?;
                let delta = i16::from(b >> 4);
                let id = if delta != 0 {
                    self.last_field
                        .last()
                        .copied()
                        .unwrap_or(0)
                        .wrapping_add(delta)
                } else {
                    self.i16()?
                };
                if let Some(last) = self.last_field.last_mut() {
                    *last = id;
                }
                if t == BOOL {
                    self.pending_bool = Some(ct == 1);
                }
                Ok(Some((t, id)))
            }
        }
    }

    /// A list (or set) header whose element count cannot exceed the bytes left: every element
    /// takes at least one byte.
    pub(crate) fn list(&mut self) -> Result<(u8, usize), String> {
        let (t, n) = match self.proto {
            Protocol::Binary => {
                let t = self.u8()?;
                (t, self.size()?)
            }
            Protocol::Compact => {
                let h = self.u8()?;
                let t = Self::compact_type(h & 0x0f)?;
                let n = if h >> 4 == 15 {
                    self.size()?
                } else {
                    usize::from(h >> 4)
                };
                (t, n)
            }
        };
        if n > self.left() {
            return err(format!(
                "thrift: list of {n} elements in {} bytes",
                self.left()
            ));
        }
        Ok((t, n))
    }

    fn map(&mut self) -> Result<(u8, u8, usize), String> {
        let (k, v, n) = match self.proto {
            Protocol::Binary => {
                let (k, v) = (self.u8()?, self.u8()?);
                (k, v, self.size()?)
            }
            Protocol::Compact => {
                let n = self.size()?;
                if n == 0 {
                    return Ok((STOP, STOP, 0));
                }
                let kv = self.u8()?;
                (
                    Self::compact_type(kv >> 4)?,
                    Self::compact_type(kv & 0x0f)?,
                    n,
                )
            }
        };
        if n > self.left() {
            return err(format!(
                "thrift: map of {n} entries in {} bytes",
                self.left()
            ));
        }
        Ok((k, v, n))
    }

    pub(crate) fn skip(&mut self, t: u8) -> Result<(), String> {
        match t {
            BOOL => {
                self.bool()?;
            }
            BYTE => {
                self.take(1)?;
            }
            I16 => {
                self.i16()?;
            }
            I32 => {
                self.i32()?;
            }
            I64 => {
                self.i64()?;
            }
            DOUBLE => {
                self.take(8)?;
            }
            STRING => {
                self.binary()?;
            }
            STRUCT => {
                self.struct_begin()?;
                while let Some((ft, _)) = self.field()? {
                    self.skip(ft)?;
                }
                self.struct_end();
            }
            MAP => {
                let (k, v, n) = self.map()?;
                self.nest(|r| {
                    for _ in 0..n {
                        r.skip(k)?;
                        r.skip(v)?;
                    }
                    Ok(())
                })?;
            }
            SET | LIST => {
                let (et, n) = self.list()?;
                self.nest(|r| {
                    for _ in 0..n {
                        r.skip(et)?;
                    }
                    Ok(())
                })?;
            }
            other => return err(format!("thrift: unknown type {other}")),
        }
        Ok(())
    }

    fn nest(&mut self, f: impl FnOnce(&mut Self) -> Result<(), String>) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err("thrift: depth limit exceeded");
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// A list of structs read by `read`; elements of another type are skipped (Go's
    /// generated code would fail on them; skipping keeps the rest).
    fn struct_list<T>(
        &mut self,
        read: impl Fn(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let (et, n) = self.list()?;
        if et != STRUCT {
            return err(format!(
                "thrift: list of type {et} where structs were expected"
            ));
        }
        let mut out = Vec::with_capacity(n.min(MAX_RESERVE));
        for _ in 0..n {
            out.push(read(self)?);
        }
        Ok(out)
    }

    /// A message header: the method name and the message type.
    fn message_begin(&mut self) -> Result<(String, u8), String> {
        match self.proto {
            Protocol::Binary => {
                let first = i32::from_be_bytes(self.array()?);
                if first < 0 {
                    // Strict: version in the high half, type in the low byte.
                    if (first as u32) & 0xffff_0000 != 0x8001_0000 {
                        return err(format!(
                            "thrift: bad version in message header: {:#x}",
                            first as u32
                        ));
                    }
                    let name = self.string()?;
                    self.i32()?; // sequence id
                    Ok((name, (first & 0xff) as u8))
                } else {
                    // Old non-strict form: the name's length comes first.
                    let name = String::from_utf8_lossy(self.take(first as usize)?).into_owned();
                    let t = self.u8()?;
                    self.i32()?;
                    Ok((name, t))
                }
            }
            Protocol::Compact => {
                let id = self.u8()?;
                if id != 0x82 {
                    return err(format!("thrift: expected protocol id 0x82 but got {id:#x}"));
                }
                let vt = self.u8()?;
                if vt & 0x1f != 1 {
                    return err(format!("thrift: expected version 1 but got {}", vt & 0x1f));
                }
                self.varint()?; // sequence id
                let name = self.string()?;
                Ok((name, vt >> 5))
            }
        }
    }
}

fn read_tag(r: &mut Reader<'_>) -> Result<Tag, String> {
    r.struct_begin()?;
    let mut t = Tag::default();
    let (mut key, mut vtype) = (false, false);
    while let Some((ft, id)) = r.field()? {
        match (id, ft) {
            (1, STRING) => {
                t.key = r.string()?;
                key = true;
            }
            (2, I32) => {
                t.v_type = r.i32()?;
                vtype = true;
            }
            (3, STRING) => t.v_str = Some(r.string()?),
            (4, DOUBLE) => t.v_double = Some(r.double()?),
            (5, BOOL) => t.v_bool = Some(r.bool()?),
            (6, I64) => t.v_long = Some(r.i64()?),
            (7, STRING) => t.v_binary = Some(r.binary()?.to_vec()),
            _ => r.skip(ft)?,
        }
    }
    r.struct_end();
    required(key, "Key")?;
    required(vtype, "VType")?;
    Ok(t)
}

fn read_log(r: &mut Reader<'_>) -> Result<Log, String> {
    r.struct_begin()?;
    let mut l = Log::default();
    let (mut ts, mut fields) = (false, false);
    while let Some((ft, id)) = r.field()? {
        match (id, ft) {
            (1, I64) => {
                l.timestamp = r.i64()?;
                ts = true;
            }
            (2, LIST) => {
                l.fields = r.struct_list(read_tag)?;
                fields = true;
            }
            _ => r.skip(ft)?,
        }
    }
    r.struct_end();
    required(ts, "Timestamp")?;
    required(fields, "Fields")?;
    Ok(l)
}

fn read_span_ref(r: &mut Reader<'_>) -> Result<SpanRef, String> {
    r.struct_begin()?;
    let mut s = SpanRef::default();
    let mut set = [false; 4];
    while let Some((ft, id)) = r.field()? {
        match (id, ft) {
            (1, I32) => {
                s.ref_type = r.i32()?;
                set[0] = true;
            }
            (2, I64) => {
                s.trace_id_low = r.i64()?;
                set[1] = true;
            }
            (3, I64) => {
                s.trace_id_high = r.i64()?;
                set[2] = true;
            }
            (4, I64) => {
                s.span_id = r.i64()?;
                set[3] = true;
            }
            _ => r.skip(ft)?,
        }
    }
    r.struct_end();
    for (ok, name) in set
        .iter()
        .zip(["RefType", "TraceIdLow", "TraceIdHigh", "SpanId"])
    {
        required(*ok, name)?;
    }
    Ok(s)
}

fn read_span(r: &mut Reader<'_>) -> Result<Span, String> {
    r.struct_begin()?;
    let mut s = Span::default();
    let mut set = [false; 8];
    while let Some((ft, id)) = r.field()? {
        match (id, ft) {
            (1, I64) => {
                s.trace_id_low = r.i64()?;
                set[0] = true;
            }
            (2, I64) => {
                s.trace_id_high = r.i64()?;
                set[1] = true;
            }
            (3, I64) => {
                s.span_id = r.i64()?;
                set[2] = true;
            }
            (4, I64) => {
                s.parent_span_id = r.i64()?;
                set[3] = true;
            }
            (5, STRING) => {
                s.operation_name = r.string()?;
                set[4] = true;
            }
            (6, LIST) => s.references = Some(r.struct_list(read_span_ref)?),
            (7, I32) => {
                s.flags = r.i32()?;
                set[5] = true;
            }
            (8, I64) => {
                s.start_time = r.i64()?;
                set[6] = true;
            }
            (9, I64) => {
                s.duration = r.i64()?;
                set[7] = true;
            }
            (10, LIST) => s.tags = Some(r.struct_list(read_tag)?),
            (11, LIST) => s.logs = Some(r.struct_list(read_log)?),
            _ => r.skip(ft)?,
        }
    }
    r.struct_end();
    for (ok, name) in set.iter().zip([
        "TraceIdLow",
        "TraceIdHigh",
        "SpanId",
        "ParentSpanId",
        "OperationName",
        "Flags",
        "StartTime",
        "Duration",
    ]) {
        required(*ok, name)?;
    }
    Ok(s)
}

fn read_process(r: &mut Reader<'_>) -> Result<Process, String> {
    r.struct_begin()?;
    let mut p = Process::default();
    let mut name = false;
    while let Some((ft, id)) = r.field()? {
        match (id, ft) {
            (1, STRING) => {
                p.service_name = r.string()?;
                name = true;
            }
            (2, LIST) => p.tags = Some(r.struct_list(read_tag)?),
            _ => r.skip(ft)?,
        }
    }
    r.struct_end();
    required(name, "ServiceName")?;
    Ok(p)
}

fn read_batch(r: &mut Reader<'_>) -> Result<Batch, String> {
    r.struct_begin()?;
    let mut b = Batch::default();
    let (mut process, mut spans) = (false, false);
    while let Some((ft, id)) = r.field()? {
        match (id, ft) {
            (1, STRUCT) => {
                b.process = read_process(r)?;
                process = true;
            }
            (2, LIST) => {
                b.spans = r.struct_list(read_span)?;
                spans = true;
            }
            (3, I64) => b.seq_no = Some(r.i64()?),
            _ => r.skip(ft)?,
        }
    }
    r.struct_end();
    required(process, "Process")?;
    required(spans, "Spans")?;
    Ok(b)
}

/// A `jaeger.thrift` `Batch` struct (the collector's `POST /api/traces` body is one, in the
/// binary protocol). Bytes after the struct are ignored, as Go's deserializer does.
pub fn decode_batch(body: &[u8], proto: Protocol) -> Result<Batch, String> {
    read_batch(&mut Reader::new(body, proto))
}

/// One agent message (`Agent.emitBatch(1: Batch batch)`), as a Jaeger client sends it in a
/// UDP packet.
pub fn decode_agent(packet: &[u8], proto: Protocol) -> Result<AgentCall, String> {
    let mut r = Reader::new(packet, proto);
    let (name, _) = r.message_begin()?;
    if name != "emitBatch" {
        return Ok(AgentCall::Other(name));
    }
    r.struct_begin()?;
    let mut batch = None;
    while let Some((ft, id)) = r.field()? {
        match (id, ft) {
            (1, STRUCT) => batch = Some(read_batch(&mut r)?),
            _ => r.skip(ft)?,
        }
    }
    r.struct_end();
    Ok(AgentCall::EmitBatch(batch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{W, sample_batch, sample_emit_batch};

    #[test]
    fn both_protocols_decode_the_same_batch() {
        let bin = decode_batch(&sample_batch(Protocol::Binary), Protocol::Binary).unwrap();
        let compact = decode_batch(&sample_batch(Protocol::Compact), Protocol::Compact).unwrap();
        assert_eq!(bin, compact);
        assert_eq!(bin.process.service_name, "frontend");
        assert_eq!(bin.spans.len(), 2);
        let s = &bin.spans[0];
        assert_eq!(s.operation_name, "get /api");
        assert_eq!(
            (s.trace_id_high, s.trace_id_low),
            (0x0102030405060708, 0x1112131415161718)
        );
        assert_eq!(s.span_id, 0x2122232425262728);
        let tags = s.tags.as_ref().unwrap();
        assert_eq!(tags[0].v_str.as_deref(), Some("server"));
        assert_eq!(
            tags.iter().find(|t| t.key == "error").unwrap().v_bool,
            Some(true)
        );
        assert_eq!(
            tags.iter().find(|t| t.key == "ratio").unwrap().v_double,
            Some(0.5)
        );
        assert_eq!(
            tags.iter().find(|t| t.key == "n").unwrap().v_long,
            Some(-42)
        );
        assert_eq!(s.logs.as_ref().unwrap()[0].fields[0].key, "event");
        // The second span refers to the first.
        let r = &bin.spans[1].references.as_ref().unwrap()[0];
        assert_eq!(r.span_id, 0x2122232425262728);
    }

    #[test]
    fn agent_messages_decode_in_both_protocols_strict_or_not() {
        for proto in [Protocol::Binary, Protocol::Compact] {
            match decode_agent(&sample_emit_batch(proto, true), proto).unwrap() {
                AgentCall::EmitBatch(Some(b)) => assert_eq!(b.spans.len(), 2),
                other => panic!("{other:?}"),
            }
        }
        // Binary, non-strict header: name length, name, type, seqid.
        let mut w = W::new(Protocol::Binary);
        w.i32(9).raw(b"emitBatch").raw(&[4]).i32(1);
        w.field(STRUCT, 1)
            .raw(&sample_batch(Protocol::Binary))
            .stop();
        assert!(matches!(
            decode_agent(&w.bytes, Protocol::Binary).unwrap(),
            AgentCall::EmitBatch(Some(_))
        ));
        let mut w = W::new(Protocol::Compact);
        w.message("emitZipkinBatch").stop();
        assert_eq!(
            decode_agent(&w.bytes, Protocol::Compact).unwrap(),
            AgentCall::Other("emitZipkinBatch".into())
        );
        assert!(decode_agent(b"\x81\x21\x00", Protocol::Compact).is_err());
    }

    #[test]
    fn missing_required_fields_are_named_as_go_names_them() {
        // A Batch whose process has no serviceName.
        for proto in [Protocol::Binary, Protocol::Compact] {
            let mut w = W::new(proto);
            w.begin();
            w.field(STRUCT, 1).begin().stop().end();
            w.field(LIST, 2).list(STRUCT, 0);
            w.stop().end();
            assert_eq!(
                decode_batch(&w.bytes, proto).unwrap_err(),
                "Required field ServiceName is not set"
            );
            let mut w = W::new(proto);
            w.begin();
            w.field(STRUCT, 1)
                .begin()
                .field(STRING, 1)
                .str("s")
                .stop()
                .end();
            w.stop().end();
            assert_eq!(
                decode_batch(&w.bytes, proto).unwrap_err(),
                "Required field Spans is not set"
            );
        }
    }

    #[test]
    fn truncated_or_lying_input_is_an_error_not_a_panic_nor_an_allocation() {
        for proto in [Protocol::Binary, Protocol::Compact] {
            let s = sample_batch(proto);
            for n in 0..s.len() {
                assert!(
                    decode_batch(&s[..n], proto).is_err(),
                    "{proto:?} prefix {n}"
                );
            }
            // A list claiming 2^31-1 spans in a few bytes.
            let mut w = W::new(proto);
            w.begin();
            w.field(STRUCT, 1)
                .begin()
                .field(STRING, 1)
                .str("s")
                .stop()
                .end();
            w.field(LIST, 2).list(STRUCT, i32::MAX);
            assert!(
                decode_batch(&w.bytes, proto)
                    .unwrap_err()
                    .contains("list of")
            );
            // A string claiming 2 GiB.
            let mut w = W::new(proto);
            w.begin()
                .field(STRUCT, 1)
                .begin()
                .field(STRING, 1)
                .len(i32::MAX);
            assert!(decode_batch(&w.bytes, proto).is_err());
            let mut w = W::new(proto);
            w.begin().field(STRUCT, 1).begin().field(STRING, 1).len(-5);
            assert!(decode_batch(&w.bytes, proto).is_err());
            // Nesting beyond 64 levels in an unknown field.
            let mut w = W::new(proto);
            w.begin();
            for _ in 0..100 {
                w.field(STRUCT, 50).begin();
            }
            assert!(decode_batch(&w.bytes, proto).unwrap_err().contains("depth"));
        }
    }
}
