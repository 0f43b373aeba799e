//! `otlp_json_file` (deprecated alias `otlpjsonfile`): reads files of OTLP/JSON export
//! requests, one per line (what the `file` exporter writes with `format: json`), and sends
//! them down the pipelines of their signal, as Go's contrib `otlpjsonfilereceiver`.
//!
//! The files are found and read by [`fileconsumer`] (include/exclude, `start_at`,
//! `poll_interval`, fingerprints, `storage` checkpoints; `replay_file` reads every file
//! again at each poll). Each line is decoded for each signal the receiver serves; a line of
//! another signal decodes to nothing and is skipped. As in Go:
//! - the file attributes (`log.file.name` by default) are added to every log record, span
//!   and metric (metrics keep them in their `metadata`);
//! - a malformed line is reported (logged, counted as refused) and skipped, the rest of
//!   the file is read on;
//! - a request the pipeline refuses is dropped after being logged and counted
//!   (`otelcol_receiver_refused_*`, transport `file`).

pub mod config;
mod reader;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::Signal;
use runtime::factory::{AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, typed};
use runtime::telemetry::ReceiverMetrics;
use runtime::{Component, Host, Kind, Receiver};

pub use self::config::Config;
use self::reader::{JsonLines, Persister};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Alpha),
    (Signal::Metrics, Stability::Alpha),
    (Signal::Logs, Stability::Alpha),
];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "otlp_json_file"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        Ok(Box::new(Config::parse(value, path)?))
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        let cfg: &Config = typed(cfg);
        let id = set.id.to_string();
        Ok(Arc::new(OtlpJsonFileReceiver {
            cfg: cfg.clone(),
            id: set.id.clone(),
            outputs,
            metrics: ReceiverMetrics::new(&set.telemetry, &id, "file"),
            running: Mutex::new(None),
        }))
    }
}

pub struct OtlpJsonFileReceiver {
    cfg: Config,
    id: ::config::ComponentId,
    outputs: ReceiverOutputs,
    metrics: ReceiverMetrics,
    running: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

#[async_trait]
impl Component for OtlpJsonFileReceiver {
    async fn start(&self, host: &Host) -> Result<(), String> {
        let persister = match &self.cfg.storage {
            Some(storage) => {
                let client = runtime::storage::client_from_host(
                    host,
                    storage,
                    Kind::Receiver,
                    &self.id,
                    "",
                )?;
                Some(Box::new(Persister(client)) as Box<dyn fileconsumer::Persister>)
            }
            None => None,
        };
        let emit = JsonLines {
            outputs: self.outputs.clone(),
            handle: tokio::runtime::Handle::current(),
            metrics: self.metrics.clone(),
            id: self.id.to_string(),
        };
        let opts = fileconsumer::ManagerOptions {
            gates: self.cfg.gates,
            persister,
            no_tracking: self.cfg.replay_file,
            ..Default::default()
        };
        let mut manager = fileconsumer::Manager::new(&self.cfg.file, Box::new(emit), opts)?;
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("otlpjsonfile-{}", self.id))
            .spawn(move || {
                let interval = manager.poll_interval();
                loop {
                    let started = Instant::now();
                    manager.poll();
                    let wait = interval.saturating_sub(started.elapsed());
                    match rx.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
                manager.stop();
            })
            .map_err(|e| format!("failed to start the reading thread: {e}"))?;
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((tx, thread));
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some((stop, thread)) = running else {
            return Ok(());
        };
        let _ = stop.send(());
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|e| format!("reading thread: {e}"))?
            .map_err(|_| "the reading thread panicked".to_string())
    }
}

impl Receiver for OtlpJsonFileReceiver {}
