//! The label set of a data point, as the Go translators build it: the point's attributes
//! (sorted by key; keys that sanitise to the same name have their values joined with `;`),
//! `job` and `instance` from the resource's service attributes, the exporter's fixed labels
//! (`external_labels` / `const_labels`) unless an attribute already set them, the scope's
//! `otel_scope_*` labels, then the series' own (`__name__`, `le`, `quantile`).

use std::borrow::Cow;

use base64::Engine;
use pdata::proto::common::v1::any_value::Value;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue};

use crate::naming::{label_name, label_or_raw};

pub const SERVICE_NAME: &str = "service.name";
pub const SERVICE_NAMESPACE: &str = "service.namespace";
pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// One label.
pub type Label = (String, String);

/// One label whose name and value are borrowed from the data where they can be.
pub type LabelRef<'a> = (Cow<'a, str>, Cow<'a, str>);

/// [`value_as_string`] without a copy for string values.
pub fn value_as_str(v: Option<&AnyValue>) -> Cow<'_, str> {
    match string_of(v) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(value_as_string(v)),
    }
}

/// The value when it is a string.
pub(crate) fn string_of(v: Option<&AnyValue>) -> Option<&str> {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// pdata's `Value.AsString()`: strings as they are, numbers and booleans as Go prints them,
/// bytes in base64, maps and slices as JSON.
pub fn value_as_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => json_float(*d),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(Value::KvlistValue(kv)) => {
            let mut out = String::new();
            json_map(&mut out, &kv.values);
            out
        }
        Some(Value::ArrayValue(a)) => {
            let mut out = String::new();
            json_array(&mut out, &a.values);
            out
        }
        _ => String::new(),
    }
}

/// pdata's `float64AsString`: ES6 number text (exponent form below 1e-6 and from 1e21).
fn json_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{f:e}");
        let (m, x) = e.split_once('e').unwrap_or((&e, "0"));
        let x: i32 = x.parse().unwrap_or(0);
        format!("{m}e{}{}", if x < 0 { '-' } else { '+' }, x.abs())
    } else {
        format!("{f}")
    }
}

fn json_value(out: &mut String, v: Option<&AnyValue>) {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => json_string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => out.push_str(&i.to_string()),
        Some(Value::DoubleValue(d)) => out.push_str(&json_float(*d)),
        Some(Value::BytesValue(b)) => {
            json_string(out, &base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(Value::KvlistValue(kv)) => json_map(out, &kv.values),
        Some(Value::ArrayValue(a)) => json_array(out, &a.values),
        _ => out.push_str("null"),
    }
}

fn json_map(out: &mut String, kvs: &[KeyValue]) {
    out.push('{');
    for (i, kv) in kvs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, &kv.key);
        out.push(':');
        json_value(out, kv.value.as_ref());
    }
    out.push('}');
}

fn json_array(out: &mut String, vs: &[AnyValue]) {
    out.push('[');
    for (i, v) in vs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_value(out, Some(v));
    }
    out.push(']');
}

fn json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|kv| kv.key == key)
}

/// `job`: `service.namespace/service.name`, or `service.name` alone.
pub fn job(resource: &[KeyValue]) -> Option<String> {
    let name = get(resource, SERVICE_NAME)?;
    let name = value_as_string(name.value.as_ref());
    Some(match get(resource, SERVICE_NAMESPACE) {
        Some(ns) => format!("{}/{name}", value_as_string(ns.value.as_ref())),
        None => name,
    })
}

/// `instance`: `service.instance.id`.
pub fn instance(resource: &[KeyValue]) -> Option<String> {
    get(resource, SERVICE_INSTANCE_ID).map(|v| value_as_string(v.value.as_ref()))
}

/// How the fixed part of every series' labels is built.
#[derive(Debug, Clone, Default)]
pub struct LabelSettings {
    /// `external_labels` (remote write) or `const_labels` (pull), names already sanitised.
    pub fixed: Vec<Label>,
    /// `resource_to_telemetry_conversion`: every resource attribute becomes a label too (a
    /// point attribute of the same key wins).
    pub resource_to_telemetry: bool,
    /// `otel_scope_name` / `otel_scope_version` labels.
    pub scope_labels: bool,
    /// The pull exporter also has `otel_scope_schema_url` and `otel_scope_<attribute>`.
    pub scope_schema_and_attributes: bool,
}

impl LabelSettings {
    /// Sanitises fixed labels once (`external_labels` keys are normalised as label names).
    pub fn with_fixed<'a>(mut self, fixed: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.fixed = fixed
            .into_iter()
            .map(|(k, v)| (label_or_raw(k), v.to_string()))
            .collect();
        self
    }
}

/// What the labels of every point of one resource share: `job` and `instance`, worked out
/// once per resource instead of once per point.
pub struct ResourceLabels<'r> {
    pub attributes: &'r [KeyValue],
    job: Option<String>,
    instance: Option<String>,
}

impl<'r> ResourceLabels<'r> {
    pub fn new(attributes: &'r [KeyValue]) -> ResourceLabels<'r> {
        ResourceLabels {
            attributes,
            job: job(attributes),
            instance: instance(attributes),
        }
    }
}

/// The labels of a data point, sorted by name, without `__name__` and series extras.
pub fn point_labels(
    resource: &[KeyValue],
    scope: Option<&InstrumentationScope>,
    scope_schema_url: &str,
    attrs: &[KeyValue],
    settings: &LabelSettings,
) -> Vec<Label> {
    let res = ResourceLabels::new(resource);
    let mut out = Vec::new();
    point_label_refs(&res, scope, scope_schema_url, attrs, settings, &mut out);
    out.into_iter()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// [`point_labels`] into `out` (cleared first), with the resource's share worked out
/// before, names and values borrowed from the point, the resource and the settings wherever
/// they need no change: the remote-write translator encodes them without a copy.
pub fn point_label_refs<'a>(
    res: &'a ResourceLabels<'a>,
    scope: Option<&'a InstrumentationScope>,
    scope_schema_url: &'a str,
    attrs: &'a [KeyValue],
    settings: &'a LabelSettings,
    out: &mut Vec<LabelRef<'a>>,
) {
    out.clear();
    let resource = res.attributes;
    // Keys that sanitise to the same name have their values joined. While no name was
    // changed by sanitising, equal names are equal keys, which sorting made neighbours.
    let mut renamed = false;
    let mut add = |k: &'a str, v: Option<&'a AnyValue>| {
        let name = label_name(k);
        renamed |= matches!(name, Cow::Owned(_));
        let value = value_as_str(v);
        let same = if renamed {
            out.iter_mut().find(|(n, _)| *n == name)
        } else {
            out.last_mut().filter(|(n, _)| *n == name)
        };
        match same {
            Some((_, existing)) => {
                let existing = existing.to_mut();
                existing.push(';');
                existing.push_str(&value);
            }
            None => out.push((name, value)),
        }
    };
    // The attributes in key order: they mostly come sorted, and are then not copied.
    let with_resource = settings.resource_to_telemetry && !resource.is_empty();
    if !with_resource && attrs.is_sorted_by(|a, b| cmp_names(&a.key, &b.key).is_le()) {
        for kv in attrs {
            add(&kv.key, kv.value.as_ref());
        }
    } else {
        let mut merged: Vec<(&str, Option<&AnyValue>)> = attrs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_ref()))
            .collect();
        if with_resource {
            for kv in resource {
                if get(attrs, &kv.key).is_none() {
                    merged.push((kv.key.as_str(), kv.value.as_ref()));
                }
            }
        }
        merged.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in merged {
            add(k, v);
        }
    }
    // Without renames the names are in order and unique: the rest go where they sort
    // (found by binary search), and the set needs no sort at the end.
    let sorted = !renamed;
    if let Some(job) = &res.job {
        set_ref(out, sorted, Cow::Borrowed("job"), Cow::Borrowed(job));
    }
    if let Some(instance) = &res.instance {
        set_ref(
            out,
            sorted,
            Cow::Borrowed("instance"),
            Cow::Borrowed(instance),
        );
    }
    for (k, v) in &settings.fixed {
        add_absent(out, sorted, Cow::Borrowed(k), Cow::Borrowed(v));
    }
    if settings.scope_labels
        && let Some(scope) = scope
    {
        let name = Cow::Borrowed("otel_scope_name");
        let version = Cow::Borrowed("otel_scope_version");
        if settings.scope_schema_and_attributes {
            set_ref(out, sorted, name, Cow::Borrowed(&scope.name));
            set_ref(out, sorted, version, Cow::Borrowed(&scope.version));
            let schema = Cow::Borrowed("otel_scope_schema_url");
            set_ref(out, sorted, schema, Cow::Borrowed(scope_schema_url));
            for kv in &scope.attributes {
                let name = label_or_raw(&format!("otel_scope_{}", kv.key));
                set_ref(
                    out,
                    sorted,
                    Cow::Owned(name),
                    value_as_str(kv.value.as_ref()),
                );
            }
        } else {
            if !scope.name.is_empty() {
                set_ref(out, sorted, name, Cow::Borrowed(&scope.name));
            }
            if !scope.version.is_empty() {
                set_ref(out, sorted, version, Cow::Borrowed(&scope.version));
            }
        }
    }
    if !sorted && !out.is_sorted_by(|a, b| a.0 <= b.0) {
        out.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// The labels [`point_label_refs`] gives every point of one resource and scope besides its
/// attributes (`job`, `instance`, the fixed ones, the scope's), sorted by name, each with
/// whether it replaces an attribute of its name (`true`) or yields to it (`false`, the fixed
/// labels). `None` when the settings make a point's labels more than its attributes merged
/// with these (`resource_to_telemetry` over a resource with attributes, the pull exporter's
/// scope schema and attributes). With [`taken_as_they_are`] attributes, merging the two
/// gives what [`point_label_refs`] gives (tested against it with the remote-write
/// translator, which merges them so).
pub(crate) fn shared_point_labels<'a>(
    res: &'a ResourceLabels<'a>,
    scope: Option<&'a InstrumentationScope>,
    settings: &'a LabelSettings,
) -> Option<Vec<(&'a str, &'a str, bool)>> {
    if settings.scope_schema_and_attributes
        || (settings.resource_to_telemetry && !res.attributes.is_empty())
    {
        return None;
    }
    let mut out: Vec<(&str, &str, bool)> = Vec::new();
    if let Some(job) = &res.job {
        out.push(("job", job, true));
    }
    if let Some(instance) = &res.instance {
        out.push(("instance", instance, true));
    }
    for (k, v) in &settings.fixed {
        if !out.iter().any(|l| l.0 == k) {
            out.push((k, v, false));
        }
    }
    if settings.scope_labels
        && let Some(scope) = scope
    {
        for (name, value) in [
            ("otel_scope_name", &scope.name),
            ("otel_scope_version", &scope.version),
        ] {
            if value.is_empty() {
                continue;
            }
            match out.iter_mut().find(|l| l.0 == name) {
                Some(l) => *l = (name, value, true),
                None => out.push((name, value, true)),
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    Some(out)
}

/// Whether [`point_label_refs`] takes these attributes as they are: string values, names
/// valid as label names, strictly in name order (nothing to sanitise, join or sort).
#[inline]
pub(crate) fn taken_as_they_are(attrs: &[KeyValue]) -> bool {
    attrs
        .iter()
        .all(|kv| string_of(kv.value.as_ref()).is_some() && crate::naming::is_valid_label(&kv.key))
        && attrs
            .windows(2)
            .all(|w| cmp_names(&w[0].key, &w[1].key).is_lt())
}

/// Label names ordered as strings, decided by the first byte where that differs (it mostly
/// does) without the call into `memcmp` a string comparison makes: a point's few labels are
/// ordered against `job` and `instance` at every point.
#[inline]
pub(crate) fn cmp_names(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// Where `name` is in `labels` (`Err`: not there; where it would sort when `sorted`).
fn position(labels: &[LabelRef<'_>], sorted: bool, name: &str) -> Result<usize, usize> {
    if sorted {
        labels.binary_search_by(|(n, _)| cmp_names(n, name))
    } else {
        labels
            .iter()
            .position(|(n, _)| n == name)
            .ok_or(labels.len())
    }
}

/// Adds `name` unless it is there.
fn add_absent<'a>(
    labels: &mut Vec<LabelRef<'a>>,
    sorted: bool,
    name: Cow<'a, str>,
    value: Cow<'a, str>,
) {
    if let Err(at) = position(labels, sorted, &name) {
        labels.insert(at, (name, value));
    }
}

/// Sets `name`, replacing a value already there (kept in order when `sorted`).
fn set_ref<'a>(
    labels: &mut Vec<LabelRef<'a>>,
    sorted: bool,
    name: Cow<'a, str>,
    value: Cow<'a, str>,
) {
    match position(labels, sorted, &name) {
        Ok(at) => labels[at].1 = value,
        Err(at) => labels.insert(at, (name, value)),
    }
}

/// `target_info`'s labels for a resource: its attributes other than the service ones
/// (sanitised, collisions joined), plus `job` and `instance` and `fixed`; `None` when no
/// other attribute is left (the remote-write translator emits no `target_info` then).
pub fn target_info_labels(resource: &[KeyValue], fixed: &[Label]) -> Option<Vec<Label>> {
    let others: Vec<KeyValue> = resource
        .iter()
        .filter(|kv| {
            kv.key != SERVICE_NAME && kv.key != SERVICE_NAMESPACE && kv.key != SERVICE_INSTANCE_ID
        })
        .cloned()
        .collect();
    if others.is_empty() {
        return None;
    }
    let settings = LabelSettings {
        fixed: fixed.to_vec(),
        ..Default::default()
    };
    Some(point_labels(resource, None, "", &others, &settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_order_as_strings_do() {
        let names = [
            "", "_", "__name__", "a", "ab", "abc", "b", "code", "instance", "job", "le", "Z", "é",
            "éa", "\u{7f}", "0", "a\u{0}",
        ];
        for a in names {
            for b in names {
                assert_eq!(cmp_names(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// Sets `name` (replacing a value already there).
    fn set(labels: &mut Vec<Label>, name: &str, value: String) {
        match labels.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => labels.push((name.to_string(), value)),
        }
    }

    /// The label set as written before the borrowed fast paths: every attribute copied and
    /// sorted, every name looked up among all the names before it, the result sorted.
    fn reference(
        res: &ResourceLabels<'_>,
        scope: Option<&InstrumentationScope>,
        attrs: &[KeyValue],
        settings: &LabelSettings,
    ) -> Vec<Label> {
        let mut merged: Vec<(&str, Option<&AnyValue>)> = attrs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_ref()))
            .collect();
        if settings.resource_to_telemetry {
            for kv in res.attributes {
                if get(attrs, &kv.key).is_none() {
                    merged.push((kv.key.as_str(), kv.value.as_ref()));
                }
            }
        }
        merged.sort_by(|a, b| a.0.cmp(b.0));
        let mut out: Vec<Label> = Vec::new();
        for (k, v) in merged {
            let (name, value) = (label_or_raw(k), value_as_string(v));
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => {
                    existing.push(';');
                    existing.push_str(&value);
                }
                None => out.push((name, value)),
            }
        }
        if let Some(job) = &res.job {
            set(&mut out, "job", job.clone());
        }
        if let Some(instance) = &res.instance {
            set(&mut out, "instance", instance.clone());
        }
        for (k, v) in &settings.fixed {
            if !out.iter().any(|(n, _)| n == k) {
                out.push((k.clone(), v.clone()));
            }
        }
        if settings.scope_labels
            && let Some(scope) = scope
            && !scope.name.is_empty()
        {
            set(&mut out, "otel_scope_name", scope.name.clone());
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn borrowed_label_sets_equal_the_copied_ones_whatever_the_keys() {
        // Keys that are valid or sanitised, that collide after sanitising (with neighbours
        // and with keys far away in sort order), repeated keys, sorted and unsorted, with
        // and without resource attributes, job, instance and fixed labels.
        let keys = [
            "a", "a.b", "a_b", "a/b", "a0", "b", "job", "instance", "_x", "1x", "__n", "k.1",
            "k_1", "z", "cluster",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let scope = InstrumentationScope {
            name: "lib".into(),
            ..Default::default()
        };
        let mut fast_paths = 0;
        for case in 0..3000 {
            let pick = |next: &mut dyn FnMut(usize) -> usize, n: usize| -> Vec<KeyValue> {
                (0..n)
                    .map(|i| kv(keys[next(keys.len())], &format!("v{i}")))
                    .collect()
            };
            let n = next(6);
            let mut attrs = pick(&mut next, n);
            if case % 2 == 0 {
                attrs.sort_by(|a, b| a.key.cmp(&b.key));
            }
            let r = next(4);
            let mut resource = pick(&mut next, r);
            if case % 3 == 0 {
                resource.push(kv(SERVICE_NAME, "svc"));
                resource.push(kv(SERVICE_INSTANCE_ID, "i-1"));
            }
            let res = ResourceLabels::new(&resource);
            let settings = LabelSettings {
                resource_to_telemetry: case % 5 == 0,
                scope_labels: case % 7 == 0,
                ..Default::default()
            }
            .with_fixed(if case % 4 == 0 {
                vec![("cluster", "c1"), ("a.b", "fixed")]
            } else {
                vec![]
            });
            let want = reference(&res, Some(&scope), &attrs, &settings);
            let mut got = Vec::new();
            point_label_refs(&res, Some(&scope), "", &attrs, &settings, &mut got);
            fast_paths += got
                .iter()
                .filter(|(n, _)| matches!(n, Cow::Borrowed(_)))
                .count();
            let got: Vec<Label> = got
                .into_iter()
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(got, want, "attributes {attrs:?}, resource {resource:?}");
        }
        assert!(fast_paths > 1000, "the borrowed paths ran");
    }

    #[test]
    fn colliding_keys_join_values_in_key_order() {
        let got = point_labels(
            &[],
            None,
            "",
            &[kv("a.b", "2"), kv("a_b", "3"), kv("a/b", "1")],
            &LabelSettings::default(),
        );
        // Sorted by original key: "a.b" < "a/b" < "a_b".
        assert_eq!(got, labels(&[("a_b", "2;1;3")]));
    }

    #[test]
    fn job_and_instance_come_from_the_service_attributes() {
        let res = [
            kv("service.name", "cart"),
            kv("service.namespace", "shop"),
            kv("service.instance.id", "i-1"),
            kv("host.name", "h"),
        ];
        let got = point_labels(
            &res,
            None,
            "",
            &[kv("job", "mine")],
            &LabelSettings::default(),
        );
        assert_eq!(got, labels(&[("instance", "i-1"), ("job", "shop/cart")]));
        let res = [kv("service.name", "cart")];
        let got = point_labels(&res, None, "", &[], &LabelSettings::default());
        assert_eq!(got, labels(&[("job", "cart")]));
    }

    #[test]
    fn external_labels_do_not_override_attributes() {
        let s = LabelSettings::default().with_fixed([("env", "prod"), ("region.x", "eu")]);
        let got = point_labels(&[], None, "", &[kv("env", "dev")], &s);
        assert_eq!(got, labels(&[("env", "dev"), ("region_x", "eu")]));
    }

    #[test]
    fn resource_to_telemetry_adds_resource_attributes_point_wins() {
        let s = LabelSettings {
            resource_to_telemetry: true,
            ..Default::default()
        };
        let res = [
            kv("host.name", "h1"),
            kv("k", "res"),
            kv("service.name", "svc"),
        ];
        let got = point_labels(&res, None, "", &[kv("k", "point")], &s);
        assert_eq!(
            got,
            labels(&[
                ("host_name", "h1"),
                ("job", "svc"),
                ("k", "point"),
                ("service_name", "svc")
            ])
        );
    }

    #[test]
    fn scope_labels() {
        let scope = InstrumentationScope {
            name: "meter".into(),
            version: "1.2".into(),
            attributes: vec![kv("lib.kind", "x")],
            dropped_attributes_count: 0,
        };
        let s = LabelSettings {
            scope_labels: true,
            ..Default::default()
        };
        let got = point_labels(&[], Some(&scope), "", &[], &s);
        assert_eq!(
            got,
            labels(&[("otel_scope_name", "meter"), ("otel_scope_version", "1.2")])
        );
        let s = LabelSettings {
            scope_labels: true,
            scope_schema_and_attributes: true,
            ..Default::default()
        };
        let got = point_labels(&[], Some(&scope), "https://s", &[], &s);
        assert_eq!(
            got,
            labels(&[
                ("otel_scope_lib_kind", "x"),
                ("otel_scope_name", "meter"),
                ("otel_scope_schema_url", "https://s"),
                ("otel_scope_version", "1.2")
            ])
        );
    }

    #[test]
    fn target_info_needs_a_non_service_attribute() {
        assert_eq!(
            target_info_labels(
                &[kv("service.name", "a"), kv("service.instance.id", "b")],
                &[]
            ),
            None
        );
        let got = target_info_labels(
            &[
                kv("service.name", "a"),
                kv("service.instance.id", "b"),
                kv("host.name", "h"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            got,
            labels(&[("host_name", "h"), ("instance", "b"), ("job", "a")])
        );
    }

    #[test]
    fn values_print_as_pdata_as_string() {
        let v = |x| Some(AnyValue { value: Some(x) });
        assert_eq!(value_as_string(v(Value::IntValue(-3)).as_ref()), "-3");
        assert_eq!(value_as_string(v(Value::BoolValue(true)).as_ref()), "true");
        assert_eq!(value_as_string(v(Value::DoubleValue(1.5)).as_ref()), "1.5");
        assert_eq!(
            value_as_string(v(Value::DoubleValue(1e21)).as_ref()),
            "1e+21"
        );
        assert_eq!(
            value_as_string(v(Value::BytesValue(vec![1, 2])).as_ref()),
            "AQI="
        );
    }
}
