//! Every receiver, processor, exporter, connector and extension of ferrotel.
//!
//! Each component lives in its own folder with the same shape: `mod.rs` (the factory: type
//! name, signals, config parsing, build), `config.rs` (serde struct with the Go collector's
//! keys and defaults, and its validation), the work itself, and tests. Adding a component
//! touches its folder and one line in [`registry`].

pub mod attraction;
/// Whole-buffer compression, in its own crate so that the benchmark floors use the same code.
pub use compression;
pub mod connectors;
pub mod exporters;
pub mod extensions;
pub mod filtering;
pub mod names;
pub mod otlp_grpc_codec;
pub mod processors;
pub mod receivers;
pub mod util;

use runtime::Registry;

/// Every component type this build has, plus the deprecated spellings and the Go collector
/// types it does not have yet or that upstream removed (see [`names`]).
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.receiver(receivers::otlp::Factory);
    r.receiver(receivers::filelog::Factory);
    r.receiver(receivers::prometheus::Factory);
    r.receiver(receivers::hostmetrics::Factory);
    r.receiver(receivers::zipkin::Factory);
    r.receiver(receivers::jaeger::Factory);
    r.receiver(receivers::nop::Factory);
    r.receiver(receivers::otlp_json_file::Factory);
    r.receiver(receivers::syslog::Factory);
    r.receiver(receivers::fluentforward::Factory);
    r.receiver(receivers::statsd::Factory);
    r.receiver(receivers::httpcheck::Factory);
    r.receiver(receivers::tcplog::Factory);
    r.receiver(receivers::udplog::Factory);
    r.processor(processors::attributes::Factory);
    r.processor(processors::batch::Factory);
    r.processor(processors::cumulative_to_delta::Factory);
    r.processor(processors::delta_to_cumulative::Factory);
    r.processor(processors::filter::Factory);
    r.processor(processors::memory_limiter::Factory);
    r.processor(processors::metrics_transform::Factory);
    r.processor(processors::resource::Factory);
    r.processor(processors::group_by_attrs::Factory);
    r.processor(processors::redaction::Factory);
    r.processor(processors::probabilistic_sampler::Factory);
    r.processor(processors::tail_sampling::Factory);
    r.processor(processors::resourcedetection::Factory::default());
    r.processor(processors::transform::Factory);
    r.exporter(exporters::debug::Factory);
    r.exporter(exporters::embedded_store::Factory);
    r.exporter(exporters::nop::Factory);
    r.exporter(exporters::file::Factory);
    r.exporter(exporters::loki::Factory);
    r.exporter(exporters::otlp::Factory);
    r.exporter(exporters::otlphttp::Factory);
    r.exporter(exporters::zipkin::Factory);
    r.exporter(exporters::prometheus::Factory);
    r.exporter(exporters::prometheusremotewrite::Factory);
    r.connector(connectors::forward::Factory);
    r.connector(connectors::routing::Factory);
    r.connector(connectors::spanmetrics::Factory);
    r.connector(connectors::servicegraph::Factory);
    r.extension(extensions::health_check::Factory);
    r.extension(extensions::file_storage::Factory);
    r.extension(extensions::embedded_store::Factory);
    r.extension(extensions::pprof::Factory);
    r.extension(extensions::healthcheckv2::Factory);
    r.extension(extensions::zpages::Factory);
    r.extension(extensions::bearertokenauth::Factory);
    r.extension(extensions::basicauth::Factory);
    r.extension(extensions::headers_setter::Factory);

    names::apply(&mut r);
    r
}
