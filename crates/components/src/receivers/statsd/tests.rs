//! `statsd` through its factory: lines over real UDP, TCP and unixgram sockets on this
//! machine, flushed on a short interval.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pdata::proto::metrics::v1::{Metric, metric::Data, number_data_point::Value};
use pdata::{Batch, Request};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind, Receiver, Telemetry};

use super::Factory;
use crate::receivers::netlog::testutil::{free_port, parse_err};

#[derive(Default)]
struct Sink(Mutex<Vec<Batch>>);

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Sink {
    fn metrics(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for b in self.0.lock().unwrap().iter() {
            let Request::Metrics(r) = b.clone().into_request().unwrap() else {
                panic!()
            };
            for rm in r.resource_metrics {
                for sm in rm.scope_metrics {
                    out.extend(sm.metrics);
                }
            }
        }
        out
    }

    async fn wait_for(&self, n: usize) -> Vec<Metric> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.metrics().len() < n {
            assert!(Instant::now() < deadline, "got {:?}", self.metrics());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.metrics()
    }
}

async fn start(yaml: &str, sink: &Arc<Sink>) -> (Arc<dyn Receiver>, Telemetry) {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory.parse_config(&value, "receivers::statsd").unwrap();
    let telemetry = Telemetry::default();
    let set = Settings {
        id: config::ComponentId::new("statsd"),
        kind: Kind::Receiver,
        telemetry: telemetry.clone(),
    };
    let mut outputs = ReceiverOutputs::default();
    outputs.set(pdata::Signal::Metrics, sink.clone());
    let r = Factory.create(set, &cfg, outputs).unwrap();
    r.start(&Host::default()).await.unwrap();
    (r, telemetry)
}

fn by_name<'a>(ms: &'a [Metric], name: &str) -> &'a Metric {
    ms.iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} in {ms:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_lines_are_aggregated_per_interval() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let (r, telemetry) = start(
        &format!(
            "endpoint: 127.0.0.1:{port}\naggregation_interval: 300ms\nenable_metric_type: true\n"
        ),
        &sink,
    )
    .await;
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.send_to(
        b"hits:1|c|#route:/a\nhits:2|c|#route:/a\ntemp:20|g\n",
        ("127.0.0.1", port),
    )
    .unwrap();
    u.send_to(b"temp:-5|g\nbad line\nlat:12|ms", ("127.0.0.1", port))
        .unwrap();
    let ms = sink.wait_for(3).await;
    let Some(Data::Sum(s)) = &by_name(&ms, "hits").data else {
        panic!()
    };
    assert_eq!(s.data_points[0].value, Some(Value::AsInt(3)));
    assert!(!s.is_monotonic);
    let attrs: Vec<&str> = s.data_points[0]
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(attrs, ["metric_type", "route"]);
    let Some(Data::Gauge(g)) = &by_name(&ms, "temp").data else {
        panic!()
    };
    assert_eq!(g.data_points[0].value, Some(Value::AsDouble(15.0)));
    let Some(Data::Gauge(g)) = &by_name(&ms, "lat").data else {
        panic!()
    };
    assert_eq!(g.data_points[0].value, Some(Value::AsDouble(12.0)));
    assert_eq!(
        telemetry.value(
            "otelcol_receiver_accepted_metric_points",
            &[("receiver", "statsd"), ("transport", "udp")]
        ),
        Some(3.0)
    );
    r.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_lines_with_a_summary_observer() {
    let port = free_port();
    let sink = Arc::new(Sink::default());
    let (r, _) = start(
        &format!(
            "endpoint: 127.0.0.1:{port}
transport: tcp
aggregation_interval: 300ms
timer_histogram_mapping:
  - statsd_type: timing
    observer_type: summary
    summary: {{ percentiles: [50, 100] }}
"
        ),
        &sink,
    )
    .await;
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"t:1|ms\nt:2|ms\nt:").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(b"3|ms\n").unwrap();
    })
    .await
    .unwrap();
    let ms = sink.wait_for(1).await;
    let Some(Data::Summary(s)) = &ms[0].data else {
        panic!("{ms:?}")
    };
    let dp = &s.data_points[0];
    assert_eq!((dp.count, dp.sum), (3, 6.0));
    let q: Vec<(f64, f64)> = dp
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    assert_eq!(q, [(0.5, 2.0), (1.0, 3.0)]);
    r.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unixgram_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statsd.sock");
    let sink = Arc::new(Sink::default());
    let (r, _) = start(
        &format!(
            "endpoint: {}\ntransport: unixgram\naggregation_interval: 200ms\n",
            path.display()
        ),
        &sink,
    )
    .await;
    let c = std::os::unix::net::UnixDatagram::unbound().unwrap();
    c.send_to(b"u:4|c", &path).unwrap();
    let ms = sink.wait_for(1).await;
    assert_eq!(ms[0].name, "u");
    r.shutdown().await.unwrap();
}

#[test]
fn config_validation_matches_go() {
    let cases = [
        (
            "aggregation_interval: 0s",
            "aggregation_interval must be a positive duration",
        ),
        (
            "timer_histogram_mapping: [{statsd_type: counter, observer_type: gauge}]",
            "statsd_type is not a supported mapping for histogram and timing metrics: counter",
        ),
        (
            "timer_histogram_mapping: [{statsd_type: timer, observer_type: bogus}]",
            "observer_type is not supported for histogram and timing metrics: bogus",
        ),
        (
            "timer_histogram_mapping: [{statsd_type: timer, observer_type: histogram, histogram: {max_size: 1}}]",
            "histogram max_size out of range: 1",
        ),
        (
            "timer_histogram_mapping: [{statsd_type: timer, observer_type: gauge, histogram: {max_size: 100}}]",
            "histogram configuration requires observer_type: histogram",
        ),
        (
            "timer_histogram_mapping: [{statsd_type: timer, observer_type: summary, summary: {percentiles: [101]}}]",
            "summary percentiles out of [0, 100] range: 101",
        ),
        (
            "timer_histogram_mapping: [{statsd_type: timer}]",
            "must specify object id for all TimerHistogramMappings",
        ),
        ("transport: sctp", "unsupported transport \"sctp\""),
        ("bogus: 1", "bogus"),
    ];
    for (yaml, want) in cases {
        let err = parse_err(&Factory, yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
    let d = super::Config::default();
    assert_eq!(d.endpoint, "localhost:8125");
    assert_eq!(d.aggregation_interval.0, Duration::from_secs(60));
}
