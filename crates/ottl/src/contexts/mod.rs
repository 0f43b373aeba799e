//! The contexts over decoded pdata, as Go's `pkg/ottl/contexts/ottl*` define them: each names
//! the paths it exposes (see the Go READMEs) including the paths of the levels above it
//! (`resource.attributes` in the span context), its enums, and the `cache` scratch map.
//!
//! A context's data borrows the item and its resource and scope, so a processor runs
//! statements on its batch in place:
//!
//! ```
//! # use pdata::proto::trace::v1::Span;
//! # use pdata::proto::resource::v1::Resource;
//! # use pdata::proto::common::v1::InstrumentationScope;
//! use ottl::contexts::span::{SpanContext, SpanData};
//! let parser = ottl::Parser::<SpanContext>::new(ottl::functions::standard());
//! let st = parser.parse_statement(r#"set(name, Concat([resource.attributes["service.name"], name], "/"))"#).unwrap();
//! let (mut span, mut scope, mut res) = (Span::default(), InstrumentationScope::default(), Resource::default());
//! span.name = "GET".into();
//! st.execute(&mut SpanData::new(&mut span, &mut scope, &mut res)).unwrap();
//! assert_eq!(span.name, "<nil>/GET");
//! ```

pub mod datapoint;
pub mod log;
pub mod metric;
pub mod resource;
pub mod scope;
pub mod span;
pub mod spanevent;

use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::resource::v1::Resource;

use crate::EvalError;
use crate::context::{SlotMut, SlotRef, attrs_value, set_int, set_map, set_string, str_val};
use crate::syntax::Field;
use crate::value::{Pdata, Value};

/// The `schema_url`s of the resource and scope an item sits under: they live on
/// `ResourceSpans`/`ScopeSpans` (not on `Resource`), so a context borrows them apart. Absent
/// (`None`, as the `new` constructors leave them) reads as `""` and ignores writes.
#[derive(Debug, Default)]
pub struct SchemaUrls<'a> {
    pub resource: Option<&'a mut String>,
    pub scope: Option<&'a mut String>,
}

impl<'a> SchemaUrls<'a> {
    pub fn new(resource: &'a mut String, scope: Option<&'a mut String>) -> SchemaUrls<'a> {
        SchemaUrls {
            resource: Some(resource),
            scope,
        }
    }

    fn get(v: &Option<&'a mut String>) -> Value {
        Value::Str(v.as_deref().cloned().unwrap_or_default())
    }

    fn set(v: &mut Option<&'a mut String>, val: Value) {
        if let (Some(t), Value::Str(s)) = (v.as_deref_mut(), val) {
            *t = s;
        }
    }
}

/// The names a path may start with to name a context (Go's path context names).
pub const CONTEXT_NAMES: &[&str] = &[
    "resource",
    "scope",
    "instrumentation_scope",
    "span",
    "spanevent",
    "metric",
    "datapoint",
    "log",
];

pub(crate) fn path_text(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

pub(crate) fn invalid(fields: &[Field], i: usize, ctx: &str) -> String {
    let seg = fields.get(i).map_or("", |f| f.name.as_str());
    format!(
        "segment {seg:?} from path {:?} is not a valid path nor a valid OTTL keyword for the {ctx} context",
        path_text(fields)
    )
}

/// A path that takes no keys and no further segments.
pub(crate) fn leaf(fields: &[Field], i: usize, ctx: &str) -> Result<(), String> {
    if fields.len() > i + 1 {
        return Err(invalid(fields, i + 1, ctx));
    }
    if !fields[i].keys.is_empty() {
        return Err(format!(
            "path {:?} does not support keys",
            path_text(fields)
        ));
    }
    Ok(())
}

/// A path that may be indexed but has no further segments.
pub(crate) fn keyed(fields: &[Field], i: usize, ctx: &str) -> Result<(), String> {
    if fields.len() > i + 1 {
        return Err(invalid(fields, i + 1, ctx));
    }
    Ok(())
}

/// `resource.*`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePath {
    /// bare `resource`: a `pcommon.Resource`
    Whole,
    Attributes,
    DroppedAttributesCount,
    SchemaUrl,
}

pub(crate) fn parse_resource(
    fields: &[Field],
    i: usize,
    ctx: &str,
) -> Result<ResourcePath, String> {
    let Some(f) = fields.get(i) else {
        return Ok(ResourcePath::Whole);
    };
    match f.name.as_str() {
        "attributes" => keyed(fields, i, ctx).map(|_| ResourcePath::Attributes),
        "dropped_attributes_count" => {
            leaf(fields, i, ctx).map(|_| ResourcePath::DroppedAttributesCount)
        }
        "schema_url" => leaf(fields, i, ctx).map(|_| ResourcePath::SchemaUrl),
        _ => Err(invalid(fields, i, ctx)),
    }
}

pub(crate) fn resource_get(r: &Resource, urls: &SchemaUrls<'_>, p: ResourcePath) -> Value {
    match p {
        ResourcePath::Whole => Value::Pdata(Box::new(Pdata::Resource(r.clone()))),
        ResourcePath::Attributes => attrs_value(&r.attributes),
        ResourcePath::DroppedAttributesCount => Value::Int(r.dropped_attributes_count as i64),
        ResourcePath::SchemaUrl => SchemaUrls::get(&urls.resource),
    }
}

pub(crate) fn resource_set(r: &mut Resource, urls: &mut SchemaUrls<'_>, p: ResourcePath, v: Value) {
    match p {
        // pcommon.Resource.CopyTo: the schema URL is not part of the resource
        ResourcePath::Whole => {
            if let Value::Pdata(b) = v
                && let Pdata::Resource(new) = *b
            {
                *r = new;
            }
        }
        ResourcePath::Attributes => set_map(&mut r.attributes, v),
        ResourcePath::DroppedAttributesCount => set_int(&mut r.dropped_attributes_count, v),
        ResourcePath::SchemaUrl => SchemaUrls::set(&mut urls.resource, v),
    }
}

pub(crate) fn resource_slot(r: &Resource, p: ResourcePath) -> Option<SlotRef<'_>> {
    match p {
        ResourcePath::Attributes => Some(SlotRef::Map(&r.attributes)),
        _ => None,
    }
}

pub(crate) fn resource_slot_mut(r: &mut Resource, p: ResourcePath) -> Option<SlotMut<'_>> {
    match p {
        ResourcePath::Attributes => Some(SlotMut::Map(&mut r.attributes)),
        _ => None,
    }
}

/// `instrumentation_scope.*` (also `scope.*`)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopePath {
    /// bare `instrumentation_scope`: a `pcommon.InstrumentationScope`
    Whole,
    SchemaUrl,
    Name,
    Version,
    Attributes,
    DroppedAttributesCount,
}

pub(crate) fn parse_scope(fields: &[Field], i: usize, ctx: &str) -> Result<ScopePath, String> {
    let Some(f) = fields.get(i) else {
        return Ok(ScopePath::Whole);
    };
    match f.name.as_str() {
        "schema_url" => leaf(fields, i, ctx).map(|_| ScopePath::SchemaUrl),
        "name" => leaf(fields, i, ctx).map(|_| ScopePath::Name),
        "version" => leaf(fields, i, ctx).map(|_| ScopePath::Version),
        "attributes" => keyed(fields, i, ctx).map(|_| ScopePath::Attributes),
        "dropped_attributes_count" => {
            leaf(fields, i, ctx).map(|_| ScopePath::DroppedAttributesCount)
        }
        _ => Err(invalid(fields, i, ctx)),
    }
}

pub(crate) fn scope_get(s: &InstrumentationScope, urls: &SchemaUrls<'_>, p: ScopePath) -> Value {
    match p {
        ScopePath::Whole => Value::Pdata(Box::new(Pdata::Scope(s.clone()))),
        ScopePath::SchemaUrl => SchemaUrls::get(&urls.scope),
        ScopePath::Name => str_val(&s.name),
        ScopePath::Version => str_val(&s.version),
        ScopePath::Attributes => attrs_value(&s.attributes),
        ScopePath::DroppedAttributesCount => Value::Int(s.dropped_attributes_count as i64),
    }
}

pub(crate) fn scope_set(
    s: &mut InstrumentationScope,
    urls: &mut SchemaUrls<'_>,
    p: ScopePath,
    v: Value,
) {
    match p {
        ScopePath::Whole => {
            if let Value::Pdata(b) = v
                && let Pdata::Scope(new) = *b
            {
                *s = new;
            }
        }
        ScopePath::SchemaUrl => SchemaUrls::set(&mut urls.scope, v),
        ScopePath::Name => set_string(&mut s.name, v),
        ScopePath::Version => set_string(&mut s.version, v),
        ScopePath::Attributes => set_map(&mut s.attributes, v),
        ScopePath::DroppedAttributesCount => set_int(&mut s.dropped_attributes_count, v),
    }
}

pub(crate) fn scope_slot(s: &InstrumentationScope, p: ScopePath) -> Option<SlotRef<'_>> {
    match p {
        ScopePath::Attributes => Some(SlotRef::Map(&s.attributes)),
        _ => None,
    }
}

pub(crate) fn scope_slot_mut(s: &mut InstrumentationScope, p: ScopePath) -> Option<SlotMut<'_>> {
    match p {
        ScopePath::Attributes => Some(SlotMut::Map(&mut s.attributes)),
        _ => None,
    }
}

/// The paths every item-level context shares: `cache`, `resource.*`, `instrumentation_scope.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upper {
    Cache,
    Resource(ResourcePath),
    Scope(ScopePath),
}

/// Reads `cache`, `resource.*` and `instrumentation_scope.*`; `None` when the path is none of them.
pub(crate) fn parse_upper(fields: &[Field], ctx: &str) -> Option<Result<Upper, String>> {
    let first = fields.first()?;
    Some(match first.name.as_str() {
        "cache" => keyed(fields, 0, ctx).map(|_| Upper::Cache),
        "resource" if first.keys.is_empty() => parse_resource(fields, 1, ctx).map(Upper::Resource),
        "instrumentation_scope" | "scope" if first.keys.is_empty() => {
            parse_scope(fields, 1, ctx).map(Upper::Scope)
        }
        _ => return None,
    })
}

/// The borrowed levels above an item.
pub(crate) struct UpperData<'a, 'c> {
    pub cache: &'c Vec<KeyValue>,
    pub resource: &'a Resource,
    pub scope: &'a InstrumentationScope,
    pub urls: &'a SchemaUrls<'c>,
}

pub(crate) fn upper_get(u: UpperData<'_, '_>, p: Upper) -> Value {
    match p {
        Upper::Cache => attrs_value(u.cache),
        Upper::Resource(p) => resource_get(u.resource, u.urls, p),
        Upper::Scope(p) => scope_get(u.scope, u.urls, p),
    }
}

pub(crate) fn upper_slot<'b>(
    cache: &'b [KeyValue],
    resource: &'b Resource,
    scope: &'b InstrumentationScope,
    p: Upper,
) -> Option<SlotRef<'b>> {
    match p {
        Upper::Cache => Some(SlotRef::Map(cache)),
        Upper::Resource(p) => resource_slot(resource, p),
        Upper::Scope(p) => scope_slot(scope, p),
    }
}

pub(crate) fn upper_set(
    cache: &mut Vec<KeyValue>,
    resource: &mut Resource,
    scope: &mut InstrumentationScope,
    urls: &mut SchemaUrls<'_>,
    p: Upper,
    v: Value,
) -> Result<(), EvalError> {
    match p {
        Upper::Cache => set_map(cache, v),
        Upper::Resource(p) => resource_set(resource, urls, p, v),
        Upper::Scope(p) => scope_set(scope, urls, p, v),
    }
    Ok(())
}

pub(crate) fn upper_slot_mut<'b>(
    cache: &'b mut Vec<KeyValue>,
    resource: &'b mut Resource,
    scope: &'b mut InstrumentationScope,
    p: Upper,
) -> Option<SlotMut<'b>> {
    match p {
        Upper::Cache => Some(SlotMut::Map(cache)),
        Upper::Resource(p) => resource_slot_mut(resource, p),
        Upper::Scope(p) => scope_slot_mut(scope, p),
    }
}

// ---------------------------------------------------------------------------------------------
// Enums

pub(crate) fn span_enum(name: &str) -> Option<i64> {
    Some(match name {
        "SPAN_KIND_UNSPECIFIED" => 0,
        "SPAN_KIND_INTERNAL" => 1,
        "SPAN_KIND_SERVER" => 2,
        "SPAN_KIND_CLIENT" => 3,
        "SPAN_KIND_PRODUCER" => 4,
        "SPAN_KIND_CONSUMER" => 5,
        "STATUS_CODE_UNSET" => 0,
        "STATUS_CODE_OK" => 1,
        "STATUS_CODE_ERROR" => 2,
        _ => return None,
    })
}

pub(crate) fn severity_enum(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("SEVERITY_NUMBER_")?;
    if rest == "UNSPECIFIED" {
        return Some(0);
    }
    let (level, n) = match rest.find(|c: char| c.is_ascii_digit()) {
        Some(i) => (&rest[..i], rest[i..].parse::<i64>().ok()?),
        None => (rest, 1),
    };
    if !(1..=4).contains(&n) || (rest.len() > level.len() && n == 1) {
        return None;
    }
    let base = match level {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" => 13,
        "ERROR" => 17,
        "FATAL" => 21,
        _ => return None,
    };
    Some(base + n - 1)
}

pub(crate) fn metric_enum(name: &str) -> Option<i64> {
    Some(match name {
        "AGGREGATION_TEMPORALITY_UNSPECIFIED" => 0,
        "AGGREGATION_TEMPORALITY_DELTA" => 1,
        "AGGREGATION_TEMPORALITY_CUMULATIVE" => 2,
        "METRIC_DATA_TYPE_NONE" => 0,
        "METRIC_DATA_TYPE_GAUGE" => 1,
        "METRIC_DATA_TYPE_SUM" => 2,
        "METRIC_DATA_TYPE_HISTOGRAM" => 3,
        "METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM" => 4,
        "METRIC_DATA_TYPE_SUMMARY" => 5,
        "FLAG_NONE" => 0,
        "FLAG_NO_RECORDED_VALUE" => 1,
        _ => return None,
    })
}

/// Time helpers shared by the contexts: `*_unix_nano` ints and `time`-typed views.
pub(crate) fn nanos(v: u64) -> Value {
    Value::Int(v as i64)
}

pub(crate) fn time(v: u64) -> Value {
    Value::utc_time(v as i64)
}
