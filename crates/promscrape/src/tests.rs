use std::sync::Arc;
use std::time::Duration;

use pdata::proto::common::v1::any_value;
use pdata::proto::metrics::v1::{
    DataPointFlags, Metric, NumberDataPoint, ResourceMetrics, metric, number_data_point,
};

use crate::config::{
    PromConfig, ScrapeProtocol, TargetGroup, accept_header, format_duration, parse_duration,
};
use crate::expfmt::{Entry, Format, MetricType, Parser};
use crate::labels::Labels;
use crate::relabel::{Rule, RuleConfig};
use crate::scrape::{Body, Settings, TargetState, merge_target_labels};
use crate::target::populate;

// ---- exposition parsers -----------------------------------------------------------------

/// Every entry as text, for table comparisons.
fn entries(body: &str, format: Format) -> Result<Vec<String>, String> {
    let mut p = Parser::new(body, format);
    let mut out = Vec::new();
    loop {
        match p.next_entry() {
            Ok(None) => return Ok(out),
            Ok(Some(Entry::Help { name, text })) => out.push(format!("HELP {name} {text:?}")),
            Ok(Some(Entry::Type { name, kind })) => out.push(format!("TYPE {name} {kind:?}")),
            Ok(Some(Entry::Unit { name, unit })) => out.push(format!("UNIT {name} {unit}")),
            Ok(Some(Entry::Sample(s))) => {
                let labels: Vec<String> =
                    s.labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
                let mut line = format!("{}{{{}}} {:?}", s.name, labels.join(","), s.value);
                if let Some(t) = s.timestamp_ms {
                    line.push_str(&format!(" @{t}"));
                }
                if let Some((v, t)) = s.exemplar {
                    let el: Vec<String> = s
                        .exemplar_labels
                        .iter()
                        .map(|(n, v)| format!("{n}={v:?}"))
                        .collect();
                    line.push_str(&format!(" # {{{}}} {v:?} {t:?}", el.join(",")));
                }
                out.push(line);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[test]
fn text_format_table() {
    let cases: &[(&str, &[&str])] = &[
        (
            "# HELP http_requests_total The total \\\\ number\\nof requests \\\" kept.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n",
            &[
                "HELP http_requests_total \"The total \\\\ number\\nof requests \\\\\\\" kept.\"",
                "TYPE http_requests_total Counter",
                "http_requests_total{method=\"post\",code=\"200\"} 1027.0 @1395066363000",
            ],
        ),
        (
            "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n",
            &[
                "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1458255915.0",
            ],
        ),
        (
            "# a plain comment\n\n  metric_without_timestamp_and_labels 12.47\nsomething_weird{problem=\"division by zero\"} +Inf -3982045\nnan_metric NaN\nneg -Inf\n",
            &[
                "metric_without_timestamp_and_labels{} 12.47",
                "something_weird{problem=\"division by zero\"} inf @-3982045",
                "nan_metric{} NaN",
                "neg{} -inf",
            ],
        ),
        (
            "# TYPE x untyped\nx{a=\"b\",} 1\n{\"my.dotted.metric\", \"label.name\"=\"v\"} 2\n",
            &[
                "TYPE x Unknown",
                "x{a=\"b\"} 1.0",
                "my.dotted.metric{label.name=\"v\"} 2.0",
            ],
        ),
        (
            "# TYPE rpc summary\nrpc{quantile=\"0.5\"} 4773\nrpc_sum 1.7560473e+07\nrpc_count 2693\n",
            &[
                "TYPE rpc Summary",
                "rpc{quantile=\"0.5\"} 4773.0",
                "rpc_sum{} 17560473.0",
                "rpc_count{} 2693.0",
            ],
        ),
    ];
    for (body, want) in cases {
        assert_eq!(entries(body, Format::Text).unwrap(), *want, "body: {body}");
    }
}

#[test]
fn openmetrics_table() {
    let body = "# TYPE foo counter\n# HELP foo A \\\"quoted\\\" help\n# UNIT foo seconds\nfoo_total{a=\"1\"} 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\nfoo_created{a=\"1\"} 1520430000.123\n# TYPE hh histogram\nhh_bucket{le=\"1\"} 2 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 0.5 1520879607.5\nhh_bucket{le=\"+Inf\"} 3\nhh_count 3\nhh_sum 4.5\n# TYPE st stateset\nst{st=\"a\"} 1\n# TYPE i info\ni_info{version=\"1.0\"} 1\n# EOF\n";
    let got = entries(body, Format::OpenMetrics).unwrap();
    assert_eq!(
        got,
        vec![
            "TYPE foo Counter",
            "HELP foo \"A \\\"quoted\\\" help\"",
            "UNIT foo seconds",
            "foo_total{a=\"1\"} 17.0 @1520879607789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 None",
            "foo_created{a=\"1\"} 1520430000.123",
            "TYPE hh Histogram",
            "hh_bucket{le=\"1\"} 2.0 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 0.5 Some(1520879607500)",
            "hh_bucket{le=\"+Inf\"} 3.0",
            "hh_count{} 3.0",
            "hh_sum{} 4.5",
            "TYPE st StateSet",
            "st{st=\"a\"} 1.0",
            "TYPE i Info",
            "i_info{version=\"1.0\"} 1.0",
        ]
    );
}

#[test]
fn lazy_labels_are_read_only_when_asked_with_the_eager_parsers_error() {
    // With lazy_labels a line whose label set is invalid still comes out of next_entry (its
    // labels were not read); asking for them gives the message and line the eager parser
    // stops with. A valid set asked for reads every label, escapes included.
    let body = "a 1\nb{1x=\"a\"} 2\nc{y=\"q\\\"}\",z=\"\"} 3\n";
    let mut eager = Parser::new(body, Format::Text);
    assert!(eager.next_entry().unwrap().is_some());
    let want = eager.next_entry().unwrap_err().to_string();
    assert!(want.starts_with("line 2: invalid label name"), "{want}");
    let mut lazy = Parser::new(body, Format::Text).lazy_labels();
    assert!(lazy.next_entry().unwrap().is_some());
    let Some(Entry::Sample(b)) = lazy.next_entry().unwrap() else {
        panic!("the line with the invalid label set comes out")
    };
    assert_eq!(b.series, "b{1x=\"a\"}");
    assert!(b.labels.is_empty(), "not read by next_entry");
    assert_eq!(b.labels().unwrap_err().to_string(), want);
    let Some(Entry::Sample(c)) = lazy.next_entry().unwrap() else {
        panic!("a sample")
    };
    assert_eq!(c.series, "c{y=\"q\\\"}\",z=\"\"}");
    assert_eq!(c.value, 3.0);
    let labels: Vec<(String, String)> = c
        .labels()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("y".to_string(), "q\"}".to_string()),
            ("z".to_string(), String::new())
        ]
    );
}

#[test]
fn parse_errors_name_the_line() {
    let cases: &[(&str, Format, &str)] = &[
        (
            "a 1\nb{x=\"1} 2\n",
            Format::Text,
            "line 2: unterminated quoted string",
        ),
        (
            "a 1\nb notanumber\n",
            Format::Text,
            "line 2: invalid value \"notanumber\"",
        ),
        (
            "# TYPE a bogus\n",
            Format::Text,
            "line 1: invalid metric type \"bogus\"",
        ),
        (
            "a{x=\"1\",x=\"2\"} 1\n",
            Format::Text,
            "line 1: invalid sample: non-unique label names: \"x\"",
        ),
        (
            "a 1 notatime\n",
            Format::Text,
            "line 1: invalid timestamp \"notatime\"",
        ),
        (
            "a 1 # {t=\"x\"} 1\n",
            Format::Text,
            "line 1: unexpected \"# {t=\\\"x\\\"} 1\" after the sample",
        ),
        (
            "a 1\n",
            Format::OpenMetrics,
            "line 1: data does not end with # EOF",
        ),
        (
            "a 1\n# EOF\nb 2\n",
            Format::OpenMetrics,
            "line 3: unexpected data after # EOF",
        ),
        (
            "# random comment\n# EOF\n",
            Format::OpenMetrics,
            "line 1: expected # HELP, # TYPE, # UNIT or # EOF, got \" random comment\"",
        ),
        (
            "1abc 1\n",
            Format::Text,
            "line 1: invalid metric name at \"1abc 1\"",
        ),
        (
            "a{b=\"c\"}\n",
            Format::Text,
            "line 1: expected a blank before the value, got \"\"",
        ),
    ];
    for (body, format, want) in cases {
        assert_eq!(entries(body, *format).unwrap_err(), *want, "body: {body:?}");
    }
    let e = Parser::from_bytes(b"a 1\nb{x=\"\xff\"} 1\n", Format::Text)
        .err()
        .unwrap();
    assert_eq!(e.to_string(), "line 2: invalid UTF-8");
}

#[test]
fn parser_never_panics_on_cut_bodies() {
    let body =
        "# HELP a x\\ny\n# TYPE a counter\na_total{b=\"c\\\"d\"} 1 2 # {e=\"f\"} 3 4\n# EOF\n";
    for end in 0..=body.len() {
        if !body.is_char_boundary(end) {
            continue;
        }
        for f in [Format::Text, Format::OpenMetrics] {
            let _ = entries(&body[..end], f);
        }
    }
}

// ---- config -------------------------------------------------------------------------------

fn prom(yaml: &str) -> Result<PromConfig, String> {
    PromConfig::from_yaml(&serde_yaml_ng::from_str(yaml).unwrap())
}

#[test]
fn scrape_config_defaults_come_from_prometheus_and_global() {
    let c = prom("scrape_configs:\n- job_name: a\n- job_name: b\n  scrape_interval: 5s\n").unwrap();
    let a = &c.scrape_configs[0];
    assert_eq!(a.scrape_interval, Duration::from_secs(60));
    assert_eq!(a.scrape_timeout, Duration::from_secs(10));
    assert_eq!(a.metrics_path, "/metrics");
    assert_eq!(a.scheme, "http");
    assert!(a.honor_timestamps && !a.honor_labels && a.enable_compression);
    assert_eq!(a.scrape_protocols, ScrapeProtocol::DEFAULT.to_vec());
    // The global timeout is cut to a shorter job interval.
    assert_eq!(c.scrape_configs[1].scrape_timeout, Duration::from_secs(5));
    let g = prom("global:\n  scrape_interval: 15s\n  scrape_timeout: 3s\n  sample_limit: 9\nscrape_configs:\n- job_name: a\n").unwrap();
    assert_eq!(g.scrape_configs[0].scrape_interval, Duration::from_secs(15));
    assert_eq!(g.scrape_configs[0].scrape_timeout, Duration::from_secs(3));
    assert_eq!(g.scrape_configs[0].sample_limit, 9);
}

#[test]
fn config_errors_are_prometheus_messages_and_refusals_name_what_cannot_run() {
    let cases: &[(&str, &str)] = &[
        (
            "scrape_configs:\n- job_name: a\n  kubernetes_sd_configs:\n  - role: pod\n",
            "kubernetes_sd_configs is not supported",
        ),
        (
            "scrape_configs:\n- job_name: a\n  consul_sd_configs: [{}]\n",
            "consul_sd_configs is not supported",
        ),
        (
            "scrape_configs:\n- job_name: a\n- job_name: a\n",
            "found multiple scrape configs with job name \"a\"",
        ),
        (
            "scrape_configs:\n- job_name: a\n  scrape_interval: 5s\n  scrape_timeout: 10s\n",
            "scrape timeout greater than scrape interval for scrape config with job name \"a\"",
        ),
        ("scrape_configs:\n- job_name: ''\n", "job_name is empty"),
        (
            "scrape_configs:\n- job_name: a\n  scrape_interval: 5x\n",
            "not a valid duration string: \"5x\"",
        ),
        (
            "scrape_configs:\n- job_name: a\n  basic_auth: {username: u}\n  authorization: {credentials: c}\n",
            "at most one of basic_auth, oauth2 & authorization must be configured",
        ),
        (
            "scrape_configs:\n- job_name: a\n  authorization: {type: Basic, credentials: c}\n",
            "authorization type cannot be set to \"basic\"",
        ),
        (
            "scrape_configs:\n- job_name: a\n  oauth2: {client_id: x}\n",
            "oauth2 is not supported",
        ),
        (
            "scrape_configs:\n- job_name: a\n  scrape_protocols: [PrometheusProto]\n",
            "PrometheusProto",
        ),
        (
            "scrape_configs:\n- job_name: a\n  scrape_protocols: [Foo]\n",
            "unknown scrape protocol Foo",
        ),
        (
            "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: hashmod\n    target_label: x\n",
            "relabel_configs[0]: relabel configuration for hashmod requires non-zero modulus",
        ),
        (
            "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['a/b:80']\n",
            "\"a/b:80\" is not a valid hostname",
        ),
        (
            "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: ['x.txt']\n",
            "path name \"x.txt\" is not valid for file discovery",
        ),
        (
            "scrape_configs:\n- job_name: a\n  tls_config: {cert_file: c}\n",
            "exactly one of key or key_file must be configured",
        ),
        (
            "scrape_configs:\n- job_name: a\n  unknown_key: 1\n",
            "unknown field `unknown_key`",
        ),
        (
            "remote_write:\n- url: http://x\nscrape_configs:\n- job_name: a\n",
            "unsupported features:\n\tremote_write",
        ),
        (
            "rule_files: [a.yml]\n",
            "unsupported features:\n\trule_files",
        ),
    ];
    for (yaml, want) in cases {
        let e = prom(yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: got {e:?}, want {want:?}");
    }
}

#[test]
fn durations_parse_and_print_as_prometheus() {
    for (s, ms) in [
        ("1m", 60_000u64),
        ("1h30m", 5_400_000),
        ("90d", 7_776_000_000),
        ("500ms", 500),
        ("0", 0),
        ("1y", 31_536_000_000),
    ] {
        assert_eq!(parse_duration(s).unwrap(), Duration::from_millis(ms), "{s}");
    }
    assert!(parse_duration("1m1h").is_err());
    assert!(parse_duration("1.5s").is_err());
    assert_eq!(format_duration(Duration::from_secs(60)), "1m");
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    assert_eq!(format_duration(Duration::from_secs(90 * 86400)), "90d");
    assert_eq!(format_duration(Duration::from_secs(14 * 86400)), "2w");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
}

#[test]
fn accept_header_is_prometheus_3s() {
    assert_eq!(
        accept_header(&ScrapeProtocol::DEFAULT),
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    );
    assert_eq!(
        accept_header(&[ScrapeProtocol::PrometheusText004]),
        "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
    );
}

// ---- relabeling --------------------------------------------------------------------------

fn rule(yaml: &str) -> Result<Rule, String> {
    let c: RuleConfig = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
    Rule::from_config(&c)
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
}

/// Cases with the outcomes of Prometheus's relabel_test.go.
#[test]
fn relabel_table() {
    let abc = l(&[("a", "foo"), ("b", "bar"), ("c", "baz")]);
    let cases: Vec<(Labels, &str, Option<Labels>)> = vec![
        (
            abc.clone(),
            "source_labels: [a]\nregex: f(.*)\ntarget_label: d\nreplacement: ch${1}-ch${1}\n",
            Some(l(&[
                ("a", "foo"),
                ("b", "bar"),
                ("c", "baz"),
                ("d", "choo-choo"),
            ])),
        ),
        (
            abc.clone(),
            "source_labels: [a, b]\nregex: f(.*);(.*)r\ntarget_label: a\nreplacement: b${1}${2}m\n",
            Some(l(&[("a", "boobam"), ("b", "bar"), ("c", "baz")])),
        ),
        // Anchored: `o` does not match `foo`.
        (
            abc.clone(),
            "source_labels: [a]\nregex: o\naction: keep\n",
            None,
        ),
        (
            abc.clone(),
            "source_labels: [a]\nregex: f.*\naction: keep\n",
            Some(abc.clone()),
        ),
        (
            abc.clone(),
            "source_labels: [a]\nregex: f.*\naction: drop\n",
            None,
        ),
        (
            abc.clone(),
            "source_labels: [a]\nregex: x.*\naction: drop\n",
            Some(abc.clone()),
        ),
        // No match: nothing replaced.
        (
            abc.clone(),
            "source_labels: [a]\nregex: x(.*)\ntarget_label: d\n",
            Some(abc.clone()),
        ),
        // An empty result removes the target.
        (
            abc.clone(),
            "source_labels: [a]\nregex: foo\ntarget_label: b\n",
            Some(l(&[("a", "foo"), ("c", "baz")])),
        ),
        // The fast path sets a fixed value from an empty source.
        (
            abc.clone(),
            "target_label: e\nreplacement: static\n",
            Some(l(&[
                ("a", "foo"),
                ("b", "bar"),
                ("c", "baz"),
                ("e", "static"),
            ])),
        ),
        (
            abc.clone(),
            "source_labels: [c]\nmodulus: 1000\ntarget_label: d\naction: hashmod\n",
            Some(l(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")])),
        ),
        (
            l(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")]),
            "regex: (b.*)\nreplacement: bar_${1}\naction: labelmap\n",
            Some(l(&[
                ("a", "foo"),
                ("b1", "bar"),
                ("b2", "baz"),
                ("bar_b1", "bar"),
                ("bar_b2", "baz"),
            ])),
        ),
        (
            l(&[("__meta_sd_x", "1"), ("a", "foo")]),
            "regex: __meta_sd_(.+)\naction: labelmap\n",
            Some(l(&[("__meta_sd_x", "1"), ("a", "foo"), ("x", "1")])),
        ),
        (
            l(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")]),
            "regex: b.*\naction: labeldrop\n",
            Some(l(&[("a", "foo")])),
        ),
        (
            l(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")]),
            "regex: b.*\naction: labelkeep\n",
            Some(l(&[("b1", "bar"), ("b2", "baz")])),
        ),
        (
            l(&[("foo", "bAr123Foo")]),
            "source_labels: [foo]\ntarget_label: foo_lower\naction: lowercase\n",
            Some(l(&[("foo", "bAr123Foo"), ("foo_lower", "bar123foo")])),
        ),
        (
            l(&[("foo", "bAr123Foo")]),
            "source_labels: [foo]\ntarget_label: foo_upper\naction: uppercase\n",
            Some(l(&[("foo", "bAr123Foo"), ("foo_upper", "BAR123FOO")])),
        ),
        (
            l(&[("a", "foo"), ("b", "foo")]),
            "source_labels: [a]\ntarget_label: b\naction: keepequal\n",
            Some(l(&[("a", "foo"), ("b", "foo")])),
        ),
        (
            l(&[("a", "foo"), ("b", "bar")]),
            "source_labels: [a]\ntarget_label: b\naction: keepequal\n",
            None,
        ),
        (
            l(&[("a", "foo"), ("b", "foo")]),
            "source_labels: [a]\ntarget_label: b\naction: dropequal\n",
            None,
        ),
        (
            l(&[("a", "foo"), ("b", "bar")]),
            "source_labels: [a]\ntarget_label: b\naction: DropEqual\n",
            Some(l(&[("a", "foo"), ("b", "bar")])),
        ),
        // Go RE2 syntax: \d is ASCII only.
        (
            l(&[("a", "١٢")]),
            "source_labels: [a]\nregex: \\d+\naction: keep\n",
            None,
        ),
        // A replacement that names a missing group expands to nothing.
        (
            l(&[("a", "foo")]),
            "source_labels: [a]\nregex: (f)(o+)\ntarget_label: t\nreplacement: $2$3x\n",
            Some(l(&[("a", "foo"), ("t", "oo")])),
        ),
    ];
    for (input, yaml, want) in cases {
        let r = rule(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        let mut lb = input.clone();
        let kept = r.apply(&mut lb);
        assert_eq!(kept.then_some(lb), want, "{yaml}");
    }
}

#[test]
fn relabel_validation_messages() {
    let cases: &[(&str, &str)] = &[
        (
            "action: hashmod\ntarget_label: x\n",
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        (
            "action: replace\n",
            "relabel configuration for replace action requires 'target_label' value",
        ),
        (
            "action: lowercase\nsource_labels: [a]\n",
            "relabel configuration for lowercase action requires 'target_label' value",
        ),
        (
            "action: labeldrop\nsource_labels: [a]\nregex: x\n",
            "labeldrop action requires only 'regex', and no other fields",
        ),
        (
            "action: keepequal\ntarget_label: a\nregex: x\n",
            "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            "action: uppercase\ntarget_label: a\nreplacement: x\n",
            "'replacement' can not be set for uppercase action",
        ),
        (
            "action: labelmap\nreplacement: '$$bad-'\n",
            "\"$$bad-\" is invalid 'replacement' for labelmap action",
        ),
        (
            "action: frobnicate\n",
            "unknown relabel action \"frobnicate\"",
        ),
        ("action: ''\n", "relabel action cannot be empty"),
        ("regex: '(a'\ntarget_label: x\n", "error parsing regexp"),
    ];
    for (yaml, want) in cases {
        let e = rule(yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: got {e:?}");
    }
}

#[test]
fn target_labels_merge_as_prometheus_does() {
    let target = l(&[("job", "j"), ("instance", "i:1")]);
    let mut s = l(&[
        ("__name__", "m"),
        ("job", "scraped"),
        ("exported_job", "taken"),
    ]);
    merge_target_labels(&mut s, &target, false);
    assert_eq!(
        s,
        l(&[
            ("__name__", "m"),
            ("job", "j"),
            ("instance", "i:1"),
            ("exported_job", "taken"),
            ("exported_exported_job", "scraped")
        ])
    );
    let mut s = l(&[("__name__", "m"), ("job", "scraped")]);
    merge_target_labels(&mut s, &target, true);
    assert_eq!(
        s,
        l(&[("__name__", "m"), ("job", "scraped"), ("instance", "i:1")])
    );
}

#[test]
fn targets_get_prometheus_defaults_relabeling_and_url() {
    let c = prom(
        "scrape_configs:\n- job_name: node\n  scrape_interval: 15s\n  params: {module: [a, b], x: ['y z']}\n  relabel_configs:\n  - source_labels: [__address__]\n    regex: (.*):9100\n    target_label: __param_target\n    replacement: $1\n  - source_labels: [__address__]\n    target_label: instance\n    regex: (.*):.*\n  - target_label: __metrics_path__\n    replacement: /probe\n  - source_labels: [env]\n    regex: drop\n    action: drop\n",
    )
    .unwrap();
    let sc = &c.scrape_configs[0];
    let g = TargetGroup {
        targets: vec!["host1:9100".into(), "host2:9100".into()],
        labels: l(&[("env", "prod")]),
        source: String::new(),
    };
    let t = populate(&g, "host1:9100", sc).unwrap().unwrap();
    assert_eq!(
        t.labels,
        l(&[("env", "prod"), ("instance", "host1"), ("job", "node")])
    );
    assert_eq!(
        t.url,
        "http://host1:9100/probe?module=a&module=b&target=host1&x=y+z"
    );
    assert_eq!(t.discovered.get("__scrape_interval__"), "15s");
    assert_eq!(t.discovered.get("__scrape_timeout__"), "10s");
    assert_eq!(t.discovered.get("__param_module"), "a");
    assert_eq!(t.interval, Duration::from_secs(15));
    let dropped = TargetGroup {
        labels: l(&[("env", "drop")]),
        ..g.clone()
    };
    assert!(populate(&dropped, "host1:9100", sc).unwrap().is_none());
}

// ---- translation ------------------------------------------------------------------------

fn settings(adjust: bool) -> Arc<Settings> {
    Arc::new(Settings {
        external_labels: Labels::new(),
        scope_version: "1.2.3".into(),
        adjust_start_times: adjust,
        trim_suffixes: false,
        extra_scrape_metrics: false,
    })
}

fn state(extra: &str, adjust: bool) -> TargetState {
    let c = prom(&format!(
        "scrape_configs:\n- job_name: app\n  static_configs:\n  - targets: ['10.1.2.3:8080']\n    labels: {{team: x}}\n{extra}"
    ))
    .unwrap();
    let sc = Arc::new(c.scrape_configs[0].clone());
    let t = populate(&sc.static_configs[0], "10.1.2.3:8080", &sc)
        .unwrap()
        .unwrap();
    TargetState::new(sc, t, settings(adjust))
}

fn metric<'a>(rms: &'a [ResourceMetrics], name: &str) -> &'a Metric {
    rms.iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn attr(attrs: &[pdata::proto::common::v1::KeyValue], k: &str) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.key == k)
        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

fn double(p: &pdata::proto::metrics::v1::NumberDataPoint) -> Option<f64> {
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => Some(d),
        _ => None,
    }
}

const T0: i64 = 1_700_000_000_000;

#[test]
fn translates_every_type_as_the_go_receiver() {
    let mut st = state("", true);
    let body = "# HELP reqs Requests.\n# TYPE reqs counter\nreqs_total{path=\"/a\"} 10 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\",user=\"u\"} 1 1699999999.5\nreqs_created{path=\"/a\"} 1699990000.25\n# TYPE temp gauge\n# UNIT temp celsius\ntemp 21.5\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"1\"} 3\nlat_bucket{le=\"+Inf\"} 4\nlat_sum 2.5\nlat_count 4\n# TYPE rpc summary\nrpc{quantile=\"0.9\"} 7\nrpc{quantile=\"0.5\"} 3\nrpc_sum 100\nrpc_count 20\n# TYPE untyped_thing unknown\nuntyped_thing 5\n# TYPE target info\ntarget_info{env=\"prod\",region=\"eu\"} 1\n# TYPE st stateset\nst{st=\"on\"} 1\nscoped{otel_scope_name=\"lib\",otel_scope_version=\"2\",otel_scope_extra=\"e\",k=\"v\"} 1\n# EOF\n";
    let out = st.process(
        Body::Ok {
            body: body.as_bytes(),
            format: Format::OpenMetrics,
        },
        T0,
        Duration::from_millis(12),
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    let rms = &out.resource_metrics;
    assert_eq!(rms.len(), 1);
    let res = &rms[0].resource.as_ref().unwrap().attributes;
    assert_eq!(attr(res, "service.name").as_deref(), Some("app"));
    assert_eq!(
        attr(res, "service.instance.id").as_deref(),
        Some("10.1.2.3:8080")
    );
    assert_eq!(attr(res, "server.address").as_deref(), Some("10.1.2.3"));
    assert_eq!(attr(res, "server.port").as_deref(), Some("8080"));
    assert_eq!(attr(res, "url.scheme").as_deref(), Some("http"));
    assert_eq!(attr(res, "env").as_deref(), Some("prod"));
    assert_eq!(attr(res, "region").as_deref(), Some("eu"));
    let scope = rms[0].scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, crate::scrape::SCOPE_NAME);
    assert_eq!(scope.version, "1.2.3");

    let reqs = metric(rms, "reqs_total");
    assert_eq!(reqs.description, "Requests.");
    let Some(metric::Data::Sum(s)) = &reqs.data else {
        panic!("sum")
    };
    assert!(s.is_monotonic);
    assert_eq!(s.aggregation_temporality, 2);
    let p = &s.data_points[0];
    assert_eq!(double(p), Some(10.0));
    assert_eq!(p.time_unix_nano, T0 as u64 * 1_000_000);
    assert_eq!(p.start_time_unix_nano, 1_699_990_000_250_000_000);
    assert_eq!(attr(&p.attributes, "path").as_deref(), Some("/a"));
    assert_eq!(attr(&p.attributes, "team").as_deref(), Some("x"));
    assert!(attr(&p.attributes, "job").is_none() && attr(&p.attributes, "instance").is_none());
    let ex = &p.exemplars[0];
    assert_eq!(
        hex::encode(&ex.trace_id),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(hex::encode(&ex.span_id), "00f067aa0ba902b7");
    assert_eq!(ex.time_unix_nano, 1_699_999_999_500_000_000);
    assert_eq!(attr(&ex.filtered_attributes, "user").as_deref(), Some("u"));

    let temp = metric(rms, "temp");
    assert_eq!(temp.unit, "celsius");
    let Some(metric::Data::Gauge(g)) = &temp.data else {
        panic!("gauge")
    };
    assert_eq!(double(&g.data_points[0]), Some(21.5));
    assert_eq!(g.data_points[0].start_time_unix_nano, 0);

    let Some(metric::Data::Histogram(h)) = &metric(rms, "lat").data else {
        panic!("histogram")
    };
    let hp = &h.data_points[0];
    assert_eq!(hp.explicit_bounds, vec![0.1, 1.0]);
    assert_eq!(hp.bucket_counts, vec![1, 2, 1]);
    assert_eq!((hp.count, hp.sum), (4, Some(2.5)));
    assert_eq!(hp.start_time_unix_nano, T0 as u64 * 1_000_000);

    let Some(metric::Data::Summary(sm)) = &metric(rms, "rpc").data else {
        panic!("summary")
    };
    let sp = &sm.data_points[0];
    assert_eq!((sp.count, sp.sum), (20, 100.0));
    let q: Vec<(f64, f64)> = sp
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    assert_eq!(q, vec![(0.5, 3.0), (0.9, 7.0)]);

    let Some(metric::Data::Gauge(_)) = &metric(rms, "untyped_thing").data else {
        panic!("untyped as gauge")
    };
    let Some(metric::Data::Sum(ss)) = &metric(rms, "st").data else {
        panic!("stateset")
    };
    assert!(!ss.is_monotonic);

    let scoped_scope = rms[0]
        .scope_metrics
        .iter()
        .find(|s| s.scope.as_ref().unwrap().name == "lib")
        .expect("scope from otel_scope_name");
    let sc = scoped_scope.scope.as_ref().unwrap();
    assert_eq!(sc.version, "2");
    assert_eq!(attr(&sc.attributes, "extra").as_deref(), Some("e"));
    let Some(metric::Data::Gauge(sg)) = &scoped_scope.metrics[0].data else {
        panic!()
    };
    assert_eq!(
        attr(&sg.data_points[0].attributes, "k").as_deref(),
        Some("v")
    );
    assert!(attr(&sg.data_points[0].attributes, "otel_scope_name").is_none());

    for (name, v) in [
        ("up", 1.0),
        ("scrape_samples_scraped", 16.0),
        ("scrape_samples_post_metric_relabeling", 16.0),
        ("scrape_series_added", 16.0),
    ] {
        let Some(metric::Data::Gauge(g)) = &metric(rms, name).data else {
            panic!("{name}")
        };
        assert_eq!(double(&g.data_points[0]), Some(v), "{name}");
        assert_eq!(
            attr(&g.data_points[0].attributes, "team").as_deref(),
            Some("x")
        );
    }
    let Some(metric::Data::Gauge(d)) = &metric(rms, "scrape_duration_seconds").data else {
        panic!()
    };
    assert_eq!(double(&d.data_points[0]), Some(0.012));
    assert_eq!(metric(rms, "scrape_duration_seconds").unit, "seconds");
}

#[test]
fn disappearing_series_get_a_no_recorded_value_point_and_start_times_carry() {
    let mut st = state("", true);
    let first = "# TYPE c counter\nc_total{k=\"a\"} 5\nc_total{k=\"b\"} 7\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
    st.process(
        Body::Ok {
            body: first.as_bytes(),
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let second = "# TYPE c counter\nc_total{k=\"a\"} 6\n";
    let out = st.process(
        Body::Ok {
            body: second.as_bytes(),
            format: Format::Text,
        },
        T0 + 10_000,
        Duration::ZERO,
    );
    let rms = &out.resource_metrics;
    let Some(metric::Data::Sum(s)) = &metric(rms, "c_total").data else {
        panic!()
    };
    let a = s
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "k").as_deref() == Some("a"))
        .unwrap();
    assert_eq!(double(a), Some(6.0));
    assert_eq!(
        a.start_time_unix_nano,
        T0 as u64 * 1_000_000,
        "start of the first scrape"
    );
    assert_eq!(a.flags, 0);
    let b = s
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "k").as_deref() == Some("b"))
        .unwrap();
    assert_eq!(b.flags, 1, "no recorded value");
    assert_eq!(b.value, None);
    assert_eq!(b.time_unix_nano, (T0 as u64 + 10_000) * 1_000_000);
    let Some(metric::Data::Histogram(h)) = &metric(rms, "h").data else {
        panic!()
    };
    assert_eq!(h.data_points[0].flags, 1);
    assert_eq!(h.data_points[0].count, 0);
    let Some(metric::Data::Gauge(g)) = &metric(rms, "scrape_series_added").data else {
        panic!()
    };
    assert_eq!(double(&g.data_points[0]), Some(0.0));
    // A counter that falls is a reset: a new start.
    let third = "# TYPE c counter\nc_total{k=\"a\"} 1\n";
    let out = st.process(
        Body::Ok {
            body: third.as_bytes(),
            format: Format::Text,
        },
        T0 + 20_000,
        Duration::ZERO,
    );
    let Some(metric::Data::Sum(s)) = &metric(&out.resource_metrics, "c_total").data else {
        panic!()
    };
    assert_eq!(
        s.data_points[0].start_time_unix_nano,
        (T0 as u64 + 20_000) * 1_000_000
    );
}

#[test]
fn malformed_labels_of_a_new_series_fail_the_scrape_with_the_parsers_message() {
    // The scrape reads labels only for series not in its cache: a new series with a
    // malformed label set still fails the scrape with the parser's message and line, and
    // the same series text seen again is still refused (it never entered the cache).
    let mut st = state("", true);
    let ok = st.process(
        Body::Ok {
            body: b"a{x=\"1\"} 1\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    assert_eq!(ok.error, None);
    for (at, body) in [
        (1000, &b"a{x=\"1\"} 2\nb{x=\"1\",x=\"2\"} 3\n"[..]),
        (2000, &b"a{x=\"1\"} 2\nb{x=\"1\",x=\"2\"} 3\n"[..]),
    ] {
        let out = st.process(
            Body::Ok {
                body,
                format: Format::Text,
            },
            T0 + at,
            Duration::ZERO,
        );
        assert_eq!(
            out.error.as_deref(),
            Some("line 2: invalid sample: non-unique label names: \"x\"")
        );
    }
    // Wrong both in its labels and its value: the labels' error, as an eager parse gives.
    let out = st.process(
        Body::Ok {
            body: b"c{1x=\"a\"} nan-ish\n",
            format: Format::Text,
        },
        T0 + 3000,
        Duration::ZERO,
    );
    assert_eq!(
        out.error.as_deref(),
        Some("line 1: invalid label name at \"1x=\\\"a\\\"} nan-ish\"")
    );
    // A good scrape afterwards reads every label of a cached and of a new series.
    let out = st.process(
        Body::Ok {
            body: b"a{x=\"1\"} 4\nd{y=\"q\\\"}\"} 5\n",
            format: Format::Text,
        },
        T0 + 4000,
        Duration::ZERO,
    );
    assert_eq!(out.error, None);
    let Some(metric::Data::Gauge(d)) = &metric(&out.resource_metrics, "d").data else {
        panic!()
    };
    let y = d.data_points[0].attributes.iter().find(|kv| kv.key == "y");
    assert_eq!(
        y.and_then(|kv| kv.value.as_ref()).map(|v| format!("{v:?}")),
        Some(format!(
            "{:?}",
            pdata::proto::common::v1::AnyValue {
                value: Some(pdata::proto::common::v1::any_value::Value::StringValue(
                    "q\"}".into()
                ))
            }
        ))
    );
}

#[test]
fn failed_scrape_reports_up_zero_and_stales_everything() {
    let mut st = state("  sample_limit: 2\n", true);
    st.process(
        Body::Ok {
            body: b"a 1\nb 2\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let out = st.process(
        Body::Ok {
            body: b"a 1\nb 2\nc 3\n",
            format: Format::Text,
        },
        T0 + 1000,
        Duration::ZERO,
    );
    assert_eq!(out.error.as_deref(), Some("sample limit exceeded"));
    // The series past the limit (c) was counted but not cached: the cache stays bounded by
    // the limit whatever the target exposes.
    assert_eq!(st.cached_series(), 2);
    let rms = &out.resource_metrics;
    let Some(metric::Data::Gauge(up)) = &metric(rms, "up").data else {
        panic!()
    };
    assert_eq!(double(&up.data_points[0]), Some(0.0));
    let Some(metric::Data::Gauge(a)) = &metric(rms, "a").data else {
        panic!()
    };
    assert_eq!(a.data_points[0].flags, 1);
    let Some(metric::Data::Gauge(s)) = &metric(rms, "scrape_samples_scraped").data else {
        panic!()
    };
    assert_eq!(double(&s.data_points[0]), Some(3.0));
    let out = st.process(
        Body::Failed("connection refused".into()),
        T0 + 2000,
        Duration::ZERO,
    );
    assert_eq!(out.error.as_deref(), Some("connection refused"));
}

#[test]
fn metric_relabel_configs_and_honor_labels_apply_to_samples() {
    let mut st = state(
        "  honor_labels: true\n  metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: drop_me\n    action: drop\n  - source_labels: [x]\n    target_label: y\n    replacement: from_$1\n",
        true,
    );
    let out = st.process(
        Body::Ok {
            body: b"keep{x=\"1\",team=\"mine\"} 1\ndrop_me 2\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let rms = &out.resource_metrics;
    let Some(metric::Data::Gauge(g)) = &metric(rms, "keep").data else {
        panic!()
    };
    let p = &g.data_points[0];
    assert_eq!(attr(&p.attributes, "y").as_deref(), Some("from_1"));
    assert_eq!(
        attr(&p.attributes, "team").as_deref(),
        Some("mine"),
        "honor_labels keeps the scraped value"
    );
    assert!(
        rms.iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .all(|m| m.name != "drop_me")
    );
    let Some(metric::Data::Gauge(g)) = &metric(rms, "scrape_samples_post_metric_relabeling").data
    else {
        panic!()
    };
    assert_eq!(double(&g.data_points[0]), Some(1.0));
}

/// Samples that carry a `job` or `instance` of their own (honor_labels) go to their own
/// resource, interleaved with the target's samples, on the first scrape and on the next
/// (when the series come from the cache).
#[test]
fn samples_with_their_own_job_or_instance_get_their_own_resource_between_the_targets() {
    let mut st = state("  honor_labels: true\n", false);
    let body = "a 1\nb{job=\"other\"} 2\nc 3\nd{instance=\"x:1\"} 4\ne{job=\"app\"} 5\nf{instance=\"10.1.2.3:8080\",job=\"other\"} 6\n";
    for t in [T0, T0 + 1000] {
        let out = st.process(
            Body::Ok {
                body: body.as_bytes(),
                format: Format::Text,
            },
            t,
            Duration::ZERO,
        );
        let mut got: Vec<(String, String, Vec<String>)> = out
            .resource_metrics
            .iter()
            .map(|r| {
                let attrs = &r.resource.as_ref().unwrap().attributes;
                let mut names: Vec<String> = r
                    .scope_metrics
                    .iter()
                    .flat_map(|s| &s.metrics)
                    .map(|m| m.name.clone())
                    .filter(|n| n.len() == 1)
                    .collect();
                names.sort();
                (
                    attr(attrs, "service.name").unwrap_or_default(),
                    attr(attrs, "service.instance.id").unwrap_or_default(),
                    names,
                )
            })
            .collect();
        got.sort();
        let own = |j: &str, i: &str, n: &[&str]| {
            (
                j.to_string(),
                i.to_string(),
                n.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            got,
            vec![
                own("app", "10.1.2.3:8080", &["a", "c", "e"]),
                own("app", "x:1", &["d"]),
                own("other", "10.1.2.3:8080", &["b", "f"]),
            ],
            "scrape at {t}"
        );
    }
}

/// The adjuster keeps a start per resource, metric and attributes: the same name and
/// labels under another job (honor_labels), under another name, or with other labels
/// reset alone; a histogram resets when its count falls.
#[test]
fn the_adjuster_keeps_a_start_per_resource_metric_and_attributes() {
    let mut st = state("  honor_labels: true\n", true);
    let scrape = |st: &mut TargetState, t: i64, body: &str| {
        st.process(
            Body::Ok {
                body: body.as_bytes(),
                format: Format::Text,
            },
            t,
            Duration::ZERO,
        )
        .resource_metrics
    };
    // (service.name, metric, k) -> start of the point.
    let starts = |rms: &[ResourceMetrics]| {
        let mut out = std::collections::BTreeMap::new();
        for rm in rms {
            let job = attr(&rm.resource.as_ref().unwrap().attributes, "service.name").unwrap();
            for m in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
                match &m.data {
                    Some(metric::Data::Sum(s)) => {
                        for p in &s.data_points {
                            let k = attr(&p.attributes, "k").unwrap_or_default();
                            out.insert((job.clone(), m.name.clone(), k), p.start_time_unix_nano);
                        }
                    }
                    Some(metric::Data::Histogram(h)) => {
                        for p in &h.data_points {
                            out.insert(
                                (job.clone(), m.name.clone(), String::new()),
                                p.start_time_unix_nano,
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    };
    let body = |c: [u32; 6]| {
        format!(
            "# TYPE c counter\nc_total{{k=\"a\"}} {}\nc_total{{k=\"b\"}} {}\nc_total{{job=\"other\",k=\"a\"}} {}\n# TYPE d counter\nd_total{{k=\"a\"}} {}\n# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} {}\nh_sum {}\nh_count {}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[4]
        )
    };
    let ns = |t: i64| t as u64 * 1_000_000;
    let key = |j: &str, m: &str, k: &str| (j.to_string(), m.to_string(), k.to_string());
    let first = starts(&scrape(&mut st, T0, &body([5, 5, 5, 5, 5, 5])));
    assert_eq!(first.len(), 5, "{first:?}");
    assert!(first.values().all(|s| *s == ns(T0)), "{first:?}");
    // Only app's c_total{k="a"} falls; every other series keeps its first start.
    let second = starts(&scrape(&mut st, T0 + 1000, &body([1, 6, 6, 6, 6, 6])));
    assert_eq!(second[&key("app", "c_total", "a")], ns(T0 + 1000));
    for k in [
        key("app", "c_total", "b"),
        key("other", "c_total", "a"),
        key("app", "d_total", "a"),
        key("app", "h", ""),
    ] {
        assert_eq!(second[&k], ns(T0), "{k:?}");
    }
    // Now only the other job's c_total{k="a"} and the histogram (its count) fall.
    let third = starts(&scrape(&mut st, T0 + 2000, &body([2, 7, 1, 7, 2, 7])));
    assert_eq!(third[&key("app", "c_total", "a")], ns(T0 + 1000));
    assert_eq!(third[&key("other", "c_total", "a")], ns(T0 + 2000));
    assert_eq!(third[&key("app", "h", "")], ns(T0 + 2000));
    assert_eq!(third[&key("app", "c_total", "b")], ns(T0));
    assert_eq!(third[&key("app", "d_total", "a")], ns(T0));
}

#[test]
fn series_seen_before_come_out_as_the_first_time_and_the_cache_keeps_the_last_scrape_only() {
    let mut st = state(
        "  label_limit: 6\n  metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: drop_me\n    action: drop\n  - source_labels: [x]\n    target_label: y\n    replacement: from_$1\n",
        true,
    );
    let scrape = |st: &mut TargetState, body: &str, t: i64| {
        st.process(
            Body::Ok {
                body: body.as_bytes(),
                format: Format::Text,
            },
            t,
            Duration::ZERO,
        )
    };
    let gauge = |rms: &[ResourceMetrics], name: &str| -> Vec<NumberDataPoint> {
        match &metric(rms, name).data {
            Some(metric::Data::Gauge(g)) => g.data_points.clone(),
            other => panic!("{name}: {other:?}"),
        }
    };
    let first = scrape(&mut st, "keep{x=\"1\"} 1\ndrop_me 2\ngone 3\n", T0);
    assert!(first.error.is_none(), "{:?}", first.error);
    assert_eq!(st.cached_series(), 3);
    let second = scrape(&mut st, "keep{x=\"1\"} 5\ndrop_me 2\nnew 4\n", T0 + 1000);
    assert!(second.error.is_none(), "{:?}", second.error);
    let rms = &second.resource_metrics;
    // The cached series is relabeled as it was the first time, with this scrape's value.
    let keep = gauge(rms, "keep");
    assert_eq!(keep.len(), 1);
    assert_eq!(attr(&keep[0].attributes, "y").as_deref(), Some("from_1"));
    assert_eq!(attr(&keep[0].attributes, "x").as_deref(), Some("1"));
    assert_eq!(double(&keep[0]), Some(5.0));
    // The dropped series stays dropped; the one that went is stale; one series is new.
    assert!(
        rms.iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .all(|m| m.name != "drop_me")
    );
    let gone = gauge(rms, "gone");
    const NO_VALUE: u32 = DataPointFlags::NoRecordedValueMask as u32;
    assert_eq!(gone[0].flags & NO_VALUE, NO_VALUE);
    assert_eq!(
        double(&gauge(rms, "scrape_samples_post_metric_relabeling")[0]),
        Some(2.0)
    );
    assert_eq!(double(&gauge(rms, "scrape_series_added")[0]), Some(1.0));
    // keep, drop_me and new: `gone` was not in the last scrape.
    assert_eq!(st.cached_series(), 3);
    // A series over a limit fails every scrape it is in, cached or not.
    for t in [T0 + 2000, T0 + 3000] {
        let out = scrape(
            &mut st,
            "keep{x=\"1\"} 6\nwide{a=\"1\",b=\"2\",c=\"3\"} 1\n",
            t,
        );
        assert!(
            out.error
                .as_deref()
                .is_some_and(|e| e.starts_with("label_limit exceeded (metric: wide")),
            "{:?}",
            out.error
        );
    }
}

#[test]
fn staleness_follows_the_last_scrape_through_failures_and_a_target_going_away() {
    const NO_VALUE: u32 = DataPointFlags::NoRecordedValueMask as u32;
    let mut st = state("", true);
    let scrape = |st: &mut TargetState, body: Option<&str>, t: i64| {
        let body = match body {
            Some(b) => Body::Ok {
                body: b.as_bytes(),
                format: Format::Text,
            },
            None => Body::Failed("connection refused".into()),
        };
        st.process(body, t, Duration::ZERO)
    };
    // The names of the metrics with a stale point, once per point, sorted.
    let stale = |rms: &[ResourceMetrics]| -> Vec<String> {
        let mut v: Vec<String> = rms
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .flat_map(|m| match &m.data {
                Some(metric::Data::Gauge(g)) => g
                    .data_points
                    .iter()
                    .filter(|p| p.flags & NO_VALUE != 0)
                    .map(|_| m.name.clone())
                    .collect::<Vec<_>>(),
                _ => vec![],
            })
            .collect();
        v.sort();
        v
    };
    let added = |rms: &[ResourceMetrics]| match &metric(rms, "scrape_series_added").data {
        Some(metric::Data::Gauge(g)) => double(&g.data_points[0]),
        _ => None,
    };
    let out = scrape(&mut st, Some("a 1\nb 2\n"), T0);
    assert_eq!(added(&out.resource_metrics), Some(2.0));
    assert!(stale(&out.resource_metrics).is_empty());
    // A failed scrape: every series of the last one goes stale, once.
    let out = scrape(&mut st, None, T0 + 1000);
    assert_eq!(stale(&out.resource_metrics), ["a", "b"]);
    // After a failure nothing is left to go stale, and every series is new again.
    let out = scrape(&mut st, Some("a 1\n"), T0 + 2000);
    assert!(stale(&out.resource_metrics).is_empty());
    assert_eq!(added(&out.resource_metrics), Some(1.0));
    let out = scrape(&mut st, Some("a 2\nc 1\n"), T0 + 3000);
    assert!(stale(&out.resource_metrics).is_empty());
    assert_eq!(added(&out.resource_metrics), Some(1.0));
    // A series that stops being written, and one whose line fails the scrape midway.
    let out = scrape(&mut st, Some("c 2\n"), T0 + 4000);
    assert_eq!(stale(&out.resource_metrics), ["a"]);
    let out = scrape(&mut st, Some("c 3\nd{ 1\n"), T0 + 5000);
    assert!(out.error.is_some());
    assert_eq!(stale(&out.resource_metrics), ["c"]);
    let out = scrape(&mut st, Some("e 1\n"), T0 + 6000);
    assert!(stale(&out.resource_metrics).is_empty());
    // The target goes away: the last scrape's series go stale, and only those.
    let out = st.stale_all(T0 + 7000);
    assert_eq!(stale(&out.resource_metrics), ["e"]);
    assert_eq!(st.cached_series(), 0);
}

#[test]
fn without_the_adjuster_start_is_unset_unless_created() {
    let mut st = state("", false);
    let out = st.process(
        Body::Ok {
            body: b"# TYPE c counter\nc_total 5\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let Some(metric::Data::Sum(s)) = &metric(&out.resource_metrics, "c_total").data else {
        panic!()
    };
    assert_eq!(s.data_points[0].start_time_unix_nano, 0);
}

#[test]
fn loopback_instances_have_no_server_address() {
    let res = crate::scrape::create_resource("j", "localhost:9100", &l(&[("__scheme__", "https")]));
    assert_eq!(attr(&res, "server.address"), None);
    assert_eq!(attr(&res, "server.port").as_deref(), Some("9100"));
    assert_eq!(attr(&res, "url.scheme").as_deref(), Some("https"));
    let res = crate::scrape::create_resource("j", "127.0.0.1:9100", &Labels::new());
    assert_eq!(attr(&res, "server.address"), None);
}

/// The body [`crate::body::decode_into`] gives: the inflated buffer, or `raw` as it is.
fn decode(raw: Vec<u8>, content_encoding: &str, limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let inflated = crate::body::decode_into(&raw, content_encoding, limit, &mut out)?;
    Ok(match inflated {
        Some(n) => out[..n].to_vec(),
        None => raw,
    })
}

#[test]
fn gzip_bodies_decode_within_the_limit() {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&b"a 1\n".repeat(1000)).unwrap();
    let gz = enc.finish().unwrap();
    assert_eq!(decode(gz.clone(), "gzip", 0).unwrap().len(), 4000);
    assert_eq!(
        decode(gz.clone(), "gzip", 100).unwrap_err(),
        "body size limit exceeded"
    );
    assert_eq!(
        decode(b"abc".to_vec(), "", 2).unwrap_err(),
        "body size limit exceeded"
    );
    assert!(decode(b"not gzip".to_vec(), "gzip", 0).is_err());
    // The trailer's size is only a hint: a body whose trailer claims 4 GiB, or 0 bytes,
    // fails the gzip check with an error instead of decoding wrong or allocating 4 GiB.
    for fake in [u32::MAX, 0] {
        let mut lying = gz.clone();
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&fake.to_le_bytes());
        let err = decode(lying.clone(), "gzip", 0).unwrap_err();
        assert!(err.starts_with("decompressing the gzip'd body"), "{err}");
        assert_eq!(
            decode(lying, "gzip", 100).unwrap_err(),
            "body size limit exceeded"
        );
    }
    // Two members: the last member's trailer is not the whole body's size.
    let mut two = gz.clone();
    two.extend_from_slice(&gz);
    assert_eq!(decode(two, "gzip", 0).unwrap().len(), 8000);
}

/// Bodies inflate as flate2's `MultiGzDecoder` inflates them (what the scraper read them
/// with before): the same bytes, or an error where it has one, for bodies cut at every
/// length, with a byte changed, of several members, with a name and comment in the header,
/// empty, followed by garbage, and each at, below and above a size limit (the limit's
/// error then); a buffer kept from a bigger body is reused.
#[test]
fn bodies_inflate_as_flate2s_reader_inflates_them() {
    use std::io::{Read, Write};
    let reference = |raw: &[u8], limit: u64| -> Result<Vec<u8>, ()> {
        let mut out = Vec::new();
        let d = flate2::read::MultiGzDecoder::new(raw);
        let r = if limit > 0 {
            d.take(limit + 1).read_to_end(&mut out)
        } else {
            let mut d = d;
            d.read_to_end(&mut out)
        };
        match r {
            Ok(_) if limit > 0 && out.len() as u64 > limit => Err(()),
            Ok(_) => Ok(out),
            Err(_) => Err(()),
        }
    };
    let gzip = |text: &[u8], named: bool| {
        let b = if named {
            flate2::GzBuilder::new()
                .filename("metrics.txt")
                .comment("c")
        } else {
            flate2::GzBuilder::new()
        };
        let mut enc = b.write(Vec::new(), flate2::Compression::default());
        enc.write_all(text).unwrap();
        enc.finish().unwrap()
    };
    let text: Vec<u8> = (0..2_000u32)
        .flat_map(|i| format!("m{{k=\"{}\"}} {}\n", i % 97, i * 7).into_bytes())
        .collect();
    let one = gzip(&text, false);
    let mut bodies: Vec<Vec<u8>> = vec![
        one.clone(),
        gzip(&text[..10], true),
        gzip(b"", false),
        Vec::new(),
        [one.clone(), gzip(b"x 1\n", true)].concat(),
        [one.clone(), b"garbage".to_vec()].concat(),
        [one.clone(), vec![0; 4]].concat(),
    ];
    for cut in (0..one.len())
        .step_by(one.len() / 40)
        .chain(one.len() - 12..one.len())
    {
        bodies.push(one[..cut].to_vec());
    }
    for at in (0..one.len()).step_by(one.len() / 40) {
        let mut b = one.clone();
        b[at] ^= 0x5a;
        bodies.push(b);
    }
    let mut out = Vec::new();
    for (i, raw) in bodies.iter().enumerate() {
        for limit in [0, 100, text.len() as u64, text.len() as u64 - 1] {
            let want = reference(raw, limit);
            let got = crate::body::decode_into(raw, "gzip", limit, &mut out)
                .map(|n| out[..n.unwrap_or(0)].to_vec());
            match (&want, &got) {
                (Ok(w), Ok(g)) => assert!(w == g, "body {i} limit {limit}: other bytes"),
                (Err(()), Err(_)) => {}
                _ => panic!(
                    "body {i} limit {limit}: flate2 {:?}, ours {:?}",
                    want.map(|w| w.len()),
                    got.map(|g| g.len())
                ),
            }
        }
    }
}

/// A buffer kept between scrapes gets each body whole, whatever the one before held, and
/// keeps its room; an uncompressed body is left where it is.
#[test]
fn bodies_decode_into_a_buffer_kept_between_scrapes() {
    use std::io::Write;
    let gzip = |text: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text).unwrap();
        enc.finish().unwrap()
    };
    let big = b"a 1\n".repeat(1000);
    let mut out = Vec::new();
    let n = crate::body::decode_into(&gzip(&big), "gzip", 0, &mut out).unwrap();
    assert_eq!(&out[..n.unwrap()], big);
    let room = out.len();
    let n = crate::body::decode_into(&gzip(b"b 2\n"), "gzip", 0, &mut out).unwrap();
    assert_eq!(&out[..n.unwrap()], b"b 2\n");
    assert!(out.len() >= room, "the buffer kept its room");
    assert!(
        crate::body::decode_into(b"c 3\n", "identity", 0, &mut out)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        crate::body::decode_into(&gzip(&big), "gzip", 100, &mut out).unwrap_err(),
        "body size limit exceeded"
    );
}

/// The group keys a scrape made stay for the next one: a series found again in another
/// order, one gone (its staleness marker, then nothing), one back, and a histogram whose
/// buckets change all make the points fresh groups would; the keys of series gone go.
#[test]
fn kept_group_keys_follow_the_series_through_reorders_gaps_and_returns() {
    use pdata::proto::metrics::v1::metric::Data;
    let mut st = state("", false);
    let scrape = |st: &mut TargetState, body: &str| {
        let out = st.process(
            Body::Ok {
                body: body.as_bytes(),
                format: Format::Text,
            },
            T0,
            Duration::ZERO,
        );
        assert!(out.error.is_none());
        out.resource_metrics
    };
    // k -> value (None: no recorded value) of gauge `a`'s points.
    let points = |rms: &[ResourceMetrics]| {
        let Some(Data::Gauge(g)) = &metric(rms, "a").data else {
            panic!("no gauge a")
        };
        let mut out: Vec<(String, Option<f64>)> = g
            .data_points
            .iter()
            .map(|p| (attr(&p.attributes, "k").unwrap(), double(p)))
            .collect();
        out.sort_by(|x, y| x.0.cmp(&y.0));
        out
    };
    let p = |k: &str, v: Option<f64>| (k.to_string(), v);
    let hist = |rms: &[ResourceMetrics]| {
        let Some(Data::Histogram(h)) = &metric(rms, "h").data else {
            panic!("no histogram h")
        };
        let p = &h.data_points[0];
        (
            p.explicit_bounds.clone(),
            p.bucket_counts.clone(),
            p.count,
            p.sum,
        )
    };
    let rms = scrape(
        &mut st,
        "# TYPE a gauge\na{k=\"1\"} 1\na{k=\"2\"} 2\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
    );
    assert_eq!(points(&rms), vec![p("1", Some(1.0)), p("2", Some(2.0))]);
    assert_eq!(hist(&rms), (vec![1.0], vec![1, 1], 2, Some(3.0)));
    // Another order, k=3 new, k=1 gone (stale); the histogram's buckets change.
    let rms = scrape(
        &mut st,
        "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\n# TYPE a gauge\na{k=\"3\"} 3\na{k=\"2\"} 20\n",
    );
    assert_eq!(
        points(&rms),
        vec![p("1", None), p("2", Some(20.0)), p("3", Some(3.0))]
    );
    assert_eq!(hist(&rms), (vec![0.5, 1.0], vec![1, 0, 2], 3, Some(4.0)));
    assert_eq!(st.family_groups("a"), Some(3));
    // k=1 back, k=2 gone (stale).
    let rms = scrape(&mut st, "# TYPE a gauge\na{k=\"1\"} 5\na{k=\"3\"} 6\n");
    assert_eq!(
        points(&rms),
        vec![p("1", Some(5.0)), p("2", None), p("3", Some(6.0))]
    );
    // k=2's key goes (no marker for it any more); k=3 is stale.
    let rms = scrape(&mut st, "# TYPE a gauge\na{k=\"1\"} 7\n");
    assert_eq!(points(&rms), vec![p("1", Some(7.0)), p("3", None)]);
    assert_eq!(st.family_groups("a"), Some(2));
    let rms = scrape(&mut st, "# TYPE a gauge\na{k=\"1\"} 8\n");
    assert_eq!(points(&rms), vec![p("1", Some(8.0))]);
    assert_eq!(
        st.family_groups("a"),
        Some(1),
        "only the series still scraped"
    );
}

/// Each family's group map is kept, emptied, for the next scrape, with room for the groups
/// it had; a family that is gone is let go, so what is kept follows the target. The points
/// made from kept maps are those of fresh ones (the chunk tests compare every point).
#[test]
fn group_maps_are_kept_for_the_next_scrape() {
    let mut st = state("", false);
    let scrape = |st: &mut TargetState, body: &str| {
        st.process(
            Body::Ok {
                body: body.as_bytes(),
                format: Format::Text,
            },
            T0,
            Duration::from_millis(5),
        )
    };
    let both = "# TYPE a gauge\na{k=\"1\"} 1\na{k=\"2\"} 1\na{k=\"3\"} 1\n# TYPE b gauge\nb{k=\"1\"} 1\nb{k=\"2\"} 1\n";
    let first = scrape(&mut st, both);
    assert!(st.family_room("a") >= Some(3));
    assert!(st.family_room("b") >= Some(2));
    // The series that went away still get their staleness markers: groups too.
    let out = scrape(&mut st, "# TYPE a gauge\na{k=\"1\"} 1\n");
    assert!(out.error.is_none());
    assert_eq!(
        metric(&out.resource_metrics, "b")
            .data
            .as_ref()
            .map(|d| match d {
                pdata::proto::metrics::v1::metric::Data::Gauge(g) => g.data_points.len(),
                _ => 0,
            }),
        Some(2)
    );
    scrape(&mut st, "# TYPE a gauge\na{k=\"1\"} 1\n");
    assert!(st.family_room("a") >= Some(1));
    assert_eq!(st.family_room("b"), None, "a family gone is forgotten");
    // Filled again from kept maps, the same scrape gives the same points.
    let again = scrape(&mut st, both);
    assert_eq!(
        format!("{:?}", metric(&again.resource_metrics, "a").data),
        format!("{:?}", metric(&first.resource_metrics, "a").data)
    );
}

#[test]
fn metric_type_for_om_counter_created_and_info() {
    let mut st = state("", false);
    let body = "# TYPE build info\nbuild_info{version=\"1\"} 1\n# TYPE jobs counter\njobs_total 3\njobs_created 1600000000\n# EOF\n";
    let out = st.process(
        Body::Ok {
            body: body.as_bytes(),
            format: Format::OpenMetrics,
        },
        T0,
        Duration::ZERO,
    );
    let Some(metric::Data::Sum(s)) = &metric(&out.resource_metrics, "build").data else {
        panic!()
    };
    assert!(!s.is_monotonic);
    let Some(metric::Data::Sum(j)) = &metric(&out.resource_metrics, "jobs_total").data else {
        panic!()
    };
    assert_eq!(
        j.data_points[0].start_time_unix_nano,
        1_600_000_000_000_000_000
    );
    assert_eq!(MetricType::Counter, MetricType::Counter);
}

#[test]
fn file_sd_reads_json_and_yaml_groups_with_their_file_path() {
    let dir = std::env::temp_dir().join(format!("promscrape-filesd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.json"),
        r#"[{"targets": ["h1:9100", "h2:9100"], "labels": {"env": "prod"}}]"#,
    )
    .unwrap();
    std::fs::write(dir.join("b.yml"), "- targets: ['h3:9100']\n").unwrap();
    std::fs::write(dir.join("c.txt"), "ignored").unwrap();
    let pattern = format!("{}/*.json", dir.display());
    let (groups, errors) =
        crate::target::read_file_sd(&[pattern, format!("{}/b.yml", dir.display())]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].targets, vec!["h1:9100", "h2:9100"]);
    assert_eq!(groups[0].labels.get("env"), "prod");
    assert!(groups[0].source.ends_with("a.json"));
    let c = prom(&format!(
        "scrape_configs:\n- job_name: f\n  file_sd_configs:\n  - files: ['{}/*.json']\n    refresh_interval: 30s\n  relabel_configs:\n  - source_labels: [__meta_filepath]\n    regex: .*/(.*)\n    target_label: from\n",
        dir.display()
    ))
    .unwrap();
    let sc = &c.scrape_configs[0];
    assert_eq!(
        sc.file_sd_configs[0].refresh_interval,
        Duration::from_secs(30)
    );
    let t = populate(&groups[0], "h1:9100", sc).unwrap().unwrap();
    assert_eq!(t.labels.get("from"), "a.json");
    std::fs::write(dir.join("bad.json"), "{not json").unwrap();
    let (_, errors) = crate::target::read_file_sd(&[format!("{}/*.json", dir.display())]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("bad.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explicit_timestamps_are_honored_and_not_staleness_tracked() {
    let mut st = state("", true);
    let out = st.process(
        Body::Ok {
            body: b"a 1 1600000000000\nb 2\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let Some(metric::Data::Gauge(g)) = &metric(&out.resource_metrics, "a").data else {
        panic!()
    };
    assert_eq!(g.data_points[0].time_unix_nano, 1_600_000_000_000_000_000);
    let out = st.process(
        Body::Ok {
            body: b"",
            format: Format::Text,
        },
        T0 + 1000,
        Duration::ZERO,
    );
    let names: Vec<&str> = out
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.as_str())
        .collect();
    assert!(names.contains(&"b"), "b goes stale");
    assert!(
        !names.contains(&"a"),
        "a had its own timestamp: Prometheus does not track it"
    );
    let mut st = state("  honor_timestamps: false\n", true);
    let out = st.process(
        Body::Ok {
            body: b"a 1 1600000000000\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let Some(metric::Data::Gauge(g)) = &metric(&out.resource_metrics, "a").data else {
        panic!()
    };
    assert_eq!(g.data_points[0].time_unix_nano, T0 as u64 * 1_000_000);
}

#[test]
fn histogram_and_summary_created_set_the_start() {
    let mut st = state("", true);
    let body = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 1\nh_created 1600000000.5\n# TYPE s summary\ns_count 1\ns_sum 1\ns_created 1600000001\n# EOF\n";
    let out = st.process(
        Body::Ok {
            body: body.as_bytes(),
            format: Format::OpenMetrics,
        },
        T0,
        Duration::ZERO,
    );
    let Some(metric::Data::Histogram(h)) = &metric(&out.resource_metrics, "h").data else {
        panic!()
    };
    assert_eq!(
        h.data_points[0].start_time_unix_nano,
        1_600_000_000_500_000_000
    );
    assert!(h.data_points[0].explicit_bounds.is_empty());
    assert_eq!(h.data_points[0].bucket_counts, vec![2]);
    let Some(metric::Data::Summary(s)) = &metric(&out.resource_metrics, "s").data else {
        panic!()
    };
    assert_eq!(
        s.data_points[0].start_time_unix_nano,
        1_600_000_001_000_000_000
    );
}

#[test]
fn label_limits_fail_the_scrape_with_prometheus_messages() {
    let mut st = state("  label_limit: 3\n", true);
    let out = st.process(
        Body::Ok {
            body: b"m{a=\"1\",b=\"2\"} 1\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    // __name__, a, b, team, job, instance = 6 labels.
    assert_eq!(
        out.error.as_deref(),
        Some("label_limit exceeded (metric: m, number of labels: 6, limit: 3)")
    );
    let mut st = state("  label_value_length_limit: 3\n", true);
    let out = st.process(
        Body::Ok {
            body: b"m{a=\"long value\"} 1\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    assert!(
        out.error
            .unwrap()
            .starts_with("label_value_length_limit exceeded (metric: m, label name: a")
    );
}

#[test]
fn external_labels_and_extra_scrape_metrics() {
    let c = prom("global:\n  external_labels: {cluster: c1}\nscrape_configs:\n- job_name: app\n  sample_limit: 10\n  static_configs:\n  - targets: ['h:1']\n").unwrap();
    let sc = Arc::new(c.scrape_configs[0].clone());
    let t = populate(&sc.static_configs[0], "h:1", &sc)
        .unwrap()
        .unwrap();
    let settings = Arc::new(Settings {
        external_labels: c.global.external_labels.clone(),
        scope_version: String::new(),
        adjust_start_times: true,
        trim_suffixes: false,
        extra_scrape_metrics: true,
    });
    let mut st = TargetState::new(sc, t, settings);
    let out = st.process(
        Body::Ok {
            body: b"m 1\n",
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let rms = &out.resource_metrics;
    assert_eq!(
        attr(
            &rms[0].resource.as_ref().unwrap().attributes,
            "server.address"
        )
        .as_deref(),
        Some("h")
    );
    let Some(metric::Data::Gauge(g)) = &metric(rms, "m").data else {
        panic!()
    };
    assert_eq!(
        attr(&g.data_points[0].attributes, "cluster").as_deref(),
        Some("c1")
    );
    let Some(metric::Data::Gauge(g)) = &metric(rms, "scrape_sample_limit").data else {
        panic!()
    };
    assert_eq!(double(&g.data_points[0]), Some(10.0));
    let Some(metric::Data::Gauge(g)) = &metric(rms, "scrape_body_size_bytes").data else {
        panic!()
    };
    assert_eq!(double(&g.data_points[0]), Some(4.0));
    let Some(metric::Data::Gauge(g)) = &metric(rms, "scrape_timeout_seconds").data else {
        panic!()
    };
    assert_eq!(double(&g.data_points[0]), Some(10.0));
    // Every point carries them: a series seen before (from the scrape cache), the report
    // samples, and the staleness marker of a series that went away.
    let cluster = |rms: &[ResourceMetrics], name: &str| match &metric(rms, name).data {
        Some(metric::Data::Gauge(g)) => attr(&g.data_points[0].attributes, "cluster"),
        other => panic!("{name}: {other:?}"),
    };
    let body = |b: &'static [u8]| Body::Ok {
        body: b,
        format: Format::Text,
    };
    let out = st.process(body(b"m 2\n"), T0 + 1000, Duration::ZERO);
    assert_eq!(cluster(&out.resource_metrics, "m").as_deref(), Some("c1"));
    assert_eq!(cluster(&out.resource_metrics, "up").as_deref(), Some("c1"));
    let out = st.process(body(b""), T0 + 2000, Duration::ZERO);
    assert_eq!(cluster(&out.resource_metrics, "m").as_deref(), Some("c1"));
}

#[test]
fn trim_metric_suffixes_as_go() {
    let mut st = state("", true);
    let settings = Arc::new(Settings {
        trim_suffixes: true,
        ..(*settings(true)).clone()
    });
    st = TargetState::new(
        Arc::new(
            prom("scrape_configs:\n- job_name: app\n")
                .unwrap()
                .scrape_configs[0]
                .clone(),
        ),
        st.target().clone(),
        settings,
    );
    let body = "# TYPE http_requests counter\nhttp_requests_total 1\n# TYPE d_seconds gauge\n# UNIT d_seconds seconds\nd_seconds 1\n# EOF\n";
    let out = st.process(
        Body::Ok {
            body: body.as_bytes(),
            format: Format::OpenMetrics,
        },
        T0,
        Duration::ZERO,
    );
    metric(&out.resource_metrics, "http_requests");
    metric(&out.resource_metrics, "d");
}

#[test]
fn trim_prom_suffixes_table() {
    use crate::scrape::trim_prom_suffixes_for_test as trim;
    assert_eq!(trim("http_requests_total", true, ""), "http_requests");
    assert_eq!(
        trim("request_duration_seconds_total", true, "seconds"),
        "request_duration"
    );
    assert_eq!(trim("temp_celsius", false, "celsius"), "temp");
    assert_eq!(trim("celsius", false, "celsius"), "celsius");
    assert_eq!(trim("up", false, ""), "up");
    assert_eq!(trim("gauge_total", false, ""), "gauge_total");
}

/// Every point of a scrape's OTLP on one line each, with its resource, scope and metric.
fn flat_points(rms: &[ResourceMetrics]) -> Vec<String> {
    let mut out = Vec::new();
    for rm in rms {
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let head = format!(
                    "{:?} | {:?} {} | {} {} {}",
                    rm.resource, sm.scope, sm.schema_url, m.name, m.description, m.unit
                );
                let points: Vec<String> = match &m.data {
                    Some(metric::Data::Gauge(g)) => g
                        .data_points
                        .iter()
                        .map(|p| format!("gauge {p:?}"))
                        .collect(),
                    Some(metric::Data::Sum(s)) => s
                        .data_points
                        .iter()
                        .map(|p| format!("sum {} {p:?}", s.is_monotonic))
                        .collect(),
                    Some(metric::Data::Histogram(h)) => h
                        .data_points
                        .iter()
                        .map(|p| format!("hist {p:?}"))
                        .collect(),
                    Some(metric::Data::Summary(s)) => s
                        .data_points
                        .iter()
                        .map(|p| format!("summary {p:?}"))
                        .collect(),
                    other => vec![format!("{other:?}")],
                };
                out.extend(points.into_iter().map(|p| format!("{head} | {p}")));
            }
        }
    }
    out
}

#[test]
fn scrapes_handed_out_in_chunks_make_the_points_made_at_once() {
    // Counters that reset, gauges, a histogram, a summary, a histogram without `_count`
    // (no point), a scoped series, a series that disappears (a stale point), `target_info`.
    let bodies = [
        "# TYPE c counter\nc_total{k=\"a\"} 5\nc_total{k=\"b\"} 7\nc_total{k=\"c\"} 1\n# TYPE g gauge\ng{x=\"1\"} 3\ng{x=\"2\"} 4\n# TYPE h histogram\nh_bucket{p=\"a\",le=\"1\"} 1\nh_bucket{p=\"a\",le=\"+Inf\"} 2\nh_sum{p=\"a\"} 3\nh_count{p=\"a\"} 2\nh_bucket{p=\"b\",le=\"1\"} 0\nh_bucket{p=\"b\",le=\"+Inf\"} 1\nh_sum{p=\"b\"} 1\nh_count{p=\"b\"} 1\n# TYPE nocount histogram\nnocount_bucket{le=\"1\"} 1\n# TYPE s summary\ns{quantile=\"0.5\"} 2\ns_sum 10\ns_count 4\nscoped{otel_scope_name=\"lib\",otel_scope_version=\"2\",k=\"v\"} 1\ntarget_info{env=\"prod\"} 1\n",
        "# TYPE c counter\nc_total{k=\"a\"} 2\nc_total{k=\"b\"} 9\n# TYPE g gauge\ng{x=\"1\"} 5\ng{x=\"2\"} 6\n# TYPE h histogram\nh_bucket{p=\"a\",le=\"1\"} 2\nh_bucket{p=\"a\",le=\"+Inf\"} 3\nh_sum{p=\"a\"} 4\nh_count{p=\"a\"} 3\nh_bucket{p=\"b\",le=\"1\"} 0\nh_bucket{p=\"b\",le=\"+Inf\"} 0\nh_sum{p=\"b\"} 0\nh_count{p=\"b\"} 0\n# TYPE s summary\ns{quantile=\"0.5\"} 3\ns_sum 12\ns_count 6\nscoped{otel_scope_name=\"lib\",otel_scope_version=\"2\",k=\"v\"} 2\ntarget_info{env=\"prod\"} 1\n",
        "# TYPE c counter\nc_total{k=\"a\"} 4\nc_total{k=\"b\"} 10\nc_total{k=\"c\"} 3\n# TYPE g gauge\ng{x=\"1\"} 5\n",
    ];
    let mut whole = state("", true);
    let mut chunked = state("", true);
    for (i, body) in bodies.iter().enumerate() {
        let t = T0 + 1000 * i as i64;
        let body = || Body::Ok {
            body: body.as_bytes(),
            format: Format::Text,
        };
        let at_once = whole.process(body(), t, Duration::ZERO);
        let mut scrape = chunked.scrape(body(), t, Duration::ZERO);
        let (mut chunks, mut points, mut flat) = (0, 0, Vec::new());
        while let Some((rms, n)) = scrape.next_chunk(2) {
            assert!(n <= 2, "scrape {i}: a chunk of {n} points");
            chunks += 1;
            points += n;
            flat.extend(flat_points(&rms));
        }
        drop(scrape);
        assert_eq!(flat, flat_points(&at_once.resource_metrics), "scrape {i}");
        assert_eq!(points, at_once.points, "scrape {i}");
        assert!(
            chunks * 2 >= points && chunks > 2,
            "scrape {i}: {chunks} chunks"
        );
    }
}

#[test]
fn a_scrape_with_the_targets_own_timestamps_comes_in_one_chunk() {
    // Chunks with different latest times would give remote write's `target_info` an
    // out-of-order sample, which Prometheus refuses with the whole request.
    let mut st = state("", true);
    let body = "a{k=\"1\"} 1 1699999990000\na{k=\"2\"} 2 1699999999000\nb 3\nc 4\n";
    let mut scrape = st.scrape(
        Body::Ok {
            body: body.as_bytes(),
            format: Format::Text,
        },
        T0,
        Duration::ZERO,
    );
    let (rms, points) = scrape.next_chunk(1).expect("a chunk");
    assert_eq!(points, 4 + 5, "the samples and the report metrics");
    assert_eq!(flat_points(&rms).len(), points);
    assert!(scrape.next_chunk(1).is_none());
    drop(scrape);
    // Without them, the same scrape comes in chunks of the size asked.
    let body = "a{k=\"1\"} 1\na{k=\"2\"} 2\nb 3\nc 4\n";
    let mut scrape = st.scrape(
        Body::Ok {
            body: body.as_bytes(),
            format: Format::Text,
        },
        T0 + 10_000,
        Duration::ZERO,
    );
    let mut sizes = Vec::new();
    while let Some((_, n)) = scrape.next_chunk(2) {
        sizes.push(n);
    }
    assert_eq!(sizes, [2, 2, 2, 2, 1]);
}

#[test]
fn a_type_line_after_its_samples_applies_from_the_next_scrape_as_in_go() {
    // Samples go into the transaction as they are parsed, with the metadata read so far and
    // then the last scrape's: Go's transaction reads the scrape cache's metadata the same way.
    let mut st = state("", true);
    let body = "late_total 1\n# TYPE late_total counter\n";
    let kind = |st: &mut TargetState, t: i64| {
        let out = st.process(
            Body::Ok {
                body: body.as_bytes(),
                format: Format::Text,
            },
            t,
            Duration::ZERO,
        );
        match &metric(&out.resource_metrics, "late_total").data {
            Some(metric::Data::Gauge(_)) => "gauge",
            Some(metric::Data::Sum(s)) if s.is_monotonic => "counter",
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(kind(&mut st, T0), "gauge");
    assert_eq!(kind(&mut st, T0 + 1000), "counter");
}

/// Whole numbers take a shortcut past the general float parser: every value it reads must
/// be the general parser's, at every length around the shortcut's limit of 15 digits, with
/// leading zeros, and text that is not all digits must still go the general way.
#[test]
fn values_read_by_the_whole_number_shortcut_are_the_general_parsers() {
    use crate::expfmt::parse_float;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for len in 1..=20 {
        for _ in 0..500 {
            let mut s: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            if next() % 4 == 0 {
                s.insert(0, '0');
            }
            assert_eq!(parse_float(&s), s.parse::<f64>().ok(), "{s}");
        }
    }
    for s in [
        "999999999999999",
        "9007199254740993",
        "0",
        "+1",
        "-1",
        "1.5",
        "1e3",
        "12a",
        "NaN",
        "+Inf",
        "-Inf",
        " 1",
        "",
        "٣",
    ] {
        assert_eq!(
            parse_float(s).map(f64::to_bits),
            s.parse::<f64>().ok().map(f64::to_bits),
            "{s:?}"
        );
    }
}
