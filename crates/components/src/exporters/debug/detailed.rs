//! `verbosity: detailed`: the Go collector's `otlptext` dump of a request, byte for byte
//! (otelcol.md §6 "debug"), so that people can diff it against what the Go collector prints.

use std::fmt::Write as _;

use pdata::Request;
use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, metric::Data, number_data_point,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::span::{Event, Link};

use crate::util::gofmt::{go_f, id, timestamp, typed_value};

/// The `otlptext` text of a request: every line ends with `\n`.
pub fn detailed_text(request: &Request) -> String {
    let mut b = Buf(String::new());
    match request {
        // Never called for profiles (see the debug exporter's push).
        Request::Profiles(_) => {}
        Request::Traces(r) => {
            for (i, rs) in r.resource_spans.iter().enumerate() {
                b.line(format_args!("ResourceSpans #{i}"));
                b.resource(&rs.schema_url, rs.resource.as_ref());
                for (j, ss) in rs.scope_spans.iter().enumerate() {
                    b.line(format_args!("ScopeSpans #{j}"));
                    b.line(format_args!("ScopeSpans SchemaURL: {}", ss.schema_url));
                    b.scope(ss.scope.as_ref());
                    for (k, span) in ss.spans.iter().enumerate() {
                        b.line(format_args!("Span #{k}"));
                        b.field("Trace ID", &id(&span.trace_id));
                        b.field("Parent ID", &id(&span.parent_span_id));
                        b.field("ID", &id(&span.span_id));
                        b.field("Name", &span.name);
                        b.field("Kind", span_kind(span.kind));
                        if !span.trace_state.is_empty() {
                            b.field("TraceState", &span.trace_state);
                        }
                        b.field("Start time", &timestamp(span.start_time_unix_nano));
                        b.field("End time", &timestamp(span.end_time_unix_nano));
                        let status = span.status.as_ref();
                        b.field("Status code", status_code(status.map_or(0, |s| s.code)));
                        b.field("Status message", status.map_or("", |s| &s.message));
                        b.field(
                            "DroppedAttributesCount",
                            &span.dropped_attributes_count.to_string(),
                        );
                        b.field("DroppedEventsCount", &span.dropped_events_count.to_string());
                        b.field("DroppedLinksCount", &span.dropped_links_count.to_string());
                        b.attributes("Attributes", &span.attributes);
                        b.events(&span.events);
                        b.links(&span.links);
                    }
                }
            }
        }
        Request::Metrics(r) => {
            for (i, rm) in r.resource_metrics.iter().enumerate() {
                b.line(format_args!("ResourceMetrics #{i}"));
                b.resource(&rm.schema_url, rm.resource.as_ref());
                for (j, sm) in rm.scope_metrics.iter().enumerate() {
                    b.line(format_args!("ScopeMetrics #{j}"));
                    b.line(format_args!("ScopeMetrics SchemaURL: {}", sm.schema_url));
                    b.scope(sm.scope.as_ref());
                    for (k, metric) in sm.metrics.iter().enumerate() {
                        b.line(format_args!("Metric #{k}"));
                        b.metric(metric);
                    }
                }
            }
        }
        Request::Logs(r) => {
            for (i, rl) in r.resource_logs.iter().enumerate() {
                b.line(format_args!("ResourceLog #{i}"));
                b.resource(&rl.schema_url, rl.resource.as_ref());
                for (j, sl) in rl.scope_logs.iter().enumerate() {
                    b.line(format_args!("ScopeLogs #{j}"));
                    b.line(format_args!("ScopeLogs SchemaURL: {}", sl.schema_url));
                    b.scope(sl.scope.as_ref());
                    for (k, lr) in sl.log_records.iter().enumerate() {
                        b.line(format_args!("LogRecord #{k}"));
                        b.line(format_args!(
                            "ObservedTimestamp: {}",
                            timestamp(lr.observed_time_unix_nano)
                        ));
                        b.line(format_args!("Timestamp: {}", timestamp(lr.time_unix_nano)));
                        b.line(format_args!("SeverityText: {}", lr.severity_text));
                        b.line(format_args!(
                            "SeverityNumber: {}({})",
                            severity_name(lr.severity_number),
                            lr.severity_number
                        ));
                        if !lr.event_name.is_empty() {
                            b.line(format_args!("EventName: {}", lr.event_name));
                        }
                        b.line(format_args!("Body: {}", typed_value(lr.body.as_ref())));
                        b.attributes("Attributes", &lr.attributes);
                        b.line(format_args!("Trace ID: {}", id(&lr.trace_id)));
                        b.line(format_args!("Span ID: {}", id(&lr.span_id)));
                        b.line(format_args!("Flags: {}", lr.flags));
                    }
                }
            }
        }
    }
    b.0
}

struct Buf(String);

impl Buf {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.0.write_fmt(args);
        self.0.push('\n');
    }

    /// A span field: `    %-15s: %s`.
    fn field(&mut self, label: &str, value: &str) {
        self.line(format_args!("    {label:<15}: {value}"));
    }

    /// `header:` then one line per attribute (repeated keys included, in order). A header
    /// holding `->` (`     -> Attributes:`) indents its attribute lines by what precedes the
    /// arrow; that is how the Go code gets the nested `          ->` and the double colon.
    fn attributes(&mut self, header: &str, attrs: &[KeyValue]) {
        if attrs.is_empty() {
            return;
        }
        self.line(format_args!("{header}:"));
        let indent = header.split_once("->").map_or("", |(before, _)| before);
        for kv in attrs {
            self.line(format_args!(
                "{indent}     -> {}: {}",
                kv.key,
                typed_value(kv.value.as_ref())
            ));
        }
    }

    fn resource(&mut self, schema_url: &str, resource: Option<&Resource>) {
        self.line(format_args!("Resource SchemaURL: {schema_url}"));
        let Some(resource) = resource else { return };
        self.attributes("Resource attributes", &resource.attributes);
        if resource.entity_refs.is_empty() {
            return;
        }
        self.line(format_args!("Resource entity refs:"));
        for (i, e) in resource.entity_refs.iter().enumerate() {
            self.line(format_args!("     -> Entity ref #{i}:"));
            self.line(format_args!("          -> Type: {}", e.r#type));
            if !e.schema_url.is_empty() {
                self.line(format_args!("          -> Schema URL: {}", e.schema_url));
            }
            for (title, keys) in [
                ("ID keys", &e.id_keys),
                ("Description keys", &e.description_keys),
            ] {
                if !keys.is_empty() {
                    self.line(format_args!("          -> {title}:"));
                    for k in keys {
                        self.line(format_args!("               -> {k}"));
                    }
                }
            }
        }
    }

    fn scope(&mut self, scope: Option<&InstrumentationScope>) {
        let (name, version) = scope.map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
        self.line(format_args!("InstrumentationScope {name} {version}"));
        if let Some(s) = scope {
            self.attributes("InstrumentationScope attributes", &s.attributes);
        }
    }

    fn events(&mut self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        self.line(format_args!("Events:"));
        for (i, e) in events.iter().enumerate() {
            self.line(format_args!("SpanEvent #{i}"));
            self.line(format_args!("     -> Name: {}", e.name));
            self.line(format_args!(
                "     -> Timestamp: {}",
                timestamp(e.time_unix_nano)
            ));
            self.line(format_args!(
                "     -> DroppedAttributesCount: {}",
                e.dropped_attributes_count
            ));
            self.attributes("     -> Attributes:", &e.attributes);
        }
    }

    fn links(&mut self, links: &[Link]) {
        if links.is_empty() {
            return;
        }
        self.line(format_args!("Links:"));
        for (i, l) in links.iter().enumerate() {
            self.line(format_args!("SpanLink #{i}"));
            self.line(format_args!("     -> Trace ID: {}", id(&l.trace_id)));
            self.line(format_args!("     -> ID: {}", id(&l.span_id)));
            self.line(format_args!("     -> TraceState: {}", l.trace_state));
            self.line(format_args!(
                "     -> DroppedAttributesCount: {}",
                l.dropped_attributes_count
            ));
            self.attributes("     -> Attributes:", &l.attributes);
        }
    }

    fn metric(&mut self, m: &Metric) {
        self.line(format_args!("Descriptor:"));
        self.line(format_args!("     -> Name: {}", m.name));
        self.line(format_args!("     -> Description: {}", m.description));
        self.line(format_args!("     -> Unit: {}", m.unit));
        self.line(format_args!(
            "     -> DataType: {}",
            metric_type(m.data.as_ref())
        ));
        self.attributes("     -> Metadata", &m.metadata);
        match &m.data {
            None => {}
            Some(Data::Gauge(g)) => self.number_points(&g.data_points),
            Some(Data::Sum(s)) => {
                self.line(format_args!("     -> IsMonotonic: {}", s.is_monotonic));
                self.temporality(s.aggregation_temporality);
                self.number_points(&s.data_points);
            }
            Some(Data::Histogram(h)) => {
                self.temporality(h.aggregation_temporality);
                self.histogram_points(&h.data_points);
            }
            Some(Data::ExponentialHistogram(h)) => {
                self.temporality(h.aggregation_temporality);
                self.exp_histogram_points(&h.data_points);
            }
            Some(Data::Summary(s)) => self.summary_points(&s.data_points),
        }
    }

    fn temporality(&mut self, t: i32) {
        let name = match t {
            0 => "Unspecified",
            1 => "Delta",
            2 => "Cumulative",
            _ => "",
        };
        self.line(format_args!("     -> AggregationTemporality: {name}"));
    }

    /// Attributes and the two timestamps every kind of data point starts with.
    fn point_head(&mut self, title: &str, i: usize, attrs: &[KeyValue], start: u64, time: u64) {
        self.line(format_args!("{title} #{i}"));
        self.attributes("Data point attributes", attrs);
        self.line(format_args!("StartTimestamp: {}", timestamp(start)));
        self.line(format_args!("Timestamp: {}", timestamp(time)));
    }

    fn number_points(&mut self, points: &[NumberDataPoint]) {
        for (i, p) in points.iter().enumerate() {
            self.point_head(
                "NumberDataPoints",
                i,
                &p.attributes,
                p.start_time_unix_nano,
                p.time_unix_nano,
            );
            match p.value {
                Some(number_data_point::Value::AsInt(v)) => self.line(format_args!("Value: {v}")),
                Some(number_data_point::Value::AsDouble(v)) => {
                    self.line(format_args!("Value: {}", go_f(v)))
                }
                None => {}
            }
            self.exemplars(&p.exemplars);
        }
    }

    /// `Sum:`, `Min:`, `Max:` of a histogram point, each only when set.
    fn sum_min_max(&mut self, sum: Option<f64>, min: Option<f64>, max: Option<f64>) {
        for (label, v) in [("Sum", sum), ("Min", min), ("Max", max)] {
            if let Some(v) = v {
                self.line(format_args!("{label}: {}", go_f(v)));
            }
        }
    }

    fn histogram_points(&mut self, points: &[HistogramDataPoint]) {
        for (i, p) in points.iter().enumerate() {
            self.point_head(
                "HistogramDataPoints",
                i,
                &p.attributes,
                p.start_time_unix_nano,
                p.time_unix_nano,
            );
            self.line(format_args!("Count: {}", p.count));
            self.sum_min_max(p.sum, p.min, p.max);
            for (j, bound) in p.explicit_bounds.iter().enumerate() {
                self.line(format_args!("ExplicitBounds #{j}: {}", go_f(*bound)));
            }
            for (j, count) in p.bucket_counts.iter().enumerate() {
                self.line(format_args!("Buckets #{j}, Count: {count}"));
            }
            self.exemplars(&p.exemplars);
        }
    }

    fn exp_histogram_points(&mut self, points: &[ExponentialHistogramDataPoint]) {
        for (i, p) in points.iter().enumerate() {
            self.point_head(
                "ExponentialHistogramDataPoints",
                i,
                &p.attributes,
                p.start_time_unix_nano,
                p.time_unix_nano,
            );
            self.line(format_args!("Count: {}", p.count));
            self.sum_min_max(p.sum, p.min, p.max);
            let factor = exp_bucket_factor(p.scale);
            // Bucket bounds are base^index with base = 2^(2^-scale), computed like the Go
            // code as exp(index * ln2 * 2^-scale) (so the same rounding, and the same +Inf
            // lower bound near the top).
            if let Some(neg) = &p.negative {
                for pos in (0..neg.bucket_counts.len()).rev() {
                    let index = f64::from(neg.offset) + pos as f64;
                    let lower = (index * factor).exp();
                    let upper = ((index + 1.0) * factor).exp();
                    self.line(format_args!(
                        "Bucket [{}, {}), Count: {}",
                        go_f(-upper),
                        go_f(-lower),
                        neg.bucket_counts[pos]
                    ));
                }
            }
            if p.zero_count != 0 {
                self.line(format_args!("Bucket [0, 0], Count: {}", p.zero_count));
            }
            if let Some(posb) = &p.positive {
                for (pos, count) in posb.bucket_counts.iter().enumerate() {
                    let index = f64::from(posb.offset) + pos as f64;
                    let lower = (index * factor).exp();
                    let upper = ((index + 1.0) * factor).exp();
                    self.line(format_args!(
                        "Bucket ({}, {}], Count: {count}",
                        go_f(lower),
                        go_f(upper)
                    ));
                }
            }
            self.exemplars(&p.exemplars);
        }
    }

    fn summary_points(&mut self, points: &[SummaryDataPoint]) {
        for (i, p) in points.iter().enumerate() {
            self.point_head(
                "SummaryDataPoints",
                i,
                &p.attributes,
                p.start_time_unix_nano,
                p.time_unix_nano,
            );
            self.line(format_args!("Count: {}", p.count));
            self.line(format_args!("Sum: {}", go_f(p.sum)));
            for (j, q) in p.quantile_values.iter().enumerate() {
                self.line(format_args!(
                    "QuantileValue #{j}: Quantile {}, Value {}",
                    go_f(q.quantile),
                    go_f(q.value)
                ));
            }
        }
    }

    fn exemplars(&mut self, exemplars: &[Exemplar]) {
        if exemplars.is_empty() {
            return;
        }
        self.line(format_args!("Exemplars:"));
        for (i, e) in exemplars.iter().enumerate() {
            self.line(format_args!("Exemplar #{i}"));
            self.line(format_args!("     -> Trace ID: {}", id(&e.trace_id)));
            self.line(format_args!("     -> Span ID: {}", id(&e.span_id)));
            self.line(format_args!(
                "     -> Timestamp: {}",
                timestamp(e.time_unix_nano)
            ));
            match e.value {
                Some(exemplar::Value::AsInt(v)) => self.line(format_args!("     -> Value: {v}")),
                Some(exemplar::Value::AsDouble(v)) => {
                    self.line(format_args!("     -> Value: {}", go_f(v)))
                }
                None => {}
            }
            self.attributes("     -> FilteredAttributes", &e.filtered_attributes);
        }
    }
}

/// `ln 2 · 2^-scale`, the log of an exponential histogram's bucket base (Go `math.Ldexp`).
pub(super) fn exp_bucket_factor(scale: i32) -> f64 {
    std::f64::consts::LN_2 * 2f64.powi(-scale)
}

/// pmetric's `MetricType.String()`.
pub(super) fn metric_type(data: Option<&Data>) -> &'static str {
    match data {
        None => "Empty",
        Some(Data::Gauge(_)) => "Gauge",
        Some(Data::Sum(_)) => "Sum",
        Some(Data::Histogram(_)) => "Histogram",
        Some(Data::ExponentialHistogram(_)) => "ExponentialHistogram",
        Some(Data::Summary(_)) => "Summary",
    }
}

/// ptrace's `SpanKind.String()` (empty for values outside the enum, as in Go).
fn span_kind(kind: i32) -> &'static str {
    match kind {
        0 => "Unspecified",
        1 => "Internal",
        2 => "Server",
        3 => "Client",
        4 => "Producer",
        5 => "Consumer",
        _ => "",
    }
}

/// ptrace's `StatusCode.String()`.
fn status_code(code: i32) -> &'static str {
    match code {
        0 => "Unset",
        1 => "Ok",
        2 => "Error",
        _ => "",
    }
}

/// plog's `SeverityNumber.String()`: `Info`, `Info2`, ... (empty outside 0..=24).
fn severity_name(n: i32) -> String {
    const LEVELS: [&str; 6] = ["Trace", "Debug", "Info", "Warn", "Error", "Fatal"];
    match n {
        0 => "Unspecified".into(),
        1..=24 => {
            let level = LEVELS[((n - 1) / 4) as usize];
            match (n - 1) % 4 {
                0 => level.to_string(),
                k => format!("{level}{}", k + 1),
            }
        }
        _ => String::new(),
    }
}
