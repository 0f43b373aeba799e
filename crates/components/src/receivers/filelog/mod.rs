//! `file_log` (deprecated alias `filelog`, the name before 2026): tails files, turns each
//! line (or multiline entry) into a log record through the stanza operators of its config,
//! and sends the records down its logs pipelines.
//!
//! A thin adapter: [`fileconsumer`] finds and reads the files (fingerprints, rotation,
//! checkpoints), [`stanza`] runs the operators and converts entries to OTLP; this module
//! owns the reading thread, the delivery policy ([`reader`] explains how it keeps
//! backpressure instead of dropping) and the storage of checkpoints (`storage:` names a
//! storage extension such as `file_storage`; without it offsets live in memory only).

pub mod config;
pub(crate) mod reader;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::Signal;
use runtime::factory::{AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, typed};
use runtime::telemetry::{Gauge, ReceiverMetrics};
use runtime::{Component, Host, Kind, Receiver};
use stanza::Pipeline;

pub use self::config::Config;
use reader::{Delivery, HeaderOperators, Stage, StageEmit, StoragePersister};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Logs, Stability::Beta)];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "file_log"
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
        let consumer = outputs
            .logs
            .clone()
            .ok_or("the file_log receiver only produces logs")?;
        let id = set.id.to_string();
        let labels = [("receiver", id.as_str())];
        Ok(Arc::new(FileLogReceiver {
            cfg: cfg.clone(),
            id: set.id.clone(),
            consumer,
            metrics: ReceiverMetrics::new(&set.telemetry, &id, ""),
            open_files: set.telemetry.gauge(
                "otelcol_fileconsumer_open_files",
                "Number of open files",
                &labels,
            ),
            reading_files: set.telemetry.gauge(
                "otelcol_fileconsumer_reading_files",
                "Number of open files that are being read",
                &labels,
            ),
            running: Mutex::new(None),
        }))
    }
}

/// One receiver instance. Its thread exists between `start` and `shutdown`.
pub struct FileLogReceiver {
    cfg: Config,
    id: ::config::ComponentId,
    consumer: runtime::SharedConsumer,
    metrics: ReceiverMetrics,
    open_files: Gauge,
    reading_files: Gauge,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: mpsc::Sender<()>,
    stopping: CancellationToken,
    thread: std::thread::JoinHandle<()>,
}

/// How often the thread wakes between polls to release what the operators' timers hold.
const TIMER_TICK: Duration = Duration::from_millis(100);

#[async_trait]
impl Component for FileLogReceiver {
    async fn start(&self, host: &Host) -> Result<(), String> {
        let cfg = &self.cfg;
        let persister = match &cfg.storage {
            Some(storage) => {
                let client = runtime::storage::client_from_host(
                    host,
                    storage,
                    Kind::Receiver,
                    &self.id,
                    "",
                )?;
                Some(Box::new(StoragePersister(client)) as Box<dyn fileconsumer::Persister>)
            }
            None => None,
        };
        let header_parser = match &cfg.file.header {
            Some(h) => {
                let ops = config::header_operators(&h.metadata_operators)?;
                let p = Pipeline::build(&ops).map_err(|e| e.message)?;
                Some(Box::new(HeaderOperators(p)) as Box<dyn fileconsumer::HeaderParser>)
            }
            None => None,
        };
        let pipeline = Pipeline::build(&cfg.operators).map_err(|e| e.message)?;
        let stopping = CancellationToken::new();
        let delivery = Delivery {
            consumer: self.consumer.clone(),
            handle: tokio::runtime::Handle::current(),
            metrics: self.metrics.clone(),
            retry: cfg.retry_on_failure.clone(),
            stopping: stopping.clone(),
            id: Arc::from(self.id.to_string()),
            failing: None,
        };
        let stage = Arc::new(Mutex::new(Stage::new(
            pipeline,
            &cfg.attributes,
            &cfg.resource,
            delivery,
        )));
        let opts = fileconsumer::ManagerOptions {
            gates: cfg.gates,
            persister,
            header_parser,
            batch_size: reader::MAX_BATCH,
            no_tracking: false,
        };
        let mut manager =
            fileconsumer::Manager::new(&cfg.file, Box::new(StageEmit(stage.clone())), opts)?;
        let (tx, rx) = mpsc::channel::<()>();
        let (open, reading) = (self.open_files.clone(), self.reading_files.clone());
        let id = self.id.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("filelog-{id}"))
            .spawn(move || {
                let telemetry = manager.telemetry();
                let interval = manager.poll_interval();
                let mut next_poll = Instant::now();
                loop {
                    if Instant::now() >= next_poll {
                        manager.poll();
                        next_poll = Instant::now() + interval;
                        open.set(telemetry.open_files());
                        reading.set(telemetry.reading_files());
                    }
                    if let Err(e) = lock(&stage).flush_expired() {
                        tracing::debug!(receiver = %id, error = %e.0, "flush deferred");
                    }
                    let wait = next_poll
                        .saturating_duration_since(Instant::now())
                        .min(TIMER_TICK);
                    match rx.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
                // Stop reading (checkpoints saved with what was delivered), then hand on what
                // the operators still hold (recombine batches).
                manager.stop();
                if let Err(e) = lock(&stage).flush_all() {
                    tracing::warn!(receiver = %id, error = %e.0, "entries held by operators were not delivered at shutdown");
                }
                open.set(0);
                reading.set(0);
            })
            .map_err(|e| format!("failed to start the reading thread: {e}"))?;
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(Running {
            stop: tx,
            stopping,
            thread,
        });
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(r) = running else { return Ok(()) };
        r.stopping.cancel();
        let _ = r.stop.send(());
        tokio::task::spawn_blocking(move || r.thread.join())
            .await
            .map_err(|e| format!("reading thread: {e}"))?
            .map_err(|_| "the reading thread panicked".to_string())
    }
}

impl Receiver for FileLogReceiver {}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
