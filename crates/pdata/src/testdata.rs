//! Deterministic generators of realistic OTLP requests for tests, benches and load generators.
//!
//! Everything derives from a `seed` through a small SplitMix64 generator, so the same
//! arguments always give the same request. Items carry about ten semantic-convention-like
//! attributes (strings, ints, doubles, bools); spans form trees with events, links and status;
//! log records carry ~150-byte bodies, severities and trace context; metrics cycle through
//! gauges, delta and cumulative monotonic sums, histograms with exemplars, exponential
//! histograms and summaries. Each resource holds two scopes, so splits can cut scopes.

use crate::proto::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    trace::v1::ExportTraceServiceRequest,
};
use crate::proto::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use crate::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::proto::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};
use crate::proto::resource::v1::Resource;
use crate::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use crate::{Request, Signal};

/// SplitMix64: tiny, fast, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

const BASE_TIME: u64 = 1_700_000_000_000_000_000;

pub(crate) fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub(crate) fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.to_string())
}

fn resource(rng: &mut Rng, i: usize) -> Resource {
    let services = [
        "checkout",
        "cart",
        "frontend",
        "payments",
        "inventory",
        "auth",
    ];
    let mut attributes = vec![
        kv("service.name", s(rng.pick(&services))),
        kv(
            "service.version",
            s(&format!("1.{}.{}", rng.below(20), rng.below(10))),
        ),
        kv(
            "service.instance.id",
            s(&format!("{:016x}", rng.next_u64())),
        ),
        kv("host.name", s(&format!("node-{}-{}", i, rng.below(100)))),
        kv("os.type", s("linux")),
        kv(
            "process.pid",
            any_value::Value::IntValue(rng.below(65536) as i64),
        ),
        kv("telemetry.sdk.name", s("opentelemetry")),
        kv(
            "telemetry.sdk.language",
            s(rng.pick(&["go", "java", "rust", "python"])),
        ),
        kv(
            "k8s.pod.name",
            s(&format!("pod-{:08x}", rng.next_u64() as u32)),
        ),
        kv("k8s.namespace.name", s("production")),
    ];
    if i.is_multiple_of(3) {
        attributes.push(kv(
            "cloud.availability_zones",
            any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(s("eu-west-1a")),
                    },
                    AnyValue {
                        value: Some(s("eu-west-1b")),
                    },
                ],
            }),
        ));
    }
    Resource {
        attributes,
        dropped_attributes_count: (i % 2) as u32,
        entity_refs: vec![],
    }
}

fn scope(rng: &mut Rng, j: usize) -> InstrumentationScope {
    let names = [
        "io.opentelemetry.http",
        "io.opentelemetry.grpc",
        "db.client",
        "app",
    ];
    InstrumentationScope {
        name: rng.pick(&names).to_string(),
        version: format!("0.{}.{}", j, rng.below(9)),
        attributes: if j == 0 {
            vec![kv("scope.kind", s("library"))]
        } else {
            vec![]
        },
        dropped_attributes_count: 0,
    }
}

/// About ten attributes of mixed types, sometimes with nested values and bytes.
fn item_attributes(rng: &mut Rng) -> Vec<KeyValue> {
    let methods = ["GET", "POST", "PUT", "DELETE"];
    let routes = [
        "/api/v1/users/{id}",
        "/api/v1/orders",
        "/healthz",
        "/api/v2/cart/{id}/items",
    ];
    let mut attrs = vec![
        kv("http.request.method", s(rng.pick(&methods))),
        kv("http.route", s(rng.pick(&routes))),
        kv(
            "http.response.status_code",
            any_value::Value::IntValue(rng.pick(&[200, 201, 404, 500])),
        ),
        kv(
            "server.address",
            s(&format!("10.0.{}.{}", rng.below(256), rng.below(256))),
        ),
        kv("server.port", any_value::Value::IntValue(8080)),
        kv("url.scheme", s("https")),
        kv(
            "user_agent.original",
            s("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
        ),
        kv(
            "app.duration_ms",
            any_value::Value::DoubleValue((rng.f64() * 1000.0 * 100.0).round() / 100.0),
        ),
        kv("app.cache_hit", any_value::Value::BoolValue(rng.bool())),
        kv(
            "thread.id",
            any_value::Value::IntValue(rng.below(512) as i64),
        ),
    ];
    match rng.below(8) {
        0 => attrs.push(kv(
            "app.payload",
            any_value::Value::BytesValue(rng.bytes(12)),
        )),
        1 => attrs.push(kv(
            "app.user",
            any_value::Value::KvlistValue(KeyValueList {
                values: vec![
                    kv(
                        "id",
                        any_value::Value::IntValue(rng.below(1_000_000) as i64),
                    ),
                    kv("tier", s("gold")),
                ],
            }),
        )),
        2 => attrs.push(kv(
            "app.negative",
            any_value::Value::IntValue(-(rng.below(1 << 40) as i64)),
        )),
        _ => {}
    }
    attrs
}

fn id(rng: &mut Rng, n: usize) -> Vec<u8> {
    rng.bytes(n)
}

/// `resources` resources, each with `spans_per_resource` spans in two scopes, forming traces
/// of up to 8 spans (the first span of each trace is the root, the others have parents).
pub fn traces(resources: usize, spans_per_resource: usize, seed: u64) -> ExportTraceServiceRequest {
    let mut rng = Rng::new(seed);
    let names = [
        "GET /api/v1/users",
        "SELECT orders",
        "cart.add",
        "publish",
        "HTTP POST",
        "redis GET",
    ];
    let mut resource_spans = Vec::with_capacity(resources);
    for i in 0..resources {
        let resource = resource(&mut rng, i);
        let mut scope_spans = Vec::new();
        let first = spans_per_resource / 2;
        for (j, n) in [first, spans_per_resource - first].into_iter().enumerate() {
            let mut spans = Vec::with_capacity(n);
            let mut trace_id = id(&mut rng, 16);
            let mut parents: Vec<Vec<u8>> = Vec::new();
            for k in 0..n {
                if k.is_multiple_of(8) {
                    trace_id = id(&mut rng, 16);
                    parents.clear();
                }
                let span_id = id(&mut rng, 8);
                let parent_span_id = if parents.is_empty() {
                    vec![]
                } else {
                    parents[rng.below(parents.len() as u64) as usize].clone()
                };
                parents.push(span_id.clone());
                let start = BASE_TIME + rng.below(1_000_000_000_000);
                let end = start + rng.below(2_000_000_000);
                let events = (0..rng.below(3))
                    .map(|e| span::Event {
                        time_unix_nano: start + e * 1000,
                        name: if e == 0 {
                            "exception".into()
                        } else {
                            "message".into()
                        },
                        attributes: vec![
                            kv("exception.type", s("java.lang.IllegalStateException")),
                            kv("message.id", any_value::Value::IntValue(e as i64)),
                        ],
                        dropped_attributes_count: 0,
                    })
                    .collect();
                let links = if rng.below(4) == 0 {
                    vec![span::Link {
                        trace_id: id(&mut rng, 16),
                        span_id: id(&mut rng, 8),
                        trace_state: "vendor=abc".into(),
                        attributes: vec![kv("link.kind", s("follows_from"))],
                        dropped_attributes_count: 0,
                        flags: 0x100,
                    }]
                } else {
                    vec![]
                };
                let code = rng.pick(&[0, 1, 2]);
                spans.push(Span {
                    trace_id: trace_id.clone(),
                    span_id,
                    trace_state: if k.is_multiple_of(5) {
                        "rojo=00f067aa0ba902b7".into()
                    } else {
                        String::new()
                    },
                    parent_span_id,
                    flags: 0x101,
                    name: rng.pick(&names).to_string(),
                    kind: rng.below(6) as i32,
                    start_time_unix_nano: start,
                    end_time_unix_nano: end,
                    attributes: item_attributes(&mut rng),
                    dropped_attributes_count: (k % 3) as u32,
                    events,
                    dropped_events_count: 0,
                    links,
                    dropped_links_count: 0,
                    status: Some(Status {
                        message: if code == 2 {
                            "internal error".into()
                        } else {
                            String::new()
                        },
                        code,
                    }),
                });
            }
            scope_spans.push(ScopeSpans {
                scope: Some(scope(&mut rng, j)),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
            });
        }
        resource_spans.push(ResourceSpans {
            resource: Some(resource),
            scope_spans,
            schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
        });
    }
    ExportTraceServiceRequest { resource_spans }
}

/// `resources` resources, each with `logs_per_resource` log records in two scopes.
pub fn logs(resources: usize, logs_per_resource: usize, seed: u64) -> ExportLogsServiceRequest {
    let mut rng = Rng::new(seed);
    let words = [
        "request",
        "completed",
        "user",
        "order",
        "failed",
        "retrying",
        "connection",
        "timeout",
        "cache",
        "miss",
        "upstream",
        "latency",
        "payment",
        "accepted",
        "queue",
        "flushed",
    ];
    let severities = [
        (5, "DEBUG"),
        (9, "INFO"),
        (9, "INFO"),
        (13, "WARN"),
        (17, "ERROR"),
    ];
    let mut resource_logs = Vec::with_capacity(resources);
    for i in 0..resources {
        let resource = resource(&mut rng, i);
        let mut scope_logs = Vec::new();
        let first = logs_per_resource / 2;
        for (j, n) in [first, logs_per_resource - first].into_iter().enumerate() {
            let mut log_records = Vec::with_capacity(n);
            for k in 0..n {
                let mut body = String::with_capacity(170);
                while body.len() < 150 {
                    body.push_str(rng.pick(&words));
                    body.push(' ');
                }
                body.push_str(&format!("id={}", rng.below(1_000_000)));
                let (severity_number, severity_text) = rng.pick(&severities);
                let time = BASE_TIME + rng.below(1_000_000_000_000);
                let traced = rng.below(3) != 0;
                log_records.push(LogRecord {
                    time_unix_nano: time,
                    observed_time_unix_nano: time + 1_000,
                    severity_number,
                    severity_text: severity_text.into(),
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(body)),
                    }),
                    attributes: item_attributes(&mut rng),
                    dropped_attributes_count: 0,
                    flags: if traced { 1 } else { 0 },
                    trace_id: if traced { id(&mut rng, 16) } else { vec![] },
                    span_id: if traced { id(&mut rng, 8) } else { vec![] },
                    event_name: if k.is_multiple_of(10) {
                        "app.startup".into()
                    } else {
                        String::new()
                    },
                });
            }
            scope_logs.push(ScopeLogs {
                scope: Some(scope(&mut rng, j)),
                log_records,
                schema_url: String::new(),
            });
        }
        resource_logs.push(ResourceLogs {
            resource: Some(resource),
            scope_logs,
            schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
        });
    }
    ExportLogsServiceRequest { resource_logs }
}

fn exemplars(rng: &mut Rng, t: u64) -> Vec<Exemplar> {
    (0..rng.below(3))
        .map(|e| Exemplar {
            filtered_attributes: vec![kv("user.id", s(&format!("u{}", rng.below(1000))))],
            time_unix_nano: t - e * 1000,
            span_id: id(rng, 8),
            trace_id: id(rng, 16),
            value: Some(if rng.bool() {
                exemplar::Value::AsDouble(rng.f64() * 10.0)
            } else {
                exemplar::Value::AsInt(rng.below(1000) as i64)
            }),
        })
        .collect()
}

fn number_points(rng: &mut Rng, n: usize, int: bool) -> Vec<NumberDataPoint> {
    (0..n)
        .map(|_| {
            let t = BASE_TIME + rng.below(1_000_000_000_000);
            NumberDataPoint {
                attributes: item_attributes(rng),
                start_time_unix_nano: t - 60_000_000_000,
                time_unix_nano: t,
                exemplars: exemplars(rng, t),
                flags: 0,
                value: Some(if int {
                    number_data_point::Value::AsInt(rng.below(1 << 40) as i64 - (1 << 20))
                } else {
                    number_data_point::Value::AsDouble(rng.f64() * 1e6)
                }),
            }
        })
        .collect()
}

/// `resources` resources, each with `metrics_per_resource` metrics in two scopes; every
/// metric has 1 to 4 data points and the types cycle through gauge (double), delta monotonic
/// sum (int), cumulative non-monotonic sum (double), histogram, exponential histogram and
/// summary.
pub fn metrics(
    resources: usize,
    metrics_per_resource: usize,
    seed: u64,
) -> ExportMetricsServiceRequest {
    let mut rng = Rng::new(seed);
    let mut resource_metrics = Vec::with_capacity(resources);
    for i in 0..resources {
        let resource = resource(&mut rng, i);
        let mut scope_metrics = Vec::new();
        let first = metrics_per_resource / 2;
        for (j, n) in [first, metrics_per_resource - first]
            .into_iter()
            .enumerate()
        {
            let mut metrics = Vec::with_capacity(n);
            for k in 0..n {
                let points = 1 + rng.below(4) as usize;
                let (name, unit, data) = match (k + i) % 6 {
                    0 => (
                        "system.memory.usage",
                        "By",
                        metric::Data::Gauge(Gauge {
                            data_points: number_points(&mut rng, points, false),
                        }),
                    ),
                    1 => (
                        "http.server.requests",
                        "{request}",
                        metric::Data::Sum(Sum {
                            data_points: number_points(&mut rng, points, true),
                            aggregation_temporality: AggregationTemporality::Delta as i32,
                            is_monotonic: true,
                        }),
                    ),
                    2 => (
                        "process.cpu.time",
                        "s",
                        metric::Data::Sum(Sum {
                            data_points: number_points(&mut rng, points, false),
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: false,
                        }),
                    ),
                    3 => (
                        "http.server.request.duration",
                        "s",
                        metric::Data::Histogram(Histogram {
                            data_points: (0..points)
                                .map(|_| {
                                    let t = BASE_TIME + rng.below(1_000_000_000_000);
                                    let bounds =
                                        vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
                                    let counts: Vec<u64> =
                                        (0..=bounds.len()).map(|_| rng.below(100)).collect();
                                    HistogramDataPoint {
                                        attributes: item_attributes(&mut rng),
                                        start_time_unix_nano: t - 60_000_000_000,
                                        time_unix_nano: t,
                                        count: counts.iter().sum(),
                                        sum: Some(rng.f64() * 100.0),
                                        bucket_counts: counts,
                                        explicit_bounds: bounds,
                                        exemplars: exemplars(&mut rng, t),
                                        flags: 0,
                                        min: Some(0.001),
                                        max: if rng.bool() { Some(3.5) } else { None },
                                    }
                                })
                                .collect(),
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                        }),
                    ),
                    4 => (
                        "rpc.server.duration",
                        "ms",
                        metric::Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: (0..points)
                                .map(|_| {
                                    let t = BASE_TIME + rng.below(1_000_000_000_000);
                                    let pos: Vec<u64> = (0..8).map(|_| rng.below(50)).collect();
                                    let neg: Vec<u64> = (0..2).map(|_| rng.below(5)).collect();
                                    ExponentialHistogramDataPoint {
                                        attributes: item_attributes(&mut rng),
                                        start_time_unix_nano: t - 60_000_000_000,
                                        time_unix_nano: t,
                                        count: pos.iter().sum::<u64>()
                                            + neg.iter().sum::<u64>()
                                            + 3,
                                        sum: Some(rng.f64() * 500.0),
                                        scale: rng.below(8) as i32 - 2,
                                        zero_count: 3,
                                        positive: Some(exponential_histogram_data_point::Buckets {
                                            offset: rng.below(10) as i32 - 5,
                                            bucket_counts: pos,
                                        }),
                                        negative: Some(exponential_histogram_data_point::Buckets {
                                            offset: -3,
                                            bucket_counts: neg,
                                        }),
                                        flags: 0,
                                        exemplars: exemplars(&mut rng, t),
                                        min: Some(-2.0),
                                        max: Some(400.0),
                                        zero_threshold: 1e-9,
                                    }
                                })
                                .collect(),
                            aggregation_temporality: AggregationTemporality::Delta as i32,
                        }),
                    ),
                    _ => (
                        "db.query.latency",
                        "ms",
                        metric::Data::Summary(Summary {
                            data_points: (0..points)
                                .map(|_| {
                                    let t = BASE_TIME + rng.below(1_000_000_000_000);
                                    SummaryDataPoint {
                                        attributes: item_attributes(&mut rng),
                                        start_time_unix_nano: t - 60_000_000_000,
                                        time_unix_nano: t,
                                        count: 100 + rng.below(100),
                                        sum: rng.f64() * 1e4,
                                        quantile_values: [0.0, 0.5, 0.9, 0.99, 1.0]
                                            .iter()
                                            .map(|&q| summary_data_point::ValueAtQuantile {
                                                quantile: q,
                                                value: q * 100.0 + rng.f64(),
                                            })
                                            .collect(),
                                        flags: if rng.below(10) == 0 { 1 } else { 0 },
                                    }
                                })
                                .collect(),
                        }),
                    ),
                };
                metrics.push(Metric {
                    name: name.into(),
                    description: format!("{name} measured by the app"),
                    unit: unit.into(),
                    metadata: if k.is_multiple_of(4) {
                        vec![kv("origin", s("sdk"))]
                    } else {
                        vec![]
                    },
                    data: Some(data),
                });
            }
            scope_metrics.push(ScopeMetrics {
                scope: Some(scope(&mut rng, j)),
                metrics,
                schema_url: String::new(),
            });
        }
        resource_metrics.push(ResourceMetrics {
            resource: Some(resource),
            scope_metrics,
            schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
        });
    }
    ExportMetricsServiceRequest { resource_metrics }
}

/// A request of `signal` built by [`traces`], [`metrics`] or [`logs`].
pub fn request(signal: Signal, resources: usize, per_resource: usize, seed: u64) -> Request {
    match signal {
        Signal::Traces => Request::Traces(traces(resources, per_resource, seed)),
        Signal::Metrics => Request::Metrics(metrics(resources, per_resource, seed)),
        Signal::Logs => Request::Logs(logs(resources, per_resource, seed)),
        Signal::Profiles => Request::Profiles(profiles(resources, per_resource, seed)),
    }
}

/// A profiles request: `resources` resources with one profile of `per_resource` samples each,
/// all indexing into one small dictionary.
pub fn profiles(
    resources: usize,
    per_resource: usize,
    seed: u64,
) -> crate::proto::collector::profiles::v1development::ExportProfilesServiceRequest {
    use crate::proto::collector::profiles::v1development::ExportProfilesServiceRequest;
    use crate::proto::profiles::v1development::{
        Function, Line, Location, Profile, ProfilesDictionary, ResourceProfiles, Sample,
        ScopeProfiles, Stack, ValueType,
    };
    let dictionary = ProfilesDictionary {
        string_table: ["", "cpu", "nanoseconds", "main", "work"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        function_table: vec![
            Function::default(),
            Function {
                name_strindex: 3,
                ..Default::default()
            },
            Function {
                name_strindex: 4,
                ..Default::default()
            },
        ],
        location_table: vec![
            Location::default(),
            Location {
                lines: vec![Line {
                    function_index: 1,
                    line: 7,
                    column: 0,
                }],
                ..Default::default()
            },
            Location {
                lines: vec![Line {
                    function_index: 2,
                    line: 42,
                    column: 0,
                }],
                ..Default::default()
            },
        ],
        stack_table: vec![
            Stack::default(),
            Stack {
                location_indices: vec![1, 2],
            },
        ],
        ..Default::default()
    };
    let resource_profiles = (0..resources)
        .map(|i| ResourceProfiles {
            resource: Some(crate::proto::resource::v1::Resource {
                attributes: vec![kv("service.name", s(&format!("svc-{seed}-{i}")))],
                ..Default::default()
            }),
            scope_profiles: vec![ScopeProfiles {
                scope: None,
                profiles: vec![Profile {
                    sample_type: Some(ValueType {
                        type_strindex: 1,
                        unit_strindex: 2,
                    }),
                    samples: (0..per_resource)
                        .map(|k| Sample {
                            stack_index: 1,
                            values: vec![k as i64 + 1],
                            ..Default::default()
                        })
                        .collect(),
                    time_unix_nano: 1_700_000_000_000_000_000 + seed,
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportProfilesServiceRequest {
        resource_profiles,
        dictionary: Some(dictionary),
    }
}
