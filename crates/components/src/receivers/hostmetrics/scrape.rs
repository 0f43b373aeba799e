//! The scrape schedule (Go's `scraperhelper` controller): every scraper is scraped on each
//! tick, the results are merged into one request and delivered; a scraper's errors are
//! logged and counted, and what it did produce is still sent.

use std::time::{Duration, Instant};

use ::hostmetrics::{HostPaths, Scraper};
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::{Batch, Request, Signal};
use runtime::telemetry::{Counter, ReceiverMetrics};
use runtime::{SharedConsumer, Telemetry};
use tokio_util::sync::CancellationToken;

use super::Config;

struct Scrapers {
    list: Vec<(Box<dyn Scraper>, Counter, Counter)>,
}

pub(super) struct Controller {
    id: String,
    scrapers: Scrapers,
    interval: Duration,
    initial_delay: Duration,
    timeout: Duration,
    consumer: SharedConsumer,
    metrics: ReceiverMetrics,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Controller {
    pub fn new(
        cfg: &Config,
        id: &str,
        consumer: SharedConsumer,
        metrics: ReceiverMetrics,
        telemetry: &Telemetry,
    ) -> Result<Controller, String> {
        let paths = HostPaths::new(&cfg.root_path);
        let mut list = Vec::with_capacity(cfg.scrapers.len());
        for s in &cfg.scrapers {
            if s.key() == "filesystem" && cfg.root_path.is_empty() && ::hostmetrics::in_container()
            {
                tracing::warn!(receiver = %id, "No `root_path` config set when running in docker environment, will report container filesystem stats. See https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/receiver/hostmetricsreceiver#collecting-host-metrics-from-inside-a-container-linux-only");
            }
            let labels = [("receiver", id), ("scraper", s.key())];
            list.push((
                s.build(&paths)?,
                telemetry.counter(
                    "otelcol_scraper_scraped_metric_points",
                    "Number of metric points successfully scraped.",
                    &labels,
                ),
                telemetry.counter(
                    "otelcol_scraper_errored_metric_points",
                    "Number of metric points that were unable to be scraped.",
                    &labels,
                ),
            ));
        }
        Ok(Controller {
            id: id.to_string(),
            scrapers: Scrapers { list },
            interval: cfg.collection_interval,
            initial_delay: cfg.initial_delay,
            timeout: cfg.timeout,
            consumer,
            metrics,
        })
    }

    /// Starts every scraper (reads the boot time); the receiver fails to start if one fails.
    pub fn start(&mut self) -> Result<(), String> {
        for (s, _, _) in &mut self.scrapers.list {
            s.start()
                .map_err(|e| format!("failed to start the {} scraper: {e}", s.key()))?;
        }
        Ok(())
    }

    pub async fn run(mut self, cancel: CancellationToken) {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(self.initial_delay) => {}
        }
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            // Small procfs reads: done on a blocking thread so a slow /proc (a busy host
            // with many processes) never stalls the runtime's workers.
            let scrapers = std::mem::replace(&mut self.scrapers, Scrapers { list: Vec::new() });
            let id = self.id.clone();
            let timeout = self.timeout;
            let Ok((scrapers, request)) =
                tokio::task::spawn_blocking(move || scrape_all(scrapers, &id, timeout)).await
            else {
                tracing::error!(receiver = %self.id, "a scraper panicked; scraping stops");
                return;
            };
            self.scrapers = scrapers;
            let points = request
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(data_points)
                .sum::<usize>();
            if points == 0 {
                continue;
            }
            let batch = Batch::from_request(Request::Metrics(request));
            match self.consumer.consume(batch).await {
                Ok(()) => self.metrics.accepted(Signal::Metrics, points),
                Err(e) => {
                    self.metrics.refused(Signal::Metrics, points);
                    tracing::error!(receiver = %self.id, error = %e, "Error scraping metrics");
                }
            }
        }
    }
}

fn scrape_all(
    mut scrapers: Scrapers,
    id: &str,
    timeout: Duration,
) -> (Scrapers, ExportMetricsServiceRequest) {
    let mut request = ExportMetricsServiceRequest::default();
    for (s, scraped_points, errored_points) in &mut scrapers.list {
        let began = Instant::now();
        let out = s.scrape();
        if !timeout.is_zero() && began.elapsed() > timeout {
            tracing::warn!(receiver = %id, scraper = s.key(), elapsed = ?began.elapsed(), "scrape took longer than the timeout");
        }
        scraped_points.add(out.data_points() as u64);
        for e in &out.errors {
            errored_points.add(e.failed as u64);
            tracing::error!(receiver = %id, scraper = s.key(), error = %e.message, "Error scraping metrics");
        }
        let key = s.key();
        request
            .resource_metrics
            .extend(out.into_resource_metrics(key, VERSION));
    }
    (scrapers, request)
}

fn data_points(m: &pdata::proto::metrics::v1::Metric) -> usize {
    use pdata::proto::metrics::v1::metric::Data;
    match &m.data {
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}
