//! The log context (Go `ottllog`).

use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::logs::v1::LogRecord;
use pdata::proto::resource::v1::Resource;

use super::{Upper, invalid, keyed, leaf, nanos, parse_upper, severity_enum, time};
use crate::EvalError;
use crate::context::{
    Context, SlotMut, SlotRef, attrs_value, id_bytes, id_string, set_id, set_id_string, set_int,
    set_map, set_string, set_time, str_val,
};
use crate::syntax::Field;
use crate::value::Value;

pub struct LogContext;

pub struct LogData<'a> {
    pub log: &'a mut LogRecord,
    pub scope: &'a mut InstrumentationScope,
    pub resource: &'a mut Resource,
    pub cache: Vec<KeyValue>,
    /// See [`super::SchemaUrls`]; set with `with_schema_urls`.
    pub schema_urls: super::SchemaUrls<'a>,
}

impl<'a> LogData<'a> {
    /// Lets `resource.schema_url` and `instrumentation_scope.schema_url` reach the
    /// enclosing `Resource*`/`Scope*` messages.
    pub fn with_schema_urls(mut self, urls: super::SchemaUrls<'a>) -> Self {
        self.schema_urls = urls;
        self
    }
}

impl<'a> LogData<'a> {
    pub fn new(
        log: &'a mut LogRecord,
        scope: &'a mut InstrumentationScope,
        resource: &'a mut Resource,
    ) -> LogData<'a> {
        LogData {
            log,
            scope,
            resource,
            cache: Vec::new(),
            schema_urls: super::SchemaUrls::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogPath {
    Upper(Upper),
    TimeUnixNano,
    ObservedTimeUnixNano,
    Time,
    ObservedTime,
    SeverityNumber,
    SeverityText,
    Body,
    BodyString,
    Attributes,
    DroppedAttributesCount,
    Flags,
    TraceId,
    TraceIdString,
    SpanId,
    SpanIdString,
    EventName,
}

impl Context for LogContext {
    type Path = LogPath;
    type Data<'a> = LogData<'a>;
    const NAME: &'static str = "log";

    fn parse_path(fields: &[Field]) -> Result<(LogPath, usize), String> {
        const CTX: &str = "Log";
        if let Some(u) = parse_upper(fields, CTX) {
            return u.map(|u| (LogPath::Upper(u), 0));
        }
        let sub = fields.get(1).map(|f| f.name.as_str());
        let id = |base: LogPath, string: LogPath| -> Result<LogPath, String> {
            match sub {
                None => leaf(fields, 0, CTX).map(|_| base),
                Some("string") if fields[0].keys.is_empty() => leaf(fields, 1, CTX).map(|_| string),
                _ => Err(invalid(fields, 1, CTX)),
            }
        };
        let p = match fields[0].name.as_str() {
            "time_unix_nano" => leaf(fields, 0, CTX).map(|_| LogPath::TimeUnixNano)?,
            "observed_time_unix_nano" => {
                leaf(fields, 0, CTX).map(|_| LogPath::ObservedTimeUnixNano)?
            }
            "time" => leaf(fields, 0, CTX).map(|_| LogPath::Time)?,
            "observed_time" => leaf(fields, 0, CTX).map(|_| LogPath::ObservedTime)?,
            "severity_number" => leaf(fields, 0, CTX).map(|_| LogPath::SeverityNumber)?,
            "severity_text" => leaf(fields, 0, CTX).map(|_| LogPath::SeverityText)?,
            "body" => match sub {
                None => keyed(fields, 0, CTX).map(|_| LogPath::Body)?,
                Some("string") if fields[0].keys.is_empty() => {
                    leaf(fields, 1, CTX).map(|_| LogPath::BodyString)?
                }
                _ => return Err(invalid(fields, 1, CTX)),
            },
            "attributes" => keyed(fields, 0, CTX).map(|_| LogPath::Attributes)?,
            "dropped_attributes_count" => {
                leaf(fields, 0, CTX).map(|_| LogPath::DroppedAttributesCount)?
            }
            "flags" => leaf(fields, 0, CTX).map(|_| LogPath::Flags)?,
            "trace_id" => id(LogPath::TraceId, LogPath::TraceIdString)?,
            "span_id" => id(LogPath::SpanId, LogPath::SpanIdString)?,
            "event_name" => leaf(fields, 0, CTX).map(|_| LogPath::EventName)?,
            _ => return Err(invalid(fields, 0, CTX)),
        };
        Ok((p, 0))
    }

    fn enum_symbol(name: &str) -> Option<i64> {
        severity_enum(name)
    }

    fn get(d: &LogData<'_>, p: &LogPath) -> Result<Value, EvalError> {
        let l = &*d.log;
        Ok(match p {
            LogPath::Upper(u) => super::upper_get(
                super::UpperData {
                    cache: &d.cache,
                    resource: d.resource,
                    scope: d.scope,
                    urls: &d.schema_urls,
                },
                *u,
            ),
            LogPath::TimeUnixNano => nanos(l.time_unix_nano),
            LogPath::ObservedTimeUnixNano => nanos(l.observed_time_unix_nano),
            LogPath::Time => time(l.time_unix_nano),
            LogPath::ObservedTime => time(l.observed_time_unix_nano),
            LogPath::SeverityNumber => Value::Int(l.severity_number as i64),
            LogPath::SeverityText => str_val(&l.severity_text),
            LogPath::Body => Value::from_opt_any(l.body.as_ref()),
            LogPath::BodyString => Value::Str(Value::from_opt_any(l.body.as_ref()).as_string()),
            LogPath::Attributes => attrs_value(&l.attributes),
            LogPath::DroppedAttributesCount => Value::Int(l.dropped_attributes_count as i64),
            LogPath::Flags => Value::Int(l.flags as i64),
            LogPath::TraceId => id_bytes(&l.trace_id, 16),
            LogPath::TraceIdString => id_string(&l.trace_id),
            LogPath::SpanId => id_bytes(&l.span_id, 8),
            LogPath::SpanIdString => id_string(&l.span_id),
            LogPath::EventName => str_val(&l.event_name),
        })
    }

    fn set(d: &mut LogData<'_>, p: &LogPath, v: Value) -> Result<(), EvalError> {
        let l = &mut *d.log;
        match p {
            LogPath::Upper(u) => {
                return super::upper_set(
                    &mut d.cache,
                    d.resource,
                    d.scope,
                    &mut d.schema_urls,
                    *u,
                    v,
                );
            }
            LogPath::TimeUnixNano => set_int(&mut l.time_unix_nano, v),
            LogPath::ObservedTimeUnixNano => set_int(&mut l.observed_time_unix_nano, v),
            LogPath::Time => set_time(&mut l.time_unix_nano, v),
            LogPath::ObservedTime => set_time(&mut l.observed_time_unix_nano, v),
            LogPath::SeverityNumber => set_int(&mut l.severity_number, v),
            LogPath::SeverityText => set_string(&mut l.severity_text, v),
            LogPath::Body => {
                if let Some(any) = v.into_any() {
                    l.body = Some(any);
                }
            }
            LogPath::BodyString => {
                if let Value::Str(s) = v {
                    l.body = Some(AnyValue {
                        value: Some(any_value::Value::StringValue(s)),
                    });
                }
            }
            LogPath::Attributes => set_map(&mut l.attributes, v),
            LogPath::DroppedAttributesCount => set_int(&mut l.dropped_attributes_count, v),
            LogPath::Flags => set_int(&mut l.flags, v),
            LogPath::TraceId => set_id(&mut l.trace_id, v, 16),
            LogPath::TraceIdString => set_id_string(&mut l.trace_id, v, 16)?,
            LogPath::SpanId => set_id(&mut l.span_id, v, 8),
            LogPath::SpanIdString => set_id_string(&mut l.span_id, v, 8)?,
            LogPath::EventName => set_string(&mut l.event_name, v),
        }
        Ok(())
    }

    fn slot<'b>(d: &'b LogData<'_>, p: &LogPath) -> Option<SlotRef<'b>> {
        match p {
            LogPath::Upper(u) => super::upper_slot(&d.cache, d.resource, d.scope, *u),
            LogPath::Attributes => Some(SlotRef::Map(&d.log.attributes)),
            LogPath::Body => Some(SlotRef::Any(d.log.body.as_ref())),
            _ => None,
        }
    }

    fn slot_mut<'b>(d: &'b mut LogData<'_>, p: &LogPath) -> Option<SlotMut<'b>> {
        match p {
            LogPath::Upper(u) => super::upper_slot_mut(&mut d.cache, d.resource, d.scope, *u),
            LogPath::Attributes => Some(SlotMut::Map(&mut d.log.attributes)),
            LogPath::Body => Some(SlotMut::Any(
                d.log.body.get_or_insert_with(AnyValue::default),
            )),
            _ => None,
        }
    }
}
