//! Micro measurement (not a test, not a benchmark of record): the operators of
//! seed-agent-filelog.yaml (router, containerd regex with timestamp, path regex with cache,
//! moves, add) over pre-built 100-byte containerd lines, then conversion to OTLP.
//! Run: `cargo run --release -p stanza --example throughput [lines]`.

use std::time::Instant;

use stanza::{Entry, OperatorConfig, Pipeline, convert};

const OPERATORS: &str = r#"
- type: router
  id: get-format
  routes:
    - output: parser-containerd
      expr: 'body matches "^[^ Z]+Z"'
- type: regex_parser
  id: parser-containerd
  regex: '^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'
  output: extract_metadata_from_filepath
  timestamp:
    parse_from: attributes.time
    layout: '%Y-%m-%dT%H:%M:%S.%LZ'
- type: regex_parser
  id: extract_metadata_from_filepath
  regex: '^.*\/(?P<namespace>[^_]+)_(?P<pod_name>[^_]+)_(?P<uid>[a-f0-9\-]{36})\/(?P<container_name>[^\._]+)\/(?P<restart_count>\d+)\.log$'
  parse_from: attributes["log.file.path"]
  cache:
    size: 128
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

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let cfgs = OperatorConfig::list_from_yaml(OPERATORS).expect("operators decode");
    let mut p = Pipeline::build(&cfgs).expect("pipeline builds");
    let path = "/var/log/pods/default_web-7f9c_0123abcd-0000-1111-2222-333344445555/web/0.log";
    let lines: Vec<String> = (0..1000)
        .map(|i| format!("2024-05-06T07:08:{:02}.{:03}Z stdout F GET /api/v1/items/{i} 200 12ms user=alice trace_id=0af7651916cd43dd8448eb211c80319c", i % 60, i % 1000))
        .collect();
    let mut out = Vec::with_capacity(1024);
    let start = Instant::now();
    let mut emitted = 0usize;
    let mut requests = 0usize;
    for chunk in 0..n.div_ceil(1000) {
        let batch = 1000.min(n - chunk * 1000);
        for line in &lines[..batch] {
            let mut e = Entry::with_body(line.as_str(), 1);
            e.attributes.insert("log.file.path", path.into());
            p.process(e, &mut |e| out.push(e));
        }
        emitted += out.len();
        let req = convert::to_request(std::mem::take(&mut out));
        requests += req.resource_logs.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} lines in {secs:.3}s: {:.0} lines/s ({emitted} emitted, {requests} resource groups, {} errors)",
        n as f64 / secs,
        p.error_count()
    );
}
