//! One table of component type names: every type upstream (core and contrib) has today, with
//! the older spelling its factory still answers to (`deprecated_type` in its metadata.yaml;
//! tracking issue open-telemetry/opentelemetry-collector-contrib#45339), and the types
//! upstream removed with what replaces them.
//!
//! [`crate::registry`] reads it: a built component answers to its name and its alias (with
//! Go's deprecation warning); one not built yet is reported as such under both spellings; a
//! removed one says what to use instead. The table was taken from the components'
//! metadata.yaml files at contrib/core v0.162.0 (rows marked "inferred" from the contrib
//! release notes of mid 2026). Keep it in step with upstream, not with what ferrotel has.

use runtime::Kind;

/// (kind, today's upstream type, older spelling or "").
pub static UPSTREAM: &[(Kind, &str, &str)] = &[
    (Kind::Receiver, "otlp", ""),
    (Kind::Receiver, "nop", ""),
    (Kind::Receiver, "active_directory_ds", ""),
    (Kind::Receiver, "active_directory_inv", ""),
    (Kind::Receiver, "aerospike", ""),
    (Kind::Receiver, "apache", ""),
    (Kind::Receiver, "apache_spark", "apachespark"),
    (Kind::Receiver, "aws_cloudwatch", "awscloudwatch"),
    (Kind::Receiver, "awscontainerinsightreceiver", ""),
    (Kind::Receiver, "awsecscontainermetrics", ""),
    (Kind::Receiver, "awsfirehose", ""),
    (Kind::Receiver, "aws_lambda", ""),
    (Kind::Receiver, "aws_s3", "awss3"),
    (Kind::Receiver, "awsxray", ""),
    (Kind::Receiver, "azure_blob", "azureblob"),
    (Kind::Receiver, "azure_event_hub", "azureeventhub"),
    (Kind::Receiver, "azure_functions", ""),
    (Kind::Receiver, "azure_monitor", "azuremonitor"),
    (Kind::Receiver, "carbon", ""),
    (Kind::Receiver, "chrony", ""),
    (Kind::Receiver, "cisco_os", "ciscoos"),
    (Kind::Receiver, "cloudflare", ""),
    (Kind::Receiver, "cloud_foundry", "cloudfoundry"),
    (Kind::Receiver, "collectd", ""),
    (Kind::Receiver, "couchdb", ""),
    (Kind::Receiver, "datadog", ""),
    (Kind::Receiver, "dns_check", ""),
    (Kind::Receiver, "docker_stats", ""),
    (Kind::Receiver, "elasticsearch", ""),
    (Kind::Receiver, "envoy_als", "envoyals"),
    (Kind::Receiver, "expvar", ""),
    (Kind::Receiver, "faro", ""),
    (Kind::Receiver, "file_log", "filelog"),
    (Kind::Receiver, "file_stats", "filestats"),
    (Kind::Receiver, "flink_metrics", "flinkmetrics"),
    (Kind::Receiver, "fluent_forward", "fluentforward"),
    (Kind::Receiver, "github", ""),
    (Kind::Receiver, "gitlab", ""),
    (Kind::Receiver, "googlecloudmonitoring", ""),
    (Kind::Receiver, "googlecloudpubsubpush", ""),
    (Kind::Receiver, "googlecloudpubsub", ""),
    (Kind::Receiver, "google_cloud_spanner", "googlecloudspanner"),
    (Kind::Receiver, "haproxy", ""),
    (Kind::Receiver, "host_metrics", "hostmetrics"),
    (Kind::Receiver, "http_check", "httpcheck"),
    (Kind::Receiver, "huaweicloudcesreceiver", ""),
    (Kind::Receiver, "icmp_check", "icmpcheckreceiver"),
    (Kind::Receiver, "iis", ""),
    (Kind::Receiver, "influxdb", ""),
    (Kind::Receiver, "jaeger", ""),
    (Kind::Receiver, "journald", ""),
    (Kind::Receiver, "k8s_cluster", ""),
    (Kind::Receiver, "k8s_events", ""),
    (Kind::Receiver, "k8s_objects", "k8sobjects"),
    (Kind::Receiver, "kafka_metrics", "kafkametrics"),
    (Kind::Receiver, "kafka", ""),
    (Kind::Receiver, "kubelet_stats", "kubeletstats"),
    (Kind::Receiver, "libhoney", ""),
    (Kind::Receiver, "loki", ""),
    (
        Kind::Receiver,
        "macos_unified_logging",
        "macosunifiedlogging",
    ),
    (Kind::Receiver, "memcached", ""),
    (Kind::Receiver, "mongodb_atlas", "mongodbatlas"),
    (Kind::Receiver, "mongodb", ""),
    (Kind::Receiver, "mysql", ""),
    (Kind::Receiver, "named_pipe", "namedpipe"),
    (Kind::Receiver, "netflow", ""),
    (Kind::Receiver, "nginx", ""),
    (Kind::Receiver, "nsxt", ""),
    (Kind::Receiver, "ntp", ""), // inferred
    (Kind::Receiver, "oracledb", ""),
    (Kind::Receiver, "osquery", ""),
    (Kind::Receiver, "otelarrow", ""),
    (Kind::Receiver, "otlp_json_file", "otlpjsonfile"),
    (Kind::Receiver, "podman_stats", ""),
    (Kind::Receiver, "postgresql", ""),
    (Kind::Receiver, "pprof", ""),
    (Kind::Receiver, "prometheus", ""),
    (
        Kind::Receiver,
        "prometheus_remote_write",
        "prometheusremotewrite",
    ),
    (Kind::Receiver, "pulsar", ""),
    (Kind::Receiver, "purefa", ""),
    (Kind::Receiver, "purefb", ""),
    (Kind::Receiver, "rabbitmq", ""),
    (Kind::Receiver, "receiver_creator", ""),
    (Kind::Receiver, "redfish", ""), // inferred
    (Kind::Receiver, "redis", ""),   // inferred
    (Kind::Receiver, "riak", ""),
    (Kind::Receiver, "saphana", ""),
    (Kind::Receiver, "signalfx", ""),
    (Kind::Receiver, "prometheus_simple", ""),
    (Kind::Receiver, "skywalking", ""),
    (Kind::Receiver, "snmp", ""),
    (Kind::Receiver, "snowflake", ""), // inferred
    (Kind::Receiver, "solace", ""),    // inferred
    (Kind::Receiver, "splunk_enterprise", "splunkenterprise"), // inferred
    (Kind::Receiver, "splunk_hec", ""), // inferred
    (Kind::Receiver, "sqlquery", ""),  // inferred
    (Kind::Receiver, "sqlserver", ""), // inferred
    (Kind::Receiver, "ssh_check", "sshcheck"), // inferred
    (Kind::Receiver, "statsd", ""),    // inferred
    (Kind::Receiver, "stef", ""),      // inferred
    (Kind::Receiver, "syslog", ""),    // inferred
    (Kind::Receiver, "systemd", ""),   // inferred
    (Kind::Receiver, "tcp_check", "tcpcheck"), // inferred
    (Kind::Receiver, "tcp_log", "tcplog"), // inferred
    (Kind::Receiver, "tls_check", "tlscheck"), // inferred
    (Kind::Receiver, "udp_log", "udplog"), // inferred
    (Kind::Receiver, "vcenter", ""),
    (Kind::Receiver, "vcr", ""),
    (Kind::Receiver, "webhook_event", "webhookevent"),
    (Kind::Receiver, "windows_event_log", "windowseventlog"),
    (
        Kind::Receiver,
        "windows_perf_counters",
        "windowsperfcounters",
    ),
    (Kind::Receiver, "windows_service", "windowsservice"),
    (Kind::Receiver, "yang_grpc", "yanggrpc"),
    (Kind::Receiver, "zipkin", ""),
    (Kind::Receiver, "zookeeper", ""),
    (Kind::Processor, "batch", ""),
    (Kind::Processor, "memory_limiter", ""),
    (Kind::Processor, "queuebatch", ""),
    (Kind::Processor, "adaptive_tail_sampling", ""),
    (Kind::Processor, "attributes", ""),
    (Kind::Processor, "aws_ecs_attributes", ""),
    (Kind::Processor, "cardinality_guardian", ""),
    (Kind::Processor, "coralogix", ""),
    (Kind::Processor, "cumulative_to_delta", "cumulativetodelta"),
    (Kind::Processor, "delta_to_cumulative", "deltatocumulative"),
    (Kind::Processor, "delta_to_rate", "deltatorate"),
    (Kind::Processor, "drain", ""),
    (Kind::Processor, "filter", ""),
    (Kind::Processor, "gen_ai_normalizer", ""),
    (Kind::Processor, "geoip", ""),
    (Kind::Processor, "groupbyattrs", ""),
    (Kind::Processor, "groupbytrace", ""),
    (Kind::Processor, "interval", ""),
    (Kind::Processor, "isolationforest", ""),
    (Kind::Processor, "k8s_attributes", "k8sattributes"),
    (Kind::Processor, "log_dedup", "logdedup"),
    (Kind::Processor, "logstransform", ""),
    (Kind::Processor, "lookup", ""),
    (Kind::Processor, "metricsgeneration", ""),
    (Kind::Processor, "metric_start_time", "metricstarttime"),
    (Kind::Processor, "metrics_transform", "metricstransform"),
    (Kind::Processor, "probabilistic_sampler", ""),
    (Kind::Processor, "redaction", ""),
    (Kind::Processor, "remotetap", ""),
    (Kind::Processor, "resource_detection", "resourcedetection"),
    (Kind::Processor, "resource", ""),
    (Kind::Processor, "rolling_span_latency", ""),
    (Kind::Processor, "schema", ""),
    (Kind::Processor, "signing", ""),
    (Kind::Processor, "span", ""),
    (Kind::Processor, "span_pruning", "spanpruning"),
    (Kind::Processor, "sumologic", ""),
    (Kind::Processor, "tail_sampling", ""),
    (Kind::Processor, "telemetry_policy", ""),
    (Kind::Processor, "transform", ""),
    (Kind::Processor, "unroll", ""),
    (Kind::Exporter, "otlp_grpc", "otlp"),
    (Kind::Exporter, "otlp_http", "otlphttp"),
    (Kind::Exporter, "debug", ""),
    (Kind::Exporter, "nop", ""),
    (Kind::Exporter, "alertmanager", ""),
    (Kind::Exporter, "alibabacloud_logservice", ""),
    (Kind::Exporter, "awscloudwatchlogs", ""),
    (Kind::Exporter, "awsemf", ""),
    (Kind::Exporter, "awskinesis", ""),
    (Kind::Exporter, "awss3", ""),
    (Kind::Exporter, "awsxray", ""),
    (Kind::Exporter, "azure_blob", "azureblob"),
    (Kind::Exporter, "azuredataexplorer", ""),
    (Kind::Exporter, "azure_monitor", "azuremonitor"),
    (Kind::Exporter, "bmc_helix", "bmchelix"),
    (Kind::Exporter, "cassandra", ""),
    (Kind::Exporter, "clickhouse", ""),
    (Kind::Exporter, "coralogix", ""),
    (Kind::Exporter, "datadog", ""),
    (Kind::Exporter, "dataset", ""),
    (Kind::Exporter, "doris", ""),
    (Kind::Exporter, "elasticsearch", ""),
    (Kind::Exporter, "faro", ""),
    (Kind::Exporter, "file", ""),
    (Kind::Exporter, "googlecloud", ""),
    (Kind::Exporter, "googlecloudpubsub", ""),
    (Kind::Exporter, "google_cloud_storage", "googlecloudstorage"),
    (Kind::Exporter, "googlemanagedprometheus", ""),
    (Kind::Exporter, "honeycomb_marker", "honeycombmarker"),
    (Kind::Exporter, "influxdb", ""),
    (Kind::Exporter, "kafka", ""),
    (Kind::Exporter, "load_balancing", "loadbalancing"),
    (Kind::Exporter, "logicmonitor", ""),
    (Kind::Exporter, "logzio", ""),
    (Kind::Exporter, "nats", ""),
    (Kind::Exporter, "opensearch", ""),
    (Kind::Exporter, "otelarrow", ""),
    (Kind::Exporter, "prometheus", ""),
    (
        Kind::Exporter,
        "prometheus_remote_write",
        "prometheusremotewrite",
    ),
    (Kind::Exporter, "pulsar", ""),
    (Kind::Exporter, "rabbitmq", ""),
    (Kind::Exporter, "sematext", ""),
    (Kind::Exporter, "sentry", ""),
    (Kind::Exporter, "signalfx", ""),
    (Kind::Exporter, "splunk_hec", ""),
    (Kind::Exporter, "stef", ""),
    (Kind::Exporter, "sumologic", ""),
    (Kind::Exporter, "syslog", ""),
    (Kind::Exporter, "tencentcloud_logservice", ""),
    (Kind::Exporter, "tinybird", ""),
    (Kind::Exporter, "zipkin", ""),
    (Kind::Connector, "forward", ""),
    (Kind::Connector, "count", ""),
    (Kind::Connector, "datadog", ""),
    (Kind::Connector, "exceptions", ""),
    (Kind::Connector, "failover", ""),
    (Kind::Connector, "grafana_cloud", "grafanacloud"),
    (Kind::Connector, "metrics_as_logs", "metricsaslogs"),
    (Kind::Connector, "otlp_json", "otlpjson"),
    (Kind::Connector, "round_robin", "roundrobin"),
    (Kind::Connector, "routing", ""),
    (Kind::Connector, "service_graph", "servicegraph"),
    (Kind::Connector, "signal_to_metrics", "signaltometrics"),
    (Kind::Connector, "slow_sql", "slowsql"),
    (Kind::Connector, "span_metrics", "spanmetrics"),
    (Kind::Connector, "sum", ""),
    (Kind::Extension, "zpages", ""),
    (Kind::Extension, "memory_limiter", ""),
    (Kind::Extension, "ack", ""),
    (Kind::Extension, "asapclient", ""),
    (Kind::Extension, "awsproxy", ""),
    (Kind::Extension, "azure_auth", "azureauth"),
    (Kind::Extension, "basicauth", ""),
    (Kind::Extension, "bearertokenauth", ""),
    (Kind::Extension, "cgroup_runtime", "cgroupruntime"),
    (Kind::Extension, "datadog", ""),
    (Kind::Extension, "avro_log_encoding", ""),
    (Kind::Extension, "awscloudwatchmetricstreams_encoding", ""),
    (Kind::Extension, "aws_logs_encoding", "awslogs_encoding"),
    (Kind::Extension, "azure_encoding", ""),
    (
        Kind::Extension,
        "google_cloud_logentry_encoding",
        "googlecloudlogentry_encoding",
    ),
    (Kind::Extension, "jaeger_encoding", ""),
    (Kind::Extension, "json_log_encoding", ""),
    (Kind::Extension, "otlp_encoding", ""),
    (Kind::Extension, "skywalking_encoding", ""),
    (Kind::Extension, "text_encoding", ""),
    (Kind::Extension, "zipkin_encoding", ""),
    (Kind::Extension, "file_telemetry_policy", ""),
    (Kind::Extension, "googleclientauth", ""),
    (Kind::Extension, "headers_setter", ""),
    (Kind::Extension, "health_check", ""),
    (Kind::Extension, "healthcheckv2", ""),
    (Kind::Extension, "http_forwarder", ""),
    (Kind::Extension, "jaegerremotesampling", ""),
    (Kind::Extension, "k8s_leader_elector", ""),
    (Kind::Extension, "mcp", ""),
    (Kind::Extension, "oauth2client", ""),
    (Kind::Extension, "cfgarden_observer", ""),
    (Kind::Extension, "docker_observer", ""),
    (Kind::Extension, "ecs_observer", ""),
    (Kind::Extension, "host_observer", ""),
    (Kind::Extension, "k8s_observer", ""),
    (Kind::Extension, "oidc", ""),
    (Kind::Extension, "opamp", ""),
    (Kind::Extension, "pprof", ""),
    (Kind::Extension, "remotetap", ""),
    (Kind::Extension, "sd_notify", ""),
    (Kind::Extension, "sigv4auth", ""),
    (Kind::Extension, "solarwindsapmsettings", ""),
    (Kind::Extension, "db_storage", ""),
    (Kind::Extension, "file_storage", ""),
    (Kind::Extension, "redis_storage", ""),
    (Kind::Extension, "sumologic", ""),
    (Kind::Extension, "pebble_tail_storage", ""), // inferred
];

/// Spellings ferrotel accepts beyond upstream's `deprecated_type`s: (kind, spelling, type).
/// `logging` is the exporter Go removed in favour of `debug`; it keeps working as `debug`, as
/// it always has here. `group_by_attrs` is the snake_case spelling proposed in #45339.
pub static EXTRA_ALIASES: &[(Kind, &str, &str)] = &[
    (Kind::Exporter, "logging", "debug"),
    (Kind::Processor, "group_by_attrs", "groupbyattrs"),
];

/// Components ferrotel has that upstream no longer does: (kind, type, why it stays).
pub static KEPT_AFTER_UPSTREAM_REMOVAL: &[(Kind, &str)] = &[
    // Upstream removed the loki exporter in 2025 in favour of Loki's OTLP endpoint; node
    // agents' configs still name it, and ferrotel keeps it working.
    (Kind::Exporter, "loki"),
];

/// Components of ferrotel's own, with no upstream counterpart (named in upstream's style).
pub static FERROTEL_OWN: &[(Kind, &str)] = &[
    // The embedded store and its query APIs (the `store` and `ui` crates).
    (Kind::Exporter, "embedded_store"),
    (Kind::Extension, "embedded_store"),
];

/// Types upstream removed: (kind, type, what to use instead).
pub static REMOVED: &[(Kind, &str, &str)] = &[
    (
        Kind::Exporter,
        "jaeger",
        "Jaeger accepts OTLP natively since v1.35: use the \"otlp_grpc\" exporter (or \"otlp_http\")",
    ),
    (
        Kind::Exporter,
        "jaeger_thrift",
        "use the \"otlp_http\" exporter (Jaeger accepts OTLP natively)",
    ),
    (
        Kind::Exporter,
        "jaegerthrifthttp",
        "use the \"otlp_http\" exporter (Jaeger accepts OTLP natively)",
    ),
    (
        Kind::Exporter,
        "opencensus",
        "use the \"otlp_grpc\" exporter",
    ),
    (Kind::Receiver, "opencensus", "use the \"otlp\" receiver"),
    (
        Kind::Processor,
        "queued_retry",
        "use the exporters' \"sending_queue\" and \"retry_on_failure\" settings",
    ),
    (
        Kind::Extension,
        "memory_ballast",
        "use the \"memory_limiter\" processor",
    ),
    (
        Kind::Processor,
        "spanmetrics",
        "use the \"span_metrics\" connector",
    ),
    (
        Kind::Processor,
        "servicegraph",
        "use the \"service_graph\" connector",
    ),
    (Kind::Processor, "routing", "use the \"routing\" connector"),
    (Kind::Processor, "datadog", "use the \"datadog\" connector"),
    (Kind::Processor, "datadogsemantics", "no replacement"),
    (
        Kind::Processor,
        "remoteobserver",
        "use the \"remotetap\" processor",
    ),
    (
        Kind::Processor,
        "k8s_tagger",
        "use the \"k8s_attributes\" processor",
    ),
    (
        Kind::Processor,
        "experimental_metricsgeneration",
        "use the \"metricsgeneration\" processor",
    ),
    (Kind::Exporter, "sapm", "use the \"otlp_http\" exporter"),
    (Kind::Receiver, "sapm", "use the \"otlp\" receiver"),
    (
        Kind::Exporter,
        "carbon",
        "use the \"prometheus_remote_write\" exporter",
    ),
    (
        Kind::Exporter,
        "awsprometheusremotewrite",
        "use the \"prometheus_remote_write\" exporter with the \"sigv4auth\" extension",
    ),
    (
        Kind::Exporter,
        "elastic",
        "use the \"elasticsearch\" exporter or \"otlp_grpc\"",
    ),
    (
        Kind::Exporter,
        "honeycomb",
        "use the \"otlp_grpc\" exporter",
    ),
    (Kind::Exporter, "newrelic", "use the \"otlp_http\" exporter"),
    (
        Kind::Exporter,
        "dynatrace",
        "use the \"otlp_http\" exporter",
    ),
    (
        Kind::Exporter,
        "stackdriver",
        "use the \"googlecloud\" exporter",
    ),
    (Kind::Exporter, "kinesis", "use the \"awskinesis\" exporter"),
    (Kind::Receiver, "bigip", "no replacement"),
    (
        Kind::Receiver,
        "prometheus_exec",
        "run the program yourself and scrape it with the \"prometheus\" receiver",
    ),
    (
        Kind::Receiver,
        "jmx",
        "use the OpenTelemetry Java agent's JMX metrics or the \"prometheus\" receiver",
    ),
];

/// Adds the aliases, the not-built names and the removed types of the table to `r`, whose
/// factories are registered already.
pub fn apply(r: &mut runtime::Registry) {
    for &(kind, name, alias) in UPSTREAM {
        if r.has(kind, name) {
            if !alias.is_empty() {
                r.alias(kind, alias, name);
            }
        } else {
            r.not_built(kind, &[name]);
            if !alias.is_empty() {
                r.not_built(kind, &[alias]);
            }
        }
    }
    for &(kind, alias, name) in EXTRA_ALIASES {
        if r.has(kind, name) {
            r.alias(kind, alias, name);
        } else {
            r.not_built(kind, &[alias]);
        }
    }
    for &(kind, name, instead) in REMOVED {
        r.removed(kind, name, instead);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_component_has_its_upstream_name() {
        let r = crate::registry();
        let upstream = |k: Kind, n: &str| UPSTREAM.iter().any(|&(kk, nn, _)| kk == k && nn == n);
        let kept = |k: Kind, n: &str| {
            KEPT_AFTER_UPSTREAM_REMOVAL.contains(&(k, n)) || FERROTEL_OWN.contains(&(k, n))
        };
        let built = r
            .receivers
            .keys()
            .map(|n| (Kind::Receiver, *n))
            .chain(r.processors.keys().map(|n| (Kind::Processor, *n)))
            .chain(r.exporters.keys().map(|n| (Kind::Exporter, *n)))
            .chain(r.connectors.keys().map(|n| (Kind::Connector, *n)))
            .chain(r.extensions.keys().map(|n| (Kind::Extension, *n)));
        for (k, n) in built {
            assert!(
                upstream(k, n) || kept(k, n),
                "{k:?} {n:?} is registered under a name upstream does not have today"
            );
        }
    }

    #[test]
    fn built_components_answer_to_their_old_spelling_and_missing_ones_are_named() {
        use runtime::registry::Lookup;
        let r = crate::registry();
        for &(kind, name, alias) in UPSTREAM.iter().filter(|(k, _, _)| *k == Kind::Receiver) {
            let built = r.has(kind, name);
            match r.lookup_receiver(name) {
                Lookup::Found(_) => assert!(built),
                Lookup::NotBuilt => assert!(!built),
                _ => panic!("receiver {name}: neither built nor known as not built"),
            }
            if !alias.is_empty() {
                match r.lookup_receiver(alias) {
                    Lookup::Deprecated(_, msg) => {
                        assert!(built);
                        assert_eq!(
                            msg,
                            format!(
                                "the {alias} receiver type \"{alias}\" is deprecated, use \"{name}\" instead"
                            )
                        );
                    }
                    Lookup::NotBuilt => assert!(!built),
                    _ => panic!("receiver alias {alias}: not resolved"),
                }
            }
        }
        assert!(matches!(
            r.lookup_exporter("logging"),
            Lookup::Deprecated(..)
        ));
        assert!(matches!(r.lookup_exporter("otlp"), Lookup::Deprecated(..)));
        match r.lookup_exporter("jaeger") {
            Lookup::Removed(instead) => assert!(instead.contains("otlp_grpc"), "{instead}"),
            _ => panic!("the jaeger exporter is not reported as removed"),
        }
        assert!(matches!(
            r.lookup_processor("queued_retry"),
            Lookup::Removed(_)
        ));
        assert!(matches!(
            r.lookup_receiver("no_such_thing"),
            Lookup::Unknown
        ));
    }

    #[test]
    fn the_table_has_no_duplicates_and_names_are_lower_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for &(k, n, a) in UPSTREAM {
            assert!(seen.insert((k, n)), "{k:?} {n} twice");
            for s in [n, a] {
                assert!(
                    s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{s}"
                );
            }
        }
    }
}
