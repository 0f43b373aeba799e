use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{ProcessorFactory, Settings, typed};
use runtime::{Component, ConsumeError, Consumer, Host, Kind, Telemetry};

use super::*;

const MIB: u64 = 1024 * 1024;

struct Count(AtomicUsize);

#[async_trait]
impl Consumer for Count {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.fetch_add(batch.item_count(), Ordering::Relaxed);
        Ok(())
    }
}

fn parse(yaml: &str) -> Result<runtime::AnyConfig, ::config::ConfigError> {
    Factory.parse_config(
        &::config::Value::from_yaml_str(yaml).unwrap(),
        "processors::memory_limiter",
    )
}

fn parse_err(yaml: &str) -> String {
    parse(yaml).expect_err(yaml).to_string()
}

fn logs(n: usize) -> Batch {
    Batch::from_request(Request::Logs(pdata::testdata::logs(1, n, 3)))
}

async fn started(yaml: &str) -> (Arc<dyn runtime::Processor>, Arc<Count>, Telemetry) {
    let tel = Telemetry::default();
    let set = Settings {
        id: ::config::ComponentId::new("memory_limiter"),
        kind: Kind::Processor,
        telemetry: tel.clone(),
    };
    let sink = Arc::new(Count(AtomicUsize::new(0)));
    let cfg = parse(yaml).unwrap();
    let p = Factory
        .create(set, &cfg, Signal::Logs, sink.clone())
        .unwrap();
    p.start(&Host::default()).await.unwrap();
    (p, sink, tel)
}

fn value(tel: &Telemetry, name: &str) -> Option<f64> {
    tel.value(name, &[("processor", "memory_limiter")])
}

#[test]
fn config_validation_uses_the_go_messages() {
    assert_eq!(
        *typed::<Config>(&parse("check_interval: 1s\nlimit_mib: 100").unwrap()),
        Config {
            check_interval: ::config::Duration::from_secs(1),
            limit_mib: 100,
            ..Config::default()
        }
    );
    assert!(parse_err("limit_mib: 100").contains("'check_interval' must be greater than zero"));
    assert!(
        parse_err("check_interval: 1s")
            .contains("'limit_mib' or 'limit_percentage' must be greater than zero")
    );
    assert!(
        parse_err("check_interval: 1s\nlimit_mib: 100\nspike_limit_mib: 100")
            .contains("'spike_limit_mib' must be smaller than 'limit_mib'")
    );
    assert!(
        parse_err("check_interval: 1s\nlimit_percentage: 50\nspike_limit_percentage: 60")
            .contains("'spike_limit_percentage' must be smaller than 'limit_percentage'")
    );
    assert!(
        parse_err("check_interval: 1s\nlimit_percentage: 101")
            .contains("less than or equal to hundred")
    );
    assert!(
        parse_err("check_interval: 1s\nlimit_mib: 10\nmin_gc_interval_when_soft_limited: 1s\nmin_gc_interval_when_hard_limited: 5s")
            .contains("'min_gc_interval_when_soft_limited' should be larger than 'min_gc_interval_when_hard_limited'")
    );
    let err = parse_err("limit_mib: 100");
    assert!(err.contains("processors::memory_limiter"), "{err}");
    assert!(
        parse("check_interval: 1s\nlimit_mib: 10\nmax_gc_interval_when_soft_limited: 1m").is_ok()
    );
    assert!(
        parse("check_interval: 1s\nlimit_mib: 10\nballast_size_mib: 5").is_err(),
        "unknown keys are errors"
    );
}

#[test]
fn spike_limit_defaults_to_a_fifth_of_the_limit() {
    let cfg = Config {
        limit_mib: 1000,
        ..Config::default()
    };
    let l = Limits::from_config(&cfg, || unreachable!("fixed limits need no total")).unwrap();
    assert_eq!(
        l,
        Limits {
            hard: 1000 * MIB,
            soft: 800 * MIB
        }
    );
    let cfg = Config {
        limit_mib: 1000,
        spike_limit_mib: 300,
        ..Config::default()
    };
    assert_eq!(Limits::from_config(&cfg, || Ok(0)).unwrap().soft, 700 * MIB);
}

#[test]
fn percentage_limits_are_taken_of_total_memory() {
    let total = parse_meminfo_total("MemTotal:       16384000 kB\nMemFree:  10 kB\n").unwrap();
    assert_eq!(total, 16_384_000 * 1024);
    let cfg = Config {
        limit_percentage: 80,
        spike_limit_percentage: 25,
        ..Config::default()
    };
    assert_eq!(
        Limits::from_config(&cfg, || Ok(total)).unwrap(),
        Limits {
            hard: total * 80 / 100,
            soft: total * 55 / 100
        }
    );
    let cfg = Config {
        limit_percentage: 50,
        ..Config::default()
    };
    let l = Limits::from_config(&cfg, || Ok(1000 * MIB)).unwrap();
    assert_eq!(
        l,
        Limits {
            hard: 500 * MIB,
            soft: 400 * MIB
        }
    );
    let err = Limits::from_config(&cfg, || Err("no /proc".into())).unwrap_err();
    assert_eq!(
        err,
        "failed to get total memory, use fixed memory settings (limit_mib): no /proc"
    );
}

#[test]
fn meminfo_and_cgroup_files_are_parsed() {
    assert_eq!(parse_meminfo_total("MemFree: 1 kB\n"), None);
    assert_eq!(parse_meminfo_total("MemTotal: abc kB\n"), None);
    assert_eq!(parse_cgroup_v2_max("536870912\n"), Some(512 * MIB));
    assert_eq!(parse_cgroup_v2_max("max\n"), None);
    assert_eq!(parse_cgroup_v2_max("garbage"), None);
    assert_eq!(parse_cgroup_v1_limit("268435456\n"), Some(256 * MIB));
    assert_eq!(
        parse_cgroup_v1_limit("9223372036854771712\n"),
        None,
        "v1 writes 'no limit' as a huge number"
    );
    assert_eq!(
        parse_proc_self_cgroup("0::/system.slice/otel.service\n"),
        (Some("/system.slice/otel.service".into()), None)
    );
    assert_eq!(
        parse_proc_self_cgroup(
            "12:cpu,cpuacct:/a\n4:memory:/kubepods/pod1/c1\n1:name=systemd:/x\n"
        ),
        (None, Some("/kubepods/pod1/c1".into()))
    );
    assert_eq!(parse_proc_self_cgroup("not a cgroup file"), (None, None));
}

#[test]
fn total_memory_of_this_machine_is_positive() {
    let total = total_memory().expect("linux /proc");
    assert!(total > 64 * MIB, "{total}");
}

#[test]
fn check_refuses_above_soft_limit_releases_above_hard_and_recovers() {
    let used = Arc::new(AtomicU64::new(10 * MIB));
    let releases = Arc::new(AtomicUsize::new(0));
    let cfg = Config {
        min_gc_interval_when_soft_limited: ::config::Duration::from_secs(3600),
        ..Config::default()
    };
    let (u, r) = (used.clone(), releases.clone());
    let limiter = Limiter::with_probes(
        "memory_limiter".into(),
        &cfg,
        Limits {
            hard: 100 * MIB,
            soft: 80 * MIB,
        },
        move || Some(u.load(Ordering::Relaxed)),
        move || {
            r.fetch_add(1, Ordering::Relaxed);
        },
    );
    assert_eq!(limiter.check(), Transition::None);
    assert!(!limiter.must_refuse());

    used.store(85 * MIB, Ordering::Relaxed);
    assert_eq!(limiter.check(), Transition::StartedRefusing);
    assert!(limiter.must_refuse());
    assert_eq!(
        releases.load(Ordering::Relaxed),
        1,
        "a release is tried on entering the soft limit"
    );

    used.store(120 * MIB, Ordering::Relaxed);
    assert_eq!(limiter.check(), Transition::None);
    assert_eq!(
        releases.load(Ordering::Relaxed),
        2,
        "above the hard limit memory is released (min interval 0)"
    );

    used.store(50 * MIB, Ordering::Relaxed);
    assert_eq!(limiter.check(), Transition::StoppedRefusing);
    assert!(!limiter.must_refuse());
}

#[test]
fn while_refusing_memory_is_released_again_once_the_soft_interval_has_passed() {
    let used = Arc::new(AtomicU64::new(85 * MIB));
    let releases = Arc::new(AtomicUsize::new(0));
    let cfg = Config {
        min_gc_interval_when_soft_limited: ::config::Duration::from_millis(20),
        ..Config::default()
    };
    let (u, r) = (used.clone(), releases.clone());
    // The first release finds nothing to give back; by the second, what was in flight has
    // drained and been freed.
    let release = move || {
        if r.fetch_add(1, Ordering::Relaxed) >= 1 {
            u.store(60 * MIB, Ordering::Relaxed);
        }
    };
    let u = used.clone();
    let limiter = Limiter::with_probes(
        "memory_limiter".into(),
        &cfg,
        Limits {
            hard: 100 * MIB,
            soft: 80 * MIB,
        },
        move || Some(u.load(Ordering::Relaxed)),
        release,
    );
    assert_eq!(limiter.check(), Transition::StartedRefusing);
    assert_eq!(limiter.check(), Transition::None);
    assert_eq!(
        releases.load(Ordering::Relaxed),
        1,
        "not before the interval"
    );
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        limiter.check(),
        Transition::StoppedRefusing,
        "released again while refusing, not only when refusing began"
    );
    assert_eq!(releases.load(Ordering::Relaxed), 2);
}

#[test]
fn a_release_that_brings_memory_below_the_soft_limit_avoids_refusing() {
    let used = Arc::new(AtomicU64::new(90 * MIB));
    let u = used.clone();
    let u2 = used.clone();
    let limiter = Limiter::with_probes(
        "memory_limiter".into(),
        &Config::default(),
        Limits {
            hard: 100 * MIB,
            soft: 80 * MIB,
        },
        move || Some(u.load(Ordering::Relaxed)),
        move || u2.store(40 * MIB, Ordering::Relaxed),
    );
    assert_eq!(limiter.check(), Transition::None);
    assert!(!limiter.must_refuse());
}

#[tokio::test]
async fn above_the_limit_consume_is_refused_with_a_retryable_error_and_counted() {
    // 1 MiB is below the resident memory of any test process.
    let (p, sink, tel) = started("check_interval: 1s\nlimit_mib: 1").await;
    let err = p.consume(logs(5)).await.expect_err("refused");
    assert!(err.is_retryable());
    assert_eq!(err.message, "data refused due to high memory usage");
    assert_eq!(err.http_status(), 503);
    assert_eq!(sink.0.load(Ordering::Relaxed), 0);
    assert_eq!(
        value(&tel, "otelcol_processor_memory_limiter_refused_log_records"),
        Some(5.0)
    );
    assert_eq!(
        value(
            &tel,
            "otelcol_processor_memory_limiter_accepted_log_records"
        ),
        Some(0.0)
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn below_the_limit_data_passes_through_and_is_counted() {
    let (p, sink, tel) = started("check_interval: 10ms\nlimit_mib: 1000000").await;
    p.consume(logs(7)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await; // a few checks run
    p.consume(logs(3)).await.unwrap();
    assert_eq!(sink.0.load(Ordering::Relaxed), 10);
    assert_eq!(
        value(
            &tel,
            "otelcol_processor_memory_limiter_accepted_log_records"
        ),
        Some(10.0)
    );
    assert_eq!(
        value(&tel, "otelcol_processor_memory_limiter_refused_log_records"),
        Some(0.0)
    );
    assert_eq!(value(&tel, "otelcol_processor_outgoing_items"), Some(10.0));
    p.shutdown().await.unwrap();
}

/// A memory_limiter processor for logs whose memory reading is `usage`, feeding `sink`.
fn probed(
    cfg: &Config,
    usage: impl Fn() -> Option<u64> + Send + Sync + 'static,
    sink: SharedConsumer,
    admission: Admission,
) -> MemoryLimiter {
    let limiter = Arc::new(Limiter::with_probes(
        "memory_limiter".into(),
        cfg,
        Limits::from_config(cfg, || Ok(0)).unwrap(),
        usage,
        || {},
    ));
    let set = Settings {
        id: ::config::ComponentId::new("memory_limiter"),
        kind: Kind::Processor,
        telemetry: Telemetry::default(),
    };
    MemoryLimiter::new(
        &set,
        Signal::Logs,
        cfg.check_interval.0,
        limiter,
        sink,
        admission,
    )
}

#[tokio::test]
async fn the_background_check_picks_up_changes_between_consumes() {
    let used = Arc::new(AtomicU64::new(10 * MIB));
    let u = used.clone();
    let cfg = Config {
        check_interval: ::config::Duration::from_millis(10),
        limit_mib: 100,
        ..Config::default()
    };
    let sink = Arc::new(Count(AtomicUsize::new(0)));
    let admission = Admission::new();
    let p = probed(
        &cfg,
        move || Some(u.load(Ordering::Relaxed)),
        sink.clone(),
        admission.clone(),
    );
    p.start(&Host::default()).await.unwrap();
    p.consume(logs(1)).await.unwrap();
    assert!(!admission.under_pressure());
    used.store(95 * MIB, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        p.consume(logs(1)).await.is_err(),
        "refused after the check saw 95 MiB"
    );
    assert!(
        admission.under_pressure(),
        "receivers are told to refuse too"
    );
    used.store(10 * MIB, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!admission.under_pressure(), "cleared by the periodic check");
    p.consume(logs(1))
        .await
        .expect("accepted again after recovery");
    p.shutdown().await.unwrap();
    assert_eq!(sink.0.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_running_limiter_sets_the_read_budget_and_its_pressure_ends_with_shutdown() {
    let cfg = Config {
        check_interval: ::config::Duration::from_secs(3600),
        limit_mib: 100,
        spike_limit_mib: 30,
        ..Config::default()
    };
    let admission = Admission::new();
    let p = probed(
        &cfg,
        || Some(99 * MIB),
        Arc::new(Count(AtomicUsize::new(0))),
        admission.clone(),
    );
    assert_eq!(admission.read_budget(), None, "nothing before start");
    p.start(&Host::default()).await.unwrap();
    assert_eq!(
        admission.read_budget(),
        Some(30 * MIB / 4),
        "a quarter of the spike limit"
    );
    assert!(admission.under_pressure(), "the check in start saw 99 MiB");
    p.shutdown().await.unwrap();
    assert!(
        !admission.under_pressure(),
        "a stopped limiter refuses nothing"
    );
    assert_eq!(admission.read_budget(), None);
}

#[tokio::test]
async fn a_burst_is_refused_before_the_next_periodic_check() {
    let used = Arc::new(AtomicU64::new(10 * MIB));
    let u = used.clone();
    // A periodic check far in the future: only the data-path re-check can notice the burst.
    let cfg = Config {
        check_interval: ::config::Duration::from_secs(3600),
        limit_mib: 100,
        ..Config::default()
    };
    let sink = Arc::new(Count(AtomicUsize::new(0)));
    let p = probed(
        &cfg,
        move || Some(u.load(Ordering::Relaxed)),
        sink.clone(),
        Admission::new(),
    );
    p.start(&Host::default()).await.unwrap();
    p.consume(logs(1)).await.unwrap();
    used.store(95 * MIB, Ordering::Relaxed);
    tokio::time::sleep(limiter::MAX_VERDICT_AGE * 2).await;
    let err = p
        .consume(logs(1))
        .await
        .expect_err("refused on the data path");
    assert!(err.is_retryable());
    p.shutdown().await.unwrap();
    assert_eq!(sink.0.load(Ordering::Relaxed), 1);
}
