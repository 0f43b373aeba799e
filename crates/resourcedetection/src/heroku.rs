//! `heroku`: the dyno metadata Heroku publishes in environment variables
//! (`HEROKU_DYNO_ID`, `HEROKU_APP_ID`, `HEROKU_APP_NAME`, `HEROKU_RELEASE_*`,
//! `HEROKU_SLUG_COMMIT`). Without `HEROKU_DYNO_ID` the detector is off its platform.

use serde::Deserialize;

use crate::attrs::{AttrSwitches, Enabled};
use crate::{Ctx, Found, SCHEMA_URL_1_6_1, Settings};

pub const ATTRIBUTES: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("heroku.app.id", true),
    ("heroku.app.name", true),
    ("heroku.dyno.id", true),
    ("heroku.release.commit", true),
    ("heroku.release.creation_timestamp", true),
    ("heroku.release.version", true),
    ("service.instance.id", true),
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

    pub(crate) fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let env = &ctx.set.env;
        let Some(dyno) = env.lookup("HEROKU_DYNO_ID") else {
            if self.fail_on_missing && env.lookup("HEROKU_APP_ID").is_none() {
                return Err(
                    "heroku metadata unavailable: HEROKU_DYNO_ID and HEROKU_APP_ID are not set"
                        .into(),
                );
            }
            tracing::debug!("heroku metadata unavailable");
            return Ok(Found::default());
        };
        let mut b = self.enabled.builder();
        b.str("cloud.provider", "heroku");
        b.str("service.instance.id", dyno.clone());
        b.str("heroku.dyno.id", dyno);
        for (var, key) in [
            ("HEROKU_APP_ID", "heroku.app.id"),
            ("HEROKU_APP_NAME", "heroku.app.name"),
            (
                "HEROKU_RELEASE_CREATED_AT",
                "heroku.release.creation_timestamp",
            ),
            ("HEROKU_RELEASE_VERSION", "heroku.release.version"),
            ("HEROKU_SLUG_COMMIT", "heroku.release.commit"),
        ] {
            if let Some(v) = env.lookup(var) {
                b.str(key, v);
            }
        }
        Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1))
    }
}
