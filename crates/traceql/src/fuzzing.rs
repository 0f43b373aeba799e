//! The body of the TraceQL parser fuzz target (`/fuzz/fuzz_targets/traceql_parser.rs`), kept
//! here so a unit test runs it over seeded random and mutated inputs on stable. It must never
//! panic on any input.

use crate::{AttrArray, AttrValue, Kind, SpanView, Status, TraceInfo};

/// A span held in plain fields, for the fuzz body and the tests.
#[derive(Debug, Clone, Default)]
pub struct OwnedSpan {
    pub span_id: u64,
    pub parent_span_id: u64,
    pub name: String,
    pub scope_name: String,
    pub scope_version: String,
    pub duration_ns: u64,
    pub status: Option<Status>,
    pub status_message: String,
    pub kind: Option<Kind>,
    pub span_attrs: Vec<(String, OwnedAttr)>,
    pub resource_attrs: Vec<(String, OwnedAttr)>,
}

#[derive(Debug, Clone)]
pub enum OwnedAttr {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<OwnedAttr>),
    Other,
}

impl AttrArray for Vec<OwnedAttr> {
    fn len(&self) -> usize {
        <[OwnedAttr]>::len(self)
    }
    fn get(&self, i: usize) -> Option<AttrValue<'_>> {
        <[OwnedAttr]>::get(self, i).map(view)
    }
}

fn view(a: &OwnedAttr) -> AttrValue<'_> {
    match a {
        OwnedAttr::Str(s) => AttrValue::Str(s),
        OwnedAttr::Int(i) => AttrValue::Int(*i),
        OwnedAttr::Float(f) => AttrValue::Float(*f),
        OwnedAttr::Bool(b) => AttrValue::Bool(*b),
        OwnedAttr::Array(a) => AttrValue::Array(a),
        OwnedAttr::Other => AttrValue::Other,
    }
}

impl SpanView for OwnedSpan {
    fn span_id(&self) -> u64 {
        self.span_id
    }
    fn parent_span_id(&self) -> u64 {
        self.parent_span_id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn scope_name(&self) -> &str {
        &self.scope_name
    }
    fn scope_version(&self) -> &str {
        &self.scope_version
    }
    fn duration_ns(&self) -> u64 {
        self.duration_ns
    }
    fn status(&self) -> Status {
        self.status.unwrap_or(Status::Unset)
    }
    fn status_message(&self) -> &str {
        &self.status_message
    }
    fn kind(&self) -> Kind {
        self.kind.unwrap_or(Kind::Unspecified)
    }
    fn span_attr(&self, key: &str) -> Option<AttrValue<'_>> {
        self.span_attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| view(v))
    }
    fn resource_attr(&self, key: &str) -> Option<AttrValue<'_>> {
        self.resource_attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| view(v))
    }
}

/// Parses `data` as a query and, when it parses, evaluates it on two small spans.
pub fn parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = crate::parse(text) else {
        return;
    };
    let spans = [
        OwnedSpan {
            span_id: 1,
            name: "GET /a".into(),
            duration_ns: 1_500_000,
            status: Some(Status::Error),
            kind: Some(Kind::Server),
            span_attrs: vec![
                ("http.status_code".into(), OwnedAttr::Int(500)),
                ("x".into(), OwnedAttr::Float(1.5)),
                ("b".into(), OwnedAttr::Bool(true)),
                (
                    "arr".into(),
                    OwnedAttr::Array(vec![OwnedAttr::Int(1), OwnedAttr::Str("a".into())]),
                ),
                ("map".into(), OwnedAttr::Other),
            ],
            resource_attrs: vec![("service.name".into(), OwnedAttr::Str("shop".into()))],
            ..Default::default()
        },
        OwnedSpan {
            span_id: 2,
            parent_span_id: 1,
            ..Default::default()
        },
        OwnedSpan {
            span_id: 3,
            parent_span_id: 3,
            ..Default::default()
        },
    ];
    let trace = TraceInfo {
        root_service: "shop",
        root_name: "GET /a",
        duration_ns: 2_000_000,
    };
    let _ = q.eval_trace(&spans, &trace);
    let _ = q.matches_span(&spans[1], &trace);
    let _ = q.conditions();
    for f in q.fields() {
        let _ = crate::Query::field_value(&f, &spans[0], &trace);
    }
    let _ = q.to_string();
}
