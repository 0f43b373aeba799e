//! The server side of Go's `configauth` plus `include_metadata`, shared by the HTTP and gRPC
//! server receivers: the `auth` authenticator resolved among the extensions at start, asked
//! about each request's headers before its body is read, and the client info a request's
//! batch carries (its headers with `include_metadata`, the authenticator's attributes).

use std::sync::{Arc, RwLock};

use http::HeaderMap;
use pdata::ClientInfo;
use runtime::Host;
use runtime::auth::{AuthError, ServerAuthenticator};

/// One server's `auth` and `include_metadata`.
#[derive(Default)]
pub struct ServerAuth {
    /// `auth::authenticator`, when set.
    id: Option<String>,
    /// `auth::request_params`: query parameters the authenticator sees as headers (HTTP).
    request_params: Vec<String>,
    include_metadata: bool,
    resolved: RwLock<Option<Arc<dyn ServerAuthenticator>>>,
}

impl ServerAuth {
    pub fn new(
        authenticator: Option<&str>,
        request_params: Vec<String>,
        include_metadata: bool,
    ) -> ServerAuth {
        ServerAuth {
            id: authenticator.map(str::to_string),
            request_params,
            include_metadata,
            resolved: RwLock::new(None),
        }
    }

    /// Resolves the authenticator; an unknown or client-only one fails start with Go's
    /// message.
    pub fn start(&self, host: &Host) -> Result<(), String> {
        let found = match &self.id {
            Some(id) => Some(runtime::auth::server_authenticator(host, id)?),
            None => None,
        };
        *self.resolved.write().unwrap_or_else(|p| p.into_inner()) = found;
        Ok(())
    }

    /// Sets the authenticator directly (tests, or a server built without a host).
    pub fn set_authenticator(&self, auth: Option<Arc<dyn ServerAuthenticator>>) {
        *self.resolved.write().unwrap_or_else(|p| p.into_inner()) = auth;
    }

    /// Authenticates a request from its headers (and the `request_params` of its `query`)
    /// and returns the client info its batch carries; `None` when there is nothing to carry,
    /// which costs nothing.
    pub fn check(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Option<Arc<ClientInfo>>, AuthError> {
        let auth = self
            .resolved
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut attributes = Vec::new();
        if let Some(auth) = auth {
            attributes = if self.request_params.is_empty() || query.is_none() {
                auth.authenticate(headers)?
            } else {
                let mut sources = headers.clone();
                for param in &self.request_params {
                    if let Some(v) = crate::extensions::query_param(query, param)
                        && let (Ok(name), Ok(value)) = (
                            http::HeaderName::try_from(param.as_str()),
                            http::HeaderValue::try_from(v),
                        )
                    {
                        sources.insert(name, value);
                    }
                }
                auth.authenticate(&sources)?
            };
        }
        if !self.include_metadata && attributes.is_empty() {
            return Ok(None);
        }
        let mut info = ClientInfo {
            auth: attributes,
            ..ClientInfo::default()
        };
        info.auth.sort();
        if self.include_metadata {
            for (name, value) in headers {
                info.push(
                    name.as_str(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                );
            }
        }
        Ok(Some(Arc::new(info)))
    }
}
