//! Authenticator extensions (Go's `extensionauth` and `configauth`): the server side checks
//! the headers of an incoming request before its body is read; the client side adds headers
//! to outgoing requests. Servers and clients find their authenticator among the running
//! extensions by the id of their `auth: authenticator:` setting.

use std::sync::Arc;

use axum::http::HeaderMap;
use config::ComponentId;
pub use pdata::ClientInfo;

use crate::component::Host;

/// Why a request was not authenticated; the message is what the client is answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

impl AuthError {
    pub fn new(message: impl Into<String>) -> Self {
        AuthError(message.into())
    }
}

/// The server side (Go's `extensionauth.Server`).
pub trait ServerAuthenticator: Send + Sync {
    /// Checks a request's headers (gRPC metadata or HTTP headers). On success returns the
    /// auth attributes that travel with the request's data (`auth.<name>` for
    /// `headers_setter`), empty when the authenticator has none.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Vec<(String, String)>, AuthError>;
}

/// The client side (Go's `extensionauth.HTTPClient` / `GRPCClient`).
pub trait ClientAuthenticator: Send + Sync {
    /// Sets the headers (gRPC metadata) of one outgoing request. `client` is the client
    /// information that travels with the data being sent, when a receiver kept it
    /// (`include_metadata`).
    fn apply(&self, headers: &mut HeaderMap, client: Option<&ClientInfo>) -> Result<(), AuthError>;
}

/// The `auth` setting of servers and clients (Go's `configauth.Config`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub authenticator: String,
    /// Query parameters whose values are added to the headers the server authenticator
    /// sees (Go's `request_params`).
    #[serde(default)]
    pub request_params: Vec<String>,
}

fn resolve<'h>(
    host: &'h Host,
    id: &str,
) -> Result<&'h Arc<dyn crate::component::Extension>, String> {
    let not_found = || format!("failed to resolve authenticator {id:?}: authenticator not found");
    let id = ComponentId::parse(id).map_err(|_| not_found())?;
    host.extension(&id).ok_or_else(not_found)
}

/// The server authenticator named `id`, with Go's errors for an unknown id or an extension
/// that is not a server authenticator.
pub fn server_authenticator(host: &Host, id: &str) -> Result<Arc<dyn ServerAuthenticator>, String> {
    resolve(host, id)?
        .server_authenticator()
        .ok_or_else(|| "requested authenticator is not a server authenticator".to_string())
}

/// The client authenticator named `id`, for a gRPC client or an HTTP one (Go's errors
/// differ).
pub fn client_authenticator(
    host: &Host,
    id: &str,
    grpc: bool,
) -> Result<Arc<dyn ClientAuthenticator>, String> {
    resolve(host, id)?.client_authenticator().ok_or_else(|| {
        if grpc {
            "requested authenticator is not for gRPC".to_string()
        } else {
            "requested authenticator is not a HTTPClient".to_string()
        }
    })
}
