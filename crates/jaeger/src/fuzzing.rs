//! The body of the Jaeger decoder fuzz target (`/fuzz`), a small Thrift writer for both
//! protocols, and sample payloads for tests and fuzz seeds. The body must never panic; a unit
//! test runs it over seeded random and mutated inputs on stable.

use crate::proto;
use crate::thrift::{
    self, BOOL, DOUBLE, I32, I64, LIST, Protocol, STRING, STRUCT, span_ref_type, tag_type,
};
use crate::translate::{Options, proto_to_otlp, thrift_to_otlp};

/// Any bytes through every decoder (Thrift batch and agent message in both protocols, the
/// protobuf `PostSpansRequest`) and, where they decode, through the translation.
pub fn decoders(data: &[u8]) {
    let opts = Options::default();
    for p in [Protocol::Binary, Protocol::Compact] {
        if let Ok(b) = thrift::decode_batch(data, p) {
            let n = b.spans.len();
            let otlp = thrift_to_otlp(b, &opts);
            let m: usize = otlp
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            assert!(m <= n, "blank spans are dropped, none are added");
        }
        if let Ok(thrift::AgentCall::EmitBatch(Some(b))) = thrift::decode_agent(data, p) {
            let _ = thrift_to_otlp(b, &opts);
        }
    }
    if let Ok(batch) = proto::decode_post_spans(data) {
        let _ = proto_to_otlp(batch, &opts);
    }
}

/// A Thrift writer for tests and fuzz seeds, in either protocol.
pub struct W {
    pub proto: Protocol,
    pub last: Vec<i16>,
    pub bytes: Vec<u8>,
}

impl W {
    pub fn new(proto: Protocol) -> W {
        W {
            proto,
            last: vec![0],
            bytes: Vec::new(),
        }
    }

    fn varint(&mut self, mut v: u64) -> &mut Self {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.bytes.push(b);
                return self;
            }
            self.bytes.push(b | 0x80);
        }
    }

    fn zigzag(&mut self, v: i64) -> &mut Self {
        self.varint(((v << 1) ^ (v >> 63)) as u64)
    }

    fn compact_type(t: u8) -> u8 {
        match t {
            BOOL => 1,
            thrift::BYTE => 3,
            thrift::I16 => 4,
            I32 => 5,
            I64 => 6,
            DOUBLE => 7,
            STRING => 8,
            LIST => 9,
            thrift::SET => 10,
            thrift::MAP => 11,
            STRUCT => 12,
            _ => 0,
        }
    }

    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    /// A struct starts (compact keeps the last field id per struct).
    pub fn begin(&mut self) -> &mut Self {
        self.last.push(0);
        self
    }

    pub fn end(&mut self) -> &mut Self {
        self.last.pop();
        self
    }

    pub fn field(&mut self, t: u8, id: i16) -> &mut Self {
        self.field_with(t, id, Self::compact_type(t))
    }

    fn field_with(&mut self, t: u8, id: i16, ct: u8) -> &mut Self {
        match self.proto {
            Protocol::Binary => {
                self.bytes.push(t);
                self.bytes.extend_from_slice(&id.to_be_bytes());
            }
            Protocol::Compact => {
                let last = self.last.last().copied().unwrap_or(0);
                let delta = id.wrapping_sub(last);
                if (1..=15).contains(&delta) {
                    self.bytes.push(((delta as u8) << 4) | ct);
                } else {
                    self.bytes.push(ct);
                    self.zigzag(i64::from(id));
                }
                if let Some(l) = self.last.last_mut() {
                    *l = id;
                }
            }
        }
        self
    }

    /// A boolean field (compact carries the value in the header).
    pub fn bool_field(&mut self, id: i16, v: bool) -> &mut Self {
        match self.proto {
            Protocol::Binary => self.field(BOOL, id).raw(&[u8::from(v)]),
            Protocol::Compact => self.field_with(BOOL, id, if v { 1 } else { 2 }),
        }
    }

    pub fn stop(&mut self) -> &mut Self {
        self.bytes.push(0);
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        match self.proto {
            Protocol::Binary => self.raw(&v.to_be_bytes()),
            Protocol::Compact => self.zigzag(i64::from(v)),
        }
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        match self.proto {
            Protocol::Binary => self.raw(&v.to_be_bytes()),
            Protocol::Compact => self.zigzag(v),
        }
    }

    pub fn double(&mut self, v: f64) -> &mut Self {
        match self.proto {
            Protocol::Binary => self.raw(&v.to_bits().to_be_bytes()),
            Protocol::Compact => self.raw(&v.to_bits().to_le_bytes()),
        }
    }

    /// A length prefix alone (negative or lying lengths for tests).
    pub fn len(&mut self, n: i32) -> &mut Self {
        match self.proto {
            Protocol::Binary => self.raw(&n.to_be_bytes()),
            Protocol::Compact => self.varint(u64::from(n as u32)),
        }
    }

    pub fn bin(&mut self, b: &[u8]) -> &mut Self {
        self.len(b.len() as i32).raw(b)
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bin(s.as_bytes())
    }

    pub fn list(&mut self, t: u8, n: i32) -> &mut Self {
        match self.proto {
            Protocol::Binary => {
                self.bytes.push(t);
                self.raw(&n.to_be_bytes())
            }
            Protocol::Compact => {
                let ct = Self::compact_type(t);
                if (0..15).contains(&n) {
                    self.bytes.push(((n as u8) << 4) | ct);
                    self
                } else {
                    self.bytes.push(0xf0 | ct);
                    self.varint(u64::from(n as u32))
                }
            }
        }
    }

    /// A `oneway` call header.
    pub fn message(&mut self, name: &str) -> &mut Self {
        match self.proto {
            Protocol::Binary => {
                self.raw(&(0x8001_0004u32).to_be_bytes());
                self.str(name).i32(1)
            }
            Protocol::Compact => {
                self.raw(&[0x82, (4 << 5) | 1]);
                self.varint(1).str(name)
            }
        }
    }
}

/// Test and seed values shared with the translation tests.
pub const START_US: i64 = 1_600_000_000_000_000;
pub const TRACE_HIGH: i64 = 0x0102030405060708;
pub const TRACE_LOW: i64 = 0x1112131415161718;
pub const SPAN_A: i64 = 0x2122232425262728;
pub const SPAN_B: i64 = 0x3132333435363738;

fn tag(w: &mut W, key: &str, f: impl FnOnce(&mut W)) {
    w.begin().field(STRING, 1).str(key);
    f(w);
    w.stop().end();
}

fn str_tag(w: &mut W, key: &str, v: &str) {
    tag(w, key, |w| {
        w.field(I32, 2)
            .i32(tag_type::STRING)
            .field(STRING, 3)
            .str(v);
    });
}

/// A `Batch` from `frontend` (tags `hostname`, `jaeger.version`, `ip`) with two spans of one
/// trace: a server span `get /api` with typed tags, an `error` tag, an HTTP 500 and a log
/// named by its `event` field; and its child `db query` (by reference only) with
/// `otel.status_code` and `otel.status_description`.
pub fn sample_batch(proto: Protocol) -> Vec<u8> {
    let mut w = W::new(proto);
    w.begin();
    w.field(STRUCT, 1).begin();
    w.field(STRING, 1).str("frontend");
    w.field(LIST, 2).list(STRUCT, 3);
    str_tag(&mut w, "hostname", "host-1");
    str_tag(&mut w, "jaeger.version", "Go-2.30.0");
    tag(&mut w, "ip", |w| {
        w.field(I32, 2)
            .i32(tag_type::LONG)
            .field(I64, 6)
            .i64(0x0a000001);
    });
    w.stop().end();
    w.field(LIST, 2).list(STRUCT, 2);
    // span A
    w.begin();
    w.field(I64, 1).i64(TRACE_LOW).field(I64, 2).i64(TRACE_HIGH);
    w.field(I64, 3).i64(SPAN_A).field(I64, 4).i64(0);
    w.field(STRING, 5).str("get /api");
    w.field(I32, 7).i32(1);
    w.field(I64, 8).i64(START_US).field(I64, 9).i64(250_000);
    w.field(LIST, 10).list(STRUCT, 6);
    str_tag(&mut w, "span.kind", "server");
    tag(&mut w, "error", |w| {
        w.field(I32, 2).i32(tag_type::BOOL).bool_field(5, true);
    });
    tag(&mut w, "ratio", |w| {
        w.field(I32, 2)
            .i32(tag_type::DOUBLE)
            .field(DOUBLE, 4)
            .double(0.5);
    });
    tag(&mut w, "n", |w| {
        w.field(I32, 2).i32(tag_type::LONG).field(I64, 6).i64(-42);
    });
    tag(&mut w, "blob", |w| {
        w.field(I32, 2)
            .i32(tag_type::BINARY)
            .field(STRING, 7)
            .bin(&[1, 2, 3]);
    });
    tag(&mut w, "http.status_code", |w| {
        w.field(I32, 2).i32(tag_type::LONG).field(I64, 6).i64(500);
    });
    w.field(LIST, 11).list(STRUCT, 1);
    w.begin().field(I64, 1).i64(START_US + 1000);
    w.field(LIST, 2).list(STRUCT, 2);
    str_tag(&mut w, "event", "boom");
    str_tag(&mut w, "level", "error");
    w.stop().end();
    w.field(LIST, 99).list(I32, 1).i32(7); // unknown: skipped
    w.stop().end();
    // span B
    w.begin();
    w.field(I64, 1).i64(TRACE_LOW).field(I64, 2).i64(TRACE_HIGH);
    w.field(I64, 3).i64(SPAN_B).field(I64, 4).i64(0);
    w.field(STRING, 5).str("db query");
    w.field(LIST, 6).list(STRUCT, 1);
    w.begin().field(I32, 1).i32(span_ref_type::CHILD_OF);
    w.field(I64, 2).i64(TRACE_LOW).field(I64, 3).i64(TRACE_HIGH);
    w.field(I64, 4).i64(SPAN_A).stop().end();
    w.field(I32, 7).i32(1);
    w.field(I64, 8).i64(START_US + 10).field(I64, 9).i64(100);
    w.field(LIST, 10).list(STRUCT, 3);
    str_tag(&mut w, "span.kind", "client");
    str_tag(&mut w, "otel.status_code", "ERROR");
    str_tag(&mut w, "otel.status_description", "connection refused");
    w.stop().end();
    w.stop().end();
    w.bytes
}

/// `Agent.emitBatch(sample_batch)` as a client's UDP packet; `strict` only matters for the
/// binary protocol (clients write the strict header).
pub fn sample_emit_batch(proto: Protocol, strict: bool) -> Vec<u8> {
    let mut w = W::new(proto);
    if strict || proto == Protocol::Compact {
        w.message("emitBatch");
    } else {
        w.i32(9).raw(b"emitBatch").raw(&[4]).i32(1);
    }
    w.begin()
        .field(STRUCT, 1)
        .raw(&sample_batch(proto))
        .stop()
        .end();
    w.bytes
}

#[cfg(test)]
mod tests {
    use pdata::testdata::Rng;

    use super::*;

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let mut rng = Rng::new(11);
        let mut seeds = Vec::new();
        for p in [Protocol::Binary, Protocol::Compact] {
            seeds.push(sample_batch(p));
            seeds.push(sample_emit_batch(p, true));
        }
        seeds.push(proto::fixtures::sample_request());
        for seed in &seeds {
            decoders(seed);
            for _ in 0..400 {
                let mut m = seed.clone();
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
                        _ => m.insert(i, rng.pick(&[0, 0xff, 0x7f, 0x0c, 0x0f, 0x19])),
                    }
                }
                decoders(&m);
            }
        }
        for _ in 0..500 {
            let n = rng.below(200) as usize;
            decoders(&rng.bytes(n));
        }
    }
}
