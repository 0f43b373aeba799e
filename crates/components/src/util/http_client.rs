//! The HTTP client side of Go's `confighttp.ClientConfig`, shared by every exporter that
//! POSTs over HTTP (`otlp_http`, `loki`, `zipkin`, `prometheus_remote_write`): building the
//! reqwest client from the config keys (timeout, TLS, proxy, idle connections, HTTP/2
//! pings), the configured `headers`, request body compression by name, and reading an answer
//! (`Retry-After`, a bounded body, error text with its causes). The client keys themselves
//! are one [`ClientConfig`], decoded beside each exporter's own keys as Go squashes
//! `confighttp.ClientConfig` into them ([`parse_config`]); the exporter supplies its default
//! `timeout` and `compression` ([`WithClient`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use pdata::ClientInfo;
use runtime::ComponentConfig;
use runtime::auth::ClientAuthenticator;
use runtime::factory::{AnyConfig, validation_error};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::compression::{Codec, CompressionParams};
use crate::util::tls::TlsClientSettings;

/// The client keys of `confighttp.ClientConfig` that shape the connection, borrowed from an
/// exporter's config.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings<'a> {
    /// The HTTP client's timeout for a whole request; zero means none.
    pub timeout: Duration,
    pub tls: &'a TlsClientSettings,
    pub proxy_url: &'a str,
    pub max_idle_conns: Option<usize>,
    pub max_idle_conns_per_host: Option<usize>,
    pub idle_conn_timeout: Option<Duration>,
    pub disable_keep_alives: bool,
    pub http2_read_idle_timeout: Option<Duration>,
    pub http2_ping_timeout: Option<Duration>,
}

/// The client authenticator of a client's `auth` setting: resolved among the extensions
/// at start, then asked for headers on every request (Go's auth round tripper).
#[derive(Default)]
pub struct ClientAuth {
    id: Option<String>,
    grpc: bool,
    resolved: std::sync::RwLock<Option<Arc<dyn ClientAuthenticator>>>,
}

impl ClientAuth {
    pub fn new(auth: Option<&runtime::auth::AuthConfig>) -> ClientAuth {
        ClientAuth {
            id: auth.map(|a| a.authenticator.clone()),
            grpc: false,
            resolved: Default::default(),
        }
    }

    /// The same for a gRPC client (Go's error for a wrong-kind extension differs).
    pub fn new_grpc(auth: Option<&runtime::auth::AuthConfig>) -> ClientAuth {
        ClientAuth {
            grpc: true,
            ..ClientAuth::new(auth)
        }
    }

    /// Finds the authenticator; an unknown id fails the exporter's start with Go's message.
    pub fn start(&self, host: &runtime::Host) -> Result<(), String> {
        let Some(id) = &self.id else {
            return Ok(());
        };
        let found = runtime::auth::client_authenticator(host, id, self.grpc)?;
        *self.resolved.write().unwrap_or_else(|p| p.into_inner()) = Some(found);
        Ok(())
    }

    pub fn is_configured(&self) -> bool {
        self.id.is_some()
    }

    /// Sets the authenticator's headers on `headers`; `client` is the client info of the batch
    /// being sent. A failure is permanent for that batch, as Go's round tripper error.
    pub fn apply(
        &self,
        headers: &mut HeaderMap,
        client: Option<&ClientInfo>,
    ) -> Result<(), runtime::ConsumeError> {
        let auth = self
            .resolved
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match auth {
            Some(a) => a.apply(headers, client).map_err(|e| {
                runtime::ConsumeError::permanent(format!("failed to authenticate the request: {e}"))
            }),
            None => Ok(()),
        }
    }

    /// The authenticator's headers, then the configured `headers` over them (a plain clone
    /// of `configured` without `auth`): in Go the auth round tripper runs outside the one
    /// setting the configured headers, so those win.
    pub fn headers(
        &self,
        configured: &HeaderMap,
        client: Option<&ClientInfo>,
    ) -> Result<HeaderMap, runtime::ConsumeError> {
        if self.id.is_none() {
            return Ok(configured.clone());
        }
        let mut headers = HeaderMap::new();
        self.apply(&mut headers, client)?;
        for (k, v) in configured {
            headers.insert(k.clone(), v.clone());
        }
        Ok(headers)
    }
}

/// Builds the client for requests to `url` (TLS is configured only for `https://`).
pub fn build_client(s: &ClientSettings<'_>, url: &str) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .user_agent(format!("ferrotel/{}", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true);
    if !s.timeout.is_zero() {
        b = b.timeout(s.timeout);
    }
    if url.starts_with("https://") {
        b = b.tls_backend_preconfigured(s.tls.client_config(&[b"h2", b"http/1.1"])?);
    }
    if !s.proxy_url.is_empty() {
        b = b.proxy(reqwest::Proxy::all(s.proxy_url).map_err(|e| format!("proxy_url: {e}"))?);
    }
    if s.disable_keep_alives {
        b = b.pool_max_idle_per_host(0);
    } else if let Some(n) = s.max_idle_conns_per_host.or(s.max_idle_conns) {
        b = b.pool_max_idle_per_host(n);
    }
    if let Some(t) = s.idle_conn_timeout {
        b = b.pool_idle_timeout(if t.is_zero() { None } else { Some(t) });
    }
    if let Some(t) = s.http2_read_idle_timeout.filter(|t| !t.is_zero()) {
        b = b.http2_keep_alive_interval(t);
    }
    if let Some(t) = s.http2_ping_timeout.filter(|t| !t.is_zero()) {
        b = b.http2_keep_alive_timeout(t);
    }
    b.build()
        .map_err(|e| format!("failed to build the HTTP client: {e}"))
}

/// The configured `headers` as a header map; a bad name or value is a config error.
pub fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (k, v) in headers {
        let name = HeaderName::try_from(k.as_str())
            .map_err(|_| format!("headers: invalid header name {k:?}"))?;
        let value = HeaderValue::try_from(v.as_str())
            .map_err(|_| format!("headers: invalid value for header {k:?}"))?;
        map.insert(name, value);
    }
    Ok(map)
}

/// The keys of Go's `confighttp.ClientConfig`, as every HTTP exporter accepts them at its top
/// level. `timeout` and `compression` default per exporter ([`WithClient`]).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct ClientConfig {
    pub endpoint: String,
    pub compression: String,
    pub compression_params: CompressionParams,
    pub headers: BTreeMap<String, String>,
    /// The HTTP client's timeout for a whole request; zero means none.
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
    /// `auth::authenticator`: a client authenticator extension, resolved at start.
    pub auth: Option<runtime::auth::AuthConfig>,
    pub middlewares: Vec<serde_json::Value>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            endpoint: String::new(),
            compression: String::new(),
            compression_params: CompressionParams::default(),
            headers: BTreeMap::new(),
            timeout: config::Duration(Duration::ZERO),
            tls: TlsClientSettings::default(),
            proxy_url: String::new(),
            read_buffer_size: config::ByteSize(0),
            // What the exporters' createDefaultConfig set.
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
        }
    }
}

impl ClientConfig {
    pub fn compression(&self) -> Result<HttpCompression, String> {
        HttpCompression::parse(&self.compression)
    }

    /// The defaults with an exporter's own `timeout` and `compression`.
    pub fn with_defaults(timeout: Duration, compression: &str) -> ClientConfig {
        ClientConfig {
            timeout: config::Duration(timeout),
            compression: compression.to_string(),
            ..ClientConfig::default()
        }
    }

    /// The connection keys, for [`build_client`].
    pub fn settings(&self) -> ClientSettings<'_> {
        ClientSettings {
            timeout: self.timeout.0,
            tls: &self.tls,
            proxy_url: &self.proxy_url,
            max_idle_conns: self.max_idle_conns,
            max_idle_conns_per_host: self.max_idle_conns_per_host,
            idle_conn_timeout: self.idle_conn_timeout.map(|d| d.0),
            disable_keep_alives: self.disable_keep_alives,
            http2_read_idle_timeout: self.http2_read_idle_timeout.map(|d| d.0),
            http2_ping_timeout: self.http2_ping_timeout.map(|d| d.0),
        }
    }

    /// Config-load checks of the client keys (the endpoint is the exporter's to check: its
    /// rules and messages differ): compression level, what is not built yet, proxy, headers,
    /// TLS.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(codec) = self.compression()?.codec() {
            codec.validate_level(self.compression_params.level)?;
        }
        if !self.middlewares.is_empty() {
            return Err("middlewares: are not supported yet".into());
        }
        validate(&self.proxy_url, &self.headers, &self.tls)
    }
}

/// An exporter config that squashes a [`ClientConfig`] into its own keys.
pub trait WithClient: ComponentConfig + DeserializeOwned {
    /// `timeout` when the config leaves it out (the exporter's createDefaultConfig).
    const DEFAULT_TIMEOUT: Duration;
    /// `compression` when the config leaves it out.
    const DEFAULT_COMPRESSION: &'static str = "";
    fn client_mut(&mut self) -> &mut ClientConfig;
}

/// Decodes an exporter config and its client keys from one map (unknown keys of either are
/// refused), then validates it: the `parse_config` of every HTTP exporter's factory.
pub fn decode<C: WithClient>(value: &config::Value, path: &str) -> Result<C, config::ConfigError> {
    let (mut client, mut cfg): (ClientConfig, C) = config::decode_parts(value, path)?;
    let given = |k: &str| matches!(value.resolved(), config::Value::Map(m) if m.contains_key(k));
    if !given("timeout") {
        client.timeout = config::Duration(C::DEFAULT_TIMEOUT);
    }
    if !given("compression") {
        client.compression = C::DEFAULT_COMPRESSION.to_string();
    }
    *cfg.client_mut() = client;
    Ok(cfg)
}

/// [`decode`] and validate, boxed for the factory.
pub fn parse_config<C: WithClient>(
    value: &config::Value,
    path: &str,
) -> Result<AnyConfig, config::ConfigError> {
    let cfg: C = decode(value, path)?;
    cfg.validate().map_err(|m| validation_error(path, &m))?;
    Ok(Box::new(cfg))
}

/// Config-load checks of the client keys: `proxy_url` parses, `headers` are valid HTTP.
pub fn validate(
    proxy_url: &str,
    headers: &BTreeMap<String, String>,
    tls: &TlsClientSettings,
) -> Result<(), String> {
    tls.validate()?;
    if !proxy_url.is_empty() {
        reqwest::Proxy::all(proxy_url).map_err(|e| format!("proxy_url: {e}"))?;
    }
    header_map(headers).map(drop)
}

/// An absolute `http://` or `https://` URL with a host.
pub fn check_url(url: &str) -> Result<(), String> {
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

/// Request body compression (`compression`), named as its `Content-Encoding`.
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
    /// confighttp's names; `""` and `none` send the body as it is.
    pub fn parse(name: &str) -> Result<HttpCompression, String> {
        Ok(match name {
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

/// `Retry-After`: delay seconds, or an HTTP-date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The `Retry-After` of a response, if it has a usable one.
pub fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

/// Reads at most `limit` bytes of a response body. A body that breaks off is returned as far
/// as it was read, with the error.
pub async fn read_body(
    resp: &mut reqwest::Response,
    limit: usize,
) -> (Vec<u8>, Option<reqwest::Error>) {
    let mut body = Vec::new();
    while body.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return (body, Some(e)),
        }
    }
    body.truncate(limit);
    (body, None)
}

/// An error with its causes (`error sending request: ... connection refused`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}

/// A request body made of several byte chunks, sent one after the other with the total as
/// `Content-Length` (hyper writes the chunks with one vectored write): a body assembled from
/// parts already in memory (merged Loki pushes) goes out without being copied into one.
#[derive(Clone, Debug, Default)]
pub struct Chunks(Vec<Bytes>);

impl Chunks {
    /// The chunks, in order; empty ones are left out.
    pub fn new(chunks: impl IntoIterator<Item = Bytes>) -> Chunks {
        Chunks(chunks.into_iter().filter(|c| !c.is_empty()).collect())
    }

    pub fn chunks(&self) -> &[Bytes] {
        &self.0
    }

    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The body in one piece (copied when there are several chunks).
    pub fn contiguous(&self) -> Bytes {
        match &self.0[..] {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => Bytes::from(many.concat()),
        }
    }

    /// A request body of these chunks (the chunks are shared, not copied).
    pub fn body(&self) -> reqwest::Body {
        match &self.0[..] {
            [] => reqwest::Body::from(Bytes::new()),
            [one] => reqwest::Body::from(one.clone()),
            _ => reqwest::Body::wrap(ChunksBody {
                remaining: self.len() as u64,
                chunks: self.0.clone().into_iter(),
            }),
        }
    }
}

impl From<Bytes> for Chunks {
    fn from(b: Bytes) -> Chunks {
        Chunks::new([b])
    }
}

/// [`Chunks`] as an `http_body::Body` of exact size.
struct ChunksBody {
    chunks: std::vec::IntoIter<Bytes>,
    remaining: u64,
}

impl http_body::Body for ChunksBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        std::task::Poll::Ready(this.chunks.next().map(|c| {
            this.remaining -= c.len() as u64;
            Ok(http_body::Frame::data(c))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        let later = SystemTime::now() + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn compression_names_are_confighttps() {
        assert_eq!(HttpCompression::parse("").unwrap(), HttpCompression::None);
        assert_eq!(
            HttpCompression::parse("deflate").unwrap().codec(),
            Some(Codec::Zlib)
        );
        assert_eq!(
            HttpCompression::parse("br").unwrap_err(),
            "unsupported compression type \"br\""
        );
    }

    #[test]
    fn headers_must_be_valid_http() {
        let mut h = BTreeMap::new();
        h.insert("X-Ok".to_string(), "v".to_string());
        assert_eq!(header_map(&h).unwrap()["x-ok"], "v");
        h.insert("bad name".to_string(), "v".to_string());
        assert_eq!(
            header_map(&h).unwrap_err(),
            "headers: invalid header name \"bad name\""
        );
    }

    #[test]
    fn endpoints_must_be_absolute_http_urls() {
        check_url("http://loki:3100/loki/api/v1/push").unwrap();
        assert!(check_url("loki:3100").is_err());
        assert!(check_url("ftp://loki/x").is_err());
    }
}
