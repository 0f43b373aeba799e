//! `heroku`: the dyno metadata Heroku publishes in environment variables
//! (`HEROKU_DYNO_ID`, `HEROKU_APP_ID`, `HEROKU_APP_NAME`, `HEROKU_RELEASE_*`,
//! `HEROKU_SLUG_COMMIT`), mapped as Go's processor README tables them.

use serde::Deserialize;

use crate::attrs::{AttrSwitches, Enabled};
use crate::{Ctx, Found, SCHEMA_URL_1_6_1, Settings};

pub const ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("heroku.app.id", true),
    ("heroku.release.commit", true),
    ("heroku.release.creation_timestamp", true),
    ("service.instance.id", true),
    ("service.name", true),
    ("service.version", true),
];

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    pub resource_attributes: AttrSwitches,
}

pub struct Detector {
    enabled: Enabled,
    fail_on_missing: bool,
}

impl Detector {
    pub fn new(cfg: &Config, set: &Settings) -> Detector {
        Detector {
            enabled: Enabled::new(ATTRIBUTES, &cfg.resource_attributes),
            fail_on_missing: set.fail_on_missing_metadata,
        }
    }

    /// Go's newest detector sets what is there (no early return): the dyno id as
    /// `service.instance.id`, the app name and release version as `service.name` and
    /// `service.version`, and `cloud.provider` only when `HEROKU_APP_ID` is set.
    pub(crate) fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let env = &ctx.set.env;
        let dyno = env.lookup("HEROKU_DYNO_ID");
        let app_id = env.lookup("HEROKU_APP_ID");
        if dyno.is_none() {
            if app_id.is_none() {
                if self.fail_on_missing {
                    return Err(
                        "heroku metadata unavailable: HEROKU_DYNO_ID and HEROKU_APP_ID are not set"
                            .into(),
                    );
                }
                tracing::debug!("Heroku metadata is missing. Please check metadata is enabled.");
            } else {
                tracing::debug!(
                    "Partial Heroku metadata is missing. Please check metadata is supported."
                );
            }
        }
        let mut b = self.enabled.builder();
        if let Some(v) = dyno {
            b.str("service.instance.id", v);
        }
        if let Some(v) = app_id {
            b.str("heroku.app.id", v);
            b.str("cloud.provider", "heroku");
        }
        for (var, key) in [
            ("HEROKU_APP_NAME", "service.name"),
            (
                "HEROKU_RELEASE_CREATED_AT",
                "heroku.release.creation_timestamp",
            ),
            ("HEROKU_RELEASE_VERSION", "service.version"),
            ("HEROKU_SLUG_COMMIT", "heroku.release.commit"),
        ] {
            if let Some(v) = env.lookup(var) {
                b.str(key, v);
            }
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}
