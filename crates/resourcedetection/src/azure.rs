//! `azure` and `aks`: the Azure Instance Metadata Service's compute document
//! (`/metadata/instance/compute`, header `Metadata: true`). IMDS has no SDK endpoint override:
//! `FERROTEL_METADATA_ENDPOINT` redirects it. Both fail soft when IMDS does not answer.

use serde::Deserialize;

use crate::attrs::{AttrSwitches, Enabled};
use crate::http::{Client, get_ok};
use crate::{Ctx, Found, SCHEMA_URL_1_6_1, Settings, endpoint};

pub const AZURE_ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.region", true),
    ("cloud.account.id", true),
    ("cloud.availability_zone", true),
    ("host.name", true),
    ("host.id", true),
    ("azure.resourcegroup.name", true),
    ("azure.vm.name", true),
    ("azure.vm.scaleset.name", true),
    ("azure.vm.size", true),
];

pub const AKS_ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.platform", true),
    ("cloud.provider", true),
    ("k8s.cluster.name", false),
];

const IMDS_DEFAULT: &str = "http://169.254.169.254";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AzureConfig {
    /// Regexes of tag names to add as `azure.tags.<name>`.
    pub tags: Vec<String>,
    pub resource_attributes: AttrSwitches,
}

impl AzureConfig {
    pub fn validate(&self) -> Result<(), String> {
        for t in &self.tags {
            goregex::compile(t)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AksConfig {
    pub resource_attributes: AttrSwitches,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Compute {
    location: String,
    name: String,
    // Go decodes JSON keys case-insensitively.
    #[serde(alias = "vmID")]
    vm_id: String,
    vm_size: String,
    #[serde(alias = "subscriptionID")]
    subscription_id: String,
    zone: String,
    os_profile: OsProfile,
    resource_group_name: String,
    vm_scale_set_name: String,
    tags_list: Vec<Tag>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OsProfile {
    computer_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Tag {
    name: String,
    value: String,
}

struct Imds {
    url: String,
    client: Client,
}

impl Imds {
    fn new(set: &Settings) -> Result<Imds, String> {
        let base = endpoint(&set.env, None, Some(IMDS_DEFAULT)).unwrap_or_default();
        Ok(Imds {
            url: format!("{base}/metadata/instance/compute?api-version=2020-09-01&format=json"),
            client: Client::new(set.timeout)?,
        })
    }

    async fn compute(&self, ctx: &Ctx<'_>) -> Result<Compute, String> {
        let body = get_ok(
            &self.client,
            &self.url,
            &[("Metadata", "True")],
            ctx.deadline,
        )
        .await?;
        serde_json::from_str(&body)
            .map_err(|e| format!("failed to decode Azure IMDS response: {e}"))
    }
}

pub struct AzureDetector {
    imds: Imds,
    enabled: Enabled,
    tags: Vec<regex::Regex>,
    fail_on_missing: bool,
}

impl AzureDetector {
    pub fn new(cfg: &AzureConfig, set: &Settings) -> Result<AzureDetector, String> {
        Ok(AzureDetector {
            imds: Imds::new(set)?,
            enabled: Enabled::new(AZURE_ATTRIBUTES, &cfg.resource_attributes),
            tags: cfg
                .tags
                .iter()
                .map(|t| goregex::compile(t))
                .collect::<Result<_, _>>()?,
            fail_on_missing: set.fail_on_missing_metadata,
        })
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let c = match self.imds.compute(ctx).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "Azure detector metadata retrieval failed");
                if self.fail_on_missing {
                    return Err(format!("Azure detector metadata retrieval failed: {e}"));
                }
                return Ok(Found::default());
            }
        };
        let mut b = self.enabled.builder();
        b.str("cloud.provider", "azure");
        b.str("cloud.platform", "azure_vm");
        // The guest's computer name, not the VM resource name (that is azure.vm.name).
        b.str("host.name", c.os_profile.computer_name);
        b.str("cloud.region", c.location);
        b.str("host.id", c.vm_id);
        b.str("cloud.account.id", c.subscription_id);
        b.str("cloud.availability_zone", c.zone);
        b.str("azure.vm.name", c.name);
        b.str("azure.vm.size", c.vm_size);
        b.str("azure.vm.scaleset.name", c.vm_scale_set_name);
        b.str("azure.resourcegroup.name", c.resource_group_name);
        for t in c.tags_list {
            if self.tags.iter().any(|re| re.is_match(&t.name)) {
                b.extra(format!("azure.tags.{}", t.name), t.value);
            }
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}

pub struct AksDetector {
    imds: Option<Imds>,
    enabled: Enabled,
    fail_on_missing: bool,
}

impl AksDetector {
    pub fn new(cfg: &AksConfig, set: &Settings) -> AksDetector {
        AksDetector {
            imds: Imds::new(set).ok(),
            enabled: Enabled::new(AKS_ATTRIBUTES, &cfg.resource_attributes),
            fail_on_missing: set.fail_on_missing_metadata,
        }
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let missing = |e: String| {
            tracing::debug!(error = %e, "AKS detector: not on AKS");
            if self.fail_on_missing {
                Err(format!("AKS metadata unavailable: {e}"))
            } else {
                Ok(Found::default())
            }
        };
        if ctx.set.env.non_empty("KUBERNETES_SERVICE_HOST").is_none() {
            return missing("KUBERNETES_SERVICE_HOST is not set".into());
        }
        let Some(imds) = &self.imds else {
            return missing("no metadata client".into());
        };
        let c = match imds.compute(ctx).await {
            Ok(c) => c,
            Err(e) => return missing(e),
        };
        let mut b = self.enabled.builder();
        b.str("cloud.provider", "azure");
        b.str("cloud.platform", "azure_aks");
        b.str("k8s.cluster.name", cluster_name(&c.resource_group_name));
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}

/// The cluster name from an AKS infrastructure resource group `MC_<group>_<cluster>_<location>`;
/// anything else (a custom group name, underscores in the names) is returned whole.
pub fn cluster_name(resource_group: &str) -> String {
    let parts: Vec<&str> = resource_group.split('_').collect();
    if parts.len() == 4 && parts[0].eq_ignore_ascii_case("mc") {
        parts[2].to_string()
    } else {
        resource_group.to_string()
    }
}
