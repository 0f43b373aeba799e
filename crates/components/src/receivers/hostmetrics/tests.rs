use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pdata::proto::metrics::v1::{metric::Data, number_data_point::Value};
use pdata::{Batch, Request};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind, Telemetry};

use super::{Config, Factory};

fn parse(yaml: &str) -> Result<Config, String> {
    let value = ::config::Value::from_yaml_str(yaml).expect("test yaml");
    Config::parse(&value, "receivers::hostmetrics").map_err(|e| e.to_string())
}

/// The fixture host of the hostmetrics crate (a fixed procfs).
fn fixture_root() -> String {
    format!(
        "{}/../hostmetrics/testdata/host1",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn defaults_are_go_s_one_minute_interval_and_one_second_delay() {
    let cfg = parse("scrapers:\n  cpu:\n").unwrap();
    assert_eq!(cfg.collection_interval, Duration::from_secs(60));
    assert_eq!(cfg.initial_delay, Duration::from_secs(1));
    assert_eq!(cfg.root_path, "");
    assert_eq!(
        cfg.scrapers.iter().map(|s| s.key()).collect::<Vec<_>>(),
        ["cpu"]
    );
}

#[test]
fn seed_config_parses() {
    // shared/configs/seed-hostmetrics.yaml
    let cfg =
        parse("collection_interval: 10s\nscrapers:\n  cpu:\n  memory:\n  network:\n  load:\n")
            .unwrap();
    assert_eq!(cfg.collection_interval, Duration::from_secs(10));
    assert_eq!(
        cfg.scrapers.iter().map(|s| s.key()).collect::<Vec<_>>(),
        ["cpu", "memory", "network", "load"]
    );
}

#[test]
fn config_errors_read_as_go() {
    let cases = [
        (
            "collection_interval: 10s\n",
            "receivers::hostmetrics: must specify at least one scraper when using hostmetrics receiver",
        ),
        (
            "scrapers:\n  cpus:\n",
            "receivers::hostmetrics: invalid scraper key: cpus",
        ),
        (
            "scrapers:\n  nfs:\n",
            "receivers::hostmetrics: scraper \"nfs\" is not built in ferrotel yet (built: cpu, disk, filesystem, load, memory, network, paging, process, processes, system)",
        ),
        (
            "scrapers:\n  cpu:\n    metrics:\n      system.cpu.utilisation:\n        enabled: true\n",
            "receivers::hostmetrics::scrapers::cpu: error reading settings for scraper type \"cpu\": metrics: has invalid keys: system.cpu.utilisation",
        ),
        (
            "scrapers:\n  load:\n    cpu_avg: true\n",
            "receivers::hostmetrics::scrapers::load: has invalid keys: cpu_avg",
        ),
        (
            "collection_interval: 0s\nscrapers:\n  cpu:\n",
            "receivers::hostmetrics: \"collection_interval\": requires positive value",
        ),
        (
            "root_path: /no/such/dir\nscrapers:\n  cpu:\n",
            "receivers::hostmetrics: invalid root_path: stat /no/such/dir: no such file or directory",
        ),
        (
            "scrapers:\n  network:\n    include:\n      interfaces: [lo]\n",
            "receivers::hostmetrics::scrapers::network: error reading settings for scraper type \"network\": error creating network interface include filters: unrecognized match_type: '', valid types are: [regexp strict]",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(parse(yaml).unwrap_err(), want, "{yaml}");
    }
}

#[test]
fn unknown_top_level_keys_are_ignored_as_go_decodes_them() {
    assert!(parse("scrapers:\n  cpu:\nsomething_else: 1\n").is_ok());
}

#[derive(Default)]
struct Collect(Mutex<Vec<(Instant, Batch)>>);

#[async_trait]
impl Consumer for Collect {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.lock().unwrap().push((Instant::now(), batch));
        Ok(())
    }
}

#[tokio::test]
async fn scrapes_the_root_path_host_after_the_initial_delay_on_every_interval() {
    let yaml = format!(
        "collection_interval: 100ms\ninitial_delay: 300ms\nroot_path: {}\nscrapers:\n  load:\n  memory:\n",
        fixture_root()
    );
    let value = ::config::Value::from_yaml_str(&yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "receivers::host_metrics")
        .unwrap();
    let sink = Arc::new(Collect::default());
    let tel = Telemetry::default();
    let set = Settings {
        id: ::config::ComponentId::new("host_metrics"),
        kind: Kind::Receiver,
        telemetry: tel.clone(),
    };
    let outputs = ReceiverOutputs {
        metrics: Some(sink.clone()),
        ..Default::default()
    };
    let r = Factory.create(set, &cfg, outputs).unwrap();
    let started = Instant::now();
    r.start(&Host::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(650)).await;
    r.shutdown().await.unwrap();
    let got = sink.0.lock().unwrap();
    assert!(
        (2..=5).contains(&got.len()),
        "one batch per tick after the delay, got {}",
        got.len()
    );
    assert!(got[0].0 - started >= Duration::from_millis(290));
    let Request::Metrics(req) = got[0].1.clone().into_request().unwrap() else {
        panic!("metrics")
    };
    // one resource per scraper, each with its own scope, in the config's order
    let scopes: Vec<&str> = req
        .resource_metrics
        .iter()
        .map(|rm| rm.scope_metrics[0].scope.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(
        scopes,
        [
            "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/loadscraper",
            "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/memoryscraper",
        ]
    );
    let load1 = &req.resource_metrics[0].scope_metrics[0].metrics[1];
    assert_eq!(load1.name, "system.cpu.load_average.1m");
    let Some(Data::Gauge(g)) = &load1.data else {
        panic!("gauge")
    };
    assert_eq!(g.data_points[0].value, Some(Value::AsDouble(0.52)));
    assert_eq!(
        g.data_points[0].start_time_unix_nano, 1_062_191_376_000_000_000,
        "boot time of the fixture"
    );
    let points_per_tick = 3.0 + 6.0;
    let labels = [("receiver", "host_metrics")];
    assert_eq!(
        tel.value("otelcol_receiver_accepted_metric_points", &labels),
        Some(points_per_tick * got.len() as f64)
    );
    assert_eq!(
        tel.value(
            "otelcol_scraper_scraped_metric_points",
            &[("receiver", "host_metrics"), ("scraper", "memory")]
        ),
        Some(6.0 * got.len() as f64)
    );
}

#[tokio::test]
async fn a_scraper_that_cannot_read_the_boot_time_fails_the_start() {
    let dir = std::env::temp_dir().join(format!("hm-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = format!("root_path: {}\nscrapers:\n  cpu:\n", dir.display());
    let value = ::config::Value::from_yaml_str(&yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "receivers::host_metrics")
        .unwrap();
    let set = Settings {
        id: ::config::ComponentId::new("host_metrics"),
        kind: Kind::Receiver,
        telemetry: Telemetry::default(),
    };
    let outputs = ReceiverOutputs {
        metrics: Some(Arc::new(Collect::default())),
        ..Default::default()
    };
    let r = Factory.create(set, &cfg, outputs).unwrap();
    let e = r.start(&Host::default()).await.unwrap_err();
    assert!(
        e.starts_with("failed to start the cpu scraper: open ")
            && e.ends_with("/proc/stat: no such file or directory"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
