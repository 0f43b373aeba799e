//! Metric and label names: `otlptranslator`'s `MetricNamer` (escaping to the legacy
//! Prometheus charset, with or without unit and type suffixes) and `LabelNamer`, which the
//! Go collector's `pkg/translator/prometheus` `BuildCompliantName` / `NormalizeLabel` became.

/// What kind of Prometheus metric an OTLP metric becomes (it decides the suffixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    /// A monotonic sum: gets `_total`.
    MonotonicCounter,
    /// A non-monotonic sum (an up-down counter): exposed as a gauge.
    NonMonotonicCounter,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// The OTel unit to Prometheus unit map (UCUM case-sensitive codes).
fn unit_map(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

/// The "per" unit map (`By/s` -> `bytes_per_second`).
fn per_unit_map(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Builds Prometheus metric names from OTLP names, units and types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricNamer {
    pub namespace: String,
    /// `add_metric_suffixes`: units, `_total`, `_ratio`.
    pub with_suffixes: bool,
}

impl MetricNamer {
    pub fn new(namespace: &str, with_suffixes: bool) -> MetricNamer {
        MetricNamer {
            namespace: namespace.to_string(),
            with_suffixes,
        }
    }

    /// The name, or Go's error when nothing usable is left (`normalization for metric "..."
    /// resulted in empty name`).
    pub fn build(&self, name: &str, unit: &str, ty: MetricType) -> Result<String, String> {
        let out = if self.with_suffixes {
            normalize_name(name, unit, ty, &self.namespace)
        } else {
            let metric = join_fields(name, |c| !(is_metric_char(c) || c == '_'));
            if !self.namespace.is_empty() {
                let ns = join_fields(&self.namespace, |c| !(is_metric_char(c) || c == '_'));
                format!("{ns}_{metric}")
            } else if metric.starts_with(|c: char| c.is_ascii_digit()) {
                format!("_{metric}")
            } else {
                metric
            }
        };
        if out.is_empty() {
            return Err(format!(
                "normalization for metric {name:?} resulted in empty name"
            ));
        }
        if out != name && out.chars().all(|c| c == '_') {
            return Err(format!(
                "normalization for metric {name:?} resulted in invalid name {out:?}"
            ));
        }
        Ok(out)
    }
}

/// `strings.Join(strings.FieldsFunc(s, sep), "_")`.
fn join_fields(s: &str, sep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for field in s.split(sep).filter(|f| !f.is_empty()) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(field);
    }
    out
}

/// The main and per unit suffixes of an OTel unit, mapped but not yet cleaned up
/// (`By/s` -> (`bytes`, `per_second`); `{packets}` -> nothing).
pub fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m, Some(p)),
        None => (unit, None),
    };
    let mut main_suffix = String::new();
    let main = main.trim();
    if !main.is_empty() && !main.contains(['{', '}']) {
        main_suffix = unit_map(main).unwrap_or(main).to_string();
    }
    let mut per_suffix = String::new();
    if let Some(per) = per.filter(|p| !p.is_empty()) {
        let per = per.trim();
        if !per.is_empty() && !per.contains(['{', '}']) {
            per_suffix = per_unit_map(per).unwrap_or(per).to_string();
        }
        if !per_suffix.is_empty() {
            per_suffix = format!("per_{per_suffix}");
        }
    }
    (main_suffix, per_suffix)
}

/// Invalid characters to `_`, runs of `_` collapsed, a leading `_` dropped.
fn clean_up_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    match out.strip_prefix('_') {
        Some(rest) => rest.to_string(),
        None => out,
    }
}

/// The full normalisation (suffixes on).
fn normalize_name(name: &str, unit: &str, ty: MetricType, namespace: &str) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let mut main = clean_up_unit(&main);
    let mut per = clean_up_unit(&per);
    if tokens.contains(&main) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        if per.ends_with('_') {
            per.pop();
        }
        if tokens.contains(&per) {
            per.clear();
        }
    }
    if !per.is_empty() && main.ends_with('_') {
        main.pop();
    }
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }
    if ty == MetricType::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && ty == MetricType::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    if !namespace.is_empty() {
        tokens.insert(0, namespace.to_string());
    }
    let out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

/// The Prometheus unit for metadata (`UnitNamer`): `By/s` -> `bytes_per_second`.
pub fn unit_name(unit: &str) -> String {
    let (main, per) = unit_suffixes(unit);
    let (main, per) = (clean_up_unit(&main), clean_up_unit(&per));
    let u = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    u.trim_start_matches('_').trim_end_matches('_').to_string()
}

/// `LabelNamer.Build` with escaping on and permissive sanitisation off: invalid characters
/// to `_` (one per character), a leading digit gets `key_`, a single leading `_` gets `key`
/// (`__` names are kept). Errors when nothing but underscores is left.
pub fn normalize_label(label: &str) -> Result<String, String> {
    if label.is_empty() {
        return Err(format!(
            "normalization for label name {label:?} resulted in empty name"
        ));
    }
    // Most names are valid as they are: copied, not rebuilt a character at a time.
    if is_valid_label(label) {
        return Ok(label.to_string());
    }
    let mut out: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    if out != label && out.chars().all(|c| c == '_') {
        return Err(format!(
            "normalization for label name {label:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

/// A label name as it goes on the wire: [`normalize_label`], or the name itself when
/// normalisation fails (Go logs and keeps going with what it has).
pub fn label_or_raw(label: &str) -> String {
    label_name(label).into_owned()
}

/// [`label_or_raw`] without a copy when the name is valid as it is (most are).
pub fn label_name(label: &str) -> std::borrow::Cow<'_, str> {
    if is_valid_label(label) {
        return std::borrow::Cow::Borrowed(label);
    }
    std::borrow::Cow::Owned(normalize_label(label).unwrap_or_else(|_| label.to_string()))
}

/// A name [`normalize_label`] gives back unchanged.
#[inline]
pub(crate) fn is_valid_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        && !b[0].is_ascii_digit()
        && (b[0] != b'_' || label.starts_with("__"))
}

#[cfg(test)]
mod tests {
    use super::MetricType::*;
    use super::*;

    /// Cases from otlptranslator's metric_namer_test.go and the collector's
    /// normalize_name_test.go.
    #[test]
    fn metric_names_with_suffixes_match_go() {
        let n = MetricNamer::new("", true);
        for (name, unit, ty, want) in [
            (
                "system.filesystem.usage",
                "By",
                Gauge,
                "system_filesystem_usage_bytes",
            ),
            (
                "system.processes.created",
                "{processes}",
                MonotonicCounter,
                "system_processes_created_total",
            ),
            (
                "http.server.duration",
                "ms",
                Histogram,
                "http_server_duration_milliseconds",
            ),
            (
                "http.server.request.duration",
                "s",
                Histogram,
                "http_server_request_duration_seconds",
            ),
            (
                "system.cpu.utilization",
                "1",
                Gauge,
                "system_cpu_utilization_ratio",
            ),
            (
                "system.cpu.utilization",
                "1",
                NonMonotonicCounter,
                "system_cpu_utilization",
            ),
            (
                "requests.count",
                "1",
                MonotonicCounter,
                "requests_count_total",
            ),
            ("queue.size", "{items}", NonMonotonicCounter, "queue_size"),
            ("network.io", "By/s", Gauge, "network_io_bytes_per_second"),
            ("speed", "m/s", Gauge, "speed_meters_per_second"),
            ("temperature", "Cel", Gauge, "temperature_celsius"),
            ("broken", "km/{hour}", Gauge, "broken_km"),
            ("broken", "{foo}/s", Gauge, "broken_per_second"),
            (
                "disk.io",
                "MiBy",
                MonotonicCounter,
                "disk_io_mebibytes_total",
            ),
            ("latency_seconds", "s", Histogram, "latency_seconds"),
            ("requests_total", "", MonotonicCounter, "requests_total"),
            ("total.requests", "", MonotonicCounter, "requests_total"),
            ("ratio.cpu", "1", Gauge, "cpu_ratio"),
            ("cpu", "%", Gauge, "cpu_percent"),
            ("foo", "custom unit!", Gauge, "foo_custom_unit_"),
            ("foo", "__weird", Gauge, "foo_weird"),
            (
                "2xx.responses",
                "",
                MonotonicCounter,
                "_2xx_responses_total",
            ),
            (
                "unsupported.metric.redundant__test",
                "",
                Gauge,
                "unsupported_metric_redundant_test",
            ),
            ("foo--bar", "", Gauge, "foo_bar"),
            ("métrique", "", Gauge, "m_trique"),
            ("a:b", "", Gauge, "a:b"),
            ("temp", "K/y", Gauge, "temp_K_per_year"),
            ("x", " s ", Gauge, "x_seconds"),
        ] {
            assert_eq!(
                n.build(name, unit, ty).unwrap(),
                want,
                "{name} [{unit}] {ty:?}"
            );
        }
    }

    /// More cases of otlptranslator's metric_namer_test.go.
    #[test]
    fn otlptranslator_table() {
        let cases: &[(&str, bool, &str, &str, MetricType, &str)] = &[
            ("", false, "metric@@##$$name", "", Gauge, "metric_name"),
            (
                "",
                false,
                "metric@with#special$chars",
                "",
                Gauge,
                "metric_with_special_chars",
            ),
            ("", false, "123metric", "", Gauge, "_123metric"),
            (
                "test@namespace!!??",
                false,
                "metric",
                "",
                Gauge,
                "test_namespace_metric",
            ),
            ("", true, "requests", "1/s", Gauge, "requests_per_second"),
            (
                "",
                true,
                "custom_metric",
                "By/{custom}",
                Gauge,
                "custom_metric_bytes",
            ),
            (
                "",
                true,
                "custom_metric",
                "custom_unit",
                Gauge,
                "custom_metric_custom_unit",
            ),
            ("", true, "cpu_usage_ratio", "1", Gauge, "cpu_usage_ratio"),
            (
                "",
                true,
                "response_time_seconds",
                "s",
                Gauge,
                "response_time_seconds",
            ),
            ("", true, "items", "1", MonotonicCounter, "items_total"),
            (
                "app",
                true,
                "requests",
                "1/s",
                MonotonicCounter,
                "app_requests_per_second_total",
            ),
            (
                "app",
                true,
                "123_requests",
                "",
                MonotonicCounter,
                "app_123_requests_total",
            ),
            (
                "",
                true,
                "metric__with__multiple__underscores",
                "unit__multiple__underscores",
                Gauge,
                "metric_with_multiple_underscores_unit_multiple_underscores",
            ),
            (
                "",
                true,
                "custom_metric",
                "unit@with#special/chars",
                Gauge,
                "custom_metric_unit_with_special_per_chars",
            ),
            (
                "",
                true,
                "request_size",
                "By",
                ExponentialHistogram,
                "request_size_bytes",
            ),
            (
                "",
                true,
                "response_time",
                "ms",
                Summary,
                "response_time_milliseconds",
            ),
            ("", true, "uptime", "d", Gauge, "uptime_days"),
        ];
        for (ns, suffixes, name, unit, ty, want) in cases {
            let n = MetricNamer::new(ns, *suffixes);
            assert_eq!(
                n.build(name, unit, *ty).unwrap(),
                *want,
                "{ns} {name} [{unit}]"
            );
        }
        assert!(MetricNamer::new("", true).build("@#$%", "", Gauge).is_err());
        assert_eq!(
            unit_name("unit@with#special/chars"),
            "unit_with_special_per_chars"
        );
        assert_eq!(unit_name("1/s"), "per_second");
    }

    #[test]
    fn namespace_is_prefixed() {
        let n = MetricNamer::new("demo", true);
        assert_eq!(
            n.build("calls", "", MonotonicCounter).unwrap(),
            "demo_calls_total"
        );
        assert_eq!(
            n.build("duration", "ms", Histogram).unwrap(),
            "demo_duration_milliseconds"
        );
        // With a namespace a leading digit is not escaped: the namespace comes first.
        assert_eq!(n.build("2xx", "", Gauge).unwrap(), "demo_2xx");
    }

    #[test]
    fn without_suffixes_only_characters_are_escaped() {
        let n = MetricNamer::new("", false);
        assert_eq!(
            n.build("http.server.duration", "ms", Histogram).unwrap(),
            "http_server_duration"
        );
        assert_eq!(
            n.build("requests", "1", MonotonicCounter).unwrap(),
            "requests"
        );
        assert_eq!(n.build("cpu", "1", Gauge).unwrap(), "cpu");
        assert_eq!(n.build("a__b", "", Gauge).unwrap(), "a__b");
        assert_eq!(n.build("2xx", "", Gauge).unwrap(), "_2xx");
        let ns = MetricNamer::new("my.ns", false);
        assert_eq!(ns.build("a.b", "", Gauge).unwrap(), "my_ns_a_b");
    }

    #[test]
    fn empty_names_are_errors_with_gos_text() {
        let n = MetricNamer::new("", true);
        assert_eq!(
            n.build("...", "", Gauge).unwrap_err(),
            "normalization for metric \"...\" resulted in empty name"
        );
        assert_eq!(
            MetricNamer::new("", false)
                .build("...", "", Gauge)
                .unwrap_err(),
            "normalization for metric \"...\" resulted in empty name"
        );
    }

    #[test]
    fn label_names_match_go() {
        for (label, want) in [
            ("http.method", "http_method"),
            ("2 cents", "key_2_cents"),
            ("_name", "key_name"),
            ("__name__", "__name__"),
            ("__reserved", "__reserved"),
            ("label:with:colons", "label_with_colons"),
            ("ümlaut", "key_mlaut"),
            ("valid_label", "valid_label"),
            ("a..b", "a__b"),
        ] {
            assert_eq!(normalize_label(label).unwrap(), want, "{label}");
        }
        assert!(normalize_label("").is_err());
        assert_eq!(
            normalize_label("...").unwrap_err(),
            "normalization for label name \"...\" resulted in invalid name \"___\""
        );
    }

    #[test]
    fn unit_names_for_metadata() {
        assert_eq!(unit_name("By/s"), "bytes_per_second");
        assert_eq!(unit_name("ms"), "milliseconds");
        assert_eq!(unit_name("1"), "");
        assert_eq!(unit_name("{req}"), "");
        assert_eq!(unit_name("{req}/s"), "per_second");
    }
}
