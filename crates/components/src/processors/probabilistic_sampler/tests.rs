//! Expected values from the Go processor's tests (`tracesprocessor_test.go`:
//! TestHashingFunction's (seed, trace id, sampled at 50%) list,
//! Test_tracesamplerprocessor_TraceState / ..._TraceStateErrors / ..._HashSeedTraceState,
//! Test_parseSpanSamplingPriority) and from the legacy hash algorithm written out here on its
//! own (FNV-1a 32 over the little-endian seed and the trace id, 14-bit bucket < pct·163.84 in
//! float32), not by calling the sampler.

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use pdata::{Batch, Request, Signal};

use super::Factory;
use super::otep235::{Randomness, Threshold, W3cTraceState};
use crate::processors::testing::{create, parse};

fn tid(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn span(trace_id: Vec<u8>, ts: &str, attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id,
        span_id: vec![0, 0, 0, 0, 0xfe, 0xfe, 0xfe, 0xfe],
        trace_state: ts.into(),
        name: "s".into(),
        attributes: attrs,
        ..Default::default()
    }
}

fn traces(spans: Vec<Span>) -> Batch {
    Batch::from_request(Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }))
}

fn logs(records: Vec<LogRecord>) -> Batch {
    Batch::from_request(Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }))
}

fn out_spans(reqs: &[Request]) -> Vec<Span> {
    reqs.iter()
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

fn out_logs(reqs: &[Request]) -> Vec<LogRecord> {
    reqs.iter()
        .flat_map(|r| match r {
            Request::Logs(l) => l
                .resource_logs
                .iter()
                .flat_map(|rl| rl.scope_logs.iter().flat_map(|sl| sl.log_records.clone()))
                .collect::<Vec<_>>(),
            _ => vec![],
        })
        .collect()
}

/// Runs one span through a processor made from `yaml`; the span that came out, if any.
async fn one_span(yaml: &str, s: Span) -> Option<Span> {
    let (p, sink, _) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.consume(traces(vec![s])).await.unwrap();
    let out = out_spans(&sink.requests());
    assert!(out.len() <= 1);
    out.into_iter().next()
}

// ---- the legacy hash, written out independently -----------------------------------------

fn reference_fnv1a32(data: &[u8]) -> u32 {
    let mut hash: u32 = 2166136261;
    for b in data {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(16777619);
    }
    hash
}

fn reference_hash_sampled(seed: u32, trace_id: &[u8], pct: f32) -> bool {
    let mut input = vec![
        (seed & 0xff) as u8,
        ((seed >> 8) & 0xff) as u8,
        ((seed >> 16) & 0xff) as u8,
        (seed >> 24) as u8,
    ];
    input.extend_from_slice(trace_id);
    let bucket = reference_fnv1a32(&input) & 0x3fff;
    let rate = (pct * 163.84f32) as u32;
    bucket < rate
}

#[test]
fn reference_fnv_matches_the_published_fnv1a_vectors() {
    // From the FNV reference test suite (isthe.com/chongo/tech/comp/fnv).
    assert_eq!(reference_fnv1a32(b""), 0x811c9dc5);
    assert_eq!(reference_fnv1a32(b"a"), 0xe40c292c);
    assert_eq!(reference_fnv1a32(b"foobar"), 0xbf9cf968);
}

/// A sample of Go's TestHashingFunction: (seed, trace id, sampled at 50%).
const GO_HASH_50PCT: &[(u32, &str, bool)] = &[
    (653, "474a03c76d75951a4b4c537ced8f1122", true),
    (563, "53a518291e91307e43cd8467bb06f986", true),
    (142, "a56a02f843b9bc6ee0b13889249e90e6", true),
    (904, "4e40762d3ee97a1c0932e4fa584f89a8", false),
    (445, "5224507db93db513f0ea2a4b4e0578c8", true),
    (38, "0c8717ced36216037af657e9d7f8b35b", true),
    (561, "2a8aa76c18d08e1e8be935541f9318c7", false),
    (757, "9e3d0f9481dc422cb613ea550897ae71", false),
    (22, "66a66c516ac22054673e5da5e6492545", false),
    (172, "84a1ce7bcea3e66194e72b4aa2694e31", true),
    (552, "a811a7def34ca4b98d8e320afd115fad", false),
    (546, "e3a345cc8dbb6f014bfa1edad3981820", true),
    (315, "a71effb50e28d27cbdc9892f3765b8c2", false),
    (790, "7629ecbea89398bfd9752a2f51c2c137", true),
    (555, "de6cdfb44d69e211f886c57120d7bda0", true),
    (666, "3ee60b013303bcfda06be89071b90bd1", true),
    (305, "c90c7cf3471bbc3a804a8a831633705b", true),
    (35, "855f493c5b5b1e2fcbc9993f8061eac8", false),
    (561, "0a0af00f63e098a39883705a423b0aa8", true),
    (667, "0c38553d71f54dfc37155c22cc8bf243", false),
    (92, "eb60d98b8f8fe22d8970f44f0e2b6bad", true),
    (70, "19c386ee7a9f2d56ff9ab2e6374540af", false),
    (936, "62dda24e4be24f5198e4d8dd4010c811", true),
    (835, "6c77db08bbded7bdd5c99c6e2fea41d2", false),
    (6, "d6a68b47c66d1f94eed46b8ddc72faf4", false),
    (16, "2533c732bed8c1ba4721c25a1205f06c", false),
    (99, "497f02db51c898ac441aae18a8b7ced9", false),
    (773, "988481445600bb91bbe23e3103034bcd", true),
    (928, "f1813835ac0f456721ef3aac39c0269a", true),
    (460, "60c3b9a2dde734d71ba5cca7eb164bce", true),
];

#[tokio::test]
async fn hash_seed_decisions_match_go_for_its_published_seeds_and_trace_ids() {
    for &(seed, id, want) in GO_HASH_50PCT {
        assert_eq!(
            reference_hash_sampled(seed, &tid(id), 50.0),
            want,
            "reference algorithm vs Go for seed {seed} id {id}"
        );
        let yaml = format!("sampling_percentage: 50\nhash_seed: {seed}\n");
        let got = one_span(&yaml, span(tid(id), "", vec![])).await.is_some();
        assert_eq!(got, want, "seed {seed} id {id}");
    }
}

#[tokio::test]
async fn hash_seed_decisions_match_the_reference_algorithm_for_many_ids_and_rates() {
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (seed, pct) in [
        (0u32, 10.0f32),
        (1, 15.3),
        (22, 33.333),
        (4_000_000_000, 99.9),
        (7, 0.01),
    ] {
        let yaml = format!("sampling_percentage: {pct}\nhash_seed: {seed}\n");
        let (p, sink, _) = create(&Factory, &yaml, Signal::Traces).unwrap();
        let mut spans = Vec::new();
        for _ in 0..500 {
            let mut id = next().to_be_bytes().to_vec();
            id.extend_from_slice(&next().to_be_bytes());
            spans.push(span(id, "", vec![]));
        }
        let want: Vec<Vec<u8>> = spans
            .iter()
            .filter(|s| reference_hash_sampled(seed, &s.trace_id, pct))
            .map(|s| s.trace_id.clone())
            .collect();
        p.consume(traces(spans)).await.unwrap();
        let got: Vec<Vec<u8>> = out_spans(&sink.requests())
            .into_iter()
            .map(|s| s.trace_id)
            .collect();
        assert_eq!(got, want, "seed {seed} pct {pct}");
    }
}

#[tokio::test]
async fn hash_seed_writes_go_s_threshold_and_a_consistent_rv() {
    // Go's Test_tracesamplerprocessor_HashSeedTraceState.
    for (pct, tv) in [
        ("100", "0"),
        ("75", "4"),
        ("50", "8"),
        ("25", "c"),
        ("10", "e668"),
        ("33.333333", "aaac"),
    ] {
        let yaml = format!("sampling_percentage: {pct}\nhash_seed: 4711\nmode: hash_seed\n");
        let (p, sink, _) = create(&Factory, &yaml, Signal::Traces).unwrap();
        let spans: Vec<Span> = (0..200u32)
            .map(|i| {
                let mut id = vec![0xab; 12];
                id.extend_from_slice(&i.to_be_bytes());
                span(id, "", vec![])
            })
            .collect();
        p.consume(traces(spans)).await.unwrap();
        let out = out_spans(&sink.requests());
        assert!(out.len() >= 10, "{pct}%: only {} sampled", out.len());
        for s in out {
            let ts = W3cTraceState::parse(&s.trace_state).unwrap();
            let (text, th) = ts.otel.tvalue.clone().expect("th written");
            assert_eq!(text, tv, "{pct}%");
            let rnd = ts.otel.randomness().expect("rv written");
            assert!(th.should_sample(rnd));
            assert!(s.trace_state.starts_with("ot=rv:"), "{}", s.trace_state);
        }
    }
}

/// Go's Test_tracesamplerprocessor_TraceState, for both consistent modes:
/// (name, trace id, config, arriving tracestate, priority, equalizing result, proportional
/// result) where a result is the tracestate of the kept span or None if dropped.
#[allow(clippy::type_complexity)]
const TRACE_STATE_CASES: &[(
    &str,
    &str,
    &str,
    &str,
    Option<i64>,
    Option<&str>,
    Option<&str>,
)] = &[
    (
        "100 percent",
        "",
        "sampling_percentage: 100\nsampling_precision: 14",
        "",
        None,
        Some("ot=th:0"),
        Some("ot=th:0"),
    ),
    (
        "50 percent sampled",
        "",
        "sampling_percentage: 50\nsampling_precision: 14",
        "",
        None,
        Some("ot=th:8"),
        Some("ot=th:8"),
    ),
    (
        "25 percent sampled",
        "ddddddddddddddddddc0000000000000",
        "sampling_percentage: 25\nsampling_precision: 14",
        "",
        None,
        Some("ot=th:c"),
        Some("ot=th:c"),
    ),
    (
        "25 percent unsampled",
        "ddddddddddddddddddb0000000000000",
        "sampling_percentage: 25\nsampling_precision: 14",
        "",
        None,
        None,
        None,
    ),
    (
        "1 percent sampled precision 4",
        "",
        "sampling_percentage: 1\nsampling_precision: 4",
        "ot=rv:FD70A3D70A3D71",
        None,
        Some("ot=rv:FD70A3D70A3D71;th:fd70a"),
        Some("ot=rv:FD70A3D70A3D71;th:fd70a"),
    ),
    (
        "1 percent precision 3",
        "",
        "sampling_percentage: 1\nsampling_precision: 3",
        "ot=rv:FD70A3D70A3D71",
        None,
        None,
        None,
    ),
    (
        "1 percent not sampled with rvalue",
        "",
        "sampling_percentage: 1\nsampling_precision: 14",
        "ot=rv:FD70A3D70A3D70",
        None,
        None,
        None,
    ),
    (
        "49 percent not sampled",
        "",
        "sampling_percentage: 49\nsampling_precision: 14",
        "",
        None,
        None,
        None,
    ),
    (
        "1 percent sampled with rvalue",
        "",
        "sampling_percentage: 1\nsampling_precision: 14",
        "ot=rv:fd70B000000000",
        None,
        Some("ot=rv:fd70B000000000;th:fd70a3d70a3d71"),
        Some("ot=rv:fd70B000000000;th:fd70a3d70a3d71"),
    ),
    (
        "1 percent sampled with tid",
        "a0a0a0a0a0a0a0a0a0fe000000000000",
        "sampling_percentage: 1\nsampling_precision: 4",
        "",
        None,
        Some("ot=th:fd70a"),
        Some("ot=th:fd70a"),
    ),
    (
        "sampled by priority",
        "",
        "sampling_percentage: 1\nsampling_precision: 14",
        "",
        Some(2),
        Some("ot=th:0"),
        Some("ot=th:0"),
    ),
    (
        "not sampled by priority",
        "",
        "sampling_percentage: 99\nsampling_precision: 14",
        "",
        Some(0),
        None,
        None,
    ),
    (
        "incoming 50 percent with rvalue",
        "",
        "sampling_percentage: 50\nsampling_precision: 14",
        "ot=rv:90000000000000;th:80000000000000",
        None,
        Some("ot=rv:90000000000000;th:8"),
        None,
    ),
    (
        "incoming 50 percent at 25 percent not sampled",
        "",
        "sampling_percentage: 25\nsampling_precision: 14",
        "ot=th:8",
        None,
        None,
        None,
    ),
    (
        "incoming 50 percent at 25 percent sampled",
        "ffffffffffffffffffffffffffffffff",
        "sampling_percentage: 25\nsampling_precision: 14",
        "ot=th:8",
        None,
        Some("ot=th:c"),
        Some("ot=th:e"),
    ),
    (
        "equalizing vs proportional",
        "",
        "sampling_percentage: 50\nsampling_precision: 14",
        "ot=rv:c0000000000000;th:8",
        None,
        Some("ot=rv:c0000000000000;th:8"),
        Some("ot=rv:c0000000000000;th:c"),
    ),
    (
        "inconsistent arriving threshold",
        "",
        "sampling_percentage: 100\nfail_closed: false\nsampling_precision: 14",
        "ot=rv:40000000000000;th:8",
        None,
        Some("ot=rv:40000000000000;th:0"),
        Some("ot=rv:40000000000000;th:0"),
    ),
    (
        "inconsistent arriving threshold not sampled",
        "",
        "sampling_percentage: 1\nfail_closed: true\nsampling_precision: 14",
        "ot=rv:40000000000000;th:8",
        None,
        None,
        None,
    ),
    (
        "40 percent precision 3 with rvalue",
        "",
        "sampling_percentage: 40\nsampling_precision: 3",
        "ot=rv:a0000000000000",
        None,
        Some("ot=rv:a0000000000000;th:99a"),
        Some("ot=rv:a0000000000000;th:99a"),
    ),
    (
        "arriving 50 percent sampled at 40 percent precision 6",
        "a0a0a0a0a0a0a0a0a0d0000000000000",
        "sampling_percentage: 40\nsampling_precision: 6",
        "ot=th:8",
        None,
        Some("ot=th:99999a"),
        Some("ot=th:cccccd"),
    ),
    (
        "arriving 50 percent at 40 percent partly sampled",
        "a0a0a0a0a0a0a0a0a0b0000000000000",
        "sampling_percentage: 40\nsampling_precision: 3",
        "ot=th:8",
        None,
        Some("ot=th:99a"),
        None,
    ),
    (
        "arriving 50 percent at 40 percent not sampled",
        "a0a0a0a0a0a0a0a0a080000000000000",
        "sampling_percentage: 40\nsampling_precision: 3",
        "ot=th:8",
        None,
        None,
        None,
    ),
    (
        "200 percent equals 100 percent",
        "",
        "sampling_percentage: 200\nsampling_precision: 14",
        "",
        None,
        Some("ot=th:0"),
        Some("ot=th:0"),
    ),
    (
        "tiny probability rounding",
        "111111111111111111ffffffffffffff",
        "sampling_percentage: 0.006103515625\nsampling_precision: 14",
        "ot=th:fffc",
        None,
        Some("ot=th:fffc"),
        Some("ot=th:fffffff"),
    ),
    (
        "almost 100pct sampling",
        "111111111111111111ffffffffffffff",
        "sampling_percentage: 99.99992\nsampling_precision: 10",
        "",
        None,
        Some("ot=th:00000cccccccd"),
        Some("ot=th:00000cccccccd"),
    ),
    (
        "probability underflow",
        "111111111111111111ffffffffffffff",
        "sampling_percentage: 0.0625\nsampling_precision: 14",
        "ot=th:fffffffffffff8",
        None,
        Some("ot=th:fffffffffffff8"),
        None,
    ),
];

#[tokio::test]
async fn consistent_modes_decide_and_write_tracestate_as_go() {
    for &(name, id, cfg, ts, priority, eq, prop) in TRACE_STATE_CASES {
        let id = if id.is_empty() {
            "fefefefefefefefefe80000000000000"
        } else {
            id
        };
        for (mode, want) in [("equalizing", eq), ("proportional", prop)] {
            let attrs = priority
                .map(|p| vec![kv("sampling.priority", Value::IntValue(p))])
                .unwrap_or_default();
            let yaml = format!("{cfg}\nmode: {mode}\n");
            let got = one_span(&yaml, span(tid(id), ts, attrs)).await;
            assert_eq!(
                got.map(|s| s.trace_state),
                want.map(String::from),
                "{mode} {name}"
            );
        }
    }
}

#[tokio::test]
async fn unusable_items_are_dropped_when_failing_closed() {
    // Go's Test_tracesamplerprocessor_TraceStateErrors (fail_closed is the default).
    let default = "fefefefefefefefefe80000000000000";
    let cases = [
        ("missing randomness", "00000000000000000000000000000000", ""),
        ("invalid r-value", default, "ot=rv:abababababababab"),
        ("invalid t-value", default, "ot=th:abababababababab"),
        ("t-value syntax", default, "ot=th:-1"),
        (
            "inconsistent t-value trace id",
            "ffffffffffffffffff70000000000000",
            "ot=th:8",
        ),
        (
            "inconsistent t-value r-value",
            default,
            "ot=th:8;rv:70000000000000",
        ),
    ];
    for (name, id, ts) in cases {
        for mode in ["equalizing", "proportional"] {
            let yaml = format!("sampling_percentage: 100\nmode: {mode}\n");
            assert!(
                one_span(&yaml, span(tid(id), ts, vec![])).await.is_none(),
                "{mode} {name}"
            );
            // Failing open, the same span passes.
            let yaml = format!("sampling_percentage: 100\nmode: {mode}\nfail_closed: false\n");
            assert!(
                one_span(&yaml, span(tid(id), ts, vec![])).await.is_some(),
                "{mode} {name} (fail open)"
            );
        }
    }
    // hash_seed leaves a tracestate that already carries consistent-sampling values alone,
    // and refuses the item when failing closed.
    let yaml = "sampling_percentage: 100\nhash_seed: 1\n";
    assert!(
        one_span(yaml, span(tid(default), "ot=th:0", vec![]))
            .await
            .is_none()
    );
    let yaml = "sampling_percentage: 100\nhash_seed: 1\nfail_closed: false\n";
    let kept = one_span(yaml, span(tid(default), "ot=th:0,vendor=x", vec![]))
        .await
        .unwrap();
    assert_eq!(kept.trace_state, "ot=th:0,vendor=x");
}

#[tokio::test]
async fn sampling_priority_forces_the_decision_in_every_mode() {
    // Go's Test_tracesamplerprocessor_SpanSamplingPriority: the trace id's W3C randomness is
    // zero, so only 100% would sample it without the priority.
    let id = tid("01000000000000000000000000000000");
    let cases = [
        (Value::IntValue(2), 0.0, true),
        (Value::DoubleValue(1.0), 0.0, true),
        (Value::StringValue("1".into()), 0.0, true),
        (Value::IntValue(0), 100.0, false),
        (Value::DoubleValue(0.0), 100.0, false),
        (Value::StringValue("0".into()), 100.0, false),
    ];
    for mode in ["hash_seed", "equalizing", "proportional"] {
        for (v, pct, want) in &cases {
            let yaml = format!("sampling_percentage: {pct}\nmode: {mode}\nhash_seed: 4711\n");
            let s = span(id.clone(), "", vec![kv("sampling.priority", v.clone())]);
            assert_eq!(one_span(&yaml, s).await.is_some(), *want, "{mode} {v:?}");
        }
        // Another attribute defers to the sampler.
        let yaml = format!("sampling_percentage: 100\nmode: {mode}\n");
        let s = span(
            id.clone(),
            "",
            vec![kv("no.sampling.priority", Value::IntValue(2))],
        );
        assert!(one_span(&yaml, s).await.is_some());
    }
}

#[test]
fn span_priority_parses_as_go() {
    use super::sampler::{SpanPriority::*, span_priority};
    let cases = [
        (Value::IntValue(0), DoNotSample),
        (Value::IntValue(1), MustSample),
        (Value::IntValue(-1), Defer),
        (Value::DoubleValue(0.0), DoNotSample),
        (Value::DoubleValue(1.0), MustSample),
        (Value::DoubleValue(-1.0), Defer),
        (Value::StringValue("0.0".into()), DoNotSample),
        (Value::StringValue("0.5".into()), MustSample),
        (Value::StringValue("-0.5".into()), Defer),
        (Value::StringValue("NaN".into()), Defer),
        (Value::BoolValue(true), Defer),
    ];
    for (v, want) in cases {
        assert_eq!(
            span_priority(&[kv("sampling.priority", v.clone())]),
            want,
            "{v:?}"
        );
    }
    assert_eq!(span_priority(&[]), Defer);
}

#[test]
fn thresholds_encode_and_round_as_pkg_sampling() {
    let p = |prob: f64, prec: u32| {
        Threshold::from_probability_with_precision(prob, prec)
            .unwrap()
            .tvalue()
    };
    assert_eq!(p(0.5, 4), "8");
    assert_eq!(p(0.25, 4), "c");
    assert_eq!(p(1.0, 4), "0");
    assert_eq!(p(0.01, 4), "fd70a");
    assert_eq!(p(0.01, 3), "fd71");
    assert_eq!(p(0.01, 0), "fd70a3d70a3d71");
    assert_eq!(p(0.4, 3), "99a");
    assert_eq!(Threshold::from_tvalue("8").unwrap().0, 0x80000000000000);
    assert_eq!(
        Threshold::from_tvalue("abababababababab").unwrap_err().0,
        "t-value exceeds 14 hex digits"
    );
    assert_eq!(
        Randomness::from_rvalue("abab").unwrap_err().0,
        "r-value must have 14 hex digits"
    );
    assert_eq!(
        Randomness::from_trace_id(&tid("fefefefefefefefefe80000000000000")).0,
        0x80000000000000
    );
}

#[test]
fn tracestate_keeps_other_vendors_and_puts_ot_first() {
    let mut ts = W3cTraceState::parse("congo=t61rcWkgMzE, ot=rv:90000000000000;th:8;x:y").unwrap();
    assert_eq!(ts.otel.threshold(), Some(Threshold(0x80000000000000)));
    ts.otel
        .update_threshold(Threshold(0xc0000000000000))
        .unwrap();
    assert_eq!(
        ts.serialize(),
        "ot=rv:90000000000000;th:c;x:y,congo=t61rcWkgMzE"
    );
    // A threshold may not fall (probability may not rise).
    assert!(ts.otel.update_threshold(Threshold(0)).is_err());
    assert_eq!(
        W3cTraceState::parse("Bad=1").unwrap_err().0,
        "invalid syntax"
    );
    assert!(W3cTraceState::parse("ot=th:8;").is_err());
}

// ---- logs ---------------------------------------------------------------------------------

fn record(trace_id: Vec<u8>, attrs: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        trace_id,
        attributes: attrs,
        ..Default::default()
    }
}

fn str_attr(rec: &LogRecord, k: &str) -> Option<String> {
    rec.attributes.iter().find(|kv| kv.key == k).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        }
    })
}

#[tokio::test]
async fn logs_sample_by_trace_id_hash_like_spans() {
    for &(seed, id, want) in GO_HASH_50PCT.iter().take(10) {
        let yaml = format!("sampling_percentage: 50\nhash_seed: {seed}\n");
        let (p, sink, tel) = create(&Factory, &yaml, Signal::Logs).unwrap();
        p.consume(logs(vec![record(tid(id), vec![])]))
            .await
            .unwrap();
        let out = out_logs(&sink.requests());
        assert_eq!(out.len() == 1, want, "seed {seed} id {id}");
        if want {
            assert_eq!(
                str_attr(&out[0], "sampling.threshold").as_deref(),
                Some("8")
            );
            assert_eq!(
                str_attr(&out[0], "sampling.randomness").map(|s| s.len()),
                Some(14)
            );
        }
        let counted = tel.value(
            "otelcol_processor_probabilistic_sampler_count_logs_sampled",
            &[
                ("policy", "trace_id_hash"),
                ("sampled", if want { "true" } else { "false" }),
            ],
        );
        assert_eq!(counted, Some(1.0));
    }
}

#[tokio::test]
async fn logs_from_attribute_hashes_the_record_attribute() {
    let yaml =
        "sampling_percentage: 50\nhash_seed: 22\nattribute_source: record\nfrom_attribute: logID\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Logs).unwrap();
    let ids: Vec<String> = (0..100).map(|i| format!("log-{i}")).collect();
    let records = ids
        .iter()
        .map(|id| {
            // A trace id is ignored with attribute_source: record.
            record(
                tid("ffffffffffffffffffffffffffffffff"),
                vec![kv("logID", Value::StringValue(id.clone()))],
            )
        })
        .collect();
    p.consume(logs(records)).await.unwrap();
    let want: Vec<&String> = ids
        .iter()
        .filter(|id| reference_hash_sampled(22, id.as_bytes(), 50.0))
        .collect();
    let got: Vec<String> = out_logs(&sink.requests())
        .iter()
        .map(|r| str_attr(r, "logID").unwrap())
        .collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    assert!(!want.is_empty() && want.len() < 100);
    let kept = tel
        .value(
            "otelcol_processor_probabilistic_sampler_count_logs_sampled",
            &[("policy", "logID"), ("sampled", "true")],
        )
        .unwrap();
    assert_eq!(kept as usize, want.len());
    // Records without the attribute have no randomness: dropped (fail_closed).
    let (p, sink, tel) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs(vec![record(vec![], vec![])])).await.unwrap();
    assert!(sink.requests().is_empty());
    assert_eq!(
        tel.value(
            "otelcol_processor_probabilistic_sampler_count_logs_sampled",
            &[("policy", "missing_randomness"), ("sampled", "false")],
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn logs_sampling_priority_sets_the_record_s_own_percentage() {
    let yaml = "sampling_percentage: 0.0001\nmode: proportional\nsampling_priority: priority\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Logs).unwrap();
    // Randomness 0x80000000000000: kept at 50%, not at 49%, not at 0.0001%.
    let id = tid("fefefefefefefefefe80000000000000");
    p.consume(logs(vec![
        record(id.clone(), vec![kv("priority", Value::IntValue(100))]),
        record(id.clone(), vec![kv("priority", Value::DoubleValue(50.0))]),
        record(id.clone(), vec![kv("priority", Value::DoubleValue(49.0))]),
        record(id.clone(), vec![]),
    ]))
    .await
    .unwrap();
    let out = out_logs(&sink.requests());
    let th: Vec<Option<String>> = out
        .iter()
        .map(|r| str_attr(r, "sampling.threshold"))
        .collect();
    assert_eq!(th, vec![Some("0".to_string()), Some("8".to_string())]);
}

#[tokio::test]
async fn consistent_logs_use_the_trace_id_and_refuse_records_without_one() {
    let yaml = "sampling_percentage: 50\nmode: equalizing\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs(vec![
        record(tid("fefefefefefefefefe80000000000000"), vec![]),
        record(tid("fefefefefefefefefe70000000000000"), vec![]),
        record(vec![], vec![]),
    ]))
    .await
    .unwrap();
    let out = out_logs(&sink.requests());
    assert_eq!(out.len(), 1);
    assert_eq!(
        str_attr(&out[0], "sampling.threshold").as_deref(),
        Some("8")
    );
}

// ---- metrics and config -------------------------------------------------------------------

#[tokio::test]
async fn span_decisions_are_counted_by_policy_and_sampled() {
    let (p, sink, tel) = create(
        &Factory,
        "sampling_percentage: 50\nmode: equalizing\n",
        Signal::Traces,
    )
    .unwrap();
    p.consume(traces(vec![
        span(tid("fefefefefefefefefe80000000000000"), "", vec![]),
        span(tid("fefefefefefefefefe70000000000000"), "", vec![]),
        span(
            tid("fefefefefefefefefe70000000000000"),
            "",
            vec![kv("sampling.priority", Value::IntValue(1))],
        ),
    ]))
    .await
    .unwrap();
    assert_eq!(out_spans(&sink.requests()).len(), 2);
    for name in [
        "otelcol_processor_probabilistic_sampler_count_traces_sampled",
        "otelcol_processor_probabilistic_sampler_count_spans_processed_total",
    ] {
        let v = |policy, sampled| tel.value(name, &[("policy", policy), ("sampled", sampled)]);
        assert_eq!(v("trace_id_w3c", "true"), Some(1.0), "{name}");
        assert_eq!(v("trace_id_w3c", "false"), Some(1.0), "{name}");
        assert_eq!(v("sampling_priority", "true"), Some(1.0), "{name}");
    }
    assert_eq!(
        tel.value(
            "otelcol_processor_incoming_items",
            &[("processor", "probabilistic_sampler")]
        ),
        Some(3.0)
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_outgoing_items",
            &[("processor", "probabilistic_sampler")]
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn zero_percent_drops_everything_and_sends_nothing() {
    let (p, sink, _) = create(&Factory, "sampling_percentage: 0\n", Signal::Traces).unwrap();
    p.consume(traces(vec![span(
        tid("ffffffffffffffffffffffffffffffff"),
        "",
        vec![],
    )]))
    .await
    .unwrap();
    assert!(sink.batches().is_empty());
}

#[test]
fn config_defaults_and_errors_are_go_s() {
    let cfg = parse(&Factory, "processors::probabilistic_sampler", "{}").unwrap();
    let cfg: &super::Config = runtime::factory::typed(&cfg);
    assert!(cfg.fail_closed);
    assert_eq!(cfg.sampling_precision, 4);
    assert_eq!(cfg.attribute_source, "traceID");
    let err = |yaml: &str| parse(&Factory, "processors::probabilistic_sampler", yaml).unwrap_err();
    assert_eq!(
        err("sampling_percentage: -15"),
        "processors::probabilistic_sampler: sampling rate is negative: -15.000000%"
    );
    assert_eq!(
        err("sampling_percentage: 1e-15"),
        "processors::probabilistic_sampler: sampling rate is too small: 1e-15%"
    );
    assert_eq!(
        err("sampling_percentage: .inf"),
        "processors::probabilistic_sampler: sampling rate is invalid: +Inf%"
    );
    assert_eq!(
        err("sampling_precision: 15"),
        "processors::probabilistic_sampler: sampling precision is too great, should be <= 14: 15"
    );
    assert_eq!(
        err("sampling_precision: 0"),
        "processors::probabilistic_sampler: invalid sampling precision: 0"
    );
    assert_eq!(
        err("attribute_source: body"),
        "processors::probabilistic_sampler: invalid attribute source: body. Expected: traceID or record"
    );
    assert_eq!(
        err("mode: fast"),
        "processors::probabilistic_sampler::mode: unsupported sampler mode \"fast\""
    );
}

// ---- Go's logsprocessor_test.go -----------------------------------------------------------

/// TestLogsSampling's 100 records: trace id `0×8 ‖ i×8`, `rando` = the seeded hash of it
/// (an int), `foo` (bytes) and `bar` (hex string) on even records, `priority` 100 on every
/// fourth.
fn go_log_records() -> Vec<LogRecord> {
    (0..100u8)
        .map(|i| {
            let mut id = vec![0u8; 8];
            id.extend_from_slice(&[i; 8]);
            let mut seeded = 123u32.to_le_bytes().to_vec();
            seeded.extend_from_slice(&id);
            let mut attrs = vec![kv(
                "rando",
                Value::IntValue(reference_fnv1a32(&seeded) as i64),
            )];
            if i % 2 == 0 {
                attrs.push(kv("foo", Value::BytesValue(id.clone())));
                // pcommon's TraceID.String() is "" for the all-zero id.
                let hex: String = if i == 0 {
                    String::new()
                } else {
                    id.iter().map(|b| format!("{b:02x}")).collect()
                };
                attrs.push(kv("bar", Value::StringValue(hex)));
            }
            if i % 4 == 0 {
                attrs.push(kv("priority", Value::DoubleValue(100.0)));
            }
            record(id, attrs)
        })
        .collect()
}

#[tokio::test]
async fn logs_sampling_counts_match_go_s_test_logs_sampling() {
    // Go builds these configs without the factory's defaults: fail_closed false, precision 0
    // (full, 14 here), attribute_source empty unless set.
    let base = "fail_closed: false\nsampling_precision: 14\nattribute_source: ''\n";
    let cases = [
        ("happy_path", "sampling_percentage: 100", 100),
        ("nothing", "sampling_percentage: 0\nfail_closed: true", 0),
        (
            "roughly half",
            "sampling_percentage: 50\nattribute_source: traceID\nmode: hash_seed\nfail_closed: true",
            45,
        ),
        (
            "sampling_source no sampling",
            "sampling_percentage: 0\nattribute_source: record\nfrom_attribute: foo",
            0,
        ),
        (
            "sampling_source all sampling",
            "sampling_percentage: 100\nattribute_source: record\nfrom_attribute: foo",
            100,
        ),
        (
            "sampling_source sampling",
            "sampling_percentage: 50\nattribute_source: record\nfrom_attribute: foo\nfail_closed: true",
            23,
        ),
        (
            "sampling_source sampling as string",
            "sampling_percentage: 50\nattribute_source: record\nfrom_attribute: bar\nfail_closed: true",
            29,
        ),
        (
            "sampling_priority_0_record",
            "sampling_percentage: 0\nsampling_priority: priority\nattribute_source: record\nfrom_attribute: rando",
            25,
        ),
        (
            "sampling_priority_50_record",
            "sampling_percentage: 50\nsampling_priority: priority\nattribute_source: record\nfrom_attribute: rando",
            64,
        ),
        (
            "sampling_priority_100_record",
            "sampling_percentage: 100\nsampling_priority: priority\nattribute_source: record\nfrom_attribute: rando",
            100,
        ),
        (
            "sampling_priority_0_traceid",
            "sampling_percentage: 0\nsampling_priority: priority\nattribute_source: traceID",
            25,
        ),
        (
            "sampling_priority_50_traceid",
            "sampling_percentage: 50\nsampling_priority: priority\nattribute_source: traceID",
            57,
        ),
        (
            "sampling_priority_100_traceid",
            "sampling_percentage: 100\nsampling_priority: priority\nattribute_source: traceID",
            100,
        ),
        (
            "sampling_priority with sampling field",
            "sampling_percentage: 0\nattribute_source: record\nfrom_attribute: foo\nsampling_priority: priority",
            25,
        ),
    ];
    for (name, cfg, want) in cases {
        // Later keys win: the case's settings over the zero-struct base.
        let mut yaml = String::new();
        for line in base.lines() {
            let key = line.split(':').next().unwrap();
            if !cfg.lines().any(|l| l.starts_with(&format!("{key}:"))) {
                yaml.push_str(line);
                yaml.push('\n');
            }
        }
        yaml.push_str(cfg);
        let (p, sink, _) = create(&Factory, &yaml, Signal::Logs).unwrap();
        p.consume(logs(go_log_records())).await.unwrap();
        assert_eq!(out_logs(&sink.requests()).len(), want, "{name}");
    }
}

/// `randomnessFromBytes` written out: the 14-bit bucket, mirrored into the top 14 bits, the
/// 18 unused hash bits mixed into the middle 28, the bucket again at the bottom.
fn reference_hash_rvalue(seed: u32, bytes: &[u8]) -> String {
    let mut input = seed.to_le_bytes().to_vec();
    input.extend_from_slice(bytes);
    let h = reference_fnv1a32(&input) as u64;
    let bucket = h & 0x3fff;
    let unused = h >> 14;
    let mixed = unused ^ (unused << 10);
    format!(
        "{:014x}",
        ((0x3fff - bucket) << 42) | (mixed << 14) | bucket
    )
}

#[tokio::test]
async fn logs_sampling_state_matches_go_s_test_logs_sampling_state() {
    let default = tid("fefefefefefefefefe80000000000000");
    let base = "fail_closed: false\nsampling_precision: 14\n";
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &str,
        &str,
        Vec<u8>,
        Vec<KeyValue>,
        Option<Vec<(&str, Value)>>,
    )> = vec![
        (
            "100 percent traceID",
            "sampling_percentage: 100\nattribute_source: traceID\nmode: proportional",
            default.clone(),
            vec![s("ignored", "value")],
            Some(vec![
                ("ignored", sv("value")),
                ("sampling.threshold", sv("0")),
            ]),
        ),
        (
            "100 percent traceID hash_seed",
            "sampling_percentage: 100\nattribute_source: traceID\nmode: hash_seed\nhash_seed: 22",
            default.clone(),
            vec![s("K", "V")],
            Some(vec![
                ("K", sv("V")),
                (
                    "sampling.randomness",
                    sv(&reference_hash_rvalue(22, &default)),
                ),
                ("sampling.threshold", sv("0")),
            ]),
        ),
        (
            "100 percent attribute",
            "sampling_percentage: 100\nattribute_source: record\nfrom_attribute: veryrandom\nhash_seed: 49",
            vec![],
            vec![s("veryrandom", "1234")],
            Some(vec![
                ("veryrandom", sv("1234")),
                (
                    "sampling.randomness",
                    sv(&reference_hash_rvalue(49, b"1234")),
                ),
                ("sampling.threshold", sv("0")),
            ]),
        ),
        (
            "0 percent traceID",
            "sampling_percentage: 0\nattribute_source: traceID",
            default.clone(),
            vec![],
            None,
        ),
        (
            "10 percent priority sampled incoming randomness",
            "sampling_percentage: 0\nattribute_source: traceID\nsampling_priority: veryrandom\nsampling_precision: 6",
            default.clone(),
            vec![
                s("sampling.randomness", "e6147c00000000"),
                kv("veryrandom", Value::DoubleValue(10.125)),
            ],
            Some(vec![
                ("sampling.randomness", sv("e6147c00000000")),
                ("veryrandom", Value::DoubleValue(10.125)),
                ("sampling.threshold", sv("e6147b")),
            ]),
        ),
        (
            "25 percent incoming",
            "sampling_percentage: 50\nattribute_source: traceID\nmode: proportional",
            tid("fefefefefefefefefef0000000000000"),
            vec![s("sampling.threshold", "c")],
            Some(vec![("sampling.threshold", sv("e"))]),
        ),
        (
            "25 percent arriving inconsistent",
            "sampling_percentage: 50\nattribute_source: traceID\nmode: equalizing\nfail_closed: true",
            tid("fefefefefefefefefeb0000000000000"),
            vec![s("sampling.threshold", "c")],
            None,
        ),
        (
            "25 percent arriving equalizing",
            "sampling_percentage: 50\nattribute_source: traceID\nmode: equalizing\nsampling_priority: prio",
            tid("fefefefefefefefefefefefefefefefe"),
            vec![
                s("sampling.threshold", "c"),
                kv("prio", Value::IntValue(37)),
            ],
            Some(vec![
                ("sampling.threshold", sv("c")),
                ("prio", Value::IntValue(37)),
            ]),
        ),
        (
            "hash_seed with spec randomness",
            "sampling_percentage: 100\nattribute_source: traceID\nmode: hash_seed",
            default.clone(),
            vec![s("sampling.randomness", "f2341234123412")],
            Some(vec![("sampling.randomness", sv("f2341234123412"))]),
        ),
    ];
    for (name, cfg, id, attrs, want) in cases {
        let mut yaml = String::new();
        for line in base.lines() {
            let key = line.split(':').next().unwrap();
            if !cfg.lines().any(|l| l.starts_with(&format!("{key}:"))) {
                yaml.push_str(line);
                yaml.push('\n');
            }
        }
        yaml.push_str(cfg);
        let (p, sink, _) = create(&Factory, &yaml, Signal::Logs).unwrap();
        p.consume(logs(vec![record(id, attrs)])).await.unwrap();
        let out = out_logs(&sink.requests());
        match want {
            None => assert!(out.is_empty(), "{name}: sampled"),
            Some(mut want) => {
                assert_eq!(out.len(), 1, "{name}: not sampled");
                let mut got: Vec<(String, Value)> = out[0]
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.clone(), kv.value.clone().unwrap().value.unwrap()))
                    .collect();
                got.sort_by(|a, b| a.0.cmp(&b.0));
                want.sort_by(|a, b| a.0.cmp(b.0));
                let want: Vec<(String, Value)> =
                    want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                assert_eq!(got, want, "{name}");
            }
        }
    }
}

fn sv(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn s(k: &str, v: &str) -> KeyValue {
    kv(k, sv(v))
}

#[tokio::test]
async fn logs_missing_randomness_fails_open_or_closed_as_go() {
    // Go's TestLogsMissingRandomness: an empty trace id and an empty `unused` attribute.
    for mode in ["hash_seed", "equalizing", "proportional"] {
        for (pct, source, fail_closed, sampled) in [
            (0, "record", true, false),
            (50, "record", true, false),
            (100, "record", true, false),
            (0, "record", false, false),
            (50, "record", false, true),
            (100, "record", false, true),
            (0, "traceID", true, false),
            (50, "traceID", true, false),
            (100, "traceID", true, false),
            (0, "traceID", false, false),
            (50, "traceID", false, true),
            (100, "traceID", false, true),
        ] {
            let yaml = format!(
                "sampling_percentage: {pct}\nmode: {mode}\nhash_seed: 4711\nfail_closed: {fail_closed}\nattribute_source: {source}\nfrom_attribute: unused\n"
            );
            let (p, sink, _) = create(&Factory, &yaml, Signal::Logs).unwrap();
            p.consume(logs(vec![record(vec![0; 16], vec![s("unused", "")])]))
                .await
                .unwrap();
            assert_eq!(
                out_logs(&sink.requests()).len() == 1,
                sampled,
                "{mode} {pct}% {source} fail_closed={fail_closed}"
            );
        }
    }
}
