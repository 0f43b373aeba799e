//! `fluent_forward` through its factory: hand-encoded Forward messages over real TCP, UDP
//! and Unix sockets on this machine.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use runtime::ConsumeError;

use super::Factory;
use crate::receivers::netlog::testutil::{Sink, free_port, parse_err, start};

fn fixstr(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 32);
    out.push(0xa0 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// `[tag, time, {"message": msg, "n": 7}, {"chunk": chunk}?]`
fn message(tag: &str, time: u32, msg: &str, chunk: Option<&str>) -> Vec<u8> {
    let mut b = vec![if chunk.is_some() { 0x94 } else { 0x93 }];
    fixstr(&mut b, tag);
    b.push(0xce);
    b.extend_from_slice(&time.to_be_bytes());
    b.push(0x82);
    fixstr(&mut b, "message");
    fixstr(&mut b, msg);
    fixstr(&mut b, "n");
    b.push(7);
    if let Some(c) = chunk {
        b.push(0x81);
        fixstr(&mut b, "chunk");
        fixstr(&mut b, c);
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_mode_events_become_records_and_chunks_are_acked() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let r = start(&Factory, &format!("endpoint: 127.0.0.1:{port}"), &sink).await;
    let ack = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut data = message("app.web", 1_700_000_000, "first", None);
        data.extend(message("app.web", 1_700_000_001, "second", Some("c1")));
        // the second event cut in two writes
        s.write_all(&data[..30]).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        s.write_all(&data[30..]).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut ack = [0u8; 8];
        s.read_exact(&mut ack).unwrap();
        ack
    })
    .await
    .unwrap();
    assert_eq!(&ack, b"\x81\xa3ack\xa2c1");
    let recs = sink.wait_for(2).await;
    assert_eq!(recs[0].body, "first");
    assert_eq!(recs[1].body, "second");
    assert_eq!(recs[0].time, 1_700_000_000_000_000_000);
    assert_eq!(recs[0].attr("fluent.tag"), Some("app.web"));
    assert_eq!(recs[0].attr("n"), Some("7"));
    assert_eq!(r.metric("otelcol_fluent_events_parsed"), 2.0);
    assert_eq!(r.metric("otelcol_fluent_records_generated"), 2.0);
    assert_eq!(r.metric("otelcol_fluent_opened_connections"), 1.0);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_event_closes_the_connection_and_counts_a_failure() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let r = start(&Factory, &format!("endpoint: 127.0.0.1:{port}"), &sink).await;
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut data = message("ok", 1, "kept", None);
        data.extend_from_slice(&[0x93, 0x01, 0x01, 0x80]); // tag not a string
        s.write_all(&data).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        // the receiver closes: read returns 0 (or a reset)
        let _ = s.read_to_end(&mut rest);
    })
    .await
    .unwrap();
    let recs = sink.wait_for(1).await;
    assert_eq!(recs[0].body, "kept");
    assert_eq!(r.metric("otelcol_fluent_parse_failures"), 1.0);
    // the receiver still serves new connections
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&message("ok", 2, "again", None)).unwrap();
    })
    .await
    .unwrap();
    sink.wait_for(2).await;
    assert_eq!(r.metric("otelcol_fluent_closed_connections"), 2.0);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_echoed_over_udp_on_the_same_port() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let r = start(&Factory, &format!("endpoint: 127.0.0.1:{port}"), &sink).await;
    let echoed = tokio::task::spawn_blocking(move || {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        u.send_to(&[0x00], ("127.0.0.1", port)).unwrap();
        let mut b = [9u8; 4];
        let (n, _) = u.recv_from(&mut b).unwrap();
        b[..n].to_vec()
    })
    .await
    .unwrap();
    assert_eq!(echoed, [0x00]);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_refusal_delays_the_ack_until_delivered() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    sink.refuse([ConsumeError::retryable("queue is full")]);
    let r = start(&Factory, &format!("endpoint: 127.0.0.1:{port}"), &sink).await;
    let ack = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&message("t", 1, "once", Some("k"))).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut ack = [0u8; 7];
        s.read_exact(&mut ack).unwrap();
        ack
    })
    .await
    .unwrap();
    assert_eq!(&ack, b"\x81\xa3ack\xa1k");
    let recs = sink.wait_for(1).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(r.metric("otelcol_receiver_refused_log_records"), 0.0);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fluent.sock");
    let sink = Arc::new(Sink::default());
    let r = start(
        &Factory,
        &format!("endpoint: unix://{}", path.display()),
        &sink,
    )
    .await;
    let p = path.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = std::os::unix::net::UnixStream::connect(p).unwrap();
        s.write_all(&message("sock", 3, "via unix", None)).unwrap();
    })
    .await
    .unwrap();
    let recs = sink.wait_for(1).await;
    assert_eq!(recs[0].body, "via unix");
    r.stop().await;
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[test]
fn config_defaults_and_errors() {
    let cfg = super::Config::default();
    assert_eq!(cfg.endpoint, "localhost:8006");
    assert!(parse_err(&Factory, "listen_address: x").contains("listen_address"));
}
