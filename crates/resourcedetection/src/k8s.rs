//! The Kubernetes API detectors: `k8snode` (alias `k8s_api`: the node's name and UID from
//! `/api/v1/nodes/<name>`) and `openshift` (the cluster's `infrastructures/cluster` object),
//! and the in-cluster API client they and `eks` share. The API address is
//! `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` (as client-go's in-cluster
//! config), else `FERROTEL_METADATA_ENDPOINT`; the token and CA are the service account's.

use serde::Deserialize;

use crate::attrs::{AttrSwitches, Enabled};
use crate::http::{Client, Tls};
use crate::{Ctx, Found, METADATA_ENDPOINT_ENV, SCHEMA_URL_1_6_1, Settings};

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A client for the Kubernetes API with the chosen authentication.
pub struct ApiClient {
    base: String,
    token: Token,
    client: Client,
}

enum Token {
    None,
    Fixed(String),
    /// Re-read on every request: projected tokens rotate.
    File(std::path::PathBuf),
}

impl ApiClient {
    /// The service-account client (`auth_type: serviceAccount`).
    pub fn in_cluster(set: &Settings) -> Result<ApiClient, String> {
        ApiClient::with_auth(set, "serviceAccount")
    }

    pub fn with_auth(set: &Settings, auth_type: &str) -> Result<ApiClient, String> {
        let base = api_base(set)?;
        match auth_type {
            "none" => Ok(ApiClient {
                base,
                token: Token::None,
                client: Client::new(set.timeout)?,
            }),
            "serviceAccount" => {
                let ca = std::fs::read(format!("{SA_DIR}/ca.crt")).ok();
                Ok(ApiClient {
                    base,
                    token: Token::File(format!("{SA_DIR}/token").into()),
                    client: Client::with_tls(
                        set.timeout,
                        Tls {
                            ca_pem: ca,
                            insecure_skip_verify: false,
                        },
                    )?,
                })
            }
            "kubeConfig" | "tls" => Err(format!(
                "auth_type {auth_type:?} is not built into ferrotel; use serviceAccount or none"
            )),
            other => Err(format!("invalid authType for kubernetes: {other}")),
        }
    }

    fn fixed(base: String, token: String, client: Client) -> ApiClient {
        ApiClient {
            base,
            token: if token.is_empty() {
                Token::File(format!("{SA_DIR}/token").into())
            } else {
                Token::Fixed(token)
            },
            client,
        }
    }

    /// GET `path`; anything but 200 is an error.
    pub(crate) async fn get(&self, path: &str, ctx: &Ctx<'_>) -> Result<String, String> {
        let bearer = match &self.token {
            Token::None => None,
            Token::Fixed(t) => Some(format!("Bearer {t}")),
            Token::File(p) => std::fs::read_to_string(p)
                .ok()
                .map(|t| format!("Bearer {}", t.trim())),
        };
        let mut headers = vec![("Accept", "application/json")];
        if let Some(b) = &bearer {
            headers.push(("Authorization", b.as_str()));
        }
        crate::http::get_ok(
            &self.client,
            &format!("{}{path}", self.base),
            &headers,
            ctx.deadline,
        )
        .await
    }
}

fn api_base(set: &Settings) -> Result<String, String> {
    let env = &set.env;
    match (
        env.non_empty("KUBERNETES_SERVICE_HOST"),
        env.non_empty("KUBERNETES_SERVICE_PORT"),
    ) {
        (Some(h), Some(p)) => {
            let host = if h.contains(':') { format!("[{h}]") } else { h };
            Ok(format!("https://{host}:{p}"))
        }
        _ => env
            .non_empty(METADATA_ENDPOINT_ENV)
            .map(|u| u.trim_end_matches('/').to_string())
            .ok_or_else(|| {
                "unable to load k8s config, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined".to_string()
            }),
    }
}

pub const NODE_ATTRIBUTES: &[(&str, bool)] = &[
    ("k8s.cluster.uid", true),
    ("k8s.node.name", true),
    ("k8s.node.uid", true),
];

/// Go's k8s_api detector follows semantic conventions 1.40.
const K8S_API_SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.40.0";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct NodeConfig {
    pub auth_type: String,
    pub context: String,
    pub node_from_env_var: String,
    pub resource_attributes: AttrSwitches,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            auth_type: "serviceAccount".into(),
            context: String::new(),
            node_from_env_var: "K8S_NODE_NAME".into(),
            resource_attributes: AttrSwitches::new(),
        }
    }
}

pub struct NodeDetector {
    api: ApiClient,
    node: String,
    enabled: Enabled,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Object {
    metadata: ObjectMeta,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ObjectMeta {
    name: String,
    uid: String,
}

impl NodeDetector {
    pub fn new(cfg: &NodeConfig, set: &Settings) -> Result<NodeDetector, String> {
        let node = set.env.non_empty(&cfg.node_from_env_var).ok_or_else(|| {
            "node name can't be found. Check the readme on how to set the required env variable"
                .to_string()
        })?;
        Ok(NodeDetector {
            api: ApiClient::with_auth(set, &cfg.auth_type)
                .map_err(|e| format!("failed creating k8snode detector: {e}"))?,
            node,
            enabled: Enabled::new(NODE_ATTRIBUTES, &cfg.resource_attributes),
        })
    }

    /// As Go's newest `k8s_api`: an API error is an error (retried until `timeout`, then the
    /// processor does not start), except that a forbidden `kube-system` namespace only skips
    /// `k8s.cluster.uid`.
    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let mut b = self.enabled.builder();
        if self.enabled.is("k8s.node.uid") || self.enabled.is("k8s.node.name") {
            let node = self
                .api
                .get(&format!("/api/v1/nodes/{}", self.node), ctx)
                .await
                .and_then(|b| serde_json::from_str::<Object>(&b).map_err(|e| e.to_string()))
                .map_err(|e| format!("failed getting k8s node UID: {e}"))?;
            b.str("k8s.node.uid", node.metadata.uid);
            b.str("k8s.node.name", node.metadata.name);
        }
        if self.enabled.is("k8s.cluster.uid") {
            match self.api.get("/api/v1/namespaces/kube-system", ctx).await {
                Ok(body) => {
                    let ns: Object = serde_json::from_str(&body)
                        .map_err(|e| format!("failed getting k8s cluster UID: {e}"))?;
                    b.str("k8s.cluster.uid", ns.metadata.uid);
                }
                Err(e) if e.contains("status code 401") || e.contains("status code 403") => {
                    tracing::warn!(error = %e, "no permission to get kube-system namespace, skipping k8s.cluster.uid; grant 'get' on namespaces/kube-system to fix");
                }
                Err(e) => return Err(format!("failed getting k8s cluster UID: {e}")),
            }
        }
        Ok(Found::new(b.finish(), K8S_API_SCHEMA_URL))
    }
}

pub const OPENSHIFT_ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.region", true),
    ("k8s.cluster.name", true),
];

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct OpenShiftConfig {
    pub address: String,
    pub token: String,
    pub tls: OpenShiftTls,
    pub resource_attributes: AttrSwitches,
}

/// The `tls` block (Go's `configtls.ClientConfig`): the keys that matter here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct OpenShiftTls {
    pub insecure: bool,
    pub insecure_skip_verify: bool,
    pub ca_file: String,
    pub ca_pem: String,
}

pub struct OpenShiftDetector {
    api: ApiClient,
    enabled: Enabled,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Infrastructure {
    status: InfraStatus,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct InfraStatus {
    infrastructure_name: String,
    platform_status: PlatformStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PlatformStatus {
    #[serde(rename = "type")]
    kind: String,
    aws: Option<Region>,
    azure: Option<CloudName>,
    gcp: Option<Region>,
    ibmcloud: Option<IbmLocation>,
    openstack: Option<CloudName>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct CloudName {
    cloud_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Region {
    region: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IbmLocation {
    location: String,
}

impl OpenShiftDetector {
    pub fn new(cfg: &OpenShiftConfig, set: &Settings) -> Result<OpenShiftDetector, String> {
        let base = if cfg.address.is_empty() {
            api_base(set).unwrap_or_default()
        } else {
            cfg.address.trim_end_matches('/').to_string()
        };
        let mut ca_pem = None;
        if !cfg.tls.insecure {
            if !cfg.tls.ca_pem.is_empty() {
                ca_pem = Some(cfg.tls.ca_pem.clone().into_bytes());
            } else {
                let f = if cfg.tls.ca_file.is_empty() {
                    format!("{SA_DIR}/ca.crt")
                } else {
                    cfg.tls.ca_file.clone()
                };
                ca_pem = std::fs::read(&f).ok();
                if ca_pem.is_none() && !cfg.tls.ca_file.is_empty() {
                    return Err(format!("failed to load CA CertPool File: {f}"));
                }
            }
        }
        let client = Client::with_tls(
            set.timeout,
            Tls {
                ca_pem,
                insecure_skip_verify: cfg.tls.insecure_skip_verify,
            },
        )?;
        Ok(OpenShiftDetector {
            api: ApiClient::fixed(base, cfg.token.clone(), client),
            enabled: Enabled::new(OPENSHIFT_ATTRIBUTES, &cfg.resource_attributes),
        })
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let infra = match self
            .api
            .get("/apis/config.openshift.io/v1/infrastructures/cluster", ctx)
            .await
            .and_then(|b| serde_json::from_str::<Infrastructure>(&b).map_err(|e| e.to_string()))
        {
            Ok(i) => i,
            Err(e) => {
                if ctx.set.fail_on_missing_metadata {
                    return Err(format!("OpenShift detector metadata retrieval failed: {e}"));
                }
                tracing::error!(error = %e, "OpenShift detector metadata retrieval failed");
                return Ok(Found::default());
            }
        };
        let ps = &infra.status.platform_status;
        let lower = |s: &str| s.to_lowercase();
        let (provider, platform, region) = match lower(&ps.kind).as_str() {
            "aws" => (
                "aws",
                "aws_openshift",
                ps.aws
                    .as_ref()
                    .map(|r| lower(&r.region))
                    .unwrap_or_default(),
            ),
            "azure" => (
                "azure",
                "azure_openshift",
                ps.azure
                    .as_ref()
                    .map(|r| lower(&r.cloud_name))
                    .unwrap_or_default(),
            ),
            "gcp" => (
                "gcp",
                "gcp_openshift",
                ps.gcp
                    .as_ref()
                    .map(|r| lower(&r.region))
                    .unwrap_or_default(),
            ),
            "ibmcloud" => (
                "ibm_cloud",
                "ibm_cloud_openshift",
                ps.ibmcloud
                    .as_ref()
                    .map(|r| lower(&r.location))
                    .unwrap_or_default(),
            ),
            "openstack" => (
                "",
                "",
                ps.openstack
                    .as_ref()
                    .map(|r| lower(&r.cloud_name))
                    .unwrap_or_default(),
            ),
            _ => ("", "", String::new()),
        };
        let mut b = self.enabled.builder();
        if !infra.status.infrastructure_name.is_empty() {
            b.str("k8s.cluster.name", infra.status.infrastructure_name.clone());
        }
        if !provider.is_empty() {
            b.str("cloud.provider", provider);
        }
        if !platform.is_empty() {
            b.str("cloud.platform", platform);
        }
        if !region.is_empty() {
            b.str("cloud.region", region);
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}
