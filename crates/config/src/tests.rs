//! Behaviour tests for loading, merging, decoding and validation (the Go collector's rules,
//! shared/reference/otelcol.md §1).

use std::path::PathBuf;

use serde::Deserialize;

use super::*;

const MINIMAL: &str = "
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
";

fn no_env(_: &str) -> Option<String> {
    None
}

fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// A temp file that holds `text`; removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, text: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("ferrotel-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{tag}.yaml"));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
    fn uri(&self) -> String {
        format!("file:{}", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn resolve_with(uris: &[&str], sets: &[&str], env: EnvLookup<'_>) -> Result<Value, ConfigError> {
    resolve(&strings(uris), &strings(sets), env)
}

fn id(s: &str) -> ComponentId {
    ComponentId::parse(s).unwrap()
}

// ---------------------------------------------------------------- sources and merging

#[test]
fn config_without_scheme_is_a_file() {
    let f = TempFile::new("plain", MINIMAL);
    let cfg = load_with_env(&[f.0.display().to_string()], &[], &no_env).unwrap();
    assert!(cfg.receivers.contains_key(&id("otlp")));
    let cfg2 = load_with_env(&[f.uri()], &[], &no_env).unwrap();
    assert_eq!(cfg, cfg2);
}

#[test]
fn missing_file_is_an_error() {
    let e = load_with_env(&strings(&["/nonexistent/ferrotel.yaml"]), &[], &no_env).unwrap_err();
    assert!(
        e.message
            .starts_with("unable to read the file /nonexistent/ferrotel.yaml"),
        "{e}"
    );
}

#[test]
fn no_config_uri_is_an_error() {
    let e = load_with_env(&[], &[], &no_env).unwrap_err();
    assert_eq!(e.message, "at least one config flag must be provided");
}

#[test]
fn env_source_reads_whole_config_from_variable() {
    static VARS: &[(&str, &str)] = &[("OTEL_CFG", MINIMAL)];
    let cfg = load_with_env(&strings(&["env:OTEL_CFG"]), &[], &env_of(VARS)).unwrap();
    assert!(cfg.exporters.contains_key(&id("debug")));
    cfg.validate().unwrap();
}

#[test]
fn yaml_source_uses_double_colon_key_path() {
    let v = resolve_with(&["yaml:exporters::otlp::timeout: 2s"], &[], &no_env).unwrap();
    assert_eq!(
        v.get_path("exporters::otlp::timeout")
            .and_then(Value::as_str),
        Some("2s")
    );
}

#[test]
fn http_source_is_not_supported_in_this_build() {
    for uri in ["http://example.com/c.yaml", "https://example.com/c.yaml"] {
        let e = resolve_with(&[uri], &[], &no_env).unwrap_err();
        assert!(e.message.contains("is not supported in this build"), "{e}");
    }
}

#[test]
fn unknown_source_scheme_is_an_error() {
    let e = resolve_with(&["foo:bar"], &[], &no_env).unwrap_err();
    assert_eq!(
        e.message,
        "scheme \"foo\" is not supported for uri \"foo:bar\""
    );
}

#[test]
fn one_letter_scheme_is_a_windows_path_not_a_scheme() {
    let e = resolve_with(&["C:\\nope\\cfg.yaml"], &[], &no_env).unwrap_err();
    assert!(
        e.message
            .starts_with("unable to read the file C:\\nope\\cfg.yaml"),
        "{e}"
    );
}

#[test]
fn later_source_merges_maps_key_by_key() {
    let v = resolve_with(
        &[
            "yaml:exporters::otlp: {endpoint: a:1, timeout: 5s}",
            "yaml:exporters::otlp::timeout: 9s",
        ],
        &[],
        &no_env,
    )
    .unwrap();
    assert_eq!(
        v.get_path("exporters::otlp::endpoint")
            .and_then(Value::as_str),
        Some("a:1")
    );
    assert_eq!(
        v.get_path("exporters::otlp::timeout")
            .and_then(Value::as_str),
        Some("9s")
    );
}

#[test]
fn later_source_replaces_lists() {
    let v = resolve_with(
        &[
            "yaml:service::extensions: [a, b]",
            "yaml:service::extensions: [c]",
        ],
        &[],
        &no_env,
    )
    .unwrap();
    assert_eq!(
        v.get_path("service::extensions"),
        Some(&Value::Seq(vec![Value::from("c")]))
    );
}

#[test]
fn later_source_null_wipes_map() {
    let v = resolve_with(
        &[
            "yaml:processors: {batch: {timeout: 1s}}",
            "yaml:processors:",
        ],
        &[],
        &no_env,
    )
    .unwrap();
    assert_eq!(v.get("processors"), Some(&Value::Null));
    // An empty map, unlike null, keeps what was there.
    let v = resolve_with(
        &[
            "yaml:processors: {batch: {timeout: 1s}}",
            "yaml:processors: {}",
        ],
        &[],
        &no_env,
    )
    .unwrap();
    assert!(v.get_path("processors::batch::timeout").is_some());
}

#[test]
fn empty_source_does_not_wipe_earlier_ones() {
    let empty = TempFile::new("empty", "");
    let v = resolve_with(&["yaml:receivers::otlp:", &empty.uri()], &[], &no_env).unwrap();
    assert!(v.get("receivers").is_some());
}

#[test]
fn non_map_source_is_an_error() {
    let e = resolve_with(&["yaml:[1, 2]"], &[], &no_env).unwrap_err();
    assert!(e.message.contains("expected a map, got a sequence"), "{e}");
}

#[test]
fn set_flag_becomes_yaml_source_applied_last() {
    assert_eq!(
        set_to_uri("processors.batch.timeout=2s").unwrap(),
        "yaml:processors::batch::timeout: 2s"
    );
    let v = resolve_with(
        &["yaml:processors::batch::timeout: 1s"],
        &[
            "processors.batch.timeout=2s",
            "processors.batch.send_batch_size=10",
        ],
        &no_env,
    )
    .unwrap();
    assert_eq!(
        v.get_path("processors::batch::timeout")
            .and_then(Value::as_str),
        Some("2s")
    );
    assert_eq!(
        v.get_path("processors::batch::send_batch_size")
            .and_then(Value::as_i64),
        Some(10)
    );
}

#[test]
fn set_flag_with_colon_path_keeps_dotted_key_names() {
    assert_eq!(
        set_to_uri("processors::attributes/x.y::timeout=2s").unwrap(),
        "yaml:processors::attributes/x.y::timeout: 2s"
    );
}

#[test]
fn set_flag_without_equal_sign_is_an_error() {
    let e = resolve_with(&["yaml:a: 1"], &["processors.batch.timeout"], &no_env).unwrap_err();
    assert_eq!(e.message, "missing equal sign");
}

#[test]
fn split_keys_merge_with_plain_keys_in_one_document() {
    let v = Value::from_yaml_str("a::b: 1\na: {c: 2}\n").unwrap();
    assert_eq!(v.get_path("a::b").and_then(Value::as_i64), Some(1));
    assert_eq!(v.get_path("a::c").and_then(Value::as_i64), Some(2));
}

#[test]
fn yaml_merge_keys_are_applied() {
    let v = Value::from_yaml_str("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n").unwrap();
    assert_eq!(v.get_path("other::x").and_then(Value::as_i64), Some(1));
    assert_eq!(v.get_path("other::y").and_then(Value::as_i64), Some(2));
}

// ---------------------------------------------------------------- expansion through load

#[test]
fn expansion_happens_after_merging() {
    // The reference comes from one source and the variable name is chosen by a later one.
    static VARS: &[(&str, &str)] = &[("EP", "collector:4317")];
    let v = resolve_with(
        &[
            "yaml:exporters::otlp::endpoint: x",
            "yaml:exporters::otlp::endpoint: ${env:EP}",
        ],
        &[],
        &env_of(VARS),
    )
    .unwrap();
    assert_eq!(
        v.get_path("exporters::otlp::endpoint")
            .and_then(Value::as_str),
        Some("collector:4317")
    );
}

#[test]
fn expansion_errors_name_the_path() {
    let e = resolve_with(&["yaml:exporters::otlp::endpoint: ${env:1X}"], &[], &no_env).unwrap_err();
    assert_eq!(e.path, "exporters::otlp::endpoint");
}

#[test]
fn keys_are_not_expanded() {
    static VARS: &[(&str, &str)] = &[("K", "v")];
    let v = resolve_with(&["yaml:a: {\"${env:K}\": 1}"], &[], &env_of(VARS)).unwrap();
    assert!(v.get_path("a::${env:K}").is_some());
}

#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(default)]
struct Typed {
    name: String,
    port: u16,
    enabled: bool,
    tags: Vec<String>,
    ratio: f64,
}

#[test]
fn whole_reference_types_value_but_string_target_keeps_text() {
    static VARS: &[(&str, &str)] = &[
        ("NAME", "0123"),
        ("PORT", "4317"),
        ("ON", "true"),
        ("R", "0.5"),
    ];
    let v = resolve_with(
        &["yaml:t: {name: '${env:NAME}', port: '${env:PORT}', enabled: '${env:ON}', ratio: '${env:R}'}"],
        &[],
        &env_of(VARS),
    )
    .unwrap();
    let t: Typed = decode(v.get("t").unwrap(), "t").unwrap();
    assert_eq!(
        t,
        Typed {
            name: "0123".into(),
            port: 4317,
            enabled: true,
            ratio: 0.5,
            ..Default::default()
        }
    );
    // The same text as a string target.
    let v = resolve_with(&["yaml:t: {name: '${env:PORT}'}"], &[], &env_of(VARS)).unwrap();
    let t: Typed = decode(v.get("t").unwrap(), "t").unwrap();
    assert_eq!(t.name, "4317");
}

#[test]
fn inline_reference_is_string_substituted() {
    static VARS: &[(&str, &str)] = &[("HOST", "db"), ("PORT", "4317")];
    let v = resolve_with(&["yaml:e: http://${env:HOST}:${PORT}"], &[], &env_of(VARS)).unwrap();
    assert_eq!(v.get("e").and_then(Value::as_str), Some("http://db:4317"));
}

#[test]
fn load_from_str_never_panics_on_odd_input() {
    let inputs = [
        "",
        "~",
        "[",
        "- a",
        "a: [",
        "receivers: 5",
        "receivers: [a]",
        "service: 3",
        "service: {pipelines: [1]}",
        "? [a]\n: b",
        "receivers: {\"\": 1}",
        "x: ${",
        "x: ${}",
        "x: ${:}",
        "x: ${env:}",
        "x: }${",
        "!!binary aGk=",
        "service: {pipelines: {traces: {receivers: [[1]]}}}",
        "receivers: {a/: }",
        "a: &a [*a]",
        "service: {telemetry: {metrics: {readers: [{pull: 1}]}}}",
        "x: ${env:A:-${env:B}}",
        "\u{0}",
    ];
    for input in inputs {
        let _ = load_from_str(input);
    }
}

// ---------------------------------------------------------------- top level and service

#[test]
fn minimal_config_loads_and_validates() {
    let cfg = load_from_str(MINIMAL).unwrap();
    cfg.validate().unwrap();
    let traces = PipelineId {
        signal: PipelineSignal::Traces,
        name: None,
    };
    assert_eq!(cfg.service.pipelines[&traces].receivers, vec![id("otlp")]);
    assert_eq!(cfg.receivers[&id("otlp")], Value::Null);
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let e = load_from_str("receivers: {}\nrecievers: {}\nzzz: 1").unwrap_err();
    assert_eq!(e.to_string(), "has invalid keys: recievers, zzz");
}

#[test]
fn unknown_key_error_names_full_path() {
    let e = load_from_str("service: {telemetry: {unknown: 1}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "service::telemetry: has invalid keys: unknown"
    );
    let e = load_from_str("service: {telemetry: {logs: {colour: red, bogus: 1}}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "service::telemetry::logs: has invalid keys: bogus, colour"
    );
    let e =
        load_from_str("service: {pipelines: {traces: {receivers: [a], filters: []}}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "service::pipelines::traces: has invalid keys: filters"
    );
    let e = load_from_str("service: {pipeline: {}}").unwrap_err();
    assert_eq!(e.to_string(), "service: has invalid keys: pipeline");
}

#[test]
fn several_instances_of_one_type_are_distinct() {
    let cfg = load_from_str("receivers: {otlp: , otlp/2: , otlp/internal: {a: 1}}").unwrap();
    assert_eq!(cfg.receivers.len(), 3);
    assert_eq!(
        cfg.receivers[&ComponentId::with_name("otlp", "internal")].get("a"),
        Some(&Value::Int(1))
    );
}

#[test]
fn telemetry_defaults() {
    let t = load_from_str("").unwrap().service.telemetry;
    assert_eq!(t.logs.level, "info");
    assert_eq!(t.logs.encoding, "console");
    assert_eq!(t.metrics.level, "normal");
    assert_eq!(t.metrics.address, "localhost:8888");
}

#[test]
fn telemetry_reads_levels_address_and_prometheus_reader() {
    let t = load_from_str("service: {telemetry: {logs: {level: DEBUG, encoding: json}, metrics: {level: detailed, address: '0.0.0.0:9999'}}}")
        .unwrap()
        .service
        .telemetry;
    assert_eq!(
        (t.logs.level.as_str(), t.logs.encoding.as_str()),
        ("debug", "json")
    );
    assert_eq!(
        (t.metrics.level.as_str(), t.metrics.address.as_str()),
        ("detailed", "0.0.0.0:9999")
    );

    let yaml = "
service:
  telemetry:
    metrics:
      readers:
        - periodic: {exporter: {otlp: {endpoint: x}}}
        - pull:
            exporter:
              prometheus: {host: 0.0.0.0, port: 9090, without_units: true}
";
    assert_eq!(
        load_from_str(yaml)
            .unwrap()
            .service
            .telemetry
            .metrics
            .address,
        "0.0.0.0:9090"
    );
}

#[test]
fn telemetry_accepts_other_go_keys() {
    let yaml = "
service:
  telemetry:
    resource: {service.name: x}
    traces: {level: basic, processors: []}
    logs:
      level: warn
      development: false
      output_paths: [stderr]
      error_output_paths: [stderr]
      initial_fields: {a: b}
      disable_caller: true
      disable_stacktrace: true
      sampling: {enabled: true, tick: 10s, initial: 10, thereafter: 100}
      processors: []
    metrics:
      level: basic
      views: []
";
    let t = load_from_str(yaml).unwrap().service.telemetry;
    assert_eq!(t.logs.level, "warn");
    assert_eq!(t.metrics.level, "basic");
}

#[test]
fn telemetry_rejects_unknown_levels() {
    let e = load_from_str("service: {telemetry: {logs: {level: loud}}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "service::telemetry::logs::level: unrecognized level: \"loud\""
    );
    let e = load_from_str("service: {telemetry: {metrics: {level: all}}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "service::telemetry::metrics::level: unknown metrics level \"all\""
    );
}

// ---------------------------------------------------------------- ids

#[test]
fn component_id_parse_errors_use_go_messages() {
    let cases = [
        ("", "id must not be empty"),
        ("  ", "id must not be empty"),
        ("x/", "in \"x/\" id: the part after / should not be empty"),
        ("/x", "in \"/x\" id: the part before / should not be empty"),
        (
            "1abc",
            "in \"1abc\" id: invalid character(s) in type \"1abc\"",
        ),
        ("a-b", "in \"a-b\" id: invalid character(s) in type \"a-b\""),
        (
            "otlp/a b",
            "in \"a b\" id: invalid character(s) in name \"a b\"",
        ),
    ];
    for (input, msg) in cases {
        assert_eq!(ComponentId::parse(input).unwrap_err(), msg, "{input:?}");
    }
    assert!(
        ComponentId::parse(&format!("a/{}", "n".repeat(1025)))
            .unwrap_err()
            .contains("is longer than 1024 characters")
    );
    assert!(ComponentId::parse(&"t".repeat(64)).is_err());
}

#[test]
fn component_id_parse_trims_and_splits_at_first_slash() {
    assert_eq!(
        ComponentId::parse(" otlp / a/b ").unwrap(),
        ComponentId::with_name("otlp", "a/b")
    );
    assert_eq!(
        ComponentId::parse("otlp_grpc").unwrap(),
        ComponentId::new("otlp_grpc")
    );
    assert_eq!(
        ComponentId::parse("otlp/ünïcode-name.1")
            .unwrap()
            .to_string(),
        "otlp/ünïcode-name.1"
    );
}

#[test]
fn pipeline_id_parse() {
    assert_eq!(
        PipelineId::parse("metrics/internal").unwrap(),
        PipelineId {
            signal: PipelineSignal::Metrics,
            name: Some("internal".into())
        }
    );
    assert_eq!(PipelineId::parse("logs").unwrap().to_string(), "logs");
    assert_eq!(
        PipelineId::parse("foo").unwrap_err(),
        "in \"foo\" id: unknown pipeline signal: \"foo\""
    );
    assert_eq!(
        PipelineId::parse("traces/").unwrap_err(),
        "in \"traces/\" id: the part after / should not be empty"
    );
    assert_eq!(
        PipelineId::parse("profiles/x").unwrap(),
        PipelineId {
            signal: PipelineSignal::Profiles,
            name: Some("x".into())
        }
    );
}

#[test]
fn bad_ids_in_config_name_their_section() {
    let e = load_from_str("receivers: {\"x/\": }").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers: in \"x/\" id: the part after / should not be empty"
    );
    let e = load_from_str("service: {pipelines: {foo: {}}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "service::pipelines: in \"foo\" id: unknown pipeline signal: \"foo\""
    );
    let e = load_from_str("service: {pipelines: {traces: {exporters: [\"a b\"]}}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "service::pipelines::traces::exporters: in \"a b\" id: invalid character(s) in type \"a b\""
    );
    let e = load_from_str("service: {extensions: [\"\"]}").unwrap_err();
    assert_eq!(e.to_string(), "service::extensions: id must not be empty");
}

#[test]
fn duplicate_ids_after_trimming_are_an_error() {
    let e = load_from_str("receivers: {otlp: , \" otlp\": }").unwrap_err();
    assert_eq!(e.to_string(), "receivers: duplicate id \"otlp\"");
}

// ---------------------------------------------------------------- validation

#[test]
fn broken_configs_give_go_messages() {
    let base_components = "receivers: {otlp: , otlp/2: }\nexporters: {debug: }\nprocessors: {batch: }\nconnectors: {forward: }\nextensions: {health_check: }\n";
    let cases: &[(&str, &str)] = &[
        ("", "empty configuration file"),
        ("service: {pipelines: {}}", "empty configuration file"),
        (
            "exporters: {debug: }",
            "no receiver configuration specified in config",
        ),
        (
            "receivers: {otlp: }",
            "no exporter configuration specified in config",
        ),
        (
            "receivers: {otlp: }\nexporters: {debug: }",
            "service::pipelines: service must have at least one pipeline",
        ),
        (
            "service: {pipelines: {traces: {exporters: [debug]}}}",
            "service::pipelines::traces: must have at least one receiver",
        ),
        (
            "service: {pipelines: {logs/x: {receivers: [otlp]}}}",
            "service::pipelines::logs/x: must have at least one exporter",
        ),
        (
            "service: {pipelines: {traces: {receivers: [otlp], processors: [batch, batch], exporters: [debug]}}}",
            "service::pipelines::traces: references processor \"batch\" multiple times",
        ),
        (
            "service: {pipelines: {traces: {receivers: [foo], exporters: [debug]}}}",
            "service::pipelines::traces: references receiver \"foo\" which is not configured",
        ),
        (
            "service: {pipelines: {traces: {receivers: [otlp], processors: [batch/x], exporters: [debug]}}}",
            "service::pipelines::traces: references processor \"batch/x\" which is not configured",
        ),
        (
            "service: {pipelines: {metrics: {receivers: [otlp], exporters: [nope]}}}",
            "service::pipelines::metrics: references exporter \"nope\" which is not configured",
        ),
        (
            "service: {extensions: [health_check, x], pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}",
            "service::extensions: references extension \"x\" which is not configured",
        ),
    ];
    for (yaml, msg) in cases {
        let full = if yaml.is_empty()
            || yaml.starts_with("exporters")
            || yaml.starts_with("receivers")
            || yaml.starts_with("service: {pipelines: {}}")
        {
            yaml.to_string()
        } else {
            format!("{base_components}{yaml}")
        };
        let cfg = load_from_str(&full).unwrap_or_else(|e| panic!("{yaml}: load failed: {e}"));
        let err = cfg.validate().expect_err(yaml);
        assert_eq!(err.to_string(), *msg, "{yaml}");
    }
}

#[test]
fn connector_is_accepted_as_receiver_and_exporter() {
    let yaml = "
receivers: {otlp: }
exporters: {debug: }
connectors: {forward: }
service:
  pipelines:
    traces/in: {receivers: [otlp], exporters: [forward]}
    traces/out: {receivers: [forward], exporters: [debug]}
";
    load_from_str(yaml).unwrap().validate().unwrap();
}

#[test]
fn unused_components_are_allowed() {
    let yaml = MINIMAL.replace(
        "receivers: {otlp: }",
        "receivers: {otlp: , jaeger: }\nprocessors: {batch: }\nextensions: {zpages: }",
    );
    let cfg = load_from_str(&yaml).unwrap();
    assert_eq!(
        (
            cfg.receivers.len(),
            cfg.processors.len(),
            cfg.extensions.len()
        ),
        (2, 1, 1)
    );
    cfg.validate().unwrap();
}

// ---------------------------------------------------------------- decode

#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Grpc {
    endpoint: String,
    max_recv_msg_size_mib: u64,
}

impl Default for Grpc {
    fn default() -> Self {
        Grpc {
            endpoint: "0.0.0.0:4317".into(),
            max_recv_msg_size_mib: 4,
        }
    }
}

#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(default)]
struct Http {
    endpoint: Option<String>,
}

#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(default)]
struct Protocols {
    #[serde(deserialize_with = "present_as_default")]
    grpc: Option<Grpc>,
    #[serde(deserialize_with = "present_as_default")]
    http: Option<Http>,
}

#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(default)]
struct Receiver {
    protocols: Protocols,
    timeout: Duration,
    queue: ByteSize,
    #[serde(alias = "old_name")]
    renamed: bool,
}

fn decode_yaml<T: serde::de::DeserializeOwned>(yaml: &str) -> Result<T, ConfigError> {
    decode(&Value::from_yaml_str(yaml).unwrap(), "receivers::otlp")
}

#[test]
fn null_component_config_means_all_defaults() {
    let r: Receiver = decode(&Value::Null, "receivers::otlp").unwrap();
    assert_eq!(r, Receiver::default());
}

#[test]
fn present_but_null_option_is_enabled_with_defaults() {
    let r: Receiver = decode_yaml("protocols: {grpc: }").unwrap();
    assert_eq!(r.protocols.grpc, Some(Grpc::default()));
    assert_eq!(r.protocols.http, None);
    let r: Receiver = decode_yaml("protocols: {grpc: {endpoint: 'x:1'}, http: {}}").unwrap();
    assert_eq!(
        r.protocols.grpc,
        Some(Grpc {
            endpoint: "x:1".into(),
            max_recv_msg_size_mib: 4
        })
    );
    assert_eq!(r.protocols.http, Some(Http::default()));
}

#[test]
fn decode_unknown_key_names_full_path_with_or_without_deny_unknown_fields() {
    // Grpc uses deny_unknown_fields, Receiver does not: both reject and list all keys.
    let e =
        decode_yaml::<Receiver>("protocols: {grpc: {endpoint: a, foo: 1, bar: 2}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::protocols::grpc: has invalid keys: bar, foo"
    );
    let e = decode_yaml::<Receiver>("protocols: {thrift: {}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::protocols: has invalid keys: thrift"
    );
    // Aliases are known keys.
    let r: Receiver = decode_yaml("old_name: true").unwrap();
    assert!(r.renamed);
}

#[test]
fn unknown_field_under_flatten_uses_go_wording() {
    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Inner {
        #[allow(dead_code)]
        a: u8,
    }
    #[derive(Debug, Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct WithEnumOuter {
        #[allow(dead_code)]
        mode: Option<Mode>,
        #[allow(dead_code)]
        inner: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Custom { level: u8 },
    }
    let e = decode_yaml::<WithEnumOuter>("inner: {a: 1, b: 2}").unwrap_err();
    assert_eq!(e.to_string(), "receivers::otlp::inner: has invalid keys: b");
    let ok: WithEnumOuter = decode_yaml("mode: fast").unwrap();
    assert!(matches!(ok.mode, Some(Mode::Fast)));
    let ok: WithEnumOuter = decode_yaml("mode: {custom: {level: 3}}").unwrap();
    assert!(matches!(ok.mode, Some(Mode::Custom { level: 3 })));
    let e = decode_yaml::<WithEnumOuter>("mode: slow").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::mode: unknown value \"slow\", expected one of: fast, custom"
    );
    let e = decode_yaml::<WithEnumOuter>("mode: {custom: {level: x}}").unwrap_err();
    assert_eq!(e.path, "receivers::otlp::mode::custom::level");
}

#[test]
fn type_error_names_path_and_expected_type() {
    let e = decode_yaml::<Receiver>("protocols: {grpc: {endpoint: [a, b]}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::protocols::grpc::endpoint: expected a string, got a sequence"
    );
    let e = decode_yaml::<Receiver>("protocols: {grpc: {max_recv_msg_size_mib: abc}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::protocols::grpc::max_recv_msg_size_mib: expected u64, got string \"abc\""
    );
    let e = decode_yaml::<Receiver>("protocols: 5").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::protocols: expected a map, got integer `5`"
    );
    let e = decode_yaml::<Typed>("port: 70000").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::port: invalid value: expected u16, got integer `70000`"
    );
    let e = decode_yaml::<Typed>("tags: [a, {b: 1}]").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::tags::1: expected a string, got a map"
    );
    let e = decode_yaml::<Typed>("name: 5").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::name: expected a string, got integer `5`"
    );
}

/// Go's mapstructure leaves a field alone when its input is nil (confmap sets
/// `DecodeNil` only so that hooks see it), so `key:` keeps the default.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default)]
struct WithDefaults {
    name: String,
    port: u16,
    enabled: bool,
    timeout: Duration,
    size: ByteSize,
    nested: Nested,
}
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default)]
struct Nested {
    level: String,
    ratio: f64,
}
impl Default for WithDefaults {
    fn default() -> Self {
        WithDefaults {
            name: "dflt".into(),
            port: 4317,
            enabled: true,
            timeout: Duration::from_millis(200),
            size: ByteSize(1024),
            nested: Nested::default(),
        }
    }
}
impl Default for Nested {
    fn default() -> Self {
        Nested {
            level: "info".into(),
            ratio: 0.5,
        }
    }
}

#[test]
fn null_scalar_keeps_the_default() {
    let w: WithDefaults =
        decode_yaml("name:\nport:\nenabled: ~\ntimeout: null\nsize:\nnested: {level: , ratio: 2}")
            .unwrap();
    assert_eq!(
        w,
        WithDefaults {
            nested: Nested {
                level: "info".into(),
                ratio: 2.0
            },
            ..WithDefaults::default()
        }
    );
    // Only the null keys are dropped: a bad value next to them is still reported.
    let e = decode_yaml::<WithDefaults>("name:\nport: x").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::port: expected u16, got string \"x\""
    );
    // Null for a whole struct still means all defaults.
    let w: WithDefaults = decode_yaml("nested:").unwrap();
    assert_eq!(w.nested, Nested::default());
}

#[test]
fn string_is_split_at_commas_for_list_targets() {
    let t: Typed = decode_yaml("tags: a,b").unwrap();
    assert_eq!(t.tags, vec!["a", "b"]);
    let t: Typed = decode_yaml("tags: ''").unwrap();
    assert!(t.tags.is_empty());
    let t: Typed = decode_yaml("tags:").unwrap();
    assert!(t.tags.is_empty());
}

#[test]
fn decode_duration_and_byte_size_fields() {
    let r: Receiver = decode_yaml("timeout: 1h30m\nqueue: 4MiB").unwrap();
    assert_eq!(r.timeout, Duration(std::time::Duration::from_secs(5400)));
    assert_eq!(r.queue, ByteSize(4 << 20));
    let r: Receiver = decode_yaml("timeout: 1000\nqueue: 20971520").unwrap();
    assert_eq!(r.timeout, Duration(std::time::Duration::from_nanos(1000)));
    assert_eq!(r.queue, ByteSize(20_971_520));
    let e = decode_yaml::<Receiver>("timeout: abc").unwrap_err();
    assert_eq!(
        e.to_string(),
        "receivers::otlp::timeout: time: invalid duration \"abc\""
    );
    let e = decode_yaml::<Receiver>("timeout: [1]").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("receivers::otlp::timeout: expected a duration"),
        "{e}"
    );
}

#[test]
fn duration_and_byte_size_serialize_in_go_format() {
    #[derive(serde::Serialize)]
    struct Out {
        t: Duration,
        b: ByteSize,
    }
    let text = serde_yaml_ng::to_string(&Out {
        t: Duration::from_millis(1500),
        b: ByteSize(512 << 10),
    })
    .unwrap();
    assert_eq!(text, "t: 1.5s\nb: 512KiB\n");
}

#[test]
fn decode_value_field_keeps_arbitrary_yaml() {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Holder {
        anything: Value,
    }
    let h: Holder = decode_yaml("anything: {a: [1, x, true, null, 1.5]}").unwrap();
    assert_eq!(
        h.anything
            .get("a")
            .and_then(Value::as_seq)
            .map(<[Value]>::len),
        Some(5)
    );
}

#[test]
fn expanded_empty_variable_is_null_for_structs_and_empty_for_strings() {
    let v = resolve_with(
        &[
            "yaml:r: {protocols: '${env:UNSET}', timeout: 2s}",
            "yaml:t: {name: '${env:UNSET}'}",
        ],
        &[],
        &no_env,
    )
    .unwrap();
    let r: Receiver = decode(v.get("r").unwrap(), "r").unwrap();
    assert_eq!(r.protocols, Protocols::default());
    let t: Typed = decode(v.get("t").unwrap(), "t").unwrap();
    assert_eq!(t.name, "");
}
