//! `prometheus_remote_write` exporter config: Go's `prometheusremotewriteexporter.Config`
//! (confighttp client keys squashed in, `remote_write_queue` instead of `sending_queue`)
//! with the defaults of its `createDefaultConfig`: timeout 5s, retries from 50ms up to
//! 200ms for at most a minute, batches below 3,000,000 bytes, a queue of 10,000 requests
//! sent by 5 concurrent consumers, `target_info` on, metric suffixes on.

use std::collections::BTreeMap;
use std::time::Duration;

use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

use crate::compression::CompressionParams;
use crate::exporters::otlp::tls::TlsClientSettings;
use crate::util::http_client::{self, ClientSettings};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The remote-write URL, e.g. `http://prometheus:9090/api/v1/write`.
    pub endpoint: String,
    pub headers: BTreeMap<String, String>,
    pub timeout: config::Duration,
    pub tls: TlsClientSettings,
    pub proxy_url: String,
    /// confighttp's body compression: accepted, but remote write is always snappy.
    pub compression: String,
    pub compression_params: CompressionParams,
    pub read_buffer_size: config::ByteSize,
    pub write_buffer_size: config::ByteSize,
    pub max_idle_conns: Option<usize>,
    pub max_idle_conns_per_host: Option<usize>,
    pub max_conns_per_host: Option<usize>,
    pub idle_conn_timeout: Option<config::Duration>,
    pub disable_keep_alives: bool,
    pub http2_read_idle_timeout: Option<config::Duration>,
    pub http2_ping_timeout: Option<config::Duration>,
    pub force_attempt_http2: Option<bool>,
    pub cookies: Option<serde_json::Value>,
    pub auth: Option<serde_json::Value>,
    pub middlewares: Vec<serde_json::Value>,

    pub namespace: String,
    pub external_labels: BTreeMap<String, String>,
    pub resource_to_telemetry_conversion: Enabled,
    pub add_metric_suffixes: bool,
    pub target_info: Enabled,
    pub export_created_metric: Enabled,
    pub send_metadata: bool,
    pub max_batch_size_bytes: usize,
    pub max_batch_request_parallelism: Option<i64>,
    pub remote_write_queue: RemoteWriteQueue,
    pub retry_on_failure: RetrySettings,
    /// The write-ahead log: parsed, refused (not supported yet).
    pub wal: Option<serde_json::Value>,
    /// `prometheus.WriteRequest` (1.0) or `io.prometheus.write.v2.Request` (2.0, experimental).
    pub protobuf_message: String,
}

/// `{enabled: bool}` blocks.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Enabled {
    pub enabled: bool,
}

/// `remote_write_queue`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteWriteQueue {
    pub enabled: bool,
    pub queue_size: i64,
    /// How many requests are sent at once.
    pub num_consumers: i64,
}

impl Default for RemoteWriteQueue {
    fn default() -> Self {
        RemoteWriteQueue {
            enabled: true,
            queue_size: 10000,
            num_consumers: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: String::new(),
            headers: BTreeMap::new(),
            timeout: config::Duration::from_secs(5),
            tls: TlsClientSettings::default(),
            proxy_url: String::new(),
            compression: String::new(),
            compression_params: CompressionParams::default(),
            read_buffer_size: config::ByteSize(0),
            write_buffer_size: config::ByteSize(512 * 1024),
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: false,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            force_attempt_http2: None,
            cookies: None,
            auth: None,
            middlewares: Vec::new(),
            namespace: String::new(),
            external_labels: BTreeMap::new(),
            resource_to_telemetry_conversion: Enabled::default(),
            add_metric_suffixes: true,
            target_info: Enabled { enabled: true },
            export_created_metric: Enabled::default(),
            send_metadata: false,
            max_batch_size_bytes: 3_000_000,
            max_batch_request_parallelism: None,
            remote_write_queue: RemoteWriteQueue::default(),
            retry_on_failure: RetrySettings {
                initial_interval: config::Duration(Duration::from_millis(50)),
                max_interval: config::Duration(Duration::from_millis(200)),
                max_elapsed_time: config::Duration(Duration::from_secs(60)),
                ..RetrySettings::default()
            },
            wal: None,
            protobuf_message: "prometheus.WriteRequest".into(),
        }
    }
}

impl Config {
    pub fn client_settings(&self) -> ClientSettings<'_> {
        ClientSettings {
            timeout: self.timeout.0,
            tls: &self.tls,
            proxy_url: &self.proxy_url,
            max_idle_conns: self.max_idle_conns,
            max_idle_conns_per_host: self.max_idle_conns_per_host,
            idle_conn_timeout: self.idle_conn_timeout.map(|d| d.0),
            disable_keep_alives: self.disable_keep_alives,
            http2_read_idle_timeout: self.http2_read_idle_timeout.map(|d| d.0),
            http2_ping_timeout: self.http2_ping_timeout.map(|d| d.0),
        }
    }

    /// The exporter helper's queue: Go runs it with one consumer so that the samples of a
    /// series leave in order; `num_consumers` is the number of requests sent at once.
    pub fn queue_settings(&self) -> QueueSettings {
        QueueSettings {
            enabled: self.remote_write_queue.enabled,
            num_consumers: 1,
            queue_size: self.remote_write_queue.queue_size.max(1) as u64,
            ..QueueSettings::default()
        }
    }

    /// How many requests of one batch are in flight at once.
    pub fn concurrency(&self) -> usize {
        match self.max_batch_request_parallelism {
            Some(n) => n.max(1) as usize,
            None => self.remote_write_queue.num_consumers.max(1) as usize,
        }
    }
}

impl ComponentConfig for Config {
    /// Go's `Config.Validate`, the endpoint and external-label checks of its factory and
    /// exporter constructor, and the client checks.
    fn validate(&self) -> Result<(), String> {
        let q = &self.remote_write_queue;
        if q.queue_size < 0 {
            return Err("remote write queue size can't be negative".into());
        }
        if q.enabled && q.queue_size == 0 {
            return Err("a 0 size queue will drop all the data".into());
        }
        if q.num_consumers < 0 {
            return Err("remote write consumer number can't be negative".into());
        }
        if let Some(n) = self.max_batch_request_parallelism
            && n < 1
        {
            return Err("max_batch_request_parallelism can't be set to below 1".into());
        }
        if self.endpoint.is_empty() || http_client::check_url(&self.endpoint).is_err() {
            return Err("invalid endpoint".into());
        }
        if self
            .external_labels
            .iter()
            .any(|(k, v)| k.is_empty() || v.is_empty())
        {
            return Err("prometheus remote write: external labels configuration contains an empty key or value".into());
        }
        match self.protobuf_message.as_str() {
            "prometheus.WriteRequest" => {}
            "io.prometheus.write.v2.Request" => {
                return Err("protobuf_message: remote write 2.0 (io.prometheus.write.v2.Request) is not supported yet".into());
            }
            other => {
                return Err(format!("invalid protobuf_message: {other:?}"));
            }
        }
        if self.wal.is_some() {
            return Err("wal: the write-ahead log is not supported yet".into());
        }
        if self.send_metadata {
            return Err("send_metadata: sending metric metadata is not supported yet".into());
        }
        if self.auth.is_some() {
            return Err("auth: authenticator extensions are not supported yet".into());
        }
        if !self.middlewares.is_empty() {
            return Err("middlewares: are not supported yet".into());
        }
        http_client::validate(&self.proxy_url, &self.headers, &self.tls)?;
        self.retry_on_failure.validate()?;
        Ok(())
    }
}
