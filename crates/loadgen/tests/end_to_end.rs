//! The generator, sink and floor talking over real sockets on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use loadgen::compress::Compression;
use loadgen::floor::Floor;
use loadgen::generate::{self, GenConfig, Protocol};
use loadgen::server::{self, Backend};
use loadgen::sink::{Sink, SinkOptions, SinkStats};
use pdata::Signal;
use tokio::sync::watch;

async fn start<B: Backend>(backend: Arc<B>) -> (SocketAddr, watch::Sender<bool>) {
    let (tx, rx) = watch::channel(false);
    let (l, addr) = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    tokio::spawn(server::serve(l, backend, rx));
    (addr, tx)
}

fn cfg(
    signal: Signal,
    protocol: Protocol,
    addr: SocketAddr,
    compression: Compression,
    count: u64,
) -> GenConfig {
    let mut c = GenConfig::new(signal, protocol, addr);
    c.compression = compression;
    c.count = Some(count);
    c.duration = Some(Duration::from_secs(20));
    c.connections = 2;
    c.in_flight = 3;
    c.templates = 3;
    c
}

async fn stats_over_http(addr: SocketAddr) -> SinkStats {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<
        _,
        http_body_util::Empty<bytes::Bytes>,
    >(hyper_util::rt::TokioIo::new(stream))
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get("/stats")
        .header("host", "x")
        .body(http_body_util::Empty::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    SinkStats {
        elapsed_s: v["elapsed_s"].as_f64().unwrap(),
        last_item_at_s: v["last_item_at_s"].as_f64(),
        requests: v["requests"].as_u64().unwrap(),
        items: v["items"].as_u64().unwrap(),
        bytes: v["bytes"].as_u64().unwrap(),
        seqs: v["seqs"].as_u64().unwrap(),
        distinct: v["distinct"].as_u64().unwrap(),
        duplicates: v["duplicates"].as_u64().unwrap(),
        items_without_seq: v["items_without_seq"].as_u64().unwrap(),
        max_seq: v["max_seq"].as_u64(),
        missing_below_max: v["missing_below_max"].as_u64().unwrap(),
        refused_requests: v["refused_requests"].as_u64().unwrap(),
        refused_items: v["refused_items"].as_u64().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generated_item_reaches_the_sink_once_over_each_protocol_and_compression() {
    let cases = [
        (Signal::Traces, Protocol::Grpc, Compression::None),
        (Signal::Logs, Protocol::Grpc, Compression::Gzip),
        (Signal::Metrics, Protocol::Grpc, Compression::Zstd),
        (Signal::Traces, Protocol::Http, Compression::Gzip),
        (Signal::Logs, Protocol::Http, Compression::None),
        (Signal::Metrics, Protocol::Http, Compression::Zstd),
    ];
    for (signal, protocol, compression) in cases {
        let sink = Arc::new(Sink::new(SinkOptions::default()));
        let (addr, _stop) = start(sink.clone()).await;
        let report = generate::run(cfg(signal, protocol, addr, compression, 2_000))
            .await
            .unwrap();
        let what = format!("{signal} {protocol:?} {compression:?}");
        assert!(report.sent >= 2_000, "{what}: {report:?}");
        assert_eq!(report.acknowledged, report.sent, "{what}: {report:?}");
        assert!(
            report.refused.is_empty() && report.errors.is_empty(),
            "{what}: {report:?}"
        );
        let s = stats_over_http(addr).await;
        assert_eq!(s.items, report.sent, "{what}: {s:?}");
        assert_eq!(s.distinct, report.sent, "{what}: {s:?}");
        assert_eq!(
            (s.duplicates, s.missing_below_max, s.items_without_seq),
            (0, 0, 0),
            "{what}: {s:?}"
        );
        assert_eq!(s.max_seq, Some(report.seq_end - 1), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_forwards_everything_gzip_compressed_without_decoding() {
    let sink = Arc::new(Sink::new(SinkOptions::default()));
    let (sink_addr, _s) = start(sink.clone()).await;
    let floor = Arc::new(
        Floor::new(
            sink_addr,
            2,
            Compression::Gzip,
            None,
            Duration::from_secs(5),
        )
        .unwrap(),
    );
    let (floor_addr, _f) = start(floor.clone()).await;
    for (protocol, compression) in [
        (Protocol::Grpc, Compression::Zstd),
        (Protocol::Http, Compression::Gzip),
    ] {
        let report = generate::run(cfg(
            Signal::Traces,
            protocol,
            floor_addr,
            compression,
            1_000,
        ))
        .await
        .unwrap();
        assert_eq!(report.acknowledged, report.sent, "{report:?}");
    }
    let s = sink.snapshot();
    assert_eq!(s.items, s.distinct + s.duplicates);
    // Both runs started at seq 0: the second run's items are all duplicates of the first's.
    assert_eq!(s.distinct, 1_000);
    assert_eq!(s.duplicates, 1_000);
    assert_eq!(floor.stats()["forwarded_requests"], 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_reported_by_status_and_not_counted_as_received() {
    let sink = Arc::new(Sink::new(SinkOptions {
        delay: Duration::ZERO,
        fail_rate: 0.5,
    }));
    let (addr, _s) = start(sink.clone()).await;
    let report = generate::run(cfg(
        Signal::Logs,
        Protocol::Grpc,
        addr,
        Compression::None,
        2_000,
    ))
    .await
    .unwrap();
    let refused = report.refused.get("grpc:14").copied().unwrap_or(0);
    assert!(refused > 0 && report.acknowledged > 0, "{report:?}");
    assert_eq!(report.acknowledged + refused, report.sent, "{report:?}");
    let s = sink.snapshot();
    assert_eq!(s.distinct, report.acknowledged);
    assert_eq!(s.refused_items, refused);

    let sink = Arc::new(Sink::new(SinkOptions {
        delay: Duration::ZERO,
        fail_rate: 1.0,
    }));
    let (addr, _s) = start(sink.clone()).await;
    let report = generate::run(cfg(
        Signal::Logs,
        Protocol::Http,
        addr,
        Compression::None,
        500,
    ))
    .await
    .unwrap();
    assert_eq!(
        report.refused.get("http:503").copied(),
        Some(report.sent),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_rate_is_held_and_timeouts_are_errors() {
    let sink = Arc::new(Sink::new(SinkOptions::default()));
    let (addr, _s) = start(sink.clone()).await;
    let mut c = cfg(
        Signal::Traces,
        Protocol::Grpc,
        addr,
        Compression::None,
        u64::MAX / 4,
    );
    c.rate = 2_000;
    c.duration = Some(Duration::from_millis(1_500));
    let report = generate::run(c).await.unwrap();
    assert!((2_000..=3_200).contains(&report.sent), "{report:?}");

    let slow = Arc::new(Sink::new(SinkOptions {
        delay: Duration::from_secs(3),
        fail_rate: 0.0,
    }));
    let (addr, _s) = start(slow).await;
    let mut c = cfg(Signal::Traces, Protocol::Grpc, addr, Compression::None, 100);
    c.timeout = Duration::from_millis(200);
    c.connections = 1;
    c.in_flight = 1;
    let report = generate::run(c).await.unwrap();
    assert_eq!(
        report.errors.get("timeout").copied(),
        Some(100),
        "{report:?}"
    );
}

#[tokio::test]
async fn the_generator_refuses_non_loopback_targets() {
    let c = GenConfig::new(
        Signal::Traces,
        Protocol::Grpc,
        "192.0.2.1:4317".parse().unwrap(),
    );
    let err = generate::run(c).await.unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}
