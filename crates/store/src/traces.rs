//! Spans: one row per span, with the columns trace search filters on (ids, times, service,
//! name, kind, status) next to the span's own OTLP encoding and its resource's and scope's
//! (shared by the rows of one request, and written once per page). Blocks are sorted by
//! trace id, so one trace is in one page of a block; a Bloom filter per block and the first
//! and last trace id of each page find it without reading other pages.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::codec::{Bloom, Dict, Reader, Result, put_bytes, put_uvarint};
use crate::table::Schema;

/// One stored span.
#[derive(Debug, Clone)]
pub struct SpanRow {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// Zero when the span is a root.
    pub parent_span_id: [u8; 8],
    pub start_ns: u64,
    pub end_ns: u64,
    pub kind: u8,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    pub status: u8,
    pub service: Arc<str>,
    pub name: Arc<str>,
    /// `ResourceSpans` without its scope spans.
    pub resource: Bytes,
    /// `ScopeSpans` without its spans.
    pub scope: Bytes,
    /// The `Span`.
    pub span: Bytes,
}

impl SpanRow {
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    pub fn is_root(&self) -> bool {
        self.parent_span_id == [0; 8]
    }
}

pub(crate) fn trace_key(id: &[u8; 16]) -> u128 {
    u128::from_be_bytes(*id)
}

/// The service name OTLP data carries, or the SDKs' default.
pub fn service_name(resource: Option<&Resource>) -> &str {
    resource
        .and_then(|r| {
            r.attributes
                .iter()
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    any_value::Value::StringValue(s) => Some(s.as_str()),
                    _ => None,
                })
        })
        .unwrap_or("unknown_service")
}

fn id<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().unwrap_or([0; N])
}

/// Rows of a request; spans with an invalid (all-zero or wrong-length) trace id are
/// skipped and counted in the second value.
pub(crate) fn rows(req: &ExportTraceServiceRequest) -> (Vec<SpanRow>, usize) {
    let mut out = Vec::new();
    let mut invalid = 0;
    for rs in &req.resource_spans {
        let service: Arc<str> = service_name(rs.resource.as_ref()).into();
        let resource = Bytes::from(
            ResourceSpans {
                resource: rs.resource.clone(),
                scope_spans: Vec::new(),
                schema_url: rs.schema_url.clone(),
            }
            .encode_to_vec(),
        );
        for ss in &rs.scope_spans {
            let scope = Bytes::from(
                ScopeSpans {
                    scope: ss.scope.clone(),
                    spans: Vec::new(),
                    schema_url: ss.schema_url.clone(),
                }
                .encode_to_vec(),
            );
            let mut names: HashMap<&str, Arc<str>> = HashMap::new();
            for s in &ss.spans {
                if s.trace_id.len() != 16 || s.trace_id.iter().all(|b| *b == 0) {
                    invalid += 1;
                    continue;
                }
                let name = names
                    .entry(s.name.as_str())
                    .or_insert_with(|| s.name.as_str().into())
                    .clone();
                out.push(SpanRow {
                    trace_id: id(&s.trace_id),
                    span_id: id(&s.span_id),
                    parent_span_id: id(&s.parent_span_id),
                    start_ns: s.start_time_unix_nano,
                    end_ns: s.end_time_unix_nano.max(s.start_time_unix_nano),
                    kind: s.kind.clamp(0, 255) as u8,
                    status: s.status.as_ref().map_or(0, |st| st.code.clamp(0, 2) as u8),
                    service: service.clone(),
                    name,
                    resource: resource.clone(),
                    scope: scope.clone(),
                    span: Bytes::from(s.encode_to_vec()),
                });
            }
        }
    }
    (out, invalid)
}

/// Rebuilds OTLP from rows: one `ResourceSpans` per distinct resource, one `ScopeSpans` per
/// distinct scope within it, spans in start order.
pub fn assemble(rows: &[SpanRow]) -> Vec<ResourceSpans> {
    let mut order: Vec<&SpanRow> = rows.iter().collect();
    order.sort_by_key(|r| (r.start_ns, r.span_id));
    let mut out: Vec<ResourceSpans> = Vec::new();
    let mut res_index: HashMap<&[u8], usize> = HashMap::new();
    let mut scope_index: HashMap<(usize, &[u8]), usize> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for r in order {
        // The same span delivered twice (a retried export) is shown once.
        if !seen.insert((r.span_id, r.start_ns, &r.span[..])) {
            continue;
        }
        let Ok(span) = Span::decode(&r.span[..]) else {
            continue;
        };
        let ri = *res_index.entry(&r.resource[..]).or_insert_with(|| {
            out.push(ResourceSpans::decode(&r.resource[..]).unwrap_or_default());
            out.len() - 1
        });
        let si = *scope_index.entry((ri, &r.scope[..])).or_insert_with(|| {
            let rs = &mut out[ri];
            rs.scope_spans
                .push(ScopeSpans::decode(&r.scope[..]).unwrap_or_default());
            rs.scope_spans.len() - 1
        });
        out[ri].scope_spans[si].spans.push(span);
    }
    out
}

/// A span under a search predicate: the row, and its decoded span and resource on demand.
pub struct SpanRef<'a> {
    pub row: &'a SpanRow,
    span: OnceLock<Option<Span>>,
    resource: OnceLock<Option<Resource>>,
    scope: OnceLock<Option<InstrumentationScope>>,
}

impl<'a> SpanRef<'a> {
    pub fn new(row: &'a SpanRow) -> Self {
        SpanRef {
            row,
            span: OnceLock::new(),
            resource: OnceLock::new(),
            scope: OnceLock::new(),
        }
    }

    pub fn span(&self) -> Option<&Span> {
        self.span
            .get_or_init(|| Span::decode(&self.row.span[..]).ok())
            .as_ref()
    }

    pub fn resource(&self) -> Option<&Resource> {
        self.resource
            .get_or_init(|| {
                ResourceSpans::decode(&self.row.resource[..])
                    .ok()
                    .and_then(|r| r.resource)
            })
            .as_ref()
    }

    pub fn scope(&self) -> Option<&InstrumentationScope> {
        self.scope
            .get_or_init(|| {
                ScopeSpans::decode(&self.row.scope[..])
                    .ok()
                    .and_then(|s| s.scope)
            })
            .as_ref()
    }

    pub fn span_attr(&self, key: &str) -> Option<&AnyValue> {
        find(&self.span()?.attributes, key)
    }

    pub fn resource_attr(&self, key: &str) -> Option<&AnyValue> {
        find(&self.resource()?.attributes, key)
    }

    pub fn status_message(&self) -> &str {
        self.span()
            .and_then(|s| s.status.as_ref())
            .map_or("", |s| s.message.as_str())
    }
}

pub(crate) fn find<'k>(attrs: &'k [KeyValue], key: &str) -> Option<&'k AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// The string form of an attribute value, as Jaeger tags and Tempo tag values compare it.
pub fn value_string(v: &AnyValue) -> String {
    match v.value.as_ref() {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => hex::encode(b),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// Per-block index.
pub(crate) struct TraceMeta {
    pub bloom: Bloom,
    /// First and last trace id of each page.
    pub page_ids: Vec<(u128, u128)>,
    /// Distinct (service, span name, kind).
    pub operations: Vec<(Arc<str>, Arc<str>, u8)>,
}

pub(crate) struct Traces;

impl Schema for Traces {
    type Row = SpanRow;
    type Meta = TraceMeta;
    const NAME: &'static str = "traces";

    fn time(r: &SpanRow) -> i64 {
        r.start_ns as i64
    }

    fn size(r: &SpanRow) -> usize {
        // ids, times, kind/status, pointers; the resource and scope are shared.
        96 + r.span.len()
    }

    fn sort(rows: &mut [&SpanRow]) {
        rows.sort_unstable_by_key(|r| (r.trace_id, r.start_ns));
    }

    fn encode_page(rows: &[&SpanRow], out: &mut Vec<u8>) {
        let mut services = Dict::default();
        let mut names = Dict::default();
        let mut resources = Dict::default();
        let mut scopes = Dict::default();
        let n = rows.len();
        let mut ids = Vec::with_capacity(n * 32);
        let mut times = Vec::with_capacity(n * 8);
        let mut small = Vec::with_capacity(n * 6);
        let mut spans = Vec::with_capacity(rows.iter().map(|r| r.span.len() + 2).sum());
        let base = rows.iter().map(|r| r.start_ns).min().unwrap_or(0);
        for r in rows {
            ids.extend_from_slice(&r.trace_id);
            ids.extend_from_slice(&r.span_id);
            ids.extend_from_slice(&r.parent_span_id);
            put_uvarint(&mut times, r.start_ns - base);
            put_uvarint(&mut times, r.duration_ns());
            small.push(r.kind);
            small.push(r.status);
            put_uvarint(&mut small, services.id(r.service.as_bytes()).into());
            put_uvarint(&mut small, names.id(r.name.as_bytes()).into());
            put_uvarint(&mut small, resources.id(&r.resource).into());
            put_uvarint(&mut small, scopes.id(&r.scope).into());
            put_bytes(&mut spans, &r.span);
        }
        put_uvarint(out, n as u64);
        put_uvarint(out, base);
        for d in [&services, &names, &resources, &scopes] {
            d.encode(out);
        }
        for col in [&ids, &times, &small, &spans] {
            put_bytes(out, col);
        }
    }

    fn decode_page(page: &[u8]) -> Result<Vec<SpanRow>> {
        let mut r = Reader::new(page);
        let n = r.len()?;
        let base = r.uvarint()?;
        let strs = |r: &mut Reader| -> Result<Vec<Arc<str>>> {
            let k = r.len()?;
            (0..k).map(|_| Ok(Arc::from(r.str()?))).collect()
        };
        let blobs = |r: &mut Reader| -> Result<Vec<Bytes>> {
            let k = r.len()?;
            (0..k)
                .map(|_| Ok(Bytes::copy_from_slice(r.bytes()?)))
                .collect()
        };
        let services = strs(&mut r)?;
        let names = strs(&mut r)?;
        let resources = blobs(&mut r)?;
        let scopes = blobs(&mut r)?;
        let mut ids = Reader::new(r.bytes()?);
        let mut times = Reader::new(r.bytes()?);
        let mut small = Reader::new(r.bytes()?);
        let spans_col = r.bytes()?;
        let spans_all = Bytes::copy_from_slice(spans_col);
        let mut spans = Reader::new(spans_col);
        let pick = |v: &[Arc<str>], i: u64| -> Result<Arc<str>> {
            v.get(i as usize)
                .cloned()
                .ok_or_else(|| "dictionary index out of range".to_string())
        };
        let pickb = |v: &[Bytes], i: u64| -> Result<Bytes> {
            v.get(i as usize)
                .cloned()
                .ok_or_else(|| "dictionary index out of range".to_string())
        };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let trace_id = ids.array::<16>()?;
            let span_id = ids.array::<8>()?;
            let parent_span_id = ids.array::<8>()?;
            let start_ns = base.saturating_add(times.uvarint()?);
            let end_ns = start_ns.saturating_add(times.uvarint()?);
            let kind = small.u8()?;
            let status = small.u8()?;
            let service = pick(&services, small.uvarint()?)?;
            let name = pick(&names, small.uvarint()?)?;
            let resource = pickb(&resources, small.uvarint()?)?;
            let scope = pickb(&scopes, small.uvarint()?)?;
            let span = spans_all.slice(spans.bytes_range()?);
            out.push(SpanRow {
                trace_id,
                span_id,
                parent_span_id,
                start_ns,
                end_ns,
                kind,
                status,
                service,
                name,
                resource,
                scope,
                span,
            });
        }
        Ok(out)
    }

    fn build_meta(rows: &[&SpanRow], pages: &[Range<usize>]) -> TraceMeta {
        let mut bloom = Bloom::with_capacity(rows.len());
        let mut ops = BTreeSet::new();
        for r in rows {
            bloom.insert(trace_key(&r.trace_id));
            ops.insert((r.service.clone(), r.name.clone(), r.kind));
        }
        TraceMeta {
            bloom,
            page_ids: pages
                .iter()
                .map(|p| {
                    (
                        trace_key(&rows[p.start].trace_id),
                        trace_key(&rows[p.end - 1].trace_id),
                    )
                })
                .collect(),
            operations: ops.into_iter().collect(),
        }
    }

    fn encode_meta(m: &TraceMeta, out: &mut Vec<u8>) {
        m.bloom.encode(out);
        put_uvarint(out, m.page_ids.len() as u64);
        for (a, b) in &m.page_ids {
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
        }
        put_uvarint(out, m.operations.len() as u64);
        for (s, n, k) in &m.operations {
            put_bytes(out, s.as_bytes());
            put_bytes(out, n.as_bytes());
            out.push(*k);
        }
    }

    fn decode_meta(r: &mut Reader) -> Result<TraceMeta> {
        let bloom = Bloom::decode(r)?;
        let n = r.len()?;
        let mut page_ids = Vec::with_capacity(n);
        for _ in 0..n {
            page_ids.push((
                u128::from_be_bytes(r.array()?),
                u128::from_be_bytes(r.array()?),
            ));
        }
        let n = r.len()?;
        let mut operations = Vec::with_capacity(n);
        for _ in 0..n {
            operations.push((Arc::from(r.str()?), Arc::from(r.str()?), r.u8()?));
        }
        Ok(TraceMeta {
            bloom,
            page_ids,
            operations,
        })
    }

    fn meta_bytes(m: &TraceMeta) -> usize {
        m.bloom.bytes() + m.page_ids.len() * 32 + m.operations.len() * 64
    }
}
