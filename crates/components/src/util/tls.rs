//! TLS for every server and client, as Go's `configtls`: the client `tls` block
//! ([`TlsClientSettings`], used by `otlp_grpc`'s own connector and by the shared HTTP client)
//! and the server `tls` block ([`TlsServerConfig`], used by every gRPC and HTTP server) with
//! mTLS (`client_ca_file`, optionally re-read when it changes) and certificate rotation
//! (`reload_interval`: the certificate and key files are read again on the first handshake
//! after the interval, as Go's `certReloader`). rustls with the aws-lc-rs provider only.
//!
//! Error texts are Go's (`failed to load TLS config: ...`, `invalid TLS min_version: ...`).

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;

use crate::extensions::file_storage::config::path_error;

/// `tls`: Go `configtls.ClientConfig` keys. `insecure: false` (the default) means TLS for gRPC.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsClientSettings {
    /// gRPC only: plaintext connection.
    pub insecure: bool,
    /// Do not verify the server's certificate chain and name.
    pub insecure_skip_verify: bool,
    pub ca_file: Option<String>,
    pub ca_pem: Option<String>,
    pub include_system_ca_certs_pool: bool,
    pub cert_file: Option<String>,
    pub cert_pem: Option<String>,
    pub key_file: Option<String>,
    pub key_pem: Option<String>,
    pub server_name_override: Option<String>,
    /// `"1.2"` (default) or `"1.3"`; rustls has no TLS 1.0/1.1, so those mean 1.2.
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    /// The client certificate and key files are read again after this long.
    pub reload_interval: Option<config::Duration>,
    /// Go's names; they restrict the TLS 1.2 suites (TLS 1.3 suites are always on, as in Go).
    pub cipher_suites: Vec<String>,
    pub curve_preferences: Vec<String>,
}

fn non_empty(o: &Option<String>) -> Option<&str> {
    o.as_deref().filter(|s| !s.is_empty())
}

impl TlsClientSettings {
    fn common(&self) -> Common<'_> {
        Common {
            ca_file: non_empty(&self.ca_file),
            ca_pem: non_empty(&self.ca_pem),
            cert_file: non_empty(&self.cert_file),
            cert_pem: non_empty(&self.cert_pem),
            key_file: non_empty(&self.key_file),
            key_pem: non_empty(&self.key_pem),
            min_version: non_empty(&self.min_version),
            max_version: non_empty(&self.max_version),
            cipher_suites: &self.cipher_suites,
            curve_preferences: &self.curve_preferences,
            reload_interval: self.reload_interval.map(|d| d.0).unwrap_or_default(),
        }
    }

    /// The Go collector's checks, done at config load (`tls: ` + Go's text).
    pub fn validate(&self) -> Result<(), String> {
        self.common().validate().map_err(|e| format!("tls: {e}"))
    }

    /// A rustls client config with these settings, offering `alpn` (e.g. `h2`).
    pub fn client_config(&self, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, String> {
        self.build_client_config(alpn)
            .map_err(|e| format!("tls: failed to load TLS config: {e}"))
    }

    fn build_client_config(&self, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, String> {
        let common = self.common();
        let provider = common.provider()?;
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&common.versions()?)
            .map_err(|e| e.to_string())?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(
                    provider.signature_verification_algorithms,
                )))
        } else {
            let roots = self.roots(&common)?;
            match non_empty(&self.server_name_override) {
                None => builder.with_root_certificates(roots),
                Some(name) => {
                    // HTTP clients (reqwest) take the name to check from the URL; the
                    // override is applied by the verifier instead (SNI stays the URL's host).
                    let name = ServerName::try_from(name.to_string())
                        .map_err(|e| format!("invalid server_name_override {name:?}: {e}"))?;
                    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                        Arc::new(roots),
                        provider.clone(),
                    )
                    .build()
                    .map_err(|e| e.to_string())?;
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(OverrideServerName {
                            inner,
                            name,
                        }))
                }
            }
        };
        let mut cfg = if common.has_cert() || common.has_key() {
            let reloader = CertReloader::new(&common, provider)
                .map_err(|e| format!("failed to load TLS cert and key: {e}"))?;
            builder.with_client_cert_resolver(Arc::new(reloader))
        } else {
            builder.with_no_client_auth()
        };
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }

    /// The name to verify the server certificate against (and send as SNI).
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, String> {
        let name = non_empty(&self.server_name_override).unwrap_or(host);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(name.to_string())
            .map_err(|e| format!("tls: invalid server name {name:?}: {e}"))
    }

    /// Go: no CA configured means the system pool; a CA replaces it unless
    /// `include_system_ca_certs_pool`.
    fn roots(&self, common: &Common<'_>) -> Result<rustls::RootCertStore, String> {
        let mut roots = rustls::RootCertStore::empty();
        let custom = common.ca_file.is_some() || common.ca_pem.is_some();
        if !custom || self.include_system_ca_certs_pool {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot parse is skipped, as Go skips it.
                let _ = roots.add(cert);
            }
        }
        if let Some(path) = common.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                format!(
                    "failed to load CA CertPool File: failed to load cert {path}: {}",
                    path_error("open", Path::new(path), &e)
                )
            })?;
            add_pem_certs(&mut roots, &pem)
                .map_err(|e| format!("failed to load CA CertPool File: {e}"))?;
        } else if let Some(pem) = common.ca_pem {
            add_pem_certs(&mut roots, pem.as_bytes())
                .map_err(|e| format!("failed to load CA CertPool PEM: {e}"))?;
        }
        Ok(roots)
    }
}

/// `tls` of a server (Go `configtls.ServerConfig`). Present means TLS: Go refuses a `tls`
/// block without a certificate and key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsServerConfig {
    /// Loaded and checked as Go does; a server does not use it.
    pub ca_file: String,
    pub ca_pem: String,
    pub include_system_ca_certs_pool: bool,
    pub cert_file: String,
    pub cert_pem: String,
    pub key_file: String,
    pub key_pem: String,
    pub min_version: String,
    pub max_version: String,
    pub cipher_suites: Vec<String>,
    pub curve_preferences: Vec<String>,
    pub reload_interval: config::Duration,
    /// Clients must present a certificate signed by a CA in this file (mTLS).
    pub client_ca_file: String,
    /// Read `client_ca_file` again when it changes.
    pub client_ca_file_reload: bool,
}

fn set(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl TlsServerConfig {
    pub fn has_certificate(&self) -> bool {
        !(self.cert_file.is_empty()
            && self.cert_pem.is_empty()
            && self.key_file.is_empty()
            && self.key_pem.is_empty())
    }

    fn common(&self) -> Common<'_> {
        Common {
            ca_file: set(&self.ca_file),
            ca_pem: set(&self.ca_pem),
            cert_file: set(&self.cert_file),
            cert_pem: set(&self.cert_pem),
            key_file: set(&self.key_file),
            key_pem: set(&self.key_pem),
            min_version: set(&self.min_version),
            max_version: set(&self.max_version),
            cipher_suites: &self.cipher_suites,
            curve_preferences: &self.curve_preferences,
            reload_interval: self.reload_interval.0,
        }
    }

    /// Go's `ServerConfig.Validate` and `Config.Validate`, in its words (no key prefix).
    pub fn validate(&self) -> Result<(), String> {
        let c = self.common();
        c.validate()?;
        if !c.has_cert() && !c.has_key() {
            return Err(
                "TLS configuration must include both certificate and key for server connections"
                    .into(),
            );
        }
        Ok(())
    }

    /// The rustls server config, offering `alpn` (`h2` for gRPC, `http/1.1` for HTTP).
    /// Files are read here; errors are Go's `LoadTLSConfig` texts.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<Arc<rustls::ServerConfig>, String> {
        let c = self.common();
        let provider = c
            .provider()
            .map_err(|e| format!("failed to load TLS config: {e}"))?;
        // Go loads the CA pool of a server too (and fails on a bad file), then ignores it.
        if let Some(path) = c.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                format!(
                    "failed to load TLS config: failed to load CA CertPool File: failed to load cert {path}: {}",
                    path_error("open", Path::new(path), &e)
                )
            })?;
            add_pem_certs(&mut rustls::RootCertStore::empty(), &pem).map_err(|e| {
                format!("failed to load TLS config: failed to load CA CertPool File: {e}")
            })?;
        }
        let reloader = CertReloader::new(&c, provider.clone()).map_err(|e| {
            format!("failed to load TLS config: failed to load TLS cert and key: {e}")
        })?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&c.versions()?)
            .map_err(|e| format!("failed to load TLS config: {e}"))?;
        let builder = match set(&self.client_ca_file) {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let verifier = ClientCaVerifier::new(path, provider)?;
                if self.client_ca_file_reload {
                    builder.with_client_cert_verifier(Arc::new(verifier))
                } else {
                    builder.with_client_cert_verifier(verifier.current())
                }
            }
        };
        let mut cfg = builder.with_cert_resolver(Arc::new(reloader));
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(cfg))
    }

    pub fn acceptor(&self, alpn: &[&[u8]]) -> Result<ServerTls, String> {
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(self.server_config(alpn)?),
            failed: None,
        })
    }
}

/// A server's TLS acceptor, with the counter its refused handshakes (no or untrusted client
/// certificate, expired certificate, protocol mismatch, timeout) are counted in, when the
/// component has one.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
    failed: Option<runtime::telemetry::Counter>,
}

impl ServerTls {
    /// Counts failed handshakes in `counter`.
    pub fn counted(mut self, counter: runtime::telemetry::Counter) -> Self {
        self.failed = Some(counter);
        self
    }

    /// The handshake on `stream`, bounded by [`HANDSHAKE_TIMEOUT`]; a failure is logged at
    /// debug (as Go's server does) and counted.
    pub async fn accept(
        &self,
        stream: TcpStream,
        what: &str,
        peer: std::net::SocketAddr,
    ) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        let failure =
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return Some(tls),
                Ok(Err(e)) => format!("{what} TLS handshake failed: {e}"),
                Err(_) => format!("{what} TLS handshake timed out"),
            };
        tracing::debug!(%peer, "{failure}");
        if let Some(c) = &self.failed {
            c.add(1);
        }
        None
    }
}

/// The ALPN protocols of a gRPC server.
pub const ALPN_H2: &[&[u8]] = &[b"h2"];
/// The ALPN protocols of an HTTP/1.1 server.
pub const ALPN_HTTP1: &[&[u8]] = &[b"http/1.1"];

/// The keys client and server share (Go `configtls.Config`), empty strings as unset.
struct Common<'a> {
    ca_file: Option<&'a str>,
    ca_pem: Option<&'a str>,
    cert_file: Option<&'a str>,
    cert_pem: Option<&'a str>,
    key_file: Option<&'a str>,
    key_pem: Option<&'a str>,
    min_version: Option<&'a str>,
    max_version: Option<&'a str>,
    cipher_suites: &'a [String],
    curve_preferences: &'a [String],
    reload_interval: Duration,
}

/// Go's `tlsVersions`; rustls has no TLS 1.0/1.1, so those allow 1.2 and up.
fn convert_version(v: Option<&str>, default: u8) -> Result<u8, String> {
    match v {
        None => Ok(default),
        Some("1.0" | "1.1" | "1.2") => Ok(2),
        Some("1.3") => Ok(3),
        Some(other) => Err(format!("unsupported TLS version: {other:?}")),
    }
}

/// Every name in Go's `tls.CipherSuites()`: a name Go knows but rustls does not implement
/// (CBC and RSA key exchange) is accepted and has no effect.
const GO_CIPHER_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
];

/// Go's `tlsCurveTypes` names and the rustls groups they select.
const GO_CURVES: &[&str] = &["P256", "P384", "P521", "X25519", "X25519MLKEM768"];

impl Common<'_> {
    fn has_cert(&self) -> bool {
        self.cert_file.is_some() || self.cert_pem.is_some()
    }

    fn has_key(&self) -> bool {
        self.key_file.is_some() || self.key_pem.is_some()
    }

    /// Go's `Config.Validate`.
    fn validate(&self) -> Result<(), String> {
        if self.ca_file.is_some() && self.ca_pem.is_some() {
            return Err("provide either a CA file or the PEM-encoded string, but not both".into());
        }
        if self.cert_file.is_some() && self.cert_pem.is_some() {
            return Err("provide either certificate file or PEM, but not both".into());
        }
        if self.key_file.is_some() && self.key_pem.is_some() {
            return Err("provide either key file or PEM, but not both".into());
        }
        if self.has_cert() != self.has_key() {
            return Err("TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)".into());
        }
        self.version_range()?;
        Ok(())
    }

    fn version_range(&self) -> Result<(u8, u8), String> {
        let min = convert_version(self.min_version, 2)
            .map_err(|e| format!("invalid TLS min_version: {e}"))?;
        let max = convert_version(self.max_version, 3)
            .map_err(|e| format!("invalid TLS max_version: {e}"))?;
        if self.max_version.is_some() && max < min {
            return Err(
                "invalid TLS configuration: min_version cannot be greater than max_version".into(),
            );
        }
        Ok((min, max))
    }

    fn versions(&self) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
        let (min, max) = self.version_range()?;
        Ok([(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect())
    }

    /// aws-lc-rs with `cipher_suites` and `curve_preferences` applied.
    fn provider(&self) -> Result<Arc<CryptoProvider>, String> {
        let mut provider = rustls::crypto::aws_lc_rs::default_provider();
        if !self.cipher_suites.is_empty() {
            let unknown: Vec<String> = self
                .cipher_suites
                .iter()
                .filter(|s| !GO_CIPHER_SUITES.contains(&s.as_str()))
                .map(|s| format!("invalid TLS cipher suite: {s:?}"))
                .collect();
            if !unknown.is_empty() {
                return Err(unknown.join("\n"));
            }
            provider.cipher_suites.retain(|cs| {
                let name = format!("{:?}", cs.suite());
                // TLS 1.3 suites are not configurable in Go either.
                name.starts_with("TLS13_") || self.cipher_suites.contains(&name)
            });
        }
        if !self.curve_preferences.is_empty() {
            let mut groups = Vec::new();
            for curve in self.curve_preferences {
                use rustls::crypto::aws_lc_rs::kx_group;
                let group: Option<&'static dyn rustls::crypto::SupportedKxGroup> =
                    match curve.as_str() {
                        "P256" => Some(kx_group::SECP256R1),
                        "P384" => Some(kx_group::SECP384R1),
                        "X25519" => Some(kx_group::X25519),
                        "X25519MLKEM768" => Some(kx_group::X25519MLKEM768),
                        // P-521 has no rustls key exchange; the other groups stay usable.
                        "P521" => None,
                        _ => {
                            return Err(format!(
                                "invalid curve type: {curve}. Expected values are {GO_CURVES:?}"
                            ));
                        }
                    };
                groups.extend(group);
            }
            if !groups.is_empty() {
                provider.kx_groups = groups;
            }
        }
        Ok(Arc::new(provider))
    }
}

/// Appends the certificates of a PEM bundle; Go's `AppendCertsFromPEM` fails on none.
fn add_pem_certs(roots: &mut rustls::RootCertStore, pem: &[u8]) -> Result<(), String> {
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem).flatten() {
        if roots.add(cert).is_ok() {
            added += 1;
        }
    }
    if added == 0 {
        return Err("failed to parse cert".into());
    }
    Ok(())
}

/// Where a certificate and key come from: files (re-readable) or inline PEM.
#[derive(Clone)]
struct KeySource {
    cert_file: Option<String>,
    cert_pem: Option<String>,
    key_file: Option<String>,
    key_pem: Option<String>,
}

impl KeySource {
    fn is_files(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some()
    }

    /// Go's `loadCertificate` + `tls.X509KeyPair`, in its words.
    fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
        let read = |file: &Option<String>, pem: &Option<String>| -> Result<Vec<u8>, String> {
            match (file, pem) {
                (Some(path), _) => {
                    std::fs::read(path).map_err(|e| path_error("open", Path::new(path), &e))
                }
                (None, Some(pem)) => Ok(pem.as_bytes().to_vec()),
                (None, None) => Ok(Vec::new()),
            }
        };
        let cert_pem = read(&self.cert_file, &self.cert_pem)?;
        let key_pem = read(&self.key_file, &self.key_pem)?;
        let bad = |what: &str| format!("failed to load TLS cert and key PEMs: tls: {what}");
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|_| bad("failed to find any PEM data in certificate input"))?;
        if certs.is_empty() {
            return Err(bad("failed to find any PEM data in certificate input"));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|_| bad("failed to find any PEM data in key input"))?;
        CertifiedKey::from_der(certs, key, provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => bad("private key does not match public key"),
            other => bad(&format!("failed to parse private key: {other}")),
        })
    }
}

/// Go's `certReloader`: the certificate in use, read again from its files on the first
/// handshake after `reload_interval` (never when the interval is zero or the PEM is inline).
/// A failed reload keeps serving the previous certificate (Go fails the handshake; a file
/// caught half-written during rotation should not take the server down) and is logged.
pub struct CertReloader {
    source: KeySource,
    interval: Duration,
    provider: Arc<CryptoProvider>,
    state: RwLock<(Instant, Arc<CertifiedKey>)>,
}

impl std::fmt::Debug for CertReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertReloader")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl CertReloader {
    fn new(c: &Common<'_>, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        if c.has_cert() != c.has_key() {
            return Err("for auth via TLS, provide both certificate and key, or neither".into());
        }
        let source = KeySource {
            cert_file: c.cert_file.map(str::to_string),
            cert_pem: c.cert_pem.map(str::to_string),
            key_file: c.key_file.map(str::to_string),
            key_pem: c.key_pem.map(str::to_string),
        };
        let key = source.load(&provider)?;
        Ok(CertReloader {
            source,
            interval: c.reload_interval,
            provider,
            state: RwLock::new((Instant::now() + c.reload_interval, Arc::new(key))),
        })
    }

    fn current(&self) -> Option<Arc<CertifiedKey>> {
        let now = Instant::now();
        {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            if self.interval.is_zero() || !self.source.is_files() || now < state.0 {
                return Some(state.1.clone());
            }
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        // Another handshake may have reloaded while this one waited for the lock.
        if now >= state.0 {
            match self.source.load(&self.provider) {
                Ok(key) => state.1 = Arc::new(key),
                Err(e) => tracing::warn!(
                    error = %e,
                    "failed to reload the TLS certificate and key; still using the previous ones"
                ),
            }
            state.0 = now + self.interval;
        }
        Some(state.1.clone())
    }
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

impl ResolvesClientCert for CertReloader {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.current()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// `client_ca_file`: clients must present a certificate that chains to it (Go's
/// `RequireAndVerifyClientCert`). With `client_ca_file_reload` the file's modification time
/// is checked on each handshake and the CAs read again when it changed (Go watches it with
/// fsnotify); a file that fails to load keeps the previous CAs.
struct ClientCaVerifier {
    path: String,
    provider: Arc<CryptoProvider>,
    state: RwLock<(Option<SystemTime>, Arc<dyn ClientCertVerifier>)>,
}

impl std::fmt::Debug for ClientCaVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCaVerifier")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn modified(path: &str) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl ClientCaVerifier {
    fn new(path: &str, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let mtime = modified(path);
        let verifier = Self::load(path, &provider)?;
        Ok(ClientCaVerifier {
            path: path.to_string(),
            provider,
            state: RwLock::new((mtime, verifier)),
        })
    }

    /// Go's `loadClientCAFile` texts.
    fn load(
        path: &str,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Arc<dyn ClientCertVerifier>, String> {
        let pem = std::fs::read(path).map_err(|e| {
            format!(
                "failed to load CA {path}: {}",
                path_error("open", Path::new(path), &e)
            )
        })?;
        let mut roots = rustls::RootCertStore::empty();
        add_pem_certs(&mut roots, &pem).map_err(|_| format!("failed to parse CA {path}"))?;
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("failed to parse CA {path}: {e}"))
    }

    fn current(&self) -> Arc<dyn ClientCertVerifier> {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    fn refreshed(&self) -> Arc<dyn ClientCertVerifier> {
        let mtime = modified(&self.path);
        {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            if state.0 == mtime {
                return state.1.clone();
            }
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if state.0 != mtime {
            match Self::load(&self.path, &self.provider) {
                Ok(v) => {
                    tracing::info!(file = %self.path, "reloaded the client CA file");
                    state.1 = v;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "failed to reload the client CA file; still using the previous CAs")
                }
            }
            state.0 = mtime;
        }
        state.1.clone()
    }
}

impl ClientCertVerifier for ClientCaVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // The hints would have to outlive a reload; without them a client sends its
        // certificate whatever its issuer, and the verification below decides.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.refreshed()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How long a client may take to finish the TLS handshake before its connection is dropped
/// (so a client that opens a connection and says nothing does not hold a task forever).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A server-side TLS connection that tonic can serve: its connect info is the TCP one, so
/// handlers see the same peer address with or without TLS.
pub struct TlsConn(pub tokio_rustls::server::TlsStream<TcpStream>);

impl Connected for TlsConn {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.get_ref().0.connect_info()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The TLS connections accepted on `listener` until `stop`, for tonic's
/// `serve_with_incoming*`. Handshakes run concurrently (one slow client does not hold up
/// the others); a failed handshake is logged at debug and the connection dropped, as Go's
/// server does.
pub fn incoming(
    what: &'static str,
    listener: TcpListener,
    acceptor: ServerTls,
    stop: CancellationToken,
) -> impl futures::Stream<Item = Result<TlsConn, io::Error>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<TlsConn>(64);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            if let Some(tls) = acceptor.accept(stream, what, peer).await {
                                let _ = tx.send(TlsConn(tls)).await;
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "{what} accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = stop.cancelled() => break,
                _ = tx.closed() => break,
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|conn| (Ok(conn), rx))
    })
}

/// `server_name_override`: the server's certificate is checked against this name, whatever
/// name the connection was opened with.
#[derive(Debug)]
struct OverrideServerName {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for OverrideServerName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure_skip_verify: true`: any certificate and name are accepted, but the handshake
/// signatures are still checked (as Go's `InsecureSkipVerify`).
#[derive(Debug)]
struct AcceptAnyServerCert(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
