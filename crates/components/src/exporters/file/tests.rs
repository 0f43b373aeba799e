use std::io::Read;
use std::path::Path;

use ::config::{ComponentId, Value};
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::{Batch, Request, Signal};
use runtime::factory::{ExporterFactory, Settings};
use runtime::{Exporter, Host, Kind, Telemetry};

use super::writer::{clean, group_path};
use super::{Config, Factory};

fn parse(yaml: &str) -> Result<Config, String> {
    let v = Value::from_yaml_str(yaml).unwrap();
    Factory
        .parse_config(&v, "exporters::file")
        .map(|c| c.downcast_ref::<Config>().unwrap().clone())
        .map_err(|e| e.to_string())
}

fn exporter(yaml: &str, signal: Signal) -> std::sync::Arc<dyn Exporter> {
    let v = Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory.parse_config(&v, "exporters::file").unwrap();
    let set = Settings {
        id: ComponentId::new("file"),
        kind: Kind::Exporter,
        telemetry: Telemetry::default(),
    };
    Factory.create(set, &cfg, signal).unwrap()
}

fn traces() -> Request {
    pdata::testdata::request(Signal::Traces, 2, 3, 11)
}

#[test]
fn file_config_defaults_match_go() {
    let c = parse("path: ./foo").unwrap();
    assert_eq!(c.format, "json");
    assert_eq!(c.rotation, None);
    assert_eq!(c.flush_every(), std::time::Duration::from_secs(1));
    assert!(!c.group_by.enabled);
    assert_eq!(c.group_by.resource_attribute, "fileexporter.path_segment");
    assert_eq!(c.group_by.max_open_files, 100);
    // `rotation:` with no value turns rotation on with the defaults.
    let c = parse("path: ./foo\nrotation:\n").unwrap();
    let r = c.rotation.unwrap();
    assert_eq!(
        (r.max_megabytes, r.max_days, r.max_backups, r.localtime),
        (0, 0, 100, false)
    );
    let c = parse("path: ./foo\nrotation:\n  max_megabytes: 10\n  max_days: 3\n  max_backups: 3\n  localtime: true\nformat: proto\ncompression: zstd\n").unwrap();
    let r = c.rotation.unwrap();
    assert_eq!(
        (r.max_megabytes, r.max_days, r.max_backups, r.localtime),
        (10, 3, 3, true)
    );
    // Empty sections are Go's zero values on top of the defaults.
    let c = parse("path: ./foo\ngroup_by:\n").unwrap();
    assert_eq!(c.group_by.max_open_files, 100);
    assert!(!c.zstd());
    // A number without unit is nanoseconds, as Go's `time.Duration`.
    let c = parse("path: ./foo\nflush_interval: 5").unwrap();
    assert_eq!(c.flush_every(), std::time::Duration::from_nanos(5));
}

#[test]
fn file_config_validation_messages_match_go() {
    let cases: &[(&str, &str)] = &[
        ("format: json", "path must be non-empty"),
        (
            "path: x\nappend: true\ncompression: zstd",
            "append and compression enabled at the same time is not supported",
        ),
        (
            "path: x\nappend: true\nrotation:",
            "append and rotation enabled at the same time is not supported",
        ),
        ("path: x\nformat: text", "format type is not supported"),
        ("path: x\ncompression: gzip", "compression is not supported"),
        (
            "path: x\ngroup_by:\n  enabled: true",
            "path must contain exactly one * when group_by is enabled",
        ),
        (
            "path: a/*/b/*\ngroup_by:\n  enabled: true",
            "path must contain exactly one * when group_by is enabled",
        ),
        (
            "path: '*.json'\ngroup_by:\n  enabled: true",
            "path must not start with * when group_by is enabled",
        ),
        (
            "path: 'a/*.json'\ngroup_by:\n  enabled: true\n  resource_attribute: ''",
            "resource_attribute must not be empty when group_by is enabled",
        ),
        (
            "path: a/x\ndirectory_permissions: '0755'",
            "directory_permissions requires create_directory to be true",
        ),
        (
            "path: a/x\ncreate_directory: true\ndirectory_permissions: '0799'",
            "directory_permissions value must be a valid octal representation",
        ),
        (
            "path: a/x\ncreate_directory: true\ndirectory_permissions: '1777'",
            "directory_permissions contain invalid bits for file access",
        ),
    ];
    for (yaml, want) in cases {
        let err = parse(yaml).expect_err(yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
    assert!(parse("path: 'a/*.json'\ngroup_by:\n  enabled: true").is_ok());
    assert!(parse("path: a/x\ncreate_directory: true\ndirectory_permissions: '0700'").is_ok());
}

// multi-threaded: the writes go through block_in_place there
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_json_writes_one_otlp_json_request_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let e = exporter(&format!("path: {}", path.display()), Signal::Traces);
    e.start(&Host::default()).await.unwrap();
    e.consume(Batch::from_request(traces())).await.unwrap();
    e.consume(Batch::from_request(traces())).await.unwrap();
    e.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(text.ends_with('\n'));
    let back = pdata::json::decode(Signal::Traces, lines[0].as_bytes()).unwrap();
    assert_eq!(back, traces());
    assert!(lines[0].starts_with("{\"resourceSpans\":["));
}

#[tokio::test]
async fn file_truncates_at_start_unless_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    std::fs::write(&path, "old\n").unwrap();
    let e = exporter(
        &format!("path: {}\nappend: true", path.display()),
        Signal::Logs,
    );
    e.start(&Host::default()).await.unwrap();
    e.consume(Batch::from_request(pdata::testdata::request(
        Signal::Logs,
        1,
        1,
        1,
    )))
    .await
    .unwrap();
    e.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("old\n{\"resourceLogs\""), "{text}");

    let e = exporter(&format!("path: {}", path.display()), Signal::Logs);
    e.start(&Host::default()).await.unwrap();
    e.shutdown().await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

fn read_prefixed(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

#[tokio::test]
async fn file_proto_is_length_prefixed_big_endian_protobuf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pb");
    let e = exporter(
        &format!("path: {}\nformat: proto", path.display()),
        Signal::Metrics,
    );
    e.start(&Host::default()).await.unwrap();
    let req = pdata::testdata::request(Signal::Metrics, 2, 2, 5);
    e.consume(Batch::from_request(req.clone())).await.unwrap();
    e.consume(Batch::from_request(req.clone())).await.unwrap();
    e.shutdown().await.unwrap();
    let records = read_prefixed(&std::fs::read(&path).unwrap());
    assert_eq!(records.len(), 2);
    assert_eq!(Request::decode(Signal::Metrics, &records[1]).unwrap(), req);
}

#[tokio::test]
async fn file_zstd_json_is_length_prefixed_zstd_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.zst");
    let e = exporter(
        &format!("path: {}\ncompression: zstd", path.display()),
        Signal::Traces,
    );
    e.start(&Host::default()).await.unwrap();
    e.consume(Batch::from_request(traces())).await.unwrap();
    e.shutdown().await.unwrap();
    let records = read_prefixed(&std::fs::read(&path).unwrap());
    assert_eq!(records.len(), 1);
    let mut json = Vec::new();
    zstd::Decoder::new(&records[0][..])
        .unwrap()
        .read_to_end(&mut json)
        .unwrap();
    assert_eq!(
        pdata::json::decode(Signal::Traces, &json).unwrap(),
        traces()
    );
}

#[tokio::test]
async fn file_signals_of_one_exporter_share_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.json");
    let yaml = format!("path: {}", path.display());
    let t = exporter(&yaml, Signal::Traces);
    let l = exporter(&yaml, Signal::Logs);
    t.start(&Host::default()).await.unwrap();
    l.start(&Host::default()).await.unwrap();
    t.consume(Batch::from_request(traces())).await.unwrap();
    l.consume(Batch::from_request(pdata::testdata::request(
        Signal::Logs,
        1,
        1,
        1,
    )))
    .await
    .unwrap();
    t.shutdown().await.unwrap();
    l.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("{\"resourceSpans\""));
    assert!(lines[1].starts_with("{\"resourceLogs\""));
}

fn backups(dir: &Path, stem: &str, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{stem}-")) && n.ends_with(ext))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn file_rotation_renames_with_a_timestamp_and_reason_before_the_extension_and_keeps_max_backups()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.json");
    let e = exporter(
        &format!(
            "path: {}\nrotation:\n  max_megabytes: 1\n  max_backups: 2",
            path.display()
        ),
        Signal::Logs,
    );
    e.start(&Host::default()).await.unwrap();
    // ~400 KB per request: two fit in a 1 MiB file, so 10 requests rotate 4 times.
    let big = pdata::testdata::request(Signal::Logs, 1, 400, 3);
    let one = pdata::json::encode(&big).len() + 1;
    assert!(one > 200_000 && one < 500_000, "{one}");
    for _ in 0..10 {
        e.consume(Batch::from_request(big.clone())).await.unwrap();
        // Distinct millisecond timestamps for the backups.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    e.shutdown().await.unwrap();
    let names = backups(dir.path(), "data", ".json");
    assert_eq!(names.len(), 2, "{names:?}");
    for n in &names {
        // data-2022-09-14T05-02-14.173-size.json (timberjack's name, as Go writes it)
        let stamp = &n["data-".len()..n.len() - "-size.json".len()];
        assert!(n.ends_with("-size.json"), "{n}");
        assert_eq!(stamp.len(), "2022-09-14T05-02-14.173".len(), "{n}");
        assert_eq!(&stamp[10..11], "T");
        assert_eq!(&stamp[19..20], ".");
    }
    for p in std::iter::once(path.clone()).chain(names.iter().map(|n| dir.path().join(n))) {
        let size = std::fs::metadata(&p).unwrap().len();
        assert!(size <= 1024 * 1024, "{} is {size} bytes", p.display());
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            pdata::json::decode(Signal::Logs, line.as_bytes()).unwrap();
        }
    }
}

#[tokio::test]
async fn file_rotation_refuses_a_record_larger_than_the_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.json");
    let e = exporter(
        &format!("path: {}\nrotation:\n  max_megabytes: 1", path.display()),
        Signal::Logs,
    );
    e.start(&Host::default()).await.unwrap();
    let huge = pdata::testdata::request(Signal::Logs, 1, 6000, 3);
    let err = e.consume(Batch::from_request(huge)).await.unwrap_err();
    assert!(
        err.message.contains("exceeds maximum file size 1048576"),
        "{}",
        err.message
    );
    e.shutdown().await.unwrap();
}

fn with_segment(mut req: Request, segs: &[Option<&str>]) -> Request {
    if let Request::Logs(l) = &mut req {
        for (rl, seg) in l.resource_logs.iter_mut().zip(segs) {
            if let Some(s) = seg {
                rl.resource
                    .get_or_insert_with(Default::default)
                    .attributes
                    .push(KeyValue {
                        key: "fileexporter.path_segment".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(s.to_string())),
                        }),
                        ..Default::default()
                    });
            }
        }
    }
    req
}

#[tokio::test]
async fn file_group_by_writes_one_file_per_segment_and_drops_resources_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = exporter(
        &format!(
            "path: {}/*/out.json\ngroup_by:\n  enabled: true\n  max_open_files: 1",
            dir.path().display()
        ),
        Signal::Logs,
    );
    e.start(&Host::default()).await.unwrap();
    let req = with_segment(
        pdata::testdata::request(Signal::Logs, 4, 1, 9),
        &[Some("a"), Some("b"), None, Some("a")],
    );
    e.consume(Batch::from_request(req.clone())).await.unwrap();
    let a = std::fs::read_to_string(dir.path().join("a/out.json")).unwrap();
    let Request::Logs(got) = pdata::json::decode(Signal::Logs, a.trim_end().as_bytes()).unwrap()
    else {
        unreachable!()
    };
    let Request::Logs(sent) = &req else {
        unreachable!()
    };
    // Resources 0 and 3 share segment "a"; resource 2 has none and is dropped.
    assert_eq!(
        got.resource_logs,
        vec![sent.resource_logs[0].clone(), sent.resource_logs[3].clone()]
    );
    // Opening "b" closed "a" (max_open_files 1); "a" is reopened, and truncated as Go does.
    let again = with_segment(
        pdata::testdata::request(Signal::Logs, 1, 1, 2),
        &[Some("a")],
    );
    e.consume(Batch::from_request(again.clone())).await.unwrap();
    e.shutdown().await.unwrap();
    let a = std::fs::read_to_string(dir.path().join("a/out.json")).unwrap();
    assert_eq!(a.lines().count(), 1);
    assert_eq!(
        pdata::json::decode(Signal::Logs, a.trim_end().as_bytes()).unwrap(),
        again
    );
    let b = std::fs::read_to_string(dir.path().join("b/out.json")).unwrap();
    assert_eq!(b.lines().count(), 1);
}

#[test]
fn file_group_path_stays_inside_the_prefix() {
    assert_eq!(clean("a//b/./c/.."), "a/b");
    assert_eq!(clean("/../x"), "/x");
    assert_eq!(group_path("/tmp/", ".json", "svc"), "/tmp/svc.json");
    assert_eq!(group_path("/tmp/", ".json", "./svc"), "/tmp/svc.json");
    assert_eq!(
        group_path("/tmp/", ".json", "../etc/passwd"),
        "/tmp/etc/passwd.json"
    );
    assert_eq!(
        group_path("/tmp/x", ".json", "/../../etc/passwd"),
        "/tmp/x/etc/passwd.json"
    );
    assert_eq!(group_path("/tmp/", "/f.json", "a/b"), "/tmp/a/b/f.json");
}

#[tokio::test]
async fn file_create_directory_makes_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x/y/out.json");
    let e = exporter(
        &format!(
            "path: {}\ncreate_directory: true\ndirectory_permissions: '0700'",
            path.display()
        ),
        Signal::Traces,
    );
    e.start(&Host::default()).await.unwrap();
    e.shutdown().await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("x/y"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700 & !umask());
    assert!(path.exists());
}

fn umask() -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("probe");
    std::fs::DirBuilder::new().create(&p).unwrap();
    use std::os::unix::fs::PermissionsExt;
    !std::fs::metadata(&p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn file_start_fails_when_the_directory_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing/out.json");
    let e = exporter(&format!("path: {}", path.display()), Signal::Traces);
    let err = e.start(&Host::default()).await.unwrap_err();
    assert!(err.contains("No such file"), "{err}");
}

#[test]
fn file_rotation_cleanup_counts_lumberjack_and_timberjack_backups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.json");
    let names = [
        "d-2020-01-01T00-00-00.000.json",
        "d-2020-01-02T00-00-00.000-size.json",
        "d-2020-01-03T00-00-00.000-time.json",
        "d-2020-01-04T00-00-00.000-size.json",
        "other-2020-01-01T00-00-00.000.json",
        "d-notatime.json",
    ];
    for n in names {
        std::fs::write(dir.path().join(n), "x\n").unwrap();
    }
    std::fs::write(&path, "y".repeat(1024 * 1024)).unwrap();
    let rotation = super::Rotation {
        max_megabytes: 1,
        max_days: 0,
        max_backups: 2,
        localtime: false,
    };
    let mut w = super::writer::Writer::open(&path, false, Some(&rotation)).unwrap();
    // the existing file is full: the first write rotates it, then old backups are pruned
    w.write_record(&[b"z\n"]).unwrap();
    w.flush().unwrap();
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    // kept: the new backup and the newest old one; unrelated and unparsable names stay
    assert_eq!(left.len(), 5, "{left:?}");
    assert!(left.contains(&"d-2020-01-04T00-00-00.000-size.json".to_string()));
    assert!(left.contains(&"other-2020-01-01T00-00-00.000.json".to_string()));
    assert!(left.contains(&"d-notatime.json".to_string()));
    assert!(left.contains(&"d.json".to_string()));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "z\n");
}

#[test]
fn file_rotation_removes_backups_older_than_max_days() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.json");
    std::fs::write(
        dir.path().join("d-2020-01-01T00-00-00.000-size.json"),
        "x\n",
    )
    .unwrap();
    std::fs::write(&path, "y".repeat(1024 * 1024)).unwrap();
    let rotation = super::Rotation {
        max_megabytes: 1,
        max_days: 1,
        max_backups: 0,
        localtime: false,
    };
    let mut w = super::writer::Writer::open(&path, false, Some(&rotation)).unwrap();
    w.write_record(&[b"z\n"]).unwrap();
    w.flush().unwrap();
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left.len(),
        2,
        "the 2020 backup is gone, today's stays: {left:?}"
    );
    assert!(!left.iter().any(|n| n.starts_with("d-2020")));
}
