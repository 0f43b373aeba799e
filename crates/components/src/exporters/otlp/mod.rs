//! `otlp_grpc` (deprecated alias `otlp`): sends OTLP over gRPC, through the exporter helper
//! (queue, retry, per-attempt `timeout`). Batches go out as the encoded bytes they arrived as.

mod client;
pub mod config;
mod grpc;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use pdata::Signal;
use pdata::json::ExportResponse;
use runtime::exporterhelper;
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, parse_config, typed};

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
        "otlp_grpc"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn runtime::Exporter>, String> {
        let cfg: &Config = typed(cfg);
        let push = grpc::GrpcPush::new(cfg, signal, &set.id.to_string())?;
        Ok(exporterhelper::build(
            &set,
            signal,
            &cfg.sending_queue,
            &cfg.retry_on_failure,
            cfg.timeout.0,
            Arc::new(push),
        ))
    }
}

/// The Go OTLP exporters' Warn log for a partial success (then treated as success).
pub(crate) fn log_partial_success(id: &str, response: &ExportResponse) {
    let Some(p) = &response.partial_success else {
        return;
    };
    if p.rejected == 0 && p.error_message.is_empty() {
        return;
    }
    let kind = "exporter";
    let signal = response.signal.as_str();
    match response.signal {
        Signal::Traces => tracing::warn!(
            otelcol.component.id = id, otelcol.component.kind = kind, otelcol.signal = signal,
            message = %p.error_message, dropped_spans = p.rejected, "Partial success response"
        ),
        Signal::Metrics => tracing::warn!(
            otelcol.component.id = id, otelcol.component.kind = kind, otelcol.signal = signal,
            message = %p.error_message, dropped_data_points = p.rejected, "Partial success response"
        ),
        Signal::Logs => tracing::warn!(
            otelcol.component.id = id, otelcol.component.kind = kind, otelcol.signal = signal,
            message = %p.error_message, dropped_log_records = p.rejected, "Partial success response"
        ),
        Signal::Profiles => tracing::warn!(
            otelcol.component.id = id, otelcol.component.kind = kind, otelcol.signal = signal,
            message = %p.error_message, dropped_samples = p.rejected, "Partial success response"
        ),
    }
}
