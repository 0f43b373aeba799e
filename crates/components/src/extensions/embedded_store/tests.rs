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
