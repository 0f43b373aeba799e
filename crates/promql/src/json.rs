//! Results in the shape of Prometheus' HTTP API (`data` of `/api/v1/query` and
//! `/query_range`): the API layer wraps it as `{"status":"success","data":...}`.

use crate::{FloatHistogram, Labels, SampleValue, Value, format_value};
use serde_json::{Map, Value as J, json};

fn ts(t_ms: i64) -> J {
    // Seconds with millisecond precision, as a JSON number (1435781451.781).
    if t_ms % 1000 == 0 {
        json!(t_ms / 1000)
    } else {
        json!(t_ms as f64 / 1000.0)
    }
}

pub fn metric(labels: &Labels) -> J {
    let mut m = Map::new();
    for (k, v) in labels {
        m.insert(k.clone(), J::String(v.clone()));
    }
    J::Object(m)
}

/// A native histogram: count, sum and the populated buckets as
/// `[boundary_rule, lower, upper, count]` (rule 0: `(l,u]`, 1: `[l,u)`, 2: `(l,u)`, 3: `[l,u]`).
pub fn histogram(h: &FloatHistogram) -> J {
    let mut m = Map::new();
    m.insert("count".into(), J::String(format_value(h.count)));
    m.insert("sum".into(), J::String(format_value(h.sum)));
    let buckets: Vec<J> = h
        .all_buckets()
        .into_iter()
        .filter(|b| b.count != 0.0)
        .map(|b| {
            let rule = match (b.lower_inclusive, b.upper_inclusive) {
                (true, true) => 3,
                (true, false) => 1,
                (false, true) => 0,
                (false, false) => 2,
            };
            json!([
                rule,
                format_value(b.lower),
                format_value(b.upper),
                format_value(b.count)
            ])
        })
        .collect();
    if !buckets.is_empty() {
        m.insert("buckets".into(), J::Array(buckets));
    }
    J::Object(m)
}

/// The `data` object for a query result.
pub fn data(v: &Value) -> J {
    match v {
        Value::Scalar(t, f) => {
            json!({"resultType": "scalar", "result": [ts(*t), format_value(*f)]})
        }
        Value::String(t, s) => json!({"resultType": "string", "result": [ts(*t), s]}),
        Value::Vector(samples) => {
            let result: Vec<J> = samples
                .iter()
                .map(|s| match &s.value {
                    SampleValue::Float(f) => {
                        json!({"metric": metric(&s.labels), "value": [ts(s.t), format_value(*f)]})
                    }
                    SampleValue::Histogram(h) => {
                        json!({"metric": metric(&s.labels), "histogram": [ts(s.t), histogram(h)]})
                    }
                })
                .collect();
            json!({"resultType": "vector", "result": result})
        }
        Value::Matrix(series) => {
            let result: Vec<J> = series
                .iter()
                .map(|s| {
                    let mut o = Map::new();
                    o.insert("metric".into(), metric(&s.labels));
                    if !s.floats.is_empty() {
                        let vals: Vec<J> = s
                            .floats
                            .iter()
                            .map(|(t, f)| json!([ts(*t), format_value(*f)]))
                            .collect();
                        o.insert("values".into(), J::Array(vals));
                    }
                    if !s.histograms.is_empty() {
                        let hs: Vec<J> = s
                            .histograms
                            .iter()
                            .map(|(t, h)| json!([ts(*t), histogram(h)]))
                            .collect();
                        o.insert("histograms".into(), J::Array(hs));
                    }
                    J::Object(o)
                })
                .collect();
            json!({"resultType": "matrix", "result": result})
        }
    }
}
