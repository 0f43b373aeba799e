//! The span context (Go `ottlspan`).

use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{Span, Status};

use super::{Upper, invalid, keyed, leaf, nanos, parse_upper, span_enum, time};
use crate::EvalError;
use crate::context::{
    Context, SlotMut, SlotRef, attrs_value, id_bytes, id_string, set_id, set_id_string, set_int,
    set_map, set_string, set_time, str_val,
};
use crate::syntax::Field;
use crate::value::{Pdata, Value};

pub(crate) fn pdata_value(p: Pdata) -> Value {
    Value::Pdata(Box::new(p))
}

/// The span context marker.
pub struct SpanContext;

/// One span with its scope and resource, and the statement cache.
pub struct SpanData<'a> {
    pub span: &'a mut Span,
    pub scope: &'a mut InstrumentationScope,
    pub resource: &'a mut Resource,
    pub cache: Vec<KeyValue>,
    /// See [`super::SchemaUrls`]; set with `with_schema_urls`.
    pub schema_urls: super::SchemaUrls<'a>,
}

impl<'a> SpanData<'a> {
    /// Lets `resource.schema_url` and `instrumentation_scope.schema_url` reach the
    /// enclosing `Resource*`/`Scope*` messages.
    pub fn with_schema_urls(mut self, urls: super::SchemaUrls<'a>) -> Self {
        self.schema_urls = urls;
        self
    }
}

impl<'a> SpanData<'a> {
    pub fn new(
        span: &'a mut Span,
        scope: &'a mut InstrumentationScope,
        resource: &'a mut Resource,
    ) -> SpanData<'a> {
        SpanData {
            span,
            scope,
            resource,
            cache: Vec::new(),
            schema_urls: super::SchemaUrls::default(),
        }
    }
}

/// A span's own fields (shared with the span event context's `span.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanField {
    Attributes,
    TraceId,
    TraceIdString,
    SpanId,
    SpanIdString,
    ParentSpanId,
    ParentSpanIdString,
    TraceState,
    StatusCode,
    StatusMessage,
    Name,
    Kind,
    KindString,
    KindDeprecatedString,
    StartTimeUnixNano,
    EndTimeUnixNano,
    StartTime,
    EndTime,
    DroppedAttributesCount,
    DroppedEventsCount,
    DroppedLinksCount,
    Flags,
    /// `ptrace.Status`
    Status,
    /// `ptrace.SpanEventSlice`
    Events,
    /// `ptrace.SpanLinkSlice`
    Links,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanPath {
    Upper(Upper),
    Field(SpanField),
    /// `trace_state["key"]`
    TraceStateKey(String),
}

const KINDS: [&str; 6] = [
    "Unspecified",
    "Internal",
    "Server",
    "Client",
    "Producer",
    "Consumer",
];
const KINDS_DEPRECATED: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];

/// Parses a span field at `fields[i]`; `Ok(None)` for `trace_state["k"]` handled by the caller.
pub(crate) fn parse_span_field(
    fields: &[Field],
    i: usize,
    ctx: &str,
) -> Result<(SpanPath, usize), String> {
    let f = &fields[i];
    let sub = fields.get(i + 1).map(|f| f.name.as_str());
    let with_sub = |base: SpanField,
                    sub_field: Option<(&str, SpanField)>|
     -> Result<SpanField, String> {
        match (sub, sub_field) {
            (None, _) => leaf(fields, i, ctx).map(|_| base),
            (Some(s), Some((name, field))) if s == name => leaf(fields, i + 1, ctx).map(|_| field),
            _ => Err(invalid(fields, i + 1, ctx)),
        }
    };
    let field = match f.name.as_str() {
        "attributes" => {
            keyed(fields, i, ctx)?;
            SpanField::Attributes
        }
        "trace_id" => with_sub(
            SpanField::TraceId,
            Some(("string", SpanField::TraceIdString)),
        )?,
        "span_id" => with_sub(SpanField::SpanId, Some(("string", SpanField::SpanIdString)))?,
        "parent_span_id" => with_sub(
            SpanField::ParentSpanId,
            Some(("string", SpanField::ParentSpanIdString)),
        )?,
        "trace_state" => {
            if fields.len() > i + 1 {
                return Err(invalid(fields, i + 1, ctx));
            }
            match f.keys.as_slice() {
                [] => SpanField::TraceState,
                [crate::syntax::Key::Str(k)] => return Ok((SpanPath::TraceStateKey(k.clone()), 1)),
                _ => return Err("trace_state takes one string key".into()),
            }
        }
        "status" => match sub {
            Some("code") => leaf(fields, i + 1, ctx).map(|_| SpanField::StatusCode)?,
            Some("message") => leaf(fields, i + 1, ctx).map(|_| SpanField::StatusMessage)?,
            None => leaf(fields, i, ctx).map(|_| SpanField::Status)?,
            _ => return Err(invalid(fields, i + 1, ctx)),
        },
        "name" => with_sub(SpanField::Name, None)?,
        "kind" => match sub {
            None => leaf(fields, i, ctx).map(|_| SpanField::Kind)?,
            Some("string") => leaf(fields, i + 1, ctx).map(|_| SpanField::KindString)?,
            Some("deprecated_string") => {
                leaf(fields, i + 1, ctx).map(|_| SpanField::KindDeprecatedString)?
            }
            _ => return Err(invalid(fields, i + 1, ctx)),
        },
        "start_time_unix_nano" => with_sub(SpanField::StartTimeUnixNano, None)?,
        "end_time_unix_nano" => with_sub(SpanField::EndTimeUnixNano, None)?,
        "start_time" => with_sub(SpanField::StartTime, None)?,
        "end_time" => with_sub(SpanField::EndTime, None)?,
        "dropped_attributes_count" => with_sub(SpanField::DroppedAttributesCount, None)?,
        "dropped_events_count" => with_sub(SpanField::DroppedEventsCount, None)?,
        "dropped_links_count" => with_sub(SpanField::DroppedLinksCount, None)?,
        "flags" => with_sub(SpanField::Flags, None)?,
        "events" => with_sub(SpanField::Events, None)?,
        "links" => with_sub(SpanField::Links, None)?,
        _ => return Err(invalid(fields, i, ctx)),
    };
    Ok((SpanPath::Field(field), 0))
}

pub(crate) fn span_get(s: &Span, f: SpanField) -> Value {
    let status = s.status.as_ref();
    match f {
        SpanField::Attributes => attrs_value(&s.attributes),
        SpanField::TraceId => id_bytes(&s.trace_id, 16),
        SpanField::TraceIdString => id_string(&s.trace_id),
        SpanField::SpanId => id_bytes(&s.span_id, 8),
        SpanField::SpanIdString => id_string(&s.span_id),
        SpanField::ParentSpanId => id_bytes(&s.parent_span_id, 8),
        SpanField::ParentSpanIdString => id_string(&s.parent_span_id),
        SpanField::TraceState => str_val(&s.trace_state),
        SpanField::StatusCode => Value::Int(status.map_or(0, |s| s.code as i64)),
        SpanField::StatusMessage => Value::Str(status.map_or(String::new(), |s| s.message.clone())),
        SpanField::Name => str_val(&s.name),
        SpanField::Kind => Value::Int(s.kind as i64),
        SpanField::KindString => Value::Str(
            KINDS
                .get(s.kind as usize)
                .map_or_else(String::new, |k| k.to_string()),
        ),
        SpanField::KindDeprecatedString => Value::Str(
            KINDS_DEPRECATED
                .get(s.kind as usize)
                .map_or_else(String::new, |k| k.to_string()),
        ),
        SpanField::StartTimeUnixNano => nanos(s.start_time_unix_nano),
        SpanField::EndTimeUnixNano => nanos(s.end_time_unix_nano),
        SpanField::StartTime => time(s.start_time_unix_nano),
        SpanField::EndTime => time(s.end_time_unix_nano),
        SpanField::DroppedAttributesCount => Value::Int(s.dropped_attributes_count as i64),
        SpanField::DroppedEventsCount => Value::Int(s.dropped_events_count as i64),
        SpanField::DroppedLinksCount => Value::Int(s.dropped_links_count as i64),
        SpanField::Flags => Value::Int(s.flags as i64),
        SpanField::Status => pdata_value(Pdata::Status(s.status.clone().unwrap_or_default())),
        SpanField::Events => pdata_value(Pdata::Events(s.events.clone())),
        SpanField::Links => pdata_value(Pdata::Links(s.links.clone())),
    }
}

pub(crate) fn span_set(s: &mut Span, f: SpanField, v: Value) -> Result<(), EvalError> {
    match f {
        SpanField::Attributes => set_map(&mut s.attributes, v),
        SpanField::TraceId => set_id(&mut s.trace_id, v, 16),
        SpanField::TraceIdString => set_id_string(&mut s.trace_id, v, 16)?,
        SpanField::SpanId => set_id(&mut s.span_id, v, 8),
        SpanField::SpanIdString => set_id_string(&mut s.span_id, v, 8)?,
        SpanField::ParentSpanId => set_id(&mut s.parent_span_id, v, 8),
        SpanField::ParentSpanIdString => set_id_string(&mut s.parent_span_id, v, 8)?,
        SpanField::TraceState => set_string(&mut s.trace_state, v),
        SpanField::StatusCode => {
            if let Value::Int(c) = v {
                s.status.get_or_insert_with(Status::default).code = c as i32;
            }
        }
        SpanField::StatusMessage => {
            if let Value::Str(m) = v {
                s.status.get_or_insert_with(Status::default).message = m;
            }
        }
        SpanField::Name => set_string(&mut s.name, v),
        SpanField::Kind => set_int(&mut s.kind, v),
        SpanField::KindString => {
            if let Value::Str(k) = v
                && let Some(i) = KINDS.iter().position(|n| *n == k)
            {
                s.kind = i as i32;
            }
        }
        SpanField::KindDeprecatedString => {
            if let Value::Str(k) = v
                && let Some(i) = KINDS_DEPRECATED.iter().position(|n| *n == k)
            {
                s.kind = i as i32;
            }
        }
        SpanField::StartTimeUnixNano => set_int(&mut s.start_time_unix_nano, v),
        SpanField::EndTimeUnixNano => set_int(&mut s.end_time_unix_nano, v),
        SpanField::StartTime => set_time(&mut s.start_time_unix_nano, v),
        SpanField::EndTime => set_time(&mut s.end_time_unix_nano, v),
        SpanField::DroppedAttributesCount => set_int(&mut s.dropped_attributes_count, v),
        SpanField::DroppedEventsCount => set_int(&mut s.dropped_events_count, v),
        SpanField::DroppedLinksCount => set_int(&mut s.dropped_links_count, v),
        SpanField::Flags => set_int(&mut s.flags, v),
        SpanField::Status | SpanField::Events | SpanField::Links => {
            let Value::Pdata(p) = v else { return Ok(()) };
            match (f, *p) {
                (SpanField::Status, Pdata::Status(x)) => s.status = Some(x),
                (SpanField::Events, Pdata::Events(x)) => s.events = x,
                (SpanField::Links, Pdata::Links(x)) => s.links = x,
                _ => {}
            }
        }
    }
    Ok(())
}

/// W3C tracestate `k1=v1,k2=v2`: the value of `key`.
pub(crate) fn trace_state_get(ts: &str, key: &str) -> Value {
    ts.split(',')
        .filter_map(|m| m.trim().split_once('='))
        .find(|(k, _)| *k == key)
        .map_or(Value::Nil, |(_, v)| Value::Str(v.to_string()))
}

/// Sets `key` in a tracestate; an updated or new member moves to the front (W3C).
pub(crate) fn trace_state_set(ts: &mut String, key: &str, v: Value) {
    let Value::Str(v) = v else { return };
    let mut members: Vec<&str> = ts
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && m.split_once('=').map(|(k, _)| k) != Some(key))
        .collect();
    let new = format!("{key}={v}");
    members.insert(0, &new);
    *ts = members.join(",");
}

impl Context for SpanContext {
    type Path = SpanPath;
    type Data<'a> = SpanData<'a>;
    const NAME: &'static str = "span";

    fn parse_path(fields: &[Field]) -> Result<(SpanPath, usize), String> {
        if let Some(u) = parse_upper(fields, "Span") {
            return u.map(|u| (SpanPath::Upper(u), 0));
        }
        parse_span_field(fields, 0, "Span")
    }

    fn enum_symbol(name: &str) -> Option<i64> {
        span_enum(name)
    }

    fn get(d: &SpanData<'_>, p: &SpanPath) -> Result<Value, EvalError> {
        Ok(match p {
            SpanPath::Upper(u) => super::upper_get(
                super::UpperData {
                    cache: &d.cache,
                    resource: d.resource,
                    scope: d.scope,
                    urls: &d.schema_urls,
                },
                *u,
            ),
            SpanPath::Field(f) => span_get(d.span, *f),
            SpanPath::TraceStateKey(k) => trace_state_get(&d.span.trace_state, k),
        })
    }

    fn set(d: &mut SpanData<'_>, p: &SpanPath, v: Value) -> Result<(), EvalError> {
        match p {
            SpanPath::Upper(u) => {
                super::upper_set(&mut d.cache, d.resource, d.scope, &mut d.schema_urls, *u, v)
            }
            SpanPath::Field(f) => span_set(d.span, *f, v),
            SpanPath::TraceStateKey(k) => {
                trace_state_set(&mut d.span.trace_state, k, v);
                Ok(())
            }
        }
    }

    fn slot<'b>(d: &'b SpanData<'_>, p: &SpanPath) -> Option<SlotRef<'b>> {
        match p {
            SpanPath::Upper(u) => super::upper_slot(&d.cache, d.resource, d.scope, *u),
            SpanPath::Field(SpanField::Attributes) => Some(SlotRef::Map(&d.span.attributes)),
            _ => None,
        }
    }

    fn slot_mut<'b>(d: &'b mut SpanData<'_>, p: &SpanPath) -> Option<SlotMut<'b>> {
        match p {
            SpanPath::Upper(u) => super::upper_slot_mut(&mut d.cache, d.resource, d.scope, *u),
            SpanPath::Field(SpanField::Attributes) => Some(SlotMut::Map(&mut d.span.attributes)),
            _ => None,
        }
    }
}
