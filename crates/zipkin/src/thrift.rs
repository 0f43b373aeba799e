//! Zipkin v1 Thrift (`POST /api/v1/spans` with `Content-Type: application/x-thrift`): a
//! Thrift binary-protocol list of `zipkincore.Span`, read here field by field (unknown
//! fields skipped, every length checked against the bytes left), then mapped to OTLP as
//! Go's `zipkinv1` Thrift unmarshaler does: the v1 annotation rules of [`crate::v1`], binary
//! annotations with their declared types (BOOL, BYTES as base64, I16/I32/I64, DOUBLE,
//! STRING; a value too short for its type becomes `<not enough bytes representing the
//! number>`).

use std::collections::HashMap;
use std::net::Ipv6Addr;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::any_value;
use pdata::proto::trace::v1::Span;

use crate::v1::{
    BinaryAnnotation, JsonAnnotation, JsonEndpoint, UNKNOWN_SERVICE, annotations_to_span,
    apply_binary_annotations, micros_to_nanos, push_span,
};

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
/// Nesting deeper than this is refused (a Zipkin span nests three levels).
const MAX_DEPTH: u32 = 32;

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn eof() -> String {
    "thrift: unexpected end of input".into()
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(eof)?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn binary(&mut self) -> Result<&'a [u8], String> {
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| format!("thrift: negative length {n}"))?;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.binary()?).into_owned())
    }
    /// A field header: `None` at the struct's end.
    fn field(&mut self) -> Result<Option<(u8, i16)>, String> {
        let t = self.u8()?;
        if t == STOP {
            return Ok(None);
        }
        Ok(Some((t, self.i16()?)))
    }
    /// A list header whose element count cannot exceed the bytes left.
    fn list(&mut self) -> Result<(u8, usize), String> {
        let t = self.u8()?;
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| format!("thrift: negative list size {n}"))?;
        if n > self.b.len() - self.pos {
            return Err(format!(
                "thrift: list of {n} elements in {} bytes",
                self.b.len() - self.pos
            ));
        }
        Ok((t, n))
    }
    fn skip(&mut self, t: u8, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("thrift: nesting too deep".into());
        }
        match t {
            BOOL | BYTE => {
                self.take(1)?;
            }
            I16 => {
                self.take(2)?;
            }
            I32 => {
                self.take(4)?;
            }
            DOUBLE | I64 => {
                self.take(8)?;
            }
            STRING => {
                self.binary()?;
            }
            STRUCT => {
                while let Some((ft, _)) = self.field()? {
                    self.skip(ft, depth + 1)?;
                }
            }
            MAP => {
                let (kt, vt) = (self.u8()?, self.u8()?);
                let n = self.i32()?;
                let n = usize::try_from(n).map_err(|_| format!("thrift: negative map size {n}"))?;
                for _ in 0..n {
                    self.skip(kt, depth + 1)?;
                    self.skip(vt, depth + 1)?;
                }
            }
            SET | LIST => {
                let (et, n) = self.list()?;
                for _ in 0..n {
                    self.skip(et, depth + 1)?;
                }
            }
            other => return Err(format!("thrift: unknown type {other}")),
        }
        Ok(())
    }
}

#[derive(Default)]
struct ThriftEndpoint {
    ipv4: i32,
    port: i16,
    service_name: String,
    ipv6: Vec<u8>,
}

impl ThriftEndpoint {
    fn read(r: &mut Reader<'_>) -> Result<ThriftEndpoint, String> {
        let mut e = ThriftEndpoint::default();
        while let Some((t, id)) = r.field()? {
            match (id, t) {
                (1, I32) => e.ipv4 = r.i32()?,
                (2, I16) => e.port = r.i16()?,
                (3, STRING) => e.service_name = r.string()?,
                (4, STRING) => e.ipv6 = r.binary()?.to_vec(),
                _ => r.skip(t, 1)?,
            }
        }
        Ok(e)
    }

    /// Go's `toTranslatorEndpoint`.
    fn to_v1(&self) -> JsonEndpoint {
        let ipv4 = if self.ipv4 != 0 {
            std::net::Ipv4Addr::from(self.ipv4 as u32).to_string()
        } else {
            String::new()
        };
        let ipv6 = match <[u8; 16]>::try_from(self.ipv6.as_slice()) {
            Ok(b) => {
                let a = Ipv6Addr::from(b);
                a.to_ipv4_mapped()
                    .map_or_else(|| a.to_string(), |v4| v4.to_string())
            }
            Err(_) if self.ipv6.is_empty() => String::new(),
            Err(_) => format!("?{}", hex::encode(&self.ipv6)),
        };
        JsonEndpoint {
            service_name: self.service_name.clone(),
            ipv4,
            ipv6,
            port: i32::from(self.port),
        }
    }
}

fn not_enough() -> any_value::Value {
    any_value::Value::StringValue("<not enough bytes representing the number>".into())
}

/// A binary annotation's value by its declared type (Go's unsigned reads of I16 and I32
/// included).
fn typed_value(kind: i32, v: &[u8]) -> any_value::Value {
    let be = |n: usize| v.get(..n);
    match kind {
        0 => any_value::Value::BoolValue(v == [1]),
        1 => any_value::Value::StringValue(crate::from_otlp::as_string(Some(
            &pdata::proto::common::v1::AnyValue {
                value: Some(any_value::Value::BytesValue(v.to_vec())),
            },
        ))),
        2 => be(2).map_or_else(not_enough, |b| {
            any_value::Value::IntValue(i64::from(u16::from_be_bytes([b[0], b[1]])))
        }),
        3 => be(4).map_or_else(not_enough, |b| {
            any_value::Value::IntValue(i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        }),
        4 => be(8).map_or_else(not_enough, |b| {
            any_value::Value::IntValue(i64::from_be_bytes(b.try_into().expect("8 bytes")))
        }),
        5 => be(8).map_or_else(not_enough, |b| {
            any_value::Value::DoubleValue(f64::from_bits(u64::from_be_bytes(
                b.try_into().expect("8 bytes"),
            )))
        }),
        6 => any_value::Value::StringValue(String::from_utf8_lossy(v).into_owned()),
        other => any_value::Value::StringValue(format!(
            "<unknown zipkin v1 binary annotation type ({other})>"
        )),
    }
}

fn read_annotation(r: &mut Reader<'_>) -> Result<Option<JsonAnnotation>, String> {
    let mut a = JsonAnnotation::default();
    while let Some((t, id)) = r.field()? {
        match (id, t) {
            (1, I64) => a.timestamp = r.i64()?,
            (2, STRING) => a.value = r.string()?,
            (3, STRUCT) => a.endpoint = Some(ThriftEndpoint::read(r)?.to_v1()),
            _ => r.skip(t, 1)?,
        }
    }
    Ok(Some(a))
}

fn read_binary_annotation(r: &mut Reader<'_>) -> Result<BinaryAnnotation, String> {
    let (mut key, mut raw, mut kind, mut host) = (String::new(), Vec::new(), 0i32, None);
    while let Some((t, id)) = r.field()? {
        match (id, t) {
            (1, STRING) => key = r.string()?,
            (2, STRING) => raw = r.binary()?.to_vec(),
            (3, I32) => kind = r.i32()?,
            (4, STRUCT) => host = Some(ThriftEndpoint::read(r)?.service_name),
            _ => r.skip(t, 1)?,
        }
    }
    let value = if key == "lc" {
        // Go takes the local component as the raw bytes, whatever the declared type.
        any_value::Value::StringValue(String::from_utf8_lossy(&raw).into_owned())
    } else {
        typed_value(kind, &raw)
    };
    Ok(BinaryAnnotation {
        key,
        value,
        host_service: host,
    })
}

fn read_span(r: &mut Reader<'_>) -> Result<(Span, JsonEndpoint), String> {
    let (mut trace_low, mut trace_high, mut id, mut parent) = (0i64, 0i64, 0i64, None);
    let (mut timestamp, mut duration) = (None, 0i64);
    let mut name = String::new();
    let mut annotations = Vec::new();
    let mut binary = Vec::new();
    while let Some((t, fid)) = r.field()? {
        match (fid, t) {
            (1, I64) => trace_low = r.i64()?,
            (3, STRING) => name = r.string()?,
            (4, I64) => id = r.i64()?,
            (5, I64) => parent = Some(r.i64()?),
            (6, LIST) => {
                let (et, n) = r.list()?;
                for _ in 0..n {
                    if et == STRUCT {
                        annotations.push(read_annotation(r)?);
                    } else {
                        r.skip(et, 1)?;
                    }
                }
            }
            (8, LIST) => {
                let (et, n) = r.list()?;
                for _ in 0..n {
                    if et == STRUCT {
                        binary.push(read_binary_annotation(r)?);
                    } else {
                        r.skip(et, 1)?;
                    }
                }
            }
            (10, I64) => timestamp = Some(r.i64()?),
            (11, I64) => duration = r.i64()?,
            (12, I64) => trace_high = r.i64()?,
            _ => r.skip(t, 1)?,
        }
    }
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&trace_high.to_be_bytes());
    trace_id[8..].copy_from_slice(&trace_low.to_be_bytes());
    let nonzero = |b: &[u8]| b.iter().any(|x| *x != 0);
    let mut span = Span {
        trace_id: if nonzero(&trace_id) {
            trace_id.to_vec()
        } else {
            Vec::new()
        },
        span_id: if id != 0 {
            id.to_be_bytes().to_vec()
        } else {
            Vec::new()
        },
        parent_span_id: parent
            .filter(|p| *p != 0)
            .map(|p| p.to_be_bytes().to_vec())
            .unwrap_or_default(),
        ..Span::default()
    };
    let mut endpoint = annotations_to_span(&annotations, &mut span);
    let local_component = apply_binary_annotations(binary, &mut span, false);
    if endpoint.service_name == UNKNOWN_SERVICE && !local_component.is_empty() {
        endpoint.service_name = local_component;
    }
    if let Some(ts) = timestamp {
        span.start_time_unix_nano = micros_to_nanos(ts);
        span.end_time_unix_nano = micros_to_nanos(ts.saturating_add(duration));
    }
    span.name = name;
    Ok((span, endpoint))
}

/// A Thrift list of v1 spans as OTLP.
pub fn decode(body: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    let mut r = Reader { b: body, pos: 0 };
    let (_, n) = r.list()?;
    let mut out = ExportTraceServiceRequest::default();
    let mut by_endpoint = HashMap::new();
    for _ in 0..n {
        let (span, endpoint) = read_span(&mut r)?;
        push_span(&mut out, &mut by_endpoint, &endpoint, span);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{W, thrift_sample as sample};

    #[test]
    fn thrift_span_maps_as_go() {
        let req = decode(&sample()).unwrap();
        let rs = &req.resource_spans[0];
        let res: Vec<(String, String)> = rs
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .iter()
            .map(|a| (a.key.clone(), crate::from_otlp::as_string(a.value.as_ref())))
            .collect();
        assert_eq!(
            res,
            vec![
                ("service.name".into(), "frontend".into()),
                ("ipv4".into(), "10.0.0.1".into()),
                ("port".into(), "8080".into())
            ]
        );
        let s = &rs.scope_spans[0].spans[0];
        assert_eq!(hex::encode(&s.trace_id), "11121314151617180102030405060708");
        assert_eq!(hex::encode(&s.span_id), "2122232425262728");
        assert_eq!(hex::encode(&s.parent_span_id), "3132333435363738");
        assert_eq!(s.name, "get");
        assert_eq!(s.kind, 3);
        assert_eq!(
            (s.start_time_unix_nano, s.end_time_unix_nano),
            (1_000_000_000, 1_250_000_000)
        );
        assert_eq!(s.status.as_ref().unwrap().code, 2, "HTTP 503");
        let attrs: Vec<(String, String)> = s
            .attributes
            .iter()
            .map(|a| (a.key.clone(), crate::from_otlp::as_string(a.value.as_ref())))
            .collect();
        assert_eq!(
            attrs,
            vec![
                ("http.status_code".into(), "503".into()),
                ("flag".into(), "true".into()),
                (
                    "short".into(),
                    "<not enough bytes representing the number>".into()
                ),
            ]
        );
    }

    #[test]
    fn truncated_or_lying_input_is_an_error_not_a_panic() {
        let s = sample();
        for n in 0..s.len() {
            assert!(decode(&s[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut w = W::default();
        w.list(STRUCT, i32::MAX);
        assert!(decode(&w.0).unwrap_err().contains("list of"));
        let mut w = W::default();
        w.list(STRUCT, 1).field(STRING, 3).i32(-5);
        assert!(decode(&w.0).is_err());
        // Deep nesting in an unknown field.
        let mut w = W::default();
        w.list(STRUCT, 1);
        for _ in 0..40 {
            w.field(STRUCT, 50);
        }
        assert!(decode(&w.0).unwrap_err().contains("deep"));
    }
}
