//! The work: one detection per processor id, run at the first start, and the merge of its
//! result into every resource (Go's `MergeResource` with `override`, and `MergeSchemaURL`).

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};
use runtime::factory::Settings;
use runtime::telemetry::ProcessorMetrics;
use runtime::{Component, ConsumeError, Consumer, Host, Processor, SharedConsumer};
use tokio::sync::OnceCell;

use super::Config;
use resourcedetection::{Detector, Env, Found};

/// The detectors of one processor id and, once run, what they found.
pub struct Detection {
    detectors: Vec<(String, Detector)>,
    telemetry: runtime::Telemetry,
    settings: resourcedetection::Settings,
    keep_only: Option<Vec<String>>,
    result: OnceCell<Result<Arc<Found>, String>>,
}

impl Detection {
    pub fn new(cfg: &Config, env: Env, telemetry: runtime::Telemetry) -> Result<Detection, String> {
        let settings = resourcedetection::Settings {
            env,
            timeout: cfg.timeout.0,
            fail_on_missing_metadata: cfg.fail_on_missing_metadata,
            retry: cfg.retry.clone(),
        };
        let detectors =
            resourcedetection::build(&cfg.detectors, &cfg.detector_configs(), &settings)?;
        Ok(Detection {
            detectors,
            telemetry,
            settings,
            keep_only: cfg.attributes.clone().filter(|a| !a.is_empty()),
            result: OnceCell::new(),
        })
    }

    /// Runs the detectors the first time; later callers get the same result.
    pub async fn run(&self) -> Result<Arc<Found>, String> {
        self.result
            .get_or_init(|| async {
                let (found, reports) =
                    resourcedetection::detect_with_reports(&self.detectors, &self.settings).await;
                self.record(&reports);
                let mut found = found?;
                if let Some(keep) = &self.keep_only {
                    tracing::warn!(
                        "the `attributes` setting of resource_detection is deprecated; use each detector's resource_attributes"
                    );
                    found.attributes.retain(|kv| keep.contains(&kv.key));
                }
                let found = Arc::new(found);
                let attributes = found.attributes.len() as f64;
                self.telemetry.observe(
                    "otelcol_resourcedetection_attributes_detected",
                    "Number of attributes in the currently detected resource. [Development]",
                    "gauge",
                    move || attributes,
                );
                Ok(found)
            })
            .await
            .clone()
    }

    /// Go's development-stability detection metrics (contrib v0.157).
    fn record(&self, reports: &[resourcedetection::Report]) {
        for r in reports {
            let outcome = if r.success { "success" } else { "failure" };
            let mut labels: Vec<(&'static str, &str)> =
                vec![("detector", r.detector.as_str()), ("outcome", outcome)];
            self.telemetry
                .histogram(
                    "otelcol_resourcedetection_detector_duration_seconds",
                    "Duration of each resource detector's run, including retries. [Development]",
                    &labels,
                    DURATION_BOUNDS,
                )
                .record(r.duration.as_secs_f64());
            if !r.success {
                // Go names the error's type; a Rust error has no comparable type name.
                labels.push(("error_type", "_OTHER"));
            }
            self.telemetry
                .counter(
                    "otelcol_resourcedetection_detector_results_total",
                    "Resource detection outcomes by detector. [Development]",
                    &labels,
                )
                .add(1);
        }
    }
}

/// The OpenTelemetry SDK's default histogram boundaries.
const DURATION_BOUNDS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// One instance per pipeline; instances of one id share their [`Detection`].
pub struct ResourceDetectionProcessor {
    detection: Arc<Detection>,
    found: OnceLock<Arc<Found>>,
    override_existing: bool,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

impl ResourceDetectionProcessor {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        detection: Arc<Detection>,
        next: SharedConsumer,
    ) -> Self {
        if !cfg.refresh_interval.0.is_zero() {
            tracing::warn!(
                "resource_detection: refresh_interval is not supported by ferrotel; detection runs once at start"
            );
        }
        ResourceDetectionProcessor {
            detection,
            found: OnceLock::new(),
            override_existing: cfg.override_existing,
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        }
    }

    /// Merges the detected resource into every resource of a decoded request.
    pub fn apply(&self, found: &Found, req: &mut Request) {
        let merge = |resource: &mut Option<Resource>, schema_url: &mut String| {
            resourcedetection::merge_schema_url(schema_url, &found.schema_url);
            if found.attributes.is_empty() {
                return;
            }
            let r = resource.get_or_insert_with(Resource::default);
            resourcedetection::merge(&mut r.attributes, &found.attributes, self.override_existing);
        };
        match req {
            Request::Traces(t) => t
                .resource_spans
                .iter_mut()
                .for_each(|r| merge(&mut r.resource, &mut r.schema_url)),
            Request::Metrics(m) => m
                .resource_metrics
                .iter_mut()
                .for_each(|r| merge(&mut r.resource, &mut r.schema_url)),
            Request::Logs(l) => l
                .resource_logs
                .iter_mut()
                .for_each(|r| merge(&mut r.resource, &mut r.schema_url)),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}

#[async_trait]
impl Consumer for ResourceDetectionProcessor {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        if let Some(found) = self.found.get()
            && (!found.attributes.is_empty() || !found.schema_url.is_empty())
        {
            let req = batch
                .request_mut()
                .map_err(|e| ConsumeError::permanent(e.to_string()))?;
            self.apply(found, req);
        }
        self.metrics.outgoing.add(items);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for ResourceDetectionProcessor {
    /// Detection happens here, as in Go's `Start`: a detector that still fails when `timeout`
    /// ends keeps the collector from starting.
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let found = self.detection.run().await?;
        let _ = self.found.set(found);
        Ok(())
    }
}

impl Processor for ResourceDetectionProcessor {
    fn mutates_data(&self) -> bool {
        true
    }
}
