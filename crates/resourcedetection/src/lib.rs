//! Host and cloud resource detection, as the Go collector's `resource_detection` processor does
//! it: each detector (`env`, `system`, `docker`, `ec2`, `ecs`, `eks`, `lambda`, `gcp`, `azure`,
//! `aks`, `heroku`, `k8snode`/`k8s_api`, `openshift`) reads its platform's metadata once and
//! yields Go's attribute set, gated by its `resource_attributes` switches. [`detect`] runs the
//! detectors concurrently within the `timeout`, retries a failing one with back-off until then,
//! and merges the results in detector order (the first detector to set a key wins).
//!
//! A detector that finds itself off its platform contributes nothing and logs at debug level,
//! as Go's do; errors Go treats as fatal (a broken `OTEL_RESOURCE_ATTRIBUTES`, an identity
//! document that cannot be read once IMDS answered, `fail_on_missing_metadata: true`) stay
//! errors, and the processor then refuses to start.
//!
//! Every network endpoint can be redirected: the override each platform's SDK honours
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `GCE_METADATA_HOST`, `ECS_CONTAINER_METADATA_URI_V4`,
//! `KUBERNETES_SERVICE_HOST`/`_PORT`, `DOCKER_HOST`), and [`METADATA_ENDPOINT_ENV`]
//! (`FERROTEL_METADATA_ENDPOINT`), which redirects every detector whose own override is not
//! set — tests, CI and benchmarks set it to a closed port on 127.0.0.1.
//!
//! ```
//! use resourcedetection::{Env, Settings, build, detect, DetectorConfigs};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let env = Env::fixed([("OTEL_RESOURCE_ATTRIBUTES", "service.name=shop,team=a%20b")]);
//! let set = Settings::new(env, std::time::Duration::from_secs(1));
//! let detectors = build(&["env".to_string()], &DetectorConfigs::default(), &set).unwrap();
//! let found = detect(&detectors, &set).await.unwrap();
//! assert_eq!(found.get_str("team"), Some("a b"));
//! # });
//! ```

pub mod attrs;
pub mod aws;
pub mod azure;
pub mod docker;
pub mod env;
#[cfg(any(test, feature = "testing"))]
pub mod fake;
pub mod gcp;
pub mod heroku;
mod http;
pub mod k8s;
pub mod system;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use serde::Deserialize;
use tokio::time::Instant;

pub use attrs::{AttrSwitch, AttrSwitches};

/// The one ferrotel setting that redirects every metadata request whose platform override is
/// not set (for example `http://127.0.0.1:9`, a closed port: detection then fails soft).
pub const METADATA_ENDPOINT_ENV: &str = "FERROTEL_METADATA_ENDPOINT";

/// The schema URL of the semantic conventions most detectors follow (Go's `semconv/v1.6.1`).
pub const SCHEMA_URL_1_6_1: &str = "https://opentelemetry.io/schemas/1.6.1";

/// Where detectors read environment variables: the process, or a fixed set (tests run in
/// parallel and must not change the process environment).
#[derive(Clone, Debug, Default)]
pub struct Env {
    fixed: Option<Arc<HashMap<String, String>>>,
}

impl Env {
    pub fn process() -> Env {
        Env { fixed: None }
    }

    pub fn fixed<I, K, V>(vars: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            fixed: Some(Arc::new(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
        }
    }

    /// The variable as Go's `os.LookupEnv` sees it (set but empty is `Some("")`).
    pub fn lookup(&self, name: &str) -> Option<String> {
        match &self.fixed {
            Some(m) => m.get(name).cloned(),
            None => std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
        }
    }

    /// The variable, trimmed, if it is set and not blank.
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.lookup(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

/// The base URL for a detector: its platform's own override if set, else
/// [`METADATA_ENDPOINT_ENV`], else the platform's default (`None`: the platform has no
/// default address, e.g. the Kubernetes API outside a cluster).
pub(crate) fn endpoint(env: &Env, own: Option<String>, default: Option<&str>) -> Option<String> {
    own.or_else(|| env.non_empty(METADATA_ENDPOINT_ENV))
        .or_else(|| default.map(str::to_string))
        .map(|u| u.trim_end_matches('/').to_string())
}

/// The processor-wide settings detectors run with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub env: Env,
    /// Bounds the whole detection (every attempt of every detector), as Go's HTTP client
    /// timeout bounds its detection context.
    pub timeout: Duration,
    /// Top-level `fail_on_missing_metadata`: an unreachable platform is an error, not an
    /// empty resource.
    pub fail_on_missing_metadata: bool,
    pub retry: Retry,
}

impl Settings {
    pub fn new(env: Env, timeout: Duration) -> Settings {
        Settings {
            env,
            timeout,
            fail_on_missing_metadata: false,
            retry: Retry::default(),
        }
    }
}

/// The `retry` block (Go's `configretry.BackOffConfig`): how a failing detector is retried.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retry {
    pub enabled: bool,
    pub initial_interval: DurationValue,
    pub randomization_factor: f64,
    pub multiplier: f64,
    pub max_interval: DurationValue,
    /// Zero: the session is bounded by `timeout`; otherwise `timeout` bounds each attempt.
    pub max_elapsed_time: DurationValue,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            enabled: true,
            initial_interval: DurationValue(Duration::from_secs(1)),
            randomization_factor: 0.5,
            multiplier: 2.0,
            max_interval: DurationValue(Duration::from_secs(30)),
            max_elapsed_time: DurationValue(Duration::ZERO),
        }
    }
}

/// A Go duration string (`5s`, `1m30s`, `250ms`) or a number of nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(DurationValue(Duration::from_nanos(n))),
            Raw::Str(s) => parse_go_duration(&s)
                .map(DurationValue)
                .ok_or_else(|| serde::de::Error::custom(format!("time: invalid duration {s:?}"))),
        }
    }
}

fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    Some(Duration::from_secs_f64(total))
}

/// The detector types Go's processor knows, in its spelling; those this build has are
/// [`BUILT`].
pub const BUILT: &[&str] = &[
    "env",
    "system",
    "docker",
    "ec2",
    "ecs",
    "eks",
    "lambda",
    "gcp",
    "azure",
    "aks",
    "heroku",
    "k8snode",
    "k8s_api",
    "openshift",
];

/// Detector types of the Go collector that this build does not have yet.
pub const NOT_BUILT: &[&str] = &[
    "elastic_beanstalk",
    "elasticbeanstalk",
    "azurecontainerapps",
    "consul",
    "dynatrace",
    "kubeadm",
    "hetzner",
    "akamai",
    "scaleway",
    "vultr",
    "oraclecloud",
    "digitalocean",
    "nova",
    "upcloud",
    "alibaba_ecs",
    "tencent_cvm",
    "ibmcloud_vpc",
    "ibmcloud_classic",
];

/// Each detector's own block, under its type name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DetectorConfigs {
    pub env: env::Config,
    pub system: system::Config,
    pub docker: docker::Config,
    pub ec2: aws::Ec2Config,
    pub ecs: aws::EcsConfig,
    pub eks: aws::EksConfig,
    pub lambda: aws::LambdaConfig,
    pub gcp: gcp::Config,
    pub azure: azure::AzureConfig,
    pub aks: azure::AksConfig,
    pub heroku: heroku::Config,
    pub k8snode: k8s::NodeConfig,
    pub k8s_api: k8s::NodeConfig,
    pub openshift: k8s::OpenShiftConfig,
}

impl DetectorConfigs {
    /// Checks each block's own keys (hostname sources, tag regexes, attribute switches).
    pub fn validate(&self) -> Result<(), String> {
        self.system.validate().map_err(|e| format!("system: {e}"))?;
        self.ec2.validate().map_err(|e| format!("ec2: {e}"))?;
        self.azure.validate().map_err(|e| format!("azure: {e}"))?;
        self.gcp.validate().map_err(|e| format!("gcp: {e}"))?;
        let switches: [SwitchTable<'_>; 13] = [
            (
                "system",
                &self.system.resource_attributes,
                system::ATTRIBUTES,
            ),
            (
                "docker",
                &self.docker.resource_attributes,
                docker::ATTRIBUTES,
            ),
            ("ec2", &self.ec2.resource_attributes, aws::EC2_ATTRIBUTES),
            ("ecs", &self.ecs.resource_attributes, aws::ECS_ATTRIBUTES),
            ("eks", &self.eks.resource_attributes, aws::EKS_ATTRIBUTES),
            (
                "lambda",
                &self.lambda.resource_attributes,
                aws::LAMBDA_ATTRIBUTES,
            ),
            ("gcp", &self.gcp.resource_attributes, gcp::ATTRIBUTES),
            (
                "azure",
                &self.azure.resource_attributes,
                azure::AZURE_ATTRIBUTES,
            ),
            ("aks", &self.aks.resource_attributes, azure::AKS_ATTRIBUTES),
            (
                "heroku",
                &self.heroku.resource_attributes,
                heroku::ATTRIBUTES,
            ),
            (
                "k8snode",
                &self.k8snode.resource_attributes,
                k8s::NODE_ATTRIBUTES,
            ),
            (
                "k8s_api",
                &self.k8s_api.resource_attributes,
                k8s::NODE_ATTRIBUTES,
            ),
            (
                "openshift",
                &self.openshift.resource_attributes,
                k8s::OPENSHIFT_ATTRIBUTES,
            ),
        ];
        for (name, sw, known) in switches {
            attrs::validate_switches(sw, known).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    }
}

/// A detector's name, its configured switches and the attributes it knows.
type SwitchTable<'a> = (&'a str, &'a AttrSwitches, &'static [(&'static str, bool)]);

/// A detector ready to run, built from its config at processor creation.
pub enum Detector {
    Env(env::Detector),
    System(system::Detector),
    Docker(docker::Detector),
    Ec2(aws::Ec2Detector),
    Ecs(aws::EcsDetector),
    Eks(aws::EksDetector),
    Lambda(aws::LambdaDetector),
    Gcp(gcp::Detector),
    Azure(azure::AzureDetector),
    Aks(azure::AksDetector),
    Heroku(heroku::Detector),
    K8sNode(k8s::NodeDetector),
    OpenShift(k8s::OpenShiftDetector),
}

/// What one detector found: attributes in the order it set them, and its schema URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub attributes: Vec<KeyValue>,
    pub schema_url: String,
}

impl Found {
    pub(crate) fn new(attributes: Vec<KeyValue>, schema_url: &str) -> Found {
        Found {
            attributes,
            schema_url: if schema_url.is_empty() {
                String::new()
            } else {
                schema_url.to_string()
            },
        }
    }

    /// The string value of `key`, if the detected resource has one.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.as_str()),
                _ => None,
            })
    }

    pub fn get(&self, key: &str) -> Option<&AnyValue> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
    }
}

/// What a detector call sees: the settings and the deadline of this detection.
pub struct Ctx<'a> {
    pub set: &'a Settings,
    pub deadline: Instant,
}

/// Builds the detectors named in `detectors` (Go's `getDetectors`): an unknown name and a
/// detector that cannot be created (a missing node name variable, an unknown auth type) are
/// errors, in Go's words.
pub fn build(
    detectors: &[String],
    cfg: &DetectorConfigs,
    set: &Settings,
) -> Result<Vec<(String, Detector)>, String> {
    let mut out = Vec::with_capacity(detectors.len());
    for name in detectors {
        let name = name.trim();
        let d = match name {
            "env" => Detector::Env(env::Detector::new(&cfg.env)),
            "system" => Detector::System(system::Detector::new(&cfg.system)),
            "docker" => Detector::Docker(docker::Detector::new(&cfg.docker, set)),
            "ec2" => Detector::Ec2(aws::Ec2Detector::new(&cfg.ec2, set)?),
            "ecs" => Detector::Ecs(aws::EcsDetector::new(&cfg.ecs, set)),
            "eks" => Detector::Eks(aws::EksDetector::new(&cfg.eks, set)?),
            "lambda" => Detector::Lambda(aws::LambdaDetector::new(&cfg.lambda, set)),
            "gcp" => Detector::Gcp(gcp::Detector::new(&cfg.gcp, set)?),
            "azure" => Detector::Azure(azure::AzureDetector::new(&cfg.azure, set)?),
            "aks" => Detector::Aks(azure::AksDetector::new(&cfg.aks, set)),
            "heroku" => Detector::Heroku(heroku::Detector::new(&cfg.heroku, set)),
            "k8snode" => Detector::K8sNode({
                tracing::warn!("the k8snode detector name is deprecated, use k8s_api instead");
                k8s::NodeDetector::new(&cfg.k8snode, set)
                    .map_err(|e| format!("failed creating detector type \"{name}\": {e}"))?
            }),
            "k8s_api" => Detector::K8sNode(
                k8s::NodeDetector::new(&cfg.k8s_api, set)
                    .map_err(|e| format!("failed creating detector type \"{name}\": {e}"))?,
            ),
            "openshift" => Detector::OpenShift(
                k8s::OpenShiftDetector::new(&cfg.openshift, set)
                    .map_err(|e| format!("failed creating detector type \"{name}\": {e}"))?,
            ),
            other if NOT_BUILT.contains(&other) => {
                return Err(format!(
                    "the \"{other}\" detector is not built into ferrotel yet; this build has: {}",
                    BUILT.join(", ")
                ));
            }
            other => return Err(format!("invalid detector key: {other}")),
        };
        out.push((name.to_string(), d));
    }
    Ok(out)
}

impl Detector {
    async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        match self {
            Detector::Env(d) => d.detect(ctx),
            Detector::System(d) => d.detect(ctx).await,
            Detector::Docker(d) => d.detect(ctx).await,
            Detector::Ec2(d) => d.detect(ctx).await,
            Detector::Ecs(d) => d.detect(ctx).await,
            Detector::Eks(d) => d.detect(ctx).await,
            Detector::Lambda(d) => d.detect(ctx),
            Detector::Gcp(d) => d.detect(ctx).await,
            Detector::Azure(d) => d.detect(ctx).await,
            Detector::Aks(d) => d.detect(ctx).await,
            Detector::Heroku(d) => d.detect(ctx),
            Detector::K8sNode(d) => d.detect(ctx).await,
            Detector::OpenShift(d) => d.detect(ctx).await,
        }
    }
}

/// Runs every detector concurrently within `set.timeout`, retrying a failing one with
/// exponential back-off until the deadline, and merges the results in detector order: the
/// first detector to set a key wins. As Go's provider: if any detector still fails at the
/// deadline, the error (all failures joined) is returned and the processor does not start.
pub async fn detect(detectors: &[(String, Detector)], set: &Settings) -> Result<Found, String> {
    detect_with_reports(detectors, set).await.0
}

/// How one detector did, for the processor's self-metrics
/// (`otelcol.resourcedetection.detector.{results,duration}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub detector: String,
    pub success: bool,
    /// Including retries and back-off.
    pub duration: Duration,
}

/// [`detect`], and how each detector did.
pub async fn detect_with_reports(
    detectors: &[(String, Detector)],
    set: &Settings,
) -> (Result<Found, String>, Vec<Report>) {
    tracing::info!("began detecting resource information");
    let session_deadline = if set.retry.enabled && !set.retry.max_elapsed_time.0.is_zero() {
        Instant::now() + set.retry.max_elapsed_time.0
    } else {
        Instant::now() + set.timeout
    };
    let results = futures::future::join_all(detectors.iter().map(|(name, d)| async move {
        let started = Instant::now();
        let r = run_one(name, d, set, session_deadline).await;
        (r, started.elapsed())
    }))
    .await;
    let mut merged = Found::default();
    let mut errors = Vec::new();
    let mut reports = Vec::with_capacity(results.len());
    for ((name, _), (r, duration)) in detectors.iter().zip(results) {
        reports.push(Report {
            detector: name.clone(),
            success: r.is_ok(),
            duration,
        });
        match r {
            Ok(found) => {
                merge_schema_url(&mut merged.schema_url, &found.schema_url);
                merge(&mut merged.attributes, &found.attributes, false);
            }
            Err(e) => errors.push(e),
        }
    }
    tracing::info!(resource = ?DebugAttrs(&merged.attributes), "detected resource information");
    let result = if errors.is_empty() {
        Ok(merged)
    } else {
        Err(errors.join("\n"))
    };
    (result, reports)
}

async fn run_one(
    name: &str,
    d: &Detector,
    set: &Settings,
    session_deadline: Instant,
) -> Result<Found, String> {
    let mut interval = set.retry.initial_interval.0;
    loop {
        let attempt_deadline = if set.retry.enabled && !set.retry.max_elapsed_time.0.is_zero() {
            (Instant::now() + set.timeout).min(session_deadline)
        } else {
            session_deadline
        };
        let ctx = Ctx {
            set,
            deadline: attempt_deadline,
        };
        let err = match tokio::time::timeout_at(attempt_deadline, d.detect(&ctx)).await {
            Ok(Ok(found)) => return Ok(found),
            Ok(Err(e)) => e,
            Err(_) => "context deadline exceeded".to_string(),
        };
        tracing::warn!(detector = name, error = %err, "failed to detect resource");
        if !set.retry.enabled {
            return Err(err);
        }
        let jitter = set.retry.randomization_factor.clamp(0.0, 1.0);
        let factor = if jitter > 0.0 {
            1.0 - jitter + rand::random::<f64>() * 2.0 * jitter
        } else {
            1.0
        };
        let sleep = interval.mul_f64(factor);
        let wake = Instant::now() + sleep;
        if wake >= session_deadline {
            tokio::time::sleep_until(session_deadline).await;
            tracing::warn!("context was cancelled");
            return Err(err);
        }
        tokio::time::sleep_until(wake).await;
        interval = interval
            .mul_f64(set.retry.multiplier.max(1.0))
            .min(set.retry.max_interval.0.max(interval));
    }
}

/// Go's `MergeResource`: copies `from` into `to`; an existing key is replaced only when
/// `override_to` is set.
pub fn merge(to: &mut Vec<KeyValue>, from: &[KeyValue], override_to: bool) {
    if from.is_empty() {
        return;
    }
    if to.is_empty() {
        to.extend_from_slice(from);
        return;
    }
    for kv in from {
        match to.iter_mut().find(|t| t.key == kv.key) {
            Some(existing) => {
                if override_to {
                    existing.value = kv.value.clone();
                }
            }
            None => to.push(kv.clone()),
        }
    }
}

/// Go's `MergeSchemaURL`: the current URL unless it is empty.
pub fn merge_schema_url(current: &mut String, new: &str) {
    if current.is_empty() && !new.is_empty() {
        *current = new.to_string();
    }
}

struct DebugAttrs<'a>(&'a [KeyValue]);

impl std::fmt::Debug for DebugAttrs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for kv in self.0 {
            m.entry(&kv.key, &DebugValue(kv.value.as_ref()));
        }
        m.finish()
    }
}

struct DebugValue<'a>(Option<&'a AnyValue>);

impl std::fmt::Debug for DebugValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => write!(f, "{s:?}"),
            Some(any_value::Value::IntValue(i)) => write!(f, "{i}"),
            Some(any_value::Value::ArrayValue(a)) => f
                .debug_list()
                .entries(a.values.iter().map(|v| DebugValue(Some(v))))
                .finish(),
            Some(other) => write!(f, "{other:?}"),
            None => f.write_str("null"),
        }
    }
}

#[cfg(test)]
mod tests;
