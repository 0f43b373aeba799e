//! `gcp`: the GCE metadata server (`Metadata-Flavor: Google`; host from `GCE_METADATA_HOST`
//! as Google's client libraries take it) and the platform's environment variables, telling
//! GKE, Cloud Run (services and jobs), Cloud Functions, App Engine and Compute Engine apart
//! as Google's detector does. Off GCP (the metadata server does not answer as Google's) it
//! contributes nothing; once on GCP, a metadata read that fails is an error, as in Go.

use serde::Deserialize;

use crate::attrs::{AttrSwitches, Enabled};
use crate::http::Client;
use crate::{Ctx, Found, Settings, endpoint};

/// Go's gcp detector follows semantic conventions 1.38.
const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.38.0";

pub const ATTRIBUTES: &[(&str, bool)] = &[
    ("host.name", true),
    ("host.id", true),
    ("host.type", true),
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.account.id", true),
    ("cloud.region", true),
    ("cloud.availability_zone", true),
    ("faas.name", true),
    ("faas.version", true),
    ("faas.instance", true),
    ("faas.id", true),
    ("k8s.cluster.name", true),
    ("gcp.cloud_run.job.execution", true),
    ("gcp.cloud_run.job.task_index", true),
    ("gcp.gce.instance.hostname", false),
    ("gcp.gce.instance.name", false),
];

const DEFAULT_HOST: &str = "http://169.254.169.254";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Regexes of GCE instance label keys, added as `gcp.gce.instance.labels.<key>`. Go reads
    /// them through the Compute API and falls back to the metadata server's
    /// `instance/attributes/`; the Compute API is not built here, so the fallback is used.
    pub labels: Vec<String>,
    pub resource_attributes: AttrSwitches,
}

impl Config {
    pub fn validate(&self) -> Result<(), String> {
        for l in &self.labels {
            goregex::compile(l)?;
        }
        Ok(())
    }
}

pub struct Detector {
    base: String,
    /// `GCE_METADATA_HOST` set: Google's client takes that as being on GCE without probing.
    host_from_env: bool,
    client: Client,
    enabled: Enabled,
    labels: Vec<regex::Regex>,
    fail_on_missing: bool,
}

impl Detector {
    pub fn new(cfg: &Config, set: &Settings) -> Result<Detector, String> {
        let own = set.env.non_empty("GCE_METADATA_HOST").map(|h| {
            if h.contains("://") {
                h
            } else {
                format!("http://{h}")
            }
        });
        Ok(Detector {
            host_from_env: own.is_some(),
            base: endpoint(&set.env, own, Some(DEFAULT_HOST)).unwrap_or_default(),
            client: Client::new(set.timeout)?,
            enabled: Enabled::new(ATTRIBUTES, &cfg.resource_attributes),
            labels: cfg
                .labels
                .iter()
                .map(|l| goregex::compile(l))
                .collect::<Result<_, _>>()?,
            fail_on_missing: set.fail_on_missing_metadata,
        })
    }

    async fn on_gce(&self, ctx: &Ctx<'_>) -> Result<(), String> {
        if self.host_from_env {
            return Ok(());
        }
        let a = self
            .client
            .get(
                &format!("{}/", self.base),
                &[("Metadata-Flavor", "Google")],
                ctx.deadline,
            )
            .await?;
        match a
            .headers
            .get("Metadata-Flavor")
            .and_then(|v| v.to_str().ok())
        {
            Some("Google") => Ok(()),
            _ => Err("the metadata server did not answer as Google's".into()),
        }
    }

    async fn meta(&self, path: &str, ctx: &Ctx<'_>) -> Result<String, String> {
        let url = format!("{}/computeMetadata/v1/{path}", self.base);
        let a = self
            .client
            .get(&url, &[("Metadata-Flavor", "Google")], ctx.deadline)
            .await?;
        if a.status == 404 {
            return Err(format!("metadata: GCE metadata {path:?} not defined"));
        }
        if a.status != 200 {
            return Err(format!(
                "metadata: GCE metadata {path:?} returned status {}",
                a.status
            ));
        }
        Ok(a.body.trim().to_string())
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        if let Err(e) = self.on_gce(ctx).await {
            tracing::debug!(error = %e, "Unable to determine platform: not on GCP");
            if self.fail_on_missing {
                return Err(format!("GCE metadata unavailable: {e}"));
            }
            return Ok(Found::default());
        }
        let env = &ctx.set.env;
        let mut errs: Vec<String> = Vec::new();
        let mut b = self.enabled.builder();
        b.str("cloud.provider", "gcp");
        macro_rules! set_from {
            ($key:expr, $path:expr) => {
                if self.enabled.is($key) {
                    match self.meta($path, ctx).await {
                        Ok(v) => b.str($key, v),
                        Err(e) => errs.push(e),
                    }
                }
            };
        }
        macro_rules! last_segment {
            ($key:expr, $path:expr) => {
                if self.enabled.is($key) {
                    match self.meta($path, ctx).await {
                        Ok(v) => b.str($key, v.rsplit('/').next().unwrap_or_default()),
                        Err(e) => errs.push(e),
                    }
                }
            };
        }
        set_from!("cloud.account.id", "project/project-id");
        let has = |k: &str| env.non_empty(k).is_some();
        if has("KUBERNETES_SERVICE_HOST") {
            b.str("cloud.platform", "gcp_kubernetes_engine");
            match self.meta("instance/attributes/cluster-location", ctx).await {
                Ok(loc) => match loc.matches('-').count() {
                    2 => b.str("cloud.availability_zone", loc),
                    1 => b.str("cloud.region", loc),
                    _ => errs.push(format!("unrecognized format for cluster location: {loc}")),
                },
                Err(e) => errs.push(e),
            }
            set_from!("k8s.cluster.name", "instance/attributes/cluster-name");
            set_from!("host.id", "instance/id");
            // Not available with workload identity: Go logs it and goes on.
            if self.enabled.is("host.name") {
                match self.meta("instance/name", ctx).await {
                    Ok(v) => b.str("host.name", v),
                    Err(e) => {
                        tracing::info!(key = "host.name", error = %e, "Fallible detector failed. This attribute will not be available.")
                    }
                }
            }
        } else if has("FUNCTION_TARGET") || has("K_CONFIGURATION") || has("CLOUD_RUN_JOB") {
            let functions = has("FUNCTION_TARGET");
            let job = !functions && !has("K_CONFIGURATION");
            b.str(
                "cloud.platform",
                if functions {
                    "gcp_cloud_functions"
                } else {
                    "gcp_cloud_run"
                },
            );
            let name_var = if job { "CLOUD_RUN_JOB" } else { "K_SERVICE" };
            match env.non_empty(name_var) {
                Some(v) => b.str("faas.name", v),
                None => errs.push(format!("{name_var} environment variable not found")),
            }
            if !job {
                match env.non_empty("K_REVISION") {
                    Some(v) => b.str("faas.version", v),
                    None => errs.push("K_REVISION environment variable not found".into()),
                }
            }
            if job {
                last_segment!("cloud.region", "instance/region");
                set_from!("faas.instance", "instance/id");
            } else {
                set_from!("faas.instance", "instance/id");
                last_segment!("cloud.region", "instance/region");
            }
            if job {
                for (var, key) in [
                    ("CLOUD_RUN_EXECUTION", "gcp.cloud_run.job.execution"),
                    ("CLOUD_RUN_TASK_INDEX", "gcp.cloud_run.job.task_index"),
                ] {
                    match env.non_empty(var) {
                        Some(v) => b.str(key, v),
                        None => errs.push(format!("{var} environment variable not found")),
                    }
                }
            }
            set_from!("faas.id", "instance/id");
        } else if has("GAE_SERVICE") {
            b.str("cloud.platform", "gcp_app_engine");
            let standard = env.non_empty("GAE_ENV").as_deref() == Some("standard");
            if !standard {
                self.zone_and_region(&mut b, &mut errs, ctx).await;
            }
            for (var, key) in [
                ("GAE_SERVICE", "faas.name"),
                ("GAE_VERSION", "faas.version"),
                ("GAE_INSTANCE", "faas.instance"),
            ] {
                match env.non_empty(var) {
                    Some(v) => b.str(key, v),
                    None => errs.push(format!("{var} environment variable not found")),
                }
            }
            if standard {
                last_segment!("cloud.availability_zone", "instance/zone");
                last_segment!("cloud.region", "instance/region");
            }
            if let Some(v) = env.non_empty("GAE_INSTANCE") {
                b.str("faas.id", v);
            }
        } else {
            b.str("cloud.platform", "gcp_compute_engine");
            self.zone_and_region(&mut b, &mut errs, ctx).await;
            last_segment!("host.type", "instance/machine-type");
            set_from!("host.id", "instance/id");
            set_from!("host.name", "instance/name");
            set_from!("gcp.gce.instance.hostname", "instance/hostname");
            set_from!("gcp.gce.instance.name", "instance/name");
            if !self.labels.is_empty() {
                match self.labels_from_metadata(ctx).await {
                    Ok(labels) => {
                        for (k, v) in labels {
                            b.extra(format!("gcp.gce.instance.labels.{k}"), v);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "failed to fetch GCE labels from instance metadata")
                    }
                }
            }
        }
        if errs.is_empty() {
            Ok(Found::new(b.finish(), SCHEMA_URL))
        } else {
            Err(errs.join("; "))
        }
    }

    /// Go's fallback for labels: the keys of `instance/attributes/` matching a regex.
    async fn labels_from_metadata(&self, ctx: &Ctx<'_>) -> Result<Vec<(String, String)>, String> {
        let keys = self.meta("instance/attributes/", ctx).await?;
        let mut out = Vec::new();
        for key in keys.lines().map(str::trim).filter(|k| !k.is_empty()) {
            if self.labels.iter().any(|re| re.is_match(key))
                && let Ok(v) = self.meta(&format!("instance/attributes/{key}"), ctx).await
            {
                out.push((key.to_string(), v));
            }
        }
        Ok(out)
    }

    /// `instance/zone` is `projects/<n>/zones/<zone>`; the region is the zone without its
    /// last `-suffix`.
    async fn zone_and_region(
        &self,
        b: &mut crate::attrs::Builder<'_>,
        errs: &mut Vec<String>,
        ctx: &Ctx<'_>,
    ) {
        match self.meta("instance/zone", ctx).await {
            Ok(z) => {
                let zone = z.rsplit('/').next().unwrap_or_default().to_string();
                match zone.rfind('-') {
                    Some(i) if !zone.is_empty() => {
                        let region = zone[..i].to_string();
                        b.str("cloud.availability_zone", zone);
                        b.str("cloud.region", region);
                    }
                    _ => errs.push(format!("zone was not in the expected format: {z}")),
                }
            }
            Err(e) => errs.push(e),
        }
    }
}
