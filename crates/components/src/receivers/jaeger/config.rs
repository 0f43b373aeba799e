//! `jaeger` receiver config: Go's `jaegerreceiver.Config` — `protocols` with `grpc`
//! (configgrpc.ServerConfig, default `localhost:14250`), `thrift_http` (confighttp.ServerConfig,
//! default `localhost:14268`), `thrift_compact` and `thrift_binary` (UDP, defaults
//! `localhost:6831` and `localhost:6832`, with `queue_size`, `max_packet_size`, `workers`,
//! `socket_buffer_size`), and `remote_sampling`, which Go refuses (its replacement is the
//! `jaegerremotesampling` extension) and so does this.

use std::collections::BTreeMap;

use config::{ByteSize, Duration};
use runtime::ComponentConfig;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::receivers::otlp::config::{
    AuthConfig, CorsConfig, DEFAULT_COMPRESSION_ALGORITHMS, KeepaliveConfig, TlsServerConfig,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub protocols: Protocols,
    /// Parsed only to be refused by validation, whatever it holds.
    pub remote_sampling: Option<IgnoredAny>,
}

/// A protocol is enabled by being present (`thrift_compact:` alone enables it with defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocols {
    #[serde(default, deserialize_with = "config::present_as_default")]
    pub grpc: Option<GrpcConfig>,
    #[serde(default, deserialize_with = "config::present_as_default")]
    pub thrift_http: Option<HttpConfig>,
    #[serde(default, deserialize_with = "config::present_as_default")]
    pub thrift_binary: Option<UdpConfig<BinaryPort>>,
    #[serde(default, deserialize_with = "config::present_as_default")]
    pub thrift_compact: Option<UdpConfig<CompactPort>>,
}

/// `protocols::grpc` (configgrpc.ServerConfig).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    pub endpoint: String,
    /// `tcp` only.
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
    /// Accepted; batches carry no client metadata yet.
    pub include_metadata: bool,
    #[serde(deserialize_with = "config::present_as_default")]
    pub tls: Option<TlsServerConfig>,
    pub auth: Option<AuthConfig>,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            endpoint: "localhost:14250".into(),
            transport: "tcp".into(),
            max_recv_msg_size_mib: 0,
            max_concurrent_streams: 0,
            read_buffer_size: ByteSize(0),
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

/// `protocols::thrift_http` (confighttp.ServerConfig).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub endpoint: String,
    /// Applied to the body after decompression.
    pub max_request_body_size: ByteSize,
    #[serde(deserialize_with = "config::present_as_default")]
    pub cors: Option<CorsConfig>,
    pub response_headers: BTreeMap<String, String>,
    /// Accepted; batches carry no client metadata yet.
    pub include_metadata: bool,
    pub compression_algorithms: Vec<String>,
    pub read_timeout: Duration,
    pub read_header_timeout: Duration,
    pub write_timeout: Duration,
    pub idle_timeout: Duration,
    pub keep_alives_enabled: bool,
    #[serde(deserialize_with = "config::present_as_default")]
    pub tls: Option<TlsServerConfig>,
    pub auth: Option<AuthConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            endpoint: "localhost:14268".into(),
            max_request_body_size: ByteSize(20 * 1024 * 1024),
            cors: None,
            response_headers: BTreeMap::new(),
            include_metadata: false,
            compression_algorithms: DEFAULT_COMPRESSION_ALGORITHMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            read_timeout: Duration::default(),
            read_header_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            keep_alives_enabled: true,
            tls: None,
            auth: None,
        }
    }
}

impl HttpConfig {
    pub fn max_body_size(&self) -> usize {
        match usize::try_from(self.max_request_body_size.0) {
            Ok(0) => 20 * 1024 * 1024,
            Ok(n) => n,
            Err(_) => usize::MAX,
        }
    }
}

/// The default port of a UDP protocol (serde derives no const generics).
pub trait DefaultPort {
    const PORT: u16;
}

#[derive(Debug, Clone, Default)]
pub struct CompactPort;
#[derive(Debug, Clone, Default)]
pub struct BinaryPort;

impl DefaultPort for CompactPort {
    const PORT: u16 = 6831;
}
impl DefaultPort for BinaryPort {
    const PORT: u16 = 6832;
}

/// `protocols::thrift_compact` / `thrift_binary` (Go's `ProtocolUDP`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default, bound = "P: DefaultPort")]
pub struct UdpConfig<P> {
    pub endpoint: String,
    /// Packets waiting for a worker; more are dropped.
    pub queue_size: usize,
    /// Bytes read per packet; longer packets are cut (and then fail to decode).
    pub max_packet_size: usize,
    pub workers: usize,
    /// `SO_RCVBUF` in bytes; 0 keeps the system's.
    pub socket_buffer_size: usize,
    #[serde(skip)]
    _port: std::marker::PhantomData<P>,
}

impl<P: DefaultPort> Default for UdpConfig<P> {
    fn default() -> Self {
        UdpConfig {
            endpoint: format!("localhost:{}", P::PORT),
            queue_size: 1_000,
            max_packet_size: 65_000,
            workers: 10,
            socket_buffer_size: 0,
            _port: std::marker::PhantomData,
        }
    }
}

/// The settings both UDP protocols share, without the default port in the type.
#[derive(Debug, Clone)]
pub struct Udp {
    pub endpoint: String,
    pub queue_size: usize,
    pub max_packet_size: usize,
    pub workers: usize,
    pub socket_buffer_size: usize,
}

impl<P> From<&UdpConfig<P>> for Udp {
    fn from(c: &UdpConfig<P>) -> Udp {
        Udp {
            endpoint: c.endpoint.clone(),
            queue_size: c.queue_size,
            max_packet_size: c.max_packet_size,
            workers: c.workers,
            socket_buffer_size: c.socket_buffer_size,
        }
    }
}

pub const NO_PROTOCOL: &str = "must specify at least one protocol when using the Jaeger receiver";
pub const REMOTE_SAMPLING: &str = "remote_sampling: remote sampling config detected in the Jaeger receiver; use the `jaegerremotesampling` extension instead";

/// Go's `net.SplitHostPort` errors, for `checkPortFromEndpoint`.
fn split_host_port(endpoint: &str) -> Result<(&str, &str), String> {
    let bad = |why: &str| Err(format!("address {endpoint}: {why}"));
    if let Some(rest) = endpoint.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return bad("missing ']' in address");
        };
        return match &rest[end + 1..] {
            "" => bad("missing port in address"),
            p if p.starts_with(':') => Ok((&rest[..end], &p[1..])),
            _ => bad("missing port in address"),
        };
    }
    let Some(i) = endpoint.rfind(':') else {
        return bad("missing port in address");
    };
    if endpoint[..i].contains(':') {
        return bad("too many colons in address");
    }
    Ok((&endpoint[..i], &endpoint[i + 1..]))
}

/// Go's `checkPortFromEndpoint`: `host:port` with a port from 1 to 65535.
pub fn check_port(endpoint: &str) -> Result<(), String> {
    let (_, port) = split_host_port(endpoint)
        .map_err(|e| format!("endpoint is not formatted correctly: {e}"))?;
    let n: i64 = port.parse().map_err(|_| {
        format!("endpoint port is not a number: strconv.ParseInt: parsing {port:?}: invalid syntax")
    })?;
    if !(1..=65535).contains(&n) {
        return Err("port number must be between 1 and 65535".into());
    }
    Ok(())
}

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
        if p.grpc.is_none()
            && p.thrift_http.is_none()
            && p.thrift_binary.is_none()
            && p.thrift_compact.is_none()
        {
            return Err(NO_PROTOCOL.into());
        }
        if let Some(g) = &p.grpc {
            check_port(&g.endpoint)
                .map_err(|e| format!("invalid port number for the gRPC endpoint: {e}"))?;
            if g.transport != "tcp" {
                return Err(format!(
                    "protocols::grpc::transport: {:?} is not supported yet; use \"tcp\"",
                    g.transport
                ));
            }
            check_tls_and_auth("grpc", &g.tls, &g.auth)?;
        }
        if let Some(h) = &p.thrift_http {
            check_port(&h.endpoint)
                .map_err(|e| format!("invalid port number for the Thrift HTTP endpoint: {e}"))?;
            for alg in &h.compression_algorithms {
                if !DEFAULT_COMPRESSION_ALGORITHMS.contains(&alg.as_str()) {
                    return Err(format!(
                        "protocols::thrift_http::compression_algorithms: unsupported compression type {alg:?}"
                    ));
                }
            }
            if h.cors
                .as_ref()
                .is_some_and(|c| !c.allowed_origins.is_empty())
            {
                return Err(
                    "protocols::thrift_http::cors: is not supported yet by the jaeger receiver"
                        .into(),
                );
            }
            for k in h.response_headers.keys() {
                http::HeaderName::try_from(k.as_str()).map_err(|e| {
                    format!(
                        "protocols::thrift_http::response_headers: invalid header name {k:?}: {e}"
                    )
                })?;
            }
            check_tls_and_auth("thrift_http", &h.tls, &h.auth)?;
        }
        if let Some(u) = &p.thrift_binary {
            check_port(&u.endpoint).map_err(|e| {
                format!("invalid port number for the Thrift UDP Binary endpoint: {e}")
            })?;
        }
        if let Some(u) = &p.thrift_compact {
            check_port(&u.endpoint).map_err(|e| {
                format!("invalid port number for the Thrift UDP Compact endpoint: {e}")
            })?;
        }
        for (name, udp) in [
            ("thrift_binary", p.thrift_binary.as_ref().map(Udp::from)),
            ("thrift_compact", p.thrift_compact.as_ref().map(Udp::from)),
        ] {
            // Go's thrift processor refuses to start without workers.
            if udp.as_ref().is_some_and(|u| u.workers == 0) {
                return Err(format!(
                    "protocols::{name}::workers: number of processors must be greater than 0, called with 0"
                ));
            }
            let max = udp.map(|u| u.max_packet_size);
            // A UDP datagram holds at most 65,507 bytes of payload over IPv4 (65,527 over
            // IPv6); Go allocates what it is told, this keeps a typo from costing gigabytes.
            if max.is_some_and(|m| m == 0 || m > 65_535) {
                return Err(format!(
                    "protocols::{name}::max_packet_size: must be between 1 and 65535"
                ));
            }
        }
        if self.remote_sampling.is_some() {
            return Err(REMOTE_SAMPLING.into());
        }
        Ok(())
    }
}
