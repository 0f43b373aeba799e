use ::config::Value;

use super::Config;

fn parse(yaml: &str) -> Result<Config, String> {
    let v = Value::from_yaml_str(yaml).expect("yaml");
    Config::parse(&v, "receivers::prometheus").map_err(|e| e.to_string())
}

#[test]
fn seed_sidecar_receiver_config_parses_with_prometheus_defaults() {
    let c = parse(
        "config:\n  scrape_configs:\n  - job_name: 'otel-scrape'\n    scrape_interval: 1m\n    static_configs:\n    - targets: [\"0.0.0.0:9404\"]\n    metrics_path: \"/actuator/prometheus\"\n",
    )
    .unwrap();
    let sc = &c.prometheus.scrape_configs[0];
    assert_eq!(sc.job_name, "otel-scrape");
    assert_eq!(sc.metrics_path, "/actuator/prometheus");
    assert_eq!(sc.scrape_timeout, std::time::Duration::from_secs(10));
    assert!(!c.trim_metric_suffixes);
}

#[test]
fn refuses_what_cannot_run_by_name() {
    let cases = [
        (
            "config:\n  scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pod}]\n",
            "receivers::prometheus::config: scrape_configs[0]: job \"k\": kubernetes_sd_configs is not supported",
        ),
        (
            "target_allocator:\n  endpoint: http://ta\n",
            "target_allocator is not supported",
        ),
        (
            "config:\n  scrape_configs: []\n",
            "no Prometheus scrape_configs or target_allocator set",
        ),
        (
            "config:\n  scrape_configs:\n  - job_name: a\n    follow_redirects: false\n",
            "follow_redirects: false is not supported",
        ),
        (
            "use_start_time_metric: true\nconfig:\n  scrape_configs:\n  - job_name: a\n",
            "use_start_time_metric is not supported",
        ),
        ("bogus: 1\n", "bogus"),
    ];
    for (yaml, want) in cases {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: {e}");
    }
}
