//! The span event context (Go `ottlspanevent`): one event of a span, with `span.*` paths to
//! the span that holds it.

use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{Span, span::Event};

use super::span::{
    SpanPath, parse_span_field, span_get, span_set, trace_state_get, trace_state_set,
};
use super::{Upper, invalid, keyed, leaf, nanos, parse_upper, span_enum, time};
use crate::EvalError;
use crate::context::{
    Context, SlotMut, SlotRef, attrs_value, set_int, set_map, set_string, set_time, str_val,
};
use crate::syntax::Field;
use crate::value::Value;

pub struct SpanEventContext;

/// Event `index` of `span`. The event is reached through the span so that `span.*` paths
/// and the event can both be written in one evaluation.
pub struct SpanEventData<'a> {
    pub span: &'a mut Span,
    pub index: usize,
    pub scope: &'a mut InstrumentationScope,
    pub resource: &'a mut Resource,
    pub cache: Vec<KeyValue>,
    /// See [`super::SchemaUrls`]; set with `with_schema_urls`.
    pub schema_urls: super::SchemaUrls<'a>,
}

impl<'a> SpanEventData<'a> {
    /// Lets `resource.schema_url` and `instrumentation_scope.schema_url` reach the
    /// enclosing `Resource*`/`Scope*` messages.
    pub fn with_schema_urls(mut self, urls: super::SchemaUrls<'a>) -> Self {
        self.schema_urls = urls;
        self
    }
}

impl<'a> SpanEventData<'a> {
    /// Panics never: an `index` past the events reads as an empty event and writes nothing.
    pub fn new(
        span: &'a mut Span,
        index: usize,
        scope: &'a mut InstrumentationScope,
        resource: &'a mut Resource,
    ) -> SpanEventData<'a> {
        SpanEventData {
            span,
            index,
            scope,
            resource,
            cache: Vec::new(),
            schema_urls: super::SchemaUrls::default(),
        }
    }

    fn event(&self) -> Option<&Event> {
        self.span.events.get(self.index)
    }

    fn event_mut(&mut self) -> Option<&mut Event> {
        self.span.events.get_mut(self.index)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventField {
    Name,
    TimeUnixNano,
    Time,
    Attributes,
    DroppedAttributesCount,
    EventIndex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanEventPath {
    Upper(Upper),
    Span(SpanPath),
    Event(EventField),
}

impl Context for SpanEventContext {
    type Path = SpanEventPath;
    type Data<'a> = SpanEventData<'a>;
    const NAME: &'static str = "spanevent";

    fn parse_path(fields: &[Field]) -> Result<(SpanEventPath, usize), String> {
        const CTX: &str = "SpanEvent";
        if let Some(u) = parse_upper(fields, CTX) {
            return u.map(|u| (SpanEventPath::Upper(u), 0));
        }
        let f = &fields[0];
        let field = match f.name.as_str() {
            "span" if f.keys.is_empty() && fields.len() > 1 => {
                let (p, n) = parse_span_field(fields, 1, CTX)?;
                return Ok((SpanEventPath::Span(p), n));
            }
            "name" => leaf(fields, 0, CTX).map(|_| EventField::Name)?,
            "time_unix_nano" => leaf(fields, 0, CTX).map(|_| EventField::TimeUnixNano)?,
            "time" => leaf(fields, 0, CTX).map(|_| EventField::Time)?,
            "attributes" => keyed(fields, 0, CTX).map(|_| EventField::Attributes)?,
            "dropped_attributes_count" => {
                leaf(fields, 0, CTX).map(|_| EventField::DroppedAttributesCount)?
            }
            "event_index" => leaf(fields, 0, CTX).map(|_| EventField::EventIndex)?,
            _ => return Err(invalid(fields, 0, CTX)),
        };
        Ok((SpanEventPath::Event(field), 0))
    }

    fn enum_symbol(name: &str) -> Option<i64> {
        span_enum(name)
    }

    fn get(d: &SpanEventData<'_>, p: &SpanEventPath) -> Result<Value, EvalError> {
        Ok(match p {
            SpanEventPath::Upper(u) => super::upper_get(
                super::UpperData {
                    cache: &d.cache,
                    resource: d.resource,
                    scope: d.scope,
                    urls: &d.schema_urls,
                },
                *u,
            ),
            SpanEventPath::Span(SpanPath::Field(f)) => span_get(d.span, *f),
            SpanEventPath::Span(SpanPath::TraceStateKey(k)) => {
                trace_state_get(&d.span.trace_state, k)
            }
            SpanEventPath::Span(SpanPath::Upper(u)) => super::upper_get(
                super::UpperData {
                    cache: &d.cache,
                    resource: d.resource,
                    scope: d.scope,
                    urls: &d.schema_urls,
                },
                *u,
            ),
            SpanEventPath::Event(EventField::EventIndex) => Value::Int(d.index as i64),
            SpanEventPath::Event(f) => {
                let default = Event::default();
                let e = d.event().unwrap_or(&default);
                match f {
                    EventField::Name => str_val(&e.name),
                    EventField::TimeUnixNano => nanos(e.time_unix_nano),
                    EventField::Time => time(e.time_unix_nano),
                    EventField::Attributes => attrs_value(&e.attributes),
                    EventField::DroppedAttributesCount => {
                        Value::Int(e.dropped_attributes_count as i64)
                    }
                    EventField::EventIndex => Value::Int(d.index as i64),
                }
            }
        })
    }

    fn set(d: &mut SpanEventData<'_>, p: &SpanEventPath, v: Value) -> Result<(), EvalError> {
        match p {
            SpanEventPath::Upper(u) | SpanEventPath::Span(SpanPath::Upper(u)) => {
                super::upper_set(&mut d.cache, d.resource, d.scope, &mut d.schema_urls, *u, v)
            }
            SpanEventPath::Span(SpanPath::Field(f)) => span_set(d.span, *f, v),
            SpanEventPath::Span(SpanPath::TraceStateKey(k)) => {
                trace_state_set(&mut d.span.trace_state, k, v);
                Ok(())
            }
            SpanEventPath::Event(f) => {
                let Some(e) = d.event_mut() else {
                    return Ok(());
                };
                match f {
                    EventField::Name => set_string(&mut e.name, v),
                    EventField::TimeUnixNano => set_int(&mut e.time_unix_nano, v),
                    EventField::Time => set_time(&mut e.time_unix_nano, v),
                    EventField::Attributes => set_map(&mut e.attributes, v),
                    EventField::DroppedAttributesCount => {
                        set_int(&mut e.dropped_attributes_count, v)
                    }
                    EventField::EventIndex => {}
                }
                Ok(())
            }
        }
    }

    fn slot<'b>(d: &'b SpanEventData<'_>, p: &SpanEventPath) -> Option<SlotRef<'b>> {
        match p {
            SpanEventPath::Upper(u) | SpanEventPath::Span(SpanPath::Upper(u)) => {
                super::upper_slot(&d.cache, d.resource, d.scope, *u)
            }
            SpanEventPath::Span(SpanPath::Field(super::span::SpanField::Attributes)) => {
                Some(SlotRef::Map(&d.span.attributes))
            }
            SpanEventPath::Event(EventField::Attributes) => Some(SlotRef::Map(
                d.event().map_or(&[][..], |e| &e.attributes[..]),
            )),
            _ => None,
        }
    }

    fn slot_mut<'b>(d: &'b mut SpanEventData<'_>, p: &SpanEventPath) -> Option<SlotMut<'b>> {
        match p {
            SpanEventPath::Upper(u) | SpanEventPath::Span(SpanPath::Upper(u)) => {
                super::upper_slot_mut(&mut d.cache, d.resource, d.scope, *u)
            }
            SpanEventPath::Span(SpanPath::Field(super::span::SpanField::Attributes)) => {
                Some(SlotMut::Map(&mut d.span.attributes))
            }
            SpanEventPath::Event(EventField::Attributes) => {
                d.event_mut().map(|e| SlotMut::Map(&mut e.attributes))
            }
            _ => None,
        }
    }
}
