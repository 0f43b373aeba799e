//! The `otlp` receiver's config: the Go collector's keys and defaults
//! (`receiver/otlpreceiver/config.go`, `config/configgrpc`, `config/confighttp`).

use std::collections::BTreeMap;

use config::{ByteSize, Duration};
use runtime::factory::ComponentConfig;
use serde::Deserialize;

/// `receivers::otlp`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub protocols: Protocols,
}

/// `protocols`: a protocol is enabled by being present (`grpc:` alone enables it with defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocols {
    #[serde(default, deserialize_with = "config::present_as_default")]
    pub grpc: Option<GrpcConfig>,
    #[serde(default, deserialize_with = "config::present_as_default")]
    pub http: Option<HttpConfig>,
}

/// `protocols::grpc` (configgrpc.ServerConfig).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    pub endpoint: String,
    /// `tcp` only (`unix` sockets are not supported yet).
    pub transport: String,
    /// 0 means grpc-go's default of 4 MiB.
    pub max_recv_msg_size_mib: u64,
    pub max_concurrent_streams: u32,
    /// Accepted for compatibility; hyper sizes its own buffers.
    pub read_buffer_size: ByteSize,
    /// Accepted for compatibility; hyper sizes its own buffers.
    pub write_buffer_size: ByteSize,
    #[serde(deserialize_with = "config::present_as_default")]
    pub keepalive: Option<KeepaliveConfig>,
    /// Request headers (gRPC metadata) travel with the batch (Go's `client.Info`).
    pub include_metadata: bool,
    #[serde(deserialize_with = "config::present_as_default")]
    pub tls: Option<TlsServerConfig>,
    pub auth: Option<AuthConfig>,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            endpoint: "localhost:4317".into(),
            transport: "tcp".into(),
            max_recv_msg_size_mib: 4,
            max_concurrent_streams: 0,
            // The Go otlp receiver sets 512 KiB.
            read_buffer_size: ByteSize(512 * 1024),
            write_buffer_size: ByteSize(0),
            keepalive: None,
            include_metadata: false,
            tls: None,
            auth: None,
        }
    }
}

impl GrpcConfig {
    /// The largest decompressed message accepted, in bytes.
    pub fn max_recv_msg_size(&self) -> usize {
        let mib = if self.max_recv_msg_size_mib == 0 {
            4
        } else {
            self.max_recv_msg_size_mib
        };
        usize::try_from(mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }
}

/// `keepalive` (configgrpc.KeepaliveServerConfig).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveConfig {
    #[serde(deserialize_with = "config::present_as_default")]
    pub server_parameters: Option<KeepaliveServerParameters>,
    /// Accepted; hyper has no ping enforcement policy.
    #[serde(deserialize_with = "config::present_as_default")]
    pub enforcement_policy: Option<KeepaliveEnforcementPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveServerParameters {
    /// Accepted; hyper closes idle HTTP/2 connections only through `max_connection_age`.
    pub max_connection_idle: Duration,
    pub max_connection_age: Duration,
    pub max_connection_age_grace: Duration,
    pub time: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveEnforcementPolicy {
    pub min_time: Duration,
    pub permit_without_stream: bool,
}

/// `tls` (configtls.ServerConfig), shared by every server.
pub use crate::util::tls::TlsServerConfig;

/// `auth` (configauth.Config): the server authenticator extension, resolved at start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub authenticator: String,
    pub request_params: Vec<String>,
}

/// `protocols::http` (confighttp.ServerConfig plus the otlp receiver's URL paths).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub endpoint: String,
    pub traces_url_path: String,
    pub metrics_url_path: String,
    pub logs_url_path: String,
    /// Applied to the body after decompression.
    pub max_request_body_size: ByteSize,
    #[serde(deserialize_with = "config::present_as_default")]
    pub cors: Option<CorsConfig>,
    pub response_headers: BTreeMap<String, String>,
    /// Request headers (gRPC metadata) travel with the batch (Go's `client.Info`).
    pub include_metadata: bool,
    pub compression_algorithms: Vec<String>,
    /// Accepted; not enforced (the otlp receiver's default is 0 = none).
    pub read_timeout: Duration,
    pub read_header_timeout: Duration,
    /// Accepted; not enforced (the otlp receiver's default is 0 = none).
    pub write_timeout: Duration,
    /// Accepted; not enforced (the otlp receiver's default is 0 = none).
    pub idle_timeout: Duration,
    pub keep_alives_enabled: bool,
    #[serde(deserialize_with = "config::present_as_default")]
    pub tls: Option<TlsServerConfig>,
    pub auth: Option<AuthConfig>,
}

/// Go confighttp's default `compression_algorithms` ("" is identity).
pub const DEFAULT_COMPRESSION_ALGORITHMS: [&str; 8] = [
    "",
    "gzip",
    "zstd",
    "zlib",
    "snappy",
    "deflate",
    "lz4",
    "x-snappy-framed",
];

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            endpoint: "localhost:4318".into(),
            traces_url_path: "/v1/traces".into(),
            metrics_url_path: "/v1/metrics".into(),
            logs_url_path: "/v1/logs".into(),
            max_request_body_size: ByteSize(20 * 1024 * 1024),
            cors: None,
            response_headers: BTreeMap::new(),
            include_metadata: false,
            compression_algorithms: DEFAULT_COMPRESSION_ALGORITHMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            // The otlp receiver sets these three to 0 (no timeout) for backward compatibility.
            read_timeout: Duration::default(),
            read_header_timeout: Duration::default(),
            write_timeout: Duration::default(),
            idle_timeout: Duration::default(),
            keep_alives_enabled: true,
            tls: None,
            auth: None,
        }
    }
}

impl HttpConfig {
    /// A URL path with its leading `/`, as Go's `sanitizeURLPath`.
    pub fn sanitized(path: &str) -> String {
        if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        }
    }

    pub fn max_body_size(&self) -> usize {
        usize::try_from(self.max_request_body_size.0).unwrap_or(usize::MAX)
    }
}

/// `cors` (confighttp.CORSConfig).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Exact origins, `*`, or one-wildcard patterns such as `https://*.example.com`.
    pub allowed_origins: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    /// Seconds; 0 leaves `Access-Control-Max-Age` out.
    pub max_age: u64,
}

const NO_PROTOCOL: &str = "must specify at least one protocol when using the OTLP receiver";

fn check_tls_and_auth(
    proto: &str,
    tls: &Option<TlsServerConfig>,
    auth: &Option<AuthConfig>,
) -> Result<(), String> {
    if let Some(tls) = tls {
        tls.validate()
            .map_err(|e| format!("protocols::{proto}::tls: {e}"))?;
    }
    let _ = auth; // resolved among the extensions at start
    Ok(())
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        let p = &self.protocols;
        if p.grpc.is_none() && p.http.is_none() {
            return Err(NO_PROTOCOL.into());
        }
        if let Some(g) = &p.grpc {
            if g.transport != "tcp" {
                return Err(format!(
                    "protocols::grpc::transport: {:?} is not supported yet; use \"tcp\"",
                    g.transport
                ));
            }
            if g.endpoint.is_empty() {
                return Err("protocols::grpc::endpoint: must not be empty".into());
            }
            check_tls_and_auth("grpc", &g.tls, &g.auth)?;
        }
        if let Some(h) = &p.http {
            if h.endpoint.is_empty() {
                return Err("protocols::http::endpoint: must not be empty".into());
            }
            for alg in &h.compression_algorithms {
                if !DEFAULT_COMPRESSION_ALGORITHMS.contains(&alg.as_str()) {
                    return Err(format!(
                        "protocols::http::compression_algorithms: unsupported compression type {alg:?}"
                    ));
                }
            }
            check_tls_and_auth("http", &h.tls, &h.auth)?;
        }
        Ok(())
    }
}

/// Turns a Go listen address into one tokio can bind: an empty host (`:4317`) means every
/// interface, as in Go.
pub fn bind_address(endpoint: &str) -> String {
    if endpoint.starts_with(':') {
        format!("0.0.0.0{endpoint}")
    } else {
        endpoint.to_string()
    }
}
