//! Loki's HTTP JSON `data` object for a query result (docs: loki-http-api.md).

use serde_json::{Map, Value as J, json};

use crate::{Labels, Value};

fn labels_obj(l: &Labels) -> J {
    let mut m = Map::new();
    for (k, v) in l {
        m.insert(k.clone(), J::String(v.clone()));
    }
    J::Object(m)
}

/// Seconds as Prometheus/Loki print sample timestamps: millisecond precision, no trailing
/// `.0` for whole seconds.
fn ts_secs(ns: i64) -> J {
    let ms = ns.div_euclid(1_000_000);
    if ms % 1000 == 0 {
        J::from(ms / 1000)
    } else {
        serde_json::Number::from_f64(ms as f64 / 1000.0).map_or(J::Null, J::Number)
    }
}

/// A sample value as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// The `stats` object: all counters zero except what the engine knows.
fn stats(entries: usize) -> J {
    json!({
        "summary": {
            "bytesProcessedPerSecond": 0, "linesProcessedPerSecond": 0,
            "totalBytesProcessed": 0, "totalLinesProcessed": 0,
            "execTime": 0, "queueTime": 0, "subqueries": 0,
            "totalEntriesReturned": entries, "splits": 0, "shards": 0,
            "totalPostFilterLines": 0, "totalStructuredMetadataBytesProcessed": 0
        },
        "querier": {"store": {}},
        "ingester": {},
        "cache": {}
    })
}

/// `{"resultType": .., "result": [..], "stats": {..}}`. Stream values are
/// `["<ns>", "<line>"]` in the order the engine returned them (newest first for backward).
pub fn to_loki_data(v: &Value) -> J {
    match v {
        Value::Streams(streams) => {
            let mut n = 0;
            let result: Vec<J> = streams
                .iter()
                .map(|s| {
                    n += s.entries.len();
                    json!({
                        "stream": labels_obj(&s.labels),
                        "values": s.entries.iter().map(|e| json!([e.ts_ns.to_string(), &*e.line])).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({"resultType": "streams", "result": result, "stats": stats(n)})
        }
        Value::Vector(samples) => {
            let result: Vec<J> = samples
                .iter()
                .map(|s| json!({"metric": labels_obj(&s.labels), "value": [ts_secs(s.ts_ns), format_value(s.value)]}))
                .collect();
            json!({"resultType": "vector", "result": result, "stats": stats(0)})
        }
        Value::Matrix(series) => {
            let result: Vec<J> = series
                .iter()
                .map(|s| {
                    json!({
                        "metric": labels_obj(&s.labels),
                        "values": s.points.iter().map(|(t, v)| json!([ts_secs(*t), format_value(*v)])).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({"resultType": "matrix", "result": result, "stats": stats(0)})
        }
        Value::Scalar(t, v) => {
            json!({"resultType": "scalar", "result": [ts_secs(*t), format_value(*v)], "stats": stats(0)})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entry, Sample, Series, Stream};

    #[test]
    fn shapes() {
        let v = Value::Streams(vec![Stream {
            labels: vec![("job".into(), "x".into())],
            entries: vec![Entry {
                ts_ns: 1_569_266_497_240_578_000,
                line: "foo".into(),
                metadata: vec![],
            }],
        }]);
        let j = to_loki_data(&v);
        assert_eq!(j["resultType"], "streams");
        assert_eq!(j["result"][0]["stream"]["job"], "x");
        assert_eq!(
            j["result"][0]["values"][0],
            json!(["1569266497240578000", "foo"])
        );
        let j = to_loki_data(&Value::Matrix(vec![Series {
            labels: vec![],
            points: vec![
                (1_588_889_221_000_000_000, 137.95),
                (1_588_889_221_500_000_000, 2.0),
            ],
        }]));
        assert_eq!(
            j["result"][0]["values"],
            json!([[1588889221, "137.95"], [1588889221.5, "2"]])
        );
        let j = to_loki_data(&Value::Vector(vec![Sample {
            labels: vec![],
            ts_ns: 2_000_000_000,
            value: f64::INFINITY,
        }]));
        assert_eq!(j["result"][0]["value"], json!([2, "+Inf"]));
        assert_eq!(
            to_loki_data(&Value::Scalar(1_000_000_000, 2.0))["result"],
            json!([1, "2"])
        );
    }
}
