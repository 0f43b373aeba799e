//! Bodies of the Zipkin decoder fuzz targets (`/fuzz`), kept here so that a unit test runs
//! them over seeded random and mutated inputs on stable. They must never panic; the
//! assertions are the properties checked.

use crate::thrift::{I16, I32, I64, LIST, STRING, STRUCT};
use crate::{Format, decode_v2, encode, thrift, v1};

/// Any bytes through the four decoders (v1 JSON and Thrift, v2 JSON and proto); what decodes is encoded again in both formats and
/// decodes to the same span count.
pub fn decoders(data: &[u8]) {
    let _ = v1::decode(data, data.first().is_some_and(|b| b & 1 == 1), 1);
    let _ = thrift::decode(data);
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

/// A tiny Thrift binary-protocol writer for tests and fuzz seeds.
#[derive(Default)]
pub struct W(pub Vec<u8>);

impl W {
    pub fn field(&mut self, t: u8, id: i16) -> &mut Self {
        self.0.push(t);
        self.0.extend_from_slice(&id.to_be_bytes());
        self
    }
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bin(&mut self, v: &[u8]) -> &mut Self {
        self.i32(v.len() as i32);
        self.0.extend_from_slice(v);
        self
    }
    pub fn list(&mut self, t: u8, n: i32) -> &mut Self {
        self.0.push(t);
        self.i32(n)
    }
    pub fn stop(&mut self) -> &mut Self {
        self.0.push(0);
        self
    }
}

/// One client span with a `cs`/`cr` pair from `frontend` (10.0.0.1:8080), an
/// `error` and an I32 `http.status_code` binary annotation, and an unknown field.
pub fn thrift_sample() -> Vec<u8> {
    let mut w = W::default();
    w.list(STRUCT, 1);
    w.field(I64, 1).i64(0x0102030405060708);
    w.field(I64, 12).i64(0x1112131415161718);
    w.field(STRING, 3).bin(b"get");
    w.field(I64, 4).i64(0x2122232425262728);
    w.field(I64, 5).i64(0x3132333435363738);
    w.field(LIST, 6).list(STRUCT, 2);
    for (ts, v) in [(1_000_000i64, "cs"), (1_250_000, "cr")] {
        w.field(I64, 1).i64(ts).field(STRING, 2).bin(v.as_bytes());
        w.field(STRUCT, 3)
            .field(I32, 1)
            .i32(0x0a000001)
            .field(I16, 2)
            .i16(8080)
            .field(STRING, 3)
            .bin(b"frontend")
            .stop();
        w.stop();
    }
    w.field(LIST, 8).list(STRUCT, 3);
    w.field(STRING, 1)
        .bin(b"http.status_code")
        .field(STRING, 2)
        .bin(&503i32.to_be_bytes())
        .field(I32, 3)
        .i32(3)
        .stop();
    w.field(STRING, 1)
        .bin(b"flag")
        .field(STRING, 2)
        .bin(&[1])
        .field(I32, 3)
        .i32(0)
        .stop();
    w.field(STRING, 1)
        .bin(b"short")
        .field(STRING, 2)
        .bin(&[1])
        .field(I32, 3)
        .i32(4)
        .stop();
    w.field(LIST, 99).list(I32, 1).i32(7); // unknown field: skipped
    w.field(I64, 10).i64(1_000_000);
    w.field(I64, 11).i64(250_000);
    w.stop();
    w.0
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
        let thrift_seed = super::thrift_sample();
        for seed in SEEDS.iter().copied().chain([thrift_seed.as_slice()]) {
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
