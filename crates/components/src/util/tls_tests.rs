//! TLS and mTLS end to end inside the process: the otlp receiver's gRPC and HTTP servers
//! with certificates made by rcgen, and the otlp_grpc / otlp_http exporters sending to them
//! with a custom CA and client certificates; certificate reload; Go's validation texts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use pdata::{Batch, Signal};
use runtime::admission::Admission;
use runtime::factory::{ExporterFactory, ReceiverFactory, ReceiverOutputs, Settings, typed};
use runtime::{Component, ConsumeError, Consumer, Host, Kind, Telemetry};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::{TlsClientSettings, TlsServerConfig};
use crate::receivers::otlp::OtlpReceiver;
use crate::util::tls_testing::{Ca, Leaf, write};

#[derive(Default)]
struct Recorder(Mutex<usize>);

#[async_trait]
impl Consumer for Recorder {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        *self.0.lock().unwrap() += batch.item_count();
        Ok(())
    }
}

/// A CA, the server's certificate and key files, in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
    ca_file: String,
    cert_file: String,
    key_file: String,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("test CA");
        let server = ca.server("server one");
        let ca_file = write(dir.path(), "ca.pem", &ca.pem());
        let cert_file = write(dir.path(), "server.pem", &server.cert_pem);
        let key_file = write(dir.path(), "server-key.pem", &server.key_pem);
        Pki {
            dir,
            ca,
            ca_file,
            cert_file,
            key_file,
        }
    }

    fn file(&self, name: &str, content: &str) -> String {
        write(self.dir.path(), name, content)
    }

    /// The server `tls` block; with `mtls` clients must have a certificate from the CA.
    fn server_tls(&self, mtls: bool) -> String {
        let mut s = format!(
            "{{cert_file: {}, key_file: {}",
            self.cert_file, self.key_file
        );
        if mtls {
            s.push_str(&format!(", client_ca_file: {}", self.ca_file));
        }
        s.push('}');
        s
    }

    /// A client `tls` block trusting the CA, with `client` as its certificate.
    fn client_tls(&self, client: Option<(&str, &Leaf)>) -> String {
        let mut s = format!("{{ca_file: {}", self.ca_file);
        if let Some((name, leaf)) = client {
            let cert = self.file(&format!("{name}.pem"), &leaf.cert_pem);
            let key = self.file(&format!("{name}-key.pem"), &leaf.key_pem);
            s.push_str(&format!(", cert_file: {cert}, key_file: {key}"));
        }
        s.push('}');
        s
    }
}

async fn receiver(yaml: &str) -> (OtlpReceiver, Arc<Recorder>) {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg = crate::receivers::otlp::Factory
        .parse_config(&value, "receivers::otlp")
        .unwrap_or_else(|e| panic!("{e}"));
    let recorder = Arc::new(Recorder::default());
    let mut outputs = ReceiverOutputs::default();
    outputs.set(Signal::Traces, recorder.clone());
    let r = OtlpReceiver::new(
        "otlp",
        &Telemetry::default(),
        typed(&cfg),
        outputs,
        Admission::new(),
    )
    .unwrap();
    r.start(&Host::default()).await.unwrap();
    (r, recorder)
}

fn exporter(
    factory: &dyn ExporterFactory,
    kind: &str,
    endpoint: &str,
    tls: &str,
) -> Arc<dyn runtime::Exporter> {
    let yaml = format!(
        "endpoint: {endpoint}\ntls: {tls}\nsending_queue: {{enabled: false}}\nretry_on_failure: {{enabled: false}}\ntimeout: 5s"
    );
    let value = config::Value::from_yaml_str(&yaml).unwrap();
    let cfg = factory
        .parse_config(&value, &format!("exporters::{kind}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let set = Settings {
        id: config::ComponentId::new(kind),
        kind: Kind::Exporter,
        telemetry: Telemetry::default(),
    };
    factory.create(set, &cfg, Signal::Traces).unwrap()
}

fn spans(n: usize) -> Batch {
    let req = pdata::testdata::request(Signal::Traces, 1, n, 7);
    Batch::from_encoded(Signal::Traces, Bytes::from(req.encode_to_vec())).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Proto {
    Grpc,
    Http,
}

/// Starts a receiver for `proto` with `server_tls`, sends 3 spans with the exporter for it
/// configured with `client_tls`, and says whether they arrived.
async fn send(proto: Proto, server_tls: &str, client_tls: &str) -> Result<(), String> {
    let yaml = match proto {
        Proto::Grpc => {
            format!("protocols: {{grpc: {{endpoint: '127.0.0.1:0', tls: {server_tls}}}}}")
        }
        Proto::Http => {
            format!("protocols: {{http: {{endpoint: '127.0.0.1:0', tls: {server_tls}}}}}")
        }
    };
    let (r, recorder) = receiver(&yaml).await;
    let exp = match proto {
        Proto::Grpc => {
            let addr = r.grpc_addr().unwrap();
            exporter(
                &crate::exporters::otlp::Factory,
                "otlp",
                &addr.to_string(),
                client_tls,
            )
        }
        Proto::Http => {
            let addr = r.http_addr().unwrap();
            exporter(
                &crate::exporters::otlphttp::Factory,
                "otlp_http",
                &format!("https://{addr}"),
                client_tls,
            )
        }
    };
    exp.start(&Host::default()).await.unwrap();
    let result = exp.consume(spans(3)).await.map_err(|e| e.to_string());
    exp.shutdown().await.unwrap();
    r.shutdown().await.unwrap();
    match result {
        Ok(()) => {
            assert_eq!(
                *recorder.0.lock().unwrap(),
                3,
                "{proto:?}: the spans arrived"
            );
            Ok(())
        }
        Err(e) => {
            assert_eq!(
                *recorder.0.lock().unwrap(),
                0,
                "{proto:?}: refused means nothing arrived"
            );
            Err(e)
        }
    }
}

#[tokio::test]
async fn receivers_serve_tls_to_exporters_trusting_a_custom_ca() {
    let pki = Pki::new();
    for proto in [Proto::Grpc, Proto::Http] {
        send(proto, &pki.server_tls(false), &pki.client_tls(None))
            .await
            .unwrap_or_else(|e| panic!("{proto:?}: {e}"));
    }
}

#[tokio::test]
async fn exporters_refuse_a_server_whose_ca_they_do_not_trust() {
    let pki = Pki::new();
    let other = Ca::new("other CA");
    let other_file = pki.file("other-ca.pem", &other.pem());
    for proto in [Proto::Grpc, Proto::Http] {
        let err = send(
            proto,
            &pki.server_tls(false),
            &format!("{{ca_file: {other_file}}}"),
        )
        .await
        .expect_err("an unknown issuer is refused");
        assert!(
            err.to_lowercase().contains("certificate") || err.contains("tls"),
            "{proto:?}: {err}"
        );
    }
}

#[tokio::test]
async fn exporters_with_insecure_skip_verify_accept_an_unknown_server_certificate() {
    let pki = Pki::new();
    for proto in [Proto::Grpc, Proto::Http] {
        send(
            proto,
            &pki.server_tls(false),
            "{insecure_skip_verify: true}",
        )
        .await
        .unwrap_or_else(|e| panic!("{proto:?}: {e}"));
    }
}

#[tokio::test]
async fn mtls_accepts_a_client_certificate_from_the_client_ca_and_refuses_the_others() {
    let pki = Pki::new();
    let other = Ca::new("other CA");
    let valid = pki.ca.client("good client");
    let expired = pki.ca.expired_client("old client");
    let foreign = other.client("stranger");
    for proto in [Proto::Grpc, Proto::Http] {
        send(
            proto,
            &pki.server_tls(true),
            &pki.client_tls(Some(("valid", &valid))),
        )
        .await
        .unwrap_or_else(|e| panic!("{proto:?}, valid client certificate: {e}"));
        for (name, client) in [
            ("none", None),
            ("expired", Some(("expired", &expired))),
            ("foreign", Some(("foreign", &foreign))),
        ] {
            let got = send(proto, &pki.server_tls(true), &pki.client_tls(client)).await;
            assert!(
                got.is_err(),
                "{proto:?}: a client with {name} certificate is refused"
            );
        }
    }
}

/// A TLS handshake with `addr` trusting `ca_pem`; the certificate the server presented.
async fn served_certificate(addr: std::net::SocketAddr, ca_pem: &str) -> CertificateDer<'static> {
    served_certificate_alpn(addr, ca_pem, b"http/1.1").await
}

async fn served_certificate_alpn(
    addr: std::net::SocketAddr,
    ca_pem: &str,
    alpn: &[u8],
) -> CertificateDer<'static> {
    let client = TlsClientSettings {
        ca_pem: Some(ca_pem.to_string()),
        ..Default::default()
    }
    .client_config(&[alpn])
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].clone()
}

#[tokio::test]
async fn rotated_certificate_files_are_served_after_reload_interval() {
    let pki = Pki::new();
    let yaml = format!(
        "protocols: {{http: {{endpoint: '127.0.0.1:0', tls: {{cert_file: {}, key_file: {}, reload_interval: 200ms}}}}}}",
        pki.cert_file, pki.key_file
    );
    let (r, _) = receiver(&yaml).await;
    let addr = r.http_addr().unwrap();
    let first = served_certificate(addr, &pki.ca.pem()).await;
    let second_leaf = pki.ca.server("server two");
    write(pki.dir.path(), "server.pem", &second_leaf.cert_pem);
    write(pki.dir.path(), "server-key.pem", &second_leaf.key_pem);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = served_certificate(addr, &pki.ca.pem()).await;
        if now != first {
            let expected = CertificateDer::from_pem_slice(second_leaf.cert_pem.as_bytes()).unwrap();
            assert_eq!(now, expected, "the new certificate is served");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rotated certificate was not served within the reload interval"
        );
    }
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_reload_interval_the_first_certificate_stays() {
    let pki = Pki::new();
    let tls = TlsServerConfig {
        cert_file: pki.cert_file.clone(),
        key_file: pki.key_file.clone(),
        ..Default::default()
    };
    let acceptor = tls.acceptor(super::ALPN_HTTP1).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let _task = crate::util::http_server::serve_tls(
        "test",
        Default::default(),
        Some(acceptor),
        listener,
        stop.clone(),
        |_req| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                Bytes::new(),
            )))
        },
    );
    let first = served_certificate(addr, &pki.ca.pem()).await;
    let replacement = pki.ca.server("server two");
    write(pki.dir.path(), "server.pem", &replacement.cert_pem);
    write(pki.dir.path(), "server-key.pem", &replacement.key_pem);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(served_certificate(addr, &pki.ca.pem()).await, first);
    stop.cancel();
}

#[tokio::test]
async fn client_ca_file_reload_trusts_a_new_client_ca() {
    let pki = Pki::new();
    let new_ca = Ca::new("new client CA");
    let client_ca = pki.file("client-ca.pem", &pki.ca.pem());
    let server_tls = format!(
        "{{cert_file: {}, key_file: {}, client_ca_file: {client_ca}, client_ca_file_reload: true}}",
        pki.cert_file, pki.key_file
    );
    let yaml = format!("protocols: {{http: {{endpoint: '127.0.0.1:0', tls: {server_tls}}}}}");
    let (r, _) = receiver(&yaml).await;
    let endpoint = format!("https://{}", r.http_addr().unwrap());
    let newcomer = new_ca.client("newcomer");
    let client_tls = pki.client_tls(Some(("newcomer", &newcomer)));
    let exp = exporter(
        &crate::exporters::otlphttp::Factory,
        "otlp_http",
        &endpoint,
        &client_tls,
    );
    exp.start(&Host::default()).await.unwrap();
    assert!(exp.consume(spans(1)).await.is_err(), "not trusted yet");
    // A different modification time is what marks the change.
    tokio::time::sleep(Duration::from_millis(20)).await;
    write(pki.dir.path(), "client-ca.pem", &new_ca.pem());
    let file = std::fs::File::options()
        .write(true)
        .open(&client_ca)
        .unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(1))
        .unwrap();
    exp.consume(spans(1))
        .await
        .expect("trusted after the reload");
    exp.shutdown().await.unwrap();
    r.shutdown().await.unwrap();
}

#[test]
fn server_validation_speaks_go() {
    let cases: &[(&str, &str)] = &[
        (
            "{}",
            "TLS configuration must include both certificate and key for server connections",
        ),
        (
            "{cert_file: a}",
            "TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)",
        ),
        (
            "{cert_file: a, cert_pem: b, key_file: c}",
            "provide either certificate file or PEM, but not both",
        ),
        (
            "{cert_file: a, key_file: c, key_pem: d}",
            "provide either key file or PEM, but not both",
        ),
        (
            "{ca_file: a, ca_pem: b, cert_file: a, key_file: b}",
            "provide either a CA file or the PEM-encoded string, but not both",
        ),
        (
            "{cert_file: a, key_file: b, min_version: '1.5'}",
            "invalid TLS min_version: unsupported TLS version: \"1.5\"",
        ),
        (
            "{cert_file: a, key_file: b, max_version: 'TLS13'}",
            "invalid TLS max_version: unsupported TLS version: \"TLS13\"",
        ),
        (
            "{cert_file: a, key_file: b, min_version: '1.3', max_version: '1.2'}",
            "invalid TLS configuration: min_version cannot be greater than max_version",
        ),
    ];
    for (yaml, want) in cases {
        let value = config::Value::from_yaml_str(yaml).unwrap();
        let cfg: TlsServerConfig =
            config::decode(&value, "tls").unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(cfg.validate().unwrap_err(), *want, "{yaml}");
    }
    let ok = TlsServerConfig {
        cert_file: "a".into(),
        key_file: "b".into(),
        min_version: "1.3".into(),
        ..Default::default()
    };
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn otlp_receiver_reports_tls_errors_under_the_protocol_key() {
    let value = config::Value::from_yaml_str("protocols: {grpc: {tls: {}}}").unwrap();
    let err = crate::receivers::otlp::Factory
        .parse_config(&value, "receivers::otlp")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("protocols::grpc::tls: TLS configuration must include both certificate and key for server connections"),
        "{err}"
    );
}

#[test]
fn loading_errors_are_go_texts() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir
        .path()
        .join("missing.pem")
        .to_string_lossy()
        .into_owned();
    let garbage = write(dir.path(), "garbage.pem", "not a certificate");
    let ca = Ca::new("ca");
    let leaf = ca.server("s");
    let cert = write(dir.path(), "cert.pem", &leaf.cert_pem);
    let key = write(dir.path(), "key.pem", &leaf.key_pem);
    let other_key = write(dir.path(), "other-key.pem", &ca.server("t").key_pem);
    let server = |f: &dyn Fn(&mut TlsServerConfig)| {
        let mut c = TlsServerConfig {
            cert_file: cert.clone(),
            key_file: key.clone(),
            ..Default::default()
        };
        f(&mut c);
        c.server_config(super::ALPN_H2).err()
    };
    assert_eq!(server(&|_| {}), None);
    assert_eq!(
        server(&|c| c.cert_file = missing.clone()).unwrap(),
        format!(
            "failed to load TLS config: failed to load TLS cert and key: open {missing}: no such file or directory"
        )
    );
    assert_eq!(
        server(&|c| c.cert_file = garbage.clone()).unwrap(),
        "failed to load TLS config: failed to load TLS cert and key: failed to load TLS cert and key PEMs: tls: failed to find any PEM data in certificate input"
    );
    assert_eq!(
        server(&|c| c.key_file = other_key.clone()).unwrap(),
        "failed to load TLS config: failed to load TLS cert and key: failed to load TLS cert and key PEMs: tls: private key does not match public key"
    );
    assert_eq!(
        server(&|c| c.client_ca_file = missing.clone()).unwrap(),
        format!("failed to load CA {missing}: open {missing}: no such file or directory")
    );
    assert_eq!(
        server(&|c| c.client_ca_file = garbage.clone()).unwrap(),
        format!("failed to parse CA {garbage}")
    );
    assert_eq!(
        server(&|c| c.cipher_suites = vec!["TLS_FOO".into(), "TLS_BAR".into()]).unwrap(),
        "failed to load TLS config: invalid TLS cipher suite: \"TLS_FOO\"\ninvalid TLS cipher suite: \"TLS_BAR\""
    );
    assert_eq!(
        server(&|c| c.cipher_suites = vec![
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
            "TLS_RSA_WITH_AES_128_CBC_SHA".into()
        ]),
        None,
        "Go's names are accepted, those rustls lacks have no effect"
    );
    let client = TlsClientSettings {
        ca_file: Some(missing.clone()),
        ..Default::default()
    };
    assert_eq!(
        client.client_config(&[]).unwrap_err(),
        format!(
            "tls: failed to load TLS config: failed to load CA CertPool File: failed to load cert {missing}: open {missing}: no such file or directory"
        )
    );
    let client = TlsClientSettings {
        ca_file: Some(garbage.clone()),
        ..Default::default()
    };
    assert_eq!(
        client.client_config(&[]).unwrap_err(),
        "tls: failed to load TLS config: failed to load CA CertPool File: failed to parse cert"
    );
}

#[test]
fn cipher_suites_restrict_tls12_and_keep_tls13() {
    let c = TlsServerConfig {
        cipher_suites: vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()],
        ..Default::default()
    };
    let provider = c.common().provider().unwrap();
    let names: Vec<String> = provider
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    assert!(
        names.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".to_string()),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("TLS13_")), "{names:?}");
}

#[tokio::test]
async fn min_version_1_3_refuses_a_tls_1_2_client() {
    let pki = Pki::new();
    let server = format!(
        "{{cert_file: {}, key_file: {}, min_version: '1.3'}}",
        pki.cert_file, pki.key_file
    );
    let client_12 = format!("{{ca_file: {}, max_version: '1.2'}}", pki.ca_file);
    assert!(send(Proto::Http, &server, &client_12).await.is_err());
    let client_13 = format!("{{ca_file: {}, min_version: '1.3'}}", pki.ca_file);
    send(Proto::Http, &server, &client_13).await.unwrap();
}

/// A port that was free a moment ago, for components whose address cannot be asked.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `start` on a port that was free a moment ago, for components whose address cannot be
/// asked (or that refuse port 0, as Go's do). Another test, or an outgoing connection's
/// ephemeral port, may take that port before the component binds it: a start that finds
/// its port taken is tried again on another one (up to five times).
async fn on_free_port<T>(
    what: &str,
    mut start: impl AsyncFnMut(u16) -> Result<T, String>,
) -> (u16, T) {
    let mut attempts = 0;
    loop {
        let port = free_port();
        match start(port).await {
            Ok(t) => return (port, t),
            Err(e) if e.contains("Address already in use") && attempts < 5 => attempts += 1,
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[tokio::test]
async fn a_start_whose_port_was_taken_is_tried_again_on_another() {
    let mut taken = Vec::new();
    let mut tries = 0;
    let (port, ()) = on_free_port("test", async |port| {
        tries += 1;
        if taken.is_empty() {
            // Another test binds the port between its pick and the start.
            taken.push(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
        }
        std::net::TcpListener::bind(("127.0.0.1", port))
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;
    assert_eq!(tries, 2);
    assert_ne!(port, taken[0].local_addr().unwrap().port());
}

/// GET over HTTPS trusting `ca_pem`: the status, or the error.
async fn https_get(port: u16, path: &str, ca_pem: &str) -> Result<u16, String> {
    let tls = TlsClientSettings {
        ca_pem: Some(ca_pem.to_string()),
        ..Default::default()
    }
    .client_config(&[b"http/1.1"])
    .unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    client
        .get(format!("https://127.0.0.1:{port}{path}"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

async fn plain_get_fails(port: u16) -> bool {
    reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .is_err()
}

/// The extension `kind` of `factory`, started from `yaml` with `{port}` replaced by a free
/// port (tried again on another when it was taken).
async fn start_extension(
    factory: &dyn runtime::factory::ExtensionFactory,
    kind: &str,
    yaml: &str,
) -> (u16, Arc<dyn runtime::component::Extension>) {
    on_free_port(kind, async |port| {
        let yaml = yaml.replace("{port}", &port.to_string());
        let cfg = factory
            .parse_config(
                &config::Value::from_yaml_str(&yaml).unwrap(),
                &format!("extensions::{kind}"),
            )
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let set = Settings {
            id: config::ComponentId::new(kind),
            kind: Kind::Extension,
            telemetry: Telemetry::default(),
        };
        let ext = factory.create(set, &cfg).unwrap();
        ext.start(&Host::default())
            .await
            .map_err(|e| e.to_string())?;
        Ok(ext)
    })
    .await
}

#[tokio::test]
async fn every_http_server_component_serves_its_tls_block() {
    let pki = Pki::new();
    let ca = pki.ca.pem();
    let tls = pki.server_tls(false);

    // health_check (axum behind the shared TLS accept loop)
    let (port, ext) = start_extension(
        &crate::extensions::health_check::Factory,
        "health_check",
        &format!("endpoint: 127.0.0.1:{{port}}\ntls: {tls}"),
    )
    .await;
    assert_eq!(https_get(port, "/", &ca).await, Ok(503), "health_check");
    assert!(
        plain_get_fails(port).await,
        "health_check refuses plaintext"
    );
    ext.shutdown().await.unwrap();

    // healthcheckv2, legacy and v2 http
    for (yaml, path) in [
        (format!("endpoint: 127.0.0.1:{{port}}\ntls: {tls}"), "/"),
        (
            format!("use_v2: true\nhttp: {{endpoint: '127.0.0.1:{{port}}', tls: {tls}}}"),
            "/status",
        ),
    ] {
        let (port, ext) = start_extension(
            &crate::extensions::healthcheckv2::Factory,
            "healthcheckv2",
            &yaml,
        )
        .await;
        let got = https_get(port, path, &ca).await;
        assert!(got.is_ok(), "healthcheckv2 {yaml}: {got:?}");
        ext.shutdown().await.unwrap();
    }

    // zpages
    let (port, ext) = start_extension(
        &crate::extensions::zpages::Factory,
        "zpages",
        &format!("endpoint: 127.0.0.1:{{port}}\ntls: {tls}"),
    )
    .await;
    assert_eq!(
        https_get(port, "/debug/servicez", &ca).await,
        Ok(200),
        "zpages"
    );
    ext.shutdown().await.unwrap();

    // prometheus exporter's /metrics
    let f = crate::exporters::prometheus::Factory;
    let (port, exp) = on_free_port("prometheus exporter", async |port| {
        let value =
            config::Value::from_yaml_str(&format!("endpoint: 127.0.0.1:{port}\ntls: {tls}"))
                .unwrap();
        let cfg = f.parse_config(&value, "exporters::prometheus").unwrap();
        let set = Settings {
            id: config::ComponentId::new("prometheus"),
            kind: Kind::Exporter,
            telemetry: Telemetry::default(),
        };
        let exp = f.create(set, &cfg, Signal::Metrics).unwrap();
        exp.start(&Host::default())
            .await
            .map_err(|e| e.to_string())?;
        Ok(exp)
    })
    .await;
    assert_eq!(
        https_get(port, "/metrics", &ca).await,
        Ok(200),
        "prometheus exporter"
    );
    exp.shutdown().await.unwrap();

    // zipkin receiver
    let f = crate::receivers::zipkin::Factory;
    let value =
        config::Value::from_yaml_str(&format!("endpoint: '127.0.0.1:0'\ntls: {tls}")).unwrap();
    let cfg = f.parse_config(&value, "receivers::zipkin").unwrap();
    let mut outputs = ReceiverOutputs::default();
    outputs.set(Signal::Traces, Arc::new(Recorder::default()));
    let set = Settings {
        id: config::ComponentId::new("zipkin"),
        kind: Kind::Receiver,
        telemetry: Telemetry::default(),
    };
    let r = crate::receivers::zipkin::ZipkinReceiver::new(
        &set,
        typed(&cfg),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    r.start(&Host::default()).await.unwrap();
    let port = r.addr().unwrap().port();
    let got = https_get(port, "/api/v2/spans", &ca).await;
    assert!(
        matches!(got, Ok(s) if s >= 400),
        "zipkin answers over TLS: {got:?}"
    );
    r.shutdown().await.unwrap();
    drop(outputs);
}

#[tokio::test]
async fn jaeger_grpc_and_thrift_http_serve_tls() {
    let pki = Pki::new();
    let tls = pki.server_tls(false);
    let f = crate::receivers::jaeger::Factory;
    let set = Settings {
        id: config::ComponentId::new("jaeger"),
        kind: Kind::Receiver,
        telemetry: Telemetry::default(),
    };
    // Go's jaeger receiver refuses port 0: free ports are picked first.
    let (_, r) = on_free_port("jaeger", async |g| {
        let h = free_port();
        let value = config::Value::from_yaml_str(&format!(
            "protocols: {{grpc: {{endpoint: '127.0.0.1:{g}', tls: {tls}}}, thrift_http: {{endpoint: '127.0.0.1:{h}', tls: {tls}}}}}"
        ))
        .unwrap();
        let cfg = f.parse_config(&value, "receivers::jaeger").unwrap();
        let r = crate::receivers::jaeger::JaegerReceiver::new(
            &set,
            typed(&cfg),
            Arc::new(Recorder::default()),
            Admission::new(),
        );
        r.start(&Host::default()).await?;
        Ok(r)
    })
    .await;
    let addrs = r.addrs();
    let expected = CertificateDer::from_pem_file(&pki.cert_file).unwrap();
    let grpc = served_certificate_alpn(addrs.grpc.unwrap(), &pki.ca.pem(), b"h2").await;
    assert_eq!(grpc, expected, "gRPC");
    let http = addrs.http.unwrap().port();
    assert!(
        https_get(http, "/api/traces", &pki.ca.pem()).await.is_ok(),
        "thrift_http answers over TLS"
    );
    assert!(plain_get_fails(http).await, "thrift_http refuses plaintext");
    r.shutdown().await.unwrap();
}

/// The client certificate a TLS client built from `client` presents to an mTLS server.
async fn presented_client_certificate(
    server: &TlsServerConfig,
    client: &rustls::ClientConfig,
) -> CertificateDer<'static> {
    let acceptor = server.acceptor(&[]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp, "test", peer).await.unwrap();
        tls.get_ref().1.peer_certificates().unwrap()[0].clone()
    });
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client.clone()))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    // TLS 1.3: the server has the client's certificate once the client's flight is read.
    tokio::io::AsyncWriteExt::write_all(&mut tls, b"x")
        .await
        .unwrap();
    accept.await.unwrap()
}

#[tokio::test]
async fn client_certificate_files_are_read_again_after_reload_interval() {
    let pki = Pki::new();
    let server = TlsServerConfig {
        cert_file: pki.cert_file.clone(),
        key_file: pki.key_file.clone(),
        client_ca_file: pki.ca_file.clone(),
        ..Default::default()
    };
    let first = pki.ca.client("first");
    let cert_file = pki.file("client.pem", &first.cert_pem);
    let key_file = pki.file("client.key", &first.key_pem);
    let client = TlsClientSettings {
        ca_file: Some(pki.ca_file.clone()),
        cert_file: Some(cert_file),
        key_file: Some(key_file),
        reload_interval: Some(config::Duration(Duration::from_millis(100))),
        ..Default::default()
    }
    .client_config(&[])
    .unwrap();
    let expected_first = CertificateDer::from_pem_slice(first.cert_pem.as_bytes()).unwrap();
    assert_eq!(
        presented_client_certificate(&server, &client).await,
        expected_first
    );
    let second = pki.ca.client("second");
    pki.file("client.pem", &second.cert_pem);
    pki.file("client.key", &second.key_pem);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let expected_second = CertificateDer::from_pem_slice(second.cert_pem.as_bytes()).unwrap();
    assert_eq!(
        presented_client_certificate(&server, &client).await,
        expected_second
    );
}

#[tokio::test]
async fn server_name_override_is_the_name_checked_by_both_exporters() {
    let pki = Pki::new();
    let named = pki.ca.server_for(&["collector.internal"]);
    let server_tls = format!(
        "{{cert_file: {}, key_file: {}}}",
        pki.file("named.pem", &named.cert_pem),
        pki.file("named.key", &named.key_pem)
    );
    for proto in [Proto::Grpc, Proto::Http] {
        let without = send(proto, &server_tls, &pki.client_tls(None)).await;
        assert!(
            without.is_err(),
            "{proto:?}: 127.0.0.1 is not the certificate's name"
        );
        let with = format!(
            "{{ca_file: {}, server_name_override: collector.internal}}",
            pki.ca_file
        );
        send(proto, &server_tls, &with)
            .await
            .unwrap_or_else(|e| panic!("{proto:?} with server_name_override: {e}"));
    }
}
