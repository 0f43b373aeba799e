//! `config` reads the YAML configuration people write for the OpenTelemetry Collector and
//! turns it into typed values, behaving as the Go collector's confmap does.
//!
//! API CONTRACT (used by `runtime`; keep these names and shapes):
//! - [`load`]`(uris, sets)` resolves every `--config` source in order, deep-merges them
//!   (maps merge, lists replace, null wipes), applies `--set`, expands `${env:VAR}`,
//!   `${VAR}`, `${env:VAR:-default}` and `$$`, and splits the top level into a
//!   [`CollectorConfig`].
//! - [`decode`]`::<T>(value, path)` decodes a component's YAML onto `T::default()`-style serde
//!   defaults; unknown keys are errors; every error names its `::` path.
//! - [`CollectorConfig::validate`] performs the Go collector's structural checks (§1.3 of
//!   shared/reference/otelcol.md) with the Go collector's messages.
//! - [`Duration`] and [`ByteSize`] deserialize Go-style `200ms`, `5s`, `1h30m` and `4MiB`, `20971520`.

//!
//! ```
//! let cfg = config::load_from_str(
//!     "receivers: {otlp: }\nexporters: {debug: }\n\
//!      service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}",
//! )
//! .unwrap();
//! cfg.validate().unwrap();
//! assert_eq!(cfg.service.telemetry.metrics.address, "localhost:8888");
//! ```

use std::fmt;
use std::sync::LazyLock;

use indexmap::IndexMap;
use regex::Regex;
use serde::Deserialize;

mod de;
mod expand;
mod goyaml;
mod units;
pub mod value;

pub use de::{decode, decode_parts, field_names};
pub use expand::EnvLookup;
pub use units::{StanzaByteSize, present_as_default};
pub use value::{Mapping, Value};

/// A configuration error: where it is (`receivers::otlp::protocols::grpc`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// `::`-joined path of the offending key; empty for whole-document errors.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

static TYPE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}$").expect("constant regex"));
static NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^\pZ\pC\pS]+$").expect("constant regex"));
const MAX_NAME_LEN: usize = 1024;

/// Go's `validateName` for the part after `/`.
fn validate_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "name {name:?} is longer than {MAX_NAME_LEN} characters"
        ));
    }
    if !NAME_RE.is_match(name) {
        return Err(format!("invalid character(s) in name {name:?}"));
    }
    Ok(())
}

/// Splits `kind[/name]` with Go's trimming and messages; the `kind` part is returned trimmed
/// and non-empty but otherwise unchecked.
fn split_id(text: &str) -> Result<(&str, Option<&str>), String> {
    let (kind, name) = match text.split_once('/') {
        Some((k, n)) => (k.trim(), Some(n.trim())),
        None => (text.trim(), None),
    };
    if kind.is_empty() {
        return Err(match name {
            Some(_) => format!("in {text:?} id: the part before / should not be empty"),
            None => "id must not be empty".to_string(),
        });
    }
    if let Some(n) = name {
        if n.is_empty() {
            return Err(format!(
                "in {text:?} id: the part after / should not be empty"
            ));
        }
        validate_name(n).map_err(|e| format!("in {n:?} id: {e}"))?;
    }
    Ok((kind, name))
}

/// `type[/name]`, validated as the Go collector does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentId {
    pub type_: String,
    pub name: Option<String>,
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{}/{}", self.type_, n),
            None => f.write_str(&self.type_),
        }
    }
}

impl ComponentId {
    /// Parses `type[/name]`; the error is Go's message (`id must not be empty`, ...).
    pub fn parse(s: &str) -> Result<ComponentId, String> {
        let (type_, name) = split_id(s)?;
        if !TYPE_RE.is_match(type_) {
            return Err(format!(
                "in {s:?} id: invalid character(s) in type {type_:?}"
            ));
        }
        Ok(ComponentId {
            type_: type_.to_string(),
            name: name.map(str::to_string),
        })
    }

    /// An id without a name (`otlp`).
    pub fn new(type_: impl Into<String>) -> ComponentId {
        ComponentId {
            type_: type_.into(),
            name: None,
        }
    }

    /// An id with a name (`otlp/internal`).
    pub fn with_name(type_: impl Into<String>, name: impl Into<String>) -> ComponentId {
        ComponentId {
            type_: type_.into(),
            name: Some(name.into()),
        }
    }
}

/// The signal of a pipeline id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PipelineSignal {
    Traces,
    Metrics,
    Logs,
    Profiles,
}

impl PipelineSignal {
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineSignal::Traces => "traces",
            PipelineSignal::Metrics => "metrics",
            PipelineSignal::Logs => "logs",
            PipelineSignal::Profiles => "profiles",
        }
    }
}

impl fmt::Display for PipelineSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `traces|metrics|logs[/name]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipelineId {
    pub signal: PipelineSignal,
    pub name: Option<String>,
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{}/{}", self.signal, n),
            None => write!(f, "{}", self.signal),
        }
    }
}

impl PipelineId {
    /// Parses `signal[/name]`. `profiles` pipelines run whether or not the
    /// `service.profilesSupport` gate is set (Go refuses them without it; ferrotel accepts the
    /// gate and does not require it).
    pub fn parse(s: &str) -> Result<PipelineId, String> {
        let (signal, name) = split_id(s)?;
        let signal = match signal {
            "traces" => PipelineSignal::Traces,
            "metrics" => PipelineSignal::Metrics,
            "logs" => PipelineSignal::Logs,
            "profiles" => PipelineSignal::Profiles,
            other => return Err(format!("in {s:?} id: unknown pipeline signal: {other:?}")),
        };
        Ok(PipelineId {
            signal,
            name: name.map(str::to_string),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineConfig {
    pub receivers: Vec<ComponentId>,
    pub processors: Vec<ComponentId>,
    pub exporters: Vec<ComponentId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogsTelemetry {
    /// debug | info | warn | error (default info)
    pub level: String,
    /// console | json (default console)
    pub encoding: String,
}

impl Default for LogsTelemetry {
    fn default() -> Self {
        LogsTelemetry {
            level: "info".to_string(),
            encoding: "console".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsTelemetry {
    /// none | basic | normal | detailed (default normal)
    pub level: String,
    /// host:port of the Prometheus endpoint: from the deprecated `address`, or from the
    /// first `readers[].pull.exporter.prometheus` entry; default `localhost:8888`.
    pub address: String,
}

impl Default for MetricsTelemetry {
    fn default() -> Self {
        MetricsTelemetry {
            level: "normal".to_string(),
            address: "localhost:8888".to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryConfig {
    pub logs: LogsTelemetry,
    pub metrics: MetricsTelemetry,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceConfig {
    pub extensions: Vec<ComponentId>,
    pub pipelines: IndexMap<PipelineId, PipelineConfig>,
    pub telemetry: TelemetryConfig,
}

/// The whole document, component configs still as YAML (decoded by each factory).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectorConfig {
    pub receivers: IndexMap<ComponentId, Value>,
    pub processors: IndexMap<ComponentId, Value>,
    pub exporters: IndexMap<ComponentId, Value>,
    pub connectors: IndexMap<ComponentId, Value>,
    pub extensions: IndexMap<ComponentId, Value>,
    pub service: ServiceConfig,
}

/// The process environment, for [`load_with_env`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Resolves, merges, expands and splits the configuration.
pub fn load(uris: &[String], sets: &[String]) -> Result<CollectorConfig, ConfigError> {
    load_with_env(uris, sets, &process_env)
}

/// [`load`] with an injected environment lookup (used by `env:` sources and `${env:...}`).
pub fn load_with_env(
    uris: &[String],
    sets: &[String],
    env: EnvLookup<'_>,
) -> Result<CollectorConfig, ConfigError> {
    CollectorConfig::from_value(&resolve(uris, sets, env)?)
}

/// Parses one YAML document as a whole configuration (expanding `${...}` from the process
/// environment). Meant for tests and fuzzers; never panics.
pub fn load_from_str(yaml: &str) -> Result<CollectorConfig, ConfigError> {
    let root = Value::from_yaml_str(yaml)
        .map_err(|e| ConfigError::new("", format!("cannot parse the configuration: {e}")))?;
    let root = expand::expand_tree(root, "", &process_env)?;
    CollectorConfig::from_value(&root)
}

/// Turns `--set a.b.c=v` into the `yaml:a::b::c: v` source Go's collector builds.
pub fn set_to_uri(set: &str) -> Result<String, ConfigError> {
    let (key, value) = set
        .split_once('=')
        .ok_or_else(|| ConfigError::new("", "missing equal sign"))?;
    // `a.b.c=v` as the Go collector; `a::b::c=v` too, which can name keys that contain dots.
    let key = key.trim();
    let path = if key.contains("::") {
        key.to_string()
    } else {
        key.replace('.', "::")
    };
    Ok(format!("yaml:{}: {}", path, value.trim()))
}

/// The merged and expanded configuration tree (what `print-config` shows): every `--config`
/// URI in order, then every `--set`, deep-merged; then `${...}` expanded and `$$` unescaped.
pub fn resolve(uris: &[String], sets: &[String], env: EnvLookup<'_>) -> Result<Value, ConfigError> {
    if uris.is_empty() {
        return Err(ConfigError::new(
            "",
            "at least one config flag must be provided",
        ));
    }
    let set_uris = sets
        .iter()
        .map(|s| set_to_uri(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut root = Value::Map(Mapping::new());
    for uri in uris.iter().chain(set_uris.iter()) {
        let (scheme, opaque) = expand::split_uri(uri).unwrap_or(("file", uri));
        let text =
            expand::retrieve(scheme, opaque, uri, env).map_err(|m| ConfigError::new("", m))?;
        let source = Value::from_yaml_str(&text).map_err(|e| {
            ConfigError::new(
                "",
                format!("cannot parse the configuration from {uri:?}: {e}"),
            )
        })?;
        match source {
            Value::Null => {}
            Value::Map(_) => value::merge(&mut root, source),
            other => {
                return Err(ConfigError::new(
                    "",
                    format!(
                        "retrieved value from {uri:?} cannot be used as a configuration: expected a map, got {}",
                        other.kind()
                    ),
                ));
            }
        }
    }
    expand::expand_tree(root, "", env)
}

const TOP_LEVEL_KEYS: [&str; 6] = [
    "receivers",
    "processors",
    "exporters",
    "connectors",
    "extensions",
    "service",
];

fn invalid_keys<'a>(
    path: &str,
    keys: impl Iterator<Item = &'a String>,
    known: &[&str],
) -> Result<(), ConfigError> {
    let mut unknown: Vec<&str> = keys
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(ConfigError::new(
        path,
        format!("has invalid keys: {}", unknown.join(", ")),
    ))
}

fn component_map(root: &Value, section: &str) -> Result<IndexMap<ComponentId, Value>, ConfigError> {
    let mut out = IndexMap::new();
    let Some(v) = root.get(section) else {
        return Ok(out);
    };
    let map = match v.resolved() {
        Value::Null => return Ok(out),
        Value::Map(m) => m,
        other => {
            return Err(ConfigError::new(
                section,
                format!("expected a map, got {}", other.kind()),
            ));
        }
    };
    for (key, cfg) in map {
        let id = ComponentId::parse(key).map_err(|m| ConfigError::new(section, m))?;
        if out.insert(id.clone(), cfg.clone()).is_some() {
            return Err(ConfigError::new(
                section,
                format!("duplicate id {:?}", id.to_string()),
            ));
        }
    }
    Ok(out)
}

fn id_list(path: &str, names: &[String]) -> Result<Vec<ComponentId>, ConfigError> {
    names
        .iter()
        .map(|n| ComponentId::parse(n).map_err(|m| ConfigError::new(path, m)))
        .collect()
}

/// `service:` as written; ignored telemetry keys are accepted as any YAML.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawService {
    extensions: Vec<String>,
    pipelines: IndexMap<String, RawPipeline>,
    telemetry: RawTelemetry,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPipeline {
    receivers: Vec<String>,
    processors: Vec<String>,
    exporters: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(dead_code)] // Fields kept so that Go's keys are accepted.
struct RawTelemetry {
    logs: RawLogs,
    metrics: RawMetrics,
    traces: Value,
    resource: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(dead_code)]
struct RawLogs {
    level: Option<String>,
    encoding: Option<String>,
    development: Value,
    disable_caller: Value,
    disable_stacktrace: Value,
    sampling: Value,
    output_paths: Value,
    error_output_paths: Value,
    initial_fields: Value,
    processors: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(dead_code)]
struct RawMetrics {
    level: Option<String>,
    address: Option<String>,
    readers: Vec<RawReader>,
    views: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(dead_code)]
struct RawReader {
    pull: Option<RawPull>,
    periodic: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPull {
    exporter: RawPullExporter,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPullExporter {
    prometheus: Option<RawPrometheus>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
#[allow(dead_code)]
struct RawPrometheus {
    host: Option<String>,
    port: Option<u16>,
    without_units: Value,
    without_type_suffix: Value,
    without_scope_info: Value,
    with_resource_constant_labels: Value,
    translation_strategy: Value,
}

const LOG_LEVELS: [&str; 7] = ["debug", "info", "warn", "error", "dpanic", "panic", "fatal"];
const METRIC_LEVELS: [&str; 4] = ["none", "basic", "normal", "detailed"];

fn telemetry(raw: RawTelemetry) -> Result<TelemetryConfig, ConfigError> {
    let mut t = TelemetryConfig::default();
    if let Some(level) = raw.logs.level {
        let l = level.to_ascii_lowercase();
        if !LOG_LEVELS.contains(&l.as_str()) {
            return Err(ConfigError::new(
                "service::telemetry::logs::level",
                format!("unrecognized level: {level:?}"),
            ));
        }
        t.logs.level = l;
    }
    if let Some(encoding) = raw.logs.encoding {
        t.logs.encoding = encoding;
    }
    if let Some(level) = raw.metrics.level {
        let l = level.to_ascii_lowercase();
        if !METRIC_LEVELS.contains(&l.as_str()) {
            return Err(ConfigError::new(
                "service::telemetry::metrics::level",
                format!("unknown metrics level {level:?}"),
            ));
        }
        t.metrics.level = l;
    }
    let prometheus = raw
        .metrics
        .readers
        .into_iter()
        .find_map(|r| r.pull.and_then(|p| p.exporter.prometheus));
    match (raw.metrics.address, prometheus) {
        (Some(address), reader) => {
            tracing::warn!(
                "service::telemetry::metrics::address is deprecated, use readers with a prometheus pull exporter"
            );
            if reader.is_some() {
                tracing::warn!(
                    "service::telemetry::metrics has both address and readers; using address"
                );
            }
            t.metrics.address = address;
        }
        (None, Some(p)) => {
            let host = p.host.unwrap_or_else(|| "localhost".to_string());
            let port = p.port.unwrap_or(8888);
            t.metrics.address = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
        }
        (None, None) => {}
    }
    Ok(t)
}

impl CollectorConfig {
    /// Splits a merged and expanded tree into the top-level sections, checking ids and keys.
    pub fn from_value(root: &Value) -> Result<CollectorConfig, ConfigError> {
        match root.resolved() {
            Value::Null => return Ok(CollectorConfig::default()),
            Value::Map(m) => invalid_keys("", m.keys(), &TOP_LEVEL_KEYS)?,
            other => {
                return Err(ConfigError::new(
                    "",
                    format!("the configuration must be a map, got {}", other.kind()),
                ));
            }
        }
        let raw: RawService = decode(root.get("service").unwrap_or(&Value::Null), "service")?;
        let mut pipelines = IndexMap::new();
        for (name, p) in raw.pipelines {
            let id =
                PipelineId::parse(&name).map_err(|m| ConfigError::new("service::pipelines", m))?;
            let path = format!("service::pipelines::{name}");
            let cfg = PipelineConfig {
                receivers: id_list(&format!("{path}::receivers"), &p.receivers)?,
                processors: id_list(&format!("{path}::processors"), &p.processors)?,
                exporters: id_list(&format!("{path}::exporters"), &p.exporters)?,
            };
            if pipelines.insert(id.clone(), cfg).is_some() {
                return Err(ConfigError::new(
                    "service::pipelines",
                    format!("duplicate id {:?}", id.to_string()),
                ));
            }
        }
        Ok(CollectorConfig {
            receivers: component_map(root, "receivers")?,
            processors: component_map(root, "processors")?,
            exporters: component_map(root, "exporters")?,
            connectors: component_map(root, "connectors")?,
            extensions: component_map(root, "extensions")?,
            service: ServiceConfig {
                extensions: id_list("service::extensions", &raw.extensions)?,
                pipelines,
                telemetry: telemetry(raw.telemetry)?,
            },
        })
    }

    /// The Go collector's structural checks (otelcol/config.go, service/pipelines/config.go),
    /// in its order and with its messages. Component types and connector pairing are the
    /// runtime's business.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.receivers.is_empty()
            && self.processors.is_empty()
            && self.exporters.is_empty()
            && self.connectors.is_empty()
            && self.extensions.is_empty()
        {
            return Err(ConfigError::new("", "empty configuration file"));
        }
        if self.receivers.is_empty() {
            return Err(ConfigError::new(
                "",
                "no receiver configuration specified in config",
            ));
        }
        if self.exporters.is_empty() {
            return Err(ConfigError::new(
                "",
                "no exporter configuration specified in config",
            ));
        }
        if self.service.pipelines.is_empty() {
            return Err(ConfigError::new(
                "service::pipelines",
                "service must have at least one pipeline",
            ));
        }
        for (id, p) in &self.service.pipelines {
            let path = format!("service::pipelines::{id}");
            if p.receivers.is_empty() {
                return Err(ConfigError::new(path, "must have at least one receiver"));
            }
            if p.exporters.is_empty() {
                return Err(ConfigError::new(path, "must have at least one exporter"));
            }
            for (i, proc_id) in p.processors.iter().enumerate() {
                if p.processors[..i].contains(proc_id) {
                    return Err(ConfigError::new(
                        path,
                        format!(
                            "references processor {:?} multiple times",
                            proc_id.to_string()
                        ),
                    ));
                }
            }
        }
        for ext in &self.service.extensions {
            if !self.extensions.contains_key(ext) {
                return Err(ConfigError::new(
                    "service::extensions",
                    format!(
                        "references extension {:?} which is not configured",
                        ext.to_string()
                    ),
                ));
            }
        }
        for (id, p) in &self.service.pipelines {
            let path = format!("service::pipelines::{id}");
            let missing = |kind: &str, c: &ComponentId| {
                ConfigError::new(
                    path.clone(),
                    format!(
                        "references {kind} {:?} which is not configured",
                        c.to_string()
                    ),
                )
            };
            if let Some(c) = p
                .receivers
                .iter()
                .find(|c| !self.receivers.contains_key(*c) && !self.connectors.contains_key(*c))
            {
                return Err(missing("receiver", c));
            }
            if let Some(c) = p
                .processors
                .iter()
                .find(|c| !self.processors.contains_key(*c))
            {
                return Err(missing("processor", c));
            }
            if let Some(c) = p
                .exporters
                .iter()
                .find(|c| !self.exporters.contains_key(*c) && !self.connectors.contains_key(*c))
            {
                return Err(missing("exporter", c));
            }
        }
        Ok(())
    }
}

/// A Go-style duration (`200ms`, `5s`, `1h30m`, `0`); integers are nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(pub std::time::Duration);

/// A size in bytes (`20971520`, `4MiB`, `512KiB`, `1GB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct ByteSize(pub u64);

#[cfg(test)]
mod tests;
