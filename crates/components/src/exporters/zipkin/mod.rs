//! `zipkin` exporter: sends traces to a Zipkin v2 endpoint (`POST /api/v2/spans`, JSON or
//! protobuf per `format`) through the exporter helper (queue, retry), as Go's contrib
//! `zipkinexporter`; the translation is the [`zipkin`] crate's. As in Go, the helper's
//! per-attempt timeout is off and the HTTP client's `timeout` (5s) bounds each request.
//!
//! One difference: Go keeps `default_service_name` but never uses it (spans of a resource
//! without a service name are sent as `OTLPResourceNoServiceName`); here it names them, as
//! its documentation says.

pub mod config;
mod push;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use pdata::Signal;
use runtime::exporterhelper;
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, typed};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Traces, Stability::Beta)];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "zipkin"
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
        let push = push::ZipkinPush::new(cfg)?;
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
