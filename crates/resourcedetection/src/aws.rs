//! The AWS detectors: `ec2` (the instance metadata service, IMDSv2 with the IMDSv1 fallback
//! the SDK makes; endpoint `AWS_EC2_METADATA_SERVICE_ENDPOINT`), `ecs` (task metadata v4/v3
//! at `ECS_CONTAINER_METADATA_URI_V4`/`ECS_CONTAINER_METADATA_URI`), `eks` (the Kubernetes
//! API's `aws-auth` config map) and `lambda` (the runtime's environment variables).

use serde::Deserialize;

use crate::attrs::{AttrSwitches, Enabled};
use crate::http::{Client, get_ok};
use crate::{Ctx, Found, SCHEMA_URL_1_6_1, Settings, endpoint};

pub const EC2_ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.account.id", true),
    ("cloud.availability_zone", true),
    ("cloud.platform", true),
    ("cloud.provider", true),
    ("cloud.region", true),
    ("host.id", true),
    ("host.image.id", true),
    ("host.name", true),
    ("host.type", true),
];

const IMDS_DEFAULT: &str = "http://169.254.169.254";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Ec2Config {
    /// Regexes of tag keys to add as `ec2.tag.<key>`.
    pub tags: Vec<String>,
    /// Read tags from IMDS (`/latest/meta-data/tags/instance`) instead of `DescribeTags`.
    pub tags_from_imds: bool,
    pub max_attempts: Option<i64>,
    pub max_backoff: Option<crate::DurationValue>,
    /// Deprecated per-detector spelling of the top-level `fail_on_missing_metadata`.
    pub fail_on_missing_metadata: bool,
    pub resource_attributes: AttrSwitches,
}

impl Ec2Config {
    pub fn validate(&self) -> Result<(), String> {
        for t in &self.tags {
            goregex::compile(t)?;
        }
        Ok(())
    }
}

/// The instance identity document's fields the detector reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct IdentityDocument {
    account_id: String,
    availability_zone: String,
    image_id: String,
    instance_id: String,
    instance_type: String,
    region: String,
}

/// An IMDS client: the SDK's token dance, then GETs with the token.
pub(crate) struct Imds {
    base: String,
    client: Client,
    disabled: bool,
}

impl Imds {
    pub(crate) fn new(set: &Settings) -> Result<Imds, String> {
        let env = &set.env;
        Ok(Imds {
            base: endpoint(
                env,
                env.non_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
                Some(IMDS_DEFAULT),
            )
            .unwrap_or_else(|| IMDS_DEFAULT.to_string()),
            client: Client::new(set.timeout)?,
            disabled: env
                .non_empty("AWS_EC2_METADATA_DISABLED")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }

    /// IMDSv2 token; `None` when the service only speaks IMDSv1 (403/404/405 to the PUT).
    async fn token(&self, ctx: &Ctx<'_>) -> Result<Option<String>, String> {
        if self.disabled {
            return Err("access disabled to EC2 IMDS via client option, or \"AWS_EC2_METADATA_DISABLED\" environment variable".into());
        }
        let a = self
            .client
            .put(
                &format!("{}/latest/api/token", self.base),
                &[("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
                ctx.deadline,
            )
            .await?;
        match a.status {
            200 => Ok(Some(a.body.trim().to_string())),
            403..=405 => Ok(None),
            s => Err(format!("failed to get API token, status code {s}")),
        }
    }

    async fn get(
        &self,
        token: &Option<String>,
        path: &str,
        ctx: &Ctx<'_>,
    ) -> Result<String, String> {
        let url = format!("{}{path}", self.base);
        match token {
            Some(t) => {
                get_ok(
                    &self.client,
                    &url,
                    &[("X-aws-ec2-metadata-token", t)],
                    ctx.deadline,
                )
                .await
            }
            None => get_ok(&self.client, &url, &[], ctx.deadline).await,
        }
    }
}

pub struct Ec2Detector {
    imds: Imds,
    enabled: Enabled,
    tag_res: Vec<regex::Regex>,
    tags_from_imds: bool,
    fail_on_missing: bool,
}

impl Ec2Detector {
    pub fn new(cfg: &Ec2Config, set: &Settings) -> Result<Ec2Detector, String> {
        Ok(Ec2Detector {
            imds: Imds::new(set)?,
            enabled: Enabled::new(EC2_ATTRIBUTES, &cfg.resource_attributes),
            tag_res: cfg
                .tags
                .iter()
                .map(|t| goregex::compile(t))
                .collect::<Result<_, _>>()?,
            tags_from_imds: cfg.tags_from_imds,
            fail_on_missing: set.fail_on_missing_metadata || cfg.fail_on_missing_metadata,
        })
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let token = match self.imds.token(ctx).await {
            Ok(t) => t,
            Err(e) => return self.unavailable(e),
        };
        if let Err(e) = self
            .imds
            .get(&token, "/latest/meta-data/instance-id", ctx)
            .await
        {
            return self.unavailable(e);
        }
        let doc = self
            .imds
            .get(&token, "/latest/dynamic/instance-identity/document", ctx)
            .await
            .map_err(|e| format!("failed getting identity document: {e}"))?;
        let meta: IdentityDocument = serde_json::from_str(&doc)
            .map_err(|e| format!("failed getting identity document: {e}"))?;
        let hostname = self
            .imds
            .get(&token, "/latest/meta-data/hostname", ctx)
            .await
            .map_err(|e| format!("failed getting hostname: {e}"))?;

        let mut b = self.enabled.builder();
        b.str("cloud.provider", "aws");
        b.str("cloud.platform", "aws_ec2");
        b.str("cloud.region", meta.region);
        b.str("cloud.account.id", meta.account_id);
        b.str("cloud.availability_zone", meta.availability_zone);
        b.str("host.id", meta.instance_id);
        b.str("host.image.id", meta.image_id);
        b.str("host.type", meta.instance_type);
        b.str("host.name", hostname.trim());
        if !self.tag_res.is_empty() {
            match self.tags(&token, ctx).await {
                Ok(tags) => {
                    for (k, v) in tags {
                        b.extra(format!("ec2.tag.{k}"), v);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "failed fetching ec2 instance tags"),
            }
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }

    fn unavailable(&self, e: String) -> Result<Found, String> {
        tracing::debug!(error = %e, "EC2 metadata unavailable");
        if self.fail_on_missing {
            return Err(format!("EC2 metadata unavailable: {e}"));
        }
        Ok(Found::default())
    }

    async fn tags(
        &self,
        token: &Option<String>,
        ctx: &Ctx<'_>,
    ) -> Result<Vec<(String, String)>, String> {
        if !self.tags_from_imds {
            return Err("reading tags through the EC2 DescribeTags API is not built into ferrotel; set tags_from_imds: true".into());
        }
        let keys = self
            .imds
            .get(token, "/latest/meta-data/tags/instance", ctx)
            .await?;
        let mut out = Vec::new();
        for key in keys.lines().map(str::trim).filter(|k| !k.is_empty()) {
            if self.tag_res.iter().any(|re| re.is_match(key)) {
                let v = self
                    .imds
                    .get(
                        token,
                        &format!("/latest/meta-data/tags/instance/{key}"),
                        ctx,
                    )
                    .await?;
                out.push((key.to_string(), v));
            }
        }
        Ok(out)
    }
}

pub const ECS_ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.account.id", true),
    ("cloud.region", true),
    ("cloud.availability_zone", true),
    ("aws.ecs.cluster.arn", true),
    ("aws.ecs.task.arn", true),
    ("aws.ecs.task.family", true),
    ("aws.ecs.task.id", true),
    ("aws.ecs.task.revision", true),
    ("aws.ecs.launchtype", true),
    ("aws.log.group.names", true),
    ("aws.log.group.arns", true),
    ("aws.log.stream.names", true),
    ("aws.log.stream.arns", true),
];

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EcsConfig {
    pub resource_attributes: AttrSwitches,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TaskMetadata {
    #[serde(rename = "Cluster")]
    cluster: String,
    #[serde(rename = "TaskARN")]
    task_arn: String,
    #[serde(rename = "Family")]
    family: String,
    #[serde(rename = "Revision")]
    revision: String,
    #[serde(rename = "AvailabilityZone")]
    availability_zone: String,
    #[serde(rename = "LaunchType")]
    launch_type: String,
    #[serde(rename = "Containers")]
    containers: Vec<ContainerMetadata>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerMetadata {
    #[serde(rename = "DockerId")]
    docker_id: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "KnownStatus")]
    known_status: String,
    #[serde(rename = "LogDriver")]
    log_driver: String,
    #[serde(rename = "LogOptions")]
    log_options: LogOptions,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
struct LogOptions {
    #[serde(rename = "awslogs-group")]
    group: String,
    #[serde(rename = "awslogs-region")]
    region: String,
    #[serde(rename = "awslogs-stream")]
    stream: String,
}

pub struct EcsDetector {
    client: Option<Client>,
    enabled: Enabled,
    fail_on_missing: bool,
}

impl EcsDetector {
    pub fn new(cfg: &EcsConfig, set: &Settings) -> EcsDetector {
        EcsDetector {
            client: Client::new(set.timeout).ok(),
            enabled: Enabled::new(ECS_ATTRIBUTES, &cfg.resource_attributes),
            fail_on_missing: set.fail_on_missing_metadata,
        }
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let env = &ctx.set.env;
        let Some(tmde) = env
            .non_empty("ECS_CONTAINER_METADATA_URI_V4")
            .or_else(|| env.non_empty("ECS_CONTAINER_METADATA_URI"))
        else {
            tracing::debug!("ECS Task Metadata Endpoint not detected");
            if self.fail_on_missing {
                return Err("ECS Task Metadata Endpoint not detected".into());
            }
            return Ok(Found::default());
        };
        let tmde = tmde.trim_end_matches('/');
        let client = self
            .client
            .as_ref()
            .ok_or("failed to build the metadata HTTP client")?;
        let body = get_ok(client, &format!("{tmde}/task"), &[], ctx.deadline).await?;
        let task: TaskMetadata = serde_json::from_str(&body).map_err(|e| {
            format!(
                "encountered unexpected error reading response from ECS Task Metadata Endpoint: {e}"
            )
        })?;

        let mut b = self.enabled.builder();
        b.str("cloud.provider", "aws");
        b.str("cloud.platform", "aws_ecs");
        b.str("aws.ecs.task.arn", task.task_arn.clone());
        b.str("aws.ecs.task.family", task.family.clone());
        b.str(
            "aws.ecs.task.id",
            task.task_arn.rsplit('/').next().unwrap_or_default(),
        );
        b.str("aws.ecs.task.revision", task.revision.clone());
        let parts: Vec<&str> = task.task_arn.split(':').collect();
        let (region, account) = if parts.len() >= 5 {
            (parts[3].to_string(), parts[4].to_string())
        } else {
            (String::new(), String::new())
        };
        if !account.is_empty() {
            b.str("cloud.account.id", account.clone());
        }
        if !region.is_empty() {
            b.str("cloud.region", region.clone());
        }
        let cluster_arn = if task.cluster.contains(':') {
            task.cluster.clone()
        } else {
            format!("arn:aws:ecs:{region}:{account}:cluster/{}", task.cluster)
        };
        b.str("aws.ecs.cluster.arn", cluster_arn);
        if !task.availability_zone.is_empty() {
            b.str("cloud.availability_zone", task.availability_zone.clone());
        }
        match task.launch_type.to_lowercase().as_str() {
            "ec2" => b.str("aws.ecs.launchtype", "ec2"),
            "fargate" => b.str("aws.ecs.launchtype", "fargate"),
            _ => {}
        }

        let own = match get_ok(client, tmde, &[], ctx.deadline)
            .await
            .and_then(|s| serde_json::from_str::<ContainerMetadata>(&s).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => {
                if self.fail_on_missing {
                    return Err(format!("failed to fetch container metadata: {e}"));
                }
                tracing::debug!(error = %e, "failed to fetch container metadata");
                return Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1));
            }
        };
        let (mut groups, mut group_arns, mut streams, mut stream_arns) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for c in &task.containers {
            let l = &c.log_options;
            if c.kind == "NORMAL"
                && c.known_status == "RUNNING"
                && c.log_driver == "awslogs"
                && c.docker_id != own.docker_id
                && *l != LogOptions::default()
            {
                let group_arn =
                    format!("arn:aws:logs:{}:{account}:log-group:{}", l.region, l.group);
                groups.push(l.group.clone());
                stream_arns.push(format!("{group_arn}:log-stream:{}", l.stream));
                group_arns.push(group_arn);
                streams.push(l.stream.clone());
            }
        }
        for (k, v) in [
            ("aws.log.group.names", groups),
            ("aws.log.group.arns", group_arns),
            ("aws.log.stream.names", streams),
            ("aws.log.stream.arns", stream_arns),
        ] {
            if !v.is_empty() {
                b.strs(k, v);
            }
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}

pub const EKS_ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.account.id", true),
    ("cloud.availability_zone", true),
    ("cloud.region", true),
    ("host.id", true),
    ("host.image.id", true),
    ("host.name", true),
    ("host.type", true),
    ("k8s.cluster.name", false),
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct EksConfig {
    pub node_from_env_var: String,
    pub max_attempts: Option<i64>,
    pub max_backoff: Option<crate::DurationValue>,
    pub resource_attributes: AttrSwitches,
}

impl Default for EksConfig {
    fn default() -> Self {
        EksConfig {
            node_from_env_var: "K8S_NODE_NAME".into(),
            max_attempts: None,
            max_backoff: None,
            resource_attributes: AttrSwitches::new(),
        }
    }
}

/// `eks`, as Go's newest: on Kubernetes (`KUBERNETES_SERVICE_HOST`), the API server's
/// `/version` must name an EKS build (`-eks-`); an API error is an error. The instance
/// attributes then come from IMDS, or, when IMDS is not reachable (EKS Auto Mode), from the
/// node's `spec.providerID`; the EC2 API Go also asks there is not built (logged).
pub struct EksDetector {
    api: Option<crate::k8s::ApiClient>,
    imds: Imds,
    node_var: String,
    enabled: Enabled,
    fail_on_missing: bool,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Version {
    git_version: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Node {
    spec: NodeSpec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NodeSpec {
    #[serde(rename = "providerID")]
    provider_id: String,
}

impl EksDetector {
    pub fn new(cfg: &EksConfig, set: &Settings) -> Result<EksDetector, String> {
        Ok(EksDetector {
            api: crate::k8s::ApiClient::in_cluster(set).ok(),
            imds: Imds::new(set)?,
            node_var: if cfg.node_from_env_var.is_empty() {
                "K8S_NODE_NAME".into()
            } else {
                cfg.node_from_env_var.clone()
            },
            enabled: Enabled::new(EKS_ATTRIBUTES, &cfg.resource_attributes),
            fail_on_missing: set.fail_on_missing_metadata,
        })
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let env = &ctx.set.env;
        let api = match (&self.api, env.non_empty("KUBERNETES_SERVICE_HOST")) {
            (Some(api), Some(_)) => api,
            _ => {
                if self.fail_on_missing {
                    return Err(
                        "unable to identify EKS environment: KUBERNETES_SERVICE_HOST is not set"
                            .into(),
                    );
                }
                return Ok(Found::default());
            }
        };
        let version = api
            .get("/version", ctx)
            .await
            .and_then(|b| serde_json::from_str::<Version>(&b).map_err(|e| e.to_string()))
            .map_err(|e| {
                tracing::debug!(error = %e, "Unable to identify EKS environment");
                format!("isEks() error retrieving cluster version: {e}")
            })?;
        if !version.git_version.contains("-eks-") {
            if self.fail_on_missing {
                return Err("unable to identify EKS environment".into());
            }
            return Ok(Found::default());
        }
        let mut b = self.enabled.builder();
        b.str("cloud.provider", "aws");
        b.str("cloud.platform", "aws_eks");
        let imds = match self.imds.token(ctx).await {
            Ok(token) => match self
                .imds
                .get(&token, "/latest/meta-data/instance-id", ctx)
                .await
            {
                Ok(_) => Some(token),
                Err(e) => {
                    tracing::debug!(error = %e, "EC2 Metadata service is not accessible");
                    None
                }
            },
            Err(e) => {
                tracing::debug!(error = %e, "EC2 Metadata service is not accessible");
                None
            }
        };
        match imds {
            Some(token) => {
                let doc = self
                    .imds
                    .get(&token, "/latest/dynamic/instance-identity/document", ctx)
                    .await?;
                let meta: IdentityDocument =
                    serde_json::from_str(&doc).map_err(|e| e.to_string())?;
                b.str("host.id", meta.instance_id);
                b.str("cloud.availability_zone", meta.availability_zone);
                b.str("cloud.region", meta.region);
                b.str("cloud.account.id", meta.account_id);
                b.str("host.image.id", meta.image_id);
                b.str("host.type", meta.instance_type);
                let hostname = self
                    .imds
                    .get(&token, "/latest/meta-data/hostname", ctx)
                    .await?;
                b.str("host.name", hostname.trim());
                if self.enabled.is("k8s.cluster.name") {
                    tracing::warn!(
                        "eks: k8s.cluster.name needs the EC2 DescribeInstances API, which is not built into ferrotel"
                    );
                }
            }
            None => {
                let node = env.lookup(&self.node_var).ok_or_else(|| {
                    format!(
                        " can't find Instance Metadata. node name not found in environment variable {}",
                        self.node_var
                    )
                })?;
                let n: Node = api
                    .get(&format!("/api/v1/nodes/{node}"), ctx)
                    .await
                    .and_then(|b| serde_json::from_str(&b).map_err(|e| e.to_string()))?;
                // aws:///<availability-zone>/<instance-id>
                let parts: Vec<&str> = n.spec.provider_id.rsplit('/').take(2).collect();
                if let [instance, zone] = parts[..] {
                    b.str("host.id", instance);
                    b.str("cloud.availability_zone", zone);
                    let region = zone.trim_end_matches(|c: char| c.is_ascii_lowercase());
                    b.str("cloud.region", region);
                }
                tracing::warn!(
                    "eks: without IMDS, the account, image, type, host name and cluster name need the EC2 API, which is not built into ferrotel"
                );
            }
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}

pub const LAMBDA_ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.region", true),
    ("aws.log.group.names", true),
    ("aws.log.stream.names", true),
    ("faas.name", true),
    ("faas.version", true),
    ("faas.instance", true),
    ("faas.max_memory", true),
];

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LambdaConfig {
    pub resource_attributes: AttrSwitches,
}

pub struct LambdaDetector {
    enabled: Enabled,
    fail_on_missing: bool,
}

impl LambdaDetector {
    pub fn new(cfg: &LambdaConfig, set: &Settings) -> LambdaDetector {
        LambdaDetector {
            enabled: Enabled::new(LAMBDA_ATTRIBUTES, &cfg.resource_attributes),
            fail_on_missing: set.fail_on_missing_metadata,
        }
    }

    pub(crate) fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let env = &ctx.set.env;
        let Some(function) = env
            .lookup("AWS_LAMBDA_FUNCTION_NAME")
            .filter(|v| !v.is_empty())
        else {
            tracing::debug!("Unable to identify AWS Lambda environment");
            if self.fail_on_missing {
                return Err(
                    "AWS_LAMBDA_FUNCTION_NAME is not set: not running on AWS Lambda".into(),
                );
            }
            return Ok(Found::default());
        };
        let mut b = self.enabled.builder();
        b.str("cloud.provider", "aws");
        b.str("cloud.platform", "aws_lambda");
        if let Some(v) = env.lookup("AWS_REGION") {
            b.str("cloud.region", v);
        }
        b.str("faas.name", function);
        if let Some(v) = env.lookup("AWS_LAMBDA_FUNCTION_VERSION") {
            b.str("faas.version", v);
        }
        if let Some(v) = env.lookup("AWS_LAMBDA_LOG_STREAM_NAME") {
            b.str("faas.instance", v);
        }
        if let Some(v) = env.lookup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
            b.str("faas.max_memory", v);
        }
        if let Some(v) = env.lookup("AWS_LAMBDA_LOG_GROUP_NAME") {
            b.strs("aws.log.group.names", vec![v]);
        }
        if let Some(v) = env.lookup("AWS_LAMBDA_LOG_STREAM_NAME") {
            b.strs("aws.log.stream.names", vec![v]);
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}
