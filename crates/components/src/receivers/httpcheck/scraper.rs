//! One check of every target URL, concurrently, and the metrics Go's httpcheck scraper
//! records for it: `httpcheck.duration` (ms), `httpcheck.error` on a failed request, and
//! `httpcheck.status` with one point per status class (1 for the response's class).

use std::time::{Duration, Instant};

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric, number_data_point,
};
use pdata::proto::resource::v1::Resource;

use super::config::{MetricSwitches, Target};
use crate::util::http_client::{build_client, error_chain, header_map};

pub const SCOPE_NAME: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/httpcheckreceiver";

const CLASSES: [(&str, u16); 5] = [("1xx", 1), ("2xx", 2), ("3xx", 3), ("4xx", 4), ("5xx", 5)];

/// A target ready to check: its client and request parts.
pub struct Check {
    client: reqwest::Client,
    method: http::Method,
    headers: http::HeaderMap,
    urls: Vec<String>,
    body: String,
}

impl Check {
    pub fn new(t: &Target, fallback_timeout: Duration) -> Result<Check, String> {
        let mut settings = t.client.settings();
        // Go has no bound when `timeout` is 0; a check that never answers would then hold
        // every later scrape: it is cut at the collection interval.
        if settings.timeout.is_zero() {
            settings.timeout = fallback_timeout;
        }
        let first = t.urls.first().map_or("", String::as_str);
        Ok(Check {
            client: build_client(&settings, first)?,
            method: http::Method::from_bytes(t.method.as_bytes())
                .map_err(|_| format!("invalid method {:?}", t.method))?,
            headers: header_map(&t.client.headers)?,
            urls: t.urls.clone(),
            body: t.body.clone(),
        })
    }
}

/// One URL's outcome.
struct Outcome {
    url: String,
    method: String,
    millis: i64,
    status: u16,
    error: Option<String>,
}

async fn check_one(c: &Check, url: &str) -> Outcome {
    let mut req = c
        .client
        .request(c.method.clone(), url)
        .headers(c.headers.clone());
    if !c.body.is_empty() {
        req = req.body(c.body.clone());
    }
    let start = Instant::now();
    let result = req.send().await;
    let millis = start.elapsed().as_millis() as i64;
    let (status, error) = match result {
        Ok(resp) => (resp.status().as_u16(), None),
        Err(e) => (0, Some(go_error(&c.method, url, &e))),
    };
    Outcome {
        url: url.to_string(),
        method: c.method.to_string(),
        millis,
        status,
        error,
    }
}

/// The text Go's `*url.Error` gives (`Get "http://x": dial tcp 127.0.0.1:1: connect:
/// connection refused`), as near as the Rust client's error says.
fn go_error(method: &http::Method, url: &str, e: &reqwest::Error) -> String {
    let m = method.as_str();
    let op = format!("{}{}", &m[..1], m[1..].to_ascii_lowercase());
    let cause = if e.is_timeout() {
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".to_string()
    } else if e.is_connect() && error_chain(e).contains("Connection refused") {
        let host = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| {
                let port = u.port_u16().unwrap_or(if u.scheme_str() == Some("https") {
                    443
                } else {
                    80
                });
                u.host().map(|h| format!("{h}:{port}"))
            })
            .unwrap_or_default();
        format!("dial tcp {host}: connect: connection refused")
    } else {
        error_chain(e)
    };
    format!("{op} {url:?}: {cause}")
}

/// Checks every URL of every target and builds the scrape's metrics.
pub async fn scrape(
    checks: &[Check],
    switches: &MetricSwitches,
    start_time: u64,
    now: u64,
) -> ExportMetricsServiceRequest {
    let futures = checks
        .iter()
        .flat_map(|c| c.urls.iter().map(move |u| check_one(c, u)));
    let outcomes = futures::future::join_all(futures).await;
    let mut duration = Vec::new();
    let mut errors = Vec::new();
    let mut status = Vec::new();
    for o in &outcomes {
        duration.push(point(vec![kv("http.url", &o.url)], 0, now, o.millis));
        if let Some(e) = &o.error {
            errors.push(point(
                vec![kv("http.url", &o.url), kv("error.message", e)],
                start_time,
                now,
                1,
            ));
        }
        for (class, n) in CLASSES {
            status.push(point(
                vec![
                    kv("http.url", &o.url),
                    int_kv("http.status_code", i64::from(o.status)),
                    kv("http.method", &o.method),
                    kv("http.status_class", class),
                ],
                start_time,
                now,
                i64::from(o.status / 100 == n),
            ));
        }
    }
    let mut metrics = Vec::new();
    // mdatagen emits in name order
    if switches.duration.enabled && !duration.is_empty() {
        metrics.push(Metric {
            name: "httpcheck.duration".into(),
            description: "Measures the duration of the HTTP check.".into(),
            unit: "ms".into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: duration,
            })),
            ..Default::default()
        });
    }
    if switches.error.enabled && !errors.is_empty() {
        metrics.push(cumulative(
            "httpcheck.error",
            "Records errors occurring during HTTP check.",
            "{error}",
            errors,
        ));
    }
    if switches.status.enabled && !status.is_empty() {
        metrics.push(cumulative(
            "httpcheck.status",
            "1 if the check resulted in status_code matching the status_class, otherwise 0.",
            "1",
            status,
        ));
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource::default()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: SCOPE_NAME.into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn cumulative(name: &str, description: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        description: description.into(),
        unit: unit.into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: false,
        })),
        ..Default::default()
    }
}

fn point(attributes: Vec<KeyValue>, start: u64, now: u64, v: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        value: Some(number_data_point::Value::AsInt(v)),
        ..Default::default()
    }
}

fn kv(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn int_kv(key: &str, v: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..Default::default()
    }
}
