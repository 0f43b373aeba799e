use ::config::{ComponentId, Value};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::{Host, Kind, Telemetry};

use super::Factory;

#[tokio::test]
async fn nop_receiver_starts_and_stops_for_every_signal() {
    let cfg = Factory
        .parse_config(&Value::Null, "receivers::nop")
        .unwrap();
    assert_eq!(Factory.signals().len(), 3);
    let set = Settings {
        id: ComponentId::new("nop"),
        kind: Kind::Receiver,
        telemetry: Telemetry::default(),
    };
    let r = Factory
        .create(set, &cfg, ReceiverOutputs::default())
        .unwrap();
    r.start(&Host::default()).await.unwrap();
    r.shutdown().await.unwrap();
}

#[test]
fn nop_receiver_refuses_unknown_keys() {
    let err = Factory
        .parse_config(
            &Value::from_yaml_str("endpoint: x").unwrap(),
            "receivers::nop",
        )
        .expect_err("unknown key refused")
        .to_string();
    assert!(err.contains("endpoint"), "{err}");
}
