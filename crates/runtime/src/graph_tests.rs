//! Graph building and lifecycle, with small in-test components.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use config::{ConfigError, Value};
use pdata::{Batch, Request, Signal};

use crate::component::*;
use crate::factory::*;
use crate::graph::{build, parse};
use crate::registry::Registry;
use crate::service::Service;
use crate::telemetry::Telemetry;

type Log = Arc<Mutex<Vec<String>>>;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}
impl ComponentConfig for Empty {}

const ALL: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

/// Records lifecycle events and what it consumes into a shared log.
struct Probe {
    name: String,
    log: Log,
    next: Option<SharedConsumer>,
}

#[async_trait]
impl Component for Probe {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {}", self.name));
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), String> {
        self.log.lock().unwrap().push(format!("stop {}", self.name));
        Ok(())
    }
}

#[async_trait]
impl Consumer for Probe {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let _ = batch.signal();
        self.log
            .lock()
            .unwrap()
            .push(format!("consume {}", self.name));
        match &self.next {
            Some(n) => n.consume(batch).await,
            None => Ok(()),
        }
    }
}

impl Processor for Probe {}
impl Exporter for Probe {}
impl Connector for Probe {}

struct Rx {
    name: String,
    log: Log,
    outputs: ReceiverOutputs,
}

#[async_trait]
impl Component for Rx {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {}", self.name));
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), String> {
        self.log.lock().unwrap().push(format!("stop {}", self.name));
        Ok(())
    }
}
impl Receiver for Rx {}

struct Factories {
    log: Log,
    receivers: Arc<Mutex<Vec<Arc<Rx>>>>,
}

struct RxF(Arc<Factories>);
impl ReceiverFactory for RxF {
    fn type_name(&self) -> &'static str {
        "rx"
    }
    fn signals(&self) -> &[(Signal, Stability)] {
        ALL
    }
    fn parse_config(&self, v: &Value, p: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Empty>(v, p)
    }
    fn create(
        &self,
        set: Settings,
        _: &AnyConfig,
        outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        let rx = Arc::new(Rx {
            name: format!("receiver {}", set.id),
            log: self.0.log.clone(),
            outputs,
        });
        self.0.receivers.lock().unwrap().push(rx.clone());
        Ok(rx)
    }
}

struct TracesOnlyRxF;
impl ReceiverFactory for TracesOnlyRxF {
    fn type_name(&self) -> &'static str {
        "tracesonly"
    }
    fn signals(&self) -> &[(Signal, Stability)] {
        &[(Signal::Traces, Stability::Beta)]
    }
    fn parse_config(&self, v: &Value, p: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Empty>(v, p)
    }
    fn create(
        &self,
        _: Settings,
        _: &AnyConfig,
        _: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        Err("unused".into())
    }
}

struct ProcF(Arc<Factories>);
impl ProcessorFactory for ProcF {
    fn type_name(&self) -> &'static str {
        "proc"
    }
    fn signals(&self) -> &[(Signal, Stability)] {
        ALL
    }
    fn parse_config(&self, v: &Value, p: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Empty>(v, p)
    }
    fn create(
        &self,
        set: Settings,
        _: &AnyConfig,
        sig: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Processor>, String> {
        let name = format!("processor {} ({sig})", set.id);
        self.0.log.lock().unwrap().push(format!("create {name}"));
        Ok(Arc::new(Probe {
            name,
            log: self.0.log.clone(),
            next: Some(next),
        }))
    }
}

struct ExpF(Arc<Factories>);
impl ExporterFactory for ExpF {
    fn type_name(&self) -> &'static str {
        "exp"
    }
    fn signals(&self) -> &[(Signal, Stability)] {
        ALL
    }
    fn parse_config(&self, v: &Value, p: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Empty>(v, p)
    }
    fn create(
        &self,
        set: Settings,
        _: &AnyConfig,
        sig: Signal,
    ) -> Result<Arc<dyn Exporter>, String> {
        let name = format!("exporter {} ({sig})", set.id);
        self.0.log.lock().unwrap().push(format!("create {name}"));
        Ok(Arc::new(Probe {
            name,
            log: self.0.log.clone(),
            next: None,
        }))
    }
}

struct ConnF(Arc<Factories>);
impl ConnectorFactory for ConnF {
    fn type_name(&self) -> &'static str {
        "conn"
    }
    fn pairs(&self) -> &[(Signal, Signal, Stability)] {
        &[
            (Signal::Traces, Signal::Traces, Stability::Beta),
            (Signal::Traces, Signal::Metrics, Stability::Beta),
        ]
    }
    fn parse_config(&self, v: &Value, p: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Empty>(v, p)
    }
    fn create(
        &self,
        set: Settings,
        _: &AnyConfig,
        from: Signal,
        to: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Connector>, String> {
        let name = format!("connector {} ({from}->{to})", set.id);
        self.0.log.lock().unwrap().push(format!("create {name}"));
        Ok(Arc::new(Probe {
            name,
            log: self.0.log.clone(),
            next: Some(next),
        }))
    }
}

fn registry() -> (Registry, Arc<Factories>) {
    let f = Arc::new(Factories {
        log: Log::default(),
        receivers: Arc::default(),
    });
    let mut r = Registry::new();
    r.receiver(RxF(f.clone()));
    r.receiver(TracesOnlyRxF);
    r.processor(ProcF(f.clone()));
    r.exporter(ExpF(f.clone()));
    r.connector(ConnF(f.clone()));
    r.not_built(Kind::Receiver, &["filelog"]);
    r.alias(Kind::Exporter, "oldexp", "exp");
    (r, f)
}

fn traces_batch() -> Batch {
    Batch::from_request(Request::Traces(Default::default()))
}

fn parse_err(yaml: &str) -> String {
    let (r, _) = registry();
    let cfg = config::load_from_str(yaml).expect("loads");
    match parse(&r, cfg) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn shared_receiver_feeds_every_pipeline_and_exporter_is_shared_by_signal() {
    let (r, f) = registry();
    let cfg = config::load_from_str(
        "receivers: {rx: }\nprocessors: {proc: }\nexporters: {exp: }\nservice:\n  pipelines:\n    traces/a: {receivers: [rx], processors: [proc], exporters: [exp]}\n    traces/b: {receivers: [rx], processors: [proc], exporters: [exp]}\n    logs: {receivers: [rx], exporters: [exp]}\n",
    )
    .unwrap();
    let parsed = parse(&r, cfg).unwrap();
    build(&parsed, &Telemetry::default()).unwrap();
    let created: Vec<String> = f.log.lock().unwrap().clone();
    // One exporter per (id, signal); one processor per pipeline.
    assert_eq!(
        created
            .iter()
            .filter(|l| l.starts_with("create exporter exp (traces)"))
            .count(),
        1,
        "{created:?}"
    );
    assert_eq!(
        created
            .iter()
            .filter(|l| l.starts_with("create exporter exp (logs)"))
            .count(),
        1
    );
    assert_eq!(
        created
            .iter()
            .filter(|l| l.starts_with("create processor proc (traces)"))
            .count(),
        2
    );
    let rx = f.receivers.lock().unwrap().clone();
    assert_eq!(rx.len(), 1, "one receiver instance for both signals");
    assert!(rx[0].outputs.metrics.is_none());
    f.log.lock().unwrap().clear();
    rx[0]
        .outputs
        .traces
        .as_ref()
        .unwrap()
        .consume(traces_batch())
        .await
        .unwrap();
    let log = f.log.lock().unwrap().clone();
    assert_eq!(
        log.iter()
            .filter(|l| *l == "consume processor proc (traces)")
            .count(),
        2,
        "{log:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|l| *l == "consume exporter exp (traces)")
            .count(),
        2,
        "fan-in: {log:?}"
    );
}

#[tokio::test]
async fn connector_joins_pipelines_and_converts_signals() {
    let (r, f) = registry();
    let cfg = config::load_from_str(
        "receivers: {rx: }\nexporters: {exp: }\nconnectors: {conn: }\nservice:\n  pipelines:\n    traces/in: {receivers: [rx], exporters: [conn]}\n    traces/out: {receivers: [conn], exporters: [exp]}\n    metrics/out: {receivers: [conn], exporters: [exp]}\n",
    )
    .unwrap();
    let parsed = parse(&r, cfg).unwrap();
    build(&parsed, &Telemetry::default()).unwrap();
    let rx = f.receivers.lock().unwrap()[0].clone();
    f.log.lock().unwrap().clear();
    rx.outputs
        .traces
        .as_ref()
        .unwrap()
        .consume(traces_batch())
        .await
        .unwrap();
    let log = f.log.lock().unwrap().clone();
    assert!(
        log.contains(&"consume connector conn (traces->traces)".to_string()),
        "{log:?}"
    );
    assert!(
        log.contains(&"consume connector conn (traces->metrics)".to_string()),
        "{log:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("consume exporter exp"))
            .count(),
        2,
        "{log:?}"
    );
}

#[tokio::test]
async fn starts_downstream_first_and_stops_receivers_first() {
    let (r, f) = registry();
    let cfg = config::load_from_str(
        "receivers: {rx: }\nprocessors: {proc/1: , proc/2: }\nexporters: {exp: }\nservice:\n  pipelines:\n    traces: {receivers: [rx], processors: [proc/1, proc/2], exporters: [exp]}\n",
    )
    .unwrap();
    let parsed = parse(&r, cfg).unwrap();
    let svc = Service::new(build(&parsed, &Telemetry::default()).unwrap());
    f.log.lock().unwrap().clear();
    svc.start().await.unwrap();
    svc.shutdown(std::time::Duration::from_secs(1)).await;
    let log = f.log.lock().unwrap().clone();
    assert_eq!(
        log,
        vec![
            "start exporter exp (traces)",
            "start processor proc/2 (traces)",
            "start processor proc/1 (traces)",
            "start receiver rx",
            "stop receiver rx",
            "stop processor proc/1 (traces)",
            "stop processor proc/2 (traces)",
            "stop exporter exp (traces)",
        ]
    );
}

#[test]
fn unknown_type_lists_valid_values() {
    let e = parse_err(
        "receivers: {nope/x: }\nexporters: {exp: }\nservice: {pipelines: {traces: {receivers: [nope/x], exporters: [exp]}}}\n",
    );
    assert_eq!(
        e,
        "receivers::nope/x: unknown type: \"nope\" for id: \"nope/x\" (valid values: [rx tracesonly])"
    );
}

#[test]
fn type_of_the_go_collector_not_built_here_says_so() {
    let e = parse_err(
        "receivers: {filelog: }\nexporters: {exp: }\nservice: {pipelines: {logs: {receivers: [filelog], exporters: [exp]}}}\n",
    );
    assert!(
        e.starts_with(
            "receivers::filelog: the \"filelog\" receiver is not built into ferrotel yet"
        ),
        "{e}"
    );
}

#[test]
fn every_missing_type_is_reported_at_once() {
    let e = parse_err(
        "receivers: {filelog: , nope: }\nexporters: {exp: }\nservice: {pipelines: {logs: {receivers: [filelog], exporters: [exp]}}}\n",
    );
    assert!(
        e.contains("receivers::filelog:") && e.contains("receivers::nope:"),
        "{e}"
    );
}

#[test]
fn deprecated_alias_works_with_a_warning() {
    let (r, _) = registry();
    let cfg = config::load_from_str("receivers: {rx: }\nexporters: {oldexp: }\nservice: {pipelines: {logs: {receivers: [rx], exporters: [oldexp]}}}\n").unwrap();
    let parsed = parse(&r, cfg).unwrap();
    assert_eq!(parsed.warnings.len(), 1);
    assert!(
        parsed.warnings[0].contains("deprecated"),
        "{:?}",
        parsed.warnings
    );
    build(&parsed, &Telemetry::default()).unwrap();
}

#[test]
fn component_config_errors_name_the_path() {
    let e = parse_err(
        "receivers: {rx: {foo: 1}}\nexporters: {exp: }\nservice: {pipelines: {logs: {receivers: [rx], exporters: [exp]}}}\n",
    );
    assert_eq!(e, "receivers::rx: has invalid keys: foo");
}

#[test]
fn connector_used_only_as_exporter_is_an_error() {
    let e = parse_err(
        "receivers: {rx: }\nexporters: {exp: }\nconnectors: {conn: }\nservice: {pipelines: {traces: {receivers: [rx], exporters: [exp, conn]}}}\n",
    );
    assert_eq!(
        e,
        "connectors::conn: connector \"conn\" used as exporter in [traces] pipeline but not used in any supported receiver pipeline"
    );
}

#[test]
fn connector_loop_is_a_cycle() {
    let e = parse_err(
        "receivers: {rx: }\nexporters: {exp: }\nconnectors: {conn: }\nservice: {pipelines: {traces/a: {receivers: [rx, conn], exporters: [conn]}, traces/b: {receivers: [conn], exporters: [exp]}}}\n",
    );
    assert!(
        e.starts_with("cycle detected: traces/a -> connector \"conn\" -> traces/a"),
        "{e}"
    );
}

#[test]
fn receiver_without_the_signal_is_refused() {
    let e = parse_err(
        "receivers: {tracesonly: }\nexporters: {exp: }\nservice: {pipelines: {logs: {receivers: [tracesonly], exporters: [exp]}}}\n",
    );
    assert_eq!(
        e,
        "service::pipelines::logs: failed to create \"tracesonly\" receiver for data type \"logs\": telemetry type is not supported"
    );
}

#[test]
fn ambiguous_connector_and_exporter_id_is_an_error() {
    let (mut r, f) = registry();
    struct ConnNamedExp(Arc<Factories>);
    impl ConnectorFactory for ConnNamedExp {
        fn type_name(&self) -> &'static str {
            "exp"
        }
        fn pairs(&self) -> &[(Signal, Signal, Stability)] {
            &[(Signal::Traces, Signal::Traces, Stability::Beta)]
        }
        fn parse_config(&self, v: &Value, p: &str) -> Result<AnyConfig, ConfigError> {
            parse_config::<Empty>(v, p)
        }
        fn create(
            &self,
            _: Settings,
            _: &AnyConfig,
            _: Signal,
            _: Signal,
            _: SharedConsumer,
        ) -> Result<Arc<dyn Connector>, String> {
            Err(self.0.log.lock().unwrap().len().to_string())
        }
    }
    r.connector(ConnNamedExp(f));
    let cfg = config::load_from_str("receivers: {rx: }\nexporters: {exp: }\nconnectors: {exp: }\nservice: {pipelines: {traces: {receivers: [rx], exporters: [exp]}}}\n").unwrap();
    let e = parse(&r, cfg).err().expect("ambiguous").to_string();
    assert!(
        e.starts_with(
            "connectors::exp: ambiguous ID: Found both \"exp\" exporter and \"exp\" connector."
        ),
        "{e}"
    );
}

// ------------------------------------------------------- status and the host's view

/// An extension that records every status event and the view it was started with.
#[derive(Default)]
struct Watcher {
    events: Mutex<Vec<String>>,
    view: Mutex<Option<Arc<crate::view::ServiceView>>>,
}

#[async_trait]
impl Component for Watcher {
    async fn start(&self, host: &Host) -> Result<(), String> {
        *self.view.lock().unwrap() = Some(host.service.clone());
        Ok(())
    }
}

impl Extension for Watcher {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn component_status_changed(
        &self,
        source: &crate::status::InstanceId,
        event: &crate::status::Event,
    ) {
        self.events.lock().unwrap().push(format!(
            "{}:{} [{}] {}",
            source.kind,
            source.id,
            source.pipelines.join(","),
            event.status
        ));
    }
}

struct WatchF(Arc<Watcher>);
impl ExtensionFactory for WatchF {
    fn type_name(&self) -> &'static str {
        "watch"
    }
    fn stability(&self) -> Stability {
        Stability::Beta
    }
    fn parse_config(&self, v: &Value, p: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Empty>(v, p)
    }
    fn create(&self, _: Settings, _: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn extensions_hear_each_instances_status_and_see_the_pipelines() {
    let (mut r, _f) = registry();
    let w = Arc::new(Watcher::default());
    r.extension(WatchF(w.clone()));
    let cfg = config::load_from_str(
        "receivers: {rx: }\nprocessors: {proc: }\nexporters: {exp: }\nconnectors: {conn: }\nextensions: {watch: }\nservice:\n  extensions: [watch]\n  pipelines:\n    traces: {receivers: [rx], processors: [proc], exporters: [exp, conn]}\n    metrics/2: {receivers: [conn, rx], exporters: [exp]}\n",
    )
    .unwrap();
    let parsed = parse(&r, cfg).unwrap();
    let svc = Service::new(build(&parsed, &Telemetry::default()).unwrap());
    svc.start().await.unwrap();
    let view = w
        .view
        .lock()
        .unwrap()
        .clone()
        .expect("started with the host");
    let names: Vec<_> = view.pipelines.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["traces", "metrics/2"]);
    assert_eq!(view.pipelines[0].processors, vec!["proc"]);
    assert_eq!(view.pipelines[0].exporters, vec!["exp", "conn"]);
    assert_eq!(view.pipelines[1].receivers, vec!["conn", "rx"]);
    assert_eq!(view.pipelines[0].connectors, vec!["conn"]);
    assert_eq!(view.extensions, vec!["watch"]);
    let cfg = &view.config;
    assert!(cfg.get("receivers").and_then(|r| r.get("rx")).is_some());
    let traces = cfg
        .get("service")
        .and_then(|s| s.get("pipelines"))
        .and_then(|p| p.get("traces"))
        .expect("service::pipelines::traces");
    assert_eq!(
        traces.get("exporters"),
        Some(&config::Value::Seq(vec![
            config::Value::String("exp".into()),
            config::Value::String("conn".into())
        ]))
    );

    // A push through the pipeline lands in its latency buckets.
    let rx = _f.receivers.lock().unwrap()[0].clone();
    rx.outputs
        .traces
        .as_ref()
        .unwrap()
        .consume(traces_batch())
        .await
        .unwrap();
    let snap = view.pipelines[0].latency.snapshot();
    assert_eq!(snap.buckets.iter().sum::<u64>(), 1);
    assert_eq!(snap.running, 0);

    svc.shutdown(std::time::Duration::from_secs(1)).await;
    let events = w.events.lock().unwrap().clone();
    for expected in [
        "extension:watch [] StatusStarting",
        "extension:watch [] StatusOK",
        "exporter:exp [traces] StatusStarting",
        "exporter:exp [traces] StatusOK",
        "exporter:exp [metrics/2] StatusOK",
        "processor:proc [traces] StatusOK",
        "connector:conn [traces,metrics/2] StatusOK",
        "receiver:rx [traces,metrics/2] StatusOK",
        "receiver:rx [traces,metrics/2] StatusStopping",
        "receiver:rx [traces,metrics/2] StatusStopped",
        "extension:watch [] StatusStopped",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} not in {events:#?}"
        );
    }
    // Stopping comes before Stopped for each instance, and OK before both.
    let pos = |s: &str| events.iter().position(|e| e == s).unwrap();
    assert!(
        pos("receiver:rx [traces,metrics/2] StatusOK")
            < pos("receiver:rx [traces,metrics/2] StatusStopping")
    );
}
