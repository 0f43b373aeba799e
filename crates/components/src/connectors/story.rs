//! The traces of the seeds' story, for the connector tests: a `shopper` visits the
//! `grocery-store`, which asks `inventory`. Each visit is one trace of five spans:
//!
//! ```text
//! shopper        browse (INTERNAL)
//! shopper          └ web request (CLIENT, http.method GET)
//! grocery-store      └ /products (SERVER)
//! grocery-store        └ inventory request (CLIENT)
//! inventory              └ /inventory (SERVER)
//! ```
//!
//! [`visits`] gives three visits with these durations (ms) — the third fails at inventory
//! (HTTP 500, status ERROR on every span but `browse`):
//!
//! | visit | browse | web request | /products | inventory request | /inventory |
//! |-------|--------|-------------|-----------|-------------------|------------|
//! | 0     | 25     | 20          | 15        | 5                 | 3          |
//! | 1     | 130    | 120         | 110       | 90                | 80         |
//! | 2     | 9      | 8 (ERROR)   | 7 (ERROR) | 5 (ERROR)         | 1.5 (ERROR)|

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::SpanKind};

pub const T0: u64 = 1_700_000_000_000_000_000;
const MS: f64 = 1_000_000.0;

pub fn str_kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    }
}

pub fn int_kv(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..KeyValue::default()
    }
}

pub fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            str_kv("service.name", service),
            str_kv("telemetry.sdk.language", "python"),
        ],
        ..Resource::default()
    })
}

#[allow(clippy::too_many_arguments)]
pub fn span(
    trace: u8,
    id: u8,
    parent: u8,
    name: &str,
    kind: SpanKind,
    start: u64,
    ms: f64,
    error: bool,
    attributes: Vec<KeyValue>,
) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![trace, 0, 0, 0, 0, 0, 0, id],
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            vec![trace, 0, 0, 0, 0, 0, 0, parent]
        },
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + (ms * MS) as u64,
        attributes,
        status: error.then(|| Status {
            code: 2,
            message: "inventory failed".into(),
        }),
        ..Span::default()
    }
}

fn rs(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: resource(service),
        scope_spans: vec![ScopeSpans {
            scope: Some(pdata::proto::common::v1::InstrumentationScope {
                name: format!("{service}.app"),
                version: "0.1.0".into(),
                ..Default::default()
            }),
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

/// One visit (trace id `visit + 1`); durations in ms as in the module table.
pub fn visit(visit: u8, d: [f64; 5], fail: bool) -> Vec<ResourceSpans> {
    let t = visit + 1;
    let start = T0 + u64::from(visit) * 1_000_000_000;
    let status = if fail { 500 } else { 200 };
    let http = || {
        vec![
            str_kv("http.method", "GET"),
            int_kv("http.status_code", status),
        ]
    };
    vec![
        rs(
            "shopper",
            vec![
                span(
                    t,
                    1,
                    0,
                    "browse",
                    SpanKind::Internal,
                    start,
                    d[0],
                    false,
                    vec![],
                ),
                span(
                    t,
                    2,
                    1,
                    "web request",
                    SpanKind::Client,
                    start + 1_000,
                    d[1],
                    fail,
                    http(),
                ),
            ],
        ),
        rs(
            "grocery-store",
            vec![
                span(
                    t,
                    3,
                    2,
                    "/products",
                    SpanKind::Server,
                    start + 2_000,
                    d[2],
                    fail,
                    http(),
                ),
                span(
                    t,
                    4,
                    3,
                    "inventory request",
                    SpanKind::Client,
                    start + 3_000,
                    d[3],
                    fail,
                    http(),
                ),
            ],
        ),
        rs(
            "inventory",
            vec![span(
                t,
                5,
                4,
                "/inventory",
                SpanKind::Server,
                start + 4_000,
                d[4],
                fail,
                http(),
            )],
        ),
    ]
}

/// The three visits of the module table, in one request.
pub fn visits() -> ExportTraceServiceRequest {
    let mut resource_spans = Vec::new();
    resource_spans.extend(visit(0, [25.0, 20.0, 15.0, 5.0, 3.0], false));
    resource_spans.extend(visit(1, [130.0, 120.0, 110.0, 90.0, 80.0], false));
    resource_spans.extend(visit(2, [9.0, 8.0, 7.0, 5.0, 1.5], true));
    ExportTraceServiceRequest { resource_spans }
}
