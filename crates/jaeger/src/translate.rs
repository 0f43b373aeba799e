//! Jaeger → OTLP, as Go's `pkg/translator/jaeger` (`ThriftToTraces`, `ProtoToTraces`).
//!
//! Attributes are built with the semantics of Go's `pcommon.Map`, since they decide the
//! order Go produces: a put replaces an existing key in place, a remove moves the last
//! attribute into the removed one's place.
//!
//! The two inputs differ where Go's two translators differ: only protobuf spans give their
//! `otel.scope.name`/`otel.scope.version` tags to the scope and their `w3c.tracestate` tag to
//! the trace state; only protobuf batches are regrouped by the spans' own processes and skip
//! a process named `OTLPResourceNoServiceName`; only protobuf tags named `http.status_code` or
//! `http.response.status_code` are written under the names the
//! `pkg.translator.jaeger.{DontEmitV0,EmitV1}HttpConventions` gates choose. A Thrift span's
//! parent is its `parentSpanId`, else its first same-trace CHILD_OF reference, else its
//! first same-trace FOLLOWS_FROM one.

use std::collections::HashMap;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::span::{Event, Link};
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan, Status};
use prost::Message;

use crate::proto;
use crate::thrift::{self, span_ref_type, tag_type};

/// The resource of spans whose process names no service (Go's
/// `tracetranslator.ResourceNoServiceName`).
pub const NO_SERVICE_NAME: &str = "OTLPResourceNoServiceName";
pub const GATE_DONT_EMIT_V0_HTTP: &str = "pkg.translator.jaeger.DontEmitV0HttpConventions";
pub const GATE_EMIT_V1_HTTP: &str = "pkg.translator.jaeger.EmitV1HttpConventions";

const TAG_SPAN_KIND: &str = "span.kind";
const TAG_ERROR: &str = "error";
const TAG_STATUS_CODE: &str = "otel.status_code";
const TAG_STATUS_DESCRIPTION: &str = "otel.status_description";
const TAG_HTTP_STATUS_MSG: &str = "http.status_message";
const TAG_TRACE_STATE: &str = "w3c.tracestate";
const TAG_SCOPE_NAME: &str = "otel.scope.name";
const TAG_SCOPE_VERSION: &str = "otel.scope.version";
const HTTP_STATUS_CODE_V0: &str = "http.status_code";
const HTTP_STATUS_CODE_V1: &str = "http.response.status_code";
const EVENT_NAME: &str = "event";
const REF_TYPE: &str = "opentracing.ref_type";

/// The translation's switches (Go's feature gates of `pkg/translator/jaeger`, both alpha).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Write HTTP status code tags as `http.status_code` (off with
    /// `pkg.translator.jaeger.DontEmitV0HttpConventions`).
    pub emit_v0_http: bool,
    /// Also write them as `http.response.status_code`
    /// (`pkg.translator.jaeger.EmitV1HttpConventions`).
    pub emit_v1_http: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            emit_v0_http: true,
            emit_v1_http: false,
        }
    }
}

/// An attribute list with `pcommon.Map` semantics, indexed once it grows (Go's map is a
/// linear scan; an index keeps a span with thousands of tags from being quadratic).
#[derive(Default)]
struct Attrs {
    kvs: Vec<KeyValue>,
    index: Option<HashMap<String, usize>>,
}

const INDEX_AFTER: usize = 16;

fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(v) }),
        ..KeyValue::default()
    }
}

/// Go's `Value.Str()`: the string of a string value, else empty.
fn str_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::StringValue(s)) => s.clone(),
        _ => String::new(),
    }
}

impl Attrs {
    fn with_capacity(n: usize) -> Attrs {
        Attrs {
            kvs: Vec::with_capacity(n.min(64)),
            index: None,
        }
    }

    fn find(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(key).copied(),
            None => self.kvs.iter().position(|k| k.key == key),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.find(key)
            .and_then(|i| self.kvs[i].value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn put(&mut self, key: &str, v: Value) {
        match self.find(key) {
            Some(i) => self.kvs[i].value = Some(AnyValue { value: Some(v) }),
            None => self.push_new(key.to_string(), v),
        }
    }

    /// [`Attrs::put`] of a key the caller owns (no copy of it when it is new).
    fn put_owned(&mut self, key: String, v: Value) {
        match self.find(&key) {
            Some(i) => self.kvs[i].value = Some(AnyValue { value: Some(v) }),
            None => self.push_new(key, v),
        }
    }

    fn push_new(&mut self, key: String, v: Value) {
        self.kvs.push(KeyValue {
            key,
            value: Some(AnyValue { value: Some(v) }),
            ..KeyValue::default()
        });
        let at = self.kvs.len() - 1;
        match &mut self.index {
            Some(ix) => {
                ix.insert(self.kvs[at].key.clone(), at);
            }
            None if self.kvs.len() > INDEX_AFTER => {
                self.index = Some(
                    self.kvs
                        .iter()
                        .enumerate()
                        .map(|(i, k)| (k.key.clone(), i))
                        .collect(),
                );
            }
            None => {}
        }
    }

    /// Removes `key`, moving the last attribute into its place as `pcommon.Map.Remove` does.
    fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key)?;
        let removed = self.kvs.swap_remove(i);
        if let Some(ix) = &mut self.index {
            ix.remove(key);
            if let Some(moved) = self.kvs.get(i) {
                ix.insert(moved.key.clone(), i);
            }
        }
        removed.value.and_then(|v| v.value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.kvs.len()
    }

    fn into_vec(self) -> Vec<KeyValue> {
        self.kvs
    }
}

fn thrift_value(t: thrift::Tag) -> Value {
    match t.v_type {
        tag_type::STRING => Value::StringValue(t.v_str.unwrap_or_default()),
        tag_type::BOOL => Value::BoolValue(t.v_bool.unwrap_or(false)),
        tag_type::LONG => Value::IntValue(t.v_long.unwrap_or(0)),
        tag_type::DOUBLE => Value::DoubleValue(t.v_double.unwrap_or(0.0)),
        tag_type::BINARY => Value::BytesValue(t.v_binary.unwrap_or_default()),
        // Go's generated TagType.String() says "<UNSET>" for values it does not know.
        _ => Value::StringValue("<Unknown Jaeger TagType \"<UNSET>\">".into()),
    }
}

fn thrift_tags(tags: Vec<thrift::Tag>, dest: &mut Attrs) {
    for mut t in tags {
        let key = std::mem::take(&mut t.key);
        dest.put_owned(key, thrift_value(t));
    }
}

fn proto_value(t: proto::KeyValue) -> Value {
    use proto::value_type;
    match t.v_type {
        value_type::STRING => Value::StringValue(t.v_str),
        value_type::BOOL => Value::BoolValue(t.v_bool),
        value_type::INT64 => Value::IntValue(t.v_int64),
        value_type::FLOAT64 => Value::DoubleValue(t.v_float64),
        value_type::BINARY => Value::BytesValue(t.v_binary),
        // gogoproto's enum String() prints an unknown value as its number.
        other => Value::StringValue(format!("<Unknown Jaeger TagType \"{other}\">")),
    }
}

fn proto_tags(tags: Vec<proto::KeyValue>, dest: &mut Attrs, opts: &Options) {
    for mut t in tags {
        if t.key == HTTP_STATUS_CODE_V0 || t.key == HTTP_STATUS_CODE_V1 {
            let v = proto_value(t);
            if opts.emit_v0_http && opts.emit_v1_http {
                dest.put(HTTP_STATUS_CODE_V0, v.clone());
                dest.put(HTTP_STATUS_CODE_V1, v);
            } else if opts.emit_v0_http {
                dest.put(HTTP_STATUS_CODE_V0, v);
            } else if opts.emit_v1_http {
                dest.put(HTTP_STATUS_CODE_V1, v);
            }
        } else {
            let key = std::mem::take(&mut t.key);
            dest.put_owned(key, proto_value(t));
        }
    }
}

/// `hostname` → `host.name` and `jaeger.version` → `opencensus.exporterversion`
/// (`Jaeger-<version>`), unless the target is already there.
fn special_resource_keys(attrs: &mut Attrs) {
    if attrs.find("hostname").is_some() && attrs.find("host.name").is_none() {
        let v = attrs.get("hostname").cloned();
        if let Some(v) = v {
            attrs.put("host.name", v);
        }
        attrs.remove("hostname");
    }
    if attrs.find("jaeger.version").is_some() && attrs.find("opencensus.exporterversion").is_none()
    {
        let version = str_of(attrs.get("jaeger.version"));
        attrs.put(
            "opencensus.exporterversion",
            Value::StringValue(format!("Jaeger-{version}")),
        );
        attrs.remove("jaeger.version");
    }
}

fn resource_from(attrs: Attrs) -> Resource {
    Resource {
        attributes: attrs.into_vec(),
        ..Resource::default()
    }
}

fn trace_id_bytes(high: u64, low: u64) -> Vec<u8> {
    if high == 0 && low == 0 {
        return Vec::new();
    }
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&high.to_be_bytes());
    b.extend_from_slice(&low.to_be_bytes());
    b
}

fn span_id_bytes(id: u64) -> Vec<u8> {
    if id == 0 {
        Vec::new()
    } else {
        id.to_be_bytes().to_vec()
    }
}

fn span_kind(kind: &str) -> i32 {
    match kind {
        "client" => 3,
        "server" => 2,
        "producer" => 4,
        "consumer" => 5,
        "internal" => 1,
        _ => 0,
    }
}

fn ref_type_name(t: i32) -> &'static str {
    if t == span_ref_type::CHILD_OF {
        "child_of"
    } else {
        "follows_from"
    }
}

/// Go's `codeFromAttr`: an integer, or a string holding one.
fn code_from(v: &Value) -> Option<i64> {
    match v {
        Value::IntValue(i) => Some(*i),
        Value::StringValue(s) => s.parse().ok(),
        _ => None,
    }
}

/// Go's `getStatusCodeFromHTTPStatusAttr`.
fn status_from_http(code: i64, kind: i32) -> i32 {
    if (400..500).contains(&code) {
        match kind {
            3 => return 2,
            2 => return 0,
            _ => {}
        }
    }
    if (100..399).contains(&code) { 0 } else { 2 }
}

/// Go's `setInternalSpanStatus` (shared by both translators; the HTTP fallback reads
/// `http.status_code`, else `http.response.status_code`).
fn status(attrs: &mut Attrs, kind: i32) -> Option<Status> {
    let mut code = 0;
    let mut message = String::new();
    let mut exists = false;
    if let Some(Value::BoolValue(true)) = attrs.get(TAG_ERROR) {
        code = 2;
        attrs.remove(TAG_ERROR);
        exists = true;
        if let Some(desc) = attrs.remove(TAG_STATUS_DESCRIPTION) {
            message = str_of(Some(&desc));
        } else if let Some(m) = attrs.get(TAG_HTTP_STATUS_MSG) {
            message = str_of(Some(m));
        }
    }
    if let Some(v) = attrs.get(TAG_STATUS_CODE) {
        if !exists {
            exists = true;
            match str_of(Some(v)).to_uppercase().as_str() {
                "OK" => code = 1,
                "ERROR" => code = 2,
                _ => {}
            }
            if let Some(desc) = attrs.remove(TAG_STATUS_DESCRIPTION) {
                message = str_of(Some(&desc));
            }
        }
        attrs.remove(TAG_STATUS_CODE);
    } else if !exists {
        let http = attrs
            .get(HTTP_STATUS_CODE_V0)
            .or_else(|| attrs.get(HTTP_STATUS_CODE_V1));
        if let Some(c) = http.and_then(code_from) {
            let sc = status_from_http(c, kind);
            if sc != 0 {
                exists = true;
                code = sc;
            }
            if let Some(m) = attrs.get(TAG_HTTP_STATUS_MSG) {
                message = str_of(Some(m));
            }
        }
    }
    exists.then_some(Status { code, message })
}

/// Kind and status from the span's attributes, in Go's order (the status needs the kind).
fn kind_and_status(attrs: &mut Attrs, span: &mut OtlpSpan) {
    if attrs.find(TAG_SPAN_KIND).is_some() {
        span.kind = span_kind(&str_of(attrs.get(TAG_SPAN_KIND)));
        attrs.remove(TAG_SPAN_KIND);
    }
    span.status = status(attrs, span.kind);
}

fn event_from(time: u64, fields: Attrs) -> Event {
    let mut attrs = fields;
    let mut e = Event {
        time_unix_nano: time,
        ..Event::default()
    };
    if attrs.find(EVENT_NAME).is_some() {
        e.name = str_of(attrs.get(EVENT_NAME));
        attrs.remove(EVENT_NAME);
    }
    e.attributes = attrs.into_vec();
    e
}

fn link(high: u64, low: u64, span: u64, ref_type: i32) -> Link {
    Link {
        trace_id: trace_id_bytes(high, low),
        span_id: span_id_bytes(span),
        attributes: vec![kv(
            REF_TYPE,
            Value::StringValue(ref_type_name(ref_type).into()),
        )],
        ..Link::default()
    }
}

// ---- Thrift ----

/// Go's `ThriftToTraces`: one resource from the batch's process, one scope (unnamed) with
/// every non-blank span.
pub fn thrift_to_otlp(batch: thrift::Batch, _opts: &Options) -> ExportTraceServiceRequest {
    let mut out = ExportTraceServiceRequest::default();
    let p = batch.process;
    let mut attrs = Attrs::default();
    if !(p.service_name.is_empty() && p.tags.is_none()) {
        let tags = p.tags.unwrap_or_default();
        attrs = Attrs::with_capacity(tags.len() + 1);
        if !p.service_name.is_empty() {
            attrs.put("service.name", Value::StringValue(p.service_name));
        }
        thrift_tags(tags, &mut attrs);
        special_resource_keys(&mut attrs);
    }
    let mut rs = ResourceSpans {
        resource: Some(resource_from(attrs)),
        ..ResourceSpans::default()
    };
    if !batch.spans.is_empty() {
        let blank = thrift::Span::default();
        let spans = batch
            .spans
            .into_iter()
            .filter(|s| *s != blank)
            .map(thrift_span)
            .collect();
        rs.scope_spans.push(ScopeSpans {
            scope: Some(InstrumentationScope::default()),
            spans,
            ..ScopeSpans::default()
        });
    }
    out.resource_spans.push(rs);
    out
}

/// Go's `jThriftSpanParentID`.
fn thrift_parent(s: &thrift::Span) -> i64 {
    if s.parent_span_id != 0 {
        return s.parent_span_id;
    }
    let mut follows = None;
    for r in s.references.as_deref().unwrap_or(&[]) {
        if r.trace_id_high != s.trace_id_high || r.trace_id_low != s.trace_id_low {
            continue;
        }
        if r.ref_type == span_ref_type::CHILD_OF {
            return r.span_id;
        }
        if follows.is_none() && r.ref_type == span_ref_type::FOLLOWS_FROM {
            follows = Some(r.span_id);
        }
    }
    follows.unwrap_or(0)
}

fn micros_to_nanos(us: i64) -> u64 {
    (us as u64).wrapping_mul(1000)
}

fn thrift_span(s: thrift::Span) -> OtlpSpan {
    let parent = thrift_parent(&s);
    let mut span = OtlpSpan {
        trace_id: trace_id_bytes(s.trace_id_high as u64, s.trace_id_low as u64),
        span_id: span_id_bytes(s.span_id as u64),
        name: s.operation_name,
        start_time_unix_nano: micros_to_nanos(s.start_time),
        end_time_unix_nano: micros_to_nanos(s.start_time.wrapping_add(s.duration)),
        parent_span_id: span_id_bytes(parent as u64),
        ..OtlpSpan::default()
    };
    let tags = s.tags.unwrap_or_default();
    let mut attrs = Attrs::with_capacity(tags.len());
    thrift_tags(tags, &mut attrs);
    kind_and_status(&mut attrs, &mut span);
    span.attributes = attrs.into_vec();
    for l in s.logs.unwrap_or_default() {
        let mut fields = Attrs::with_capacity(l.fields.len());
        thrift_tags(l.fields, &mut fields);
        span.events
            .push(event_from(micros_to_nanos(l.timestamp), fields));
    }
    let refs = s.references.unwrap_or_default();
    let only_parent =
        refs.len() == 1 && refs[0].span_id == parent && refs[0].ref_type == span_ref_type::CHILD_OF;
    if !only_parent {
        for r in refs {
            if r.span_id == parent && r.ref_type == span_ref_type::CHILD_OF {
                continue;
            }
            span.links.push(link(
                r.trace_id_high as u64,
                r.trace_id_low as u64,
                r.span_id as u64,
                r.ref_type,
            ));
        }
    }
    span
}

// ---- protobuf ----

/// Go's `ProtoToTraces` for one `PostSpans` batch: spans that carry their own process go to
/// that process's resource (processes with the same encoding share one), the others to the
/// batch's. Resources come in order of first appearance (Go's order is its map's, random).
pub fn proto_to_otlp(batch: proto::Batch, opts: &Options) -> ExportTraceServiceRequest {
    // (process encoding, process, spans)
    type Group = (Vec<u8>, Option<proto::Process>, Vec<proto::Span>);
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut group_of = |p: Option<&proto::Process>, groups: &mut Vec<Group>| -> usize {
        let key = p.map(|p| p.encode_to_vec()).unwrap_or_default();
        *by_key.entry(key).or_insert_with_key(|key| {
            groups.push((key.clone(), p.cloned(), Vec::new()));
            groups.len() - 1
        })
    };
    let batch_group = group_of(batch.process.as_ref(), &mut groups);
    for span in batch.spans {
        let g = match &span.process {
            None => batch_group,
            Some(p) => group_of(Some(p), &mut groups),
        };
        groups[g].2.push(span);
    }
    let mut out = ExportTraceServiceRequest::default();
    for (_, process, spans) in groups {
        if process.is_none() && spans.is_empty() {
            continue;
        }
        let mut rs = ResourceSpans {
            resource: Some(resource_from(proto_resource(process, opts))),
            ..ResourceSpans::default()
        };
        let mut scopes: Vec<(String, String)> = Vec::new();
        let blank = proto::Span::default();
        for mut s in spans {
            if s == blank {
                continue;
            }
            let scope = take_scope(&mut s);
            let i = match scopes.iter().position(|x| *x == scope) {
                Some(i) => i,
                None => {
                    rs.scope_spans.push(ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: scope.0.clone(),
                            version: scope.1.clone(),
                            ..InstrumentationScope::default()
                        }),
                        ..ScopeSpans::default()
                    });
                    scopes.push(scope);
                    scopes.len() - 1
                }
            };
            rs.scope_spans[i].spans.push(proto_span(s, opts));
        }
        out.resource_spans.push(rs);
    }
    out
}

fn proto_resource(p: Option<proto::Process>, opts: &Options) -> Attrs {
    let Some(p) = p.filter(|p| p.service_name != NO_SERVICE_NAME) else {
        return Attrs::default();
    };
    if p.service_name.is_empty() && p.tags.is_empty() {
        return Attrs::default();
    }
    let mut attrs = Attrs::with_capacity(p.tags.len() + 1);
    if !p.service_name.is_empty() {
        attrs.put("service.name", Value::StringValue(p.service_name));
    }
    proto_tags(p.tags, &mut attrs, opts);
    special_resource_keys(&mut attrs);
    attrs
}

/// Go's `getScope`: the first `otel.scope.name` tag (its string field, whatever its type)
/// and, only then, the first `otel.scope.version`, both taken out of the span's tags.
fn take_scope(s: &mut proto::Span) -> (String, String) {
    let mut take = |key: &str| {
        let i = s.tags.iter().position(|t| t.key == key)?;
        Some(s.tags.remove(i).v_str)
    };
    match take(TAG_SCOPE_NAME) {
        Some(name) => (name, take(TAG_SCOPE_VERSION).unwrap_or_default()),
        None => (String::new(), String::new()),
    }
}

fn wrap(nanos: i128) -> u64 {
    // Go's time.UnixNano wraps in int64 arithmetic: the low 64 bits.
    nanos as u64
}

/// `model.Span.ParentSpanID`: the first same-trace CHILD_OF reference, else the first
/// same-trace FOLLOWS_FROM one.
fn proto_parent(s: &proto::Span, trace: (u64, u64)) -> u64 {
    let mut follows = None;
    for r in &s.references {
        if proto::trace_id(&r.trace_id).unwrap_or((0, 0)) != trace {
            continue;
        }
        let id = proto::span_id(&r.span_id).unwrap_or(0);
        if r.ref_type == proto::span_ref_type::CHILD_OF {
            return id;
        }
        if follows.is_none() && r.ref_type == proto::span_ref_type::FOLLOWS_FROM {
            follows = Some(id);
        }
    }
    follows.unwrap_or(0)
}

fn proto_span(s: proto::Span, opts: &Options) -> OtlpSpan {
    // Ids were checked by `proto::decode_post_spans`.
    let (high, low) = proto::trace_id(&s.trace_id).unwrap_or((0, 0));
    let start = proto::timestamp_nanos(s.start_time.as_ref());
    let parent = proto_parent(&s, (high, low));
    let mut span = OtlpSpan {
        trace_id: trace_id_bytes(high, low),
        span_id: span_id_bytes(proto::span_id(&s.span_id).unwrap_or(0)),
        name: s.operation_name,
        start_time_unix_nano: wrap(start),
        end_time_unix_nano: wrap(start + proto::duration_nanos(s.duration.as_ref())),
        parent_span_id: span_id_bytes(parent),
        ..OtlpSpan::default()
    };
    let mut attrs = Attrs::with_capacity(s.tags.len());
    proto_tags(s.tags, &mut attrs, opts);
    kind_and_status(&mut attrs, &mut span);
    if attrs.find(TAG_TRACE_STATE).is_some() {
        span.trace_state = str_of(attrs.get(TAG_TRACE_STATE));
        attrs.remove(TAG_TRACE_STATE);
    }
    span.attributes = attrs.into_vec();
    for l in s.logs {
        let time = wrap(proto::timestamp_nanos(l.timestamp.as_ref()));
        let mut fields = Attrs::with_capacity(l.fields.len());
        proto_tags(l.fields, &mut fields, opts);
        span.events.push(event_from(time, fields));
    }
    let is_parent = |r: &proto::SpanRef| {
        proto::span_id(&r.span_id).unwrap_or(0) == parent
            && r.ref_type == proto::span_ref_type::CHILD_OF
    };
    let refs = &s.references;
    if !(refs.len() == 1 && is_parent(&refs[0])) {
        for r in refs {
            if is_parent(r) {
                continue;
            }
            let (h, l) = proto::trace_id(&r.trace_id).unwrap_or((0, 0));
            span.links.push(link(
                h,
                l,
                proto::span_id(&r.span_id).unwrap_or(0),
                r.ref_type,
            ));
        }
    }
    span
}

#[cfg(test)]
#[path = "translate_tests.rs"]
mod tests;
