use super::*;
use crate::proto::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use crate::testdata::{self, Rng};
use prost::Message;

fn encoded(signal: Signal, resources: usize, per: usize, seed: u64) -> Vec<u8> {
    testdata::request(signal, resources, per, seed).encode_to_vec()
}

/// Asserts the walker and prost agree on `bytes`.
fn check_agrees(signal: Signal, bytes: &[u8]) -> bool {
    let ours = validate_and_count(signal, bytes);
    let theirs = Request::decode(signal, bytes);
    match (&ours, &theirs) {
        (Ok(n), Ok(req)) => {
            assert_eq!(
                *n,
                count_decoded(req),
                "count mismatch for {signal} {bytes:?}"
            );
            assert_eq!(count_encoded(signal, bytes).ok(), Some(*n));
            true
        }
        (Err(_), Err(_)) => false,
        _ => panic!(
            "{signal}: walker {ours:?} vs prost {:?} on {bytes:02x?}",
            theirs.map(|_| ())
        ),
    }
}

#[test]
fn counts_generated_requests() {
    for signal in Signal::ALL {
        for (r, p, seed) in [(0, 0, 1), (1, 1, 2), (3, 7, 3), (5, 40, 4)] {
            let req = testdata::request(signal, r, p, seed);
            let bytes = req.encode_to_vec();
            assert_eq!(
                validate_and_count(signal, &bytes).unwrap(),
                req.item_count()
            );
            assert_eq!(count_encoded(signal, &bytes).unwrap(), req.item_count());
        }
    }
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        if v.is_empty() {
            v.push(rng.next_u64() as u8);
            continue;
        }
        let i = rng.below(v.len() as u64) as usize;
        match rng.below(9) {
            0 => v[i] = rng.next_u64() as u8,
            1 => v[i] ^= 1 << rng.below(8),
            2 => v.truncate(i),
            3 => {
                v.remove(i);
            }
            4 => v.insert(i, rng.next_u64() as u8),
            5 => v[i] = rng.pick(&[0x00, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x1a, 0x22]),
            6 => {
                // Duplicate a slice (creates repeated/duplicated fields at random places).
                let j = i + rng.below((v.len() - i) as u64).min(40) as usize;
                let chunk = v[i..j].to_vec();
                let at = rng.below(v.len() as u64) as usize;
                v.splice(at..at, chunk);
            }
            7 => v[i] = v[i].wrapping_add(1),
            _ => v[i] = v[i].wrapping_sub(1),
        }
    }
    v
}

#[test]
fn fuzz_agrees_with_prost() {
    let mut rng = Rng::new(42);
    let mut accepted = 0;
    let mut total = 0;
    for signal in Signal::ALL {
        for seed in 0..6u64 {
            let base = encoded(signal, 1 + (seed as usize % 2), 2 + seed as usize % 3, seed);
            assert!(check_agrees(signal, &base));
            for _ in 0..1500 {
                let m = mutate(&mut rng, &base);
                total += 1;
                if check_agrees(signal, &m) {
                    accepted += 1;
                }
            }
        }
    }
    // Make sure the mutations exercise both outcomes.
    assert!(
        accepted > total / 20 && accepted < total * 19 / 20,
        "{accepted}/{total}"
    );
}

#[test]
fn fuzz_small_messages_agree_with_prost() {
    // Short random byte strings exercise keys, wire types and groups at the top levels.
    let mut rng = Rng::new(7);
    for signal in Signal::ALL {
        for _ in 0..20_000 {
            let len = rng.below(12) as usize;
            let mut v = rng.bytes(len);
            if !v.is_empty() && rng.bool() {
                v[0] = 0x0a; // field 1, LEN
            }
            check_agrees(signal, &v);
        }
    }
}

#[test]
fn handcrafted_edge_cases() {
    let cases: &[&[u8]] = &[
        &[],
        &[0x0a, 0x00], // empty ResourceSpans
        &[0x0a, 0x01], // truncated
        &[0x08, 0x01], // field 1 as varint: wrong wire type
        &[0x10, 0x01], // unknown varint field
        &[0x13, 0x14], // empty group 2
        &[0x13, 0x1c], // group end tag mismatch
        &[0x14],       // unexpected end group
        &[0x00],       // tag 0
        &[0x0e],       // wire type 6
        &[
            0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00,
        ], // 10-byte key
        &[0xff, 0xff, 0xff, 0xff, 0x7f], // key > 2^32? (0x7ffffffff)
        &[0x0a, 0x04, 0x1a, 0x02, 0xc3, 0x28], // schema_url invalid UTF-8
        &[0x0a, 0x04, 0x1a, 0x02, 0xc3, 0xa9], // schema_url valid UTF-8
        &[0x0a, 0x03, 0x12, 0x01, 0x00], // ScopeSpans with tag 0 inside
    ];
    for signal in Signal::ALL {
        for c in cases {
            check_agrees(signal, c);
        }
    }
}

/// Random `KeyValue` payloads built from the keys the attribute fast path recognises and
/// the ones it hands back to the generic walker (other wire types, unknown and multi-byte
/// keys, nested arrays and lists, truncation, invalid UTF-8), as span and resource
/// attributes: walker and prost must agree.
#[test]
fn fuzz_attributes_agree_with_prost() {
    fn any_value(rng: &mut Rng, depth: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for _ in 0..1 + rng.below(2) {
            match rng.below(12) {
                0 => put_len_field(&mut v, 1, b"text"),
                1 => put_len_field(&mut v, 1, &[0xff, 0xfe]),
                2 => v.extend_from_slice(&[0x10, 0x01]),
                3 => v.extend_from_slice(&[0x18, 0xff, 0xff, 0x03]),
                4 => {
                    v.push(0x21);
                    v.extend_from_slice(&rng.bytes(8));
                }
                5 => put_len_field(&mut v, 7, &rng.bytes(3)),
                6 => v.extend_from_slice(&[0x40, 0x05]),
                7 if depth > 0 => {
                    let mut arr = Vec::new();
                    put_len_field(&mut arr, 1, &any_value(rng, depth - 1));
                    put_len_field(&mut v, 5, &arr);
                }
                8 if depth > 0 => {
                    let mut list = Vec::new();
                    put_len_field(&mut list, 1, &key_value(rng, depth - 1));
                    put_len_field(&mut v, 6, &list);
                }
                9 => v.extend_from_slice(&[0x8a, 0x00, 0x01, b'x']), // tag 1 in a 2-byte key
                10 => v.extend_from_slice(&[0x0d, 1, 2, 3, 4]),      // tag 1 as FIXED32
                _ => v.extend_from_slice(&[0xa8, 0x01, 0x07]),       // unknown tag 21
            }
        }
        v
    }
    fn key_value(rng: &mut Rng, depth: u32) -> Vec<u8> {
        let mut kv = Vec::new();
        for _ in 0..1 + rng.below(3) {
            match rng.below(6) {
                0 | 1 => put_len_field(&mut kv, 1, b"key"),
                2 | 3 => put_len_field(&mut kv, 2, &any_value(rng, depth)),
                4 => kv.extend_from_slice(&[0x18, 0x02]),
                _ => kv.extend_from_slice(&[0x20, 0x01]), // unknown tag 4
            }
        }
        if rng.below(8) == 0 && !kv.is_empty() {
            let cut = rng.below(kv.len() as u64) as usize;
            kv.truncate(cut);
        }
        kv
    }
    let mut rng = Rng::new(11);
    let mut outcomes = [0usize; 2];
    for _ in 0..5_000 {
        let kv = key_value(&mut rng, 3);
        let mut span = Vec::new();
        put_len_field(&mut span, 9, &kv);
        let mut scope_spans = Vec::new();
        put_len_field(&mut scope_spans, 2, &span);
        let mut resource = Vec::new();
        put_len_field(&mut resource, 1, &kv);
        let mut resource_spans = Vec::new();
        put_len_field(&mut resource_spans, 1, &resource);
        put_len_field(&mut resource_spans, 2, &scope_spans);
        let mut request = Vec::new();
        put_len_field(&mut request, 1, &resource_spans);
        outcomes[usize::from(check_agrees(Signal::Traces, &request))] += 1;
    }
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}

fn nested_any(depth: usize) -> AnyValue {
    let mut v = AnyValue {
        value: Some(any_value::Value::IntValue(1)),
    };
    for _ in 0..depth {
        v = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![v] })),
        };
    }
    v
}

#[test]
fn recursion_limit_matches_prost() {
    use crate::proto::logs::v1::LogRecord;
    let mut outcomes = Vec::new();
    for depth in 40..52 {
        let mut req = testdata::logs(1, 1, 9);
        let rec: &mut LogRecord = &mut req.resource_logs[0].scope_logs[1].log_records[0];
        rec.body = Some(nested_any(depth));
        rec.attributes.push(KeyValue {
            key: "deep".into(),
            value: Some(nested_any(depth)),
            ..Default::default()
        });
        let bytes = req.encode_to_vec();
        outcomes.push(check_agrees(Signal::Logs, &bytes));
        // Unknown field (a group) inside the deepest message.
        let mut v = AnyValue::default();
        let mut inner = Vec::new();
        prost::encoding::encode_key(20, prost::encoding::WireType::StartGroup, &mut inner);
        prost::encoding::encode_key(20, prost::encoding::WireType::EndGroup, &mut inner);
        let _ = &mut v;
        let mut deep = inner;
        for _ in 0..depth {
            // AnyValue.array_value(5) { ArrayValue.values(1) { deep } }
            let mut arr = Vec::new();
            put_len_field(&mut arr, 1, &deep);
            let mut any = Vec::new();
            put_len_field(&mut any, 5, &arr);
            deep = any;
        }
        let mut rec = Vec::new();
        put_len_field(&mut rec, 5, &deep);
        let mut sl = Vec::new();
        put_len_field(&mut sl, 2, &rec);
        let mut rl = Vec::new();
        put_len_field(&mut rl, 2, &sl);
        let mut top = Vec::new();
        put_len_field(&mut top, 1, &rl);
        outcomes.push(check_agrees(Signal::Logs, &top));
    }
    assert!(outcomes.contains(&true) && outcomes.contains(&false));
}

#[test]
fn metric_oneof_merge_rule() {
    use crate::proto::metrics::v1::{Gauge, Metric, Sum, metric};
    let points = |n| {
        testdata::metrics(1, 1, 3).resource_metrics[0].scope_metrics[1].metrics[0]
            .data
            .clone()
            .map(|d| match d {
                metric::Data::Gauge(g) => g.data_points,
                metric::Data::Sum(s) => s.data_points,
                _ => vec![],
            })
            .unwrap_or_default()
            .into_iter()
            .cycle()
            .take(n)
            .collect::<Vec<_>>()
    };
    let gauge = |n| {
        Metric {
            data: Some(metric::Data::Gauge(Gauge {
                data_points: points(n),
            })),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let sum = |n| {
        Metric {
            data: Some(metric::Data::Sum(Sum {
                data_points: points(n),
                ..Default::default()
            })),
            ..Default::default()
        }
        .encode_to_vec()
    };
    // Concatenated Metric encodings merge like prost: gauge+gauge adds, gauge+sum replaces.
    for parts in [
        vec![gauge(2), gauge(3)],
        vec![gauge(2), sum(1)],
        vec![sum(2), gauge(3), sum(4)],
        vec![sum(1), sum(1), gauge(0)],
    ] {
        let metric: Vec<u8> = parts.concat();
        let mut sm = Vec::new();
        put_len_field(&mut sm, 2, &metric);
        let mut rm = Vec::new();
        put_len_field(&mut rm, 2, &sm);
        let mut top = Vec::new();
        put_len_field(&mut top, 1, &rm);
        assert!(check_agrees(Signal::Metrics, &top));
        for max in 1..5 {
            check_split(Signal::Metrics, &top, max);
        }
    }
}

/// Splits and checks: every part has at most `max` items and its count is right, all but the
/// last are full, and the parts decode to the same items in the same order.
fn check_split(signal: Signal, bytes: &[u8], max: usize) {
    let parts = split_encoded(signal, bytes, max);
    let whole = Request::decode(signal, bytes).unwrap();
    let total = whole.item_count();
    let mut sum = 0;
    for (i, (p, n)) in parts.iter().enumerate() {
        let req = Request::decode(signal, p).unwrap();
        assert_eq!(req.item_count(), *n);
        assert_eq!(validate_and_count(signal, p).unwrap(), *n);
        assert!(*n <= max);
        if i + 1 < parts.len() {
            assert_eq!(*n, max);
        }
        sum += n;
    }
    assert_eq!(sum, total);
    assert_eq!(parts.len(), total.div_ceil(max).max(1));
    let joined: Vec<u8> = parts.iter().flat_map(|(p, _)| p.iter().copied()).collect();
    let rejoined = Request::decode(signal, &joined).unwrap();
    assert_eq!(flatten(&rejoined), flatten(&whole));
}

/// Items with their resource, scope (and metric) context, in order.
fn flatten(req: &Request) -> Vec<Vec<u8>> {
    use crate::proto::metrics::v1::metric::Data;
    let mut out = Vec::new();
    match req {
        // Profiles are never split (see profiles_are_validated_counted_by_sample_and_never_split).
        Request::Profiles(r) => out.push(r.encode_to_vec()),
        Request::Traces(r) => {
            for rs in &r.resource_spans {
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        let mut v = rs.resource.clone().unwrap_or_default().encode_to_vec();
                        v.extend(rs.schema_url.as_bytes());
                        v.extend(ss.scope.clone().unwrap_or_default().encode_to_vec());
                        v.extend(ss.schema_url.as_bytes());
                        v.extend(s.encode_to_vec());
                        out.push(v);
                    }
                }
            }
        }
        Request::Logs(r) => {
            for rl in &r.resource_logs {
                for sl in &rl.scope_logs {
                    for l in &sl.log_records {
                        let mut v = rl.resource.clone().unwrap_or_default().encode_to_vec();
                        v.extend(rl.schema_url.as_bytes());
                        v.extend(sl.scope.clone().unwrap_or_default().encode_to_vec());
                        v.extend(l.encode_to_vec());
                        out.push(v);
                    }
                }
            }
        }
        Request::Metrics(r) => {
            for rm in &r.resource_metrics {
                for sm in &rm.scope_metrics {
                    for m in &sm.metrics {
                        let mut head = rm.resource.clone().unwrap_or_default().encode_to_vec();
                        head.extend(sm.scope.clone().unwrap_or_default().encode_to_vec());
                        head.extend(m.name.as_bytes());
                        head.extend(m.unit.as_bytes());
                        head.extend(m.description.as_bytes());
                        for kv in &m.metadata {
                            head.extend(kv.encode_to_vec());
                        }
                        let pts: Vec<Vec<u8>> = match &m.data {
                            Some(Data::Gauge(g)) => {
                                g.data_points.iter().map(|p| p.encode_to_vec()).collect()
                            }
                            Some(Data::Sum(s)) => {
                                head.extend([
                                    s.aggregation_temporality as u8,
                                    s.is_monotonic as u8,
                                ]);
                                s.data_points.iter().map(|p| p.encode_to_vec()).collect()
                            }
                            Some(Data::Histogram(h)) => {
                                head.push(h.aggregation_temporality as u8);
                                h.data_points.iter().map(|p| p.encode_to_vec()).collect()
                            }
                            Some(Data::ExponentialHistogram(h)) => {
                                head.push(h.aggregation_temporality as u8);
                                h.data_points.iter().map(|p| p.encode_to_vec()).collect()
                            }
                            Some(Data::Summary(s)) => {
                                s.data_points.iter().map(|p| p.encode_to_vec()).collect()
                            }
                            None => vec![],
                        };
                        for p in pts {
                            let mut v = head.clone();
                            v.extend(p);
                            out.push(v);
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn split_preserves_items() {
    for signal in Signal::ALL {
        for (r, p, seed) in [(1, 1, 1), (1, 10, 2), (3, 7, 3), (4, 25, 4)] {
            let bytes = encoded(signal, r, p, seed);
            let total = validate_and_count(signal, &bytes).unwrap();
            for max in [1, 2, 3, 5, 7, 10, 16, 33, total.max(1), total + 1] {
                check_split(signal, &bytes, max);
            }
        }
    }
}

#[test]
fn split_keeps_empty_containers_and_whole_resources() {
    use crate::proto::trace::v1::{ResourceSpans, ScopeSpans};
    let mut req = testdata::traces(3, 4, 5);
    req.resource_spans.insert(1, ResourceSpans::default());
    req.resource_spans[2]
        .scope_spans
        .insert(1, ScopeSpans::default());
    req.resource_spans.push(ResourceSpans::default());
    let bytes = req.encode_to_vec();
    for max in 1..14 {
        check_split(Signal::Traces, &bytes, max);
    }
    // A resource that fits is copied verbatim.
    let parts = split_encoded(Signal::Traces, &bytes, 4);
    let first = Request::decode(Signal::Traces, &parts[0].0).unwrap();
    match first {
        Request::Traces(t) => assert_eq!(t.resource_spans[0], req.resource_spans[0]),
        _ => unreachable!(),
    }
}

#[test]
fn split_of_malformed_input_does_not_panic() {
    let mut rng = Rng::new(3);
    for signal in Signal::ALL {
        let base = encoded(signal, 2, 6, 1);
        for _ in 0..300 {
            let m = mutate(&mut rng, &base);
            let parts = split_encoded(signal, &m, 2);
            assert!(!parts.is_empty());
        }
    }
}

#[test]
fn profiles_are_validated_counted_by_sample_and_never_split() {
    use prost::Message;
    let req = crate::testdata::profiles(3, 4, 7);
    let bytes = req.encode_to_vec();
    assert_eq!(validate_and_count(Signal::Profiles, &bytes).unwrap(), 12);
    assert_eq!(count_encoded(Signal::Profiles, &bytes).unwrap(), 12);
    assert_eq!(
        count_decoded(&Request::Profiles(req.clone())),
        12,
        "decoded and encoded counts agree"
    );
    // One request in, the same bytes out: a split would orphan the dictionary's indices.
    let parts = split_encoded(Signal::Profiles, &bytes, 5);
    assert_eq!(parts.len(), 1);
    assert_eq!(&parts[0].0[..], &bytes[..]);
    assert_eq!(parts[0].1, 12);
    let b = bytes::Bytes::from(bytes.clone());
    let parts = split_bytes(Signal::Profiles, b, 5);
    assert_eq!((parts.len(), parts[0].1), (1, 12));
    // Truncated input is refused like any other signal's.
    assert!(validate_and_count(Signal::Profiles, &bytes[..bytes.len() - 3]).is_err());
    // Fields of another profiles release (unknown here) are skipped, not refused.
    let mut other = bytes.clone();
    prost::encoding::encode_key(9, prost::encoding::WireType::Varint, &mut other);
    prost::encoding::encode_varint(5, &mut other);
    assert_eq!(validate_and_count(Signal::Profiles, &other).unwrap(), 12);
}
