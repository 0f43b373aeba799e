//! `basicauth` settings: the contrib extension's keys.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Server side: the accepted users.
    pub htpasswd: Option<HtpasswdSettings>,
    /// Client side: the credentials sent.
    pub client_auth: Option<ClientAuthSettings>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HtpasswdSettings {
    /// An htpasswd file, read at start.
    pub file: String,
    /// htpasswd lines, added to those of `file`.
    pub inline: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientAuthSettings {
    pub username: String,
    pub password: String,
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        match (&self.htpasswd, &self.client_auth) {
            (Some(_), Some(_)) => {
                Err("only one of `htpasswd` or `client_auth` can be specified".into())
            }
            (None, None) => Err("no credential source provided".into()),
            _ => Ok(()),
        }
    }
}
