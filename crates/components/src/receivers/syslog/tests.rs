//! `syslog` through its factory, with raw TCP/UDP senders on 127.0.0.1. Expected attributes
//! are Go's syslog receiver's for the same messages (its parser's test cases).

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::sync::Arc;

use super::Factory;
use crate::receivers::netlog::testutil::{Rec, Sink, free_port, parse_err, start};

const RFC5424: &str = "<86>1 2015-08-05T21:58:59.693Z 192.168.2.132 SecureAuth0 23108 ID52020 [SecureAuth@27389 UserHostAddress=\"192.168.2.132\" Realm=\"SecureAuth0\" UserID=\"Tester2\" PEN=\"27389\"] Found the user for retrieving user's profile";

fn assert_secureauth(r: &Rec) {
    assert_eq!(r.body, RFC5424);
    assert_eq!(r.attr("appname"), Some("SecureAuth0"));
    assert_eq!(r.attr("hostname"), Some("192.168.2.132"));
    assert_eq!(r.attr("priority"), Some("86"));
    assert_eq!(r.attr("facility"), Some("10"));
    assert_eq!(r.attr("version"), Some("1"));
    assert_eq!(r.attr("proc_id"), Some("23108"));
    assert_eq!(r.attr("msg_id"), Some("ID52020"));
    assert_eq!(
        r.attr("message"),
        Some("Found the user for retrieving user's profile")
    );
    let sd = r.attr("structured_data").expect("structured_data");
    assert!(
        sd.contains("SecureAuth@27389") && sd.contains(r#"\"UserID\": \"Tester2\""#),
        "{sd}"
    );
    // severity 6 (informational) is stanza's info
    assert_eq!(r.severity, 9);
    assert_eq!(r.severity_text, "info");
    assert_eq!(r.time, 1_438_811_939_693_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc5424_over_tcp_with_octet_counting() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!(
        "tcp: {{ listen_address: '127.0.0.1:{port}' }}
protocol: rfc5424
enable_octet_counting: true
"
    );
    let r = start(&Factory, &yaml, &sink).await;
    let frame = format!("{} {RFC5424}", RFC5424.len());
    let short = "<13>1 - - - - - - hi";
    let data = format!("{frame}{} {short}", short.len());
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        // in two writes that split a frame
        s.write_all(&data.as_bytes()[..40]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        s.write_all(&data.as_bytes()[40..]).unwrap();
    })
    .await
    .unwrap();
    let recs = sink.wait_for(2).await;
    assert_eq!(recs.len(), 2);
    // with octet counting the body is the frame as received, length included (Go)
    assert_eq!(recs[0].attr("appname"), Some("SecureAuth0"));
    assert_eq!(recs[1].attr("message"), Some("hi"));
    assert_eq!(recs[1].attr("priority"), Some("13"));
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc5424_over_tcp_newline_framed_and_a_malformed_line_does_not_end_the_connection() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!(
        "tcp: {{ listen_address: '127.0.0.1:{port}' }}
protocol: rfc5424
"
    );
    let r = start(&Factory, &yaml, &sink).await;
    let data = format!("not syslog at all\n{RFC5424}\n");
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(data.as_bytes()).unwrap();
    })
    .await
    .unwrap();
    let recs = sink.wait_for(2).await;
    assert_eq!(recs.len(), 2);
    // on_error send (Go's default): the bad line goes on unparsed
    assert_eq!(recs[0].body, "not syslog at all");
    assert_eq!(recs[0].attr("appname"), None);
    assert_secureauth(&recs[1]);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3164_over_udp_in_a_location() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let yaml = format!(
        "udp: {{ listen_address: '127.0.0.1:{port}' }}
protocol: rfc3164
location: UTC
operators:
  - type: move
    from: attributes.message
    to: body
"
    );
    let r = start(&Factory, &yaml, &sink).await;
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(
        b"<34>Jan 12 06:30:00 1.2.3.4 apache_server: test message\n",
        ("127.0.0.1", port),
    )
    .unwrap();
    let recs = sink.wait_for(1).await;
    let rec = &recs[0];
    assert_eq!(rec.body, "test message");
    assert_eq!(rec.attr("appname"), Some("apache_server"));
    assert_eq!(rec.attr("hostname"), Some("1.2.3.4"));
    assert_eq!(rec.attr("priority"), Some("34"));
    assert_eq!(rec.attr("facility"), Some("4"));
    // severity 2 (critical) is stanza's fatal
    assert_eq!(rec.severity, 18);
    assert_eq!(rec.severity_text, "crit");
    assert!(rec.time > 0);
    r.stop().await;
}

#[test]
fn config_errors_match_go() {
    let cases = [
        ("protocol: rfc5424", "need tcp config or udp config"),
        (
            "tcp: {listen_address: '127.0.0.1:1'}",
            "failed to resolve syslog config: missing field 'protocol'",
        ),
        (
            "protocol: rfc5424\nenable_octet_counting: true\nudp: {listen_address: '127.0.0.1:1'}",
            "octet_counting and non_transparent_framing is not compatible with UDP",
        ),
        (
            "protocol: rfc5424\ntcp: {listen_address: '127.0.0.1:1', tls: {cert_file: x}}",
            "tcp::tls: TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)",
        ),
        (
            "protocol: rfc5424\nlocation: Nowhere/City\ntcp: {listen_address: '127.0.0.1:1'}",
            "failed to load location Nowhere/City",
        ),
        (
            "protocol: rfc5424\ntcp: {listen_address: '127.0.0.1:1'}\nbogus: 1",
            "bogus",
        ),
    ];
    for (yaml, want) in cases {
        let err = parse_err(&Factory, yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
}
