//! `otlp_http` exporter config: Go `confighttp.ClientConfig` keys plus the OTLP/HTTP ones
//! (per-signal endpoints, `encoding`) and the exporter helper's `retry_on_failure` and
//! `sending_queue` (otelcol.md §6 otlp_http).

use std::collections::BTreeMap;

use pdata::Signal;
use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

use crate::compression::{Codec, CompressionParams};
use crate::exporters::otlp::tls::TlsClientSettings;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Base URL; `/v1/traces` etc. is appended.
    pub endpoint: String,
    pub traces_endpoint: String,
    pub metrics_endpoint: String,
    pub logs_endpoint: String,
    /// Accepted: profiles are not a signal of this build.
    pub profiles_endpoint: String,
    pub encoding: Encoding,
    /// `gzip` (default), `zstd`, `zlib`, `deflate`, `snappy`, `x-snappy-framed`, `lz4`,
    /// `none` / `""`.
    pub compression: String,
    pub compression_params: CompressionParams,
    pub headers: BTreeMap<String, String>,
    /// The HTTP client's timeout for a whole request (the helper's own timeout is off).
    pub timeout: config::Duration,
    pub tls: TlsClientSettings,
    pub proxy_url: String,
    pub read_buffer_size: config::ByteSize,
    pub write_buffer_size: config::ByteSize,
    pub max_idle_conns: Option<usize>,
    pub max_idle_conns_per_host: Option<usize>,
    pub max_conns_per_host: Option<usize>,
    pub idle_conn_timeout: Option<config::Duration>,
    pub disable_keep_alives: bool,
    pub http2_read_idle_timeout: Option<config::Duration>,
    pub http2_ping_timeout: Option<config::Duration>,
    pub force_attempt_http2: Option<bool>,
    pub cookies: Option<serde_json::Value>,
    /// Authenticator extension id: not supported yet.
    pub auth: Option<serde_json::Value>,
    pub middlewares: Vec<serde_json::Value>,
    pub retry_on_failure: RetrySettings,
    pub sending_queue: QueueSettings,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Proto,
    Json,
}

/// Request body compression, named as its `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpCompression {
    None,
    Gzip,
    Zlib,
    Deflate,
    Zstd,
    Snappy,
    SnappyFramed,
    Lz4,
}

impl HttpCompression {
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            HttpCompression::None => None,
            HttpCompression::Gzip => Some("gzip"),
            HttpCompression::Zlib => Some("zlib"),
            HttpCompression::Deflate => Some("deflate"),
            HttpCompression::Zstd => Some("zstd"),
            HttpCompression::Snappy => Some("snappy"),
            HttpCompression::SnappyFramed => Some("x-snappy-framed"),
            HttpCompression::Lz4 => Some("lz4"),
        }
    }

    /// The codec that writes this encoding; `None` sends the body as it is.
    pub fn codec(self) -> Option<Codec> {
        match self {
            HttpCompression::None => None,
            HttpCompression::Gzip => Some(Codec::Gzip),
            // Go's confighttp writes zlib streams for both names.
            HttpCompression::Zlib | HttpCompression::Deflate => Some(Codec::Zlib),
            HttpCompression::Zstd => Some(Codec::Zstd),
            HttpCompression::Snappy => Some(Codec::Snappy),
            HttpCompression::SnappyFramed => Some(Codec::SnappyFramed),
            HttpCompression::Lz4 => Some(Codec::Lz4),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: String::new(),
            traces_endpoint: String::new(),
            metrics_endpoint: String::new(),
            logs_endpoint: String::new(),
            profiles_endpoint: String::new(),
            encoding: Encoding::Proto,
            compression: "gzip".into(),
            compression_params: CompressionParams::default(),
            headers: BTreeMap::new(),
            timeout: config::Duration::from_secs(30),
            tls: TlsClientSettings::default(),
            proxy_url: String::new(),
            read_buffer_size: config::ByteSize(0),
            write_buffer_size: config::ByteSize(512 * 1024),
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: false,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            force_attempt_http2: None,
            cookies: None,
            auth: None,
            middlewares: Vec::new(),
            retry_on_failure: RetrySettings::default(),
            sending_queue: QueueSettings::default(),
        }
    }
}

impl Config {
    pub fn compression(&self) -> Result<HttpCompression, String> {
        Ok(match self.compression.as_str() {
            "" | "none" => HttpCompression::None,
            "gzip" => HttpCompression::Gzip,
            "zlib" => HttpCompression::Zlib,
            "deflate" => HttpCompression::Deflate,
            "zstd" => HttpCompression::Zstd,
            "snappy" => HttpCompression::Snappy,
            "x-snappy-framed" => HttpCompression::SnappyFramed,
            "lz4" => HttpCompression::Lz4,
            other => return Err(format!("unsupported compression type {other:?}")),
        })
    }

    /// The URL a signal is posted to, as Go's `composeSignalURL`.
    pub fn signal_url(&self, signal: Signal) -> Result<String, String> {
        let (over, name) = match signal {
            Signal::Traces => (&self.traces_endpoint, "traces"),
            Signal::Metrics => (&self.metrics_endpoint, "metrics"),
            Signal::Logs => (&self.logs_endpoint, "logs"),
        };
        let url = if !over.is_empty() {
            over.clone()
        } else if self.endpoint.is_empty() {
            return Err(format!(
                "either endpoint or {name}_endpoint must be specified"
            ));
        } else if self.endpoint.ends_with('/') {
            format!("{}v1/{name}", self.endpoint)
        } else {
            format!("{}/v1/{name}", self.endpoint)
        };
        check_url(&url)?;
        Ok(url)
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let parsed: http::Uri = url
        .parse()
        .map_err(|e| format!("invalid endpoint {url:?}: {e}"))?;
    match parsed.scheme_str() {
        Some("http" | "https") if parsed.host().is_some() => Ok(()),
        _ => Err(format!(
            "invalid endpoint {url:?}: expected an http:// or https:// URL"
        )),
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.endpoint.is_empty()
            && self.traces_endpoint.is_empty()
            && self.metrics_endpoint.is_empty()
            && self.logs_endpoint.is_empty()
            && self.profiles_endpoint.is_empty()
        {
            return Err("at least one endpoint must be specified".into());
        }
        for url in [
            &self.endpoint,
            &self.traces_endpoint,
            &self.metrics_endpoint,
            &self.logs_endpoint,
        ] {
            if !url.is_empty() {
                check_url(url)?;
            }
        }
        if let Some(codec) = self.compression()?.codec() {
            codec.validate_level(self.compression_params.level)?;
        }
        self.tls.validate()?;
        if self.auth.is_some() {
            return Err("auth: authenticator extensions are not supported yet".into());
        }
        if !self.middlewares.is_empty() {
            return Err("middlewares: are not supported yet".into());
        }
        if !self.proxy_url.is_empty() {
            reqwest::Proxy::all(&self.proxy_url).map_err(|e| format!("proxy_url: {e}"))?;
        }
        for (k, v) in &self.headers {
            http::HeaderName::try_from(k.as_str())
                .map_err(|_| format!("headers: invalid header name {k:?}"))?;
            http::HeaderValue::try_from(v.as_str())
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
        let c: Config = config::decode(&v, "exporters::otlp_http").map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn signal_paths_are_appended_to_endpoint() {
        let c = cfg("endpoint: http://collector:4318").unwrap();
        assert_eq!(
            c.signal_url(Signal::Traces).unwrap(),
            "http://collector:4318/v1/traces"
        );
        let c = cfg("endpoint: https://collector:4318/otlp/").unwrap();
        assert_eq!(
            c.signal_url(Signal::Logs).unwrap(),
            "https://collector:4318/otlp/v1/logs"
        );
    }

    #[test]
    fn per_signal_endpoint_overrides_and_is_used_as_is() {
        let c =
            cfg("endpoint: http://a:4318\nmetrics_endpoint: http://b:9090/api/v1/otlp").unwrap();
        assert_eq!(
            c.signal_url(Signal::Metrics).unwrap(),
            "http://b:9090/api/v1/otlp"
        );
        assert_eq!(
            c.signal_url(Signal::Traces).unwrap(),
            "http://a:4318/v1/traces"
        );
    }

    #[test]
    fn missing_endpoints_are_config_errors_with_go_messages() {
        assert_eq!(
            cfg("compression: gzip").unwrap_err(),
            "at least one endpoint must be specified"
        );
        let c = cfg("traces_endpoint: http://a/v1/traces").unwrap();
        assert_eq!(
            c.signal_url(Signal::Logs).unwrap_err(),
            "either endpoint or logs_endpoint must be specified"
        );
    }

    #[test]
    fn compression_level_is_validated_for_the_configured_codec() {
        cfg("endpoint: http://a:4318\ncompression: deflate\ncompression_params: {level: 9}")
            .unwrap();
        assert_eq!(
            cfg("endpoint: http://a:4318\ncompression: lz4\ncompression_params: {level: 3}")
                .unwrap_err(),
            "compression_params: unsupported compression level 3 for lz4"
        );
        assert!(
            cfg("endpoint: http://a:4318\ncompression: gzip\ncompression_params: {level: 42}")
                .is_err()
        );
    }

    #[test]
    fn defaults_match_the_go_collector() {
        let c = cfg("endpoint: http://a:4318").unwrap();
        assert_eq!(c.compression().unwrap(), HttpCompression::Gzip);
        assert_eq!(c.encoding, Encoding::Proto);
        assert_eq!(c.timeout.0, std::time::Duration::from_secs(30));
    }

    #[test]
    fn go_client_keys_are_accepted() {
        cfg("endpoint: http://a:4318\nencoding: json\ncompression: zstd\nmax_idle_conns: 10\nidle_conn_timeout: 30s\nread_buffer_size: 0\nwrite_buffer_size: 512KiB\nheaders: {x-token: abc}\ndisable_keep_alives: false\nhttp2_ping_timeout: 5s\ncompression_params: {level: 1}")
            .unwrap();
        assert!(cfg("endpoint: http://a:4318\nencoding: xml").is_err());
        assert!(
            cfg("endpoint: http://a:4318\ncompression: br")
                .unwrap_err()
                .contains("unsupported compression")
        );
    }
}
