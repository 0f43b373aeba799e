//! Small helpers shared by several components.

pub mod gofmt;
pub(crate) mod gotext;
pub mod http_client;
pub mod http_server;
pub mod server_auth;
pub mod time;
pub mod tls;
#[cfg(test)]
pub(crate) mod tls_testing;
