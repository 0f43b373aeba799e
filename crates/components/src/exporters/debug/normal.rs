//! `verbosity: normal`: about one line per span, log record or data point, as the Go
//! collector's `internal/normal` marshalers print them.

use std::fmt::Write as _;

use pdata::Request;
use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::metrics::v1::{Metric, metric::Data, number_data_point};

use super::detailed::exp_bucket_factor;
use crate::util::gofmt::{go_f, go_v, id, value_as_string};

/// The normal-verbosity text of a request: every line ends with `\n`.
pub fn normal_text(request: &Request) -> String {
    let mut out = String::new();
    match request {
        // Never called for profiles (see the debug exporter's push).
        Request::Profiles(_) => {}
        Request::Traces(r) => {
            for (i, rs) in r.resource_spans.iter().enumerate() {
                resource_line(
                    &mut out,
                    "ResourceTraces",
                    i,
                    &rs.schema_url,
                    rs.resource.as_ref().map(|r| &r.attributes[..]),
                );
                for (j, ss) in rs.scope_spans.iter().enumerate() {
                    scope_line(
                        &mut out,
                        "ScopeTraces",
                        j,
                        ss.scope.as_ref(),
                        &ss.schema_url,
                    );
                    for span in &ss.spans {
                        let _ = write!(
                            out,
                            "{} {} {}",
                            span.name,
                            id(&span.trace_id),
                            id(&span.span_id)
                        );
                        if !span.attributes.is_empty() {
                            out.push(' ');
                            out.push_str(&attribute_pairs(&span.attributes).join(" "));
                        }
                        out.push('\n');
                    }
                }
            }
        }
        Request::Logs(r) => {
            for (i, rl) in r.resource_logs.iter().enumerate() {
                resource_line(
                    &mut out,
                    "ResourceLog",
                    i,
                    &rl.schema_url,
                    rl.resource.as_ref().map(|r| &r.attributes[..]),
                );
                for (j, sl) in rl.scope_logs.iter().enumerate() {
                    scope_line(&mut out, "ScopeLog", j, sl.scope.as_ref(), &sl.schema_url);
                    for lr in &sl.log_records {
                        // Go always puts the space, even with no attributes.
                        let _ = writeln!(
                            out,
                            "{} {}",
                            value_as_string(lr.body.as_ref()),
                            attribute_pairs(&lr.attributes).join(" ")
                        );
                    }
                }
            }
        }
        Request::Metrics(r) => {
            for (i, rm) in r.resource_metrics.iter().enumerate() {
                resource_line(
                    &mut out,
                    "ResourceMetrics",
                    i,
                    &rm.schema_url,
                    rm.resource.as_ref().map(|r| &r.attributes[..]),
                );
                for (j, sm) in rm.scope_metrics.iter().enumerate() {
                    scope_line(
                        &mut out,
                        "ScopeMetrics",
                        j,
                        sm.scope.as_ref(),
                        &sm.schema_url,
                    );
                    for m in &sm.metrics {
                        metric_lines(&mut out, m);
                    }
                }
            }
        }
    }
    out
}

/// `key=value` per attribute, values by pdata's `AsString`.
fn attribute_pairs(attrs: &[KeyValue]) -> Vec<String> {
    attrs
        .iter()
        .map(|kv| format!("{}={}", kv.key, value_as_string(kv.value.as_ref())))
        .collect()
}

fn resource_line(
    out: &mut String,
    title: &str,
    i: usize,
    schema_url: &str,
    attrs: Option<&[KeyValue]>,
) {
    let _ = write!(out, "{title} #{i}");
    if !schema_url.is_empty() {
        let _ = write!(out, " [{schema_url}]");
    }
    push_attributes(out, attrs.unwrap_or_default());
    out.push('\n');
}

/// `ScopeX #j name@version [schema] k=v`, each part only when non-empty.
fn scope_line(
    out: &mut String,
    title: &str,
    j: usize,
    scope: Option<&InstrumentationScope>,
    schema_url: &str,
) {
    let _ = write!(out, "{title} #{j}");
    let (name, version) = scope.map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
    let mut details = String::new();
    details.push_str(name);
    if !version.is_empty() {
        details.push('@');
        details.push_str(version);
    }
    if !schema_url.is_empty() {
        if !details.is_empty() {
            details.push(' ');
        }
        let _ = write!(details, "[{schema_url}]");
    }
    if !details.is_empty() {
        out.push(' ');
        out.push_str(&details);
    }
    push_attributes(out, scope.map_or(&[][..], |s| &s.attributes));
    out.push('\n');
}

fn push_attributes(out: &mut String, attrs: &[KeyValue]) {
    if !attrs.is_empty() {
        out.push(' ');
        out.push_str(&attribute_pairs(attrs).join(" "));
    }
}

/// One `name{k=v,...} value` line per data point.
fn metric_lines(out: &mut String, m: &Metric) {
    let mut point = |attrs: &[KeyValue], value: &str| {
        let _ = writeln!(
            out,
            "{}{{{}}} {value}",
            m.name,
            attribute_pairs(attrs).join(",")
        );
    };
    match &m.data {
        None => {}
        Some(Data::Gauge(g)) => {
            for p in &g.data_points {
                point(&p.attributes, &number_value(p.value));
            }
        }
        Some(Data::Sum(s)) => {
            for p in &s.data_points {
                point(&p.attributes, &number_value(p.value));
            }
        }
        Some(Data::Histogram(h)) => {
            for p in &h.data_points {
                let mut v = format!("count={}", p.count);
                sum_min_max(&mut v, p.sum, p.min, p.max);
                for (k, count) in p.bucket_counts.iter().enumerate() {
                    match p.explicit_bounds.get(k) {
                        Some(bound) => {
                            let _ = write!(v, " le{}={count}", go_v(*bound));
                        }
                        None => {
                            let _ = write!(v, " {count}");
                        }
                    }
                }
                point(&p.attributes, &v);
            }
        }
        Some(Data::ExponentialHistogram(h)) => {
            for p in &h.data_points {
                let mut v = format!("count={}", p.count);
                sum_min_max(&mut v, p.sum, p.min, p.max);
                let factor = exp_bucket_factor(p.scale);
                if let Some(neg) = &p.negative {
                    for (k, count) in neg.bucket_counts.iter().enumerate().rev() {
                        let index = f64::from(neg.offset) + k as f64;
                        let _ = write!(v, " le{}={count}", go_v(-(index * factor).exp()));
                    }
                }
                if p.zero_count != 0 {
                    let _ = write!(v, " zero={}", p.zero_count);
                }
                if let Some(pos) = &p.positive {
                    for (k, count) in pos.bucket_counts.iter().enumerate() {
                        let index = f64::from(pos.offset) + k as f64;
                        let _ = write!(v, " le{}={count}", go_v(((index + 1.0) * factor).exp()));
                    }
                }
                point(&p.attributes, &v);
            }
        }
        Some(Data::Summary(s)) => {
            for p in &s.data_points {
                let mut v = format!("count={} sum={}", p.count, go_f(p.sum));
                for q in &p.quantile_values {
                    let _ = write!(v, " q{}={}", go_v(q.quantile), go_v(q.value));
                }
                point(&p.attributes, &v);
            }
        }
    }
}

fn number_value(v: Option<number_data_point::Value>) -> String {
    match v {
        Some(number_data_point::Value::AsInt(i)) => i.to_string(),
        Some(number_data_point::Value::AsDouble(d)) => go_v(d),
        None => String::new(),
    }
}

fn sum_min_max(out: &mut String, sum: Option<f64>, min: Option<f64>, max: Option<f64>) {
    for (label, v) in [("sum", sum), ("min", min), ("max", max)] {
        if let Some(v) = v {
            let _ = write!(out, " {label}={}", go_v(v));
        }
    }
}
