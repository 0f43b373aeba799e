//! `basicauth`: the contrib HTTP Basic authenticator.
//!
//! - Server (`htpasswd`): the `Authorization: Basic <base64 user:password>` header must name
//!   a user of the htpasswd `file` (read at start) or `inline` text with its password;
//!   refusals carry Go's messages (`no basic auth provided`, `invalid authorization scheme
//!   prefix`, `invalid authorization format`, `invalid credentials`). The user name and the
//!   raw credentials become the auth attributes `username` and `raw`.
//! - Client (`client_auth`): every request carries the Basic header.

pub mod config;
mod htpasswd;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::{Arc, RwLock};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use runtime::auth::{AuthError, ClientAuthenticator, ClientInfo, ServerAuthenticator};
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, Extension, Host};

pub use self::config::Config;
pub use self::htpasswd::Htpasswd;

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "basicauth"
    }

    fn stability(&self) -> Stability {
        Stability::Beta
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, _set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(BasicAuth::new(cfg)?))
    }
}

pub const NO_AUTH: &str = "no basic auth provided";
pub const INVALID_CREDENTIALS: &str = "invalid credentials";
pub const INVALID_SCHEME_PREFIX: &str = "invalid authorization scheme prefix";
pub const INVALID_FORMAT: &str = "invalid authorization format";

struct Server {
    users: RwLock<Arc<Htpasswd>>,
}

impl ServerAuthenticator for Server {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Vec<(String, String)>, AuthError> {
        let auth = headers
            .get(AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if auth.is_empty() {
            return Err(AuthError::new(NO_AUTH));
        }
        let Some(encoded) = auth.strip_prefix(b"Basic ") else {
            return Err(AuthError::new(INVALID_SCHEME_PREFIX));
        };
        let decoded = STANDARD
            .decode(encoded)
            .map_err(|_| AuthError::new(INVALID_FORMAT))?;
        let decoded = String::from_utf8_lossy(&decoded);
        let Some((user, password)) = decoded.split_once(':') else {
            return Err(AuthError::new(INVALID_FORMAT));
        };
        let users = self.users.read().unwrap_or_else(|p| p.into_inner()).clone();
        if !users.matches(user, password) {
            return Err(AuthError::new(INVALID_CREDENTIALS));
        }
        Ok(vec![
            (
                "raw".to_string(),
                String::from_utf8_lossy(encoded).into_owned(),
            ),
            ("username".to_string(), user.to_string()),
        ])
    }
}

struct Client {
    value: HeaderValue,
}

impl ClientAuthenticator for Client {
    fn apply(
        &self,
        headers: &mut HeaderMap,
        _client: Option<&ClientInfo>,
    ) -> Result<(), AuthError> {
        headers.insert(AUTHORIZATION, self.value.clone());
        Ok(())
    }
}

pub struct BasicAuth {
    htpasswd: Option<config::HtpasswdSettings>,
    server: Option<Arc<Server>>,
    client: Option<Arc<Client>>,
}

impl BasicAuth {
    pub fn new(cfg: &Config) -> Result<Self, String> {
        let client = match &cfg.client_auth {
            Some(c) => {
                if c.username.contains(':') {
                    return Err(INVALID_FORMAT.into());
                }
                let token = STANDARD.encode(format!("{}:{}", c.username, c.password));
                let mut value = HeaderValue::try_from(format!("Basic {token}"))
                    .map_err(|e| format!("client_auth: {e}"))?;
                value.set_sensitive(true);
                Some(Arc::new(Client { value }))
            }
            None => None,
        };
        let server = match &cfg.htpasswd {
            Some(h) => Some(Arc::new(Server {
                users: RwLock::new(Arc::new(Htpasswd::parse(&h.inline)?)),
            })),
            None => None,
        };
        Ok(BasicAuth {
            htpasswd: cfg.htpasswd.clone(),
            server,
            client,
        })
    }
}

#[async_trait]
impl Component for BasicAuth {
    /// Reads the htpasswd file (its users, then the inline ones, as Go concatenates them).
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let (Some(h), Some(server)) = (&self.htpasswd, &self.server) else {
            return Ok(());
        };
        let mut users = Htpasswd::default();
        if !h.file.is_empty() {
            let text =
                std::fs::read_to_string(&h.file).map_err(|e| format!("open {}: {e}", h.file))?;
            users = Htpasswd::parse(&text)?;
        }
        users.extend(Htpasswd::parse(&h.inline)?);
        *server.users.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(users);
        Ok(())
    }
}

impl Extension for BasicAuth {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn server_authenticator(&self) -> Option<Arc<dyn ServerAuthenticator>> {
        self.server
            .clone()
            .map(|s| s as Arc<dyn ServerAuthenticator>)
    }

    fn client_authenticator(&self) -> Option<Arc<dyn ClientAuthenticator>> {
        self.client
            .clone()
            .map(|c| c as Arc<dyn ClientAuthenticator>)
    }
}
