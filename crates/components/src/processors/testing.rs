//! Test helpers for processors: build one through its factory from YAML, and a next
//! consumer that keeps what it is given.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{ProcessorFactory, Settings};
use runtime::{ConsumeError, Consumer, Kind, Processor, Telemetry};

/// Keeps every batch it is given.
#[derive(Default)]
pub struct Collect(Mutex<Vec<Batch>>);

#[async_trait]
impl Consumer for Collect {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Collect {
    /// The batches received so far.
    pub fn batches(&self) -> Vec<Batch> {
        self.0.lock().unwrap().clone()
    }

    /// The decoded requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.clone().into_request().expect("decodable"))
            .collect()
    }
}

/// Parses `yaml` as the config of `factory` at `path`; the error as the user sees it.
pub fn parse(
    factory: &dyn ProcessorFactory,
    path: &str,
    yaml: &str,
) -> Result<runtime::AnyConfig, String> {
    let value = ::config::Value::from_yaml_str(yaml).expect("test yaml");
    factory
        .parse_config(&value, path)
        .map_err(|e| e.to_string())
}

/// A processor, the consumer after it, and its telemetry.
pub type Created = (Arc<dyn Processor>, Arc<Collect>, Telemetry);

/// A processor of `factory` for `signal`, feeding a [`Collect`].
pub fn create(
    factory: &dyn ProcessorFactory,
    yaml: &str,
    signal: Signal,
) -> Result<Created, String> {
    let cfg = parse(
        factory,
        &format!("processors::{}", factory.type_name()),
        yaml,
    )?;
    let sink = Arc::new(Collect::default());
    let tel = Telemetry::default();
    let set = Settings {
        id: ::config::ComponentId::new(factory.type_name()),
        kind: Kind::Processor,
        telemetry: tel.clone(),
    };
    let p = factory.create(set, &cfg, signal, sink.clone())?;
    Ok((p, sink, tel))
}
