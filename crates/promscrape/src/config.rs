//! The Prometheus configuration people embed in the receiver's `config:` key: `global` and
//! `scrape_configs` with Prometheus's defaults, inheritance from `global`, and validation
//! messages. What ferrotel cannot run is refused with an error that names it: service
//! discovery other than `static_configs` and `file_sd_configs`, `oauth2`, the protobuf scrape
//! protocol, and the sections the Go receiver refuses too (`remote_write`, `rule_files`, …).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use crate::labels::Labels;
use crate::relabel::{Rule, RuleConfig, rules_from_configs};

/// Service-discovery kinds of Prometheus that this build cannot run.
pub const UNSUPPORTED_SD: &[&str] = &[
    "azure_sd_configs",
    "consul_sd_configs",
    "digitalocean_sd_configs",
    "docker_sd_configs",
    "dockerswarm_sd_configs",
    "dns_sd_configs",
    "ec2_sd_configs",
    "eureka_sd_configs",
    "gce_sd_configs",
    "hetzner_sd_configs",
    "http_sd_configs",
    "ionos_sd_configs",
    "kubernetes_sd_configs",
    "kuma_sd_configs",
    "lightsail_sd_configs",
    "linode_sd_configs",
    "marathon_sd_configs",
    "nerve_sd_configs",
    "nomad_sd_configs",
    "openstack_sd_configs",
    "ovhcloud_sd_configs",
    "puppetdb_sd_configs",
    "scaleway_sd_configs",
    "serverset_sd_configs",
    "stackit_sd_configs",
    "triton_sd_configs",
    "uyuni_sd_configs",
    "vultr_sd_configs",
];

/// A scrape protocol of `scrape_protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeProtocol {
    PrometheusProto,
    PrometheusText004,
    PrometheusText100,
    OpenMetricsText001,
    OpenMetricsText100,
}

impl ScrapeProtocol {
    pub const ALL: [ScrapeProtocol; 5] = [
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::PrometheusText004,
        ScrapeProtocol::PrometheusText100,
        ScrapeProtocol::OpenMetricsText001,
        ScrapeProtocol::OpenMetricsText100,
    ];
    /// Prometheus 3's default order.
    pub const DEFAULT: [ScrapeProtocol; 4] = [
        ScrapeProtocol::OpenMetricsText100,
        ScrapeProtocol::OpenMetricsText001,
        ScrapeProtocol::PrometheusText100,
        ScrapeProtocol::PrometheusText004,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::PrometheusText004 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText100 => "PrometheusText1.0.0",
            ScrapeProtocol::OpenMetricsText001 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText100 => "OpenMetricsText1.0.0",
        }
    }

    /// The media type this protocol asks for in `Accept`.
    pub fn header(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => {
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            }
            ScrapeProtocol::PrometheusText004 => "text/plain;version=0.0.4",
            ScrapeProtocol::PrometheusText100 => "text/plain;version=1.0.0",
            ScrapeProtocol::OpenMetricsText001 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::OpenMetricsText100 => "application/openmetrics-text;version=1.0.0",
        }
    }

    fn parse(s: &str) -> Result<ScrapeProtocol, String> {
        ScrapeProtocol::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ScrapeProtocol::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown scrape protocol {s}, supported: [{}]",
                    names.join(" ")
                )
            })
    }
}

/// The `Accept` header Prometheus sends for `protocols` (weights falling from 0.{n+1}).
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let mut weight = ScrapeProtocol::ALL.len() + 1;
    let mut parts = Vec::with_capacity(protocols.len() + 1);
    for p in protocols {
        let mut v = p.header().to_string();
        // The escaping parameter only exists for the newer text formats; names pass as
        // UTF-8, Prometheus 3's default.
        if matches!(
            p,
            ScrapeProtocol::PrometheusText100 | ScrapeProtocol::OpenMetricsText100
        ) {
            v.push_str(";escaping=allow-utf-8");
        }
        v.push_str(&format!(";q=0.{weight}"));
        parts.push(v);
        weight = weight.saturating_sub(1);
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// The whole embedded Prometheus config.
#[derive(Debug, Clone)]
pub struct PromConfig {
    pub global: Global,
    pub scrape_configs: Vec<ScrapeConfig>,
}

#[derive(Debug, Clone)]
pub struct Global {
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub external_labels: Labels,
}

/// One validated `scrape_configs` entry, with `global`'s values filled in.
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub params: BTreeMap<String, Vec<String>>,
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub scrape_protocols: Vec<ScrapeProtocol>,
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    pub metrics_path: String,
    pub scheme: String,
    pub enable_compression: bool,
    pub body_size_limit: u64,
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub target_limit: u64,
    pub http: HttpClientConfig,
    pub static_configs: Vec<TargetGroup>,
    pub file_sd_configs: Vec<FileSdConfig>,
    pub relabel_configs: Vec<Rule>,
    pub metric_relabel_configs: Vec<Rule>,
}

/// A group of targets with common labels (a `static_configs` entry or a file_sd group).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetGroup {
    pub targets: Vec<String>,
    pub labels: Labels,
    /// Where the group came from (`__meta_filepath` for file_sd).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileSdConfig {
    pub files: Vec<String>,
    pub refresh_interval: Duration,
}

/// The client side of Prometheus's `HTTPClientConfig` that ferrotel runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpClientConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls: TlsConfig,
    pub proxy_url: String,
    pub follow_redirects: bool,
    pub enable_http2: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BasicAuth {
    pub username: String,
    pub username_file: String,
    pub password: String,
    pub password_file: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Authorization {
    pub kind: String,
    pub credentials: String,
    pub credentials_file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub ca: String,
    pub ca_file: String,
    pub cert: String,
    pub cert_file: String,
    pub key: String,
    pub key_file: String,
    pub server_name: String,
    pub insecure_skip_verify: bool,
    /// `TLS10` … `TLS13`.
    pub min_version: String,
    pub max_version: String,
}

// ---- the YAML shapes ------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    global: RawGlobal,
    scrape_configs: Vec<Yaml>,
    scrape_config_files: Vec<String>,
    rule_files: Vec<Yaml>,
    remote_write: Vec<Yaml>,
    remote_read: Vec<Yaml>,
    alerting: RawAlerting,
    storage: Option<Yaml>,
    tracing: Option<Yaml>,
    otlp: Option<Yaml>,
    runtime: Option<Yaml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAlerting {
    alertmanagers: Vec<Yaml>,
    alert_relabel_configs: Vec<Yaml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawGlobal {
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    scrape_protocols: Option<Vec<String>>,
    evaluation_interval: Option<String>,
    rule_query_offset: Option<String>,
    external_labels: BTreeMap<String, String>,
    query_log_file: Option<String>,
    scrape_failure_log_file: Option<String>,
    body_size_limit: Option<Yaml>,
    sample_limit: Option<u64>,
    label_limit: Option<u64>,
    label_name_length_limit: Option<u64>,
    label_value_length_limit: Option<u64>,
    target_limit: Option<u64>,
    keep_dropped_targets: Option<u64>,
    metric_name_validation_scheme: Option<String>,
    metric_name_escaping_scheme: Option<String>,
    always_scrape_classic_histograms: Option<bool>,
    convert_classic_histograms_to_nhcb: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawScrape {
    job_name: String,
    honor_labels: bool,
    honor_timestamps: Option<bool>,
    track_timestamps_staleness: bool,
    params: BTreeMap<String, Vec<String>>,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    scrape_protocols: Option<Vec<String>>,
    fallback_scrape_protocol: Option<String>,
    scrape_classic_histograms: Option<bool>,
    always_scrape_classic_histograms: Option<bool>,
    convert_classic_histograms_to_nhcb: Option<bool>,
    scrape_native_histograms: Option<bool>,
    native_histogram_bucket_limit: Option<u64>,
    native_histogram_min_bucket_factor: Option<f64>,
    metrics_path: Option<String>,
    scheme: Option<String>,
    enable_compression: Option<bool>,
    body_size_limit: Option<Yaml>,
    sample_limit: Option<u64>,
    label_limit: Option<u64>,
    label_name_length_limit: Option<u64>,
    label_value_length_limit: Option<u64>,
    target_limit: Option<u64>,
    keep_dropped_targets: Option<u64>,
    metric_name_validation_scheme: Option<String>,
    metric_name_escaping_scheme: Option<String>,
    scrape_failure_log_file: Option<String>,
    // HTTP client
    basic_auth: Option<RawBasicAuth>,
    authorization: Option<RawAuthorization>,
    bearer_token: Option<String>,
    bearer_token_file: Option<String>,
    oauth2: Option<Yaml>,
    tls_config: Option<TlsConfig>,
    proxy_url: Option<String>,
    no_proxy: Option<String>,
    proxy_from_environment: Option<bool>,
    proxy_connect_header: Option<Yaml>,
    follow_redirects: Option<bool>,
    enable_http2: Option<bool>,
    http_headers: Option<Yaml>,
    // discovery and relabeling
    static_configs: Vec<RawStatic>,
    file_sd_configs: Vec<RawFileSd>,
    relabel_configs: Vec<RuleConfig>,
    metric_relabel_configs: Vec<RuleConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBasicAuth {
    username: String,
    username_file: String,
    username_ref: String,
    password: String,
    password_file: String,
    password_ref: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAuthorization {
    #[serde(rename = "type")]
    kind: String,
    credentials: String,
    credentials_file: String,
    credentials_ref: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawStatic {
    pub(crate) targets: Vec<String>,
    pub(crate) labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawFileSd {
    files: Vec<String>,
    refresh_interval: Option<String>,
}

// ---- parsing and validation -----------------------------------------------------------

impl PromConfig {
    /// Decodes and validates a `config:` tree held in another serializable form (the
    /// collector's configuration value).
    pub fn from_serializable<T: serde::Serialize>(v: &T) -> Result<PromConfig, String> {
        let yaml = serde_yaml_ng::to_value(v).map_err(|e| e.to_string())?;
        PromConfig::from_yaml(&yaml)
    }

    /// Decodes and validates the `config:` tree.
    pub fn from_yaml(v: &Yaml) -> Result<PromConfig, String> {
        let raw: RawConfig = if v.is_null() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_value(v.clone()).map_err(|e| e.to_string())?
        };
        let mut unsupported = Vec::new();
        if !raw.remote_write.is_empty() {
            unsupported.push("remote_write");
        }
        if !raw.remote_read.is_empty() {
            unsupported.push("remote_read");
        }
        if !raw.rule_files.is_empty() {
            unsupported.push("rule_files");
        }
        if !raw.alerting.alert_relabel_configs.is_empty() {
            unsupported.push("alert_config.relabel_configs");
        }
        if !raw.alerting.alertmanagers.is_empty() {
            unsupported.push("alert_config.alertmanagers");
        }
        if !unsupported.is_empty() {
            return Err(format!(
                "unsupported features:\n\t{}",
                unsupported.join("\n\t")
            ));
        }
        if !raw.scrape_config_files.is_empty() {
            return Err(
                "scrape_config_files is not supported by ferrotel's prometheus receiver: list the scrape_configs inline".into(),
            );
        }
        let g = &raw.global;
        let scrape_interval = match &g.scrape_interval {
            Some(s) => parse_duration(s)?,
            None => Duration::from_secs(60),
        };
        let scrape_timeout = match &g.scrape_timeout {
            Some(s) => parse_duration(s)?,
            None => Duration::from_secs(10),
        };
        if scrape_timeout > scrape_interval {
            return Err("global scrape timeout greater than scrape interval".into());
        }
        let global_protocols = match &g.scrape_protocols {
            Some(list) => protocols(list)?,
            None => ScrapeProtocol::DEFAULT.to_vec(),
        };
        for k in g.external_labels.keys() {
            if k.starts_with("__") {
                return Err(format!("{k:?} is not a valid label name"));
            }
        }
        let global_body_limit = match &g.body_size_limit {
            Some(v) => parse_bytes(v)?,
            None => 0,
        };
        let global = Global {
            scrape_interval,
            scrape_timeout,
            external_labels: Labels::from_pairs(g.external_labels.clone()),
        };
        let mut jobs: Vec<ScrapeConfig> = Vec::with_capacity(raw.scrape_configs.len());
        for (i, sc) in raw.scrape_configs.iter().enumerate() {
            let job = scrape_config(sc, &global, g, &global_protocols, global_body_limit)
                .map_err(|e| format!("scrape_configs[{i}]: {e}"))?;
            if jobs.iter().any(|j| j.job_name == job.job_name) {
                return Err(format!(
                    "found multiple scrape configs with job name {:?}",
                    job.job_name
                ));
            }
            jobs.push(job);
        }
        Ok(PromConfig {
            global,
            scrape_configs: jobs,
        })
    }
}

fn protocols(list: &[String]) -> Result<Vec<ScrapeProtocol>, String> {
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let p = ScrapeProtocol::parse(s)?;
        if out.contains(&p) {
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                list.join(" ")
            ));
        }
        if p == ScrapeProtocol::PrometheusProto {
            return Err(
                "scrape protocol PrometheusProto (the protobuf exposition format) is not supported by ferrotel's prometheus receiver; use the text formats".into(),
            );
        }
        out.push(p);
    }
    if out.is_empty() {
        return Err("scrape_protocols cannot be empty".into());
    }
    Ok(out)
}

fn scrape_config(
    v: &Yaml,
    global: &Global,
    g: &RawGlobal,
    global_protocols: &[ScrapeProtocol],
    global_body_limit: u64,
) -> Result<ScrapeConfig, String> {
    // Service discovery kinds that cannot run here are refused by name, before the strict
    // decode would call them merely unknown.
    if let Some(map) = v.as_mapping() {
        for (k, _) in map {
            if let Some(k) = k.as_str()
                && UNSUPPORTED_SD.contains(&k)
            {
                {
                    let job = map
                        .get("job_name")
                        .and_then(|j| j.as_str())
                        .unwrap_or_default();
                    return Err(format!(
                        "job {job:?}: {k} is not supported by ferrotel's prometheus receiver (only static_configs and file_sd_configs can discover targets here)"
                    ));
                }
            }
        }
    }
    let r: RawScrape = serde_yaml_ng::from_value(v.clone()).map_err(|e| e.to_string())?;
    if r.job_name.is_empty() {
        return Err("job_name is empty".into());
    }
    let job = &r.job_name;
    let scrape_interval = match &r.scrape_interval {
        Some(s) => parse_duration(s)?,
        None => global.scrape_interval,
    };
    let scrape_timeout = match &r.scrape_timeout {
        Some(s) => parse_duration(s)?,
        // Prometheus: the global timeout, but never longer than the job's interval.
        None => global.scrape_timeout.min(scrape_interval),
    };
    if scrape_timeout > scrape_interval {
        return Err(format!(
            "scrape timeout greater than scrape interval for scrape config with job name {job:?}"
        ));
    }
    if scrape_interval.is_zero() {
        return Err(format!(
            "scrape interval cannot be 0 for scrape config with job name {job:?}"
        ));
    }
    let scrape_protocols = match &r.scrape_protocols {
        Some(list) => protocols(list)?,
        None => global_protocols.to_vec(),
    };
    let fallback_scrape_protocol = match &r.fallback_scrape_protocol {
        Some(s) if !s.is_empty() => Some(ScrapeProtocol::parse(s)?),
        _ => None,
    };
    if r.scrape_native_histograms == Some(true) {
        return Err(format!(
            "job {job:?}: scrape_native_histograms needs the protobuf exposition format, which ferrotel's prometheus receiver does not support"
        ));
    }
    let scheme = r.scheme.clone().unwrap_or_else(|| "http".into());
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "scheme {scheme:?} for job {job:?} is not supported: use http or https"
        ));
    }
    let body_size_limit = match &r.body_size_limit {
        Some(v) => parse_bytes(v)?,
        None => global_body_limit,
    };
    let http = http_client(&r)?;
    let mut static_configs = Vec::with_capacity(r.static_configs.len());
    for s in &r.static_configs {
        static_configs.push(target_group(s, "")?);
    }
    let mut file_sd_configs = Vec::new();
    for f in &r.file_sd_configs {
        for name in &f.files {
            check_sd_file_pattern(name)?;
        }
        let refresh_interval = match &f.refresh_interval {
            Some(s) => parse_duration(s)?,
            None => Duration::from_secs(300),
        };
        file_sd_configs.push(FileSdConfig {
            files: f.files.clone(),
            refresh_interval,
        });
    }
    let relabel_configs =
        rules_from_configs(&r.relabel_configs).map_err(|e| format!("relabel_configs{e}"))?;
    let metric_relabel_configs = rules_from_configs(&r.metric_relabel_configs)
        .map_err(|e| format!("metric_relabel_configs{e}"))?;
    Ok(ScrapeConfig {
        job_name: r.job_name.clone(),
        honor_labels: r.honor_labels,
        honor_timestamps: r.honor_timestamps.unwrap_or(true),
        track_timestamps_staleness: r.track_timestamps_staleness,
        params: r.params.clone(),
        scrape_interval,
        scrape_timeout,
        scrape_protocols,
        fallback_scrape_protocol,
        metrics_path: r.metrics_path.clone().unwrap_or_else(|| "/metrics".into()),
        scheme,
        enable_compression: r.enable_compression.unwrap_or(true),
        body_size_limit,
        sample_limit: r.sample_limit.or(g.sample_limit).unwrap_or(0),
        label_limit: r.label_limit.or(g.label_limit).unwrap_or(0),
        label_name_length_limit: r
            .label_name_length_limit
            .or(g.label_name_length_limit)
            .unwrap_or(0),
        label_value_length_limit: r
            .label_value_length_limit
            .or(g.label_value_length_limit)
            .unwrap_or(0),
        target_limit: r.target_limit.or(g.target_limit).unwrap_or(0),
        http,
        static_configs,
        file_sd_configs,
        relabel_configs,
        metric_relabel_configs,
    })
}

fn http_client(r: &RawScrape) -> Result<HttpClientConfig, String> {
    if r.oauth2.is_some() {
        return Err("oauth2 is not supported by ferrotel's prometheus receiver".into());
    }
    if r.http_headers.is_some() || r.proxy_connect_header.is_some() {
        return Err(
            "http_headers and proxy_connect_header are not supported by ferrotel's prometheus receiver"
                .into(),
        );
    }
    let has_bearer = r.bearer_token.as_deref().is_some_and(|s| !s.is_empty())
        || r.bearer_token_file
            .as_deref()
            .is_some_and(|s| !s.is_empty());
    if r.basic_auth.is_some() && has_bearer {
        return Err(
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                .into(),
        );
    }
    if r.authorization.is_some() && has_bearer {
        return Err("authorization is not compatible with bearer_token & bearer_token_file".into());
    }
    if r.basic_auth.is_some() && r.authorization.is_some() {
        return Err("at most one of basic_auth, oauth2 & authorization must be configured".into());
    }
    let basic_auth = match &r.basic_auth {
        Some(b) => {
            if !b.username_ref.is_empty() || !b.password_ref.is_empty() {
                return Err("basic_auth username_ref and password_ref are not supported".into());
            }
            if !b.username.is_empty() && !b.username_file.is_empty() {
                return Err(
                    "at most one of basic_auth username, username_file & username_ref must be configured"
                        .into(),
                );
            }
            if !b.password.is_empty() && !b.password_file.is_empty() {
                return Err(
                    "at most one of basic_auth password, password_file & password_ref must be configured"
                        .into(),
                );
            }
            Some(BasicAuth {
                username: b.username.clone(),
                username_file: b.username_file.clone(),
                password: b.password.clone(),
                password_file: b.password_file.clone(),
            })
        }
        None => None,
    };
    let authorization = if let Some(a) = &r.authorization {
        if !a.credentials_ref.is_empty() {
            return Err("authorization credentials_ref is not supported".into());
        }
        let kind = if a.kind.is_empty() {
            "Bearer".to_string()
        } else {
            a.kind.clone()
        };
        if kind.eq_ignore_ascii_case("basic") {
            return Err(
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead".into(),
            );
        }
        if !a.credentials.is_empty() && !a.credentials_file.is_empty() {
            return Err(
                "at most one of authorization credentials & credentials_file must be configured"
                    .into(),
            );
        }
        Some(Authorization {
            kind,
            credentials: a.credentials.clone(),
            credentials_file: a.credentials_file.clone(),
        })
    } else if has_bearer {
        Some(Authorization {
            kind: "Bearer".into(),
            credentials: r.bearer_token.clone().unwrap_or_default(),
            credentials_file: r.bearer_token_file.clone().unwrap_or_default(),
        })
    } else {
        None
    };
    let tls = r.tls_config.clone().unwrap_or_default();
    if !tls.ca.is_empty() && !tls.ca_file.is_empty() {
        return Err("at most one of ca and ca_file must be configured".into());
    }
    if !tls.cert.is_empty() && !tls.cert_file.is_empty() {
        return Err("at most one of cert and cert_file must be configured".into());
    }
    if !tls.key.is_empty() && !tls.key_file.is_empty() {
        return Err("at most one of key and key_file must be configured".into());
    }
    let has_cert = !tls.cert.is_empty() || !tls.cert_file.is_empty();
    let has_key = !tls.key.is_empty() || !tls.key_file.is_empty();
    if has_cert != has_key {
        return Err(if has_cert {
            "exactly one of key or key_file must be configured when a client certificate is configured".into()
        } else {
            "exactly one of cert or cert_file must be configured when a client key is configured"
                .into()
        });
    }
    for v in [&tls.min_version, &tls.max_version] {
        match v.as_str() {
            "" | "TLS12" | "TLS13" => {}
            "TLS10" | "TLS11" => {
                return Err(format!(
                    "tls_config: {v} is not supported by ferrotel (rustls speaks TLS 1.2 and 1.3)"
                ));
            }
            other => return Err(format!("unknown TLS version: {other}")),
        }
    }
    if r.no_proxy.is_some() || r.proxy_from_environment == Some(true) {
        return Err(
            "no_proxy and proxy_from_environment are not supported by ferrotel's prometheus receiver; set proxy_url"
                .into(),
        );
    }
    Ok(HttpClientConfig {
        basic_auth,
        authorization,
        tls,
        proxy_url: r.proxy_url.clone().unwrap_or_default(),
        follow_redirects: r.follow_redirects.unwrap_or(true),
        enable_http2: r.enable_http2.unwrap_or(true),
    })
}

pub(crate) fn target_group(s: &RawStatic, source: &str) -> Result<TargetGroup, String> {
    for t in &s.targets {
        if t.contains('/') {
            return Err(format!("{t:?} is not a valid hostname"));
        }
    }
    for k in s.labels.keys() {
        if k.is_empty() {
            return Err(format!("{k:?} is not a valid label name"));
        }
    }
    Ok(TargetGroup {
        targets: s.targets.clone(),
        labels: Labels::from_pairs(s.labels.clone()),
        source: source.to_string(),
    })
}

fn check_sd_file_pattern(name: &str) -> Result<(), String> {
    // Prometheus: `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`.
    let ok = {
        let ext_ok = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"]
            .iter()
            .any(|e| name.ends_with(e));
        let star = name.find('*');
        let star_ok = match star {
            None => true,
            Some(i) => !name[i + 1..].contains(['*', '/']),
        };
        ext_ok && star_ok
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "path name {name:?} is not valid for file discovery"
        ))
    }
}

/// A Prometheus duration: `1y2w3d4h5m6s7ms` (each part optional, in that order), or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("not a valid duration string: {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = s;
    let mut next_unit = 0;
    let mut ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let after = &rest[digits..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        let idx = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?
            + next_unit;
        ms = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| v.checked_add(ms))
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
        next_unit = idx + 1;
        rest = &after[unit_len..];
    }
    Ok(Duration::from_millis(ms))
}

/// A duration as Prometheus prints one (`1m`, `1h30m`, `90d`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut r = String::new();
    let mut f = |unit: &str, mult: u64, exact: bool| {
        if exact && !ms.is_multiple_of(mult) {
            return;
        }
        let v = ms / mult;
        if v > 0 {
            r.push_str(&format!("{v}{unit}"));
            ms -= v * mult;
        }
    };
    f("y", 365 * 24 * 3600 * 1000, true);
    f("w", 7 * 24 * 3600 * 1000, true);
    f("d", 24 * 3600 * 1000, false);
    f("h", 3600 * 1000, false);
    f("m", 60 * 1000, false);
    f("s", 1000, false);
    f("ms", 1, false);
    r
}

/// `body_size_limit`: bytes, or a number with a base-2 unit (`10MB` = 10 MiB, as Go's
/// `units.Base2Bytes`); 0 means no limit.
pub fn parse_bytes(v: &Yaml) -> Result<u64, String> {
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    let Some(s) = v.as_str() else {
        return Err(format!("invalid body_size_limit: {v:?}"));
    };
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("units: invalid size {s:?}"))?;
    let mult: u64 = match unit {
        "" | "B" => 1,
        "KB" | "KiB" | "K" => 1 << 10,
        "MB" | "MiB" | "M" => 1 << 20,
        "GB" | "GiB" | "G" => 1 << 30,
        "TB" | "TiB" | "T" => 1 << 40,
        "PB" | "PiB" | "P" => 1 << 50,
        "EB" | "EiB" | "E" => 1 << 60,
        _ => return Err(format!("units: unknown unit {unit:?} in {s:?}")),
    };
    Ok((n * mult as f64) as u64)
}
