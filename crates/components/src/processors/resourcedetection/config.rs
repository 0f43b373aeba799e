//! `resource_detection` settings with the Go collector's keys and defaults: `detectors`
//! (default `[env]`), `override` (default true), `timeout` (default 5s, from the squashed
//! `confighttp` client keys), `refresh_interval`, `fail_on_missing_metadata`, `retry`, the
//! deprecated `attributes` list, and each detector's own block.

use runtime::ComponentConfig;
use serde::Deserialize;

use resourcedetection::{DetectorConfigs, Retry};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub detectors: Vec<String>,
    #[serde(rename = "override")]
    pub override_existing: bool,
    pub timeout: config::Duration,
    /// Deprecated: keep only these keys of the detected resource.
    pub attributes: Option<Vec<String>>,
    /// Periodic re-detection (Go: off when zero). Detection here runs once at start; a
    /// non-zero value is accepted and logged.
    pub refresh_interval: config::Duration,
    pub fail_on_missing_metadata: bool,
    pub retry: Retry,

    // Each detector's block (Go squashes them beside the processor keys).
    pub env: resourcedetection::env::Config,
    pub system: resourcedetection::system::Config,
    pub docker: resourcedetection::docker::Config,
    pub ec2: resourcedetection::aws::Ec2Config,
    pub ecs: resourcedetection::aws::EcsConfig,
    pub eks: resourcedetection::aws::EksConfig,
    pub lambda: resourcedetection::aws::LambdaConfig,
    pub gcp: resourcedetection::gcp::Config,
    pub azure: resourcedetection::azure::AzureConfig,
    pub aks: resourcedetection::azure::AksConfig,
    pub heroku: resourcedetection::heroku::Config,
    pub k8snode: resourcedetection::k8s::NodeConfig,
    pub k8s_api: resourcedetection::k8s::NodeConfig,
    pub openshift: resourcedetection::k8s::OpenShiftConfig,
    // Blocks of Go detectors this build does not have: accepted, so that a config naming
    // them only fails when the detector is listed in `detectors`.
    pub elasticbeanstalk: Option<serde_json::Value>,
    pub azurecontainerapps: Option<serde_json::Value>,
    pub consul: Option<serde_json::Value>,
    pub digitalocean: Option<serde_json::Value>,
    pub hetzner: Option<serde_json::Value>,
    pub ibmcloud_classic: Option<serde_json::Value>,
    pub ibmcloud_vpc: Option<serde_json::Value>,
    pub nova: Option<serde_json::Value>,
    pub oraclecloud: Option<serde_json::Value>,
    pub kubeadm: Option<serde_json::Value>,
    pub akamai: Option<serde_json::Value>,
    pub scaleway: Option<serde_json::Value>,
    pub tencent_cvm: Option<serde_json::Value>,
    pub upcloud: Option<serde_json::Value>,
    pub vultr: Option<serde_json::Value>,
    pub alibaba_ecs: Option<serde_json::Value>,
    pub dynatrace: Option<serde_json::Value>,

    // The rest of Go's squashed `confighttp.ClientConfig`: metadata requests use none of
    // them, but configs carry them.
    pub endpoint: Option<serde_json::Value>,
    pub headers: Option<serde_json::Value>,
    pub tls: Option<serde_json::Value>,
    pub proxy_url: Option<serde_json::Value>,
    pub compression: Option<serde_json::Value>,
    pub read_buffer_size: Option<serde_json::Value>,
    pub write_buffer_size: Option<serde_json::Value>,
    pub max_idle_conns: Option<serde_json::Value>,
    pub max_idle_conns_per_host: Option<serde_json::Value>,
    pub max_conns_per_host: Option<serde_json::Value>,
    pub idle_conn_timeout: Option<serde_json::Value>,
    pub disable_keep_alives: Option<serde_json::Value>,
    pub http2_read_idle_timeout: Option<serde_json::Value>,
    pub http2_ping_timeout: Option<serde_json::Value>,
    pub auth: Option<serde_json::Value>,
}

impl Default for Config {
    fn default() -> Self {
        let d = DetectorConfigs::default();
        Config {
            detectors: vec!["env".to_string()],
            override_existing: true,
            timeout: config::Duration(std::time::Duration::from_secs(5)),
            attributes: None,
            refresh_interval: config::Duration(std::time::Duration::ZERO),
            fail_on_missing_metadata: false,
            retry: Retry::default(),
            env: d.env,
            system: d.system,
            docker: d.docker,
            ec2: d.ec2,
            ecs: d.ecs,
            eks: d.eks,
            lambda: d.lambda,
            gcp: d.gcp,
            azure: d.azure,
            aks: d.aks,
            heroku: d.heroku,
            k8snode: d.k8snode,
            k8s_api: d.k8s_api,
            openshift: d.openshift,
            elasticbeanstalk: None,
            azurecontainerapps: None,
            consul: None,
            digitalocean: None,
            hetzner: None,
            ibmcloud_classic: None,
            ibmcloud_vpc: None,
            nova: None,
            oraclecloud: None,
            kubeadm: None,
            akamai: None,
            scaleway: None,
            tencent_cvm: None,
            upcloud: None,
            vultr: None,
            alibaba_ecs: None,
            dynatrace: None,
            endpoint: None,
            headers: None,
            tls: None,
            proxy_url: None,
            compression: None,
            read_buffer_size: None,
            write_buffer_size: None,
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: None,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            auth: None,
        }
    }
}

impl Config {
    pub fn detector_configs(&self) -> DetectorConfigs {
        DetectorConfigs {
            env: self.env.clone(),
            system: self.system.clone(),
            docker: self.docker.clone(),
            ec2: self.ec2.clone(),
            ecs: self.ecs.clone(),
            eks: self.eks.clone(),
            lambda: self.lambda.clone(),
            gcp: self.gcp.clone(),
            azure: self.azure.clone(),
            aks: self.aks.clone(),
            heroku: self.heroku.clone(),
            k8snode: self.k8snode.clone(),
            k8s_api: self.k8s_api.clone(),
            openshift: self.openshift.clone(),
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        // Go's check: with retries on, something must bound a hung detector.
        if self.retry.enabled && self.timeout.0.is_zero() && self.retry.max_elapsed_time.0.is_zero()
        {
            return Err(
                "retry: timeout and retry.max_elapsed_time cannot both be 0 when retry is enabled"
                    .into(),
            );
        }
        for d in &self.detectors {
            let d = d.trim();
            if !resourcedetection::BUILT.contains(&d) {
                if resourcedetection::NOT_BUILT.contains(&d) {
                    return Err(format!(
                        "detectors: the \"{d}\" detector is not built into ferrotel yet; this build has: {}",
                        resourcedetection::BUILT.join(", ")
                    ));
                }
                return Err(format!("detectors: invalid detector key: {d}"));
            }
        }
        self.detector_configs().validate()
    }
}
