//! Trace search shared by the Tempo and Jaeger APIs: candidates from the store's span
//! search, trace-level evaluation where the query needs the whole trace, and the summary
//! both APIs report (root service and name, start, duration, per-service counts).

use std::collections::BTreeMap;

use store::query::Backend;
use store::query::SpanQuery;
use store::{SpanRef, SpanRow};
use traceql::{Field, Intrinsic, Query, SpanView, TraceInfo};

use crate::adapters::SpanV;

/// A found trace: all its stored spans, and which of them matched.
pub struct Found {
    pub rows: Vec<SpanRow>,
    pub matched: Vec<usize>,
}

pub struct Summary {
    pub root_service: String,
    pub root_name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub services: BTreeMap<String, (u32, u32)>,
    pub errors: u32,
}

/// The root is the span without a parent (the earliest if several); a trace whose root has
/// not arrived reports Tempo's placeholder.
pub fn summary(rows: &[SpanRow]) -> Summary {
    let root = rows
        .iter()
        .filter(|r| r.is_root())
        .min_by_key(|r| r.start_ns);
    let mut services: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut errors = 0;
    for r in rows {
        let e = services.entry(r.service.to_string()).or_default();
        e.0 += 1;
        if r.status == 2 {
            e.1 += 1;
            errors += 1;
        }
    }
    Summary {
        root_service: root.map_or("<root span not yet received>".into(), |r| {
            r.service.to_string()
        }),
        root_name: root.map_or(String::new(), |r| r.name.to_string()),
        start_ns: rows.iter().map(|r| r.start_ns).min().unwrap_or(0),
        end_ns: rows.iter().map(|r| r.end_ns).max().unwrap_or(0),
        services,
        errors,
    }
}

fn trace_level(q: &Query) -> bool {
    q.fields().iter().any(|f| {
        matches!(
            f,
            Field::Intrinsic(
                Intrinsic::RootName | Intrinsic::RootServiceName | Intrinsic::TraceDuration
            )
        )
    })
}

/// Up to `limit` most recent traces matching a TraceQL query with spans in [start, end].
pub fn search(
    store: &dyn Backend,
    q: &Query,
    start_ns: i64,
    end_ns: i64,
    limit: usize,
) -> Result<Vec<Found>, String> {
    let conds = q.conditions();
    let pre = conds.spans.first().cloned().unwrap_or_default();
    let exact_per_span = q.is_single_spanset() && !trace_level(q);
    let pred = |s: &SpanRef| q.matches_span(&SpanV(SpanRef::new(s.row)), &TraceInfo::default());
    let base = SpanQuery {
        start_ns,
        end_ns,
        service: pre.service_name.clone(),
        operation: pre.span_name.clone(),
        min_duration_ns: pre.min_duration_ns,
        max_duration_ns: pre.max_duration_ns,
        predicate: None,
        limit,
    };
    if exact_per_span {
        let hits = store.search_spans(&SpanQuery {
            predicate: Some(&pred),
            ..base
        })?;
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            let rows = store.trace(&h.trace_id)?;
            let matched = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| h.matched.iter().any(|m| m.span_id == r.span_id))
                .map(|(i, _)| i)
                .collect();
            out.push(Found { rows, matched });
        }
        return Ok(out);
    }
    // The query needs whole traces: evaluate candidates one by one, the most recent first.
    let candidates = store.search_spans(&SpanQuery {
        limit: (limit * 20).clamp(200, 20_000),
        ..base
    })?;
    let mut out = Vec::new();
    for h in candidates {
        if out.len() >= limit {
            break;
        }
        let rows = store.trace(&h.trace_id)?;
        let s = summary(&rows);
        let info = TraceInfo {
            root_service: &s.root_service,
            root_name: &s.root_name,
            duration_ns: s.end_ns.saturating_sub(s.start_ns),
        };
        let views: Vec<SpanV> = rows.iter().map(|r| SpanV(SpanRef::new(r))).collect();
        if let Some(matched) = q.eval_trace(&views, &info) {
            drop(views);
            out.push(Found { rows, matched });
        }
    }
    Ok(out)
}

/// The attributes Tempo returns for a matched span: the fields the query reads.
pub fn span_attributes(q: &Query, row: &SpanRow, info: &TraceInfo) -> Vec<serde_json::Value> {
    use serde_json::json;
    let v = SpanV(SpanRef::new(row));
    let mut out = Vec::new();
    let mut fields = q.fields();
    fields.extend(q.select().iter().cloned());
    let mut seen = std::collections::HashSet::new();
    for f in fields {
        if !seen.insert(f.clone()) {
            continue;
        }
        let (key, val) = match &f {
            Field::Attribute { name, .. } => (name.clone(), Query::field_value(&f, &v, info)),
            Field::Intrinsic(Intrinsic::Name | Intrinsic::Duration) => continue,
            Field::Intrinsic(i) => (i.as_str().to_string(), Query::field_value(&f, &v, info)),
        };
        let value = match val {
            Some(traceql::Value::Str(s)) => json!({"stringValue": s}),
            Some(traceql::Value::Int(i)) => json!({"intValue": i.to_string()}),
            Some(traceql::Value::Float(x)) => json!({"doubleValue": x}),
            Some(traceql::Value::Bool(b)) => json!({"boolValue": b}),
            Some(traceql::Value::Duration(d)) => json!({"stringValue": format!("{}ns", d)}),
            Some(traceql::Value::Status(s)) => {
                json!({"stringValue": format!("{s:?}").to_lowercase()})
            }
            Some(traceql::Value::Kind(k)) => {
                json!({"stringValue": format!("{k:?}").to_lowercase()})
            }
            _ => continue,
        };
        out.push(json!({"key": key, "value": value}));
    }
    let _ = v.name();
    out
}

/// A trace id from hex (shorter ids are left-padded, as 64-bit Jaeger ids) or, as Jaeger's
/// api_v3 accepts, base64.
pub fn parse_trace_id(s: &str) -> Option<[u8; 16]> {
    let s = s.trim();
    if !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        let padded = format!("{s:0>32}");
        let mut out = [0u8; 16];
        hex::decode_to_slice(&padded, &mut out).ok()?;
        return (out != [0; 16]).then_some(out);
    }
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let out: [u8; 16] = b.try_into().ok()?;
    (out != [0; 16]).then_some(out)
}
