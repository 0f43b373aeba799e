//! Bodies of the Zipkin decoder fuzz targets (`/fuzz`), kept here so that a unit test runs
//! them over seeded random and mutated inputs on stable. They must never panic; the
//! assertions are the properties checked.

use crate::{Format, decode_v2, encode, v1};

/// Any bytes through the three decoders; what decodes is encoded again in both formats and
/// decodes to the same span count.
pub fn decoders(data: &[u8]) {
    let _ = v1::decode(data, data.first().is_some_and(|b| b & 1 == 1), 1);
    for format in [Format::Json, Format::Proto] {
        let Ok(otlp) = decode_v2(format, data, false, true) else {
            continue;
        };
        let n: usize = otlp
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        for out in [Format::Json, Format::Proto] {
            // Ids decoded from Zipkin may be zero only where Zipkin allows it; what the
            // translator refuses is an error, never a panic.
            if let Ok(body) = encode(out, &otlp, "svc") {
                let again = decode_v2(out, &body, false, false).expect("our own encoding decodes");
                let m: usize = again
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .map(|s| s.spans.len())
                    .sum();
                assert_eq!(n, m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pdata::testdata::Rng;

    const SEEDS: &[&[u8]] = &[
        br#"[{"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2","kind":"SERVER","name":"get /api","timestamp":1556604172355737,"duration":1431,"localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},"remoteEndpoint":{"ipv6":"::1","port":58648},"tags":{"http.method":"GET","otlp.link.0":"0102|x|y|{}|1","otel.status_code":"STATUS_CODE_ERROR","error":"true"},"annotations":[{"timestamp":1556604172355800,"value":"ev|{\"a\":1}|0"}]}]"#,
        br#"[{"traceId":"4d1e00c0db9010db86154a4ba6e91385","id":"4d1e00c0db9010db","annotations":[{"timestamp":1,"value":"sr","endpoint":{"serviceName":"a"}}],"binaryAnnotations":[{"key":"error","value":"x"}]}]"#,
        b"\x0a\x2a\x0a\x08\x01\x02\x03\x04\x05\x06\x07\x08\x1a\x08\x01\x01\x01\x01\x01\x01\x01\x01\x20\x02\x2a\x03get\x31\x01\x00\x00\x00\x00\x00\x00\x00\x38\x05\x42\x05\x0a\x03svc",
        b"[]",
    ];

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let mut rng = Rng::new(7);
        for seed in SEEDS {
            super::decoders(seed);
            for _ in 0..400 {
                let mut m = seed.to_vec();
                for _ in 0..=rng.below(4) {
                    if m.is_empty() {
                        break;
                    }
                    let i = rng.below(m.len() as u64) as usize;
                    match rng.below(3) {
                        0 => m[i] = rng.next_u64() as u8,
                        1 => {
                            m.remove(i);
                        }
                        _ => m.insert(i, rng.pick(&[b'|', b'"', b'{', b'0', 0xff, b'9'])),
                    }
                }
                super::decoders(&m);
            }
        }
        for _ in 0..500 {
            let n = rng.below(200) as usize;
            super::decoders(&rng.bytes(n));
        }
    }
}
