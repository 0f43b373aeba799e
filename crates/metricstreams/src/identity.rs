//! Stream identity: a stream is one resource, one scope, one metric (name, unit, type,
//! monotonicity, temporality) and one set of point attributes. Attribute maps are hashed in
//! key order, so the same attributes in another order are the same stream (Go's
//! `pdatautil.MapHash` does the same).
//!
//! The hasher is built up level by level and cloned at each level, so a request with many
//! points hashes its resource and scope once, not once per point.

use std::hash::{DefaultHasher, Hash, Hasher};

use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};

/// A stream's key: 128 bits from two independent SipHash streams, so collisions between the
/// streams one collector sees are not a practical concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u128);

/// Accumulates the parts of a stream identity.
#[derive(Clone)]
pub struct StreamHasher {
    a: DefaultHasher,
    b: DefaultHasher,
}

impl Default for StreamHasher {
    fn default() -> Self {
        let mut b = DefaultHasher::new();
        // A different prefix makes the second hash independent of the first.
        b.write_u64(0x9e37_79b9_7f4a_7c15);
        StreamHasher {
            a: DefaultHasher::new(),
            b,
        }
    }
}

impl StreamHasher {
    pub fn new() -> Self {
        Self::default()
    }

    fn bytes(&mut self, v: &[u8]) {
        self.a.write(v);
        self.b.write(v);
    }

    fn u64(&mut self, v: u64) {
        self.a.write_u64(v);
        self.b.write_u64(v);
    }

    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }

    pub fn tag(&mut self, t: u8) {
        self.bytes(&[t]);
    }

    pub fn number(&mut self, n: u64) {
        self.u64(n);
    }

    /// An attribute map, in key order (the wire order does not matter).
    pub fn attributes(&mut self, attrs: &[KeyValue]) {
        self.u64(attrs.len() as u64);
        if attrs.windows(2).all(|w| w[0].key <= w[1].key) {
            for kv in attrs {
                self.key_value(kv);
            }
        } else {
            let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
            sorted.sort_by(|x, y| x.key.cmp(&y.key));
            for kv in sorted {
                self.key_value(kv);
            }
        }
    }

    fn key_value(&mut self, kv: &KeyValue) {
        self.str(&kv.key);
        self.value(kv.value.as_ref());
    }

    fn value(&mut self, v: Option<&AnyValue>) {
        match v.and_then(|v| v.value.as_ref()) {
            None => self.tag(0),
            Some(Value::StringValue(s)) => {
                self.tag(1);
                self.str(s);
            }
            Some(Value::BoolValue(b)) => {
                self.tag(2);
                self.tag(*b as u8);
            }
            Some(Value::IntValue(i)) => {
                self.tag(3);
                self.u64(*i as u64);
            }
            Some(Value::DoubleValue(d)) => {
                self.tag(4);
                self.u64(d.to_bits());
            }
            Some(Value::ArrayValue(a)) => {
                self.tag(5);
                self.u64(a.values.len() as u64);
                for v in &a.values {
                    self.value(Some(v));
                }
            }
            Some(Value::KvlistValue(kv)) => {
                self.tag(6);
                self.attributes(&kv.values);
            }
            Some(Value::BytesValue(b)) => {
                self.tag(7);
                self.u64(b.len() as u64);
                self.bytes(b);
            }
            Some(Value::StringValueStrindex(i)) => {
                self.tag(8);
                self.u64(*i as u64);
            }
        }
    }

    /// The resource level (its attributes).
    pub fn resource(&self, attrs: &[KeyValue]) -> StreamHasher {
        let mut h = self.clone();
        h.tag(b'R');
        h.attributes(attrs);
        h
    }

    /// The scope level (name, version, attributes).
    pub fn scope(&self, scope: Option<&InstrumentationScope>) -> StreamHasher {
        let mut h = self.clone();
        h.tag(b'S');
        match scope {
            Some(s) => {
                h.str(&s.name);
                h.str(&s.version);
                h.attributes(&s.attributes);
            }
            None => {
                h.str("");
                h.str("");
                h.attributes(&[]);
            }
        }
        h
    }

    /// The metric level: what makes two metrics of one scope different streams.
    pub fn metric(
        &self,
        name: &str,
        unit: &str,
        kind: u8,
        monotonic: bool,
        temporality: i32,
    ) -> StreamHasher {
        let mut h = self.clone();
        h.tag(b'M');
        h.str(name);
        h.str(unit);
        h.tag(kind);
        h.tag(monotonic as u8);
        h.u64(temporality as u64);
        h
    }

    /// The point level; finishes the identity.
    pub fn stream(&self, attrs: &[KeyValue]) -> StreamId {
        let mut h = self.clone();
        h.tag(b'P');
        h.attributes(attrs);
        h.finish()
    }

    /// The identity so far, for callers that add their own parts (start time, value type).
    pub fn finish(self) -> StreamId {
        StreamId(((self.a.finish() as u128) << 64) | self.b.finish() as u128)
    }
}

/// Hashes anything `Hash` into a hasher level (used for small extra parts).
pub fn extend<T: Hash>(h: &StreamHasher, v: T) -> StreamHasher {
    let mut h = h.clone();
    v.hash(&mut h.a);
    v.hash(&mut h.b);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdata::proto::common::v1::any_value;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn attribute_order_does_not_change_the_identity() {
        let h = StreamHasher::new()
            .resource(&[kv("service.name", "a")])
            .scope(None)
            .metric("m", "1", 1, true, 2);
        assert_eq!(
            h.stream(&[kv("a", "1"), kv("b", "2")]),
            h.stream(&[kv("b", "2"), kv("a", "1")])
        );
    }

    #[test]
    fn every_level_separates_streams() {
        let base = StreamHasher::new();
        let id = |res: &str, scope: &str, name: &str, attr: &str| {
            base.resource(&[kv("r", res)])
                .scope(Some(&InstrumentationScope {
                    name: scope.into(),
                    ..Default::default()
                }))
                .metric(name, "", 1, true, 2)
                .stream(&[kv("a", attr)])
        };
        let one = id("r", "s", "m", "x");
        assert_eq!(one, id("r", "s", "m", "x"));
        assert_ne!(one, id("r2", "s", "m", "x"));
        assert_ne!(one, id("r", "s2", "m", "x"));
        assert_ne!(one, id("r", "s", "m2", "x"));
        assert_ne!(one, id("r", "s", "m", "x2"));
        // A string value is not confused with the same text as another type.
        let s = base.stream(&[kv("a", "1")]);
        let i = base.stream(&[KeyValue {
            key: "a".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(1)),
            }),
            ..Default::default()
        }]);
        assert_ne!(s, i);
    }
}
