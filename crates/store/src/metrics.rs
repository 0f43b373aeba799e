//! Metric samples as Prometheus sees them: series named and labelled the way the Go
//! `prometheus`/`prometheusremotewrite` exporters name OTLP metrics (OTLP ingest goes
//! through `promtranslate`, remote write arrives named), float samples, native histograms
//! (kept in their remote-write encoding) and exemplars. Blocks are sorted by series then
//! time and list their series with the pages each occupies, so a selector reads only the
//! pages of the series it matches.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use promtranslate::prompb::{self, TimeSeries};
use prost::Message;

use crate::codec::{
    Reader, Result, decode_labels, encode_labels, put_bytes, put_ivarint, put_uvarint,
};
use crate::logs::Labels;
use crate::table::Schema;

#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Float(f64),
    /// A native histogram, `prompb::Histogram` encoded.
    Histogram(Bytes),
    /// An exemplar of the series at this time.
    Exemplar {
        value: f64,
        labels: Arc<Labels>,
    },
}

#[derive(Debug, Clone)]
pub struct MetricRow {
    /// Sorted by name, `__name__` included.
    pub labels: Arc<Labels>,
    pub t_ms: i64,
    pub sample: Sample,
}

impl MetricRow {
    pub fn histogram(&self) -> Option<prompb::Histogram> {
        match &self.sample {
            Sample::Histogram(b) => prompb::Histogram::decode(&b[..]).ok(),
            _ => None,
        }
    }
}

/// Rows of remote-write series. Labels are sorted (remote write requires it; OTLP
/// translation produces it) and a series without `__name__` is skipped.
pub(crate) fn rows(series: &[TimeSeries]) -> (Vec<MetricRow>, usize) {
    let mut out = Vec::new();
    let mut invalid = 0;
    for ts in series {
        let mut l: Labels = ts
            .labels
            .iter()
            .filter(|l| !l.value.is_empty())
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        l.sort();
        l.dedup_by(|a, b| a.0 == b.0);
        if !l.iter().any(|(k, _)| k == "__name__") {
            invalid += ts.samples.len() + ts.histograms.len();
            continue;
        }
        let labels = Arc::new(l);
        for s in &ts.samples {
            out.push(MetricRow {
                labels: labels.clone(),
                t_ms: s.timestamp,
                sample: Sample::Float(s.value),
            });
        }
        for h in &ts.histograms {
            out.push(MetricRow {
                labels: labels.clone(),
                t_ms: h.timestamp,
                sample: Sample::Histogram(Bytes::from(h.encode_to_vec())),
            });
        }
        for e in &ts.exemplars {
            let mut el: Labels = e
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            el.sort();
            out.push(MetricRow {
                labels: labels.clone(),
                t_ms: e.timestamp,
                sample: Sample::Exemplar {
                    value: e.value,
                    labels: Arc::new(el),
                },
            });
        }
    }
    (out, invalid)
}

pub(crate) struct MetricMeta {
    /// Series of the block, sorted, with the range of pages holding their rows.
    pub series: Vec<(Arc<Labels>, u32, u32)>,
}

pub(crate) struct Metrics;

impl Schema for Metrics {
    type Row = MetricRow;
    type Meta = MetricMeta;
    const NAME: &'static str = "metrics";

    fn time(r: &MetricRow) -> i64 {
        r.t_ms
    }

    fn size(r: &MetricRow) -> usize {
        48 + match &r.sample {
            Sample::Float(_) => 0,
            Sample::Histogram(b) => b.len(),
            Sample::Exemplar { labels, .. } => 32 + labels.len() * 48,
        }
    }

    fn sort(rows: &mut [&MetricRow]) {
        rows.sort_by(|a, b| a.labels.cmp(&b.labels).then(a.t_ms.cmp(&b.t_ms)));
    }

    fn encode_page(rows: &[&MetricRow], out: &mut Vec<u8>) -> usize {
        // Rows are sorted by series: a run of one series is written as its labels once.
        let mut series = Vec::new();
        let mut times = Vec::new();
        let mut values = Vec::new();
        let mut extra = Vec::new();
        let mut runs = 0u64;
        let mut i = 0;
        while i < rows.len() {
            let l = &rows[i].labels;
            let mut j = i;
            while j < rows.len() && (Arc::ptr_eq(&rows[j].labels, l) || rows[j].labels == *l) {
                j += 1;
            }
            runs += 1;
            encode_labels(l, &mut series);
            put_uvarint(&mut series, (j - i) as u64);
            let mut prev_t = 0i64;
            let mut prev_v = 0u64;
            for r in &rows[i..j] {
                put_ivarint(&mut times, r.t_ms.wrapping_sub(prev_t));
                prev_t = r.t_ms;
                match &r.sample {
                    Sample::Float(v) => {
                        values.push(0);
                        // XOR with the previous value: equal leading bits become zero
                        // bytes, which zstd packs.
                        let bits = v.to_bits();
                        values.extend_from_slice(&(bits ^ prev_v).to_le_bytes());
                        prev_v = bits;
                    }
                    Sample::Histogram(b) => {
                        values.push(1);
                        put_bytes(&mut extra, b);
                    }
                    Sample::Exemplar { value, labels } => {
                        values.push(2);
                        values.extend_from_slice(&value.to_bits().to_le_bytes());
                        encode_labels(labels, &mut extra);
                    }
                }
            }
            i = j;
        }
        put_uvarint(out, runs);
        for col in [&series, &times, &values, &extra] {
            put_bytes(out, col);
        }
        0
    }

    fn decode_page(page: &[u8]) -> Result<Vec<MetricRow>> {
        let mut r = Reader::new(page);
        let runs = r.len()?;
        let mut series = Reader::new(r.bytes()?);
        let mut times = Reader::new(r.bytes()?);
        let mut values = Reader::new(r.bytes()?);
        let extra_col = r.bytes()?;
        let extra_all = Bytes::copy_from_slice(extra_col);
        let mut extra = Reader::new(extra_col);
        let mut out = Vec::new();
        for _ in 0..runs {
            let labels = Arc::new(decode_labels(&mut series)?);
            // Each sample takes at least a byte of the time column.
            let n = series.uvarint()?;
            if n > times.remaining() as u64 {
                return Err("sample count exceeds the page".into());
            }
            let mut prev_t = 0i64;
            let mut prev_v = 0u64;
            for _ in 0..n {
                prev_t = prev_t.wrapping_add(times.ivarint()?);
                let sample = match values.u8()? {
                    0 => {
                        prev_v ^= values.u64_le()?;
                        Sample::Float(f64::from_bits(prev_v))
                    }
                    1 => Sample::Histogram(extra_all.slice(extra.bytes_range()?)),
                    2 => Sample::Exemplar {
                        value: f64::from_bits(values.u64_le()?),
                        labels: Arc::new(decode_labels(&mut extra)?),
                    },
                    k => return Err(format!("unknown sample kind {k}")),
                };
                out.push(MetricRow {
                    labels: labels.clone(),
                    t_ms: prev_t,
                    sample,
                });
            }
        }
        Ok(out)
    }

    fn build_meta(rows: &[&MetricRow], pages: &[Range<usize>]) -> MetricMeta {
        let mut series: Vec<(Arc<Labels>, u32, u32)> = Vec::new();
        for (pi, p) in pages.iter().enumerate() {
            for r in &rows[p.clone()] {
                match series.last_mut() {
                    Some(last) if *last.0 == *r.labels => last.2 = pi as u32,
                    _ => series.push((r.labels.clone(), pi as u32, pi as u32)),
                }
            }
        }
        MetricMeta { series }
    }

    fn encode_meta(m: &MetricMeta, out: &mut Vec<u8>) {
        put_uvarint(out, m.series.len() as u64);
        for (l, a, b) in &m.series {
            encode_labels(l, out);
            put_uvarint(out, (*a).into());
            put_uvarint(out, (*b).into());
        }
    }

    fn decode_meta(r: &mut Reader) -> Result<MetricMeta> {
        let n = r.len()?;
        let mut series = Vec::with_capacity(n);
        for _ in 0..n {
            series.push((
                Arc::new(decode_labels(r)?),
                r.uvarint()? as u32,
                r.uvarint()? as u32,
            ));
        }
        Ok(MetricMeta { series })
    }

    fn meta_bytes(m: &MetricMeta) -> usize {
        m.series.iter().map(|s| 40 + s.0.len() * 48).sum()
    }
}

/// `/api/v1/metadata` entries, from OTLP metric types (remote write 1.0 may carry them too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadata {
    pub r#type: &'static str,
    pub help: String,
    pub unit: String,
}

pub(crate) fn metadata_of(req: &prompb::WriteRequest) -> Vec<(String, MetricMetadata)> {
    req.metadata
        .iter()
        .map(|m| {
            let ty = match prompb::MetricType::try_from(m.r#type)
                .unwrap_or(prompb::MetricType::Unknown)
            {
                prompb::MetricType::Counter => "counter",
                prompb::MetricType::Gauge => "gauge",
                prompb::MetricType::Histogram => "histogram",
                prompb::MetricType::Gaugehistogram => "gaugehistogram",
                prompb::MetricType::Summary => "summary",
                prompb::MetricType::Info => "info",
                prompb::MetricType::Stateset => "stateset",
                prompb::MetricType::Unknown => "unknown",
            };
            (
                m.metric_family_name.clone(),
                MetricMetadata {
                    r#type: ty,
                    help: m.help.clone(),
                    unit: m.unit.clone(),
                },
            )
        })
        .collect()
}
