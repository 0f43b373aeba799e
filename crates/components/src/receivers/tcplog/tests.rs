//! `tcp_log` through its factory, with real TCP clients on 127.0.0.1.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use runtime::ConsumeError;

use super::Factory;
use crate::receivers::netlog::testutil::{Sink, free_port, parse_err, start};

fn send(port: u16, data: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(data).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_from_a_client_become_records_with_operators_and_net_attributes() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!(
        "listen_address: 127.0.0.1:{port}
add_attributes: true
attributes: {{ team: core }}
resource: {{ service.name: tcp-test }}
operators:
  - type: regex_parser
    regex: '^(?P<level>\\w+) (?P<msg>.*)$'
"
    );
    let r = start(&Factory, &yaml, &sink).await;
    tokio::task::spawn_blocking(move || {
        send(port, b"INFO hello\r\nWARN second line\npartial at close")
    })
    .await
    .unwrap();
    let recs = sink.wait_for(3).await;
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].body, "INFO hello");
    assert_eq!(recs[0].attr("level"), Some("INFO"));
    assert_eq!(recs[1].attr("msg"), Some("second line"));
    assert_eq!(recs[2].body, "partial at close");
    let a = &recs[0];
    assert_eq!(a.attr("team"), Some("core"));
    assert_eq!(
        a.resource.get("service.name").map(String::as_str),
        Some("tcp-test")
    );
    assert_eq!(a.attr("net.transport"), Some("IP.TCP"));
    assert_eq!(a.attr("net.peer.ip"), Some("127.0.0.1"));
    assert_eq!(a.attr("net.host.ip"), Some("127.0.0.1"));
    assert_eq!(a.attr("net.host.port"), Some(port.to_string().as_str()));
    assert!(a.attr("net.peer.port").unwrap().parse::<u16>().is_ok());
    assert!(a.attr("net.peer.name").is_some());
    assert_eq!(r.metric("otelcol_receiver_accepted_log_records"), 3.0);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_without_newline_is_cut_at_max_log_size() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!("listen_address: 127.0.0.1:{port}\nmax_log_size: 64KiB\n");
    let r = start(&Factory, &yaml, &sink).await;
    // 200 KiB without a newline, then a short line: the connection stays usable
    let mut data = vec![b'x'; 200 * 1024];
    data.extend_from_slice(b"\nafter\n");
    tokio::task::spawn_blocking(move || send(port, &data))
        .await
        .unwrap();
    let recs = sink.wait_for(5).await;
    let lens: Vec<usize> = recs.iter().map(|r| r.body.len()).collect();
    assert_eq!(lens, [65536, 65536, 65536, 200 * 1024 - 3 * 65536, 5]);
    assert_eq!(recs[4].body, "after");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_refusal_is_retried_not_dropped() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    sink.refuse([
        ConsumeError::retryable("queue is full"),
        ConsumeError::retryable("queue is full"),
    ]);
    let yaml = format!("listen_address: 127.0.0.1:{port}\n");
    let r = start(&Factory, &yaml, &sink).await;
    tokio::task::spawn_blocking(move || send(port, b"kept\n"))
        .await
        .unwrap();
    let recs = sink.wait_for(1).await;
    assert_eq!(recs[0].body, "kept");
    assert_eq!(r.metric("otelcol_receiver_refused_log_records"), 0.0);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_log_per_packet_makes_one_record_of_the_connection() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!("listen_address: 127.0.0.1:{port}\none_log_per_packet: true\n");
    let r = start(&Factory, &yaml, &sink).await;
    tokio::task::spawn_blocking(move || send(port, b"a\nb\nc"))
        .await
        .unwrap();
    let recs = sink.wait_for(1).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].body, "a\nb\nc");
    r.stop().await;
}

#[tokio::test]
async fn config_errors_name_the_key() {
    let cases = [
        ("{}", "missing required parameter 'listen_address'"),
        (
            "listen_address: 127.0.0.1:1\nmax_log_size: 1000",
            "must be equal to or greater than 65536 bytes",
        ),
        (
            "listen_address: 127.0.0.1:1\ntls: {cert_file: a}",
            "tls: TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)",
        ),
        ("listen_address: 127.0.0.1:1\nbogus: 1", "bogus"),
        (
            "listen_address: 127.0.0.1:1\noperators: [{type: nope}]",
            "unsupported type 'nope'",
        ),
    ];
    for (yaml, want) in cases {
        let err = parse_err(&Factory, yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
    // stopping a receiver that waits on a connection returns promptly
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let r = start(
        &Factory,
        &format!("listen_address: 127.0.0.1:{port}\n"),
        &sink,
    )
    .await;
    let _idle = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tokio::time::timeout(Duration::from_secs(5), r.stop())
        .await
        .expect("shutdown with an idle connection");
}

/// `tls`: lines sent over TLS become records; a plaintext client gets nothing through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_over_tls_become_records() {
    use crate::util::tls::TlsClientSettings;
    use crate::util::tls_testing::{Ca, write};
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("log CA");
    let server = ca.server("tcp_log");
    let cert = write(dir.path(), "server.pem", &server.cert_pem);
    let key = write(dir.path(), "server.key", &server.key_pem);
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let r = start(
        &Factory,
        &format!("listen_address: 127.0.0.1:{port}\ntls: {{cert_file: {cert}, key_file: {key}}}"),
        &sink,
    )
    .await;
    // Plaintext is not a TLS handshake: the connection is dropped without a record.
    tokio::task::spawn_blocking(move || send(port, b"in clear text\n"))
        .await
        .unwrap();
    let client = TlsClientSettings {
        ca_pem: Some(ca.pem()),
        ..Default::default()
    }
    .client_config(&[])
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(
            rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    tls.write_all(b"secret one\nsecret two\n").await.unwrap();
    tls.shutdown().await.unwrap();
    let recs = sink.wait_for(2).await;
    let bodies: Vec<&str> = recs.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["secret one", "secret two"]);
    r.stop().await;
}
