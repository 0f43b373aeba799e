use std::collections::HashMap;
use std::sync::Arc;

use ::config::{ComponentId, Value};
use pdata::{Batch, Signal};
use runtime::factory::{ExporterFactory, ExtensionFactory, Settings};
use runtime::{Extension, Host, Kind, Telemetry};

use super::{Config, EmbeddedStore, Factory};

fn settings(type_: &str, kind: Kind, tel: &Telemetry) -> Settings {
    Settings {
        id: ComponentId::new(type_),
        kind,
        telemetry: tel.clone(),
    }
}

fn parse(yaml: &str) -> Result<Config, String> {
    let v = Value::from_yaml_str(yaml).unwrap();
    Factory
        .parse_config(&v, "extensions::embedded_store")
        .map(|c| runtime::factory::typed::<Config>(&c).clone())
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_and_validation() {
    let c = parse("{}").unwrap();
    assert_eq!(c.endpoint, "localhost:16686");
    assert_eq!(c.directory, "ferrotel-data");
    assert_eq!(c.max_size_mib, 1024);
    assert!(c.derived_metrics);
    assert!(
        parse("max_size_mib: 0")
            .unwrap_err()
            .contains("max_size_mib must be positive")
    );
    assert!(
        parse("directory: ''")
            .unwrap_err()
            .contains("directory must be set")
    );
    assert!(parse("directory: ''\nin_memory: true").is_ok());
    assert!(parse("nope: 1").unwrap_err().contains("nope"));
}

#[tokio::test]
async fn the_exporter_writes_every_signal_into_the_extensions_store_and_derives_red_metrics() {
    let tel = Telemetry::default();
    let cfg = Factory
        .parse_config(
            &Value::from_yaml_str("endpoint: 127.0.0.1:0\nin_memory: true").unwrap(),
            "extensions::embedded_store",
        )
        .unwrap();
    let ext = Factory
        .create(settings("embedded_store", Kind::Extension, &tel), &cfg)
        .unwrap();
    ext.start(&Host::default()).await.unwrap();
    let host = Host {
        extensions: HashMap::from([(
            ComponentId::new("embedded_store"),
            ext.clone() as Arc<dyn Extension>,
        )]),
        ..Host::default()
    };
    let f = crate::exporters::embedded_store::Factory;
    let ecfg = f
        .parse_config(
            &Value::from_yaml_str("sending_queue: {enabled: false}").unwrap(),
            "exporters::embedded_store",
        )
        .unwrap();
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let e = f
            .create(
                settings("embedded_store", Kind::Exporter, &tel),
                &ecfg,
                signal,
            )
            .unwrap();
        e.start(&host).await.unwrap();
        let batch = Batch::from_request(pdata::testdata::request(signal, 2, 3, 7));
        e.consume(batch).await.unwrap();
        e.shutdown().await.unwrap();
    }
    let es = ext.as_any().downcast_ref::<EmbeddedStore>().unwrap();
    let s = es.store().unwrap();
    use std::sync::atomic::Ordering::Relaxed;
    assert!(s.stats().spans.load(Relaxed) > 0);
    assert!(s.stats().log_records.load(Relaxed) > 0);
    assert!(s.stats().samples.load(Relaxed) > 0);
    // The query API answers on the extension's port.
    let addr = es.local_addr().unwrap();
    let body = reqwest::get(format!("http://{addr}/api/services"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("\"data\""), "{body}");
    // The self-metrics see the store.
    assert!(tel.render().contains("otelcol_store_size_bytes"));
    // The span_metrics connector inside the extension flushes at shutdown, into the store.
    ext.shutdown().await.unwrap();
    let calls = store::query::Matcher::new(
        "__name__",
        store::query::MatchOp::Equal,
        "traces_span_metrics_calls_total",
    )
    .unwrap();
    let series = s.series(&[calls], i64::MIN, i64::MAX);
    assert!(!series.is_empty(), "no derived RED series");
    assert!(
        series
            .iter()
            .all(|l| !store::query::label(l, "service_name").is_empty())
    );
}

#[tokio::test]
async fn the_exporter_refuses_to_start_without_an_embedded_store_extension() {
    let tel = Telemetry::default();
    let f = crate::exporters::embedded_store::Factory;
    let ecfg = f
        .parse_config(
            &Value::from_yaml_str("{}").unwrap(),
            "exporters::embedded_store",
        )
        .unwrap();
    let e = f
        .create(
            settings("embedded_store", Kind::Exporter, &tel),
            &ecfg,
            Signal::Traces,
        )
        .unwrap();
    let err = e.start(&Host::default()).await.unwrap_err();
    assert!(err.contains("no embedded_store extension"), "{err}");
}

#[tokio::test]
async fn the_collector_status_shows_the_pipelines_and_the_spans_a_receiver_accepted() {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let http = free();
    let yaml = format!(
        "receivers: {{otlp: {{protocols: {{http: {{endpoint: '127.0.0.1:{http}'}}}}}}}}
processors: {{batch: {{timeout: 10ms}}}}
exporters: {{embedded_store: {{}}}}
extensions: {{embedded_store: {{endpoint: '127.0.0.1:0', in_memory: true}}}}
service:
  extensions: [embedded_store]
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [embedded_store]}}
    logs/store: {{receivers: [otlp], exporters: [embedded_store]}}
"
    );
    let cfg = ::config::load_from_str(&yaml).unwrap();
    let parsed = runtime::graph::parse(&crate::registry(), cfg).unwrap();
    let tel = Telemetry::default();
    let built = runtime::graph::build(&parsed, &tel).unwrap();
    let service = runtime::service::Service::new(built);
    service.start().await.unwrap();
    let addr = service
        .host()
        .extensions
        .values()
        .find_map(|e| e.as_any().downcast_ref::<EmbeddedStore>())
        .unwrap()
        .local_addr()
        .unwrap();
    let status = || async {
        reqwest::get(format!("http://{addr}/api/ferrotel/collector"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .parse::<serde_json::Value>()
            .unwrap()
    };
    let accepted = |s: &serde_json::Value| {
        s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| {
                m["name"] == "otelcol_receiver_accepted_spans"
                    && m["labels"]["receiver"] == "otlp"
                    && m["labels"]["transport"] == "http"
            })
            .map(|m| m["value"].as_f64().unwrap())
    };
    let before = status().await;
    assert_eq!(before["version"], env!("CARGO_PKG_VERSION"));
    assert!(before["start_time_unix_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(before["uptime_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(before["extensions"], serde_json::json!(["embedded_store"]));
    let pipelines = before["pipelines"].as_array().unwrap();
    let traces = pipelines.iter().find(|p| p["name"] == "traces").unwrap();
    assert_eq!(
        traces,
        &serde_json::json!({"name": "traces", "signal": "traces", "receivers": ["otlp"],
            "processors": ["batch"], "exporters": ["embedded_store"], "connectors": []})
    );
    let logs = pipelines
        .iter()
        .find(|p| p["name"] == "logs/store")
        .unwrap();
    assert_eq!(logs["signal"], "logs");
    assert_eq!(logs["processors"], serde_json::json!([]));
    assert_eq!(accepted(&before), Some(0.0));
    // Only the collector's own series, each with a kind and a numeric value.
    for m in before["metrics"].as_array().unwrap() {
        assert!(m["name"].as_str().unwrap().starts_with("otelcol_"), "{m}");
        assert!(
            ["counter", "gauge"].contains(&m["kind"].as_str().unwrap()),
            "{m}"
        );
        assert!(m["labels"].is_object() && m["value"].is_number(), "{m}");
    }

    // Three spans over OTLP/HTTP JSON.
    let spans: Vec<serde_json::Value> = (1..=3)
        .map(|i| {
            serde_json::json!({"traceId": "0102030405060708090a0b0c0d0e0f10",
                "spanId": format!("00000000000000{i:02}"), "name": "op", "kind": 2,
                "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000"})
        })
        .collect();
    let body = serde_json::json!({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{"spans": spans}]}]});
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{http}/v1/traces"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let after = status().await;
    assert_eq!(accepted(&after), Some(3.0), "{after}");
    // The batch processor's and the exporter's series are there too, with their labels.
    let names: Vec<&str> = after["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"otelcol_exporter_sent_spans"), "{names:?}");
    assert!(names.contains(&"otelcol_store_size_bytes"), "{names:?}");
    service.shutdown(std::time::Duration::from_secs(5)).await;
}
