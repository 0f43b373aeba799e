//! What the pull exporter serves: the accumulated series as metric families, written in the
//! Prometheus text format 0.0.4 or OpenMetrics 1.0 text, as client_golang's `expfmt` writes
//! what Go's `prometheusexporter` collector yields.
//!
//! Families are sorted by name and their series by labels; labels are sorted by name with
//! `le`/`quantile` last. Sums that are monotonic are counters (OpenMetrics names the family
//! without `_total` and the sample with it); non-monotonic sums and gauges are gauges;
//! histograms give cumulative `_bucket` lines ending in `+Inf`, `_sum` and `_count`;
//! exponential histograms, which only the protobuf format can carry as native histograms,
//! appear in text as their `+Inf` bucket, `_sum` and `_count` (what client_golang's text
//! writer prints for a native histogram). Exemplars (trace and span id) are written in
//! OpenMetrics only, on counters and on the bucket their value falls in. Resources with
//! attributes besides the service ones give a `target_info` gauge.
//! Two series that end up with the same name and labels are written once (the first).

use std::collections::BTreeMap;
use std::fmt::Write;

use pdata::proto::common::v1::KeyValue;
use pdata::proto::metrics::v1::{Exemplar as OtlpExemplar, exemplar, number_data_point};

use crate::accumulator::{Point, Series};
use crate::clientmodel as cm;
use crate::labels::{self, Label, LabelSettings};
use crate::naming::{MetricNamer, MetricType};
use crate::push_float;

pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` messages: the format that carries
    /// native histograms (what Prometheus asks for first when they are enabled).
    Protobuf,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Protobuf => PROTOBUF_CONTENT_TYPE,
        }
    }
}

/// The format to answer an `Accept` header with, as client_golang's `expfmt.Negotiate`
/// (`NegotiateIncludingOpenMetrics` when OpenMetrics is enabled): the media ranges by
/// falling `q` (ties in header order), the first one served wins; text when none is.
pub fn negotiate(accept: Option<&str>, open_metrics: bool) -> Format {
    let Some(accept) = accept else {
        return Format::Text;
    };
    // (q, position, media type, parameters)
    type Range<'a> = (f64, usize, &'a str, Vec<(&'a str, &'a str)>);
    let mut ranges: Vec<Range> = Vec::new();
    for (i, part) in accept.split(',').enumerate() {
        let mut fields = part.split(';').map(str::trim);
        let media = fields.next().unwrap_or("");
        let params: Vec<(&str, &str)> = fields.filter_map(|p| p.split_once('=')).collect();
        let q = params
            .iter()
            .find(|(k, _)| *k == "q")
            .and_then(|(_, v)| v.parse::<f64>().ok())
            .unwrap_or(1.0);
        ranges.push((q, i, media, params));
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, media, params) in &ranges {
        match *media {
            "application/vnd.google.protobuf"
                if param(params, "proto") == Some("io.prometheus.client.MetricFamily")
                    && param(params, "encoding") == Some("delimited") =>
            {
                return Format::Protobuf;
            }
            "application/openmetrics-text"
                if open_metrics
                    && matches!(
                        param(params, "version"),
                        None | Some("1.0.0") | Some("0.0.1")
                    ) =>
            {
                return Format::OpenMetrics;
            }
            "text/plain" if matches!(param(params, "version"), None | Some("0.0.4")) => {
                return Format::Text;
            }
            _ => {}
        }
    }
    Format::Text
}

fn param<'a>(params: &[(&str, &'a str)], k: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
}

/// What the exposition needs from the exporter config.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub namer: MetricNamer,
    /// `const_labels` as `fixed`, scope labels unless `without_scope_info`,
    /// `resource_to_telemetry_conversion`.
    pub labels: LabelSettings,
    pub send_timestamps: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FamilyType {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl FamilyType {
    fn as_str(self) -> &'static str {
        match self {
            FamilyType::Counter => "counter",
            FamilyType::Gauge => "gauge",
            FamilyType::Histogram => "histogram",
            FamilyType::Summary => "summary",
        }
    }
}

#[derive(Debug, Clone)]
struct Ex {
    labels: Vec<Label>,
    value: f64,
    ts_ns: u64,
}

#[derive(Debug, Clone)]
enum Body {
    Value(f64, Option<Ex>),
    Histogram {
        /// (upper bound, cumulative count, exemplar), `+Inf` last.
        buckets: Vec<(f64, u64, Option<Ex>)>,
        sum: Option<f64>,
        count: u64,
        /// The native form of an exponential histogram (protobuf only).
        native: Option<Native>,
    },
    Summary {
        quantiles: Vec<(f64, f64)>,
        sum: f64,
        count: u64,
    },
}

/// A native histogram's buckets.
#[derive(Debug, Clone)]
struct Native {
    schema: i32,
    zero_threshold: f64,
    zero_count: u64,
    positive: (Vec<crate::prompb::BucketSpan>, Vec<i64>),
    negative: (Vec<crate::prompb::BucketSpan>, Vec<i64>),
}

#[derive(Debug, Clone)]
struct Sample {
    body: Body,
    ts_ns: Option<u64>,
    /// The start time of counters, histograms and summaries (from 1s after the epoch on),
    /// written as `_created` in OpenMetrics.
    created_ns: Option<u64>,
}

#[derive(Debug)]
struct Family {
    ty: FamilyType,
    help: String,
    samples: BTreeMap<Vec<Label>, Sample>,
}

fn exemplar_of(e: &OtlpExemplar) -> Ex {
    let mut labels = Vec::new();
    if e.trace_id.iter().any(|&b| b != 0) {
        labels.push(("trace_id".to_string(), hex::encode(&e.trace_id)));
    }
    if e.span_id.iter().any(|&b| b != 0) {
        labels.push(("span_id".to_string(), hex::encode(&e.span_id)));
    }
    Ex {
        labels,
        value: match e.value {
            Some(exemplar::Value::AsDouble(d)) => d,
            Some(exemplar::Value::AsInt(i)) => i as f64,
            None => 0.0,
        },
        ts_ns: e.time_unix_nano,
    }
}

/// Writes the series, and a `target_info` for each resource (job and instance) they come
/// from, in `format`.
pub fn render<'a>(
    series: impl IntoIterator<Item = &'a Series>,
    settings: &Settings,
    format: Format,
) -> Vec<u8> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    // Resources by address: series of one batch share one.
    let mut seen = std::collections::HashSet::new();
    let mut resources: Vec<&'a [KeyValue]> = Vec::new();
    for s in series {
        if seen.insert(s.resource.as_ptr() as usize) {
            resources.push(s.resource.as_slice());
        }
        let Ok(name) = settings.namer.build(&s.desc.name, &s.desc.unit, s.desc.ty) else {
            continue;
        };
        let ty = match s.desc.ty {
            MetricType::MonotonicCounter => FamilyType::Counter,
            MetricType::Gauge | MetricType::NonMonotonicCounter => FamilyType::Gauge,
            MetricType::Histogram | MetricType::ExponentialHistogram => FamilyType::Histogram,
            MetricType::Summary => FamilyType::Summary,
        };
        let labels = labels::point_labels(
            &s.resource,
            Some(&s.scope.0),
            &s.scope.1,
            s.point.attributes(),
            &settings.labels,
        );
        let start = match &s.point {
            Point::Number(p) if ty == FamilyType::Counter => p.start_time_unix_nano,
            Point::Histogram(p) => p.start_time_unix_nano,
            Point::Exponential(p) => p.start_time_unix_nano,
            Point::Summary(p) => p.start_time_unix_nano,
            Point::Number(_) => 0,
        };
        let created_ns = (start >= 1_000_000_000).then_some(start);
        let (body, ts) = match &s.point {
            Point::Number(p) => {
                let v = match p.value {
                    Some(number_data_point::Value::AsDouble(d)) => d,
                    Some(number_data_point::Value::AsInt(i)) => i as f64,
                    None => 0.0,
                };
                let ex = (ty == FamilyType::Counter)
                    .then(|| p.exemplars.last().map(exemplar_of))
                    .flatten();
                (Body::Value(v, ex), p.time_unix_nano)
            }
            Point::Histogram(p) => {
                let mut buckets: Vec<(f64, u64, Option<Ex>)> = Vec::new();
                let mut cum = 0u64;
                for (b, c) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
                    cum = cum.wrapping_add(*c);
                    buckets.push((*b, cum, None));
                }
                buckets.push((f64::INFINITY, p.count, None));
                for e in &p.exemplars {
                    let ex = exemplar_of(e);
                    if let Some(b) = buckets.iter_mut().find(|(bound, _, _)| ex.value <= *bound) {
                        b.2 = Some(ex);
                    }
                }
                (
                    Body::Histogram {
                        buckets,
                        sum: p.sum,
                        count: p.count,
                        native: None,
                    },
                    p.time_unix_nano,
                )
            }
            Point::Exponential(p) => {
                // Go's collector: scales below -4 cannot be served (the metric is left out),
                // above 8 they are merged down to 8.
                if p.scale < -4 {
                    continue;
                }
                let scale_down = (p.scale - 8).max(0);
                let native = Native {
                    schema: p.scale.min(8),
                    zero_threshold: if p.zero_threshold == 0.0 {
                        crate::native::DEFAULT_ZERO_THRESHOLD
                    } else {
                        p.zero_threshold
                    },
                    zero_count: p.zero_count,
                    positive: crate::native::buckets_layout(p.positive.as_ref(), scale_down),
                    negative: crate::native::buckets_layout(p.negative.as_ref(), scale_down),
                };
                (
                    Body::Histogram {
                        buckets: vec![(f64::INFINITY, p.count, None)],
                        sum: p.sum,
                        count: p.count,
                        native: Some(native),
                    },
                    p.time_unix_nano,
                )
            }
            Point::Summary(p) => (
                Body::Summary {
                    quantiles: p
                        .quantile_values
                        .iter()
                        .map(|q| (q.quantile, q.value))
                        .collect(),
                    sum: p.sum,
                    count: p.count,
                },
                p.time_unix_nano,
            ),
        };
        let fam = families.entry(name).or_insert_with(|| Family {
            ty,
            help: s.desc.description.clone(),
            samples: BTreeMap::new(),
        });
        if fam.ty != ty {
            // client_golang refuses a second type under one name; the first stays.
            continue;
        }
        fam.samples.entry(labels).or_insert(Sample {
            body,
            ts_ns: settings.send_timestamps.then_some(ts),
            created_ns,
        });
    }
    // Go's collector: one per (job, instance) of the series served, with the resource's other
    // attributes, under the (sanitised) namespace, without const labels.
    let target_info = if settings.namer.namespace.is_empty() {
        "target_info".to_string()
    } else {
        format!(
            "{}_target_info",
            crate::naming::label_or_raw(&settings.namer.namespace)
        )
    };
    // One per job and instance, the first resource seen for them (Go's resourceSignature).
    let mut identities = std::collections::HashSet::new();
    for res in resources {
        let (job, instance) = (labels::job(res), labels::instance(res));
        if job.is_none() && instance.is_none() {
            continue;
        }
        if !identities.insert((job, instance)) {
            continue;
        }
        let others: Vec<KeyValue> = res
            .iter()
            .filter(|kv| {
                kv.key != labels::SERVICE_NAME
                    && kv.key != labels::SERVICE_NAMESPACE
                    && kv.key != labels::SERVICE_INSTANCE_ID
            })
            .cloned()
            .collect();
        let l = labels::point_labels(res, None, "", &others, &LabelSettings::default());
        {
            let labels = l;
            let fam = families
                .entry(target_info.clone())
                .or_insert_with(|| Family {
                    ty: FamilyType::Gauge,
                    help: "Target metadata".into(),
                    samples: BTreeMap::new(),
                });
            fam.samples.entry(labels).or_insert(Sample {
                body: Body::Value(1.0, None),
                ts_ns: None,
                created_ns: None,
            });
        }
    }
    if format == Format::Protobuf {
        let mut out = Vec::new();
        for (name, fam) in &families {
            let mf = to_protobuf(name, fam);
            // A message in memory always encodes.
            let _ = prost::Message::encode_length_delimited(&mf, &mut out);
        }
        return out;
    }
    let mut out = String::new();
    for (name, fam) in &families {
        write_family(&mut out, name, fam, format);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out.into_bytes()
}

fn pairs(labels: &[Label]) -> Vec<cm::LabelPair> {
    labels
        .iter()
        .map(|(k, v)| cm::LabelPair {
            name: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

fn cm_exemplar(e: &Ex) -> cm::Exemplar {
    cm::Exemplar {
        label: pairs(&e.labels),
        value: Some(e.value),
        timestamp: (e.ts_ns != 0).then(|| cm::Timestamp::from_nanos(e.ts_ns)),
    }
}

fn cm_spans(spans: &[crate::prompb::BucketSpan]) -> Vec<cm::BucketSpan> {
    spans
        .iter()
        .map(|s| cm::BucketSpan {
            offset: Some(s.offset),
            length: Some(s.length),
        })
        .collect()
}

/// A family as client_golang gathers it.
fn to_protobuf(name: &str, fam: &Family) -> cm::MetricFamily {
    let ty = match fam.ty {
        FamilyType::Counter => cm::MetricType::Counter,
        FamilyType::Gauge => cm::MetricType::Gauge,
        FamilyType::Histogram => cm::MetricType::Histogram,
        FamilyType::Summary => cm::MetricType::Summary,
    };
    let created = |s: &Sample| s.created_ns.map(cm::Timestamp::from_nanos);
    let metric = fam
        .samples
        .iter()
        .map(|(labels, s)| {
            let mut m = cm::Metric {
                label: pairs(labels),
                timestamp_ms: s.ts_ns.map(|t| (t / 1_000_000) as i64),
                ..Default::default()
            };
            match &s.body {
                Body::Value(v, ex) if fam.ty == FamilyType::Counter => {
                    m.counter = Some(cm::Counter {
                        value: Some(*v),
                        exemplar: ex.as_ref().map(cm_exemplar),
                        created_timestamp: created(s),
                    });
                }
                Body::Value(v, _) => m.gauge = Some(cm::Gauge { value: Some(*v) }),
                Body::Histogram {
                    buckets,
                    sum,
                    count,
                    native,
                } => {
                    let mut h = cm::Histogram {
                        sample_count: Some(*count),
                        sample_sum: Some(sum.unwrap_or(0.0)),
                        created_timestamp: created(s),
                        ..Default::default()
                    };
                    match native {
                        None => {
                            // client_golang leaves the implicit +Inf bucket out.
                            h.bucket = buckets
                                .iter()
                                .filter(|(b, _, _)| b.is_finite())
                                .map(|(b, c, ex)| cm::Bucket {
                                    cumulative_count: Some(*c),
                                    upper_bound: Some(*b),
                                    exemplar: ex.as_ref().map(cm_exemplar),
                                })
                                .collect();
                        }
                        Some(n) => {
                            h.schema = Some(n.schema);
                            h.zero_threshold = Some(n.zero_threshold);
                            h.zero_count = Some(n.zero_count);
                            h.positive_span = cm_spans(&n.positive.0);
                            h.positive_delta = n.positive.1.clone();
                            h.negative_span = cm_spans(&n.negative.0);
                            h.negative_delta = n.negative.1.clone();
                            if h.positive_span.is_empty() && h.negative_span.is_empty() {
                                // An empty span marks a native histogram with no buckets
                                // (client_golang does the same).
                                h.positive_span.push(cm::BucketSpan {
                                    offset: Some(0),
                                    length: Some(0),
                                });
                            }
                        }
                    }
                    m.histogram = Some(h);
                }
                Body::Summary {
                    quantiles,
                    sum,
                    count,
                } => {
                    m.summary = Some(cm::Summary {
                        sample_count: Some(*count),
                        sample_sum: Some(*sum),
                        quantile: quantiles
                            .iter()
                            .map(|(q, v)| cm::Quantile {
                                quantile: Some(*q),
                                value: Some(*v),
                            })
                            .collect(),
                        created_timestamp: created(s),
                    });
                }
            }
            m
        })
        .collect();
    cm::MetricFamily {
        name: Some(name.to_string()),
        help: Some(fam.help.clone()),
        r#type: Some(ty as i32),
        metric,
    }
}

fn escape_help(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_value(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

fn write_labels(out: &mut String, labels: &[Label], extra: Option<(&str, f64)>, om: bool) {
    if labels.is_empty() && extra.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        escape_value(out, v);
        out.push('"');
    }
    if let Some((k, v)) = extra {
        if !first {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        if om {
            push_om_float(out, v);
        } else {
            push_float(out, v);
        }
        out.push('"');
    }
    out.push('}');
}

/// client_golang's `writeOpenMetricsFloat`: integral values get `.0`.
fn push_om_float(out: &mut String, f: f64) {
    let start = out.len();
    push_float(out, f);
    let s = &out[start..];
    if f.is_finite() && !s.contains(['.', 'e']) {
        out.push_str(".0");
    }
}

fn write_ts(out: &mut String, ts_ns: Option<u64>, om: bool) {
    if let Some(ts) = ts_ns {
        if om {
            out.push(' ');
            push_float(out, ts as f64 / 1e9);
        } else {
            let _ = write!(out, " {}", ts / 1_000_000);
        }
    }
}

fn write_exemplar(out: &mut String, ex: &Option<Ex>, om: bool) {
    let (Some(ex), true) = (ex, om) else {
        return;
    };
    out.push_str(" # ");
    out.push('{');
    for (i, (k, v)) in ex.labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_value(out, v);
        out.push('"');
    }
    out.push_str("} ");
    push_om_float(out, ex.value);
    if ex.ts_ns != 0 {
        out.push(' ');
        push_float(out, ex.ts_ns as f64 / 1e9);
    }
}

fn write_family(out: &mut String, name: &str, fam: &Family, format: Format) {
    let om = format == Format::OpenMetrics;
    let family_name = if om && fam.ty == FamilyType::Counter {
        name.strip_suffix("_total").unwrap_or(name)
    } else {
        name
    };
    out.push_str("# HELP ");
    out.push_str(family_name);
    out.push(' ');
    escape_help(out, &fam.help);
    out.push('\n');
    let _ = writeln!(out, "# TYPE {family_name} {}", fam.ty.as_str());
    for (labels, s) in &fam.samples {
        write_sample(out, name, family_name, fam.ty, labels, s, om);
        if let (true, Some(created)) = (om, s.created_ns) {
            let _ = write!(out, "{family_name}_created");
            write_labels(out, labels, None, om);
            out.push(' ');
            push_om_float(out, created as f64 / 1e9);
            out.push('\n');
        }
    }
}

fn write_sample(
    out: &mut String,
    name: &str,
    family_name: &str,
    ty: FamilyType,
    labels: &[Label],
    s: &Sample,
    om: bool,
) {
    let value = |out: &mut String, v: f64| {
        if om {
            push_om_float(out, v)
        } else {
            push_float(out, v)
        }
    };
    {
        match &s.body {
            Body::Value(v, ex) => {
                if om && ty == FamilyType::Counter {
                    let _ = write!(out, "{family_name}_total");
                } else {
                    out.push_str(name);
                }
                write_labels(out, labels, None, om);
                out.push(' ');
                value(out, *v);
                write_ts(out, s.ts_ns, om);
                write_exemplar(out, ex, om);
                out.push('\n');
            }
            Body::Histogram {
                buckets,
                sum,
                count,
                ..
            } => {
                for (bound, c, ex) in buckets {
                    let _ = write!(out, "{name}_bucket");
                    write_labels(out, labels, Some(("le", *bound)), om);
                    let _ = write!(out, " {c}");
                    write_ts(out, s.ts_ns, om);
                    write_exemplar(out, ex, om);
                    out.push('\n');
                }
                // client_golang's const histograms always have a sum (0 when unset).
                let _ = write!(out, "{name}_sum");
                write_labels(out, labels, None, om);
                out.push(' ');
                value(out, sum.unwrap_or(0.0));
                write_ts(out, s.ts_ns, om);
                out.push('\n');
                let _ = write!(out, "{name}_count");
                write_labels(out, labels, None, om);
                let _ = write!(out, " {count}");
                write_ts(out, s.ts_ns, om);
                out.push('\n');
            }
            Body::Summary {
                quantiles,
                sum,
                count,
            } => {
                for (q, v) in quantiles {
                    out.push_str(name);
                    write_labels(out, labels, Some(("quantile", *q)), om);
                    out.push(' ');
                    value(out, *v);
                    write_ts(out, s.ts_ns, om);
                    out.push('\n');
                }
                let _ = write!(out, "{name}_sum");
                write_labels(out, labels, None, om);
                out.push(' ');
                value(out, *sum);
                write_ts(out, s.ts_ns, om);
                out.push('\n');
                let _ = write!(out, "{name}_count");
                write_labels(out, labels, None, om);
                let _ = write!(out, " {count}");
                write_ts(out, s.ts_ns, om);
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::accumulator::Accumulator;
    use crate::build::*;

    const T: u64 = 1_700_000_000_000_000_000;

    fn scrape(
        metrics: Vec<pdata::proto::metrics::v1::Metric>,
        settings: &Settings,
        format: Format,
    ) -> String {
        let mut acc = Accumulator::new();
        let now = Instant::now();
        acc.accumulate(
            &request(
                vec![
                    kv("service.name", "svc"),
                    kv("service.instance.id", "i1"),
                    kv("host.name", "h\"1"),
                ],
                metrics,
            ),
            now,
        );
        let series = acc.collect(now, Duration::from_secs(60));
        let series: Vec<Series> = series.into_iter().cloned().collect();
        String::from_utf8(render(series.iter(), settings, format)).unwrap()
    }

    fn settings() -> Settings {
        Settings {
            namer: MetricNamer::new("", true),
            labels: LabelSettings::default(),
            send_timestamps: false,
        }
    }

    #[test]
    fn text_format_0_0_4() {
        let mut c = sum(
            "http.requests",
            "",
            true,
            false,
            vec![point(vec![kv("code", "200")], T - 1, T, 1e6)],
        );
        c.description = "Requests\nserved \\ total".into();
        let got = scrape(
            vec![
                c,
                gauge("mem.usage", "By", vec![point(vec![], 0, T, 1.5)]),
                histogram(
                    "latency",
                    "ms",
                    false,
                    vec![hpoint(vec![], 0, T, &[0.5, 10.0], &[1, 2, 3], 20.0)],
                ),
            ],
            &settings(),
            Format::Text,
        );
        assert_eq!(
            got,
            "# HELP http_requests_total Requests\\nserved \\\\ total
# TYPE http_requests_total counter
http_requests_total{code=\"200\",instance=\"i1\",job=\"svc\"} 1e+06
# HELP latency_milliseconds 
# TYPE latency_milliseconds histogram
latency_milliseconds_bucket{instance=\"i1\",job=\"svc\",le=\"0.5\"} 1
latency_milliseconds_bucket{instance=\"i1\",job=\"svc\",le=\"10\"} 3
latency_milliseconds_bucket{instance=\"i1\",job=\"svc\",le=\"+Inf\"} 6
latency_milliseconds_sum{instance=\"i1\",job=\"svc\"} 20
latency_milliseconds_count{instance=\"i1\",job=\"svc\"} 6
# HELP mem_usage_bytes 
# TYPE mem_usage_bytes gauge
mem_usage_bytes{instance=\"i1\",job=\"svc\"} 1.5
# HELP target_info Target metadata
# TYPE target_info gauge
target_info{host_name=\"h\\\"1\",instance=\"i1\",job=\"svc\"} 1
"
        );
    }

    #[test]
    fn openmetrics_with_exemplars_timestamps_and_eof() {
        let mut p = point(vec![], T - 1, T, 3.0);
        p.exemplars.push(OtlpExemplar {
            value: Some(exemplar::Value::AsDouble(1.0)),
            time_unix_nano: T,
            trace_id: vec![0xab; 16],
            span_id: vec![0xcd; 8],
            ..Default::default()
        });
        let s = Settings {
            send_timestamps: true,
            ..settings()
        };
        let got = scrape(
            vec![sum("calls", "", true, false, vec![p])],
            &s,
            Format::OpenMetrics,
        );
        let tid = "ab".repeat(16);
        let sid = "cd".repeat(8);
        assert_eq!(
            got,
            format!(
                "# HELP calls 
# TYPE calls counter
calls_total{{instance=\"i1\",job=\"svc\"}} 3.0 1.7e+09 # {{trace_id=\"{tid}\",span_id=\"{sid}\"}} 1.0 1.7e+09
calls_created{{instance=\"i1\",job=\"svc\"}} 1.7e+09
# HELP target_info Target metadata
# TYPE target_info gauge
target_info{{host_name=\"h\\\"1\",instance=\"i1\",job=\"svc\"}} 1.0
# EOF
"
            )
        );
    }

    #[test]
    fn namespace_const_labels_and_scope_labels() {
        let s = Settings {
            namer: MetricNamer::new("demo", true),
            labels: LabelSettings {
                scope_labels: true,
                scope_schema_and_attributes: true,
                ..Default::default()
            }
            .with_fixed([("env", "prod")]),
            send_timestamps: true,
        };
        let got = scrape(
            vec![gauge("g", "", vec![point(vec![], 0, T, 2.0)])],
            &s,
            Format::Text,
        );
        assert!(got.contains(
            "demo_g{env=\"prod\",instance=\"i1\",job=\"svc\",otel_scope_name=\"meter\",otel_scope_schema_url=\"\",otel_scope_version=\"\"} 2 1700000000000\n"
        ), "{got}");
        // target_info: under the namespace, without const labels.
        assert!(got.contains("demo_target_info{host_name="), "{got}");
    }

    #[test]
    fn protobuf_carries_native_histograms_classic_buckets_and_counters() {
        use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;
        use pdata::proto::metrics::v1::{
            AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Metric,
            metric::Data,
        };
        let exp = Metric {
            name: "exp".into(),
            unit: "ms".into(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                data_points: vec![ExponentialHistogramDataPoint {
                    time_unix_nano: T,
                    start_time_unix_nano: T - 1_000_000_000,
                    scale: 2,
                    count: 4,
                    sum: Some(10.0),
                    zero_count: 1,
                    positive: Some(Buckets {
                        offset: 3,
                        bucket_counts: vec![1, 2],
                    }),
                    ..Default::default()
                }],
            })),
            ..Default::default()
        };
        let mut acc = Accumulator::new();
        let now = Instant::now();
        acc.accumulate(
            &request(
                vec![kv("service.name", "svc")],
                vec![
                    exp,
                    sum(
                        "c",
                        "",
                        true,
                        false,
                        vec![point(vec![], T - 1_000_000_000, T, 3.0)],
                    ),
                    histogram(
                        "h",
                        "s",
                        false,
                        vec![hpoint(vec![], 0, T, &[1.0], &[1, 1], 2.0)],
                    ),
                ],
            ),
            now,
        );
        let body = render(
            acc.collect(now, Duration::from_secs(60)),
            &settings(),
            Format::Protobuf,
        );
        let mut buf = &body[..];
        let mut fams = Vec::new();
        while !buf.is_empty() {
            fams.push(
                <cm::MetricFamily as prost::Message>::decode_length_delimited(&mut buf).unwrap(),
            );
        }
        let names: Vec<&str> = fams.iter().map(|f| f.name.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            vec!["c_total", "exp_milliseconds", "h_seconds", "target_info"]
        );
        let c = fams[0].metric[0].counter.as_ref().unwrap();
        assert_eq!(c.value, Some(3.0));
        assert_eq!(
            c.created_timestamp.as_ref().unwrap().seconds,
            (T / 1_000_000_000 - 1) as i64
        );
        let e = fams[1].metric[0].histogram.as_ref().unwrap();
        assert_eq!(
            (e.schema, e.zero_count, e.sample_count),
            (Some(2), Some(1), Some(4))
        );
        assert_eq!(
            e.positive_span,
            vec![cm::BucketSpan {
                offset: Some(4),
                length: Some(2)
            }]
        );
        assert_eq!(e.positive_delta, vec![1, 1]);
        assert!(e.bucket.is_empty());
        let h = fams[2].metric[0].histogram.as_ref().unwrap();
        assert_eq!(h.schema, None);
        assert_eq!(h.bucket.len(), 1, "the +Inf bucket is implicit");
        assert_eq!(
            (h.bucket[0].upper_bound, h.bucket[0].cumulative_count),
            (Some(1.0), Some(1))
        );
        // Text shows the exponential histogram as its count and sum.
        let text = String::from_utf8(render(acc.series(), &settings(), Format::Text)).unwrap();
        assert!(
            text.contains("exp_milliseconds_bucket{job=\"svc\",le=\"+Inf\"} 4\n"),
            "{text}"
        );
    }

    #[test]
    fn content_negotiation() {
        // Prometheus 2.42 with native histograms enabled.
        let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(Some(native), false), Format::Protobuf);
        assert_eq!(
            negotiate(
                Some("text/plain;q=0.5,application/openmetrics-text;version=1.0.0"),
                true
            ),
            Format::OpenMetrics
        );
        assert_eq!(negotiate(Some("*/*"), true), Format::Text);
        assert_eq!(negotiate(None, true), Format::Text);
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(Some(prom), true), Format::OpenMetrics);
        assert_eq!(negotiate(Some(prom), false), Format::Text);
        assert_eq!(negotiate(Some("text/plain"), true), Format::Text);
        assert_eq!(
            negotiate(Some("application/openmetrics-text; version=2.0.0"), true),
            Format::Text
        );
    }
}
