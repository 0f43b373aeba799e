use std::io::Read as _;
use std::time::Duration;

use prost::Message as _;
use runtime::factory::{ExtensionFactory, typed};
use runtime::{Component, Host};

use super::*;

/// The CPU profiler and the one-instance rule are process-wide: these tests take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn parse(yaml: &str) -> Result<AnyConfig, ::config::ConfigError> {
    Factory.parse_config(
        &::config::Value::from_yaml_str(yaml).unwrap(),
        "extensions::pprof",
    )
}

async fn started(yaml: &str) -> (Pprof, SocketAddr) {
    let cfg = parse(yaml).unwrap();
    let p = Pprof::new("pprof".into(), typed::<Config>(&cfg).clone());
    p.start(&Host::default()).await.unwrap();
    let addr = p.local_addr().unwrap();
    (p, addr)
}

fn decode(gz: &[u8]) -> proto::Profile {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .expect("gzip");
    proto::Profile::decode(raw.as_slice()).expect("profile.proto")
}

/// Every function name a sample's stack goes through.
fn sampled_functions(p: &proto::Profile) -> Vec<String> {
    let mut names = Vec::new();
    for s in &p.sample {
        for id in &s.location_id {
            let loc = &p.location[(*id - 1) as usize];
            assert_eq!(loc.id, *id);
            for line in &loc.line {
                let f = &p.function[(line.function_id - 1) as usize];
                names.push(p.string_table[f.name as usize].clone());
            }
        }
    }
    names
}

#[inline(never)]
fn pprof_test_burn(until: std::time::Instant) -> u64 {
    let mut x = 0u64;
    while std::time::Instant::now() < until {
        for i in 0..10_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
    x
}

#[test]
fn defaults_and_keys_are_the_contrib_extensions() {
    let cfg = parse("").unwrap();
    let c: &Config = typed(&cfg);
    assert_eq!(c.endpoint, "localhost:1777");
    assert_eq!(c.block_profile_fraction, 0);
    assert_eq!(c.mutex_profile_fraction, 0);
    assert_eq!(c.save_to_file, "");
    let cfg = parse(
        "endpoint: 0.0.0.0:1778\nblock_profile_fraction: 3\nmutex_profile_fraction: 5\nsave_to_file: /tmp/x.pprof\n",
    )
    .unwrap();
    let c: &Config = typed(&cfg);
    assert_eq!(
        (
            c.endpoint.as_str(),
            c.block_profile_fraction,
            c.mutex_profile_fraction,
            c.save_to_file.as_str()
        ),
        ("0.0.0.0:1778", 3, 5, "/tmp/x.pprof")
    );
    let e = parse("nope: 1").unwrap_err().to_string();
    assert!(e.starts_with("extensions::pprof"), "{e}");
    assert!(e.contains("nope"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_is_a_gzipped_profile_proto_of_this_process_and_one_at_a_time() {
    let _serial = SERIAL.lock().await;
    let (p, addr) = started("endpoint: 127.0.0.1:0").await;
    tokio::task::spawn_blocking(profile::warm_up).await.unwrap();
    let burner = std::thread::spawn(|| {
        pprof_test_burn(std::time::Instant::now() + Duration::from_millis(2500))
    });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/debug/pprof/profile?seconds=1");
    let first = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move { client.get(url).send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A second profile while the first runs: Go's error.
    let second = client.get(&url).send().await.unwrap();
    assert_eq!(second.status(), 500);
    assert_eq!(second.headers()["x-go-pprof"], "1");
    assert_eq!(
        second.text().await.unwrap(),
        "Could not enable CPU profiling: cpu profiling already in use\n"
    );
    let resp = first.await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"profile\""
    );
    let body = resp.bytes().await.unwrap();
    burner.join().unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic");
    let prof = decode(&body);
    let st = |i: usize| {
        let v = &prof.sample_type[i];
        (
            prof.string_table[v.r#type as usize].as_str(),
            prof.string_table[v.unit as usize].as_str(),
        )
    };
    assert_eq!(st(0), ("samples", "count"));
    assert_eq!(st(1), ("cpu", "nanoseconds"));
    assert_eq!(prof.period, 10_000_000, "100 Hz as Go");
    assert_eq!(prof.string_table[0], "");
    assert!(
        prof.duration_nanos >= 900_000_000,
        "{}",
        prof.duration_nanos
    );
    assert!(!prof.sample.is_empty());
    for s in &prof.sample {
        assert_eq!(s.value.len(), 2);
        assert_eq!(s.value[1], s.value[0] * prof.period);
    }
    let names = sampled_functions(&prof);
    assert!(
        names.iter().any(|n| n.contains("pprof_test_burn")),
        "the busy function is sampled: {:?}",
        &names[..names.len().min(40)]
    );
    // And the profiler is free again.
    let again = client
        .get(format!("http://{addr}/debug/pprof/profile?seconds=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn go_runtime_profiles_say_they_do_not_exist_and_the_index_lists_what_does() {
    let _serial = SERIAL.lock().await;
    let (p, addr) = started("endpoint: 127.0.0.1:0").await;
    let client = reqwest::Client::new();
    for name in [
        "goroutine",
        "heap",
        "allocs",
        "block",
        "mutex",
        "threadcreate",
        "trace",
    ] {
        let r = client
            .get(format!("http://{addr}/debug/pprof/{name}?debug=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{name}");
        let text = r.text().await.unwrap();
        assert!(
            text.starts_with(&format!(
                "Unknown profile: {name} is a profile of the Go runtime"
            )),
            "{text}"
        );
    }
    let r = client
        .get(format!("http://{addr}/debug/pprof/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "Unknown profile\n");
    let r = client
        .get(format!("http://{addr}/debug/pprof/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let html = r.text().await.unwrap();
    assert!(html.contains("href='profile?seconds=30'"), "{html}");
    let r = client
        .get(format!("http://{addr}/debug/pprof/cmdline"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cmdline = r.text().await.unwrap();
    assert_eq!(cmdline, std::env::args().collect::<Vec<_>>().join("\0"));
    let r = client
        .get(format!("http://{addr}/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "404 page not found\n");
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_one_instance_runs_per_process_as_in_go() {
    let _serial = SERIAL.lock().await;
    let (p, _) = started("endpoint: 127.0.0.1:0").await;
    let cfg = parse("endpoint: 127.0.0.1:0").unwrap();
    let other = Pprof::new("pprof/2".into(), typed::<Config>(&cfg).clone());
    assert_eq!(
        other.start(&Host::default()).await.unwrap_err(),
        "only a single pprof extension instance can be running per process"
    );
    p.shutdown().await.unwrap();
    // Once stopped, another may start.
    other.start(&Host::default()).await.unwrap();
    other.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_to_file_writes_the_runs_cpu_profile_at_shutdown() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cpu.pprof");
    let (p, addr) = started(&format!(
        "endpoint: 127.0.0.1:0\nsave_to_file: {}",
        file.display()
    ))
    .await;
    assert!(file.exists(), "created at start, as Go does");
    // The run's profile holds the profiler, as in Go.
    let r = reqwest::get(format!("http://{addr}/debug/pprof/profile?seconds=1"))
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    pprof_test_burn(std::time::Instant::now() + Duration::from_millis(500));
    p.shutdown().await.unwrap();
    let prof = decode(&std::fs::read(&file).unwrap());
    assert!(!prof.sample.is_empty());
    assert!(
        sampled_functions(&prof)
            .iter()
            .any(|n| n.contains("pprof_test_burn")),
        "the run's work is in the profile"
    );
}

#[tokio::test]
async fn save_to_file_that_cannot_be_created_fails_start() {
    let _serial = SERIAL.lock().await;
    let cfg = parse("endpoint: 127.0.0.1:0\nsave_to_file: /nonexistent-dir/x/cpu.pprof").unwrap();
    let p = Pprof::new("pprof".into(), typed::<Config>(&cfg).clone());
    let e = p.start(&Host::default()).await.unwrap_err();
    assert!(e.starts_with("open /nonexistent-dir/x/cpu.pprof: "), "{e}");
    // The failed start released the one-instance slot and the port.
    let (ok, _) = started("endpoint: 127.0.0.1:0").await;
    ok.shutdown().await.unwrap();
}
