//! The inner part of the sender chain: self-metrics -> `retry_on_failure` -> `timeout` ->
//! [`Push::push`]. The queue workers (or the caller, without a queue) call [`Sender::send`].

use std::sync::Arc;
use std::time::Duration;

use pdata::Signal;
use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Push, RetrySettings, Work};
use crate::component::{ConsumeError, ErrorKind};
use crate::telemetry::ExporterMetrics;

/// Go's `cenkalti/backoff` exponential backoff as configured by `retry_on_failure`: each wait
/// is the current interval ± `randomization_factor`, the interval grows by `multiplier` up to
/// `max_interval`, and it stops when the next wait would end after `max_elapsed_time`
/// (0 = never stops).
#[derive(Debug)]
pub struct Backoff {
    current: Duration,
    randomization_factor: f64,
    multiplier: f64,
    max_interval: Duration,
    max_elapsed: Duration,
    start: Instant,
}

impl Backoff {
    pub fn new(cfg: &RetrySettings) -> Backoff {
        Backoff {
            current: cfg.initial_interval.0,
            randomization_factor: cfg.randomization_factor,
            multiplier: cfg.multiplier,
            max_interval: cfg.max_interval.0,
            max_elapsed: cfg.max_elapsed_time.0,
            start: Instant::now(),
        }
    }

    /// The next wait, or `None` when retrying must stop.
    pub fn next_backoff(&mut self) -> Option<Duration> {
        let elapsed = self.start.elapsed();
        let next = randomize(self.current, self.randomization_factor);
        self.current =
            if self.current.as_secs_f64() >= self.max_interval.as_secs_f64() / self.multiplier {
                self.max_interval
            } else {
                self.current.mul_f64(self.multiplier)
            };
        if !self.max_elapsed.is_zero() && elapsed + next > self.max_elapsed {
            return None;
        }
        Some(next)
    }
}

fn randomize(interval: Duration, factor: f64) -> Duration {
    if factor <= 0.0 || interval.is_zero() {
        return interval;
    }
    let secs = interval.as_secs_f64();
    let delta = factor * secs;
    let v = rand::rng().random_range((secs - delta)..=(secs + delta));
    Duration::from_secs_f64(v.max(0.0))
}

/// Who is logging, as the Go collector's component logger fields.
#[derive(Clone)]
pub(crate) struct LogContext {
    pub(crate) id: Arc<str>,
    pub(crate) signal: Signal,
}

/// Retry, timeout and the sent/send_failed counters around one exporter's [`Push`].
pub(crate) struct Sender {
    pub(crate) push: Arc<dyn Push>,
    pub(crate) retry: RetrySettings,
    pub(crate) timeout: Duration,
    pub(crate) metrics: ExporterMetrics,
    pub(crate) log: LogContext,
    /// Cancelled when shutdown runs out of time: waits between retries end at once.
    pub(crate) abort: CancellationToken,
}

/// Keeps `otelcol_exporter_in_flight_requests` right even when a send is cancelled.
struct InFlight<'a>(&'a crate::telemetry::Gauge);

impl<'a> InFlight<'a> {
    fn enter(g: &'a crate::telemetry::Gauge) -> Self {
        g.add(1);
        InFlight(g)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.add(-1);
    }
}

impl Sender {
    /// Sends `batch` with retries, counts the outcome, and returns the final error if any.
    /// A partial success counts as success (its rejected items as failed) and returns `Ok`.
    pub(crate) async fn send(&self, work: &Work) -> Result<(), ConsumeError> {
        let items = work.item_count() as u64;
        let result = {
            let _in_flight = InFlight::enter(&self.metrics.in_flight);
            self.send_with_retry(work).await
        };
        match result {
            Ok(()) => {
                self.metrics.sent.add(items);
                Ok(())
            }
            Err(e) => {
                if let ErrorKind::Partial { rejected } = e.kind {
                    let rejected = rejected.min(items);
                    self.metrics.sent.add(items - rejected);
                    self.metrics.send_failed.add(rejected);
                    return Ok(());
                }
                self.metrics.send_failed.add(items);
                Err(e)
            }
        }
    }

    async fn send_with_retry(&self, work: &Work) -> Result<(), ConsumeError> {
        if !self.retry.enabled {
            return self.attempt(work).await;
        }
        let mut backoff = Backoff::new(&self.retry);
        loop {
            let err = match self.attempt(work).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            match err.kind {
                ErrorKind::Partial { .. } => return Err(err),
                ErrorKind::Permanent => return Err(wrap("not retryable error: ", err)),
                ErrorKind::Retryable => {}
            }
            if self.abort.is_cancelled() {
                return Err(wrap("interrupted due to shutdown: ", err));
            }
            let Some(mut delay) = backoff.next_backoff() else {
                return Err(wrap("no more retries left: ", err));
            };
            if let Some(at_least) = err.retry_after {
                delay = delay.max(at_least);
            }
            tracing::info!(
                otelcol.component.id = %self.log.id,
                otelcol.component.kind = "exporter",
                otelcol.signal = self.log.signal.as_str(),
                error = %err,
                interval = %config::Duration(delay),
                "Exporting failed. Will retry the request after interval."
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.abort.cancelled() => return Err(wrap("interrupted due to shutdown: ", err)),
            }
        }
    }

    /// One attempt, bounded by `timeout` (0 = none). Timing out is retryable.
    async fn attempt(&self, work: &Work) -> Result<(), ConsumeError> {
        let push = async {
            match work {
                Work::Batch(b) => self.push.push(b).await,
                Work::Prepared(p) => self.push.push_prepared(p).await,
            }
        };
        if self.timeout.is_zero() {
            return push.await;
        }
        match tokio::time::timeout(self.timeout, push).await {
            Ok(r) => r,
            Err(_) => Err(ConsumeError::retryable(format!(
                "context deadline exceeded: export did not finish within timeout {}",
                config::Duration(self.timeout)
            ))),
        }
    }

    /// Logs the Go collector's line for data a queue worker gives up on.
    pub(crate) fn log_dropped(&self, err: &ConsumeError, items: usize) {
        tracing::error!(
            otelcol.component.id = %self.log.id,
            otelcol.component.kind = "exporter",
            otelcol.signal = self.log.signal.as_str(),
            error = %err,
            dropped_items = items,
            "Exporting failed. Dropping data."
        );
    }
}

fn wrap(prefix: &str, mut err: ConsumeError) -> ConsumeError {
    err.message = format!("{prefix}{}", err.message);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(factor: f64, max_elapsed: u64) -> RetrySettings {
        RetrySettings {
            enabled: true,
            initial_interval: config::Duration::from_secs(5),
            randomization_factor: factor,
            multiplier: 1.5,
            max_interval: config::Duration::from_secs(30),
            max_elapsed_time: config::Duration::from_secs(max_elapsed),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_grows_by_multiplier_up_to_max_interval() {
        let mut b = Backoff::new(&settings(0.0, 0));
        let waits: Vec<f64> = (0..7)
            .map(|_| b.next_backoff().unwrap().as_secs_f64())
            .collect();
        assert_eq!(waits, vec![5.0, 7.5, 11.25, 16.875, 25.3125, 30.0, 30.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_jitter_stays_within_randomization_factor() {
        let mut b = Backoff::new(&settings(0.5, 0));
        for _ in 0..50 {
            let w = b.next_backoff().unwrap().as_secs_f64();
            assert!((2.5..=45.0).contains(&w), "{w}");
        }
        let mut b = Backoff::new(&settings(0.5, 0));
        let first = b.next_backoff().unwrap().as_secs_f64();
        assert!((2.5..=7.5).contains(&first), "{first}");
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_stops_when_next_wait_would_pass_max_elapsed_time() {
        let mut b = Backoff::new(&settings(0.0, 10));
        assert_eq!(b.next_backoff(), Some(Duration::from_secs(5)));
        tokio::time::advance(Duration::from_secs(5)).await;
        // 5s elapsed + 7.5s > 10s
        assert_eq!(b.next_backoff(), None);
    }
}
