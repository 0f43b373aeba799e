//! Entries to OTLP, as the Go receiver adapter's converter does it: records grouped by
//! resource (equal attribute sets share one `ResourceLogs`, in order of first appearance)
//! and then by scope name; timestamp set only when non-zero; severity text defaulting to
//! the short name of the number; trace/span ids padded or cut to 16/8 bytes; flags from the
//! first trace-flags byte. Entries are consumed so that strings move into the messages.

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use pdata::proto::logs::v1::LogRecord;
use pdata::proto::resource::v1::Resource;
use pdata::text::same_str;

use crate::entry::Entry;
use crate::value::{Map, Value};

/// Go's `defaultSevTextMap`: the text a record gets when the entry has none; the canonical
/// names of [`crate::severity::short_name`], except that unset (0) has none.
pub fn severity_short_name(severity: u8) -> &'static str {
    match severity {
        0 => "",
        s => crate::severity::short_name(s),
    }
}

/// Converts a value to OTLP (Go `upsertToAttributeVal`); nil is an empty value.
pub fn any_value(v: Value) -> AnyValue {
    use any_value::Value as V;
    let value = match v {
        Value::Nil => None,
        Value::Bool(b) => Some(V::BoolValue(b)),
        Value::Int(i) => Some(V::IntValue(i)),
        Value::Float(x) => Some(V::DoubleValue(x)),
        Value::Str(s) => Some(V::StringValue(s.into_string())),
        Value::Bytes(b) => Some(V::BytesValue(b)),
        Value::Map(m) => Some(V::KvlistValue(KeyValueList {
            values: key_values(m),
        })),
        Value::List(l) => Some(V::ArrayValue(ArrayValue {
            values: l.into_iter().map(any_value).collect(),
        })),
    };
    AnyValue { value }
}

/// Converts a map to OTLP attributes, in the map's order.
pub fn key_values(m: Map) -> Vec<KeyValue> {
    m.into_iter()
        .map(|(k, v)| KeyValue {
            key: String::from(k.as_str()),
            value: Some(any_value(v)),
            ..Default::default()
        })
        .collect()
}

/// An id as the record carries it: padded with zeros or cut to `len` bytes, and absent
/// when all zero.
pub fn fixed_id(mut id: Vec<u8>, len: usize) -> Vec<u8> {
    if id.is_empty() {
        return id;
    }
    id.resize(len, 0);
    // pdata writes an all-zero id as absent.
    if id.iter().all(|&b| b == 0) {
        id.clear();
    }
    id
}

/// One entry as a log record (Go `convertInto`).
pub fn log_record(e: Entry) -> LogRecord {
    let severity_text = if e.severity_text.is_empty() {
        severity_short_name(e.severity).to_string()
    } else {
        e.severity_text
    };
    LogRecord {
        time_unix_nano: e.timestamp.max(0) as u64,
        observed_time_unix_nano: e.observed_timestamp.max(0) as u64,
        severity_number: i32::from(e.severity.min(24)),
        severity_text,
        body: match e.body {
            Value::Nil => None,
            b => Some(any_value(b)),
        },
        attributes: key_values(e.attributes),
        flags: e.trace_flags.first().map_or(0, |&f| u32::from(f)),
        trace_id: fixed_id(e.trace_id, 16),
        span_id: fixed_id(e.span_id, 8),
        ..Default::default()
    }
}

/// The entries of one scope as [`pdata::lazy::LazyRecords`]: converted to OTLP records
/// only if a component asks for them. Their resource and scope name were taken out (they
/// are the group's).
#[derive(Debug, Default)]
pub struct Records(pub Vec<Entry>);

impl pdata::lazy::LazyRecords for Records {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn into_log_records(self: Box<Self>) -> Vec<LogRecord> {
        self.0.into_iter().map(log_record).collect()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The batch of a receiver's entries ([`to_logs`]): converted to OTLP records only if a
/// component asks for them.
pub fn to_batch(entries: Vec<Entry>) -> pdata::Batch {
    pdata::Batch::from_lazy_logs(to_logs(entries))
}

/// Builds the OTLP request for a batch of entries (Go `ConvertEntries`).
pub fn to_request(entries: Vec<Entry>) -> ExportLogsServiceRequest {
    to_logs(entries).into_request()
}

/// Entries grouped as Go's converter groups them: by resource (equal attribute sets share
/// one, in order of first appearance), then by scope name; the resources and scopes in
/// OTLP, the records still entries ([`Records`]).
pub fn to_logs(mut entries: Vec<Entry>) -> pdata::lazy::LazyLogs {
    use pdata::lazy::{LazyLogs, LazyResourceLogs, LazyScopeLogs};
    let groups = match take_single_group(&mut entries) {
        // One resource and one scope (a batch of one file's lines, as a node agent's are):
        // the entries become the records where they are, not moved one by one.
        Some((resource, name)) => vec![(resource, vec![(name, entries)])],
        None => groups_of(entries),
    };
    let resource_logs = groups
        .into_iter()
        .map(|(resource, scopes)| LazyResourceLogs {
            resource: Some(Resource {
                attributes: key_values(resource),
                ..Default::default()
            }),
            scope_logs: scopes
                .into_iter()
                .map(|(name, records)| LazyScopeLogs {
                    scope: Some(InstrumentationScope {
                        name,
                        ..Default::default()
                    }),
                    records: Box::new(Records(records)),
                })
                .collect(),
        })
        .collect();
    LazyLogs { resource_logs }
}

/// A scope's name and entries.
type Scope = (String, Vec<Entry>);

/// When every entry has the same resource and scope name: those, taken out of each entry.
fn take_single_group(entries: &mut [Entry]) -> Option<(Map, String)> {
    let (first, rest) = entries.split_first_mut()?;
    if !rest
        .iter()
        .all(|e| same_str(&e.scope_name, &first.scope_name) && e.resource == first.resource)
    {
        return None;
    }
    for e in rest {
        e.resource = Map::new();
        e.scope_name = String::new();
    }
    Some((
        std::mem::take(&mut first.resource),
        std::mem::take(&mut first.scope_name),
    ))
}

/// The entries' resources (the attributes as the entries carried them) with each one's
/// scopes, in order of first appearance. Few resources per batch: a linear search with a
/// last-hit shortcut beats hashing every entry.
fn groups_of(entries: Vec<Entry>) -> Vec<(Map, Vec<Scope>)> {
    let mut groups: Vec<(Map, Vec<Scope>)> = Vec::new();
    let mut last: Option<usize> = None;
    let total = entries.len();
    for (n, mut e) in entries.into_iter().enumerate() {
        let resource = std::mem::take(&mut e.resource);
        let g = match last.filter(|&g| groups[g].0 == resource) {
            Some(g) => g,
            None => match groups.iter().position(|(r, _)| *r == resource) {
                Some(g) => g,
                None => {
                    groups.push((resource, Vec::new()));
                    groups.len() - 1
                }
            },
        };
        last = Some(g);
        let first_group = groups.len() == 1;
        let scopes = &mut groups[g].1;
        let scope_name = std::mem::take(&mut e.scope_name);
        // Most entries have no scope name ([`same_str`]: no `memcmp` of two empty names).
        match scopes
            .iter_mut()
            .find(|(name, _)| same_str(name, &scope_name))
        {
            Some((_, records)) => records.push(e),
            None => {
                // The first resource's first scope has room for every entry left, so that
                // its records do not grow by copies; others grow.
                let room = if first_group && scopes.is_empty() {
                    total - n
                } else {
                    4
                };
                let mut records = Vec::with_capacity(room);
                records.push(e);
                scopes.push((scope_name, records));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use pdata::proto::logs::v1::{ResourceLogs, ScopeLogs};

    use super::*;
    use crate::map;

    #[test]
    fn groups_by_resource_then_scope_in_first_seen_order() {
        let mk = |r: &str, scope: &str, body: &str| {
            let mut e = Entry::with_body(body, 7);
            e.resource.insert("pod", r.into());
            e.scope_name = scope.into();
            e
        };
        let req = to_request(vec![
            mk("a", "", "1"),
            mk("b", "", "2"),
            mk("a", "s", "3"),
            mk("a", "", "4"),
        ]);
        assert_eq!(req.resource_logs.len(), 2);
        let a = &req.resource_logs[0];
        assert_eq!(a.scope_logs.len(), 2);
        assert_eq!(a.scope_logs[0].log_records.len(), 2);
        assert_eq!(a.scope_logs[1].scope.as_ref().unwrap().name, "s");
        let attrs = &a.resource.as_ref().unwrap().attributes;
        assert_eq!(attrs[0].key, "pod");
    }

    #[test]
    fn a_batch_of_entries_is_the_request_they_convert_to() {
        let mk = |r: &str, scope: &str, body: &str, sev: u8| {
            let mut e = Entry::with_body(body, 7);
            e.resource.insert("pod", r.into());
            e.attributes.insert("n", body.into());
            e.scope_name = scope.into();
            e.severity = sev;
            e
        };
        let entries = vec![
            mk("a", "", "1", 0),
            mk("b", "", "2", 9),
            mk("a", "s", "3", 0),
            mk("a", "", "4", 17),
            mk("b", "t", "5", 0),
        ];
        let batch = to_batch(entries.clone());
        assert_eq!(batch.item_count(), 5);
        let shape = batch
            .with_lazy_logs(|l| {
                l.resource_logs
                    .iter()
                    .map(|r| r.scope_logs.iter().map(|s| s.records.len()).collect())
                    .collect::<Vec<Vec<usize>>>()
            })
            .expect("lazy until asked");
        assert_eq!(shape, vec![vec![2, 1], vec![1, 1]]);
        // Asked for, the records are the converter's, under their resources and scopes.
        let rec = |i: usize| log_record(entries[i].clone());
        let res = |pod: &str, scopes: Vec<(&str, Vec<LogRecord>)>| ResourceLogs {
            resource: Some(Resource {
                attributes: key_values(crate::map! {"pod" => pod}),
                ..Default::default()
            }),
            scope_logs: scopes
                .into_iter()
                .map(|(name, log_records)| ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: name.into(),
                        ..Default::default()
                    }),
                    log_records,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let want = ExportLogsServiceRequest {
            resource_logs: vec![
                res("a", vec![("", vec![rec(0), rec(3)]), ("s", vec![rec(2)])]),
                res("b", vec![("", vec![rec(1)]), ("t", vec![rec(4)])]),
            ],
        };
        assert_eq!(*batch.request().unwrap(), pdata::Request::Logs(want));
    }

    /// A batch of one resource and one scope (one file's lines) is one group whose records
    /// are the entries, with the group's resource and scope taken out of each; one entry of
    /// another resource, first or last, makes two groups.
    #[test]
    fn one_resource_and_scope_is_one_group_of_the_entries() {
        let mk = |body: &str, reversed: bool| {
            let mut e = Entry::with_body(body, 7);
            // The same resource whatever the order of its keys.
            let (k1, k2) = if reversed { ("b", "a") } else { ("a", "b") };
            e.resource.insert(k1, k1.into());
            e.resource.insert(k2, k2.into());
            e.scope_name = "s".into();
            e.attributes.insert("n", body.into());
            e
        };
        let entries: Vec<Entry> = (0..5).map(|i| mk(&i.to_string(), i % 2 == 1)).collect();
        let given = entries.clone();
        let at = given.as_ptr();
        let logs = to_logs(given);
        assert_eq!(logs.resource_logs.len(), 1);
        let r = &logs.resource_logs[0];
        assert_eq!(
            r.resource.as_ref().unwrap().attributes,
            key_values(entries[0].resource.clone())
        );
        assert_eq!(r.scope_logs.len(), 1);
        assert_eq!(r.scope_logs[0].scope.as_ref().unwrap().name, "s");
        let records = r.scope_logs[0]
            .records
            .as_any()
            .downcast_ref::<Records>()
            .unwrap();
        assert_eq!(records.0.len(), 5);
        assert_eq!(
            records.0.as_ptr(),
            at,
            "the records are the entries where they were"
        );
        for (got, e) in records.0.iter().zip(&entries) {
            assert!(got.resource.is_empty() && got.scope_name.is_empty());
            assert_eq!(got.body, e.body);
            assert_eq!(got.attributes, e.attributes);
        }
        for odd in [0, 4] {
            let mut two = entries.clone();
            two[odd].resource.insert("c", "c".into());
            let logs = to_logs(two);
            assert_eq!(logs.resource_logs.len(), 2, "odd one at {odd}");
            let counts: Vec<usize> = logs
                .resource_logs
                .iter()
                .map(|r| r.scope_logs[0].records.len())
                .collect();
            assert_eq!(counts, if odd == 0 { vec![1, 4] } else { vec![4, 1] });
        }
        let mut scoped = entries.clone();
        scoped[2].scope_name = "t".into();
        let logs = to_logs(scoped);
        assert_eq!(logs.resource_logs.len(), 1);
        assert_eq!(logs.resource_logs[0].scope_logs.len(), 2);
        assert!(to_logs(Vec::new()).resource_logs.is_empty());
    }

    #[test]
    fn record_fields_follow_the_go_converter() {
        let mut e = Entry::with_body(
            map! {"k" => 1.5f64, "l" => Value::List(vec![Value::Nil, true.into()])},
            42,
        );
        e.severity = 17;
        e.trace_id = vec![1, 2];
        e.span_id = vec![0; 8];
        e.trace_flags = vec![1, 9];
        e.attributes.insert("log.iostream", "stdout".into());
        let r = log_record(e);
        assert_eq!(r.time_unix_nano, 0);
        assert_eq!(r.observed_time_unix_nano, 42);
        assert_eq!(r.severity_number, 17);
        assert_eq!(r.severity_text, "ERROR");
        assert_eq!(r.trace_id.len(), 16);
        assert_eq!(&r.trace_id[..3], &[1, 2, 0]);
        assert!(r.span_id.is_empty());
        assert_eq!(r.flags, 1);
        let Some(any_value::Value::KvlistValue(kv)) = r.body.unwrap().value else {
            panic!("body should be a map");
        };
        assert_eq!(
            kv.values[0].value.as_ref().unwrap().value,
            Some(any_value::Value::DoubleValue(1.5))
        );
        let mut e = Entry::with_body(Value::Nil, 1);
        e.timestamp = 5;
        e.severity = 9;
        e.severity_text = "info".into();
        let r = log_record(e);
        assert_eq!(r.time_unix_nano, 5);
        assert!(r.body.is_none());
        assert_eq!(r.severity_text, "info");
        assert_eq!(severity_short_name(0), "");
        assert_eq!(severity_short_name(14), "WARN2");
    }
}
