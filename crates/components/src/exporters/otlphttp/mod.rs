//! `otlp_http` (deprecated alias `otlphttp`): POSTs OTLP/HTTP (protobuf or JSON) through the
//! exporter helper (queue, retry). As in Go, the helper's per-attempt timeout is off and the
//! HTTP client's `timeout` (30s) bounds each request.

pub mod config;
mod http;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use pdata::Signal;
use runtime::exporterhelper;
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, typed};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Stable),
    (Signal::Metrics, Stability::Stable),
    (Signal::Logs, Stability::Stable),
    (Signal::Profiles, Stability::Development),
];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "otlp_http"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        crate::util::http_client::parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn runtime::Exporter>, String> {
        let cfg: &Config = typed(cfg);
        if signal == Signal::Profiles && cfg.encoding == config::Encoding::Json {
            return Err(pdata::json::PROFILES_JSON.to_string());
        }
        let push = http::HttpPush::new(cfg, signal, &set.id.to_string())?;
        Ok(exporterhelper::build(
            &set,
            signal,
            &cfg.sending_queue,
            &cfg.retry_on_failure,
            std::time::Duration::ZERO,
            Arc::new(push),
        ))
    }
}
