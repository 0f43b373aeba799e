//! The operators of the two seed agent configs (copied verbatim from
//! shared/configs/seed-agent-filelog*.yaml) on containerd, CRI-O and docker lines; expected
//! values are what otelcol-contrib 0.135 produced for the same file (filelog with
//! `include_file_path: true` -> otlphttp JSON), observed timestamps aside.

use stanza::{Entry, OperatorConfig, Pipeline, Value};

const MULTIFORMAT: &str = r#"
- id: get-format
  routes:
    - expr: body matches "^\\{"
      output: parser-docker
    - expr: body matches "^[^ Z]+ "
      output: parser-crio
    - expr: body matches "^[^ Z]+Z"
      output: parser-containerd
  type: router
- id: parser-crio
  regex: ^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$
  timestamp:
    layout: 2006-01-02T15:04:05.999999999Z07:00
    layout_type: gotime
    parse_from: attributes.time
  type: regex_parser
- combine_field: attributes.log
  combine_with: ''
  id: crio-recombine
  is_last_entry: attributes.logtag == 'F'
  max_log_size: 102400
  output: extract_metadata_from_filepath
  source_identifier: attributes["log.file.path"]
  type: recombine
- id: parser-containerd
  regex: ^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$
  timestamp:
    layout: '%Y-%m-%dT%H:%M:%S.%LZ'
    parse_from: attributes.time
  type: regex_parser
- combine_field: attributes.log
  combine_with: ''
  id: containerd-recombine
  is_last_entry: attributes.logtag == 'F'
  max_log_size: 102400
  output: extract_metadata_from_filepath
  source_identifier: attributes["log.file.path"]
  type: recombine
- id: parser-docker
  output: extract_metadata_from_filepath
  timestamp:
    layout: '%Y-%m-%dT%H:%M:%S.%LZ'
    parse_from: attributes.time
  type: json_parser
- id: extract_metadata_from_filepath
  parse_from: attributes["log.file.path"]
  regex: ^.*\/(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\-]+)\/(?P<container_name>[^\._]+)\/(?P<restart_count>\d+)\.log$
  type: regex_parser
- from: attributes.stream
  to: attributes["log.iostream"]
  type: move
- from: attributes.container_name
  to: resource["container"]
  type: move
- from: attributes.namespace
  to: resource["namespace"]
  type: move
- from: attributes.pod_name
  to: resource["pod"]
  type: move
- from: attributes.log
  to: body
  type: move
- type: json_parser
  if: 'body matches "^{.*}$"'
"#;

const CONTAINERD_ONLY: &str = r#"
# Find out which format is used by kubernetes
- type: router
  id: get-format
  routes:
    - output: parser-containerd
      expr: 'body matches "^[^ Z]+Z"'
# Parse CRI-Containerd format
- type: regex_parser
  id: parser-containerd
  regex: '^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'
  output: extract_metadata_from_filepath
  timestamp:
    parse_from: attributes.time
    layout: '%Y-%m-%dT%H:%M:%S.%LZ'
# Extract metadata from file path
- type: regex_parser
  id: extract_metadata_from_filepath
  regex: '^.*\/(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\-]{36})\/(?P<container_name>[^\._]+)\/(?P<restart_count>\d+)\.log$'
  parse_from: attributes["log.file.path"]
  cache:
    size: 128 # default maximum amount of Pods per Node is 110
# Rename attributes
- type: move
  from: attributes["log.file.path"]
  to: resource["filename"]
- type: move
  from: attributes.container_name
  to: resource["container"]
- type: move
  from: attributes.namespace
  to: resource["namespace"]
- type: move
  from: attributes.pod_name
  to: resource["pod"]
- type: add
  field: resource["cluster"]
  value: 'minikube'
"#;

const PATH: &str = "/tmp/sc/pods/dev_aidt-test-abc_11111111-2222-3333-4444-555555555555/app/0.log";

fn lines() -> Vec<Entry> {
    [
        r#"2024-05-06T07:08:09.123456789Z stdout F {"level":"info","msg":"hello","traceID":"abc"}"#,
        "2024-05-06T07:08:10.5Z stderr P part one",
        "2024-05-06T07:08:10.6Z stderr F and two",
        "2024-05-06T09:08:11.000000001+02:00 stdout F crio line trace_id=0102",
        r#"{"log":"docker line\n","stream":"stdout","time":"2024-05-06T07:08:12.345678Z"}"#,
        "2024-05-06T07:08:13Z stdout F plain text",
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| {
        let mut e = Entry::with_body(*l, 1_000 + i as i64);
        e.attributes.insert("log.file.path", PATH.into());
        e
    })
    .collect()
}

fn run(yaml: &str) -> Vec<Entry> {
    let cfgs = OperatorConfig::list_from_yaml(yaml).unwrap();
    let mut p = Pipeline::build(&cfgs).unwrap();
    let mut out = Vec::new();
    p.process_batch(lines(), &mut |e| out.push(e));
    p.flush_all(&mut |e| out.push(e));
    assert_eq!(p.error_count(), 0);
    out
}

fn attrs(e: &Entry) -> Vec<(String, String)> {
    let mut v: Vec<_> = e
        .attributes
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn multiformat_seed_matches_the_go_collector() {
    let out = run(MULTIFORMAT);
    let bodies: Vec<_> = out.iter().map(|e| e.body.clone()).collect();
    assert_eq!(
        bodies,
        vec![
            Value::from(r#"{"level":"info","msg":"hello","traceID":"abc"}"#),
            Value::from("part oneand two"),
            Value::from("crio line trace_id=0102"),
            Value::from("docker line\n"),
            Value::from("plain text"),
        ]
    );
    let ts: Vec<_> = out.iter().map(|e| e.timestamp).collect();
    assert_eq!(
        ts,
        vec![
            1714979289123456789,
            1714979290500000000,
            1714979291000000001,
            1714979292345678000,
            1714979293000000000
        ]
    );
    let common = [
        ("log.file.path", PATH),
        ("restart_count", "0"),
        ("uid", "11111111-2222-3333-4444-555555555555"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut v: Vec<(&str, &str)> = common.to_vec();
        v.extend_from_slice(extra);
        kv(&v)
    };
    assert_eq!(
        attrs(&out[0]),
        with(&[
            ("level", "info"),
            ("log.iostream", "stdout"),
            ("logtag", "F"),
            ("msg", "hello"),
            ("time", "2024-05-06T07:08:09.123456789Z"),
            ("traceID", "abc"),
        ])
    );
    // Recombined: the oldest entry is the base (logtag P, its time).
    assert_eq!(
        attrs(&out[1]),
        with(&[
            ("log.iostream", "stderr"),
            ("logtag", "P"),
            ("time", "2024-05-06T07:08:10.5Z")
        ])
    );
    assert_eq!(
        attrs(&out[2]),
        with(&[
            ("log.iostream", "stdout"),
            ("logtag", "F"),
            ("time", "2024-05-06T09:08:11.000000001+02:00"),
        ])
    );
    assert_eq!(
        attrs(&out[3]),
        with(&[
            ("log.iostream", "stdout"),
            ("time", "2024-05-06T07:08:12.345678Z")
        ])
    );
    for e in &out {
        let mut r: Vec<_> = e
            .resource
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        r.sort();
        assert_eq!(
            r,
            kv(&[
                ("container", "app"),
                ("namespace", "dev"),
                ("pod", "aidt-test-abc")
            ])
        );
    }
}

#[test]
fn containerd_only_seed_matches_the_go_collector() {
    let out = run(CONTAINERD_ONLY);
    // The router has no default: the CRI-O and docker lines are dropped.
    assert_eq!(out.len(), 4);
    assert_eq!(
        out[0].body,
        Value::from(
            r#"2024-05-06T07:08:09.123456789Z stdout F {"level":"info","msg":"hello","traceID":"abc"}"#
        )
    );
    assert_eq!(
        attrs(&out[1]),
        kv(&[
            ("log", "part one"),
            ("logtag", "P"),
            ("restart_count", "0"),
            ("stream", "stderr"),
            ("time", "2024-05-06T07:08:10.5Z"),
            ("uid", "11111111-2222-3333-4444-555555555555"),
        ])
    );
    assert_eq!(out[3].timestamp, 1714979293000000000);
    let mut r: Vec<_> = out[0]
        .resource
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    r.sort();
    assert_eq!(
        r,
        kv(&[
            ("cluster", "minikube"),
            ("container", "app"),
            ("filename", PATH),
            ("namespace", "dev"),
            ("pod", "aidt-test-abc"),
        ])
    );
}
