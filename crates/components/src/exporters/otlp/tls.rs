//! The `tls` block of client configs (Go `configtls.ClientConfig`) and the rustls client
//! config built from it. Shared by `otlp_grpc` (its own connector) and `otlp_http` (reqwest's
//! preconfigured TLS), so both read certificates and apply options the same way.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;

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
    /// Accepted for compatibility; certificates are read once at start.
    pub reload_interval: Option<config::Duration>,
    /// Accepted for compatibility; rustls picks from its safe default suites.
    pub cipher_suites: Vec<String>,
    pub curve_preferences: Vec<String>,
}

fn parse_version(v: &Option<String>, key: &str) -> Result<Option<u8>, String> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some("1.0" | "1.1" | "1.2") => Ok(Some(2)),
        Some("1.3") => Ok(Some(3)),
        Some(other) => Err(format!(
            "tls: invalid TLS {key}: unsupported TLS version: {other:?}"
        )),
    }
}

impl TlsClientSettings {
    /// The Go collector's checks, done at config load.
    pub fn validate(&self) -> Result<(), String> {
        let cert = self.cert_file.is_some() || self.cert_pem.is_some();
        let key = self.key_file.is_some() || self.key_pem.is_some();
        if cert != key {
            return Err(
                "tls: for auth via TLS, provide both certificate and key, or neither".into(),
            );
        }
        if self.ca_file.is_some() && self.ca_pem.is_some() {
            return Err(
                "tls: provide either a CA file or the PEM-encoded string, but not both".into(),
            );
        }
        let min = parse_version(&self.min_version, "min_version")?;
        let max = parse_version(&self.max_version, "max_version")?;
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(
                "tls: invalid TLS configuration: min_version cannot be greater than max_version"
                    .into(),
            );
        }
        Ok(())
    }

    /// A rustls client config with these settings, offering `alpn` (e.g. `h2`).
    pub fn client_config(&self, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let min = parse_version(&self.min_version, "min_version")?.unwrap_or(2);
        let max = parse_version(&self.max_version, "max_version")?.unwrap_or(3);
        let versions: Vec<&'static rustls::SupportedProtocolVersion> =
            [(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
                .into_iter()
                .filter(|(v, _)| (min..=max).contains(v))
                .map(|(_, p)| p)
                .collect();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| format!("tls: {e}"))?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(
                    provider.signature_verification_algorithms,
                )))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        let mut cfg = match self.client_identity()? {
            Some((certs, key)) => builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("tls: failed to load client certificate and key: {e}"))?,
            None => builder.with_no_client_auth(),
        };
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }

    /// The name to verify the server certificate against (and send as SNI).
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, String> {
        let name = self
            .server_name_override
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(host);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(name.to_string())
            .map_err(|e| format!("tls: invalid server name {name:?}: {e}"))
    }

    fn roots(&self) -> Result<rustls::RootCertStore, String> {
        let mut roots = rustls::RootCertStore::empty();
        let custom = self.ca_file.is_some() || self.ca_pem.is_some();
        if !custom || self.include_system_ca_certs_pool {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
        }
        if custom {
            for cert in pem_certs(&self.ca_file, &self.ca_pem, "CA")? {
                roots
                    .add(cert)
                    .map_err(|e| format!("tls: failed to load CA: {e}"))?;
            }
        }
        Ok(roots)
    }

    fn client_identity(
        &self,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
        if self.cert_file.is_none() && self.cert_pem.is_none() {
            return Ok(None);
        }
        let certs = pem_certs(&self.cert_file, &self.cert_pem, "client certificate")?;
        let key = match (&self.key_file, &self.key_pem) {
            (Some(path), _) => PrivateKeyDer::from_pem_file(path)
                .map_err(|e| format!("tls: failed to load TLS key from {path}: {e}"))?,
            (None, Some(pem)) => PrivateKeyDer::from_pem_slice(pem.as_bytes())
                .map_err(|e| format!("tls: failed to load TLS key from key_pem: {e}"))?,
            (None, None) => {
                return Err(
                    "tls: for auth via TLS, provide both certificate and key, or neither".into(),
                );
            }
        };
        Ok(Some((certs, key)))
    }
}

fn pem_certs(
    file: &Option<String>,
    pem: &Option<String>,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = match (file, pem) {
        (Some(path), _) => CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("tls: failed to load {what} from {path}: {e}"))?
            .collect(),
        (None, Some(pem)) => CertificateDer::pem_slice_iter(pem.as_bytes()).collect(),
        (None, None) => Ok(Vec::new()),
    };
    let certs = certs.map_err(|e| format!("tls: failed to load {what}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "tls: failed to load {what}: no PEM certificate found"
        ));
    }
    Ok(certs)
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
