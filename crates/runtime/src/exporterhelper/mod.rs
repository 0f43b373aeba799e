//! The exporter helper: what every queued exporter shares. Sender chain, outermost first:
//! `sending_queue` -> self-metrics -> `retry_on_failure` -> `timeout` -> [`Push::push`].
//! Keys and defaults are the Go collector's (otelcol.md §3).

use std::sync::Arc;

use async_trait::async_trait;
use pdata::Batch;
use serde::Deserialize;

use crate::component::{ConsumeError, Host};

/// Sends one batch to the destination. Implemented by each exporter.
#[async_trait]
pub trait Push: Send + Sync + 'static {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError>;
    async fn start(&self, _host: &Host) -> Result<(), String> {
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), String> {
        Ok(())
    }
}

/// What the queue counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sizer {
    #[default]
    Requests,
    Items,
    Bytes,
}

/// `sending_queue`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    pub enabled: bool,
    pub num_consumers: usize,
    pub queue_size: u64,
    pub sizer: Sizer,
    pub block_on_overflow: bool,
    pub wait_for_result: bool,
    /// Id of a storage extension for a persistent queue.
    pub storage: Option<String>,
    /// Exporter-side batching (`batch: {}` enables the defaults).
    #[serde(deserialize_with = "config::present_as_default")]
    pub batch: Option<QueueBatchSettings>,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            sizer: Sizer::Requests,
            block_on_overflow: false,
            wait_for_result: false,
            storage: None,
            batch: None,
        }
    }
}

impl QueueSettings {
    /// The Go collector's checks (`queue_size` and `num_consumers` must be positive).
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if self.num_consumers == 0 {
            return Err("sending_queue: `num_consumers` must be positive".into());
        }
        if self.queue_size == 0 {
            return Err("sending_queue: `queue_size` must be positive".into());
        }
        Ok(())
    }
}

/// `sending_queue::batch`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueBatchSettings {
    pub flush_timeout: config::Duration,
    pub min_size: u64,
    pub max_size: u64,
    pub sizer: Option<Sizer>,
}

impl Default for QueueBatchSettings {
    fn default() -> Self {
        QueueBatchSettings {
            flush_timeout: config::Duration(std::time::Duration::from_millis(200)),
            min_size: 8192,
            max_size: 0,
            sizer: None,
        }
    }
}

/// `retry_on_failure`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    pub enabled: bool,
    pub initial_interval: config::Duration,
    pub randomization_factor: f64,
    pub multiplier: f64,
    pub max_interval: config::Duration,
    /// 0 = retry forever.
    pub max_elapsed_time: config::Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        use std::time::Duration as D;
        RetrySettings {
            enabled: true,
            initial_interval: config::Duration(D::from_secs(5)),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: config::Duration(D::from_secs(30)),
            max_elapsed_time: config::Duration(D::from_secs(300)),
        }
    }
}

/// Builds the sender chain around `push` as an [`crate::Exporter`].
pub fn build(
    set: &crate::Settings,
    signal: pdata::Signal,
    queue: &QueueSettings,
    retry: &RetrySettings,
    timeout: std::time::Duration,
    push: Arc<dyn Push>,
) -> Arc<dyn crate::Exporter> {
    let _ = (set, signal, queue, retry, timeout, push);
    unimplemented!("exporter helper: being written")
}
