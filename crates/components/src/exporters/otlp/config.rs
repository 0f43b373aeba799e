//! `otlp_grpc` exporter config: Go `configgrpc.ClientConfig` keys plus the exporter helper's
//! `timeout`, `retry_on_failure` and `sending_queue` (otelcol.md §6 otlp_grpc).

use std::collections::BTreeMap;

use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

use crate::compression::{Codec, CompressionParams};
use crate::util::tls::TlsClientSettings;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `host:port`; an `http://` / `https://` prefix is stripped, `https://` forces TLS.
    pub endpoint: String,
    /// `gzip` (default), `zstd`, `none` / `""`.
    pub compression: String,
    /// `{level: N}`; unset: gzip 6 (Go's and tonic's default), zstd 3.
    pub compression_params: CompressionParams,
    pub tls: TlsClientSettings,
    pub headers: BTreeMap<String, String>,
    /// Per export attempt.
    pub timeout: config::Duration,
    /// Accepted; a single endpoint gets a single HTTP/2 connection.
    pub balancer_name: String,
    /// Accepted; sent as the `:authority` of requests when set.
    pub authority: String,
    #[serde(deserialize_with = "config::present_as_default")]
    pub keepalive: Option<KeepaliveSettings>,
    pub read_buffer_size: config::ByteSize,
    pub write_buffer_size: config::ByteSize,
    /// Accepted; a call to an unreachable endpoint fails as UNAVAILABLE and is retried by
    /// `retry_on_failure`, which is what waiting for ready gives in practice.
    pub wait_for_ready: bool,
    /// Authenticator extension id: not supported yet.
    /// `auth::authenticator`: a client authenticator extension, resolved at start.
    pub auth: Option<runtime::auth::AuthConfig>,
    pub middlewares: Vec<serde_json::Value>,
    pub retry_on_failure: RetrySettings,
    pub sending_queue: QueueSettings,
}

/// `keepalive` (Go `configgrpc.KeepaliveClientConfig`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KeepaliveSettings {
    pub time: config::Duration,
    pub timeout: config::Duration,
    pub permit_without_stream: bool,
}

impl Default for KeepaliveSettings {
    fn default() -> Self {
        KeepaliveSettings {
            time: config::Duration::ZERO,
            timeout: config::Duration::ZERO,
            permit_without_stream: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: String::new(),
            compression: "gzip".into(),
            compression_params: CompressionParams::default(),
            tls: TlsClientSettings::default(),
            headers: BTreeMap::new(),
            timeout: config::Duration::from_secs(5),
            balancer_name: "round_robin".into(),
            authority: String::new(),
            keepalive: None,
            read_buffer_size: config::ByteSize(0),
            write_buffer_size: config::ByteSize(512 * 1024),
            wait_for_ready: false,
            auth: None,
            middlewares: Vec::new(),
            retry_on_failure: RetrySettings::default(),
            sending_queue: QueueSettings::default(),
        }
    }
}

/// gRPC message compression (`grpc-encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcCompression {
    None,
    Gzip,
    Zstd,
}

/// Where to connect and whether to use TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port`
    pub authority: String,
    pub host: String,
    pub tls: bool,
}

impl Config {
    pub fn compression(&self) -> Result<GrpcCompression, String> {
        match self.compression.as_str() {
            "" | "none" => Ok(GrpcCompression::None),
            "gzip" => Ok(GrpcCompression::Gzip),
            "zstd" => Ok(GrpcCompression::Zstd),
            "snappy" => Err("compression \"snappy\" is not supported yet by the otlp_grpc exporter (use gzip or zstd)".into()),
            other => Err(format!("unsupported compression type {other:?}")),
        }
    }

    /// The endpoint as Go's configgrpc reads it.
    pub fn target(&self) -> Result<Target, String> {
        let mut ep = self.endpoint.trim();
        let mut tls = !self.tls.insecure;
        if let Some(rest) = ep.strip_prefix("https://") {
            ep = rest;
            tls = true;
        } else if let Some(rest) = ep.strip_prefix("http://") {
            ep = rest;
        } else if let Some(rest) = ep.strip_prefix("dns:///") {
            ep = rest;
        } else if ep.starts_with("unix:") {
            return Err(format!(
                "endpoint {ep:?}: unix sockets are not supported yet"
            ));
        }
        let ep = ep.trim_end_matches('/');
        if ep.is_empty() {
            return Err("requires a non-empty \"endpoint\"".into());
        }
        if ep.contains('/') {
            return Err(format!("endpoint {:?}: expected host:port", self.endpoint));
        }
        let (host, port) = match ep.rsplit_once(':') {
            // An empty host is what `${env:HOST}:4317` gives with HOST unset; Go's
            // net.SplitHostPort accepts it and gRPC then dials the local host.
            Some(("", p)) if p.parse::<u16>().is_ok() => ("localhost".to_string(), p),
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p),
            _ => return Err(format!("endpoint {:?}: expected host:port", self.endpoint)),
        };
        Ok(Target {
            authority: format!("{host}:{port}"),
            host,
            tls,
        })
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.endpoint.trim().is_empty() {
            return Err("requires a non-empty \"endpoint\"".into());
        }
        self.target()?;
        match self.compression()? {
            GrpcCompression::None => {}
            GrpcCompression::Gzip => Codec::Gzip.validate_level(self.compression_params.level)?,
            GrpcCompression::Zstd => Codec::Zstd.validate_level(self.compression_params.level)?,
        }
        self.tls.validate()?;
        if !self.middlewares.is_empty() {
            return Err("middlewares: are not supported yet".into());
        }
        for (k, v) in &self.headers {
            tonic::metadata::MetadataKey::<tonic::metadata::Ascii>::from_bytes(
                k.to_ascii_lowercase().as_bytes(),
            )
            .map_err(|_| format!("headers: invalid header name {k:?}"))?;
            tonic::metadata::MetadataValue::<tonic::metadata::Ascii>::try_from(v.as_str())
                .map_err(|_| format!("headers: invalid value for header {k:?}"))?;
        }
        self.retry_on_failure.validate()?;
        self.sending_queue.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Result<Config, String> {
        let v = config::Value::from_yaml_str(yaml)?;
        let c: Config = config::decode(&v, "exporters::otlp").map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn defaults_match_the_go_collector() {
        let c = cfg("endpoint: collector:4317").unwrap();
        assert_eq!(c.compression().unwrap(), GrpcCompression::Gzip);
        assert_eq!(c.timeout.0, std::time::Duration::from_secs(5));
        assert!(c.sending_queue.enabled);
        assert!(c.retry_on_failure.enabled);
        assert_eq!(
            c.target().unwrap(),
            Target {
                authority: "collector:4317".into(),
                host: "collector".into(),
                tls: true
            }
        );
    }

    #[test]
    fn http_prefix_is_stripped_but_does_not_disable_tls() {
        let c = cfg("endpoint: http://collector:4317").unwrap();
        assert!(c.target().unwrap().tls);
        let c = cfg("endpoint: http://collector:4317\ntls: {insecure: true}").unwrap();
        assert!(!c.target().unwrap().tls);
        let c = cfg("endpoint: https://collector:4317\ntls: {insecure: true}").unwrap();
        assert!(c.target().unwrap().tls, "https:// forces TLS");
    }

    #[test]
    fn an_unset_host_variable_leaves_a_port_that_go_accepts() {
        // `endpoint: ${env:COLLECTOR_HOST}:4317` with the variable unset.
        let c = cfg("endpoint: ':4317'").unwrap();
        assert_eq!(c.target().unwrap().authority, "localhost:4317");
        assert_eq!(
            cfg("endpoint: collector").unwrap_err(),
            "endpoint \"collector\": expected host:port"
        );
    }

    #[test]
    fn missing_endpoint_is_a_config_error() {
        assert_eq!(
            cfg("compression: gzip").unwrap_err(),
            "requires a non-empty \"endpoint\""
        );
    }

    #[test]
    fn snappy_is_refused_until_supported_and_auth_is_accepted() {
        assert!(
            cfg("endpoint: a:1\ncompression: snappy")
                .unwrap_err()
                .contains("not supported yet")
        );
        let c = cfg("endpoint: a:1\nauth: {authenticator: oauth2client}").unwrap();
        assert_eq!(c.auth.unwrap().authenticator, "oauth2client");
        assert!(
            cfg("endpoint: a:1\ncompression: brotli")
                .unwrap_err()
                .contains("unsupported compression type")
        );
    }

    #[test]
    fn go_client_keys_are_accepted() {
        cfg("endpoint: a:1\nbalancer_name: pick_first\nwait_for_ready: true\nwrite_buffer_size: 1MiB\nread_buffer_size: 0\nkeepalive: {time: 10s, timeout: 5s, permit_without_stream: true}\nheaders: {x-token: abc}\ntls: {insecure_skip_verify: true, server_name_override: foo}")
            .unwrap();
    }
}
