//! `debug` (and the deprecated `logging`): prints what reaches it, for people looking at
//! their pipelines. Every batch gives one count entry (`Traces` / `Metrics` / `Logs` with
//! `resource spans`, `spans`, ... fields); `normal` adds about a line per item and `detailed`
//! the Go collector's `otlptext` dump, byte for byte (otelcol.md §6 "debug").
//!
//! Where it goes:
//! - `use_internal_logger: true` (default): the count entry is an Info event on the
//!   collector's own logger (`tracing`). The Go collector logs the dump as the message of a
//!   second zap entry, framed by a timestamp, level and fields; we write the dump itself to
//!   stdout instead (one locked `write_all` per batch), because what people read and diff is
//!   that text, and a multi-line message inside a log framework's line format helps no one.
//! - `use_internal_logger: false`: everything goes to `output_paths` (`stdout`, `stderr` or
//!   files) exactly as the Go collector's own console logger writes it there: no timestamp,
//!   no level, `Traces\t{"resource spans": 1, "spans": 2}` and then the dump followed by an
//!   empty line.
//!
//! Sampling (`sampling_initial`, `sampling_thereafter`) is zap's: per one-second window
//! that starts at the first batch, the first N batches are printed, then every Mth. Zap
//! samples each entry by its message, so in Go a dump (whose message is its text) is almost
//! never sampled away while its count line is; here a batch is printed whole or not at all,
//! which is what the settings are for.

mod config;
mod detailed;
mod normal;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::scan::{WireReader, wire};
use pdata::{Batch, Request, Signal};
use runtime::exporterhelper::{Push, RetrySettings, build};
use runtime::factory::{AnyConfig, ComponentConfig, ExporterFactory, Settings, Stability, typed};
use runtime::{ConsumeError, Exporter};

pub use self::config::{Config, Verbosity};
pub use self::detailed::detailed_text;
pub use self::normal::normal_text;

pub struct Factory;

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "debug"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        &[
            (Signal::Traces, Stability::Alpha),
            (Signal::Metrics, Stability::Alpha),
            (Signal::Logs, Stability::Alpha),
            (Signal::Profiles, Stability::Development),
        ]
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        let cfg: Config = ::config::decode(value, path)?;
        cfg.validate().map_err(|m| ConfigError::new(path, m))?;
        if let Some(level) = cfg.loglevel {
            let verbosity = match level.verbosity() {
                Verbosity::Basic => "basic",
                Verbosity::Normal => "normal",
                Verbosity::Detailed => "detailed",
            };
            if cfg.verbosity.is_some() {
                tracing::warn!(
                    "{path}: `loglevel` is deprecated and ignored because `verbosity` is set; remove `loglevel`"
                );
            } else {
                tracing::warn!(
                    "{path}: `loglevel` is deprecated, use `verbosity: {verbosity}` instead"
                );
            }
        }
        Ok(Box::new(cfg))
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn Exporter>, String> {
        let cfg: &Config = typed(cfg);
        let output = if cfg.use_internal_logger {
            Output::InternalLogger
        } else {
            let paths = cfg
                .output_paths
                .clone()
                .unwrap_or_else(|| vec!["stdout".to_string()]);
            Output::Sinks(Mutex::new(open_sinks(&paths)?))
        };
        let push = Arc::new(DebugExporter {
            id: set.id.to_string(),
            signal,
            verbosity: cfg.effective_verbosity(),
            sampler: Sampler::new(cfg.sampling_initial, cfg.sampling_thereafter),
            output: Arc::new(output),
        });
        // The Go exporter has no retry and no timeout (0), and its queue is off unless
        // `sending_queue` is in the config.
        let retry = RetrySettings {
            enabled: false,
            ..RetrySettings::default()
        };
        Ok(build(
            &set,
            signal,
            &cfg.queue(),
            &retry,
            Duration::ZERO,
            push,
        ))
    }
}

/// One output path of `use_internal_logger: false`.
enum Sink {
    Stdout,
    Stderr,
    File(std::fs::File),
}

/// Opens the paths like zap does: `stdout`/`stderr` by name, anything else a file opened for
/// appending (created if missing).
fn open_sinks(paths: &[String]) -> Result<Vec<Sink>, String> {
    paths
        .iter()
        .map(|p| match p.as_str() {
            "stdout" => Ok(Sink::Stdout),
            "stderr" => Ok(Sink::Stderr),
            path => std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map(Sink::File)
                .map_err(|e| format!("cannot open output path \"{path}\": {e}")),
        })
        .collect()
}

enum Output {
    InternalLogger,
    Sinks(Mutex<Vec<Sink>>),
}

impl Output {
    /// Writes `text` in one `write_all` per destination, on a blocking thread so that a slow
    /// terminal or disk does not stall the runtime's workers.
    async fn write(self: &Arc<Self>, text: String) -> Result<(), ConsumeError> {
        let out = self.clone();
        let res = tokio::task::spawn_blocking(move || out.write_blocking(text.as_bytes())).await;
        match res {
            Ok(r) => {
                r.map_err(|e| ConsumeError::permanent(format!("debug exporter: write failed: {e}")))
            }
            Err(e) => Err(ConsumeError::permanent(format!(
                "debug exporter: writer task failed: {e}"
            ))),
        }
    }

    fn write_blocking(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::InternalLogger => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(bytes)?;
                stdout.flush()
            }
            Output::Sinks(sinks) => {
                let mut sinks = sinks.lock().unwrap_or_else(|p| p.into_inner());
                for sink in sinks.iter_mut() {
                    match sink {
                        Sink::Stdout => {
                            let mut s = std::io::stdout().lock();
                            s.write_all(bytes)?;
                            s.flush()?;
                        }
                        Sink::Stderr => std::io::stderr().lock().write_all(bytes)?,
                        Sink::File(f) => f.write_all(bytes)?,
                    }
                }
                Ok(())
            }
        }
    }

    fn sync(&self) -> std::io::Result<()> {
        if let Output::Sinks(sinks) = self {
            let mut sinks = sinks.lock().unwrap_or_else(|p| p.into_inner());
            for sink in sinks.iter_mut() {
                if let Sink::File(f) = sink {
                    f.sync_all()?;
                }
            }
        }
        Ok(())
    }
}

/// zap's sampler for one message: a window of one second starts at the first entry; in it
/// the first `initial` entries pass, then every `thereafter`th (none if it is 0).
struct Sampler {
    initial: u64,
    thereafter: u64,
    window: Mutex<(Option<Instant>, u64)>,
}

impl Sampler {
    fn new(initial: i64, thereafter: i64) -> Self {
        // Go converts its `int` settings with `uint64(...)`; negative values wrap the same way.
        Sampler {
            initial: initial as u64,
            thereafter: thereafter as u64,
            window: Mutex::new((None, 0)),
        }
    }

    fn admit(&self, now: Instant) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let n = match w.0 {
            Some(reset_at) if reset_at > now => {
                w.1 += 1;
                w.1
            }
            _ => {
                *w = (Some(now + Duration::from_secs(1)), 1);
                1
            }
        };
        !(n > self.initial
            && (self.thereafter == 0 || !(n - self.initial).is_multiple_of(self.thereafter)))
    }
}

/// The numbers of the count entry.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    resources: usize,
    /// Metrics only: metrics (the items are data points).
    metrics: usize,
    /// Spans, log records or data points.
    items: usize,
}

/// Counts from the encoded bytes when the batch has them (basic verbosity then never
/// decodes), else from the decoded request.
fn counts(batch: &Batch) -> Counts {
    let items = batch.item_count();
    if batch.is_encoded() {
        let bytes = batch.encoded();
        let mut c = Counts {
            items,
            ..Counts::default()
        };
        for resource in repeated(&bytes, 1) {
            c.resources += 1;
            if batch.signal() == Signal::Metrics {
                c.metrics += repeated(resource, 2)
                    .map(|scope| repeated(scope, 2).count())
                    .sum::<usize>();
            }
        }
        return c;
    }
    match batch.request().as_deref() {
        Ok(Request::Traces(r)) => Counts {
            resources: r.resource_spans.len(),
            metrics: 0,
            items,
        },
        Ok(Request::Logs(r)) => Counts {
            resources: r.resource_logs.len(),
            metrics: 0,
            items,
        },
        Ok(Request::Profiles(r)) => Counts {
            resources: r.resource_profiles.len(),
            metrics: 0,
            items,
        },
        Ok(Request::Metrics(r)) => Counts {
            resources: r.resource_metrics.len(),
            metrics: r
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .map(|sm| sm.metrics.len())
                .sum(),
            items,
        },
        Err(_) => Counts {
            items,
            ..Counts::default()
        },
    }
}

/// The payloads of the length-delimited occurrences of field `tag` in a message. The batch
/// was validated when it was built, so a malformed tail only ends the iteration.
fn repeated(msg: &[u8], tag: u32) -> impl Iterator<Item = &[u8]> {
    let mut reader = WireReader::new(msg);
    std::iter::from_fn(move || {
        while !reader.is_empty() {
            let field = reader.field().ok()?;
            if field.tag == tag && field.wire_type == wire::LEN {
                return Some(field.data);
            }
        }
        None
    })
}

struct DebugExporter {
    id: String,
    signal: Signal,
    verbosity: Verbosity,
    sampler: Sampler,
    output: Arc<Output>,
}

impl DebugExporter {
    /// The count entry on the collector's logger.
    fn log_counts(&self, c: &Counts) {
        let id = self.id.as_str();
        match self.signal {
            Signal::Traces => tracing::info!(
                otelcol.component.id = id,
                otelcol.component.kind = "exporter",
                otelcol.signal = "traces",
                "resource spans" = c.resources,
                spans = c.items,
                "Traces"
            ),
            Signal::Metrics => tracing::info!(
                otelcol.component.id = id,
                otelcol.component.kind = "exporter",
                otelcol.signal = "metrics",
                "resource metrics" = c.resources,
                metrics = c.metrics,
                "data points" = c.items,
                "Metrics"
            ),
            Signal::Logs => tracing::info!(
                otelcol.component.id = id,
                otelcol.component.kind = "exporter",
                otelcol.signal = "logs",
                "resource logs" = c.resources,
                "log records" = c.items,
                "Logs"
            ),
            Signal::Profiles => tracing::info!(
                otelcol.component.id = id,
                otelcol.component.kind = "exporter",
                otelcol.signal = "profiles",
                "resource profiles" = c.resources,
                "sample records" = c.items,
                "Profiles"
            ),
        }
    }
}

/// The count entry as zap's console encoder writes it with no time and no level (the
/// `use_internal_logger: false` logger): `Traces\t{"resource spans": 1, "spans": 2}\n`.
fn console_count_line(signal: Signal, c: &Counts) -> String {
    match signal {
        Signal::Traces => {
            format!(
                "Traces\t{{\"resource spans\": {}, \"spans\": {}}}\n",
                c.resources, c.items
            )
        }
        Signal::Metrics => format!(
            "Metrics\t{{\"resource metrics\": {}, \"metrics\": {}, \"data points\": {}}}\n",
            c.resources, c.metrics, c.items
        ),
        Signal::Logs => {
            format!(
                "Logs\t{{\"resource logs\": {}, \"log records\": {}}}\n",
                c.resources, c.items
            )
        }
        Signal::Profiles => format!(
            "Profiles\t{{\"resource profiles\": {}, \"sample records\": {}}}\n",
            c.resources, c.items
        ),
    }
}

#[async_trait]
impl Push for DebugExporter {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        if !self.sampler.admit(Instant::now()) {
            return Ok(());
        }
        let c = counts(batch);
        let dump = match self.verbosity {
            Verbosity::Basic => None,
            // Profiles are counted, not printed: decoding them with this build's schema would
            // misread a sender's other release (see pdata::Request::Profiles).
            _ if self.signal == Signal::Profiles => None,
            verbosity => {
                let request = batch
                    .request()
                    .map_err(|e| ConsumeError::permanent(format!("debug exporter: {e}")))?;
                Some(match verbosity {
                    Verbosity::Detailed => detailed_text(&request),
                    _ => normal_text(&request),
                })
            }
        };
        match &*self.output {
            Output::InternalLogger => {
                self.log_counts(&c);
                match dump {
                    Some(text) if !text.is_empty() => self.output.write(text).await,
                    _ => Ok(()),
                }
            }
            Output::Sinks(_) => {
                let mut text = console_count_line(self.signal, &c);
                if let Some(dump) = dump {
                    // The dump is the message of its own console entry, which ends with a
                    // newline of its own.
                    text.push_str(&dump);
                    text.push('\n');
                }
                self.output.write(text).await
            }
        }
    }

    async fn shutdown(&self) -> Result<(), String> {
        // Like the Go exporter's logger sync on shutdown; stdout/stderr are written unbuffered.
        let out = self.output.clone();
        tokio::task::spawn_blocking(move || out.sync())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("debug exporter: cannot sync output: {e}"))
    }
}
