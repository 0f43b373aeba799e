//! Test harness of the socket log receivers: a factory's receiver started on a free
//! 127.0.0.1 port with a recording consumer behind it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::{Batch, Request};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind, Receiver, Telemetry};

/// One delivered log record, flattened for comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    pub body: String,
    pub attrs: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
    pub severity: i32,
    pub severity_text: String,
    pub time: u64,
}

impl Rec {
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
}

pub fn text(v: &Option<AnyValue>) -> String {
    use any_value::Value as V;
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        None => "<nil>".into(),
        Some(V::StringValue(s)) => s.clone(),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::DoubleValue(d)) => d.to_string(),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::KvlistValue(kv)) => format!("{:?}", flat(&kv.values)),
        Some(other) => format!("{other:?}"),
    }
}

pub fn flat(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

/// Keeps what it is given; refuses with the queued errors first, one per call.
#[derive(Default)]
pub struct Sink {
    batches: Mutex<Vec<Batch>>,
    refusals: Mutex<VecDeque<ConsumeError>>,
}

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        if let Some(e) = self.refusals.lock().unwrap().pop_front() {
            return Err(e);
        }
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Sink {
    pub fn refuse(&self, errors: impl IntoIterator<Item = ConsumeError>) {
        self.refusals.lock().unwrap().extend(errors);
    }

    pub fn records(&self) -> Vec<Rec> {
        let mut out = Vec::new();
        for b in self.batches.lock().unwrap().iter() {
            let Request::Logs(req) = b.clone().into_request().expect("decodable") else {
                panic!("not logs")
            };
            for rl in req.resource_logs {
                let resource = flat(&rl.resource.map(|r| r.attributes).unwrap_or_default());
                for sl in rl.scope_logs {
                    for r in sl.log_records {
                        out.push(Rec {
                            body: text(&r.body),
                            attrs: flat(&r.attributes),
                            resource: resource.clone(),
                            severity: r.severity_number,
                            severity_text: r.severity_text,
                            time: r.time_unix_nano,
                        });
                    }
                }
            }
        }
        out
    }

    /// Waits until `n` records arrived (panics after 10 s), then a little more to catch
    /// extra ones, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Rec> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.records().len() < n {
            let bodies: Vec<String> = self.records().into_iter().map(|r| r.body).collect();
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} records; got {bodies:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.records()
    }
}

/// A port that was free a moment ago on 127.0.0.1 for both TCP and UDP. Taken below the
/// kernel's ephemeral range (32768-60999): a port the kernel handed out for `:0` can be handed
/// out again at once as the source port of another test's outgoing connection, which made
/// `start` fail now and then with "Address already in use".
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..1000 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        let port = 20_000 + (h.finish() % 12_000) as u16;
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000 on 127.0.0.1")
}

pub struct Running {
    pub receiver: Arc<dyn Receiver>,
    pub telemetry: Telemetry,
    pub id: String,
}

impl Running {
    pub async fn stop(self) {
        self.receiver.shutdown().await.expect("shutdown");
    }

    pub fn metric(&self, name: &str) -> f64 {
        self.telemetry
            .value(name, &[("receiver", self.id.as_str())])
            .unwrap_or(0.0)
    }
}

/// The config error as the user sees it.
pub fn parse_err(factory: &dyn ReceiverFactory, yaml: &str) -> String {
    let value = config::Value::from_yaml_str(yaml).expect("test yaml");
    match factory.parse_config(&value, "receivers::x") {
        Ok(_) => panic!("config accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

/// `yaml` parsed, created and started.
pub async fn start(factory: &dyn ReceiverFactory, yaml: &str, sink: &Arc<Sink>) -> Running {
    let value = config::Value::from_yaml_str(yaml).expect("test yaml");
    let cfg = factory
        .parse_config(&value, "receivers::x")
        .unwrap_or_else(|e| panic!("{e}"));
    let telemetry = Telemetry::default();
    let id = factory.type_name().to_string();
    let set = Settings {
        id: config::ComponentId::new(&id),
        kind: Kind::Receiver,
        telemetry: telemetry.clone(),
    };
    let mut outputs = ReceiverOutputs::default();
    outputs.set(pdata::Signal::Logs, sink.clone());
    let receiver = factory.create(set, &cfg, outputs).expect("create");
    receiver.start(&Host::default()).await.expect("start");
    Running {
        receiver,
        telemetry,
        id,
    }
}
