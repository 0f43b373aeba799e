//! The `debug` exporter's config: the Go collector's keys and defaults (otelcol.md §6
//! "debug"), plus the old `logging` exporter's `loglevel`, because the deprecated `logging`
//! type is an alias of this factory.

use runtime::exporterhelper::QueueSettings;
use runtime::factory::ComponentConfig;
use serde::Deserialize;

/// How much the exporter prints per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Only the one-line count log entry.
    Basic,
    /// About one line per span, log record or data point.
    Normal,
    /// The full `otlptext` dump.
    Detailed,
}

/// Go's `configtelemetry.Level` text, read case-insensitively. `none` parses (as in Go) so that
/// validation can say it is not supported rather than that it is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    None,
    Basic,
    Normal,
    Detailed,
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_lowercase().as_str() {
            "none" => Ok(Level::None),
            "basic" => Ok(Level::Basic),
            "normal" => Ok(Level::Normal),
            "detailed" => Ok(Level::Detailed),
            other => Err(serde::de::Error::custom(format!(
                "unknown metrics level \"{other}\""
            ))),
        }
    }
}

/// The old `logging` exporter's `loglevel` (a zap level name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_lowercase().as_str() {
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" => Ok(LogLevel::Warn),
            "error" => Ok(LogLevel::Error),
            _ => Err(serde::de::Error::custom(format!(
                "log level \"{text}\" is not supported"
            ))),
        }
    }
}

impl LogLevel {
    /// The mapping the `logging` exporter used: debug shows everything, info one line per
    /// item, warn and error only the counts.
    pub fn verbosity(self) -> Verbosity {
        match self {
            LogLevel::Debug => Verbosity::Detailed,
            LogLevel::Info => Verbosity::Normal,
            LogLevel::Warn | LogLevel::Error => Verbosity::Basic,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `None` when absent, so that `loglevel` can decide; the default is basic.
    pub verbosity: Option<Level>,
    /// Deprecated (`logging` exporter): debug → detailed, info → normal, warn/error → basic.
    pub loglevel: Option<LogLevel>,
    /// Entries logged per second before sampling starts (Go `int`).
    pub sampling_initial: i64,
    /// After that, every Nth entry is logged (Go `int`).
    pub sampling_thereafter: i64,
    pub use_internal_logger: bool,
    /// `stdout`, `stderr` or file paths; `None` means `["stdout"]`.
    pub output_paths: Option<Vec<String>>,
    /// Absent: no queue (the Go default for this exporter). Present: the queue with its
    /// defaults under the user's keys.
    #[serde(deserialize_with = "config::present_as_default")]
    pub sending_queue: Option<QueueSettings>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            verbosity: None,
            loglevel: None,
            sampling_initial: 2,
            sampling_thereafter: 1,
            use_internal_logger: true,
            output_paths: None,
            sending_queue: None,
        }
    }
}

impl Config {
    /// The verbosity in force: `verbosity` if set, else the one `loglevel` maps to, else basic.
    pub fn effective_verbosity(&self) -> Verbosity {
        match (self.verbosity, self.loglevel) {
            (Some(Level::Normal), _) => Verbosity::Normal,
            (Some(Level::Detailed), _) => Verbosity::Detailed,
            (Some(_), _) => Verbosity::Basic,
            (None, Some(l)) => l.verbosity(),
            (None, None) => Verbosity::Basic,
        }
    }

    /// The queue settings handed to the exporter helper (disabled unless `sending_queue` is
    /// present in the config).
    pub fn queue(&self) -> QueueSettings {
        self.sending_queue.clone().unwrap_or(QueueSettings {
            enabled: false,
            ..QueueSettings::default()
        })
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.verbosity == Some(Level::None) {
            return Err("verbosity level \"None\" is not supported".into());
        }
        if self.use_internal_logger && self.output_paths.is_some() {
            return Err("output_paths is not supported when use_internal_logger is true".into());
        }
        if !self.use_internal_logger && self.output_paths.as_ref().is_some_and(|p| p.is_empty()) {
            return Err("output_paths must not be empty when use_internal_logger is false".into());
        }
        if let Some(q) = &self.sending_queue {
            q.validate()?;
        }
        Ok(())
    }
}
