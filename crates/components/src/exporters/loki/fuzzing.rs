//! Body of the Loki push encoder fuzz target (`/fuzz`), kept here so that a unit test can
//! run it over seeded random inputs on stable, where cargo-fuzz (nightly) is not available.
//! It must never panic; the assertions are the properties checked.

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::resource::v1::Resource;
use prost::Message;

use super::config::DefaultLabels;
use super::proto;
use super::translate::logs_to_loki;

/// Arbitrary log records -> Loki push requests -> snappy protobuf -> decoded: equal to what
/// was encoded, and every record is accounted for (sent, dropped or missing labels). The
/// input is read as an OTLP logs request when it is one; otherwise records are made from
/// its bytes (labels hints, formats, tenants, attribute values of every type).
pub fn push_round_trip(data: &[u8]) {
    let req = match ExportLogsServiceRequest::decode(data) {
        Ok(r) if !r.resource_logs.is_empty() => r,
        _ => synthesize(data),
    };
    let records: usize = req
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    let defaults = match data.first().copied().unwrap_or(0) & 3 {
        0 => DefaultLabels::default(),
        1 => DefaultLabels {
            exporter: false,
            job: false,
            instance: false,
            level: false,
        },
        2 => DefaultLabels {
            exporter: false,
            ..DefaultLabels::default()
        },
        _ => DefaultLabels {
            level: false,
            ..DefaultLabels::default()
        },
    };
    let tenants = logs_to_loki(&req, defaults, &|| 1_700_000_000_000_000_000);
    let mut accounted = 0;
    for t in &tenants {
        accounted += t.submitted + t.dropped + t.missing_labels;
        let entries: usize = t.request.streams.iter().map(|s| s.entries.len()).sum();
        assert_eq!(entries, t.submitted, "entries in streams = submitted");
        for s in &t.request.streams {
            assert!(
                s.labels.starts_with('{') && s.labels.ends_with('}') && s.labels.len() > 2,
                "labels {:?}",
                s.labels
            );
        }
        let body = proto::encode(&t.request).expect("snappy encodes any size we make");
        let back = proto::decode(&body).expect("what we encode decodes");
        assert_eq!(back, t.request, "push request round trip");
    }
    assert_eq!(accounted, records, "every record is sent or counted");
}

const KEYS: [&str; 12] = [
    "loki.attribute.labels",
    "loki.resource.labels",
    "loki.format",
    "loki.tenant",
    "service.name",
    "service.namespace",
    "service.instance.id",
    "level",
    "k8s.pod.name",
    "host",
    "trace_id",
    "a b=\"c\"",
];

const HINT_VALUES: [&str; 8] = [
    "json",
    "logfmt",
    "raw",
    "yaml",
    "k8s.pod.name, host",
    "level,a b=\"c\"",
    "service.name",
    "",
];

/// Reads bytes off the input; zeroes once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }
    fn text(&mut self) -> String {
        let n = usize::from(self.byte() % 24).min(self.0.len());
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }
    fn int(&mut self) -> i64 {
        i64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }
    fn value(&mut self, depth: u8) -> AnyValue {
        use any_value::Value as V;
        let v = match self.byte() % 9 {
            0 => None,
            1 => Some(V::BoolValue(self.byte() & 1 == 1)),
            2 => Some(V::IntValue(self.int())),
            3 => Some(V::DoubleValue(f64::from_bits(self.int() as u64))),
            4 => Some(V::BytesValue(self.text().into_bytes())),
            5 if depth < 3 => Some(V::KvlistValue(KeyValueList {
                values: self.attrs(depth + 1),
            })),
            6 if depth < 3 => Some(V::ArrayValue(ArrayValue {
                values: (0..self.byte() % 4)
                    .map(|_| self.value(depth + 1))
                    .collect(),
            })),
            7 => Some(V::StringValue(
                HINT_VALUES[usize::from(self.byte()) % HINT_VALUES.len()].to_string(),
            )),
            _ => Some(V::StringValue(self.text())),
        };
        AnyValue { value: v }
    }
    fn attrs(&mut self, depth: u8) -> Vec<KeyValue> {
        (0..self.byte() % 5)
            .map(|_| {
                let k = self.byte();
                let key = if k & 0x80 != 0 {
                    self.text()
                } else {
                    KEYS[usize::from(k) % KEYS.len()].to_string()
                };
                KeyValue {
                    key,
                    value: (k & 0x40 == 0).then(|| self.value(depth)),
                    ..Default::default()
                }
            })
            .collect()
    }
}

fn synthesize(data: &[u8]) -> ExportLogsServiceRequest {
    let mut b = Bytes(data.get(1..).unwrap_or_default());
    let mut resource_logs = Vec::new();
    while !b.0.is_empty() && resource_logs.len() < 4 {
        let resource = Some(Resource {
            attributes: b.attrs(0),
            ..Default::default()
        });
        let log_records = (0..1 + b.byte() % 4)
            .map(|_| {
                let time = b.int() as u64;
                LogRecord {
                    time_unix_nano: if time.is_multiple_of(3) { 0 } else { time },
                    observed_time_unix_nano: b.int() as u64 % 7,
                    severity_number: i32::from(b.byte() % 30),
                    severity_text: b.text(),
                    body: Some(b.value(0)),
                    attributes: b.attrs(0),
                    trace_id: b.text().into_bytes(),
                    span_id: b.text().into_bytes(),
                    flags: u32::from(b.byte()),
                    ..Default::default()
                }
            })
            .collect();
        resource_logs.push(ResourceLogs {
            resource,
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    ExportLogsServiceRequest { resource_logs }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_body_does_not_panic_on_random_inputs() {
        let mut x: u64 = 0x10c1;
        let mut next = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for i in 0..3000 {
            let n = (next() % 400) as usize;
            let mut input: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            if i % 10 == 0 {
                // A real OTLP request now and then, so the decode path is taken too.
                input = pdata::testdata::request(pdata::Signal::Logs, 2, 3, i).encode_to_vec();
            }
            super::push_round_trip(&input);
        }
    }
}
