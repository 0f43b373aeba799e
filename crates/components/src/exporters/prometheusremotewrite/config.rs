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

use crate::util::http_client::{self, ClientConfig, ClientSettings};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The `confighttp` client keys, squashed in as Go does (decoded by
    /// `http_client::decode`).
    #[serde(skip)]
    pub client: ClientConfig,

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
            client: ClientConfig::with_defaults(
                <Config as http_client::WithClient>::DEFAULT_TIMEOUT,
                "",
            ),
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
        self.client.settings()
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

impl http_client::WithClient for Config {
    const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
    fn client_mut(&mut self) -> &mut ClientConfig {
        &mut self.client
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
        if self.client.endpoint.is_empty() || http_client::check_url(&self.client.endpoint).is_err()
        {
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
        if self.client.auth.is_some() {
            return Err("auth: authenticator extensions are not supported yet".into());
        }
        if !self.client.middlewares.is_empty() {
            return Err("middlewares: are not supported yet".into());
        }
        http_client::validate(
            &self.client.proxy_url,
            &self.client.headers,
            &self.client.tls,
        )?;
        self.retry_on_failure.validate()?;
        Ok(())
    }
}
