//! `healthcheckv2` settings: the contrib extension's keys, defaults and validation messages.
//! Without `use_v2: true` it is configured (and answers) like `health_check`; with it, the
//! `http` and `grpc` sections are used when present, and `component_health` turns on
//! per-component health.

use runtime::ComponentConfig;
use serde::{Deserialize, Deserializer};

/// The confighttp server keys: tls is served; auth is refused rather than served without;
/// the others are accepted without effect on a health endpoint.
macro_rules! server_keys {
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$m])*
        pub struct $name {
            $($body)*
            pub tls: Option<crate::util::tls::TlsServerConfig>,
            pub auth: Option<config::Value>,
            pub cors: Option<config::Value>,
            pub include_metadata: Option<config::Value>,
            pub max_request_body_size: Option<config::Value>,
            pub compression_algorithms: Option<config::Value>,
            pub read_timeout: Option<config::Value>,
            pub read_header_timeout: Option<config::Value>,
            pub write_timeout: Option<config::Value>,
            pub idle_timeout: Option<config::Value>,
            pub keep_alives_enabled: Option<config::Value>,
            pub response_headers: Option<config::Value>,
        }
    };
}

fn check_server(
    tls: &Option<crate::util::tls::TlsServerConfig>,
    auth: &Option<config::Value>,
    prefix: &str,
) -> Result<(), String> {
    let present = |v: &Option<config::Value>| v.as_ref().is_some_and(|v| !v.is_null());
    if let Some(tls) = tls {
        tls.validate().map_err(|e| format!("{prefix}tls: {e}"))?;
    }
    if present(auth) {
        return Err(format!(
            "{prefix}auth: not supported by ferrotel's healthcheckv2 yet"
        ));
    }
    Ok(())
}

/// `enabled` and `path` of one HTTP route; the two routes have different defaults, and a
/// section that sets one key keeps the other's default (as Go decodes over its defaults).
macro_rules! path_config {
    ($name:ident, $enabled:expr, $path:expr) => {
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            pub enabled: bool,
            pub path: String,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    enabled: $enabled,
                    path: $path.into(),
                }
            }
        }
    };
}

path_config!(StatusPath, true, "/status");
path_config!(ConfigPath, false, "/config");

server_keys! {
    /// The v2 HTTP service (`http:`).
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct HttpConfig {
        pub endpoint: String,
        pub status: StatusPath,
        pub config: ConfigPath,
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            endpoint: "localhost:13133".into(),
            status: StatusPath::default(),
            config: ConfigPath::default(),
            tls: None,
            auth: None,
            cors: None,
            include_metadata: None,
            max_request_body_size: None,
            compression_algorithms: None,
            read_timeout: None,
            read_header_timeout: None,
            write_timeout: None,
            idle_timeout: None,
            keep_alives_enabled: None,
            response_headers: None,
        }
    }
}

/// `component_health:`; present (even empty) means per-component health is reported.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentHealthConfig {
    pub include_permanent_errors: bool,
    pub include_recoverable_errors: bool,
    pub recovery_duration: config::Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseBody {
    pub healthy: String,
    pub unhealthy: String,
}

server_keys! {
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Config {
        // Legacy (health_check) keys, used without `use_v2`.
        pub endpoint: String,
        pub path: String,
        pub response_body: Option<ResponseBody>,
        /// Accepted and ignored, as in Go.
        pub check_collector_pipeline: Option<config::Value>,
        pub use_v2: bool,
        #[serde(deserialize_with = "present")]
        pub http: Option<HttpConfig>,
        /// The gRPC health service: refused (not built) when `use_v2` is on.
        pub grpc: Option<config::Value>,
        #[serde(deserialize_with = "present")]
        pub component_health: Option<ComponentHealthConfig>,
    }
}

/// A section that is present is used, even when empty (`http:`), with its defaults; as
/// Go's `conf.IsSet`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "localhost:13133".into(),
            path: "/".into(),
            response_body: None,
            check_collector_pipeline: None,
            use_v2: false,
            http: None,
            grpc: None,
            component_health: None,
            tls: None,
            auth: None,
            cors: None,
            include_metadata: None,
            max_request_body_size: None,
            compression_algorithms: None,
            read_timeout: None,
            read_header_timeout: None,
            write_timeout: None,
            idle_timeout: None,
            keep_alives_enabled: None,
            response_headers: None,
        }
    }
}

impl ComponentConfig for Config {
    /// The contrib extension's checks and messages, in its order.
    fn validate(&self) -> Result<(), String> {
        if !self.use_v2 {
            if self.endpoint.is_empty() {
                return Err("http endpoint required".into());
            }
            if !self.path.starts_with('/') {
                return Err("path must start with /".into());
            }
            return check_server(&self.tls, &self.auth, "");
        }
        if self.grpc.is_none() && self.http.is_none() {
            return Err("must specify at least one protocol".into());
        }
        if let Some(h) = &self.http {
            if h.endpoint.is_empty() {
                return Err("http endpoint required".into());
            }
            if h.status.enabled && !h.status.path.starts_with('/') {
                return Err("path must start with /".into());
            }
            if h.config.enabled && !h.config.path.starts_with('/') {
                return Err("path must start with /".into());
            }
            check_server(&h.tls, &h.auth, "http::")?;
        }
        if self.grpc.is_some() {
            return Err("grpc: the gRPC health service of healthcheckv2 is not built into ferrotel yet; use the http service (remove the grpc section)".into());
        }
        Ok(())
    }
}
