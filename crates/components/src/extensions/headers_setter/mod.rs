//! `headers_setter`: the contrib client authenticator that sets request headers from fixed
//! values, from the metadata of the request that brought the data (`from_context`, kept by
//! a receiver with `include_metadata` and, through a batch processor, its `metadata_keys`)
//! or from an authenticator's attributes (`from_attribute`).
//!
//! A metadata key with several values is an error for the request, as in Go ("N source keys
//! found in the context, can't determine which one to use"); no value uses `default_value`
//! (or the empty string).

pub mod config;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use runtime::auth::{AuthError, ClientAuthenticator, ClientInfo};
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, Extension};

pub use self::config::{Action, Config};

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "headers_setter"
    }

    fn stability(&self) -> Stability {
        Stability::Alpha
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, _set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(HeadersSetter::new(cfg)?))
    }
}

enum Source {
    Static(String),
    Context(String),
    Attribute(String),
    None,
}

struct Header {
    name: HeaderName,
    action: Action,
    source: Source,
    default: String,
}

impl Header {
    fn value(&self, client: Option<&ClientInfo>) -> Result<String, AuthError> {
        match &self.source {
            Source::Static(v) => Ok(v.clone()),
            Source::None => Ok(String::new()),
            Source::Context(key) => {
                let values = client.map(|c| c.get(key)).unwrap_or(&[]);
                match values {
                    [] => Ok(self.default.clone()),
                    [one] => Ok(one.clone()),
                    many => Err(AuthError::new(format!(
                        "failed to determine the source: {} source keys found in the context, can't determine which one to use",
                        many.len()
                    ))),
                }
            }
            Source::Attribute(name) => Ok(client
                .and_then(|c| c.auth_attribute(name))
                .map(str::to_string)
                .unwrap_or_else(|| self.default.clone())),
        }
    }
}

struct Setter {
    headers: Vec<Header>,
}

impl ClientAuthenticator for Setter {
    fn apply(&self, headers: &mut HeaderMap, client: Option<&ClientInfo>) -> Result<(), AuthError> {
        for h in &self.headers {
            if h.action == Action::Delete {
                headers.remove(&h.name);
                continue;
            }
            let value = h.value(client)?;
            let value = HeaderValue::try_from(value).map_err(|e| {
                AuthError::new(format!(
                    "invalid value for header {:?}: {e}",
                    h.name.as_str()
                ))
            })?;
            let present = headers.contains_key(&h.name);
            let set = match h.action {
                Action::Insert => !present,
                Action::Update => present,
                Action::Upsert => true,
                Action::Delete => false,
            };
            if set {
                headers.insert(h.name.clone(), value);
            }
        }
        Ok(())
    }
}

pub struct HeadersSetter {
    setter: Arc<Setter>,
}

impl HeadersSetter {
    pub fn new(cfg: &Config) -> Result<Self, String> {
        let mut headers = Vec::with_capacity(cfg.headers.len());
        for h in &cfg.headers {
            let key = h.key.as_deref().unwrap_or_default();
            let name = HeaderName::try_from(key)
                .map_err(|e| format!("headers: invalid header name {key:?}: {e}"))?;
            let source = if let Some(v) = &h.value {
                Source::Static(v.clone())
            } else if let Some(k) = &h.from_context {
                Source::Context(k.clone())
            } else if let Some(a) = &h.from_attribute {
                Source::Attribute(a.clone())
            } else {
                Source::None
            };
            headers.push(Header {
                name,
                action: h.action,
                source,
                default: h.default_value.clone().unwrap_or_default(),
            });
        }
        Ok(HeadersSetter {
            setter: Arc::new(Setter { headers }),
        })
    }
}

#[async_trait]
impl Component for HeadersSetter {}

impl Extension for HeadersSetter {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn client_authenticator(&self) -> Option<Arc<dyn ClientAuthenticator>> {
        Some(self.setter.clone())
    }
}
