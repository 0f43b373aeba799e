//! Spans: one row per span, with the columns trace search filters on (ids, times, service,
//! name, kind, status) next to the span's own OTLP encoding and its resource's and scope's
//! (shared by the rows of one request, and written once per page). Blocks are sorted by
//! service, span name and start time, as the Go `clickhouse` exporter orders its table:
//! a search by service and time reads only the pages of that service whose time range
//! overlaps, and similar spans sit together, which compresses them better. A trace is found
//! through two Bloom filters: one per block, then one per page of the blocks that may hold
//! it, so a lookup decodes the pages that hold its spans and rarely another.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::codec::{Bloom, Dict, Reader, Result, put_bytes, put_ivarint, put_uvarint};
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

impl SpanRow {
    /// The whole OTLP span: the stored bytes hold what the row's columns do not.
    pub fn full_span(&self) -> Option<Span> {
        let mut s = Span::decode(&self.span[..]).ok()?;
        s.trace_id = self.trace_id.to_vec();
        s.span_id = self.span_id.to_vec();
        s.parent_span_id = if self.is_root() {
            Vec::new()
        } else {
            self.parent_span_id.to_vec()
        };
        s.name = self.name.to_string();
        s.kind = self.kind.into();
        s.start_time_unix_nano = self.start_ns;
        s.end_time_unix_nano = self.end_ns;
        Some(s)
    }
}

/// A span's encoding without the fields the row keeps in columns (ids, name, kind, times):
/// the ids are random bytes no compressor can shrink, and were stored twice. A valid `Span`
/// message; [`SpanRow::full_span`] puts the rest back. Written field by field, so ingest does
/// not clone the span to clear them.
fn span_rest(s: &Span) -> Vec<u8> {
    use prost::encoding::{fixed32, message, string, uint32};
    let mut out = Vec::with_capacity(s.encoded_len());
    if !s.trace_state.is_empty() {
        string::encode(3, &s.trace_state, &mut out);
    }
    for kv in &s.attributes {
        message::encode(9, kv, &mut out);
    }
    if s.dropped_attributes_count != 0 {
        uint32::encode(10, &s.dropped_attributes_count, &mut out);
    }
    for e in &s.events {
        message::encode(11, e, &mut out);
    }
    if s.dropped_events_count != 0 {
        uint32::encode(12, &s.dropped_events_count, &mut out);
    }
    for l in &s.links {
        message::encode(13, l, &mut out);
    }
    if s.dropped_links_count != 0 {
        uint32::encode(14, &s.dropped_links_count, &mut out);
    }
    if let Some(st) = &s.status {
        message::encode(15, st, &mut out);
    }
    if s.flags != 0 {
        fixed32::encode(16, &s.flags, &mut out);
    }
    out
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
                    span: Bytes::from(span_rest(s)),
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
        let Some(span) = r.full_span() else {
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
        self.span.get_or_init(|| self.row.full_span()).as_ref()
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

/// Per-block index.
pub(crate) struct TraceMeta {
    pub bloom: Bloom,
    /// Per page: a Bloom filter of its trace ids.
    pub page_blooms: Vec<Bloom>,
    /// Per page: the services it holds (indexes into `services`).
    pub page_services: Vec<Vec<u32>>,
    pub services: Vec<Arc<str>>,
    /// Distinct (service, span name, kind).
    pub operations: Vec<(Arc<str>, Arc<str>, u8)>,
}

impl TraceMeta {
    /// Pages of the block that may hold the trace.
    pub(crate) fn pages_with(&self, key: u128) -> impl Iterator<Item = usize> + '_ {
        let in_block = self.bloom.may_contain(key);
        self.page_blooms
            .iter()
            .enumerate()
            .filter(move |(_, b)| in_block && b.may_contain(key))
            .map(|(i, _)| i)
    }

    /// Whether a page holds spans of the service.
    pub(crate) fn page_has_service(&self, page: usize, service: &str) -> bool {
        self.page_services[page].iter().any(|&i| {
            self.services
                .get(i as usize)
                .is_some_and(|s| &**s == service)
        })
    }
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
        rows.sort_unstable_by(|a, b| {
            (&a.service, &a.name, a.start_ns, a.trace_id)
                .cmp(&(&b.service, &b.name, b.start_ns, b.trace_id))
        });
    }

    /// Two frames. The prefix: services and names, then the ids, times, kind/status and
    /// dictionary indexes of every row — what a scan of span links and timings reads
    /// ([`Want::Columns`]). The rest: resources and scopes, the attributes as ClickHouse
    /// keeps them — each span's key set (an index into the page's distinct key sets) and one
    /// column of values per key, so the routes, methods and user agents of neighbouring spans
    /// sit together — and the rest of each span's bytes.
    fn encode_page(rows: &[&SpanRow], out: &mut Vec<u8>) -> usize {
        let mut attrs = AttributeColumns::default();
        let mut attr_col = Vec::with_capacity(rows.len() * 2);
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
        let mut prev_start = base;
        for r in rows {
            ids.extend_from_slice(&r.trace_id);
            ids.extend_from_slice(&r.span_id);
            ids.extend_from_slice(&r.parent_span_id);
            // Rows are sorted by start within a (service, name) run: the difference to the
            // previous row's start is small where the offset from the page's base is not.
            put_ivarint(&mut times, r.start_ns.wrapping_sub(prev_start) as i64);
            prev_start = r.start_ns;
            put_uvarint(&mut times, r.duration_ns());
            small.push(r.kind);
            small.push(r.status);
            put_uvarint(&mut small, services.id(r.service.as_bytes()).into());
            put_uvarint(&mut small, names.id(r.name.as_bytes()).into());
            put_uvarint(&mut small, resources.id(&r.resource).into());
            put_uvarint(&mut small, scopes.id(&r.scope).into());
            match split_attributes(&r.span) {
                Some((kvs, rest)) => {
                    put_uvarint(&mut attr_col, attrs.add(&kvs).into());
                    put_bytes(&mut spans, &rest);
                }
                // Not well-formed fields (cannot come from ingest): kept whole.
                None => {
                    put_uvarint(&mut attr_col, 0);
                    put_bytes(&mut spans, &r.span);
                }
            }
        }
        let start = out.len();
        put_uvarint(out, n as u64);
        put_uvarint(out, base);
        for d in [&services, &names] {
            d.encode(out);
        }
        for col in [&ids, &times, &small] {
            put_bytes(out, col);
        }
        let prefix = out.len() - start;
        for d in [&resources, &scopes] {
            d.encode(out);
        }
        attrs.encode(out);
        for col in [&attr_col, &spans] {
            put_bytes(out, col);
        }
        prefix
    }

    fn decode_page(page: &[u8]) -> Result<Vec<SpanRow>> {
        decode_rows(page, Want::All)
    }

    fn build_meta(rows: &[&SpanRow], pages: &[Range<usize>]) -> TraceMeta {
        let distinct = |rows: &[&SpanRow]| {
            let mut ids: Vec<u128> = rows.iter().map(|r| trace_key(&r.trace_id)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let all = distinct(rows);
        let mut bloom = Bloom::with_capacity(all.len());
        all.iter().for_each(|k| bloom.insert(*k));
        let mut ops = BTreeSet::new();
        let mut services: Vec<Arc<str>> = Vec::new();
        let mut page_blooms = Vec::with_capacity(pages.len());
        let mut page_services = Vec::with_capacity(pages.len());
        for p in pages {
            let ids = distinct(&rows[p.clone()]);
            let mut b = Bloom::with_capacity(ids.len());
            ids.iter().for_each(|k| b.insert(*k));
            page_blooms.push(b);
            let mut here: Vec<u32> = Vec::new();
            for r in &rows[p.clone()] {
                ops.insert((r.service.clone(), r.name.clone(), r.kind));
                let i = match services.iter().position(|s| *s == r.service) {
                    Some(i) => i,
                    None => {
                        services.push(r.service.clone());
                        services.len() - 1
                    }
                } as u32;
                if !here.contains(&i) {
                    here.push(i);
                }
            }
            page_services.push(here);
        }
        TraceMeta {
            bloom,
            page_blooms,
            page_services,
            services,
            operations: ops.into_iter().collect(),
        }
    }

    fn encode_meta(m: &TraceMeta, out: &mut Vec<u8>) {
        m.bloom.encode(out);
        put_uvarint(out, m.page_blooms.len() as u64);
        for (b, svc) in m.page_blooms.iter().zip(&m.page_services) {
            b.encode(out);
            put_uvarint(out, svc.len() as u64);
            for i in svc {
                put_uvarint(out, (*i).into());
            }
        }
        put_uvarint(out, m.services.len() as u64);
        for s in &m.services {
            put_bytes(out, s.as_bytes());
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
        let mut page_blooms = Vec::with_capacity(n);
        let mut page_services = Vec::with_capacity(n);
        for _ in 0..n {
            page_blooms.push(Bloom::decode(r)?);
            let k = r.len()?;
            page_services.push(
                (0..k)
                    .map(|_| r.uvarint().map(|v| v as u32))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        let n = r.len()?;
        let services = (0..n)
            .map(|_| Ok(Arc::from(r.str()?)))
            .collect::<Result<Vec<_>>>()?;
        let n = r.len()?;
        let mut operations = Vec::with_capacity(n);
        for _ in 0..n {
            operations.push((Arc::from(r.str()?), Arc::from(r.str()?), r.u8()?));
        }
        Ok(TraceMeta {
            bloom,
            page_blooms,
            page_services,
            services,
            operations,
        })
    }

    fn meta_bytes(m: &TraceMeta) -> usize {
        m.bloom.bytes()
            + m.page_blooms.iter().map(|b| b.bytes() + 24).sum::<usize>()
            + m.page_services
                .iter()
                .map(|p| 24 + p.len() * 4)
                .sum::<usize>()
            + m.operations.len() * 64
    }
}

/// What [`decode_rows`] returns of a page.
#[derive(Clone, Copy)]
pub(crate) enum Want<'a> {
    /// Every row, whole.
    All,
    /// The rows of one trace (a lookup by id rebuilds no other span's bytes).
    Trace(&'a [u8; 16]),
    /// Every row with its ids, times, kind, status, service and name, and empty resource,
    /// scope and span bytes: what the page's prefix frame holds (pass the prefix alone), for
    /// scans that read nothing else.
    Columns,
}

/// The rows of a trace page, as much of them as `want` says.
pub(crate) fn decode_rows(page: &[u8], want: Want) -> Result<Vec<SpanRow>> {
    let mut r = Reader::new(page);

    let n = r.len()?;
    let base = r.uvarint()?;
    let mut prev_start = base;
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
    let mut ids = Reader::new(r.bytes()?);
    let mut times = Reader::new(r.bytes()?);
    let mut small = Reader::new(r.bytes()?);
    let columns_only = matches!(want, Want::Columns);
    let (resources, scopes) = if columns_only {
        (Vec::new(), Vec::new())
    } else {
        (blobs(&mut r)?, blobs(&mut r)?)
    };
    let (mut attrs, mut attr_col, mut spans) = if columns_only {
        (
            AttributeReader::default(),
            Reader::new(&[]),
            Reader::new(&[]),
        )
    } else {
        (
            AttributeReader::read(&mut r)?,
            Reader::new(r.bytes()?),
            Reader::new(r.bytes()?),
        )
    };
    // Each span's bytes rebuilt (its attributes, then the rest) into one buffer the
    // rows share.
    let id_bytes = ids.take(n.checked_mul(32).ok_or("span count")?)?;
    let mut ids = Reader::new(id_bytes);
    let keep = |k: usize| match want {
        Want::Trace(t) => id_bytes[k * 32..k * 32 + 16] == t[..],
        Want::All | Want::Columns => true,
    };
    let mut all = Vec::with_capacity(match want {
        Want::All => page.len() * 2,
        Want::Trace(_) => 4096,
        Want::Columns => 0,
    });
    let mut ranges = Vec::with_capacity(n);
    for k in (0..n).filter(|_| !matches!(want, Want::Columns)) {
        let start = all.len();
        let set = attr_col.uvarint()?;
        let rest = spans.bytes()?;
        if keep(k) {
            attrs.read_set(set, Some(&mut all))?;
            all.extend_from_slice(rest);
        } else {
            attrs.read_set(set, None)?;
        }
        ranges.push(start..all.len());
    }
    let spans_all = Bytes::from(all);
    let mut ranges = ranges.into_iter();
    let pick = |v: &[Arc<str>], i: u64| -> Result<Arc<str>> {
        v.get(i as usize)
            .cloned()
            .ok_or_else(|| "dictionary index out of range".to_string())
    };
    let pickb = |v: &[Bytes], i: u64| -> Result<Bytes> {
        if columns_only {
            return Ok(Bytes::new());
        }
        v.get(i as usize)
            .cloned()
            .ok_or_else(|| "dictionary index out of range".to_string())
    };
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let trace_id = ids.array::<16>()?;
        let span_id = ids.array::<8>()?;
        let parent_span_id = ids.array::<8>()?;
        let start_ns = prev_start.wrapping_add(times.ivarint()? as u64);
        prev_start = start_ns;
        let end_ns = start_ns.saturating_add(times.uvarint()?);
        let kind = small.u8()?;
        let status = small.u8()?;
        let service = pick(&services, small.uvarint()?)?;
        let name = pick(&names, small.uvarint()?)?;
        let resource = pickb(&resources, small.uvarint()?)?;
        let scope = pickb(&scopes, small.uvarint()?)?;
        let range = ranges.next();
        if !keep(k) {
            continue;
        }
        let span = match range {
            Some(range) => spans_all.slice(range),
            None if matches!(want, Want::Columns) => Bytes::new(),
            None => return Err("span count".into()),
        };
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

/// `Span.attributes` (field 9, length-delimited) as a protobuf key.
const ATTRIBUTE_TAG: u8 = 9 << 3 | 2;

/// A span's encoding split into its attributes (key, and the value's encoding when the
/// `KeyValue` has one) and every other field as written; `None` when the bytes are not
/// well-formed fields or a `KeyValue` holds more than a key and a value.
fn split_attributes(span: &[u8]) -> Option<(Vec<Attribute<'_>>, Vec<u8>)> {
    let mut r = Reader::new(span);
    let mut kvs = Vec::new();
    let mut rest = Vec::with_capacity(span.len());
    while r.remaining() > 0 {
        let start = span.len() - r.remaining();
        let key = r.uvarint().ok()?;
        match key & 7 {
            0 => {
                r.uvarint().ok()?;
            }
            1 => {
                r.take(8).ok()?;
            }
            2 => {
                let v = r.bytes().ok()?;
                if key == u64::from(ATTRIBUTE_TAG) {
                    kvs.push(split_key_value(v)?);
                    continue;
                }
            }
            5 => {
                r.take(4).ok()?;
            }
            _ => return None,
        }
        rest.extend_from_slice(&span[start..span.len() - r.remaining()]);
    }
    Some((kvs, rest))
}

/// An attribute's key and its value's encoding (none when the `KeyValue` has no value).
type Attribute<'a> = (&'a [u8], Option<&'a [u8]>);

/// A `KeyValue`'s key and value encoding, if it is written as `key` then `value` at most.
fn split_key_value(kv: &[u8]) -> Option<Attribute<'_>> {
    let mut r = Reader::new(kv);
    let mut key: &[u8] = &[];
    let mut value = None;
    let mut seen = 0;
    while r.remaining() > 0 {
        match r.uvarint().ok()? {
            0x0a if seen == 0 => {
                key = r.bytes().ok()?;
                seen = 1;
            }
            0x12 if seen < 2 => {
                value = Some(r.bytes().ok()?);
                seen = 2;
            }
            _ => return None,
        }
    }
    Some((key, value))
}

/// A page's attributes while it is written: distinct keys, distinct key sets, and the
/// values of each key in row order.
#[derive(Default)]
struct AttributeColumns<'a> {
    keys: Dict<'a>,
    sets: HashMap<Vec<u32>, u32>,
    set_list: Vec<Vec<u32>>,
    /// Per key, its values in row order (see [`put_value`]).
    values: Vec<Vec<u8>>,
}

impl<'a> AttributeColumns<'a> {
    /// Adds a span's attributes; returns its key set's number (1-based; 0 is "no columns").
    fn add(&mut self, kvs: &[Attribute<'a>]) -> u32 {
        let mut set = Vec::with_capacity(kvs.len());
        for (k, v) in kvs {
            let id = self.keys.id(k);
            if id as usize == self.values.len() {
                self.values.push(Vec::new());
            }
            put_value(&mut self.values[id as usize], *v);
            set.push(id);
        }
        let next = self.set_list.len() as u32 + 1;
        *self.sets.entry(set).or_insert_with_key(|s| {
            self.set_list.push(s.clone());
            next
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.keys.encode(out);
        put_uvarint(out, self.set_list.len() as u64);
        for s in &self.set_list {
            put_uvarint(out, s.len() as u64);
            for k in s {
                put_uvarint(out, (*k).into());
            }
        }
        for col in &self.values {
            put_bytes(out, col);
        }
    }
}

/// The attribute columns of a page being read.
#[derive(Default)]
struct AttributeReader<'a> {
    keys: Vec<&'a [u8]>,
    sets: Vec<Vec<u32>>,
    values: Vec<Reader<'a>>,
    /// Scratch for one value's encoding.
    value: Vec<u8>,
}

impl<'a> AttributeReader<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let nk = r.len()?;
        let keys: Vec<&[u8]> = (0..nk).map(|_| r.bytes()).collect::<Result<_>>()?;
        let ns = r.len()?;
        let mut sets = Vec::with_capacity(ns);
        for _ in 0..ns {
            let n = r.len()?;
            let set: Vec<u32> = (0..n)
                .map(|_| r.uvarint().map(|k| k as u32))
                .collect::<Result<_>>()?;
            if set.iter().any(|k| *k as usize >= nk) {
                return Err("attribute key index out of range".into());
            }
            sets.push(set);
        }
        let values = (0..nk)
            .map(|_| r.bytes().map(Reader::new))
            .collect::<Result<_>>()?;
        Ok(AttributeReader {
            keys,
            sets,
            values,
            value: Vec::new(),
        })
    }

    /// Reads the values of key set `set` (as [`AttributeColumns::add`] numbered it) and
    /// writes them as `Span.attributes` fields into `out`, or passes over them when `out` is
    /// `None` (a span not asked for).
    fn read_set(&mut self, set: u64, mut out: Option<&mut Vec<u8>>) -> Result<()> {
        if set == 0 {
            return Ok(());
        }
        let keys = self
            .sets
            .get(set as usize - 1)
            .ok_or("attribute key set out of range")?;
        for &k in keys {
            let col = &mut self.values[k as usize];
            let Some(out) = out.as_deref_mut() else {
                skip_value(col)?;
                continue;
            };
            let key = self.keys[k as usize];
            self.value.clear();
            let has_value = get_value(col, &mut self.value)?;
            let field = |n: usize| 1 + varint_len(n as u64) + n;
            let len = if key.is_empty() { 0 } else { field(key.len()) }
                + if has_value {
                    field(self.value.len())
                } else {
                    0
                };
            out.push(ATTRIBUTE_TAG);
            put_uvarint(out, len as u64);
            if !key.is_empty() {
                out.push(0x0a);
                put_bytes(out, key);
            }
            if has_value {
                out.push(0x12);
                put_bytes(out, &self.value);
            }
        }
        Ok(())
    }
}

/// Appends an attribute's value (an `AnyValue` encoding, or none) to its key's column:
/// strings and integers — nearly all attribute values — without the `AnyValue` framing,
/// anything else as its encoding.
fn put_value(col: &mut Vec<u8>, v: Option<&[u8]>) {
    const NONE: u8 = 0;
    const STRING: u8 = 1;
    const INT: u8 = 2;
    const RAW: u8 = 3;
    let Some(v) = v else {
        col.push(NONE);
        return;
    };
    let mut r = Reader::new(v);
    match r.uvarint() {
        // string_value = 1
        Ok(0x0a) => {
            if let Ok(s) = r.bytes()
                && r.remaining() == 0
            {
                col.push(STRING);
                put_bytes(col, s);
                return;
            }
        }
        // int_value = 3
        Ok(0x18) => {
            if let Ok(i) = r.uvarint()
                && r.remaining() == 0
            {
                col.push(INT);
                put_ivarint(col, i as i64);
                return;
            }
        }
        _ => {}
    }
    col.push(RAW);
    put_bytes(col, v);
}

/// Passes over a value [`put_value`] wrote.
fn skip_value(col: &mut Reader) -> Result<()> {
    match col.u8()? {
        0 => {}
        1 | 3 => {
            col.bytes()?;
        }
        2 => {
            col.uvarint()?;
        }
        t => return Err(format!("attribute value type {t} unknown")),
    }
    Ok(())
}

/// Reads a value [`put_value`] wrote, as its `AnyValue` encoding into `out`; false when the
/// `KeyValue` had no value.
fn get_value(col: &mut Reader, out: &mut Vec<u8>) -> Result<bool> {
    match col.u8()? {
        0 => return Ok(false),
        1 => {
            out.push(0x0a);
            put_bytes(out, col.bytes()?);
        }
        2 => {
            out.push(0x18);
            put_uvarint(out, col.ivarint()? as u64);
        }
        3 => out.extend_from_slice(col.bytes()?),
        t => return Err(format!("attribute value type {t} unknown")),
    }
    Ok(true)
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}
