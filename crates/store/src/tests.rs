use std::time::Duration;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::query::{MatchOp, Matcher, SpanQuery};
use crate::{Options, Store};

pub(crate) fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

pub(crate) fn traces(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

pub(crate) fn span(trace: u128, id: u64, parent: u64, name: &str, start: u64, dur: u64) -> Span {
    Span {
        trace_id: trace.to_be_bytes().to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: if parent == 0 {
            vec![]
        } else {
            parent.to_be_bytes().to_vec()
        },
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur,
        kind: 2,
        ..Default::default()
    }
}

fn opts(dir: Option<&std::path::Path>) -> Options {
    Options {
        dir: dir.map(|d| d.to_path_buf()),
        max_bytes: 1 << 30,
        max_age: Duration::ZERO,
        flush_interval: Duration::from_secs(3600),
        block_age: Duration::from_secs(3600),
        head_bytes: 1 << 30,
    }
}

fn put(store: &Store, req: &ExportTraceServiceRequest) {
    store.ingest_traces(req, &req.encode_to_vec()).unwrap();
}

#[test]
fn a_trace_is_found_by_id_in_the_head_and_after_sealing() {
    for dir in [None, Some(tempfile::tempdir().unwrap())] {
        let (store, _) = Store::open(opts(dir.as_ref().map(|d| d.path()))).unwrap();
        for t in 1..=200u128 {
            put(
                &store,
                &traces(
                    "a",
                    vec![
                        span(t, 1, 0, "root", 1_000 * t as u64, 50),
                        span(t, 2, 1, "child", 1_000 * t as u64 + 1, 10),
                    ],
                ),
            );
        }
        assert_eq!(store.trace(&77u128.to_be_bytes()).unwrap().len(), 2);
        store.flush().unwrap();
        assert!(store.usage().blocks >= 1);
        let rows = store.trace(&77u128.to_be_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        let rs = crate::traces::assemble(&rows);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].scope_spans[0].spans.len(), 2);
        assert_eq!(rs[0].scope_spans[0].spans[0].name, "root");
        assert!(store.trace(&999u128.to_be_bytes()).unwrap().is_empty());
    }
}

#[test]
fn spans_survive_a_restart_from_the_wal_and_from_blocks_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
        put(&store, &traces("a", vec![span(1, 1, 0, "sealed", 10, 5)]));
        store.flush().unwrap();
        put(&store, &traces("a", vec![span(2, 1, 0, "in-wal", 20, 5)]));
        // dropped without close: what a kill leaves
    }
    let (store, report) = Store::open(opts(Some(dir.path()))).unwrap();
    assert_eq!(report.replayed_records, 1, "{report:?}");
    assert_eq!(store.trace(&1u128.to_be_bytes()).unwrap().len(), 1);
    assert_eq!(store.trace(&2u128.to_be_bytes()).unwrap().len(), 1);
    store.flush().unwrap();
    drop(store);
    let (store, report) = Store::open(opts(Some(dir.path()))).unwrap();
    assert_eq!(report.replayed_records, 0);
    assert_eq!(store.trace(&2u128.to_be_bytes()).unwrap().len(), 1);
}

#[test]
fn search_filters_by_service_name_duration_and_predicate_newest_first() {
    let (store, _) = Store::open(opts(None)).unwrap();
    for t in 1..=50u128 {
        let svc = if t % 2 == 0 { "even" } else { "odd" };
        put(
            &store,
            &traces(
                svc,
                vec![span(t, 1, 0, "op", 1_000 * t as u64, t as u64 * 10)],
            ),
        );
        if t == 25 {
            store.flush().unwrap();
        }
    }
    let q = SpanQuery {
        start_ns: 0,
        end_ns: i64::MAX,
        service: Some("even".into()),
        operation: Some("op".into()),
        min_duration_ns: Some(200),
        max_duration_ns: Some(400),
        predicate: None,
        limit: 100,
    };
    let ids: Vec<u128> = store
        .search_spans(&q)
        .unwrap()
        .iter()
        .map(|h| u128::from_be_bytes(h.trace_id))
        .collect();
    assert_eq!(ids, vec![40, 38, 36, 34, 32, 30, 28, 26, 24, 22, 20]);
    let only_30 = |s: &crate::SpanRef| s.row.duration_ns() == 300;
    let q = SpanQuery {
        predicate: Some(&only_30),
        limit: 5,
        ..q
    };
    assert_eq!(store.search_spans(&q).unwrap().len(), 1);
    let ops = store.operations();
    assert_eq!(ops.keys().cloned().collect::<Vec<_>>(), vec!["even", "odd"]);
}

#[test]
fn retention_evicts_oldest_blocks_first_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(Some(dir.path()));
    o.max_bytes = 1_000_000;
    o.head_bytes = 100_000;
    let (store, _) = Store::open(o).unwrap();
    // Incompressible payloads, so that the blocks are as large as the data.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for t in 1..=6000u128 {
        let mut s = span(t, 1, 0, "op", 1_000_000 * t as u64, 10);
        let payload: String = (0..20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{x:016x}")
            })
            .collect();
        s.attributes.push(kv("payload", &payload));
        put(&store, &traces("a", vec![s]));
    }
    store.flush().unwrap();
    store.enforce_retention();
    let u = store.usage();
    assert!(u.block_bytes + u.head_bytes <= 1_000_000, "{u:?}");
    assert!(
        store
            .stats()
            .evicted_spans
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert!(
        store.trace(&1u128.to_be_bytes()).unwrap().is_empty(),
        "oldest went first"
    );
    assert_eq!(
        store.trace(&6000u128.to_be_bytes()).unwrap().len(),
        1,
        "newest kept"
    );
    // The WAL's ack log is the one file not counted (it is rewritten small at 1 MiB).
    let acks = std::fs::metadata(dir.path().join("wal/acks"))
        .unwrap()
        .len();
    let on_disk: u64 = walk(dir.path()) - acks;
    assert!(on_disk <= 1_000_000, "{on_disk} bytes on disk");
}

fn walk(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            let m = e.metadata().unwrap();
            if m.is_dir() { walk(&e.path()) } else { m.len() }
        })
        .sum()
}

#[test]
fn a_damaged_block_is_set_aside_and_the_rest_opens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
        put(&store, &traces("a", vec![span(1, 1, 0, "a", 10, 5)]));
        store.flush().unwrap();
        put(&store, &traces("a", vec![span(2, 1, 0, "b", 20, 5)]));
        store.flush().unwrap();
        store.close();
    }
    let mut blocks: Vec<_> = std::fs::read_dir(dir.path().join("traces"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    blocks.sort();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&blocks[0])
        .unwrap();
    f.set_len(30).unwrap();
    let (store, report) = Store::open(opts(Some(dir.path()))).unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(store.trace(&1u128.to_be_bytes()).unwrap().is_empty());
    assert_eq!(store.trace(&2u128.to_be_bytes()).unwrap().len(), 1);
}

#[test]
fn regex_matchers_are_anchored_and_missing_labels_are_empty() {
    let m = Matcher::new("job", MatchOp::Regex, "api|web").unwrap();
    assert!(m.matches("api"));
    assert!(!m.matches("api2"));
    let m = Matcher::new("x", MatchOp::Equal, "").unwrap();
    assert!(crate::query::matches_all(
        &[m],
        &vec![("a".into(), "b".into())]
    ));
    assert!(Matcher::new("x", MatchOp::Regex, "(").is_err());
}
