use ::config::{ComponentId, Value};
use pdata::{Batch, Signal};
use runtime::factory::{ExporterFactory, Settings};
use runtime::{Host, Kind, Telemetry};

use super::Factory;

fn settings() -> Settings {
    Settings {
        id: ComponentId::new("nop"),
        kind: Kind::Exporter,
        telemetry: Telemetry::default(),
    }
}

#[tokio::test]
async fn nop_exporter_accepts_and_drops_every_signal() {
    let cfg = Factory
        .parse_config(&Value::from_yaml_str("{}").unwrap(), "exporters::nop")
        .unwrap();
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let e = Factory.create(settings(), &cfg, signal).unwrap();
        e.start(&Host::default()).await.unwrap();
        let batch = Batch::from_request(pdata::testdata::request(signal, 2, 3, 7));
        assert_eq!(e.consume(batch).await, Ok(()));
        e.shutdown().await.unwrap();
    }
}

#[test]
fn nop_exporter_accepts_an_empty_config_and_refuses_unknown_keys() {
    assert!(Factory.parse_config(&Value::Null, "exporters::nop").is_ok());
    let err = Factory
        .parse_config(&Value::from_yaml_str("path: x").unwrap(), "exporters::nop")
        .expect_err("unknown key refused")
        .to_string();
    assert!(err.contains("path"), "{err}");
}
