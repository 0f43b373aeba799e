//! Body of the store's fuzz target (`/fuzz/fuzz_targets/store_ingest.rs`), kept here so a unit
//! test runs it on every build: arbitrary bytes into each ingest decoder the query API feeds
//! the store from (remote write, Loki push, OTLP) and then through the store and its queries,
//! and arbitrary bytes as each signal's block page (pages come from disk and may be damaged).
//! Nothing may panic; whatever decodes must be stored and read back without error.

use prost::Message;

use crate::query::{MatchOp, Matcher, SpanQuery};
use crate::table::Schema;
use crate::{Options, Store};

pub fn ingest(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 8 {
        5 => {
            let _ = crate::traces::Traces::decode_page(body);
            let _ = crate::traces::decode_rows(body, crate::traces::Want::Columns);
            let id: [u8; 16] = body
                .get(..16)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 16]);
            let _ = crate::traces::decode_rows(body, crate::traces::Want::Trace(&id));
            return;
        }
        6 => {
            let _ = crate::logs::Logs::decode_page(body);
            // The lines frame alone, as a line scan reads it.
            if let Ok(p) = crate::logs::LinesPage::read(&mut crate::codec::Reader::new(body)) {
                for i in 0..p.len() {
                    let _ = p.line(i);
                    let _ = p.row_at(p.start(i));
                }
                let _ = p.row_at(p.text.len());
            }
            return;
        }
        7 => {
            let _ = crate::metrics::Metrics::decode_page(body);
            return;
        }
        _ => {}
    }
    let (store, _) = Store::open(Options {
        head_bytes: 4096,
        ..Options::default()
    })
    .expect("an in-memory store opens");
    let stored = match kind % 8 {
        0 => snap::raw::Decoder::new()
            .decompress_vec(body)
            .ok()
            .and_then(|raw| {
                let wr = promtranslate::prompb::WriteRequest::decode(&raw[..]).ok()?;
                Some(store.ingest_remote_write(&wr, &raw))
            }),
        1 => crate::lokiproto::decode(body)
            .ok()
            .map(|r| store.ingest_loki_push(&r, &r.encode_to_vec())),
        2 => pdata::proto::collector::trace::v1::ExportTraceServiceRequest::decode(body)
            .ok()
            .map(|r| store.ingest_traces(&r, body)),
        3 => pdata::proto::collector::logs::v1::ExportLogsServiceRequest::decode(body)
            .ok()
            .map(|r| store.ingest_logs(&r, body)),
        _ => pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest::decode(body)
            .ok()
            .map(|r| store.ingest_metrics(&r, body)),
    };
    let Some(result) = stored else { return };
    result.expect("an in-memory store accepts what decodes");
    store.flush().expect("an in-memory store seals");
    let all = [Matcher::new("__name__", MatchOp::Re, ".*").expect("valid regex")];
    store
        .select_series(&all, i64::MIN, i64::MAX)
        .expect("pages we wrote decode");
    store
        .for_each_log(&[], i64::MIN, i64::MAX, &mut |r| {
            let _ = r.metadata();
            let _ = r.metadata_for(
                &["detected_level".into(), "trace_id".into()],
                &mut Default::default(),
            );
            true
        })
        .expect("pages we wrote decode");
    let mut refs = Vec::new();
    for pred in [
        &crate::query::AnyLine as &dyn crate::query::LinePredicate,
        &crate::query::Contains("a"),
    ] {
        store
            .scan_log_lines(&[], i64::MIN, i64::MAX, pred, &mut |l| {
                refs.push(l.reference());
                true
            })
            .expect("pages we wrote decode");
        store
            .for_each_log_where(&[], i64::MIN, i64::MAX, pred, &mut |_| true)
            .expect("pages we wrote decode");
    }
    store.log_rows(&refs).expect("pages we wrote decode");
    store
        .for_each_span_columns(i64::MIN, i64::MAX, &mut |_| true)
        .expect("pages we wrote decode");
    let hits = store
        .search_spans(&SpanQuery {
            start_ns: i64::MIN,
            end_ns: i64::MAX,
            service: None,
            operation: None,
            min_duration_ns: None,
            max_duration_ns: None,
            predicate: None,
            limit: 10,
        })
        .expect("pages we wrote decode");
    for h in hits {
        let rows = store.trace(&h.trace_id).expect("pages we wrote decode");
        let _ = crate::traces::assemble(&rows);
    }
    store.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Vec<Vec<u8>> {
        let wr = promtranslate::prompb::WriteRequest {
            timeseries: vec![promtranslate::prompb::TimeSeries {
                labels: vec![promtranslate::prompb::Label {
                    name: "__name__".into(),
                    value: "up".into(),
                }],
                samples: vec![promtranslate::prompb::Sample {
                    value: 1.0,
                    timestamp: 5,
                }],
                ..Default::default()
            }],
            metadata: vec![],
        };
        let rw = snap::raw::Encoder::new()
            .compress_vec(&wr.encode_to_vec())
            .unwrap();
        let tr = crate::tests::traces("a", vec![crate::tests::span(1, 1, 0, "x", 10, 5)])
            .encode_to_vec();
        let mut out = vec![[&[0u8][..], &rw].concat(), [&[2u8][..], &tr].concat()];
        // Pages as the store writes them: of one trace's spans stored and read back.
        let (store, _) = Store::open(Options::default()).unwrap();
        let trace_page = |trace: u128, spans: Vec<_>| {
            let req = crate::tests::traces("a", spans);
            store.ingest_traces(&req, &req.encode_to_vec()).unwrap();
            let rows: Vec<crate::traces::SpanRow> = store.trace(&trace.to_be_bytes()).unwrap();
            let refs: Vec<&crate::traces::SpanRow> = rows.iter().collect();
            let mut page = Vec::new();
            crate::traces::Traces::encode_page(&refs, &mut page);
            [&[5u8][..], &page].concat()
        };
        out.push(trace_page(1, vec![crate::tests::span(1, 1, 0, "x", 10, 5)]));
        // A page of spans with attributes, and a log page (its lines frame first).
        let mut spans = vec![
            crate::tests::span(2, 1, 0, "x", 10, 5),
            crate::tests::span(2, 2, 1, "y", 11, 5),
        ];
        spans[0].attributes = vec![
            crate::tests::kv("http.route", "/a"),
            crate::tests::kv("k", "v"),
        ];
        spans[1].attributes = vec![crate::tests::kv("http.route", "/b")];
        out.push(trace_page(2, spans));
        let logs = crate::tests::logs_req(
            "svc",
            &[(1, "a timeout b", 7), (2, "xab", 0), (3, "aba", 0)],
        );
        let rows = crate::logs::rows(&logs);
        let refs: Vec<&crate::logs::LogRow> = rows.iter().collect();
        let mut page = Vec::new();
        crate::logs::Logs::encode_page(&refs, &mut page);
        out.push([&[6u8][..], &page].concat());
        out.push([&[3u8][..], &logs.encode_to_vec()].concat());
        out
    }

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let seeds = seeds();
        let rounds: usize = std::env::var("FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600);
        for i in 0..rounds {
            let data: Vec<u8> = if i % 2 == 0 {
                let n = (next() % 200) as usize;
                (0..n).map(|_| next() as u8).collect()
            } else {
                let mut d = seeds[i % seeds.len()].clone();
                for _ in 0..(1 + next() % 6) {
                    let at = 1 + (next() as usize) % (d.len() - 1);
                    d[at] = next() as u8;
                }
                d
            };
            ingest(&data);
        }
        for s in seeds {
            ingest(&s);
        }
    }
}
