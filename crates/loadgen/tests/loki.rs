//! The filelog benchmark's instruments: the pod log generator's format, the Loki sink's
//! counting (fed requests encoded here with prost, independently of the loadgen's own writer)
//! and the Loki floor shipping a generated tree to the sink. Loopback only.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use loadgen::lokifloor::{self, FloorLines, LokiFloorConfig};
use loadgen::lokisink::{self, LokiSink};
use loadgen::podlogs::{self, PodLogsConfig};
use prost::Message;
use tokio::sync::watch;

// `logproto.PushRequest` as Loki defines it (pkg/push/push.proto), for encoding and decoding
// in the tests only.
#[derive(Clone, PartialEq, prost::Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<StreamAdapter>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StreamAdapter {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    hash: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<ProtoTimestamp>,
    #[prost(string, tag = "2")]
    line: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoTimestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

fn entry(line: &str) -> EntryAdapter {
    EntryAdapter {
        timestamp: Some(ProtoTimestamp {
            seconds: 1_714_564_800,
            nanos: 5,
        }),
        line: line.to_string(),
    }
}

fn snappy(req: &PushRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ferrotel-loadgen-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn start_sink() -> (Arc<LokiSink>, SocketAddr, watch::Sender<bool>) {
    let sink = Arc::new(LokiSink::new());
    let (tx, rx) = watch::channel(false);
    let (l, addr) = loadgen::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    tokio::spawn(lokisink::serve(l, sink.clone(), rx));
    (sink, addr, tx)
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = sender
        .send_request(b.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

async fn stats(addr: SocketAddr) -> serde_json::Value {
    let (status, body) = request(addr, "GET", "/stats", &[], Vec::new()).await;
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loki_sink_counts_entries_line_bytes_streams_and_seqs_of_snappy_protobuf_pushes() {
    let (_sink, addr, _stop) = start_sink().await;
    let req = PushRequest {
        streams: vec![
            StreamAdapter {
                labels: r#"{job="a", pod="p1"}"#.into(),
                entries: vec![entry("seq=1 hello"), entry("seq=2 wörld")],
                hash: 0,
            },
            StreamAdapter {
                labels: r#"{job="a", pod="p2"}"#.into(),
                entries: vec![entry(r#"{"body":"seq=3 x"}"#), entry("no number")],
                hash: 7,
            },
        ],
    };
    let (status, body) = request(
        addr,
        "POST",
        "/loki/api/v1/push",
        &[PROTOBUF, ("x-scope-orgid", "team-a")],
        snappy(&req),
    )
    .await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    // The same first stream again: seq 1 and 2 become duplicates, the label set is not new.
    let again = PushRequest {
        streams: vec![req.streams[0].clone()],
    };
    let (status, _) = request(
        addr,
        "POST",
        "/loki/api/v1/push",
        &[PROTOBUF],
        snappy(&again),
    )
    .await;
    assert_eq!(status, 204);

    let s = stats(addr).await;
    assert_eq!(s["requests"], 2);
    assert_eq!(s["items"], 6);
    let line_bytes = [
        "seq=1 hello",
        "seq=2 wörld",
        r#"{"body":"seq=3 x"}"#,
        "no number",
    ]
    .iter()
    .map(|l| l.len())
    .sum::<usize>()
        + "seq=1 hello".len()
        + "seq=2 wörld".len();
    assert_eq!(s["bytes"], line_bytes as u64);
    assert_eq!(s["streams"], 3);
    assert_eq!(s["label_sets"], 2);
    assert_eq!(s["seqs"], 5);
    assert_eq!(s["distinct"], 3);
    assert_eq!(s["duplicates"], 2);
    assert_eq!(s["items_without_seq"], 1);
    assert_eq!(s["max_seq"], 3);
    assert_eq!(s["missing_below_max"], 1, "seq 0 was never sent");
    assert_eq!(s["tenants"], serde_json::json!(["", "team-a"]));
    assert_eq!(s["bad_requests"], 0);
    assert!(s["last_item_at_s"].as_f64().unwrap() >= s["first_item_at_s"].as_f64().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loki_sink_refuses_unreadable_pushes_without_counting_them() {
    let (_sink, addr, _stop) = start_sink().await;
    let req = PushRequest {
        streams: vec![StreamAdapter {
            labels: "{a=\"1\"}".into(),
            entries: vec![entry("seq=1 x")],
            hash: 0,
        }],
    };
    let plain = req.encode_to_vec();
    let mut truncated = plain.clone();
    truncated.pop();
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        // Protobuf without snappy.
        (vec![PROTOBUF], plain.clone(), 400),
        // Snappy of a truncated protobuf.
        (
            vec![PROTOBUF],
            snap::raw::Encoder::new().compress_vec(&truncated).unwrap(),
            400,
        ),
        // JSON pushes are not what the sink is for.
        (
            vec![("content-type", "application/json")],
            b"{}".to_vec(),
            415,
        ),
    ];
    for (headers, body, want) in cases {
        let (status, msg) = request(addr, "POST", "/loki/api/v1/push", &headers, body).await;
        assert_eq!(status, want, "{}", String::from_utf8_lossy(&msg));
    }
    let (status, _) = request(addr, "GET", "/loki/api/v1/push", &[], Vec::new()).await;
    assert_eq!(status, 405);
    // A gzip Content-Encoding around the snappy body is unwrapped first.
    let gz =
        loadgen::compress::Compressor::new(loadgen::compress::Compression::Gzip, None).unwrap();
    let mut wrapped = Vec::new();
    gz.compress_append(&snappy(&req), &mut wrapped).unwrap();
    let (status, _) = request(
        addr,
        "POST",
        "/loki/api/v1/push",
        &[PROTOBUF, ("content-encoding", "gzip")],
        wrapped,
    )
    .await;
    assert_eq!(status, 204);
    let s = stats(addr).await;
    assert_eq!(
        (s["requests"].as_u64(), s["items"].as_u64()),
        (Some(1), Some(1))
    );
    // The three unreadable pushes; a wrong method is not a push.
    assert_eq!(s["bad_requests"], 3);
}

/// The seed config's regexes (shared/configs/seed-agent-filelog.yaml), which every generated
/// line and path must match the way real pod logs do.
const CONTAINERD: &str =
    r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$";
const FILE_PATH: &str = r"^.*\/(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\-]{36})\/(?P<container_name>[^\._]+)\/(?P<restart_count>\d+)\.log$";

#[test]
fn generated_pod_logs_are_containerd_lines_in_a_var_log_pods_tree() {
    let root = temp_dir("podlogs");
    let mut cfg = PodLogsConfig::new(&root, 300_000, 100);
    cfg.pods = 5;
    cfg.partial_every = 7;
    let m = podlogs::write_tree(&cfg).unwrap();
    let containerd = regex::Regex::new(CONTAINERD).unwrap();
    let file_path = regex::Regex::new(FILE_PATH).unwrap();
    let time = regex::Regex::new(r"^2024-05-01T\d\d:\d\d:\d\d\.\d{9}Z$").unwrap();

    let files = podlogs::list_files(&root.join("pods")).unwrap();
    assert_eq!(files.len(), 5);
    assert_eq!(
        m.files,
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
    );
    let (mut lines, mut bytes, mut pairs) = (0u64, 0u64, 0u64);
    let mut seqs = HashSet::new();
    let mut first_lines = HashSet::new();
    let mut namespaces = HashSet::new();
    for f in &files {
        let path = f.display().to_string();
        let caps = file_path
            .captures(&path)
            .unwrap_or_else(|| panic!("{path}"));
        namespaces.insert(caps["namespace"].to_string());
        assert_eq!(&caps["restart_count"], "0");
        let text = std::fs::read_to_string(f).unwrap();
        bytes += text.len() as u64;
        assert!(text.ends_with('\n'));
        let file_lines: Vec<&str> = text.lines().collect();
        assert!(first_lines.insert(file_lines[0].to_string()), "{path}");
        let mut open_partial = false;
        for line in file_lines {
            lines += 1;
            let c = containerd
                .captures(line)
                .unwrap_or_else(|| panic!("not containerd: {line}"));
            assert!(time.is_match(&c["time"]), "{line}");
            let log = &c["log"];
            let seq: u64 = log
                .strip_prefix("seq=")
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no seq: {line}"));
            assert!(seqs.insert(seq), "seq {seq} twice");
            assert!(log.contains(" trace_id="), "{line}");
            match &c["logtag"] {
                "P" => {
                    assert!(!open_partial, "two P lines in a row: {line}");
                    assert_eq!(log.len(), 50, "{line}");
                    open_partial = true;
                    pairs += 1;
                }
                "F" if open_partial => {
                    assert_eq!(log.len(), 50, "{line}");
                    open_partial = false;
                }
                "F" => assert_eq!(log.len(), 100, "{line}"),
                other => panic!("logtag {other}"),
            }
        }
        assert!(!open_partial, "{path} ends inside a partial message");
    }
    assert!(namespaces.len() > 1);
    assert_eq!(m.lines, lines);
    assert_eq!(m.bytes, bytes);
    // Each file stops at the first whole line past its share.
    assert!((300_000..300_000 + 5 * 200).contains(&bytes), "{bytes}");
    assert_eq!(m.partial_pairs, pairs);
    assert!(pairs > 0);
    assert_eq!((m.seq_start, m.seq_end), (0, lines));
    assert_eq!(seqs.len() as u64, lines);
    let _ = std::fs::remove_dir_all(&root);
}

/// Captures push bodies (snappy-decoded) while answering 204.
async fn start_capture() -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let got = got.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: http::Request<_>| {
                    let got = got.clone();
                    async move {
                        assert_eq!(req.uri().path(), "/loki/api/v1/push");
                        assert_eq!(req.headers()["content-type"], "application/x-protobuf");
                        let body: hyper::body::Incoming = req.into_body();
                        let body = body.collect().await.unwrap().to_bytes();
                        let plain = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                        got.lock().unwrap().push(plain);
                        let mut r = http::Response::new(Full::new(Bytes::new()));
                        *r.status_mut() = http::StatusCode::NO_CONTENT;
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loki_floor_pushes_every_line_once_as_the_seeds_json_line_in_one_stream_per_file() {
    let root = temp_dir("floor");
    let mut cfg = PodLogsConfig::new(&root, 200_000, 100);
    cfg.pods = 3;
    let m = podlogs::write_tree(&cfg).unwrap();
    // A last line without a newline still counts as a line.
    let last = &m.files[2];
    const TAIL: &str = "2024-05-01T12:59:59.000000000Z stdout F seq=999999 tail \"q\"";
    let mut text = std::fs::read(last).unwrap();
    text.extend_from_slice(TAIL.as_bytes());
    std::fs::write(last, &text).unwrap();

    // Through the counting sink.
    let (_sink, addr, _stop) = start_sink().await;
    let mut fc = LokiFloorConfig::new(&m.pods_dir, addr);
    fc.batch = 100;
    fc.read_size = 4096; // lines straddle reads
    let report = lokifloor::run(fc.clone()).await.unwrap();
    assert_eq!(report.lines, m.lines + 1);
    assert_eq!(report.files, 3);
    assert_eq!(report.file_bytes, m.bytes + TAIL.len() as u64);
    assert_eq!(report.failed_requests, 0);
    assert_eq!(report.requests, (m.lines + 1).div_ceil(100));
    assert!(report.cpu_s > 0.0 && report.peak_rss_mib > 0.0);
    let s = stats(addr).await;
    assert_eq!(s["items"], m.lines + 1);
    assert_eq!(s["distinct"], m.lines + 1);
    assert_eq!(s["duplicates"], 0);
    assert_eq!(s["label_sets"], 3);
    assert_eq!(s["requests"], report.requests);

    // Through a capturing server: what the lines and labels look like, in both shapes.
    let first_file = std::fs::read_to_string(&m.files[0]).unwrap();
    let first_line = first_file.lines().next().unwrap();
    let uid_of = |file: &str| {
        let p = std::path::Path::new(file);
        let dir = p.parent().unwrap().parent().unwrap().file_name().unwrap();
        dir.to_str()
            .unwrap()
            .splitn(3, '_')
            .nth(2)
            .unwrap()
            .to_string()
    };
    // The Go exporter's json line for the seed config: the containerd groups and the path's
    // uid and restart count as attributes (keys sorted), the resource all in labels.
    let seed_line = |line: &str, file: &str| {
        let f: Vec<&str> = line.splitn(4, ' ').collect();
        serde_json::json!({
            "body": line,
            "attributes": {
                "log": f[3], "logtag": f[2], "restart_count": "0", "stream": f[1],
                "time": f[0], "uid": uid_of(file),
            }
        })
    };
    let mut labels = HashSet::new();
    for shape in [FloorLines::Seed, FloorLines::Body] {
        let (addr, bodies) = start_capture().await;
        fc.endpoint = addr;
        fc.lines = shape;
        lokifloor::run(fc.clone()).await.unwrap();
        let bodies = bodies.lock().unwrap();
        let mut lines = Vec::new();
        for b in bodies.iter() {
            let req = PushRequest::decode(&b[..]).unwrap();
            for s in req.streams {
                labels.insert(s.labels.clone());
                for e in s.entries {
                    assert!(e.timestamp.is_some_and(|t| t.seconds > 1_700_000_000));
                    lines.push(e.line);
                }
            }
        }
        assert_eq!(lines.len() as u64, m.lines + 1);
        // Two connections: requests may arrive in either order, so look the lines up.
        for (want, file) in [(first_line, &m.files[0]), (TAIL, &m.files[2])] {
            let json = match shape {
                FloorLines::Seed => seed_line(want, file),
                FloorLines::Body => serde_json::json!({ "body": want }),
            };
            assert!(
                lines
                    .iter()
                    .any(|l| serde_json::from_str::<serde_json::Value>(l).unwrap() == json),
                "no entry {json}"
            );
        }
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("{\"body\":\"2024-05-01T")
                    && l.contains("\"attributes\":{\"log\":") == (shape == FloorLines::Seed))
        );
    }
    let dir = std::path::Path::new(&m.files[0]);
    let pod_dir = dir.parent().unwrap().parent().unwrap().file_name().unwrap();
    let mut parts = pod_dir.to_str().unwrap().split('_');
    let (ns, pod) = (parts.next().unwrap(), parts.next().unwrap());
    assert!(labels.contains(&format!(
        "{{cluster=\"minikube\", container=\"{}\", exporter=\"OTLP\", filename=\"{}\", namespace=\"{ns}\", pod=\"{pod}\"}}",
        dir.parent().unwrap().file_name().unwrap().to_str().unwrap(),
        m.files[0]
    )));
    assert_eq!(labels.len(), 3);
    let _ = std::fs::remove_dir_all(&root);
}
