//! `prometheus` receiver config: Go's keys (`config`, `trim_metric_suffixes`,
//! `report_extra_scrape_metrics`, `use_start_time_metric`, `start_time_metric_regex`,
//! `target_allocator`, `api_server`, `enable_prometheus_ui_server`), with the embedded
//! Prometheus config decoded and validated by [`promscrape::config`]. What ferrotel cannot
//! run (target allocator, the UI/API server, the start-time metric) is refused by name.

use std::sync::Arc;

use ::config::{ConfigError, Value};
use promscrape::PromConfig;
use serde::Deserialize;

use crate::util::tls::TlsClientSettings;

/// The whole receiver config, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub prometheus: Arc<PromConfig>,
    pub trim_metric_suffixes: bool,
    pub report_extra_scrape_metrics: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Keys {
    config: Option<Value>,
    trim_metric_suffixes: bool,
    report_extra_scrape_metrics: bool,
    use_start_time_metric: bool,
    start_time_metric_regex: Option<String>,
    target_allocator: Option<Value>,
    api_server: Option<Value>,
    enable_prometheus_ui_server: bool,
}

impl Config {
    /// Decodes and validates the receiver's config at `path` (`receivers::prometheus`).
    pub fn parse(value: &Value, path: &str) -> Result<Config, ConfigError> {
        let keys: Keys = ::config::decode(value, path)?;
        let err = |m: String| ConfigError::new(path, m);
        if keys.target_allocator.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(err(
                "target_allocator is not supported by ferrotel's prometheus receiver".into(),
            ));
        }
        if keys.enable_prometheus_ui_server
            || keys
                .api_server
                .as_ref()
                .and_then(|v| v.get("enabled"))
                .and_then(Value::as_bool)
                == Some(true)
        {
            return Err(err(
                "the Prometheus API/UI server (api_server, enable_prometheus_ui_server) is not supported by ferrotel's prometheus receiver".into(),
            ));
        }
        if keys.use_start_time_metric {
            return Err(err(
                "use_start_time_metric is not supported by ferrotel's prometheus receiver (it is deprecated in the Go receiver: start times come from _created or the first scrape)".into(),
            ));
        }
        let _ = keys.start_time_metric_regex;
        let prometheus = PromConfig::from_serializable(&keys.config.unwrap_or_default())
            .map_err(|m| ConfigError::new(format!("{path}::config"), m))?;
        if prometheus.scrape_configs.is_empty() {
            return Err(err(
                "no Prometheus scrape_configs or target_allocator set".into()
            ));
        }
        for sc in &prometheus.scrape_configs {
            if !sc.http.follow_redirects {
                return Err(ConfigError::new(
                    format!("{path}::config"),
                    format!(
                        "job {:?}: follow_redirects: false is not supported by ferrotel's prometheus receiver",
                        sc.job_name
                    ),
                ));
            }
            tls_settings(&sc.http.tls)
                .validate()
                .map_err(|m| ConfigError::new(format!("{path}::config"), m))?;
        }
        Ok(Config {
            prometheus: Arc::new(prometheus),
            trim_metric_suffixes: keys.trim_metric_suffixes,
            report_extra_scrape_metrics: keys.report_extra_scrape_metrics,
        })
    }
}

/// Prometheus's `tls_config` as the shared client's TLS settings.
pub fn tls_settings(t: &promscrape::config::TlsConfig) -> TlsClientSettings {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let version = |s: &str| match s {
        "TLS12" => Some("1.2".to_string()),
        "TLS13" => Some("1.3".to_string()),
        _ => None,
    };
    TlsClientSettings {
        insecure_skip_verify: t.insecure_skip_verify,
        ca_file: opt(&t.ca_file),
        ca_pem: opt(&t.ca),
        cert_file: opt(&t.cert_file),
        cert_pem: opt(&t.cert),
        key_file: opt(&t.key_file),
        key_pem: opt(&t.key),
        server_name_override: opt(&t.server_name),
        min_version: version(&t.min_version),
        max_version: version(&t.max_version),
        ..TlsClientSettings::default()
    }
}
