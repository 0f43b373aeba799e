//! Log records: one row per record with the stream's labels (the resource attributes Loki's
//! OTLP ingestion indexes, dots as underscores), the time, severity, trace and span ids, the
//! line (the body as text) and the record's own OTLP encoding — without its body when the
//! body is the line, so a line is stored once. Blocks are sorted by stream then time and
//! list the streams they hold, so a stream selector skips blocks and pages without reading
//! them.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;

use crate::codec::{
    Dict, Reader, Result, decode_labels, encode_labels, put_bytes, put_ivarint, put_uvarint,
};
use crate::table::Schema;

pub use labels::Labels;

/// The resource attributes Loki's OTLP ingestion makes stream labels by default
/// (`distributor.otlp_config.default_resource_attributes_as_index_labels`).
pub const LOKI_INDEX_LABELS: &[&str] = &[
    "cloud.availability_zone",
    "cloud.region",
    "container.name",
    "deployment.environment",
    "deployment.environment.name",
    "k8s.cluster.name",
    "k8s.container.name",
    "k8s.cronjob.name",
    "k8s.daemonset.name",
    "k8s.deployment.name",
    "k8s.job.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.replicaset.name",
    "k8s.statefulset.name",
    "service.instance.id",
    "service.name",
    "service.namespace",
];

#[derive(Debug, Clone)]
pub struct LogRow {
    pub ts_ns: i64,
    pub severity: u8,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub labels: Arc<Labels>,
    pub line: Arc<str>,
    /// `ResourceLogs` without scope logs.
    pub resource: Bytes,
    /// `ScopeLogs` without records.
    pub scope: Bytes,
    /// The `LogRecord`, without its body when `body_is_line`.
    pub record: Bytes,
    pub body_is_line: bool,
}

/// Loki's label name for an attribute key: its OTLP ingestion normalises names as the
/// Prometheus translator does (`http.method` → `http_method`, a leading digit → `key_…`).
pub fn label_name(key: &str) -> String {
    promtranslate::naming::label_or_raw(key)
}

/// Text of an attribute value as Loki writes it into labels and structured metadata.
pub fn any_to_string(v: &AnyValue) -> String {
    match v.value.as_ref() {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(b)
        }
        Some(_) => pdata::anyvalue::any_to_json(v).to_string(),
        None => String::new(),
    }
}

fn stream_labels(attrs: &[KeyValue]) -> Labels {
    let mut l: Labels = attrs
        .iter()
        .filter(|kv| LOKI_INDEX_LABELS.contains(&kv.key.as_str()))
        .filter_map(|kv| Some((label_name(&kv.key), any_to_string(kv.value.as_ref()?))))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if !l.iter().any(|(k, _)| k == "service_name") {
        l.push(("service_name".into(), "unknown_service".into()));
    }
    l.sort();
    l.dedup_by(|a, b| a.0 == b.0);
    l
}

fn id<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().unwrap_or([0; N])
}

pub(crate) fn rows(req: &ExportLogsServiceRequest) -> Vec<LogRow> {
    let mut out = Vec::new();
    for rl in &req.resource_logs {
        let attrs = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes);
        let labels = Arc::new(stream_labels(attrs));
        let resource = Bytes::from(
            ResourceLogs {
                resource: rl.resource.clone(),
                scope_logs: Vec::new(),
                schema_url: rl.schema_url.clone(),
            }
            .encode_to_vec(),
        );
        for sl in &rl.scope_logs {
            let scope = Bytes::from(
                ScopeLogs {
                    scope: sl.scope.clone(),
                    log_records: Vec::new(),
                    schema_url: sl.schema_url.clone(),
                }
                .encode_to_vec(),
            );
            for r in &sl.log_records {
                let ts = if r.time_unix_nano != 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                } as i64;
                let (line, body_is_line) = match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => (Arc::from(s.as_str()), true),
                    Some(_) => (
                        Arc::from(any_to_string(r.body.as_ref().expect("matched Some")).as_str()),
                        false,
                    ),
                    None => (Arc::from(""), true),
                };
                let record = record_rest(r, body_is_line);
                out.push(LogRow {
                    ts_ns: ts,
                    severity: r.severity_number.clamp(0, 255) as u8,
                    trace_id: id(&r.trace_id),
                    span_id: id(&r.span_id),
                    labels: labels.clone(),
                    line,
                    resource: resource.clone(),
                    scope: scope.clone(),
                    record: Bytes::from(record),
                    body_is_line,
                });
            }
        }
    }
    out
}

/// Rows of a Loki push request: the stream's labels as given, the line as the body, the
/// structured metadata as attributes (`trace_id`/`span_id` among them become the record's
/// ids). An entry of a stream whose labels do not parse is skipped and counted.
pub(crate) fn rows_from_push(req: &crate::lokiproto::PushRequest) -> (Vec<LogRow>, usize) {
    let mut out = Vec::new();
    let mut invalid = 0;
    let resource = Bytes::from(ResourceLogs::default().encode_to_vec());
    let scope = Bytes::from(ScopeLogs::default().encode_to_vec());
    for s in &req.streams {
        let Ok(labels) = crate::lokiproto::parse_labels(&s.labels) else {
            invalid += s.entries.len();
            continue;
        };
        let labels = Arc::new(labels);
        for e in &s.entries {
            let mut rec = LogRecord::default();
            let mut trace_id = [0u8; 16];
            let mut span_id = [0u8; 8];
            for m in &e.structured_metadata {
                match m.name.as_str() {
                    "trace_id" if hex::decode_to_slice(&m.value, &mut trace_id).is_ok() => {}
                    "span_id" if hex::decode_to_slice(&m.value, &mut span_id).is_ok() => {}
                    _ => rec.attributes.push(KeyValue {
                        key: m.name.clone(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(m.value.clone())),
                        }),
                        ..Default::default()
                    }),
                }
            }
            let ts =
                e.timestamp.seconds.saturating_mul(1_000_000_000) + i64::from(e.timestamp.nanos);
            out.push(LogRow {
                ts_ns: ts,
                severity: 0,
                trace_id,
                span_id,
                labels: labels.clone(),
                line: Arc::from(e.line.as_str()),
                resource: resource.clone(),
                scope: scope.clone(),
                record: Bytes::from(rec.encode_to_vec()),
                body_is_line: true,
            });
        }
    }
    (out, invalid)
}

/// A record's encoding without what the row holds in columns: the body when it is the line,
/// and well-formed trace and span ids (random bytes no compressor shrinks, which were stored
/// twice). A valid `LogRecord`; [`LogRow::record`] puts them back. Written field by field,
/// so ingest does not clone the record to clear them.
fn record_rest(r: &LogRecord, body_is_line: bool) -> Vec<u8> {
    use prost::encoding::{bytes, fixed32, fixed64, int32, message, string, uint32};
    let mut out = Vec::with_capacity(r.encoded_len());
    if r.time_unix_nano != 0 {
        fixed64::encode(1, &r.time_unix_nano, &mut out);
    }
    if r.severity_number != 0 {
        int32::encode(2, &r.severity_number, &mut out);
    }
    if !r.severity_text.is_empty() {
        string::encode(3, &r.severity_text, &mut out);
    }
    if !body_is_line && let Some(b) = &r.body {
        message::encode(5, b, &mut out);
    }
    for kv in &r.attributes {
        message::encode(6, kv, &mut out);
    }
    if r.dropped_attributes_count != 0 {
        uint32::encode(7, &r.dropped_attributes_count, &mut out);
    }
    if r.flags != 0 {
        fixed32::encode(8, &r.flags, &mut out);
    }
    // Ids of another length than OTLP's stay in the bytes: the columns hold only valid ones.
    if !r.trace_id.is_empty() && r.trace_id.len() != 16 {
        bytes::encode(9, &r.trace_id, &mut out);
    }
    if !r.span_id.is_empty() && r.span_id.len() != 8 {
        bytes::encode(10, &r.span_id, &mut out);
    }
    if r.observed_time_unix_nano != 0 {
        fixed64::encode(11, &r.observed_time_unix_nano, &mut out);
    }
    if !r.event_name.is_empty() {
        string::encode(12, &r.event_name, &mut out);
    }
    out
}

impl LogRow {
    pub fn record(&self) -> LogRecord {
        let mut r = LogRecord::decode(&self.record[..]).unwrap_or_default();
        if r.trace_id.is_empty() && self.trace_id != [0; 16] {
            r.trace_id = self.trace_id.to_vec();
        }
        if r.span_id.is_empty() && self.span_id != [0; 8] {
            r.span_id = self.span_id.to_vec();
        }
        if self.body_is_line && !self.line.is_empty() {
            r.body = Some(AnyValue {
                value: Some(any_value::Value::StringValue(self.line.to_string())),
            });
        }
        r
    }

    /// Loki's structured metadata for an OTLP record: its attributes (names sanitised),
    /// `trace_id`, `span_id`, `severity_text`, `severity_number`, the scope's name, and
    /// `detected_level` (what Grafana's log volume groups by).
    pub fn metadata(&self) -> Labels {
        self.metadata_with(&mut MetadataCache::default())
    }

    /// [`LogRow::metadata`], with the scope's and resource's part of it (the same for every
    /// record of a request) decoded once per scan through `cache`.
    pub fn metadata_with(&self, cache: &mut MetadataCache) -> Labels {
        let r = LogRecord::decode(&self.record[..]).unwrap_or_default();
        // Record attributes first: on a name clash they win over the scope's and resource's.
        let mut m: Labels = r.attributes.iter().filter_map(named).collect();
        if self.trace_id != [0; 16] {
            m.push(("trace_id".into(), hex::encode(self.trace_id)));
        }
        if self.span_id != [0; 8] {
            m.push(("span_id".into(), hex::encode(self.span_id)));
        }
        if !r.severity_text.is_empty() {
            m.push(("severity_text".into(), r.severity_text.clone()));
        }
        if r.severity_number != 0 {
            m.push(("severity_number".into(), r.severity_number.to_string()));
        }
        let shared = cache.get(self);
        m.extend(shared.0.iter().cloned());
        m.push((
            "detected_level".into(),
            detected_level(self.severity, &r.severity_text).into(),
        ));
        m.extend(shared.1.iter().cloned());
        // Stable: of equal names, the first pushed stays.
        m.sort_by(|a, b| a.0.cmp(&b.0));
        m.dedup_by(|a, b| a.0 == b.0);
        m
    }
}

impl LogRow {
    /// The structured metadata under `names` only — what [`LogRow::metadata_with`] gives,
    /// filtered — computed from the row's columns when every name is one of `detected_level`,
    /// `trace_id` and `span_id` and nothing of the record, scope or resource carries the same
    /// name (a LogQL `sum by (detected_level)` reads millions of records for one label).
    pub fn metadata_for(&self, names: &[String], cache: &mut MetadataCache) -> Labels {
        let column = |n: &str| matches!(n, "detected_level" | "trace_id" | "span_id");
        let shared = cache.get(self);
        let shadowed = names.iter().any(|n| {
            !column(n)
                || shared.0.iter().chain(shared.1.iter()).any(|(k, _)| k == n)
                || record_has_attribute(&self.record, n)
        });
        let mut m: Labels = if shadowed {
            let mut m = self.metadata_with(cache);
            m.retain(|(k, _)| names.contains(k));
            m
        } else {
            let mut m = Labels::new();
            for n in names {
                match n.as_str() {
                    "trace_id" if self.trace_id != [0; 16] => {
                        m.push((n.clone(), hex::encode(self.trace_id)));
                    }
                    "span_id" if self.span_id != [0; 8] => {
                        m.push((n.clone(), hex::encode(self.span_id)));
                    }
                    "detected_level" => {
                        // The text counts only when the number is unset.
                        let text = if self.severity == 0 {
                            LogRecord::decode(&self.record[..])
                                .map(|r| r.severity_text)
                                .unwrap_or_default()
                        } else {
                            String::new()
                        };
                        m.push((n.clone(), detected_level(self.severity, &text).into()));
                    }
                    _ => {}
                }
            }
            m
        };
        m.sort();
        m.dedup_by(|a, b| a.0 == b.0);
        m
    }
}

/// Whether the record's encoding has an attribute whose label name is `name`, read without
/// decoding the record.
fn record_has_attribute(record: &[u8], name: &str) -> bool {
    let mut r = Reader::new(record);
    while r.remaining() > 0 {
        let Ok(key) = r.uvarint() else { return false };
        let skipped = match key & 7 {
            0 => r.uvarint().map(drop),
            1 => r.take(8).map(drop),
            5 => r.take(4).map(drop),
            2 => match r.bytes() {
                // LogRecord.attributes = 6; KeyValue.key = 1
                Ok(kv) if key >> 3 == 6 => {
                    let mut k = Reader::new(kv);
                    if k.uvarint() == Ok(0x0a)
                        && let Ok(attr) = k.str()
                        && (attr == name || label_name(attr) == name)
                    {
                        return true;
                    }
                    Ok(())
                }
                other => other.map(drop),
            },
            _ => return false,
        };
        if skipped.is_err() {
            return false;
        }
    }
    false
}

fn named(kv: &KeyValue) -> Option<(String, String)> {
    Some((label_name(&kv.key), any_to_string(kv.value.as_ref()?)))
}

/// The structured metadata a record's scope and resource give it — the scope's name and
/// attributes, and the resource attributes Loki does not index — by (resource, scope)
/// encoding. Rows of one request share those buffers, so a scan decodes each once.
#[derive(Default)]
pub struct MetadataCache {
    /// Keyed by the buffers' addresses and lengths; the value keeps both buffers alive so an
    /// address cannot be reused meanwhile.
    map: HashMap<BufferKey, (Bytes, Bytes, SharedMetadata)>,
}

/// Address and length of the resource's and the scope's encoding.
type BufferKey = (usize, usize, usize, usize);

/// (the scope's part, the resource's part)
type SharedMetadata = std::sync::Arc<(Labels, Labels)>;

impl MetadataCache {
    fn get(&mut self, row: &LogRow) -> SharedMetadata {
        let key = (
            row.resource.as_ptr() as usize,
            row.resource.len(),
            row.scope.as_ptr() as usize,
            row.scope.len(),
        );
        if let Some((_, _, v)) = self.map.get(&key) {
            return v.clone();
        }
        let mut scope_part = Labels::new();
        if let Ok(s) = ScopeLogs::decode(&row.scope[..])
            && let Some(scope) = s.scope
        {
            if !scope.name.is_empty() {
                scope_part.push(("scope_name".into(), scope.name.clone()));
            }
            scope_part.extend(scope.attributes.iter().filter_map(named));
        }
        // Loki keeps the resource attributes it does not index as structured metadata.
        let mut resource_part = Labels::new();
        if let Ok(rl) = ResourceLogs::decode(&row.resource[..])
            && let Some(res) = rl.resource
        {
            resource_part.extend(
                res.attributes
                    .iter()
                    .filter(|kv| !LOKI_INDEX_LABELS.contains(&kv.key.as_str()))
                    .filter_map(named),
            );
        }
        let v = std::sync::Arc::new((scope_part, resource_part));
        self.map
            .insert(key, (row.resource.clone(), row.scope.clone(), v.clone()));
        v
    }
}

/// Loki's level from OTLP severity: the number's range, else the text, else "unknown".
pub fn detected_level(number: u8, text: &str) -> &'static str {
    match number {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "critical",
        _ => match text.to_ascii_lowercase().as_str() {
            "trace" => "trace",
            "debug" => "debug",
            "info" | "information" => "info",
            "warn" | "warning" => "warn",
            "error" | "err" => "error",
            "fatal" | "critical" => "critical",
            _ => "unknown",
        },
    }
}

/// Rebuilds OTLP from rows, records in time order.
pub fn assemble(rows: &[&LogRow]) -> Vec<ResourceLogs> {
    let mut order: Vec<&LogRow> = rows.to_vec();
    order.sort_by_key(|r| r.ts_ns);
    let mut out: Vec<ResourceLogs> = Vec::new();
    let mut res_index: HashMap<&[u8], usize> = HashMap::new();
    let mut scope_index: HashMap<(usize, &[u8]), usize> = HashMap::new();
    for r in order {
        let ri = *res_index.entry(&r.resource[..]).or_insert_with(|| {
            out.push(ResourceLogs::decode(&r.resource[..]).unwrap_or_default());
            out.len() - 1
        });
        let si = *scope_index.entry((ri, &r.scope[..])).or_insert_with(|| {
            out[ri]
                .scope_logs
                .push(ScopeLogs::decode(&r.scope[..]).unwrap_or_default());
            out[ri].scope_logs.len() - 1
        });
        out[ri].scope_logs[si].log_records.push(r.record());
    }
    out
}

pub(crate) struct LogMeta {
    /// Distinct streams of the block.
    pub streams: Vec<Arc<Labels>>,
    /// Per page, indexes into `streams`.
    pub page_streams: Vec<Vec<u32>>,
}

pub(crate) struct Logs;

impl Schema for Logs {
    type Row = LogRow;
    type Meta = LogMeta;
    const NAME: &'static str = "logs";

    fn time(r: &LogRow) -> i64 {
        r.ts_ns
    }

    fn size(r: &LogRow) -> usize {
        80 + r.line.len() + r.record.len()
    }

    fn sort(rows: &mut [&LogRow]) {
        rows.sort_by(|a, b| a.labels.cmp(&b.labels).then(a.ts_ns.cmp(&b.ts_ns)));
    }

    /// A page is two frames. The prefix — the row count, the page's streams, then per row
    /// its stream, time and line — is what a line filter reads; the rest holds everything
    /// else, so a text search decompresses only the lines.
    fn encode_page(rows: &[&LogRow], out: &mut Vec<u8>) -> usize {
        let mut streams: Vec<&Arc<Labels>> = Vec::new();
        let mut stream_ids: HashMap<*const Labels, u32> = HashMap::new();
        let mut resources = Dict::default();
        let mut scopes = Dict::default();
        let mut sids = Vec::new();
        let mut times = Vec::new();
        let mut lens = Vec::new();
        let mut lines = Vec::new();
        let mut small = Vec::new();
        let mut ids = Vec::new();
        let mut records = Vec::new();
        let mut prev = 0i64;
        for r in rows {
            let sid = *stream_ids.entry(Arc::as_ptr(&r.labels)).or_insert_with(|| {
                // Equal label sets from different requests share an id too.
                match streams.iter().position(|s| ***s == *r.labels) {
                    Some(i) => i as u32,
                    None => {
                        streams.push(&r.labels);
                        (streams.len() - 1) as u32
                    }
                }
            });
            put_uvarint(&mut sids, sid.into());
            put_ivarint(&mut times, r.ts_ns.wrapping_sub(prev));
            prev = r.ts_ns;
            put_uvarint(&mut lens, r.line.len() as u64);
            lines.extend_from_slice(r.line.as_bytes());
            small.push(r.severity);
            small.push(r.body_is_line as u8);
            put_uvarint(&mut small, resources.id(&r.resource).into());
            put_uvarint(&mut small, scopes.id(&r.scope).into());
            ids.extend_from_slice(&r.trace_id);
            ids.extend_from_slice(&r.span_id);
            put_bytes(&mut records, &r.record);
        }
        let start = out.len();
        put_uvarint(out, rows.len() as u64);
        put_uvarint(out, streams.len() as u64);
        for s in streams {
            encode_labels(s, out);
        }
        for col in [&sids, &times, &lens, &lines] {
            put_bytes(out, col);
        }
        let prefix = out.len() - start;
        resources.encode(out);
        scopes.encode(out);
        for col in [&small, &ids, &records] {
            put_bytes(out, col);
        }
        prefix
    }

    fn decode_page(page: &[u8]) -> Result<Vec<LogRow>> {
        let mut r = Reader::new(page);
        let mut lines = LinesPage::read(&mut r)?;
        let n = lines.len();
        let streams: Vec<Arc<Labels>> = std::mem::take(&mut lines.streams)
            .into_iter()
            .map(Arc::new)
            .collect();
        let blobs = |r: &mut Reader| -> Result<Vec<Bytes>> {
            let k = r.len()?;
            (0..k)
                .map(|_| Ok(Bytes::copy_from_slice(r.bytes()?)))
                .collect()
        };
        let resources = blobs(&mut r)?;
        let scopes = blobs(&mut r)?;
        let mut small = Reader::new(r.bytes()?);
        let mut ids = Reader::new(r.bytes()?);
        let rec_col = r.bytes()?;
        let rec_all = Bytes::copy_from_slice(rec_col);
        let mut recs = Reader::new(rec_col);
        let oob = || "dictionary index out of range".to_string();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let labels = streams.get(lines.sids[i] as usize).ok_or_else(oob)?.clone();
            let severity = small.u8()?;
            let body_is_line = small.u8()? != 0;
            let resource = resources
                .get(small.uvarint()? as usize)
                .ok_or_else(oob)?
                .clone();
            let scope = scopes
                .get(small.uvarint()? as usize)
                .ok_or_else(oob)?
                .clone();
            out.push(LogRow {
                ts_ns: lines.ts[i],
                severity,
                trace_id: ids.array()?,
                span_id: ids.array()?,
                labels,
                line: Arc::from(lines.line(i)?),
                resource,
                scope,
                record: rec_all.slice(recs.bytes_range()?),
                body_is_line,
            });
        }
        Ok(out)
    }

    fn build_meta(rows: &[&LogRow], pages: &[Range<usize>]) -> LogMeta {
        let set: BTreeSet<&Labels> = rows.iter().map(|r| &*r.labels).collect();
        let streams: Vec<Arc<Labels>> = set.into_iter().map(|l| Arc::new(l.clone())).collect();
        let page_streams = pages
            .iter()
            .map(|p| {
                let mut ids: Vec<u32> = rows[p.clone()]
                    .iter()
                    .filter_map(|r| {
                        streams
                            .binary_search_by(|s| (**s).cmp(&*r.labels))
                            .ok()
                            .map(|i| i as u32)
                    })
                    .collect();
                ids.dedup();
                ids
            })
            .collect();
        LogMeta {
            streams,
            page_streams,
        }
    }

    fn encode_meta(m: &LogMeta, out: &mut Vec<u8>) {
        put_uvarint(out, m.streams.len() as u64);
        for s in &m.streams {
            encode_labels(s, out);
        }
        put_uvarint(out, m.page_streams.len() as u64);
        for p in &m.page_streams {
            put_uvarint(out, p.len() as u64);
            for i in p {
                put_uvarint(out, (*i).into());
            }
        }
    }

    fn decode_meta(r: &mut Reader) -> Result<LogMeta> {
        let n = r.len()?;
        let streams = (0..n)
            .map(|_| decode_labels(r).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        let n = r.len()?;
        let mut page_streams = Vec::with_capacity(n);
        for _ in 0..n {
            let k = r.len()?;
            page_streams.push(
                (0..k)
                    .map(|_| r.uvarint().map(|v| v as u32))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        Ok(LogMeta {
            streams,
            page_streams,
        })
    }

    fn meta_bytes(m: &LogMeta) -> usize {
        m.streams.iter().map(|s| 32 + s.len() * 48).sum::<usize>()
            + m.page_streams
                .iter()
                .map(|p| 24 + p.len() * 4)
                .sum::<usize>()
    }
}

/// The prefix frame of a log page: per row its stream (index into the page's streams), its
/// time and its line, the lines one contiguous text.
pub(crate) struct LinesPage<'a> {
    pub streams: Vec<Labels>,
    pub sids: Vec<u32>,
    pub ts: Vec<i64>,
    /// End offset of each line in `text`.
    pub ends: Vec<usize>,
    pub text: &'a str,
}

impl<'a> LinesPage<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<LinesPage<'a>> {
        let n = r.len()?;
        let ns = r.len()?;
        let streams = (0..ns)
            .map(|_| decode_labels(r))
            .collect::<Result<Vec<_>>>()?;
        let mut sids_r = Reader::new(r.bytes()?);
        let mut times = Reader::new(r.bytes()?);
        let mut lens = Reader::new(r.bytes()?);
        let text = std::str::from_utf8(r.bytes()?).map_err(|e| format!("log lines: {e}"))?;
        let (mut sids, mut ts, mut ends) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut prev, mut end) = (0i64, 0usize);
        for _ in 0..n {
            sids.push(sids_r.uvarint()? as u32);
            prev = prev.wrapping_add(times.ivarint()?);
            ts.push(prev);
            end = end.saturating_add(lens.uvarint()? as usize);
            ends.push(end);
        }
        if end > text.len() {
            return Err("log line lengths exceed the page's text".into());
        }
        if sids.iter().any(|&s| s as usize >= streams.len()) {
            return Err("dictionary index out of range".into());
        }
        Ok(LinesPage {
            streams,
            sids,
            ts,
            ends,
            text,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }

    pub(crate) fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] }
    }

    pub(crate) fn line(&self, i: usize) -> Result<&'a str> {
        self.text
            .get(self.start(i)..self.ends[i])
            .ok_or_else(|| "log line not on a character boundary".to_string())
    }

    /// The row holding byte `pos` of `text`.
    pub(crate) fn row_at(&self, pos: usize) -> usize {
        self.ends.partition_point(|&e| e <= pos)
    }
}
