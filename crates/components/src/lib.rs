//! Every receiver, processor, exporter, connector and extension of ferrotel.
//!
//! Each component lives in its own folder with the same shape: `mod.rs` (the factory: type
//! name, signals, config parsing, build), `config.rs` (serde struct with the Go collector's
//! keys and defaults, and its validation), the work itself, and tests. Adding a component
//! touches its folder and one line in [`registry`].

pub mod attraction;
pub mod compression;
pub mod connectors;
pub mod exporters;
pub mod extensions;
pub mod filtering;
pub mod otlp_grpc_codec;
pub mod processors;
pub mod receivers;
pub mod util;

use runtime::{Kind, Registry};

/// Every component type this build has, plus the deprecated spellings and the Go collector
/// types it does not have yet (so their error can say so).
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.receiver(receivers::otlp::Factory);
    r.receiver(receivers::filelog::Factory);
    r.receiver(receivers::prometheus::Factory);
    r.receiver(receivers::hostmetrics::Factory);
    r.receiver(receivers::zipkin::Factory);
    r.processor(processors::attributes::Factory);
    r.processor(processors::batch::Factory);
    r.processor(processors::filter::Factory);
    r.processor(processors::memory_limiter::Factory);
    r.processor(processors::resource::Factory);
    r.exporter(exporters::debug::Factory);
    r.exporter(exporters::loki::Factory);
    r.exporter(exporters::otlp::Factory);
    r.exporter(exporters::otlphttp::Factory);
    r.exporter(exporters::zipkin::Factory);
    r.exporter(exporters::prometheus::Factory);
    r.exporter(exporters::prometheusremotewrite::Factory);
    r.connector(connectors::forward::Factory);
    r.connector(connectors::spanmetrics::Factory);
    r.connector(connectors::servicegraph::Factory);
    r.extension(extensions::health_check::Factory);
    r.extension(extensions::file_storage::Factory);
    r.extension(extensions::pprof::Factory);
    r.extension(extensions::healthcheckv2::Factory);
    r.extension(extensions::zpages::Factory);

    r.alias(Kind::Exporter, "otlp", "otlp_grpc");
    r.alias(Kind::Exporter, "otlphttp", "otlp_http");
    r.alias(Kind::Exporter, "logging", "debug");
    r.alias(Kind::Receiver, "filelog", "file_log");
    r.alias(Kind::Receiver, "hostmetrics", "host_metrics");
    r.alias(Kind::Connector, "spanmetrics", "span_metrics");
    r.alias(Kind::Connector, "servicegraph", "service_graph");
    r.alias(
        Kind::Exporter,
        "prometheusremotewrite",
        "prometheus_remote_write",
    );

    r.not_built(Kind::Receiver, NOT_BUILT_RECEIVERS);
    r.not_built(Kind::Processor, NOT_BUILT_PROCESSORS);
    r.not_built(Kind::Exporter, NOT_BUILT_EXPORTERS);
    r.not_built(Kind::Connector, NOT_BUILT_CONNECTORS);
    r.not_built(Kind::Extension, NOT_BUILT_EXTENSIONS);
    r
}

/// Go collector (core and contrib) types people use that this build does not have yet.
const NOT_BUILT_RECEIVERS: &[&str] = &[
    "jaeger",
    "kafka",
    "k8s_cluster",
    "kubeletstats",
    "k8s_events",
    "journald",
    "syslog",
    "tcplog",
    "udplog",
    "fluentforward",
    "statsd",
    "carbon",
    "influxdb",
    "opencensus",
    "otlpjsonfile",
    "docker_stats",
    "redis",
    "postgresql",
    "mysql",
    "nginx",
    "apache",
    "elasticsearch",
    "awsxray",
    "httpcheck",
    "sqlquery",
    "windowseventlog",
    "receiver_creator",
    "prometheus_simple",
    "skywalking",
    "signalfx",
    "splunk_hec",
    "datadog",
    "k8sobjects",
    "filestats",
    "podman_stats",
];
const NOT_BUILT_PROCESSORS: &[&str] = &[
    "transform",
    "probabilistic_sampler",
    "tail_sampling",
    "k8sattributes",
    "resourcedetection",
    "groupbyattrs",
    "groupbytrace",
    "metricstransform",
    "cumulativetodelta",
    "deltatocumulative",
    "redaction",
    "span",
    "routing",
    "logdedup",
    "interval",
    "metricsgeneration",
    "experimental_metricsgeneration",
    "schema",
    "sumologic",
    "remotetap",
    "geoip",
    "logstransform",
    "isolationforest",
];
const NOT_BUILT_EXPORTERS: &[&str] = &[
    "file",
    "kafka",
    "loadbalancing",
    "jaeger",
    "elasticsearch",
    "clickhouse",
    "awsxray",
    "awsemf",
    "googlecloud",
    "datadog",
    "splunk_hec",
    "influxdb",
    "opensearch",
    "signalfx",
    "sumologic",
    "azuremonitor",
    "coralogix",
    "honeycombmarker",
    "syslog",
    "carbon",
    "otelarrow",
    "awss3",
    "nop",
];
const NOT_BUILT_CONNECTORS: &[&str] = &[
    "routing",
    "count",
    "exceptions",
    "failover",
    "roundrobin",
    "sum",
    "signaltometrics",
    "datadog",
    "grafanacloud",
];
const NOT_BUILT_EXTENSIONS: &[&str] = &[
    "health_check_v2",
    "basicauth",
    "bearertokenauth",
    "oauth2client",
    "oidc",
    "headers_setter",
    "jaegerremotesampling",
    "k8s_observer",
    "docker_observer",
    "host_observer",
    "memory_ballast",
    "opamp",
    "db_storage",
    "sigv4auth",
];
