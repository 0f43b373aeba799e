//! OTLP logs -> Loki push requests, as Go's `pkg/translator/loki` (`LogsToLokiRequests`,
//! `LogToLokiEntry`, `convert.go`) does it:
//!
//! - Tenant: the `loki.tenant` hint (resource attribute first, then the record's) names an
//!   attribute (looked up in the resource first) whose string value is the tenant; one
//!   request per tenant.
//! - Labels, merged in this order (a later one replaces an earlier one of the same name):
//!   the default labels (`exporter=OTLP`, `job`, `instance`), the resource's
//!   `loki.resource.labels`, the record's `loki.resource.labels` (names of resource
//!   attributes), the record's `loki.attribute.labels` (names of record attributes). A hint
//!   is a comma-separated string (names trimmed) or a list; a name not found directly may
//!   reach into a map attribute with dots (`a.b` = key `b` of map `a`).
//! - `level`: with the default label on and a severity number set, `level` is added to the
//!   record's attribute hint and, unless the record has a `level` attribute, one is added
//!   with the severity's name (`INFO`, `WARN2`, ...).
//! - The hints and every attribute whose name is a label name are left out of the line.
//! - Label names are Prometheus-sanitised; the stream key is the label set as
//!   `{a="b", c="d"}` (names sorted, values Go-quoted).
//! - Line format from `loki.format` (resource first): `json` (default), `logfmt`, `raw`;
//!   anything else drops the record. Timestamp: the record's, else its observed time, else
//!   now.
//!
//! Where Go leaves an order to map iteration (streams, tenants, two attributes whose names
//! sanitise to the same label), this keeps first-seen order and lets the later-merged
//! attribute win. One deliberate difference: a record left with no label at all is dropped
//! here and counted (Go sends it and Loki refuses the whole request with 400 "at least one
//! label pair is required per stream").

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use pdata::proto::logs::v1::LogRecord;

use super::config::DefaultLabels;
use super::line;
use super::proto::{Entry, PushRequest, Stream, Timestamp};
use crate::util::gofmt::go_v;
use crate::util::gotext::{MapPlan, as_string, normalize_label, quote, str_of};

pub(crate) const HINT_ATTRIBUTES: &str = "loki.attribute.labels";
pub(crate) const HINT_RESOURCES: &str = "loki.resource.labels";
pub(crate) const HINT_TENANT: &str = "loki.tenant";
pub(crate) const HINT_FORMAT: &str = "loki.format";

pub(super) fn is_hint(key: &str) -> bool {
    matches!(
        key,
        HINT_ATTRIBUTES | HINT_RESOURCES | HINT_TENANT | HINT_FORMAT
    )
}

/// The push request of one tenant and what happened to the records meant for it.
#[derive(Debug, Default)]
pub(crate) struct TenantRequest {
    /// Empty: no `X-Scope-OrgID` of the exporter's own.
    pub tenant: String,
    pub request: PushRequest,
    /// The streams written without messages (the stanza shortcut, `super::entries`); a
    /// request holds its streams either here or in `request`.
    pub written: super::proto::PushWriter,
    pub submitted: usize,
    /// Records that could not be converted (Go's `NumDropped`), e.g. an unknown format.
    pub dropped: usize,
    /// Records left with no label at all.
    pub missing_labels: usize,
    /// The first conversion error, for the log.
    pub first_error: Option<String>,
}

/// The first attribute named `key` (pdata's `Map.Get`).
pub(super) fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_ref().unwrap_or(&EMPTY))
}

static EMPTY: AnyValue = AnyValue { value: None };

/// Go's `GetTenantFromTenantHint`, as written there: the reference [`ResourceTenant`] is
/// tested against.
#[cfg(test)]
pub(crate) fn tenant_of<'a>(log_attrs: &'a [KeyValue], res_attrs: &'a [KeyValue]) -> &'a str {
    let Some(hint) = get(res_attrs, HINT_TENANT).or_else(|| get(log_attrs, HINT_TENANT)) else {
        return "";
    };
    let name = str_of(Some(hint));
    match get(res_attrs, name).or_else(|| get(log_attrs, name)) {
        Some(v) => str_of(Some(v)),
        None => "",
    }
}

/// `a == b`, without calling `memcmp` for the empty strings most tenants and scope names
/// are (see `pdata::text`).
pub(crate) use pdata::text::same_str;

/// [`tenant_of`] for the records of one resource, with the resource's part looked up once
/// (most resources have no hint at all; then only the record's attributes are searched).
pub(crate) struct ResourceTenant<'a> {
    res: &'a [KeyValue],
    /// The resource's hint (the name of the tenant attribute), which wins over a record's.
    hint: Option<&'a str>,
    /// The tenant when the resource alone decides it.
    fixed: Option<&'a str>,
}

impl<'a> ResourceTenant<'a> {
    pub(crate) fn new(res: &'a [KeyValue]) -> ResourceTenant<'a> {
        let hint = get(res, HINT_TENANT).map(|h| str_of(Some(h)));
        let fixed = hint
            .and_then(|name| get(res, name))
            .map(|v| str_of(Some(v)));
        ResourceTenant { res, hint, fixed }
    }

    /// The tenant of a record of this resource: what [`tenant_of`] gives.
    pub(crate) fn of(&self, log_attrs: &'a [KeyValue]) -> &'a str {
        if let Some(t) = self.fixed {
            return t;
        }
        let name = match self.hint {
            // The resource names the attribute but lacks it: only the record can have it.
            Some(name) => return get(log_attrs, name).map_or("", |v| str_of(Some(v))),
            None => match get(log_attrs, HINT_TENANT) {
                Some(h) => str_of(Some(h)),
                None => return "",
            },
        };
        match get(self.res, name).or_else(|| get(log_attrs, name)) {
            Some(v) => str_of(Some(v)),
            None => "",
        }
    }
}

/// Go's `parseAttributeNames`: a string split at commas, a list's elements as `%v` text,
/// anything else as its string.
fn hint_names(v: &AnyValue) -> Vec<Cow<'_, str>> {
    match v.value.as_ref() {
        Some(Value::StringValue(s)) => s.split(',').map(Cow::Borrowed).collect(),
        Some(Value::ArrayValue(a)) => a.values.iter().map(sprint_v).collect(),
        _ => vec![Cow::Owned(as_string(Some(v)))],
    }
}

/// `fmt.Sprintf("%v", x)` of an `AsRaw()` list element, for the kinds a label name list
/// plausibly holds.
fn sprint_v(v: &AnyValue) -> Cow<'_, str> {
    match v.value.as_ref() {
        Some(Value::StringValue(s)) => Cow::Borrowed(s),
        Some(Value::BoolValue(b)) => Cow::Owned(b.to_string()),
        Some(Value::IntValue(i)) => Cow::Owned(i.to_string()),
        Some(Value::DoubleValue(d)) => Cow::Owned(go_v(*d)),
        None | Some(Value::StringValueStrindex(_)) => Cow::Borrowed("<nil>"),
        Some(_) => Cow::Owned(as_string(Some(v))),
    }
}

/// Go's `getAttribute`: the attribute itself, else a dotted path into map attributes, the
/// longest prefix tried first.
fn lookup<'a>(name: &str, attrs: &'a [KeyValue]) -> Option<&'a AnyValue> {
    if let Some(v) = get(attrs, name) {
        return Some(v);
    }
    let segments: Vec<&str> = name.split('.').collect();
    let n = segments.len();
    for i in 0..n.saturating_sub(1) {
        let left = segments[..n - i - 1].join(".");
        if let Some(v) = lookup(&left, attrs)
            && let Some(Value::KvlistValue(m)) = v.value.as_ref()
        {
            let right = segments[n - i - 1..].join(".");
            return lookup(&right, &m.values);
        }
    }
    None
}

/// The severity number's name as the Go exporter writes it in `level`.
pub(crate) fn severity_level(n: i32) -> &'static str {
    const NAMES: [&str; 25] = [
        "UNSPECIFIED",
        "TRACE",
        "TRACE2",
        "TRACE3",
        "TRACE4",
        "DEBUG",
        "DEBUG2",
        "DEBUG3",
        "DEBUG4",
        "INFO",
        "INFO2",
        "INFO3",
        "INFO4",
        "WARN",
        "WARN2",
        "WARN3",
        "WARN4",
        "ERROR",
        "ERROR2",
        "ERROR3",
        "ERROR4",
        "FATAL",
        "FATAL2",
        "FATAL3",
        "FATAL4",
    ];
    // Go looks the number's `String()` up in a map; out-of-range numbers miss: "".
    usize::try_from(n)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("")
}

/// The label set as it is merged: raw names (the attribute names) in merge order, a later
/// name replacing the value of an earlier one.
#[derive(Default)]
pub(super) struct Labels<'a> {
    pub(super) pairs: Vec<(Cow<'a, str>, String)>,
}

impl<'a> Labels<'a> {
    fn set(&mut self, name: Cow<'a, str>, value: String) {
        match self.pairs.iter_mut().find(|(n, _)| *n == name) {
            Some(p) => p.1 = value,
            None => self.pairs.push((name, value)),
        }
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// Adds the attributes named by a hint, resolved in `attrs` (and the exporter's own
    /// `level` attribute when the record gets one).
    fn promote(
        &mut self,
        names: Vec<Cow<'a, str>>,
        attrs: &'a [KeyValue],
        level: Option<&'static str>,
    ) {
        for name in names {
            let name = match name {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
            };
            if let Some(v) = lookup(&name, attrs) {
                self.set(name, as_string(Some(v)));
            } else if let (Some(level), "level") = (level, name.as_ref()) {
                self.set(name, level.to_string());
            }
        }
    }

    /// Loki's stream key: sanitised names, sorted, values quoted.
    pub(super) fn render(&self) -> String {
        let mut sorted: BTreeMap<String, &str> = BTreeMap::new();
        for (name, value) in &self.pairs {
            sorted.insert(normalize_label(name), value);
        }
        let mut s = String::with_capacity(16 * sorted.len() + 2);
        s.push('{');
        for (i, (name, value)) in sorted.into_iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&name);
            s.push('=');
            quote(&mut s, value);
        }
        s.push('}');
        s
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Logfmt,
    Raw,
}

/// One tenant's streams while they are being filled.
#[derive(Default)]
struct Group {
    out: TenantRequest,
    index: HashMap<String, usize>,
}

/// Converts a logs request into one push request per tenant, in first-seen tenant order.
/// `now` gives the Unix nanoseconds for records with neither timestamp.
pub(crate) fn logs_to_loki(
    req: &ExportLogsServiceRequest,
    defaults: DefaultLabels,
    now: &dyn Fn() -> i64,
) -> Vec<TenantRequest> {
    let mut groups: Vec<Group> = Vec::new();
    for rl in &req.resource_logs {
        let res_attrs: &[KeyValue] = rl.resource.as_ref().map_or(&[], |r| &r.attributes);
        let base = base_labels(res_attrs, defaults);
        let res_format = get(res_attrs, HINT_FORMAT);
        // The resource part of lines, valid while a record adds no label named like one of
        // the resource's attributes.
        let base_skip = |k: &str| is_hint(k) || base.contains(k);
        let mut res_json: Option<Result<String, String>> = None;
        let mut base_key: Option<String> = None;
        let mut res_logfmt: Option<Result<String, String>> = None;
        // How the attributes of records with only the resource's labels are written.
        let mut base_plan = MapPlan::default();
        // (tenant group, stream) of the records that carry only the resource's labels.
        let mut base_stream: Option<(usize, usize)> = None;

        let tenants = ResourceTenant::new(res_attrs);
        for sl in &rl.scope_logs {
            let scope = sl.scope.as_ref();
            for lr in &sl.log_records {
                let tenant = tenants.of(&lr.attributes);
                let gi = match groups.iter().position(|g| same_str(&g.out.tenant, tenant)) {
                    Some(i) => i,
                    None => {
                        groups.push(Group {
                            out: TenantRequest {
                                tenant: tenant.to_string(),
                                ..TenantRequest::default()
                            },
                            index: HashMap::new(),
                        });
                        groups.len() - 1
                    }
                };
                let group = &mut groups[gi];
                let format_value = res_format.or_else(|| get(&lr.attributes, HINT_FORMAT));
                let format_text = format_value.map(|v| match &v.value {
                    Some(Value::StringValue(s)) => Cow::Borrowed(s.as_str()),
                    _ => Cow::Owned(as_string(Some(v))),
                });
                let format = match format_text.as_deref() {
                    None => Format::Json,
                    Some(f) => match f {
                        "json" => Format::Json,
                        "logfmt" => Format::Logfmt,
                        "raw" => Format::Raw,
                        other => {
                            drop_record(
                                &mut group.out,
                                format!(
                                    "invalid format {other}. Expected one of: json, logfmt, raw"
                                ),
                            );
                            continue;
                        }
                    },
                };
                let record_hint = get(&lr.attributes, HINT_RESOURCES);
                let (names, level) = attribute_hint(lr, defaults.level);
                // Most records add no label of their own: they share the resource's label set
                // and its rendered stream key instead of copying and rendering them again.
                let adds_labels = record_hint.is_some() || !names.is_empty();
                let owned;
                let labels = if adds_labels {
                    let mut l = Labels {
                        pairs: base.pairs.clone(),
                    };
                    if let Some(hint) = record_hint {
                        l.promote(hint_names(hint), res_attrs, None);
                    }
                    l.promote(names, &lr.attributes, level);
                    owned = l;
                    &owned
                } else {
                    &base
                };
                if labels.pairs.is_empty() {
                    group.out.missing_labels += 1;
                    continue;
                }
                let skip = |k: &str| is_hint(k) || labels.contains(k);
                // Does this record hide a resource attribute the base part shows?
                let own_resources = labels.pairs[base.pairs.len()..]
                    .iter()
                    .any(|(n, _)| !base.contains(n) && get(res_attrs, n).is_some());
                let line = match format {
                    Format::Raw => Ok(line::raw_line(lr)),
                    Format::Json => {
                        let fresh;
                        let res = if own_resources {
                            fresh = line::json_resources(res_attrs, &skip).map_err(|e| e.0);
                            &fresh
                        } else {
                            res_json.get_or_insert_with(|| {
                                line::json_resources(res_attrs, &base_skip).map_err(|e| e.0)
                            })
                        };
                        match res {
                            Ok(r) => {
                                let plan = (!adds_labels).then_some(&mut base_plan);
                                line::json_line(lr, &skip, level, r, scope, plan).map_err(|e| e.0)
                            }
                            Err(e) => Err(e.clone()),
                        }
                    }
                    Format::Logfmt => {
                        let fresh;
                        let res = if own_resources {
                            fresh =
                                line::logfmt_resources(res_attrs, &skip).map_err(|e| e.to_string());
                            &fresh
                        } else {
                            res_logfmt.get_or_insert_with(|| {
                                line::logfmt_resources(res_attrs, &base_skip)
                                    .map_err(|e| e.to_string())
                            })
                        };
                        match res {
                            Ok(r) => line::logfmt_line(lr, &skip, level, r, scope)
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(e.clone()),
                        }
                    }
                };
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        drop_record(&mut group.out, e);
                        continue;
                    }
                };
                let rendered;
                let key: &str = if adds_labels {
                    rendered = labels.render();
                    &rendered
                } else {
                    base_key.get_or_insert_with(|| base.render())
                };
                let entry = Entry {
                    timestamp: Timestamp::from_unix_nanos(timestamp(lr, now)),
                    line,
                    structured_metadata: Vec::new(),
                };
                group.out.submitted += 1;
                let streams = &mut group.out.request.streams;
                // Records with the resource's labels go to the stream found for the first of
                // them, without hashing the key again.
                let known = base_stream.filter(|&(g, _)| !adds_labels && g == gi);
                let i = match known {
                    Some((_, i)) => i,
                    None => {
                        let i = match group.index.get(key) {
                            Some(&i) => i,
                            None => {
                                group.index.insert(key.to_string(), streams.len());
                                streams.push(Stream {
                                    labels: key.to_string(),
                                    entries: Vec::new(),
                                    hash: 0,
                                });
                                streams.len() - 1
                            }
                        };
                        if !adds_labels {
                            base_stream = Some((gi, i));
                        }
                        i
                    }
                };
                streams[i].entries.push(entry);
            }
        }
    }
    groups.into_iter().map(|g| g.out).collect()
}

/// The labels every record of a resource starts with: the default labels and the
/// resource's `loki.resource.labels`.
pub(super) fn base_labels(res_attrs: &[KeyValue], defaults: DefaultLabels) -> Labels<'_> {
    let mut base = Labels::default();
    if defaults.exporter {
        base.set(Cow::Borrowed("exporter"), "OTLP".into());
    }
    if defaults.job
        && let Some(name) = get(res_attrs, "service.name")
    {
        let mut job = as_string(Some(name));
        if let Some(ns) = get(res_attrs, "service.namespace") {
            job = format!("{}/{job}", as_string(Some(ns)));
        }
        base.set(Cow::Borrowed("job"), job);
    }
    if defaults.instance
        && let Some(inst) = get(res_attrs, "service.instance.id")
    {
        base.set(Cow::Borrowed("instance"), as_string(Some(inst)));
    }
    if let Some(hint) = get(res_attrs, HINT_RESOURCES) {
        base.promote(hint_names(hint), res_attrs, None);
    }
    base
}

pub(super) fn drop_record(out: &mut TenantRequest, err: String) {
    out.dropped += 1;
    if out.first_error.is_none() {
        out.first_error = Some(format!("failed to convert, dropping log: {err}"));
    }
}

/// The names of the record's `loki.attribute.labels` hint, with `level` added as Go's
/// `addLogLevelAttributeAndHint` does, and the `level` value the exporter adds when the
/// record has no `level` attribute.
fn attribute_hint(lr: &LogRecord, level_on: bool) -> (Vec<Cow<'_, str>>, Option<&'static str>) {
    let hint = get(&lr.attributes, HINT_ATTRIBUTES);
    let mut names = hint.map(hint_names).unwrap_or_default();
    if !level_on || lr.severity_number == 0 {
        return (names, None);
    }
    match hint.and_then(|h| h.value.as_ref()) {
        None if hint.is_none() => names = vec![Cow::Borrowed("level")],
        Some(Value::StringValue(_) | Value::ArrayValue(_)) => names.push(Cow::Borrowed("level")),
        // Go appends only to a string or list hint.
        _ => {}
    }
    let level = get(&lr.attributes, "level")
        .is_none()
        .then(|| severity_level(lr.severity_number));
    (names, level)
}

/// Go's `timestampFromLogRecord`.
fn timestamp(lr: &LogRecord, now: &dyn Fn() -> i64) -> i64 {
    if lr.time_unix_nano != 0 {
        lr.time_unix_nano as i64
    } else if lr.observed_time_unix_nano != 0 {
        lr.observed_time_unix_nano as i64
    } else {
        now()
    }
}
