//! Each policy with traces that must be kept and traces that must be dropped (the cases of
//! Go's `internal/sampling/*_test.go`), the vote precedence of `processor.go`
//! `makeDecision`, late spans with and without decision caches, eviction at `num_traces`,
//! shutdown, and the self-metrics. Time is tokio's paused clock: `decision_wait` passes in
//! no real time.

use std::time::Duration;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use pdata::{Batch, Request, Signal};
use runtime::{Host, Telemetry};

use super::Factory;
use super::policies::{fnv1a64, probabilistic_threshold, tracestate_value};
use crate::processors::testing::{Collect, create, parse};

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(k: &str, v: &str) -> KeyValue {
    kv(k, Value::StringValue(v.into()))
}

/// A span of trace `[t; 16]` lasting `ms` milliseconds from `start_ms`.
fn span(t: u8, start_ms: u64, ms: u64, attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![t; 16],
        span_id: vec![t, 0, 0, 0, 0, 0, 0, start_ms as u8],
        name: format!("span-{t}-{start_ms}"),
        start_time_unix_nano: 1_700_000_000_000_000_000 + start_ms * 1_000_000,
        end_time_unix_nano: 1_700_000_000_000_000_000 + (start_ms + ms) * 1_000_000,
        attributes: attrs,
        ..Default::default()
    }
}

fn batch(spans: Vec<Span>) -> Batch {
    batch_with_resource(spans, vec![])
}

fn batch_with_resource(spans: Vec<Span>, resource: Vec<KeyValue>) -> Batch {
    Batch::from_request(Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }))
}

fn out_spans(sink: &Collect) -> Vec<Span> {
    sink.requests()
        .iter()
        .flat_map(|r| match r {
            Request::Traces(t) => t
                .resource_spans
                .iter()
                .flat_map(|rs| rs.scope_spans.iter().flat_map(|ss| ss.spans.clone()))
                .collect::<Vec<_>>(),
            _ => vec![],
        })
        .collect()
}

/// Trace ids (first byte) that came out.
fn kept(sink: &Collect) -> Vec<u8> {
    let mut ids: Vec<u8> = out_spans(sink).iter().map(|s| s.trace_id[0]).collect();
    ids.dedup();
    ids
}

type Started = (
    std::sync::Arc<dyn runtime::Processor>,
    std::sync::Arc<Collect>,
    Telemetry,
);

async fn started(yaml: &str) -> Started {
    let (p, sink, tel) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.start(&Host::default()).await.unwrap();
    (p, sink, tel)
}

/// Past a 1s decision_wait's decision tick.
async fn wait_decided() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

/// Sends each batch as one trace (1s decision wait), waits for the decisions, returns the
/// kept trace ids in order.
async fn run(policies: &str, batches: Vec<Batch>) -> Vec<u8> {
    let yaml = format!("decision_wait: 1s\npolicies:\n{policies}");
    let (p, sink, _) = started(&yaml).await;
    for b in batches {
        p.consume(b).await.unwrap();
    }
    wait_decided().await;
    let k = kept(&sink);
    p.shutdown().await.unwrap();
    k
}

fn status(code: i32) -> Option<Status> {
    Some(Status {
        code,
        ..Default::default()
    })
}

#[tokio::test(start_paused = true)]
async fn always_sample_keeps_every_trace_whole() {
    let yaml = "decision_wait: 1s\npolicies:\n  - {name: all, type: always_sample}\n";
    let (p, sink, _) = started(yaml).await;
    p.consume(batch(vec![span(1, 0, 10, vec![]), span(2, 0, 10, vec![])]))
        .await
        .unwrap();
    p.consume(batch(vec![span(1, 5, 10, vec![])]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(sink.batches().is_empty(), "nothing before decision_wait");
    wait_decided().await;
    let out = out_spans(&sink);
    assert_eq!(out.len(), 3);
    assert_eq!(out.iter().filter(|s| s.trace_id[0] == 1).count(), 2);
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn latency_keeps_traces_longer_than_the_threshold() {
    let policy = "  - {name: slow, type: latency, latency: {threshold_ms: 500}}\n";
    // Trace 1 spans 0..600 ms over two spans; trace 2 100 ms; trace 3 exactly 500 ms.
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 100, vec![]), span(1, 400, 200, vec![])]),
            batch(vec![span(2, 0, 100, vec![])]),
            batch(vec![span(3, 0, 500, vec![])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1, 3]);
    let policy =
        "  - {name: band, type: latency, latency: {threshold_ms: 100, upper_threshold_ms: 200}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 150, vec![])]),
            batch(vec![span(2, 0, 250, vec![])]),
            batch(vec![span(3, 0, 100, vec![])]),
            batch(vec![span(4, 0, 200, vec![])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1, 4]);
}

#[tokio::test(start_paused = true)]
async fn numeric_attribute_keeps_values_in_range_on_spans_and_resources() {
    let policy = "  - {name: errors, type: numeric_attribute, numeric_attribute: {key: http.status_code, min_value: 500, max_value: 599}}\n";
    let code = |c| vec![kv("http.status_code", Value::IntValue(c))];
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 1, vec![]), span(1, 1, 1, code(503))]),
            batch(vec![span(2, 0, 1, code(200))]),
            batch_with_resource(vec![span(3, 0, 1, vec![])], code(500)),
            batch(vec![span(4, 0, 1, vec![s("http.status_code", "503")])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1, 3]);
    // Only a minimum: no upper bound.
    let policy =
        "  - {name: big, type: numeric_attribute, numeric_attribute: {key: n, min_value: 50}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 1, vec![kv("n", Value::IntValue(1 << 40))])]),
            batch(vec![span(2, 0, 1, vec![kv("n", Value::IntValue(49))])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1]);
}

#[tokio::test(start_paused = true)]
async fn status_code_keeps_traces_with_a_listed_code() {
    let policy = "  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n";
    let mut err = span(1, 1, 1, vec![]);
    err.status = status(2);
    let mut ok = span(2, 0, 1, vec![]);
    ok.status = status(1);
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 1, vec![]), err]),
            batch(vec![ok]),
            batch(vec![span(3, 0, 1, vec![])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1]);
    let policy = "  - {name: unset, type: status_code, status_code: {status_codes: [UNSET]}}\n";
    let mut ok = span(2, 0, 1, vec![]);
    ok.status = status(1);
    let got = run(
        policy,
        vec![batch(vec![ok]), batch(vec![span(3, 0, 1, vec![])])],
    )
    .await;
    assert_eq!(got, vec![3]);
}

#[tokio::test(start_paused = true)]
async fn string_attribute_matches_exactly_by_regex_and_inverted() {
    let policy = "  - {name: svc, type: string_attribute, string_attribute: {key: service.name, values: [checkout, cart]}}\n";
    let got = run(
        policy,
        vec![
            batch_with_resource(vec![span(1, 0, 1, vec![])], vec![s("service.name", "cart")]),
            batch_with_resource(
                vec![span(2, 0, 1, vec![])],
                vec![s("service.name", "cartx")],
            ),
            batch(vec![span(3, 0, 1, vec![s("service.name", "checkout")])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1, 3]);
    // Regexes are unanchored (Go's MatchString).
    let policy = "  - {name: route, type: string_attribute, string_attribute: {key: http.route, values: ['/v1/name/.+', '^/live$'], enabled_regex_matching: true, cache_max_size: 2}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![span(
                1,
                0,
                1,
                vec![s("http.route", "/api/v1/name/42")],
            )]),
            batch(vec![span(2, 0, 1, vec![s("http.route", "/v1/name/")])]),
            batch(vec![span(3, 0, 1, vec![s("http.route", "/live")])]),
            batch(vec![span(4, 0, 1, vec![s("http.route", "/liveness")])]),
            batch(vec![span(
                5,
                0,
                1,
                vec![s("http.route", "/api/v1/name/42")],
            )]),
        ],
    )
    .await;
    assert_eq!(got, vec![1, 3, 5]);
    // Inverted: a match is a veto; no match samples (also without the attribute).
    let policy = "  - {name: not-health, type: string_attribute, string_attribute: {key: url.path, values: [/health], invert_match: true}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![
                span(1, 0, 1, vec![s("url.path", "/health")]),
                span(1, 1, 1, vec![s("url.path", "/x")]),
            ]),
            batch(vec![span(2, 0, 1, vec![s("url.path", "/orders")])]),
            batch(vec![span(3, 0, 1, vec![])]),
        ],
    )
    .await;
    assert_eq!(got, vec![2, 3]);
}

#[tokio::test(start_paused = true)]
async fn boolean_attribute_keeps_matching_traces() {
    let policy = "  - {name: force, type: boolean_attribute, boolean_attribute: {key: app.force_sample, value: true}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![span(
                1,
                0,
                1,
                vec![kv("app.force_sample", Value::BoolValue(true))],
            )]),
            batch(vec![span(
                2,
                0,
                1,
                vec![kv("app.force_sample", Value::BoolValue(false))],
            )]),
            batch(vec![span(3, 0, 1, vec![s("app.force_sample", "true")])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1]);
}

#[tokio::test(start_paused = true)]
async fn span_count_keeps_traces_within_the_bounds() {
    let policy = "  - {name: sc, type: span_count, span_count: {min_spans: 2, max_spans: 3}}\n";
    let n = |t: u8, k: u64| batch((0..k).map(|i| span(t, i, 1, vec![])).collect());
    let got = run(policy, vec![n(1, 1), n(2, 2), n(3, 3), n(4, 4)]).await;
    assert_eq!(got, vec![2, 3]);
}

#[tokio::test(start_paused = true)]
async fn trace_state_keeps_traces_with_the_value() {
    let policy =
        "  - {name: ts, type: trace_state, trace_state: {key: vendor, values: [keep, also]}}\n";
    let with = |t: u8, ts: &str| {
        let mut sp = span(t, 0, 1, vec![]);
        sp.trace_state = ts.into();
        batch(vec![sp])
    };
    let got = run(
        policy,
        vec![
            with(1, "other=1, vendor=keep"),
            with(2, "vendor=drop"),
            with(3, "vendor=also"),
            with(4, ""),
        ],
    )
    .await;
    assert_eq!(got, vec![1, 3]);
    assert_eq!(tracestate_value("a=1,b=2", "b"), Some("2"));
    assert_eq!(tracestate_value("a", "a"), None);
}

/// FNV-1a 64 written out from its definition, for the probabilistic policy's expectation.
fn reference_fnv64(data: &[u8]) -> u64 {
    let mut h: u64 = 14695981039346656037;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(1099511628211);
    }
    h
}

#[tokio::test(start_paused = true)]
async fn probabilistic_keeps_the_trace_ids_whose_salted_fnv64_is_under_the_rate() {
    assert_eq!(reference_fnv64(b"a"), 0xaf63dc4c8601ec8c);
    assert_eq!(fnv1a64(b"", b"a"), 0xaf63dc4c8601ec8c);
    // 50%: (2^64-1)/2 rounded into a 64-bit mantissa and truncated = 2^63 - 1.
    assert_eq!(probabilistic_threshold(0.5), (1u64 << 63) - 1);
    assert_eq!(probabilistic_threshold(1.0), u64::MAX);
    assert_eq!(probabilistic_threshold(0.0), 0);
    let policy =
        "  - {name: half, type: probabilistic, probabilistic: {sampling_percentage: 50}}\n";
    let ids: Vec<u8> = (1..=40).collect();
    let want: Vec<u8> = ids
        .iter()
        .copied()
        .filter(|t| {
            let mut data = b"default-hash-seed".to_vec();
            data.extend_from_slice(&[*t; 16]);
            reference_fnv64(&data) >> 63 == 0
        })
        .collect();
    let got = run(
        policy,
        ids.iter()
            .map(|t| batch(vec![span(*t, 0, 1, vec![])]))
            .collect(),
    )
    .await;
    assert_eq!(got, want);
    assert!(!want.is_empty() && want.len() < 40);
}

#[tokio::test(start_paused = true)]
async fn rate_limiting_keeps_spans_below_the_limit_per_second() {
    let policy = "  - {name: rl, type: rate_limiting, rate_limiting: {spans_per_second: 4}}\n";
    let two = |t: u8| batch(vec![span(t, 0, 1, vec![]), span(t, 1, 1, vec![])]);
    // Decided in the same second: 2 < 4 kept, 4 is not < 4, 3 is.
    let got = run(
        policy,
        vec![two(1), two(2), batch(vec![span(3, 0, 1, vec![])])],
    )
    .await;
    assert_eq!(got, vec![1, 3]);
}

#[tokio::test(start_paused = true)]
async fn bytes_limiting_keeps_traces_while_the_byte_budget_lasts() {
    let one = |t: u8| batch(vec![span(t, 0, 1, vec![s("pad", &"x".repeat(200))])]);
    // Each trace is ~290 bytes encoded: a burst of 400 admits one.
    let policy = "  - {name: bl, type: bytes_limiting, bytes_limiting: {bytes_per_second: 10, burst_capacity: 400}}\n";
    let got = run(policy, vec![one(1), one(2)]).await;
    assert_eq!(got, vec![1]);
    // The default burst is twice the rate.
    let policy = "  - {name: bl, type: bytes_limiting, bytes_per_second: 300}\n";
    assert!(
        parse(
            &Factory,
            "processors::tail_sampling",
            &format!("policies:\n{policy}")
        )
        .is_err()
    );
    let policy = "  - {name: bl, type: bytes_limiting, bytes_limiting: {bytes_per_second: 300}}\n";
    let got = run(policy, vec![one(1), one(2), one(3)]).await;
    assert_eq!(got, vec![1, 2]);
}

#[tokio::test(start_paused = true)]
async fn and_needs_every_sub_policy() {
    let policy = "  - name: both\n    type: and\n    and:\n      and_sub_policy:\n        - {name: svc, type: string_attribute, string_attribute: {key: service.name, values: [a]}}\n        - {name: slow, type: latency, latency: {threshold_ms: 100}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 200, vec![s("service.name", "a")])]),
            batch(vec![span(2, 0, 10, vec![s("service.name", "a")])]),
            batch(vec![span(3, 0, 200, vec![s("service.name", "b")])]),
        ],
    )
    .await;
    assert_eq!(got, vec![1]);
}

#[tokio::test(start_paused = true)]
async fn drop_vetoes_every_other_policy() {
    let policy = "  - {name: all, type: always_sample}\n  - name: no-health\n    type: drop\n    drop:\n      drop_sub_policy:\n        - {name: health, type: string_attribute, string_attribute: {key: url.path, values: [/health, /metrics], enabled_regex_matching: true}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 1, vec![s("url.path", "/health")])]),
            batch(vec![span(2, 0, 1, vec![s("url.path", "/orders")])]),
        ],
    )
    .await;
    assert_eq!(got, vec![2]);
}

#[tokio::test(start_paused = true)]
async fn inverted_not_sample_beats_sample_and_inverted_sample_loses_to_not_sample() {
    // always_sample votes Sampled; the inverted match on trace 1 is a veto.
    let policy = "  - {name: all, type: always_sample}\n  - {name: not-a, type: string_attribute, string_attribute: {key: k, values: [a], invert_match: true}}\n";
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 1, vec![s("k", "a")])]),
            batch(vec![span(2, 0, 1, vec![s("k", "b")])]),
        ],
    )
    .await;
    assert_eq!(got, vec![2]);
    // An InvertSampled alone samples; with a NotSampled from another policy it does not.
    let policy = "  - {name: not-a, type: string_attribute, string_attribute: {key: k, values: [a], invert_match: true}}\n";
    assert_eq!(
        run(policy, vec![batch(vec![span(2, 0, 1, vec![s("k", "b")])])]).await,
        vec![2]
    );
    let policy = "  - {name: not-a, type: string_attribute, string_attribute: {key: k, values: [a], invert_match: true}}\n  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n";
    assert_eq!(
        run(policy, vec![batch(vec![span(2, 0, 1, vec![s("k", "b")])])]).await,
        Vec::<u8>::new()
    );
}

#[tokio::test(start_paused = true)]
async fn composite_admits_each_sub_policy_within_its_rate_allocation() {
    let policy = "  - name: comp\n    type: composite\n    composite:\n      max_total_spans_per_second: 10\n      policy_order: [errors, rest]\n      composite_sub_policy:\n        - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n        - {name: rest, type: always_sample}\n      rate_allocation:\n        - {policy: errors, percent: 50}\n        - {policy: rest, percent: 20}\n";
    let err = |t: u8| {
        let mut sp = span(t, 0, 1, vec![]);
        sp.status = status(2);
        batch(vec![sp, span(t, 1, 1, vec![]), span(t, 2, 1, vec![])])
    };
    let plain = |t: u8| batch(vec![span(t, 0, 1, vec![])]);
    // errors: 5 spans/s (3 fit, then 6 > 5); rest: 2 spans/s (1, 2, then 3 > 2).
    let got = run(policy, vec![err(1), err(2), plain(3), plain(4), plain(5)]).await;
    assert_eq!(got, vec![1, 3, 4]);
}

#[tokio::test(start_paused = true)]
async fn late_spans_follow_the_decision_kept_in_memory() {
    let yaml = "decision_wait: 1s\npolicies:\n  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n";
    let (p, sink, tel) = started(yaml).await;
    let mut err = span(1, 0, 1, vec![]);
    err.status = status(2);
    p.consume(batch(vec![err])).await.unwrap();
    p.consume(batch(vec![span(2, 0, 1, vec![])])).await.unwrap();
    wait_decided().await;
    assert_eq!(out_spans(&sink).len(), 1);
    // Late spans: trace 1's go on at once, trace 2's (not sampled) are dropped, even though
    // the late span of trace 2 is an error: the decision stands.
    let mut late_err = span(2, 50, 1, vec![]);
    late_err.status = status(2);
    p.consume(batch(vec![span(1, 50, 1, vec![]), late_err]))
        .await
        .unwrap();
    let out = out_spans(&sink);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].trace_id[0], 1);
    assert_eq!(out[1].start_time_unix_nano % 1_000_000_000, 50_000_000);
    wait_decided().await;
    assert_eq!(out_spans(&sink).len(), 2);
    assert_eq!(
        tel.value("otelcol_processor_tail_sampling_new_trace_id_received", &[]),
        Some(2.0)
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn with_decision_caches_late_spans_are_released_from_the_cache() {
    let yaml = "decision_wait: 1s\nnum_traces: 10\ndecision_cache: {sampled_cache_size: 100, non_sampled_cache_size: 100}\npolicies:\n  - {name: a, type: string_attribute, string_attribute: {key: k, values: [keep]}}\n";
    let (p, sink, tel) = started(yaml).await;
    p.consume(batch(vec![
        span(1, 0, 1, vec![s("k", "keep")]),
        span(2, 0, 1, vec![]),
    ]))
    .await
    .unwrap();
    wait_decided().await;
    assert_eq!(kept(&sink), vec![1]);
    // Decided traces left memory: the caches answer.
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_sampling_traces_on_memory",
            &[]
        ),
        Some(0.0)
    );
    p.consume(batch(vec![
        span(1, 9, 1, vec![]),
        span(2, 9, 1, vec![s("k", "keep")]),
    ]))
    .await
    .unwrap();
    assert_eq!(out_spans(&sink).len(), 2);
    let early = |sampled| {
        tel.value(
            "otelcol_processor_tail_sampling_early_releases_from_cache_decision",
            &[("sampled", sampled)],
        )
    };
    assert_eq!(early("true"), Some(1.0));
    assert_eq!(early("false"), Some(1.0));
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn without_caches_a_forgotten_trace_is_decided_anew() {
    let yaml = "decision_wait: 1s\nnum_traces: 1\npolicies:\n  - {name: a, type: string_attribute, string_attribute: {key: k, values: [keep]}}\n";
    let (p, sink, tel) = started(yaml).await;
    p.consume(batch(vec![span(1, 0, 1, vec![])])).await.unwrap();
    wait_decided().await;
    // Trace 2 pushes decided trace 1 out of memory (not counted: it was decided).
    p.consume(batch(vec![span(2, 0, 1, vec![])])).await.unwrap();
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
            &[]
        ),
        Some(0.0)
    );
    wait_decided().await;
    // A late span of trace 1 starts a new stay (and pushes trace 2, decided, out).
    p.consume(batch(vec![span(1, 9, 1, vec![s("k", "keep")])]))
        .await
        .unwrap();
    wait_decided().await;
    assert_eq!(kept(&sink), vec![1]);
    assert_eq!(out_spans(&sink).len(), 1);
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn eviction_at_num_traces_drops_the_oldest_undecided_trace_and_counts_it() {
    let yaml =
        "decision_wait: 5s\nnum_traces: 3\npolicies:\n  - {name: all, type: always_sample}\n";
    let (p, sink, tel) = started(yaml).await;
    for t in 1..=5u8 {
        p.consume(batch(vec![span(t, 0, 1, vec![]), span(t, 1, 1, vec![])]))
            .await
            .unwrap();
    }
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
            &[]
        ),
        Some(2.0)
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_sampling_traces_on_memory",
            &[]
        ),
        Some(3.0)
    );
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(kept(&sink), vec![3, 4, 5]);
    // Every span is accounted for: in = out + the evicted traces' spans.
    let v = |n: &str| tel.value(n, &[("processor", "tail_sampling")]).unwrap();
    assert_eq!(v("otelcol_processor_incoming_items"), 10.0);
    assert_eq!(v("otelcol_processor_outgoing_items"), 6.0);
    // A late span of an evicted trace is a new trace.
    p.consume(batch(vec![span(1, 5, 1, vec![])])).await.unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(kept(&sink), vec![3, 4, 5, 1]);
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn memory_stays_bounded_under_a_stream_of_traces() {
    let yaml = "decision_wait: 2s\nnum_traces: 100\npolicies:\n  - {name: p, type: probabilistic, probabilistic: {sampling_percentage: 10}}\n";
    let (p, _sink, tel) = started(yaml).await;
    for round in 0..30u32 {
        let spans = (0..50u32)
            .map(|i| {
                let mut sp = span(0, 0, 1, vec![]);
                sp.trace_id = [round.to_be_bytes(), i.to_be_bytes(), [0; 4], [1; 4]].concat();
                sp
            })
            .collect();
        p.consume(batch(spans)).await.unwrap();
        let on_memory = tel
            .value(
                "otelcol_processor_tail_sampling_sampling_traces_on_memory",
                &[],
            )
            .unwrap();
        assert!(on_memory <= 100.0, "{on_memory} traces in memory");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let early = tel
        .value(
            "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
            &[],
        )
        .unwrap();
    assert!(early > 0.0);
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_decides_pending_traces_or_drops_them_when_asked() {
    let yaml = "decision_wait: 30s\npolicies:\n  - {name: all, type: always_sample}\n";
    let (p, sink, _) = started(yaml).await;
    p.consume(batch(vec![span(1, 0, 1, vec![])])).await.unwrap();
    p.shutdown().await.unwrap();
    assert_eq!(kept(&sink), vec![1]);
    let yaml = "decision_wait: 30s\ndrop_pending_traces_on_shutdown: true\npolicies:\n  - {name: all, type: always_sample}\n";
    let (p, sink, _) = started(yaml).await;
    p.consume(batch(vec![span(1, 0, 1, vec![])])).await.unwrap();
    p.shutdown().await.unwrap();
    assert!(sink.batches().is_empty());
}

#[tokio::test(start_paused = true)]
async fn decisions_are_counted_per_policy_and_overall() {
    let yaml = "decision_wait: 1s\npolicies:\n  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n  - {name: no-b, type: drop, drop: {drop_sub_policy: [{name: b, type: string_attribute, string_attribute: {key: k, values: [b]}}]}}\n";
    let (p, _sink, tel) = started(yaml).await;
    let mut err = span(1, 0, 1, vec![]);
    err.status = status(2);
    p.consume(batch(vec![err])).await.unwrap();
    p.consume(batch(vec![span(2, 0, 1, vec![s("k", "b")])]))
        .await
        .unwrap();
    p.consume(batch(vec![span(3, 0, 1, vec![])])).await.unwrap();
    wait_decided().await;
    let per = |policy, decision| {
        tel.value(
            "otelcol_processor_tail_sampling_count_traces_sampled",
            &[("policy", policy), ("decision", decision)],
        )
    };
    assert_eq!(per("errors", "sampled"), Some(1.0));
    assert_eq!(per("errors", "not_sampled"), Some(2.0));
    assert_eq!(per("no-b", "dropped"), Some(1.0));
    assert_eq!(per("no-b", "not_sampled"), Some(2.0));
    let global = |sampled, decision| {
        tel.value(
            "otelcol_processor_tail_sampling_global_count_traces_sampled",
            &[("sampled", sampled), ("decision", decision)],
        )
    };
    assert_eq!(global("true", "sampled"), Some(1.0));
    assert_eq!(global("false", "not_sampled"), Some(1.0));
    assert_eq!(global("false", "dropped"), Some(1.0));
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn sample_on_first_match_stops_at_the_first_sample_vote() {
    // The rate limit would be spent by trace 1 if it were evaluated after always_sample.
    let yaml = "decision_wait: 1s\nsample_on_first_match: true\npolicies:\n  - {name: all, type: always_sample}\n  - {name: rl, type: rate_limiting, rate_limiting: {spans_per_second: 2}}\n";
    let (p, _sink, tel) = started(yaml).await;
    p.consume(batch(vec![span(1, 0, 1, vec![])])).await.unwrap();
    wait_decided().await;
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_count_traces_sampled",
            &[("policy", "rl"), ("decision", "sampled")],
        ),
        Some(0.0)
    );
    p.shutdown().await.unwrap();
}

#[test]
fn config_defaults_and_policy_errors_are_go_s() {
    let cfg = parse(&Factory, "processors::tail_sampling", "{}").unwrap();
    let cfg: &super::Config = runtime::factory::typed(&cfg);
    assert_eq!(cfg.decision_wait.0, Duration::from_secs(30));
    assert_eq!(cfg.num_traces, 50_000);
    assert_eq!(cfg.decision_cache.sampled_cache_size, 0);
    let err = |yaml: &str| parse(&Factory, "processors::tail_sampling", yaml).unwrap_err();
    assert_eq!(
        err("policies: [{type: always_sample}]"),
        "processors::tail_sampling: policy name cannot be empty"
    );
    assert_eq!(
        err("policies: [{name: a, type: always_sample}, {name: a, type: latency}]"),
        "processors::tail_sampling: duplicate policy name \"a\""
    );
    assert_eq!(
        err("policies: [{name: a, type: sometimes}]"),
        "processors::tail_sampling: failed to create policy evaluator for \"a\": unknown sampling policy type sometimes"
    );
    assert_eq!(
        err("policies: [{name: a, type: status_code, status_code: {status_codes: [FAILED]}}]"),
        "processors::tail_sampling: failed to create policy evaluator for \"a\": unknown status code \"FAILED\", supported: OK, ERROR, UNSET"
    );
    assert!(
        err("policies: [{name: a, type: string_attribute, string_attribute: {key: k, values: ['(x'], enabled_regex_matching: true}}]")
            .contains("error parsing regexp: missing closing )")
    );
    assert!(
        err(
            "policies: [{name: a, type: and, and: {and_sub_policy: [{name: b, type: composite}]}}]"
        )
        .contains("unknown sampling policy type composite")
    );
    assert!(err("num_traces: 0").contains("num_traces: must be greater than 0"));
    assert!(
        err("policies: [{name: a, type: numeric_attribute, numeric_attribute: {key: k}}]")
            .ends_with("at least one of min_value or max_value must be set")
    );
    assert!(err("policies: [{name: a, type: numeric_attribute, numeric_attribute: {key: k, min_value: 5, max_value: 4}}]")
        .ends_with("min_value must be less than or equal to max_value"));
    assert!(
        err("block_on_overflow: true").contains("block_on_overflow: not supported by ferrotel yet")
    );
}

#[tokio::test(start_paused = true)]
async fn ottl_condition_keeps_traces_with_a_matching_span_or_span_event() {
    let policy = "  - name: o\n    type: ottl_condition\n    ottl_condition:\n      error_mode: ignore\n      span:\n        - 'attributes[\"http.route\"] == \"/checkout\"'\n        - 'resource.attributes[\"tier\"] == \"gold\"'\n      spanevent:\n        - 'name == \"exception\"'\n";
    let with_event = |t: u8, name: &str| {
        let mut sp = span(t, 0, 1, vec![]);
        sp.events.push(pdata::proto::trace::v1::span::Event {
            name: name.into(),
            ..Default::default()
        });
        batch(vec![sp])
    };
    let got = run(
        policy,
        vec![
            batch(vec![span(1, 0, 1, vec![s("http.route", "/checkout")])]),
            batch(vec![span(2, 0, 1, vec![s("http.route", "/health")])]),
            with_event(3, "exception"),
            with_event(4, "log"),
            batch_with_resource(vec![span(5, 0, 1, vec![])], vec![s("tier", "gold")]),
            batch_with_resource(vec![span(6, 0, 1, vec![])], vec![s("tier", "free")]),
        ],
    )
    .await;
    assert_eq!(got, vec![1, 3, 5]);
}

#[tokio::test(start_paused = true)]
async fn ottl_condition_errors_are_counted_in_propagate_and_ignored_in_ignore() {
    // Substring past the end of the span name fails at run time.
    let cond = |mode: &str| {
        format!(
            "  - name: o\n    type: ottl_condition\n    ottl_condition:\n      error_mode: {mode}\n      span:\n        - 'Substring(name, 0, 50) == \"x\"'\n        - 'name == \"keep\"'\n"
        )
    };
    let named = |t: u8, name: &str| {
        let mut sp = span(t, 0, 1, vec![]);
        sp.name = name.into();
        batch(vec![sp])
    };
    // ignore: the failing condition is false, the next one still decides.
    let got = run(&cond("ignore"), vec![named(1, "keep"), named(2, "other")]).await;
    assert_eq!(got, vec![1]);
    // propagate: the policy errs on every trace (counted), its vote is ignored: nothing kept.
    let yaml = format!("decision_wait: 1s\npolicies:\n{}", cond("propagate"));
    let (p, sink, tel) = started(&yaml).await;
    p.consume(named(1, "keep")).await.unwrap();
    wait_decided().await;
    assert!(kept(&sink).is_empty());
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_sampling_policy_evaluation_error",
            &[]
        ),
        Some(1.0)
    );
    p.shutdown().await.unwrap();
}

#[test]
fn ottl_condition_with_a_bad_condition_fails_validation_naming_it() {
    let yaml = "policies:\n  - name: o\n    type: ottl_condition\n    ottl_condition:\n      span: ['NoSuch(name)']\n";
    let err = parse(&Factory, "processors::tail_sampling", yaml).unwrap_err();
    assert!(err.contains("NoSuch"), "{err}");
}

#[test]
fn the_public_gateway_config_parses() {
    let yaml = "decision_wait: 10s\nnum_traces: 50000\npolicies:\n  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n  - {name: slow, type: latency, latency: {threshold_ms: 500}}\n  - {name: sample, type: probabilistic, probabilistic: {sampling_percentage: 10}}\n";
    create(&Factory, yaml, Signal::Traces).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_named_processor_prefixes_its_policy_names_in_the_metrics() {
    use runtime::ProcessorFactory;
    use runtime::factory::Settings;
    let yaml = "decision_wait: 1s\npolicies:\n  - {name: all, type: always_sample}\n";
    let cfg = parse(&Factory, "processors::tail_sampling/gw", yaml).unwrap();
    let tel = Telemetry::default();
    let sink = std::sync::Arc::new(Collect::default());
    let set = Settings {
        id: ::config::ComponentId::with_name("tail_sampling", "gw"),
        kind: runtime::Kind::Processor,
        telemetry: tel.clone(),
    };
    let p = Factory
        .create(set, &cfg, Signal::Traces, sink.clone())
        .unwrap();
    p.start(&Host::default()).await.unwrap();
    p.consume(batch(vec![span(1, 0, 1, vec![])])).await.unwrap();
    wait_decided().await;
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_count_traces_sampled",
            &[("policy", "gw.all"), ("sampled", "true")],
        ),
        Some(1.0)
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn gates_count_spans_and_record_the_sampling_policy() {
    use super::{Gates, TailSampler};
    let yaml = "decision_wait: 1s\npolicies:\n  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n  - name: comp\n    type: composite\n    composite:\n      max_total_spans_per_second: 100\n      composite_sub_policy:\n        - {name: svc-a, type: string_attribute, string_attribute: {key: k, values: [a]}}\n      rate_allocation: [{policy: svc-a, percent: 100}]\n";
    let cfg = parse(&Factory, "processors::tail_sampling", yaml).unwrap();
    let cfg: &super::Config = runtime::factory::typed(&cfg);
    let tel = Telemetry::default();
    let sink = std::sync::Arc::new(Collect::default());
    let gates = Gates {
        count_spans: true,
        record_policy: true,
    };
    let ts = TailSampler::new(
        cfg,
        &::config::ComponentId::new("tail_sampling"),
        &tel,
        sink.clone(),
        gates,
    )
    .unwrap();
    let mut err = span(1, 0, 1, vec![]);
    err.status = status(2);
    ts.consume(batch(vec![err, span(1, 1, 1, vec![])]))
        .await
        .unwrap();
    ts.consume(batch(vec![span(2, 0, 1, vec![s("k", "a")])]))
        .await
        .unwrap();
    ts.consume(batch(vec![span(3, 0, 1, vec![])]))
        .await
        .unwrap();
    for _ in 0..2 {
        ts.tick().await;
    }
    let spans_counted = |policy, decision| {
        tel.value(
            "otelcol_processor_tail_sampling_count_spans_sampled",
            &[("policy", policy), ("decision", decision)],
        )
    };
    assert_eq!(spans_counted("errors", "sampled"), Some(2.0));
    assert_eq!(spans_counted("errors", "not_sampled"), Some(2.0));
    let scope_attrs: Vec<(u8, Vec<(String, String)>)> = sink
        .requests()
        .iter()
        .flat_map(|r| match r {
            Request::Traces(t) => t.resource_spans.clone(),
            _ => vec![],
        })
        .flat_map(|rs| rs.scope_spans)
        .map(|ss| {
            let attrs = ss
                .scope
                .unwrap_or_default()
                .attributes
                .into_iter()
                .map(|kv| match kv.value.and_then(|v| v.value) {
                    Some(Value::StringValue(v)) => (kv.key, v),
                    _ => (kv.key, String::new()),
                })
                .collect();
            (ss.spans[0].trace_id[0], attrs)
        })
        .collect();
    assert_eq!(
        scope_attrs,
        vec![
            (
                1,
                vec![("tailsampling.policy".to_string(), "errors".to_string())]
            ),
            (
                2,
                vec![
                    ("tailsampling.policy".to_string(), "comp".to_string()),
                    (
                        "tailsampling.composite_policy".to_string(),
                        "svc-a".to_string()
                    ),
                ]
            ),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn traces_past_maximum_trace_size_bytes_are_dropped_and_counted() {
    // Go's TestDropLargeTraces: a 3 KiB attribute against a 1024-byte limit.
    let yaml = "decision_wait: 1s\nnum_traces: 4\nmaximum_trace_size_bytes: 1024\npolicies:\n  - {name: all, type: always_sample}\n";
    let (p, sink, tel) = started(yaml).await;
    p.consume(batch(vec![
        span(1, 0, 1, vec![s("foo", &"bar".repeat(1024))]),
        span(2, 0, 1, vec![s("foo", "short")]),
    ]))
    .await
    .unwrap();
    // A trace that grows past the limit later is dropped then, and stays dropped.
    p.consume(batch(vec![span(3, 0, 1, vec![s("foo", &"x".repeat(600))])]))
        .await
        .unwrap();
    p.consume(batch(vec![span(3, 1, 1, vec![s("foo", &"x".repeat(600))])]))
        .await
        .unwrap();
    wait_decided().await;
    p.consume(batch(vec![span(3, 2, 1, vec![])])).await.unwrap();
    assert_eq!(kept(&sink), vec![2]);
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_traces_dropped_too_large",
            &[]
        ),
        Some(2.0)
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
            &[]
        ),
        Some(0.0)
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_root_span_brings_the_decision_forward_with_decision_wait_after_root_received() {
    let yaml = "decision_wait: 10s\ndecision_wait_after_root_received: 1s\npolicies:\n  - {name: all, type: always_sample}\n";
    let (p, sink, _) = started(yaml).await;
    let mut child = span(1, 0, 1, vec![]);
    child.parent_span_id = vec![9; 8];
    p.consume(batch(vec![child])).await.unwrap();
    let mut orphan = span(2, 0, 1, vec![]);
    orphan.parent_span_id = vec![9; 8];
    p.consume(batch(vec![orphan])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Trace 1's root arrives late: decided about a second after it, not ten.
    p.consume(batch(vec![span(1, 5, 1, vec![])])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(kept(&sink), vec![1]);
    assert_eq!(out_spans(&sink).len(), 2);
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(kept(&sink), vec![1, 2]);
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_busy_tick_is_released_in_requests_a_receiver_takes() {
    // 3,000 traces of 5 spans sampled in one tick: more than one request's worth.
    let yaml =
        "decision_wait: 1s\nnum_traces: 10000\npolicies:\n  - {name: all, type: always_sample}\n";
    let (p, sink, _) = started(yaml).await;
    for chunk in 0..30u16 {
        let mut spans = Vec::new();
        for t in 0..100u16 {
            let id = chunk * 100 + t;
            for k in 0..5u8 {
                let mut sp = span(0, k as u64, 1, vec![]);
                sp.trace_id = [&id.to_be_bytes()[..], &[7u8; 14][..]].concat();
                sp.span_id = [&id.to_be_bytes()[..], &[k; 6][..]].concat();
                spans.push(sp);
            }
        }
        p.consume(batch(spans)).await.unwrap();
    }
    wait_decided().await;
    let sizes: Vec<usize> = sink.batches().iter().map(|b| b.item_count()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 15_000);
    assert!(sizes.len() >= 2, "{sizes:?}");
    assert!(
        sizes.iter().all(|n| *n <= super::RELEASE_SPANS),
        "{sizes:?}"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn ottl_condition_sees_the_resource_schema_url() {
    let policy = "  - name: o\n    type: ottl_condition\n    ottl_condition:\n      span: ['resource.schema_url == \"https://opentelemetry.io/schemas/1.26.0\"']\n";
    let with_url = |t: u8, url: &str| {
        let mut b = batch(vec![span(t, 0, 1, vec![])]);
        if let Ok(Request::Traces(r)) = b.request_mut() {
            r.resource_spans[0].schema_url = url.into();
        }
        b.recount();
        b
    };
    let got = run(
        policy,
        vec![
            with_url(1, "https://opentelemetry.io/schemas/1.26.0"),
            with_url(2, "https://opentelemetry.io/schemas/1.4.0"),
        ],
    )
    .await;
    assert_eq!(got, vec![1]);
}
