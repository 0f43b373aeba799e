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

/// Span `t` of its own trace with 320 bytes of incompressible payload (xorshift from `x`),
/// so that blocks are as large as the data.
fn payload_span(t: u128, x: &mut u64) -> Span {
    let mut s = span(t, 1, 0, "op", 1_000_000 * t as u64, 10);
    let payload: String = (0..20)
        .map(|_| {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            format!("{:016x}", *x)
        })
        .collect();
    s.attributes.push(kv("payload", &payload));
    s
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
        put(&store, &traces("a", vec![payload_span(t, &mut x)]));
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

/// One WAL serves every table, and a segment goes only once every record before it is in a
/// block: a table that fills slowly (one log record here, its head sealed only by age, an
/// hour away) must not keep the traces' WAL on disk after their blocks are written.
#[test]
fn a_slowly_filling_head_does_not_hold_the_other_tables_wal_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(Some(dir.path()));
    o.head_bytes = 100_000;
    let (store, _) = Store::open(o).unwrap();
    let req = logs_req("slow", &[(1_000, "one early line", 0)]);
    store.ingest_logs(&req, &req.encode_to_vec()).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut most = 0;
    for t in 1..=3000u128 {
        put(&store, &traces("a", vec![payload_span(t, &mut x)]));
        most = most.max(store.usage().wal_bytes);
    }
    // About 1.2 MB of traces went through the WAL. It spans at most two heads and a segment
    // before everything is sealed, plus the request that crossed the line.
    let bound = 2 * 100_000 + (64 << 10) + 2_000;
    assert!(
        most <= bound,
        "the WAL reached {most} bytes (bound {bound})"
    );
    // The early line is not lost on the way: it is found after a restart.
    store.close();
    drop(store);
    let mut o = opts(Some(dir.path()));
    o.head_bytes = 100_000;
    let (store, report) = Store::open(o).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let ms = [Matcher::new("service_name", MatchOp::Equal, "slow").unwrap()];
    let mut lines = Vec::new();
    store
        .for_each_log(&ms, 0, 10_000, &mut |r| {
            lines.push(r.line.to_string());
            true
        })
        .unwrap();
    assert_eq!(lines, ["one early line"]);
}

/// A table whose block cannot be written keeps its rows in the WAL; what the other tables
/// sealed in the same round is released all the same, not replayed again at every start.
#[test]
fn a_failed_seal_still_releases_what_the_other_tables_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    put(&store, &traces("a", vec![span(7, 1, 0, "op", 1_000, 10)]));
    let req = logs_req("b", &[(1_000, "a line", 0)]);
    store.ingest_logs(&req, &req.encode_to_vec()).unwrap();
    // The traces table's directory is a file for a moment: its block cannot be written.
    let traces_dir = dir.path().join("traces");
    std::fs::rename(&traces_dir, dir.path().join("traces.away")).unwrap();
    std::fs::write(&traces_dir, b"in the way").unwrap();
    assert!(
        store.flush().is_err(),
        "writing into a file as a directory succeeded"
    );
    std::fs::remove_file(&traces_dir).unwrap();
    std::fs::rename(dir.path().join("traces.away"), &traces_dir).unwrap();
    store.close();
    drop(store);
    let (store, report) = Store::open(opts(Some(dir.path()))).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        report.replayed_records, 1,
        "only the trace's record is replayed (the log line is in a block)"
    );
    assert_eq!(store.trace(&7u128.to_be_bytes()).unwrap().len(), 1);
    let ms = [Matcher::new("service_name", MatchOp::Equal, "b").unwrap()];
    let mut n = 0;
    store
        .for_each_log(&ms, 0, 10_000, &mut |_| {
            n += 1;
            true
        })
        .unwrap();
    assert_eq!(n, 1, "the log line is stored once");
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

pub(crate) fn logs_req(
    service: &str,
    lines: &[(u64, &str, u128)],
) -> pdata::proto::collector::logs::v1::ExportLogsServiceRequest {
    use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    pdata::proto::collector::logs::v1::ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service), kv("host.name", "h1")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: lines
                    .iter()
                    .map(|(t, l, trace)| LogRecord {
                        time_unix_nano: *t,
                        severity_number: 17,
                        severity_text: "ERROR".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(l.to_string())),
                        }),
                        attributes: vec![kv("http.method", "GET")],
                        trace_id: if *trace == 0 {
                            vec![]
                        } else {
                            trace.to_be_bytes().to_vec()
                        },
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

#[test]
fn logs_are_selected_by_stream_labels_and_time_with_lokis_otlp_labels_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    let a = logs_req("checkout", &[(100, "first", 7), (200, "second", 0)]);
    store.ingest_logs(&a, &a.encode_to_vec()).unwrap();
    store.flush().unwrap();
    let b = logs_req("cart", &[(150, "other", 0)]);
    store.ingest_logs(&b, &b.encode_to_vec()).unwrap();
    for round in 0..2 {
        let ms = [Matcher::new("service_name", MatchOp::Equal, "checkout").unwrap()];
        let mut got = Vec::new();
        store
            .for_each_log(&ms, 0, 1000, &mut |r| {
                got.push((r.ts_ns, r.line.to_string(), r.labels.clone(), r.metadata()));
                true
            })
            .unwrap();
        got.sort_by_key(|g| g.0);
        assert_eq!(got.len(), 2, "round {round}");
        assert_eq!(got[0].1, "first");
        // host.name is not one of Loki's index labels: it stays out of the stream.
        assert_eq!(
            *got[0].2,
            vec![("service_name".to_string(), "checkout".to_string())]
        );
        let md = &got[0].3;
        assert!(
            md.contains(&("trace_id".into(), format!("{:032x}", 7))),
            "{md:?}"
        );
        assert!(md.contains(&("http_method".into(), "GET".into())), "{md:?}");
        assert!(
            md.contains(&("detected_level".into(), "error".into())),
            "{md:?}"
        );
        let mut n = 0;
        store
            .for_each_log(&ms, 150, 1000, &mut |_| {
                n += 1;
                true
            })
            .unwrap();
        assert_eq!(n, 1);
        let streams = store.log_streams(&[], 0, 1000);
        assert_eq!(streams.len(), 2);
        store.flush().unwrap();
    }
}

#[test]
fn a_loki_push_keeps_its_labels_and_structured_metadata() {
    use crate::lokiproto::{Entry, LabelPair, PushRequest, Stream, Timestamp};
    let (store, _) = Store::open(opts(None)).unwrap();
    let req = PushRequest {
        streams: vec![Stream {
            labels: r#"{job="varlogs", level="info"}"#.into(),
            entries: vec![Entry {
                timestamp: Timestamp::from_unix_nanos(5_000),
                line: "hello".into(),
                structured_metadata: vec![LabelPair {
                    name: "trace_id".into(),
                    value: format!("{:032x}", 9),
                }],
            }],
            hash: 0,
        }],
    };
    store.ingest_loki_push(&req, &req.encode_to_vec()).unwrap();
    let ms = [Matcher::new("job", MatchOp::Re, "var.*").unwrap()];
    let mut got = Vec::new();
    store
        .for_each_log(&ms, 0, i64::MAX, &mut |r| {
            got.push(r.clone());
            true
        })
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].ts_ns, 5_000);
    assert_eq!(got[0].trace_id, 9u128.to_be_bytes());
    assert_eq!(got[0].labels.len(), 2);
}

#[test]
fn otlp_metrics_are_stored_under_prometheus_names_with_metadata_and_exemplars() {
    use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
    use pdata::proto::metrics::v1::{
        AggregationTemporality, Exemplar, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
        Sum, metric, number_data_point,
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    let point = |t: u64, v: f64| NumberDataPoint {
        attributes: vec![kv("route", "/a")],
        start_time_unix_nano: 1_000_000_000,
        time_unix_nano: t * 1_000_000_000,
        value: Some(number_data_point::Value::AsDouble(v)),
        exemplars: vec![Exemplar {
            time_unix_nano: t * 1_000_000_000,
            value: Some(pdata::proto::metrics::v1::exemplar::Value::AsDouble(v)),
            trace_id: 5u128.to_be_bytes().to_vec(),
            span_id: 6u64.to_be_bytes().to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let req = |t: u64, v: f64| ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "shop"), kv("host.name", "h1")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "http.server.requests".into(),
                    unit: "1".into(),
                    description: "Requests served".into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: vec![point(t, v)],
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    };
    for (t, v) in [(10, 1.0), (20, 3.0)] {
        let r = req(t, v);
        store.ingest_metrics(&r, &r.encode_to_vec()).unwrap();
    }
    store.flush().unwrap();
    let r = req(30, 6.0);
    store.ingest_metrics(&r, &r.encode_to_vec()).unwrap();
    let ms = [Matcher::new("__name__", MatchOp::Equal, "http_server_requests_total").unwrap()];
    let s = store.select_series(&ms, 0, 100_000).unwrap();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        s[0].floats,
        vec![(10_000, 1.0), (20_000, 3.0), (30_000, 6.0)]
    );
    assert_eq!(crate::query::label(&s[0].labels, "job"), "shop");
    assert_eq!(crate::query::label(&s[0].labels, "route"), "/a");
    assert_eq!(s[0].exemplars.len(), 3);
    assert!(
        s[0].exemplars[0]
            .2
            .iter()
            .any(|(k, v)| k == "trace_id" && *v == format!("{:032x}", 5))
    );
    let md = store.metadata();
    assert_eq!(md["http_server_requests_total"].r#type, "counter");
    assert_eq!(md["http_server_requests_total"].help, "Requests served");
    // target_info carries the resource attributes that are not the job and instance.
    let ti = store.series(
        &[Matcher::new("__name__", MatchOp::Equal, "target_info").unwrap()],
        0,
        100_000,
    );
    assert_eq!(ti.len(), 1);
    drop(store);
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    assert_eq!(
        store.select_series(&ms, 0, 100_000).unwrap()[0]
            .floats
            .len(),
        3
    );
    assert_eq!(
        store.metadata()["http_server_requests_total"].r#type,
        "counter"
    );
}

#[test]
fn every_span_field_survives_storage_though_the_row_columns_are_not_stored_twice() {
    use pdata::proto::trace::v1::{Status, span};
    let mut s = span(7, 3, 2, "GET /x", 1_000, 250);
    s.trace_state = "rojo=00f067aa0ba902b7".into();
    s.flags = 0x301;
    s.kind = 3;
    s.dropped_attributes_count = 1;
    s.events = vec![span::Event {
        time_unix_nano: 1_100,
        name: "ev".into(),
        attributes: vec![kv("k", "v")],
        dropped_attributes_count: 2,
    }];
    s.dropped_events_count = 3;
    s.links = vec![span::Link {
        trace_id: vec![9; 16],
        span_id: vec![8; 8],
        trace_state: "x=1".into(),
        attributes: vec![kv("l", "1")],
        dropped_attributes_count: 0,
        flags: 0x100,
    }];
    s.dropped_links_count = 4;
    s.status = Some(Status {
        message: "boom".into(),
        code: 2,
    });
    s.attributes = vec![kv("http.route", "/x")];
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    put(&store, &traces("svc", vec![s.clone()]));
    store.flush().unwrap();
    let rows = store.trace(&7u128.to_be_bytes()).unwrap();
    assert!(
        rows[0].span.len() < s.encoded_len() - 32,
        "ids are not stored in the span bytes"
    );
    let back = &crate::traces::assemble(&rows)[0].scope_spans[0].spans[0];
    assert_eq!(*back, s);
}

#[test]
fn every_log_record_field_survives_storage() {
    use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let rec = |body: AnyValue| LogRecord {
        time_unix_nano: 5,
        observed_time_unix_nano: 6,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(body),
        attributes: vec![kv("a", "b")],
        dropped_attributes_count: 2,
        flags: 1,
        trace_id: vec![7; 16],
        span_id: vec![8; 8],
        event_name: "ev".into(),
    };
    let line = AnyValue {
        value: Some(any_value::Value::StringValue("hello".into())),
    };
    let structured = AnyValue {
        value: Some(any_value::Value::IntValue(42)),
    };
    let req = pdata::proto::collector::logs::v1::ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "s")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![rec(line.clone()), rec(structured.clone())],
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    };
    let (store, _) = Store::open(opts(None)).unwrap();
    store.ingest_logs(&req, &req.encode_to_vec()).unwrap();
    store.flush().unwrap();
    let mut got = Vec::new();
    store
        .for_each_log(&[], 0, 100, &mut |r| {
            got.push(r.clone());
            true
        })
        .unwrap();
    assert_eq!(got.len(), 2);
    for r in &got {
        assert!(
            r.record.len() + 24 <= r.record().encoded_len(),
            "ids are not stored in the record bytes"
        );
    }
    let mut back: Vec<LogRecord> = got.iter().map(|r| r.record()).collect();
    back.sort_by_key(|r| {
        matches!(
            r.body.as_ref().and_then(|b| b.value.as_ref()),
            Some(any_value::Value::IntValue(_))
        )
    });
    assert_eq!(back, vec![rec(line), rec(structured)]);
}

/// (time, line, service) of every line `scan_log_lines` reports, sorted.
fn scanned(
    store: &Store,
    ms: &[Matcher],
    start: i64,
    end: i64,
    pred: &dyn crate::query::LinePredicate,
) -> Vec<(i64, String, String)> {
    let mut got = Vec::new();
    store
        .scan_log_lines(ms, start, end, pred, &mut |l| {
            let svc = crate::query::label(l.labels, "service_name").to_string();
            got.push((l.ts_ns, l.line.to_string(), svc));
            true
        })
        .unwrap();
    got.sort();
    got
}

#[test]
fn a_line_scan_finds_what_a_row_scan_finds_in_the_head_and_in_blocks() {
    use crate::query::{AnyLine, Contains};
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    // Sealed: two services in one block; unsealed: a third request.
    let a = logs_req(
        "checkout",
        &[
            (100, "GET /cart timeout after 3s", 7),
            (110, "GET /cart ok", 0),
            // "xab" + "aba": a match of "aba" across the two lines must be no match and
            // must not hide the one inside the second line.
            (120, "xab", 0),
            (130, "aba", 0),
        ],
    );
    let b = logs_req("cart", &[(105, "timeout", 0), (115, "fine", 0)]);
    for r in [&a, &b] {
        store.ingest_logs(r, &r.encode_to_vec()).unwrap();
    }
    store.flush().unwrap();
    let c = logs_req("checkout", &[(140, "late timeout", 0)]);
    store.ingest_logs(&c, &c.encode_to_vec()).unwrap();

    // Reopened, the block's pages are not in the page cache: the scans read the lines'
    // frame only. Then the row scan decodes (and caches) the pages, and the scans read
    // cached rows; both must agree with it.
    drop(store);
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    let cold_all = scanned(&store, &[], 0, 1000, &AnyLine);
    let cold_timeout = scanned(&store, &[], 0, 1000, &Contains("timeout"));
    let cold_aba = scanned(&store, &[], 0, 1000, &Contains("aba"));
    let mut rows = Vec::new();
    store
        .for_each_log(&[], 0, 1000, &mut |r| {
            let svc = crate::query::label(&r.labels, "service_name").to_string();
            rows.push((r.ts_ns, r.line.to_string(), svc));
            true
        })
        .unwrap();
    rows.sort();
    assert_eq!(rows.len(), 7);
    let with = |needle: &str| -> Vec<(i64, String, String)> {
        rows.iter()
            .filter(|r| r.1.contains(needle))
            .cloned()
            .collect()
    };
    assert_eq!(cold_all, rows);
    assert_eq!(cold_timeout, with("timeout"));
    assert_eq!(with("timeout").len(), 3);
    let aba = vec![(130, "aba".to_string(), "checkout".to_string())];
    assert_eq!(cold_aba, aba);
    assert_eq!(scanned(&store, &[], 0, 1000, &AnyLine), rows);
    assert_eq!(
        scanned(&store, &[], 0, 1000, &Contains("timeout")),
        with("timeout")
    );
    assert_eq!(scanned(&store, &[], 0, 1000, &Contains("aba")), aba);
    // Stream matchers and time bounds apply to the lines found.
    let ms = [Matcher::new("service_name", MatchOp::Equal, "checkout").unwrap()];
    assert_eq!(
        scanned(&store, &ms, 0, 1000, &Contains("timeout")),
        vec![
            (
                100,
                "GET /cart timeout after 3s".to_string(),
                "checkout".to_string()
            ),
            (140, "late timeout".to_string(), "checkout".to_string()),
        ]
    );
    assert_eq!(scanned(&store, &ms, 101, 139, &Contains("timeout")), vec![]);

    // The references load the whole records: body, attributes, trace id.
    let mut refs = Vec::new();
    store
        .scan_log_lines(&ms, 0, 1000, &Contains("timeout"), &mut |l| {
            refs.push(l.reference());
            true
        })
        .unwrap();
    let recs = store.log_rows(&refs).unwrap();
    assert_eq!(recs.len(), 2);
    let first = recs.iter().find(|r| r.ts_ns == 100).expect("sealed record");
    assert_eq!(first.trace_id, 7u128.to_be_bytes());
    let rec = first.record();
    assert_eq!(rec.attributes, vec![kv("http.method", "GET")]);
    assert_eq!(rec.severity_text, "ERROR");
}

#[test]
fn span_attributes_of_every_value_type_survive_the_per_key_columns() {
    use pdata::proto::common::v1::{ArrayValue, KeyValue};
    let val = |v: any_value::Value| Some(AnyValue { value: Some(v) });
    let spans: Vec<Span> = (0..50u64)
        .map(|i| {
            let mut s = span(
                11,
                i + 1,
                0,
                if i % 2 == 0 { "a" } else { "b" },
                1_000 + i,
                5,
            );
            s.attributes = vec![
                kv("http.route", "/x"),
                KeyValue {
                    key: "n".into(),
                    value: val(any_value::Value::IntValue(i as i64 - 25)),
                    ..Default::default()
                },
                KeyValue {
                    key: "f".into(),
                    value: val(any_value::Value::DoubleValue(i as f64 / 3.0)),
                    ..Default::default()
                },
            ];
            // Key sets differ between spans: extra keys, a repeated key, no value, an
            // empty key, a bool, an array, an empty string.
            match i % 5 {
                0 => s.attributes.push(KeyValue {
                    key: "novalue".into(),
                    value: None,
                    ..Default::default()
                }),
                1 => s.attributes.push(kv("", "empty key")),
                2 => s.attributes.push(KeyValue {
                    key: "ok".into(),
                    value: val(any_value::Value::BoolValue(i % 2 == 0)),
                    ..Default::default()
                }),
                3 => s.attributes.push(KeyValue {
                    key: "list".into(),
                    value: val(any_value::Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(any_value::Value::StringValue(format!("v{i}"))),
                        }],
                    })),
                    ..Default::default()
                }),
                _ => {
                    s.attributes.push(kv("http.route", ""));
                    s.attributes.clear();
                }
            }
            s
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    put(&store, &traces("svc", spans.clone()));
    store.flush().unwrap();
    drop(store);
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    let rows = store.trace(&11u128.to_be_bytes()).unwrap();
    let mut back = crate::traces::assemble(&rows)[0].scope_spans[0]
        .spans
        .clone();
    back.sort_by_key(|s| s.span_id.clone());
    let mut want = spans;
    want.sort_by_key(|s| s.span_id.clone());
    assert_eq!(back, want);
}

#[test]
fn metadata_for_some_names_is_the_full_metadata_filtered() {
    use pdata::proto::common::v1::InstrumentationScope;
    let mut req = logs_req(
        "checkout",
        &[(100, "a", 7), (110, "b", 0), (120, "c", 9), (130, "d", 0)],
    );
    let recs = &mut req.resource_logs[0].scope_logs[0].log_records;
    // b: no number, a text; c: an attribute shadows detected_level; d: nothing at all.
    recs[1].severity_number = 0;
    recs[1].severity_text = "Warning".into();
    recs[2].attributes.push(kv("detected.level", "custom"));
    recs[3].severity_number = 0;
    recs[3].severity_text.clear();
    let mut other = logs_req("cart", &[(140, "e", 5)]);
    // a scope attribute shadows span_id for every record of its scope
    other.resource_logs[0].scope_logs[0].scope = Some(InstrumentationScope {
        name: "lib".into(),
        attributes: vec![kv("span_id", "from-scope")],
        ..Default::default()
    });
    other.resource_logs[0].scope_logs[0].log_records[0].span_id = vec![1; 8];
    other.resource_logs[0].scope_logs[0].log_records[0].severity_number = 5;
    let (store, _) = Store::open(opts(None)).unwrap();
    for r in [&req, &other] {
        store.ingest_logs(r, &r.encode_to_vec()).unwrap();
    }
    store.flush().unwrap();
    let mut cache = crate::logs::MetadataCache::default();
    let mut n = 0;
    for names in [
        vec!["detected_level".to_string()],
        vec!["trace_id".into(), "span_id".into()],
        vec![
            "detected_level".into(),
            "scope_name".into(),
            "http_method".into(),
        ],
    ] {
        store
            .for_each_log(&[], 0, 1000, &mut |r| {
                let mut want = r.metadata();
                want.retain(|(k, _)| names.contains(k));
                assert_eq!(
                    r.metadata_for(&names, &mut cache),
                    want,
                    "{names:?} of {}",
                    r.line
                );
                n += 1;
                true
            })
            .unwrap();
    }
    assert_eq!(n, 15);
    // The cases the test is about did occur.
    let mut levels = Vec::new();
    store
        .for_each_log(&[], 0, 1000, &mut |r| {
            levels.push(
                r.metadata_for(&["detected_level".into()], &mut cache)[0]
                    .1
                    .clone(),
            );
            true
        })
        .unwrap();
    levels.sort();
    assert_eq!(levels, ["custom", "debug", "error", "unknown", "warn"]);
}

#[test]
fn a_columns_scan_gives_every_rows_columns_without_rebuilding_span_bytes() {
    let cols = |r: &crate::SpanRow| {
        (
            r.trace_id,
            r.span_id,
            r.parent_span_id,
            r.start_ns,
            r.end_ns,
            r.kind,
            r.service.to_string(),
            r.name.to_string(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    let spans: Vec<Span> = (0..40u64)
        .map(|i| {
            let mut s = span(
                1 + u128::from(i % 4),
                i + 1,
                i,
                &format!("op{}", i % 3),
                1_000 + i,
                10,
            );
            s.attributes = vec![kv("http.route", "/x")];
            s
        })
        .collect();
    put(&store, &traces("a", spans[..30].to_vec()));
    store.flush().unwrap();
    put(&store, &traces("b", spans[30..].to_vec()));
    // reopened: the block's pages are not cached
    drop(store);
    let (store, _) = Store::open(opts(Some(dir.path()))).unwrap();
    let (mut light, mut empty) = (Vec::new(), 0);
    store
        .for_each_span_columns(1_005, 1_035, &mut |r| {
            light.push(cols(r));
            empty += r.span.is_empty() as usize;
            true
        })
        .unwrap();
    let mut full = Vec::new();
    store
        .for_each_span(1_005, 1_035, &mut |r| {
            full.push(cols(r));
            true
        })
        .unwrap();
    light.sort();
    full.sort();
    assert_eq!(light, full);
    assert_eq!(full.len(), 31);
    // the 25 sealed spans in range came without bytes; the head's 6 are the rows themselves
    assert_eq!(empty, 25);
}
