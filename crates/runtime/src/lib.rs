//! `runtime` turns a parsed configuration into running pipelines.
//!
//! It owns the component traits ([`component`]), the factories and their registry
//! ([`factory`], [`registry`]), the graph builder and lifecycle ([`graph`], [`service`]),
//! fan-out ([`fanout`]), the exporter helper (queue, retry, timeout: [`exporterhelper`]) and
//! the collector's own metrics ([`telemetry`]), component status ([`status`]), what
//! extensions see of the running service ([`view`]), and admission control: whether receivers may
//! start reading a request at all ([`admission`]).
//!
//! Data moves by `async` calls: a receiver awaits [`component::Consumer::consume`] on the
//! first processor, which awaits the next, down to the exporters. A component that cannot
//! take more data makes the caller wait or returns a retryable [`component::ConsumeError`];
//! nothing buffers without bound.

pub mod admission;
pub mod auth;
pub mod component;
pub mod exporterhelper;
pub mod factory;
pub mod fanout;
pub mod featuregate;
pub mod graph;
pub mod registry;
pub mod service;
pub mod status;
pub mod storage;
pub mod telemetry;
pub mod view;

pub use component::{
    Component, Connector, ConsumeError, Consumer, ErrorKind, Exporter, Extension, Host, Kind,
    Processor, Receiver, SharedConsumer,
};
pub use factory::{
    AnyConfig, ComponentConfig, ConnectorFactory, ExporterFactory, ExtensionFactory,
    ProcessorFactory, ReceiverFactory, ReceiverOutputs, Settings, Stability,
};
pub use pdata::{Batch, Signal};
pub use registry::Registry;
pub use telemetry::Telemetry;
#[cfg(test)]
mod graph_tests;
