//! `udp_log` through its factory, with datagrams sent on 127.0.0.1.

use std::net::UdpSocket;
use std::sync::Arc;

use super::Factory;
use crate::receivers::netlog::testutil::{Sink, free_port, parse_err, start};

fn send(port: u16, datagrams: &[&[u8]]) {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for d in datagrams {
        s.send_to(d, ("127.0.0.1", port)).expect("send");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_datagram_is_a_record_with_net_attributes() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!("listen_address: 127.0.0.1:{port}\nadd_attributes: true\n");
    let r = start(&Factory, &yaml, &sink).await;
    send(port, &[b"first\n", b"second\nline\0\0", b" third "]);
    let recs = sink.wait_for(3).await;
    let bodies: Vec<&str> = recs.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second\nline", "third"]);
    assert_eq!(recs[0].attr("net.transport"), Some("IP.UDP"));
    assert_eq!(
        recs[0].attr("net.host.port"),
        Some(port.to_string().as_str())
    );
    assert_eq!(recs[0].attr("net.peer.ip"), Some("127.0.0.1"));
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiline_splits_a_datagram_and_async_readers_share_the_socket() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!(
        "listen_address: 127.0.0.1:{port}
multiline: {{ line_start_pattern: '^<' }}
async: {{ readers: 2, processors: 2 }}
"
    );
    let r = start(&Factory, &yaml, &sink).await;
    send(port, &[b"<1> a\n<2> b\n  continued\n"]);
    let recs = sink.wait_for(2).await;
    let bodies: Vec<&str> = recs.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["<1> a", "<2> b\n  continued"]);
    r.stop().await;
}

#[test]
fn config_errors() {
    assert!(parse_err(&Factory, "{}").contains("missing required parameter 'listen_address'"));
    assert!(
        parse_err(&Factory, "listen_address: 127.0.0.1:1\nmax_log_size: 1MiB")
            .contains("max_log_size")
    );
    assert!(
        parse_err(&Factory, "listen_address: 127.0.0.1:1\nasync: {workers: 1}").contains("workers")
    );
}
