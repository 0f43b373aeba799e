//! The `ferrotel` binary's command line, run as a user runs it: `validate` on the shared
//! real-world configs and on a table of broken ones, `components`, `--version`, and the
//! built-in default when no `--config` is given.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ferrotel");

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrotel-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn write_config(name: &str, yaml: &str) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, yaml).expect("write config");
    path
}

/// Runs the binary with no inherited variables that configs here reference.
fn ferrotel(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("NOPE")
        .env_remove("FERROTEL_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ferrotel")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn validate(path: &Path, env: &[(&str, &str)]) -> Output {
    ferrotel(
        &["validate", "--config", path.to_str().expect("utf-8 path")],
        env,
    )
}

// ---- validate on the shared real-world configs ---------------------------------------

/// What each shared config needs that this build lacks, as (kind, type). Update as
/// components land: an empty list means the config must validate.
const SHARED_EXPECTATIONS: &[(&str, &[(&str, &str)])] = &[
    ("seed-agent-filelog-multiformat.yaml", &[]),
    ("seed-agent-filelog.yaml", &[]),
    ("seed-gateway.yaml", &[]),
    ("seed-hostmetrics.yaml", &[]),
    ("seed-jaeger-prometheus.yaml", &[]),
    ("seed-sidecar.yaml", &[]),
];

fn shared_configs_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/configs");
    dir.is_dir().then_some(dir)
}

/// `(kind, type)` of every "not built into ferrotel yet" error line, and the lines that are
/// some other error.
fn lacking_types(stderr: &str) -> (BTreeSet<(String, String)>, Vec<String>) {
    let mut lacking = BTreeSet::new();
    let mut other = Vec::new();
    for line in stderr.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("warning:") || line.contains(" WARN ") {
            continue;
        }
        let body = line
            .strip_prefix("Error: invalid configuration: ")
            .unwrap_or(line);
        // `receivers::filelog: the "filelog" receiver is not built into ferrotel yet (...)`
        let parsed = body.split_once(": the \"").and_then(|(_, rest)| {
            let (ty, rest) = rest.split_once("\" ")?;
            let (kind, rest) = rest.split_once(' ')?;
            rest.starts_with("is not built into ferrotel yet")
                .then(|| (kind.to_string(), ty.to_string()))
        });
        match parsed {
            Some(k) => {
                lacking.insert(k);
            }
            None => other.push(line.to_string()),
        }
    }
    (lacking, other)
}

#[test]
fn validate_shared_configs_names_exactly_the_component_types_this_build_lacks() {
    let Some(dir) = shared_configs_dir() else {
        eprintln!("SKIPPED: ../shared/configs is not beside the repository");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read shared/configs")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no configs in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        let Some((_, want)) = SHARED_EXPECTATIONS.iter().find(|(n, _)| *n == name) else {
            failures.push(format!(
                "{name}: no expectation pinned in SHARED_EXPECTATIONS; add one"
            ));
            continue;
        };
        let want: BTreeSet<(String, String)> = want
            .iter()
            .map(|(k, t)| (k.to_string(), t.to_string()))
            .collect();
        let out = validate(file, &[("MY_POD_IP", "10.0.0.7")]);
        let (_, stderr) = text(&out);
        let (got, other) = lacking_types(&stderr);
        if out.status.code() == Some(101) || stderr.contains("panicked") {
            failures.push(format!("{name}: validate panicked:\n{stderr}"));
            continue;
        }
        if want.is_empty() {
            if !out.status.success() {
                failures.push(format!(
                    "{name}: expected to validate, failed with {:?}:\n{stderr}",
                    out.status.code()
                ));
            }
            continue;
        }
        if out.status.success() {
            failures.push(format!("{name}: validated, but it uses {want:?} which this build was pinned to lack (update the pin?)"));
            continue;
        }
        if got != want || !other.is_empty() {
            failures.push(format!(
                "{name}: lacking types differ.\n  pinned: {want:?}\n  named:  {got:?}\n  other error lines: {other:?}\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- broken configs --------------------------------------------------------------------

const BASE: &str = "receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
processors:
  batch:
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
";

struct Case {
    name: &'static str,
    yaml: String,
    /// every one of these must be in stderr
    stderr_has: &'static [&'static str],
    ok: bool,
}

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} not in BASE");
    BASE.replacen(from, to, 1)
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "unknown_component_type",
            yaml: edit("  otlp:\n", "  otlp:\n  foo/bar:\n"),
            stderr_has: &["receivers::foo/bar: unknown type: \"foo\" for id: \"foo/bar\" (valid values: [", "otlp"],
            ok: false,
        },
        Case {
            name: "profiles_pipeline_validates_without_the_feature_gate",
            yaml: edit("    traces:\n", "    profiles:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [debug]\n    traces:\n"),
            stderr_has: &[],
            ok: true,
        },
        Case {
            name: "profiles_through_a_processor_without_profiles",
            yaml: edit("processors:\n  batch:\n", "processors:\n  batch:\n  attributes:\n    actions: [{key: a, value: b, action: insert}]\n")
                .replace("    traces:\n", "    profiles:\n      receivers: [otlp]\n      processors: [attributes]\n      exporters: [debug]\n    traces:\n"),
            stderr_has: &["failed to create \"attributes\" processor", "\"profiles\"", "telemetry type is not supported"],
            ok: false,
        },
        Case {
            name: "removed_exporter_names_its_replacement",
            yaml: edit("exporters:\n  debug:\n", "exporters:\n  debug:\n  jaeger:\n    endpoint: x:14250\n"),
            stderr_has: &["exporters::jaeger: the \"jaeger\" exporter was removed from the OpenTelemetry Collector: Jaeger accepts OTLP natively since v1.35: use the \"otlp_grpc\" exporter"],
            ok: false,
        },
        Case {
            name: "pipeline_references_undefined_exporter",
            yaml: edit("exporters: [debug]", "exporters: [debug, otlp/missing]"),
            stderr_has: &["service::pipelines::traces: references exporter \"otlp/missing\" which is not configured"],
            ok: false,
        },
        Case {
            name: "pipeline_references_undefined_receiver",
            yaml: edit("receivers: [otlp]", "receivers: [otlp, zipkin]"),
            stderr_has: &["service::pipelines::traces: references receiver \"zipkin\" which is not configured"],
            ok: false,
        },
        Case {
            name: "unknown_key",
            yaml: edit("        endpoint: 127.0.0.1:0\n", "        endpoint: 127.0.0.1:0\n        endpointt: x\n"),
            stderr_has: &["receivers::otlp::protocols::grpc: has invalid keys: endpointt"],
            ok: false,
        },
        Case {
            name: "bad_duration",
            yaml: edit("  batch:\n", "  batch:\n    timeout: 5parsecs\n"),
            stderr_has: &["processors::batch::timeout: time: unknown unit \"parsecs\" in duration \"5parsecs\""],
            ok: false,
        },
        Case {
            name: "bad_size",
            yaml: edit("        endpoint: 127.0.0.1:0\n", "        endpoint: 127.0.0.1:0\n        max_recv_msg_size_mib: lots\n"),
            stderr_has: &["receivers::otlp::protocols::grpc::max_recv_msg_size_mib"],
            ok: false,
        },
        Case {
            // `${env:NOPE}` unset, no default: empty value (here: an empty endpoint) + warning
            name: "missing_env_var_without_default",
            yaml: edit("endpoint: 127.0.0.1:0", "endpoint: ${env:NOPE}"),
            stderr_has: &["receivers::otlp::protocols::grpc::endpoint", "must not be empty"],
            ok: false,
        },
        Case {
            name: "missing_env_var_without_default_warns",
            yaml: edit("  debug:\n", "  debug:\n    verbosity: basic${env:NOPE}\n"),
            stderr_has: &["unset environment variable", "NOPE"],
            ok: true,
        },
        Case {
            // the default is used: a bad default shows up in the error, a good one passes
            name: "missing_env_var_with_default_uses_the_default",
            yaml: edit("  batch:\n", "  batch:\n    timeout: ${env:NOPE:-7parsecs}\n"),
            stderr_has: &["processors::batch::timeout: time: unknown unit \"parsecs\" in duration \"7parsecs\""],
            ok: false,
        },
        Case { name: "missing_env_var_with_good_default", yaml: edit("  batch:\n", "  batch:\n    timeout: ${env:NOPE:-2s}\n"), stderr_has: &[], ok: true },
        Case {
            name: "invalid_id_empty_name",
            yaml: edit("  debug:\n", "  \"debug/\":\n"),
            stderr_has: &["exporters", "in \"debug/\" id: the part after / should not be empty"],
            ok: false,
        },
        Case {
            name: "invalid_id_bad_type_characters",
            yaml: edit("  debug:\n", "  \"de-bug\":\n"),
            stderr_has: &["exporters", "invalid character(s) in type \"de-bug\""],
            ok: false,
        },
        Case {
            name: "unknown_pipeline_signal",
            yaml: edit("    traces:\n", "    spans:\n"),
            stderr_has: &["service::pipelines", "unknown pipeline signal: \"spans\""],
            ok: false,
        },
        Case {
            name: "no_pipelines",
            yaml: BASE.split("  pipelines:").next().expect("base").to_string() + "  pipelines: {}\n",
            stderr_has: &["service must have at least one pipeline"],
            ok: false,
        },
        Case {
            name: "pipeline_without_exporter",
            yaml: edit("      exporters: [debug]\n", "      exporters: []\n"),
            stderr_has: &["service::pipelines::traces", "must have at least one exporter"],
            ok: false,
        },
        Case {
            name: "processor_twice_in_a_pipeline",
            yaml: edit("processors: [batch]", "processors: [batch, batch]"),
            stderr_has: &["references processor \"batch\" multiple times"],
            ok: false,
        },
        Case {
            name: "memory_limiter_without_check_interval",
            yaml: edit("  batch:\n", "  batch:\n  memory_limiter:\n    limit_mib: 100\n"),
            stderr_has: &["processors::memory_limiter", "'check_interval' must be greater than zero"],
            ok: false,
        },
        Case { name: "empty_file", yaml: String::new(), stderr_has: &["empty configuration file"], ok: false },
        Case {
            name: "deprecated_logging_exporter_works_with_a_warning",
            yaml: edit("  debug:\n", "  logging:\n    loglevel: debug\n").replace("exporters: [debug]", "exporters: [logging]"),
            stderr_has: &["\"logging\" is deprecated", "debug"],
            ok: true,
        },
        Case {
            name: "deprecated_otlp_names_work_with_a_warning",
            yaml: edit(
                "  debug:\n",
                "  debug:\n  otlp:\n    endpoint: 127.0.0.1:4317\n    tls:\n      insecure: true\n  otlphttp:\n    endpoint: http://127.0.0.1:4318\n",
            )
            .replace("exporters: [debug]", "exporters: [debug, otlp, otlphttp]"),
            stderr_has: &["\"otlp\" is deprecated", "\"otlphttp\" is deprecated"],
            ok: true,
        },
        Case {
            name: "current_otlp_names_and_health_check_validate",
            yaml: edit(
                "  debug:\n",
                "  debug:\n  otlp_grpc:\n    endpoint: 127.0.0.1:4317\n    compression: zstd\n    headers: {x-a: b}\n  otlp_http/json:\n    endpoint: http://127.0.0.1:4318\n    encoding: json\n    retry_on_failure: {initial_interval: 100ms, max_elapsed_time: 60s}\n    sending_queue: {num_consumers: 2, queue_size: 10}\nextensions:\n  health_check:\n    endpoint: 127.0.0.1:0\n",
            )
            .replace("exporters: [debug]", "exporters: [debug, otlp_grpc, otlp_http/json]")
            .replace("service:\n", "service:\n  extensions: [health_check]\n"),
            stderr_has: &[],
            ok: true,
        },
    ]
}

/// A filelog receiver with `ops` as its operators (indented as list items under
/// `operators:`), feeding a logs pipeline.
fn filelog(ops: &str) -> String {
    format!(
        "receivers:
  filelog:
    include: [/var/log/pods/*/*/*.log]
    operators:
{ops}exporters:
  debug:
service:
  pipelines:
    logs:
      receivers: [filelog]
      exporters: [debug]
"
    )
}

/// Broken filelog operator configs; each reason is what otelcol-contrib 0.135 prints for
/// the same config (its `validate` builds the receiver).
fn filelog_cases() -> Vec<Case> {
    vec![
        Case {
            name: "filelog_unknown_operator_type",
            yaml: filelog(
                "      - type: noop\n      - type: regex_parserr\n        regex: '^(?P<a>.*)$'\n",
            ),
            stderr_has: &["receivers::filelog::operators::1: unsupported type 'regex_parserr'"],
            ok: false,
        },
        Case {
            name: "filelog_regex_parser_without_regex",
            yaml: filelog("      - type: regex_parser\n"),
            stderr_has: &["receivers::filelog::operators::0: missing required field 'regex'"],
            ok: false,
        },
        Case {
            name: "filelog_bad_strptime_layout",
            yaml: filelog(
                "      - type: time_parser\n        parse_from: body.t\n        layout: '%Y-%Q'\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::0: invalid strptime layout: invalid strptime format: [unsupported ctimefmt.ToNative() directive: %Q]",
            ],
            ok: false,
        },
        Case {
            name: "filelog_bad_layout_in_embedded_timestamp",
            yaml: filelog(
                "      - type: regex_parser\n        regex: '^(?P<t>.*)$'\n        timestamp:\n          parse_from: attributes.t\n          layout: '%Y %!'\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::0: invalid strptime layout: invalid strptime format: [unsupported ctimefmt.ToNative() directive: %!]",
            ],
            ok: false,
        },
        Case {
            name: "filelog_bad_epoch_layout",
            yaml: filelog(
                "      - type: time_parser\n        parse_from: body.t\n        layout_type: epoch\n        layout: hours\n",
            ),
            stderr_has: &["receivers::filelog::operators::0: invalid `layout` for `epoch` type"],
            ok: false,
        },
        Case {
            name: "filelog_unknown_output",
            yaml: filelog(
                "      - type: regex_parser\n        regex: '^(?P<a>.*)$'\n        output: nowhere\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::0: operator 'nowhere' does not exist: {\"operator_id\":\"regex_parser\"}",
            ],
            ok: false,
        },
        Case {
            name: "filelog_unknown_route_output",
            yaml: filelog(
                "      - type: router\n        routes:\n          - output: nowhere\n            expr: 'body == \"x\"'\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::0: failed to set outputs on route: operator nowhere does not exist: {\"operator_id\":\"router\"}",
            ],
            ok: false,
        },
        Case {
            name: "filelog_operator_cycle",
            yaml: filelog(
                "      - type: move\n        id: a\n        from: body.x\n        to: body.y\n        output: b\n      - type: move\n        id: b\n        from: body.y\n        to: body.x\n        output: a\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators: pipeline has a circular dependency: {\"cycles\":\"(a -\\u003e b -\\u003e a)\"}",
            ],
            ok: false,
        },
        Case {
            name: "filelog_duplicate_ids",
            yaml: filelog(
                "      - type: move\n        id: a\n        from: body.x\n        to: body.y\n      - type: remove\n        id: a\n        field: body.y\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::1: operator with id 'a' already exists in pipeline",
            ],
            ok: false,
        },
        Case {
            // Go renames repeated default ids (move, move1), so this is valid.
            name: "filelog_repeated_types_without_ids_validate",
            yaml: filelog(
                "      - type: move\n        from: body.x\n        to: body.y\n      - type: move\n        from: body.y\n        to: body.z\n",
            ),
            stderr_has: &[],
            ok: true,
        },
        Case {
            name: "filelog_bad_on_error",
            yaml: filelog(
                "      - type: regex_parser\n        regex: '^(?P<a>.*)$'\n        on_error: explode\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::0: operator config has an invalid `on_error` field.: {\"on_error\":\"explode\"}",
            ],
            ok: false,
        },
        Case {
            name: "filelog_bad_if_expression",
            yaml: filelog(
                "      - type: noop\n      - type: regex_parser\n        regex: '^(?P<a>.*)$'\n        if: 'body matches ('\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::1: failed to compile expression 'body matches (': unexpected token EOF (1:14)\n | body matches (\n | .............^",
            ],
            ok: false,
        },
        Case {
            name: "filelog_bad_router_expression",
            yaml: filelog(
                "      - type: router\n        routes:\n          - output: noop\n            expr: 'body === 1'\n      - type: noop\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::0: failed to compile expression 'body === 1': unexpected token Operator(\"=\") (1:8)\n | body === 1\n | .......^",
            ],
            ok: false,
        },
        Case {
            // Go prints '' for the expression here (the add operator quotes its `if`);
            // we name the expression.
            name: "filelog_bad_expr_value",
            yaml: filelog(
                "      - type: add\n        field: attributes.x\n        value: EXPR(1 +)\n",
            ),
            stderr_has: &[
                "receivers::filelog::operators::0: failed to compile expression '1 +': unexpected token EOF (1:3)\n | 1 +\n | ..^",
            ],
            ok: false,
        },
        Case {
            name: "filelog_bad_field_names_its_key",
            yaml: filelog("      - type: copy\n        from: attributes.x\n        to: nope.y\n"),
            stderr_has: &[
                "receivers::filelog::operators::0: unmarshal to copy: 'to' unrecognized prefix",
            ],
            ok: false,
        },
        Case {
            name: "file_log_new_name_validates_too",
            yaml: filelog("      - type: regex_parser\n        regex: '^(?P<a>.*)$'\n")
                .replace("  filelog:\n", "  file_log:\n")
                .replace("[filelog]", "[file_log]"),
            stderr_has: &[],
            ok: true,
        },
        Case {
            name: "file_log_new_name_errors_use_its_path",
            yaml: filelog("      - type: regex_parser\n")
                .replace("  filelog:\n", "  file_log:\n")
                .replace("[filelog]", "[file_log]"),
            stderr_has: &["receivers::file_log::operators::0: missing required field 'regex'"],
            ok: false,
        },
    ]
}

#[test]
fn validate_broken_configs_exit_non_zero_naming_path_and_reason() {
    let mut failures = Vec::new();
    for case in cases().into_iter().chain(filelog_cases()) {
        let path = write_config(&format!("{}.yaml", case.name), &case.yaml);
        let out = validate(&path, &[]);
        let (_, stderr) = text(&out);
        if stderr.contains("panicked") {
            failures.push(format!("{}: panicked:\n{stderr}", case.name));
            continue;
        }
        if out.status.success() != case.ok {
            failures.push(format!(
                "{}: exit status {:?}, expected {}:\n{stderr}\n--- config ---\n{}",
                case.name,
                out.status.code(),
                if case.ok { "success" } else { "failure" },
                case.yaml
            ));
            continue;
        }
        if !case.ok && out.status.code() != Some(1) {
            failures.push(format!(
                "{}: exit code {:?}, expected 1",
                case.name,
                out.status.code()
            ));
        }
        for want in case.stderr_has {
            if !stderr.contains(want) {
                failures.push(format!("{}: stderr lacks {want:?}:\n{stderr}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn several_configs_merge_in_order_and_set_overrides_last() {
    let base = write_config("merge-base.yaml", BASE);
    let bad = write_config(
        "merge-bad.yaml",
        "processors:\n  batch:\n    timeout: 9parsecs\n",
    );
    let (b, x) = (base.to_str().expect("path"), bad.to_str().expect("path"));
    let out = ferrotel(&["validate", "--config", b, "--config", x], &[]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("\"9parsecs\""), "{}", text(&out).1);
    // --set comes after every --config
    let out = ferrotel(
        &[
            "validate",
            "--config",
            b,
            "--config",
            x,
            "--set",
            "processors.batch.timeout=3s",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let out = ferrotel(
        &[
            "validate",
            "--config",
            b,
            "--set",
            "processors::batch::timeout=4parsecs",
        ],
        &[],
    );
    assert!(
        !out.status.success() && text(&out).1.contains("\"4parsecs\""),
        "{}",
        text(&out).1
    );
    let out = ferrotel(
        &[
            "validate",
            "--config",
            b,
            "--set",
            "processors.batch.timeout",
        ],
        &[],
    );
    assert!(
        !out.status.success() && text(&out).1.contains("missing equal sign"),
        "{}",
        text(&out).1
    );
}

#[test]
fn config_uris_env_and_yaml_schemes_load_and_merge() {
    let out = ferrotel(
        &["validate", "--config", "env:FERROTEL_TEST_CFG"],
        &[("FERROTEL_TEST_CFG", BASE)],
    );
    assert!(out.status.success(), "env: config: {}", text(&out).1);
    let out = ferrotel(
        &[
            "validate",
            "--config",
            "env:FERROTEL_TEST_CFG",
            "--config",
            "yaml:processors::batch::timeout: 6parsecs",
        ],
        &[("FERROTEL_TEST_CFG", BASE)],
    );
    assert!(!out.status.success(), "yaml: override was not merged");
    assert!(text(&out).1.contains("\"6parsecs\""), "{}", text(&out).1);
    let base = write_config("uri-base.yaml", BASE);
    let uri = format!("file:{}", base.display());
    let out = ferrotel(&["validate", "--config", &uri], &[]);
    assert!(out.status.success(), "file: URI: {}", text(&out).1);
}

#[test]
fn validate_missing_file_names_the_file() {
    let out = ferrotel(&["validate", "--config", "/nonexistent/ferrotel.yaml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("/nonexistent/ferrotel.yaml"),
        "{}",
        text(&out).1
    );
}

#[test]
fn run_with_a_broken_config_exits_before_starting() {
    let path = write_config(
        "run-broken.yaml",
        &edit("  batch:\n", "  batch:\n    timeout: 5parsecs\n"),
    );
    let out = ferrotel(&["--config", path.to_str().expect("path")], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    assert!(
        text(&out).1.contains("processors::batch::timeout"),
        "{}",
        text(&out).1
    );
}

// ---- components, version ---------------------------------------------------------------

#[test]
fn components_lists_what_this_build_has() {
    let out = ferrotel(&["components"], &[]);
    assert!(out.status.success());
    let (stdout, _) = text(&out);
    for want in [
        "buildinfo:",
        "receivers:",
        "- name: otlp",
        "processors:",
        "- name: batch",
        "- name: memory_limiter",
        "exporters:",
        "- name: debug",
        "- name: otlp_grpc",
        "- name: otlp_http",
        "connectors:",
        "- name: forward",
        "extensions:",
        "- name: health_check",
    ] {
        assert!(
            stdout.contains(want),
            "components output lacks {want:?}:\n{stdout}"
        );
    }
}

#[test]
fn version_prints_name_and_version() {
    let out = ferrotel(&["--version"], &[]);
    assert!(out.status.success());
    let (stdout, _) = text(&out);
    assert_eq!(
        stdout.trim(),
        format!("ferrotel {}", env!("CARGO_PKG_VERSION"))
    );
}

// ---- the built-in default ----------------------------------------------------------------

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// The `--set` flags that move every address of the default (free ports here).
fn default_overrides(ports: [u16; 4]) -> Vec<String> {
    let [grpc, http, ui, metrics] = ports;
    [
        format!("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:{grpc}"),
        format!("receivers::otlp::protocols::http::endpoint=127.0.0.1:{http}"),
        format!("extensions::embedded_store::endpoint=127.0.0.1:{ui}"),
        format!("service::telemetry::metrics::address=127.0.0.1:{metrics}"),
    ]
    .into_iter()
    .flat_map(|s| ["--set".to_string(), s])
    .collect()
}

#[test]
fn no_config_runs_the_builtin_default_and_says_so() {
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let xdg = scratch_dir().join("xdg-default");
    let _ = std::fs::remove_dir_all(&xdg);
    let mut child = Command::new(BIN)
        .args(default_overrides(ports))
        .env("NO_COLOR", "1")
        .env("XDG_DATA_HOME", &xdg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferrotel");
    let (tx, rx) = mpsc::channel();
    for pipe in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut seen = Vec::new();
    let mut done = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline && !done {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                done = line.contains("Move a port or the directory with --set");
                seen.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if child.try_wait().expect("try_wait").is_some() {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(line) = rx.try_recv() {
        seen.push(line);
    }
    let all = seen.join("\n");
    let [grpc, http, ui, _] = ports;
    let data = xdg.join("ferrotel");
    for want in [
        "No --config given".to_string(),
        format!("UI:          http://127.0.0.1:{ui}/ui/"),
        format!("Data:        {} (capped at 1024 MiB", data.display()),
        format!("OTLP gRPC:   127.0.0.1:{grpc}"),
        format!("OTLP HTTP:   127.0.0.1:{http}"),
        format!("  export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{http}"),
        format!("Prometheus API: http://127.0.0.1:{ui}"),
    ] {
        assert!(all.contains(&want), "no {want:?} in the output:\n{all}");
    }
    assert!(data.is_dir(), "{} was not created", data.display());
    let status =
        status.unwrap_or_else(|| panic!("ferrotel did not exit within 30s of SIGTERM:\n{all}"));
    assert!(
        status.success(),
        "exit status {status:?} after SIGTERM:\n{all}"
    );
}

#[test]
fn no_config_names_a_taken_port_and_the_flag_that_moves_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let ui = taken.local_addr().unwrap().port();
    let dir = scratch_dir().join("taken-port-data");
    let mut args = default_overrides([free_port(), free_port(), ui, free_port()]);
    args.extend([
        "--set".to_string(),
        format!("extensions::embedded_store::directory={}", dir.display()),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ferrotel(&args, &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "started although port {ui} is taken");
    let want = format!(
        "Port {ui} (UI and query APIs) is already in use: stop what listens there, or move ferrotel's UI and query APIs elsewhere, e.g. --set extensions::embedded_store::endpoint=127.0.0.1:{}",
        ui + 1
    );
    assert!(stderr.contains(&want), "no {want:?} in:\n{stderr}");
    drop(taken);
}

// ---- feature gates ----------------------------------------------------------------------

#[test]
fn featuregate_lists_gates_with_their_state_and_shows_one_in_detail() {
    let out = ferrotel(
        &["featuregate", "--feature-gates=filelog.allowFileDeletion"],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let header: Vec<&str> = stdout.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "Enabled", "Stage", "Description"]);
    let row = |id: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{stdout}"));
        line.split_whitespace()
            .take(3)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        row("filelog.allowFileDeletion"),
        ["filelog.allowFileDeletion", "true", "Alpha"]
    );
    assert_eq!(
        row("service.profilesSupport"),
        ["service.profilesSupport", "false", "Alpha"]
    );
    assert_eq!(
        row("connector.servicegraph.virtualNode"),
        ["connector.servicegraph.virtualNode", "true", "Beta"]
    );

    let out = ferrotel(&["featuregate", "filelog.allowHeaderMetadataParsing"], &[]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        stdout.starts_with(
            "Feature: filelog.allowHeaderMetadataParsing\nEnabled: true\nStage: Beta\nDescription: "
        ),
        "{stdout}"
    );

    let out = ferrotel(&["featuregate", "does.not.exist"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains(r#"feature "does.not.exist" not found"#)
    );
}

#[test]
fn unknown_or_forbidden_feature_gates_are_refused_before_anything_runs() {
    let cfg = write_config(
        "gates.yaml",
        "receivers: {otlp: {protocols: {grpc: {endpoint: '127.0.0.1:0'}}}}\nexporters: {debug: }\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n",
    );
    let path = cfg.to_str().unwrap();
    let out = ferrotel(
        &[
            "validate",
            "--config",
            path,
            "--feature-gates=+service.profilesSupport,-connector.spanmetrics.legacyMetricNames",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out).1);

    let out = ferrotel(
        &[
            "validate",
            "--config",
            path,
            "--feature-gates=foo.bar,+filelog.allowFileDeletion",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out).1.trim(),
        r#"Error: invalid argument "foo.bar,+filelog.allowFileDeletion" for "--feature-gates" flag: no such feature gate "foo.bar""#
    );

    let out = ferrotel(
        &[
            "--config",
            path,
            "--feature-gates",
            "connector.servicegraph.legacyLatencyUnitMs",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains(r#"feature gate "connector.servicegraph.legacyLatencyUnitMs" is deprecated, can not be enabled"#),
        "{}",
        text(&out).1
    );
}

#[test]
fn yaml_numbers_as_go_writes_them_validate() {
    // `1_000_000` and `0o1_0` are numbers to Go's yaml.v3; `timeout:` with no value keeps the default.
    let cfg = write_config(
        "go-yaml.yaml",
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n        max_recv_msg_size_mib: 1_000\nprocessors:\n  batch:\n    send_batch_size: 1_000_000\n    send_batch_max_size: 2_000_000\n    timeout:\n  memory_limiter:\n    check_interval: 1s\n    limit_mib: 4_096\nexporters:\n  debug:\n    sampling_initial: 0o1_0\nservice:\n  pipelines:\n    traces: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [debug]}\n",
    );
    let out = validate(&cfg, &[]);
    assert!(out.status.success(), "{}", text(&out).1);
    // Quoted, the same text is a string, and a string is not a number in Go either.
    let cfg = write_config(
        "go-yaml-quoted.yaml",
        "receivers: {otlp: {protocols: {grpc: {endpoint: '127.0.0.1:0'}}}}\nprocessors: {batch: {send_batch_size: '1_000'}}\nexporters: {debug: }\nservice: {pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [debug]}}}\n",
    );
    let out = validate(&cfg, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("processors::batch::send_batch_size"),
        "{}",
        text(&out).1
    );
}
