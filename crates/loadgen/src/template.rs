//! Pre-encoded request templates: realistic requests (from `pdata::testdata`) where every item
//! carries a `loadgen.seq` attribute at a known byte offset, so producing the next request is a
//! copy and a few in-place writes.

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::metrics::v1::metric;
use pdata::{Request, Signal, testdata};

use crate::seq::{self, KEY_PATTERN, SEQ_WIDTH};

/// One encoded request and the offsets of its items' sequence varints.
#[derive(Debug, Clone)]
pub struct Template {
    pub bytes: Vec<u8>,
    pub seq_offsets: Vec<usize>,
}

impl Template {
    pub fn items(&self) -> u64 {
        self.seq_offsets.len() as u64
    }

    /// Writes this template with sequence numbers `first..first + items()` into `out`.
    pub fn render(&self, first: u64, out: &mut Vec<u8>) {
        out.clear();
        self.render_append(first, out);
    }

    /// Like [`Template::render`] but appends to what `out` already holds (a frame prefix).
    pub fn render_append(&self, first: u64, out: &mut Vec<u8>) {
        let base = out.len();
        out.extend_from_slice(&self.bytes);
        for (i, &off) in self.seq_offsets.iter().enumerate() {
            let at = base + off;
            seq::write_padded(&mut out[at..at + SEQ_WIDTH], first + i as u64);
        }
    }
}

/// A placeholder whose canonical varint is exactly `SEQ_WIDTH` bytes long.
const PLACEHOLDER: i64 = 1 << (7 * (SEQ_WIDTH - 1));

fn seq_kv() -> KeyValue {
    KeyValue {
        key: seq::SEQ_KEY.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(PLACEHOLDER)),
        }),
        ..Default::default()
    }
}

/// Adds the sequence attribute to every item of `req`.
pub fn tag_items(req: &mut Request) {
    match req {
        // Samples carry attributes only as dictionary indices; the load generator does not
        // send profiles.
        Request::Profiles(_) => {}
        Request::Traces(r) => {
            for span in r
                .resource_spans
                .iter_mut()
                .flat_map(|r| &mut r.scope_spans)
                .flat_map(|s| &mut s.spans)
            {
                span.attributes.push(seq_kv());
            }
        }
        Request::Logs(r) => {
            for log in r
                .resource_logs
                .iter_mut()
                .flat_map(|r| &mut r.scope_logs)
                .flat_map(|s| &mut s.log_records)
            {
                log.attributes.push(seq_kv());
            }
        }
        Request::Metrics(r) => {
            let metrics = r
                .resource_metrics
                .iter_mut()
                .flat_map(|r| &mut r.scope_metrics)
                .flat_map(|s| &mut s.metrics);
            for m in metrics {
                match &mut m.data {
                    Some(metric::Data::Gauge(g)) => g
                        .data_points
                        .iter_mut()
                        .for_each(|p| p.attributes.push(seq_kv())),
                    Some(metric::Data::Sum(g)) => g
                        .data_points
                        .iter_mut()
                        .for_each(|p| p.attributes.push(seq_kv())),
                    Some(metric::Data::Histogram(g)) => g
                        .data_points
                        .iter_mut()
                        .for_each(|p| p.attributes.push(seq_kv())),
                    Some(metric::Data::ExponentialHistogram(g)) => g
                        .data_points
                        .iter_mut()
                        .for_each(|p| p.attributes.push(seq_kv())),
                    Some(metric::Data::Summary(g)) => g
                        .data_points
                        .iter_mut()
                        .for_each(|p| p.attributes.push(seq_kv())),
                    None => {}
                }
            }
        }
    }
}

/// A request of about `items` items built from `seed`, tagged and encoded.
pub fn build(signal: Signal, items: usize, seed: u64) -> anyhow::Result<Template> {
    let items = items.max(1);
    // Two resources per 100 items, like a busy SDK batch; metrics average 2.5 points each.
    let resources = items.div_ceil(50).max(1);
    let per_resource = match signal {
        Signal::Metrics => (items * 2 / 5).div_ceil(resources).max(1),
        _ => items.div_ceil(resources),
    };
    let mut req = testdata::request(signal, resources, per_resource, seed);
    tag_items(&mut req);
    let bytes = req.encode_to_vec();
    let mut seq_offsets = Vec::with_capacity(items);
    for start in memchr::memmem::find_iter(&bytes, KEY_PATTERN) {
        // After the pattern: AnyValue length (6), int_value tag (0x18), then the varint.
        let off = start + KEY_PATTERN.len() + 2;
        anyhow::ensure!(
            bytes.get(off - 2..off) == Some(&[1 + SEQ_WIDTH as u8, 0x18][..]),
            "unexpected encoding of the {} attribute",
            seq::SEQ_KEY
        );
        seq_offsets.push(off);
    }
    let counted = req.item_count();
    anyhow::ensure!(
        seq_offsets.len() == counted,
        "found {} sequence attributes for {counted} items",
        seq_offsets.len()
    );
    Ok(Template { bytes, seq_offsets })
}

/// `n` templates with different seeds (so consecutive requests differ like real traffic).
pub fn build_set(
    signal: Signal,
    items: usize,
    n: usize,
    seed: u64,
) -> anyhow::Result<Vec<Template>> {
    (0..n.max(1))
        .map(|i| build(signal, items, seed.wrapping_add(i as u64 * 7919)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqSet;

    #[test]
    fn rendered_requests_decode_and_every_item_has_a_unique_seq() {
        for signal in Signal::ALL {
            let templates = build_set(signal, 100, 3, 1).unwrap();
            let mut set = SeqSet::new();
            let mut next = 0u64;
            let mut buf = Vec::new();
            for t in templates.iter().cycle().take(6) {
                t.render(next, &mut buf);
                let req = Request::decode(signal, &buf).expect("rendered request decodes");
                assert_eq!(req.item_count() as u64, t.items(), "{signal}");
                let mut found = 0;
                let bad = seq::scan(&buf, |s| {
                    found += 1;
                    assert!(set.insert(s), "{signal}: seq {s} repeated");
                });
                assert_eq!((found, bad), (t.items(), 0), "{signal}");
                // The canonical re-encoding (what a decoding collector sends) scans the same.
                let mut again = Vec::new();
                seq::scan(&req.encode_to_vec(), |s| again.push(s));
                assert_eq!(
                    again,
                    (next..next + t.items()).collect::<Vec<_>>(),
                    "{signal}"
                );
                next += t.items();
            }
            assert_eq!(set.distinct(), next);
            assert_eq!(set.duplicates(), 0);
            assert_eq!(set.holes_from(0), 0);
        }
    }

    #[test]
    fn traces_template_has_the_requested_items_of_realistic_size() {
        let t = build(Signal::Traces, 100, 7).unwrap();
        assert_eq!(t.items(), 100);
        let per_span = t.bytes.len() / 100;
        assert!((300..1200).contains(&per_span), "{per_span} bytes per span");
    }
}
