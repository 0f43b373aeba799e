//! `resource_detection` (deprecated `resourcedetection`): detects the host's and cloud's
//! resource attributes once at start (through the [`resourcedetection`] crate) and merges them
//! into the resource of every request, as the Go collector's
//! `processor/resourcedetectionprocessor`. Pipelines that name the same processor id share
//! one detection, as Go's factory shares one provider per id.
//!
//! Every metadata address can be redirected; `FERROTEL_METADATA_ENDPOINT` (for example
//! `http://127.0.0.1:9`) redirects every detector whose platform override
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `GCE_METADATA_HOST`, `DOCKER_HOST`, …) is not set.

pub mod config;
mod processor;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use ::config::{ConfigError, Value};
use pdata::Signal;
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::{Processor, SharedConsumer};

pub use self::config::Config;
pub use self::processor::{Detection, ResourceDetectionProcessor};
use resourcedetection::Env;

/// The factory; it keeps one [`Detection`] per processor id (and config) for the pipelines
/// that share it.
#[derive(Default)]
pub struct Factory {
    env: Env,
    shared: Mutex<HashMap<String, Weak<Detection>>>,
}

impl Factory {
    /// A factory whose detectors read `env` instead of the process environment (tests).
    pub fn with_env(env: Env) -> Factory {
        Factory {
            env,
            shared: Mutex::default(),
        }
    }
}

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "resource_detection"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Processor>, String> {
        let cfg: &Config = typed(cfg);
        let key = format!("{}\u{0}{cfg:?}", set.id);
        let detection = {
            // A poisoned lock only means another creation panicked; the map is still valid.
            let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            shared.retain(|_, w| w.strong_count() > 0);
            match shared.get(&key).and_then(Weak::upgrade) {
                Some(d) => d,
                None => {
                    let d = Arc::new(Detection::new(
                        cfg,
                        self.env.clone(),
                        set.telemetry.clone(),
                    )?);
                    shared.insert(key, Arc::downgrade(&d));
                    d
                }
            }
        };
        Ok(Arc::new(ResourceDetectionProcessor::new(
            &set, cfg, signal, detection, next,
        )))
    }
}
