//! `http_check` / `httpcheck` config: Go's scraper controller keys (`collection_interval`
//! 60s, `initial_delay` 1s, `timeout`), `metrics` enable switches, and `targets`, each a
//! `confighttp` client (`endpoint`, `headers`, `timeout`, `tls`, `proxy_url`, ...) with
//! `method` (GET), `endpoints` (more URLs checked the same way) and `body`.

use std::time::Duration;

use ::config::{ConfigError, Value, value::Mapping};
use serde::Deserialize;

use crate::util::http_client::ClientConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub collection_interval: Duration,
    pub initial_delay: Duration,
    pub timeout: Duration,
    pub metrics: MetricSwitches,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub client: ClientConfig,
    pub method: String,
    /// `endpoint` (when set) then `endpoints`, in order.
    pub urls: Vec<String>,
    pub body: String,
}

/// `metrics.<name>.enabled`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricSwitches {
    #[serde(rename = "httpcheck.duration")]
    pub duration: Switch,
    #[serde(rename = "httpcheck.error")]
    pub error: Switch,
    #[serde(rename = "httpcheck.status")]
    pub status: Switch,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Switch {
    pub enabled: bool,
}

impl Default for Switch {
    fn default() -> Self {
        Switch { enabled: true }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct OwnKeys {
    collection_interval: ::config::Duration,
    initial_delay: ::config::Duration,
    timeout: ::config::Duration,
    metrics: MetricSwitches,
}

impl Default for OwnKeys {
    fn default() -> Self {
        OwnKeys {
            collection_interval: ::config::Duration(Duration::from_secs(60)),
            initial_delay: ::config::Duration(Duration::from_secs(1)),
            timeout: ::config::Duration(Duration::ZERO),
            metrics: MetricSwitches::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TargetOwn {
    method: String,
    endpoints: Vec<String>,
    body: String,
}

impl Config {
    /// Decodes and validates with Go's messages.
    pub fn parse(value: &Value, path: &str) -> Result<Config, ConfigError> {
        let mut map: Mapping = match value.resolved() {
            Value::Null => Mapping::new(),
            Value::Map(m) => m.clone(),
            other => {
                return Err(ConfigError::new(
                    path,
                    format!("expected a map, got {}", other.kind()),
                ));
            }
        };
        let targets_value = map.shift_remove("targets");
        let own: OwnKeys = ::config::decode(&Value::Map(map), path)?;
        let items = match targets_value.as_ref().map(Value::resolved) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Seq(items)) => items.clone(),
            Some(other) => {
                return Err(ConfigError::new(
                    format!("{path}::targets"),
                    format!("expected a list, got {}", other.kind()),
                ));
            }
        };
        let mut targets = Vec::with_capacity(items.len());
        let mut errs: Vec<String> = Vec::new();
        if items.is_empty() {
            errs.push("no targets configured".into());
        }
        for (i, item) in items.iter().enumerate() {
            let tpath = format!("{path}::targets::{i}");
            let (client, t): (ClientConfig, TargetOwn) = ::config::decode_parts(item, &tpath)?;
            client
                .validate()
                .map_err(|m| runtime::factory::validation_error(&tpath, &m))?;
            let mut urls = Vec::with_capacity(1 + t.endpoints.len());
            if !client.endpoint.is_empty() {
                urls.push(client.endpoint.clone());
            }
            urls.extend(t.endpoints.iter().cloned());
            if urls.is_empty() {
                errs.push("\"endpoint\" must be specified".into());
            }
            for u in &urls {
                if let Err(e) = parse_request_uri(u) {
                    errs.push(format!(
                        "\"endpoint\" must be in the form of <scheme>://<hostname>[:<port>]: {e}"
                    ));
                }
            }
            let method = if t.method.is_empty() {
                "GET".to_string()
            } else {
                t.method.clone()
            };
            http::Method::from_bytes(method.as_bytes())
                .map_err(|_| ConfigError::new(&tpath, format!("invalid method {method:?}")))?;
            targets.push(Target {
                client,
                method,
                urls,
                body: t.body,
            });
        }
        if own.collection_interval.0.is_zero() {
            errs.push("\"collection_interval\": requires positive value".into());
        }
        if !errs.is_empty() {
            return Err(runtime::factory::validation_error(path, &errs.join("; ")));
        }
        Ok(Config {
            collection_interval: own.collection_interval.0,
            initial_delay: own.initial_delay.0,
            timeout: own.timeout.0,
            metrics: own.metrics,
            targets,
        })
    }
}

/// Go's `url.ParseRequestURI` verdict with its error text: an absolute URL, or a path.
fn parse_request_uri(u: &str) -> Result<(), String> {
    let bad = || format!("parse {u:?}: invalid URI for request");
    if u.starts_with('/') {
        return Ok(());
    }
    let Some((scheme, _)) = u.split_once(':') else {
        return Err(bad());
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(format!(
            "parse {u:?}: first path segment in URL cannot contain colon"
        ));
    }
    u.parse::<http::Uri>().map(drop).map_err(|_| bad())
}
