//! Host metrics: the scrapers of the Go collector's `host_metrics` receiver
//! (`receiver/hostmetricsreceiver`), reading Linux procfs and sysfs as text under a root
//! path, and producing OTLP metrics with the Go names, units, attributes, data point types
//! and default-enabled sets of each scraper's `metadata.yaml`.
//!
//! No async runtime: a scrape is a handful of small file reads, done on whatever thread the
//! caller schedules it (the receiver in the components crate runs them on a timer).
//!
//! ```no_run
//! use hostmetrics::{HostPaths, ScraperConfig};
//!
//! let paths = HostPaths::new("");
//! let cfg = ScraperConfig::Load(Default::default());
//! let mut scraper = cfg.build(&paths).unwrap();
//! scraper.start().unwrap();
//! let out = scraper.scrape();
//! assert!(out.errors.is_empty());
//! ```
//!
//! Each scraper is a module with its config (serde, Go keys), a table of its metrics with
//! their default switch, the parsers of its procfs files (pure functions over text, tested
//! on fixtures under `testdata/`) and its [`Scraper`] implementation.

pub mod cpu;
pub mod disk;
pub mod filesystem;
pub mod load;
pub mod memory;
pub mod network;
pub mod paging;
pub mod process;
pub mod processes;
pub mod system;

mod emit;
mod filter;
mod paths;
mod toggles;

#[cfg(test)]
mod tests;

use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use pdata::proto::resource::v1::Resource;

pub use filter::{MatchFilter, NameFilter};
pub use paths::{HostPaths, in_container, validate_root_path};
pub use toggles::{MetricSwitch, MetricsConfig, ResourceAttributesConfig};

/// The scraper keys Go accepts under `scrapers:` that this crate implements, in the order
/// Go documents them.
pub const SCRAPERS: &[&str] = &[
    "cpu",
    "disk",
    "filesystem",
    "load",
    "memory",
    "network",
    "paging",
    "process",
    "processes",
    "system",
];

/// Scraper keys Go has that are not built here (refused with a clear error rather than
/// Go's "invalid scraper key", which would call a valid Go config wrong).
pub const NOT_BUILT_SCRAPERS: &[&str] = &["process", "nfs"];

/// One scraper's settings, by its key under `scrapers:`.
#[derive(Debug, Clone)]
pub enum ScraperConfig {
    Cpu(cpu::Config),
    Disk(disk::Config),
    // Boxed: its six filters make it several times the size of the others.
    Filesystem(Box<filesystem::Config>),
    Load(load::Config),
    Memory(memory::Config),
    Network(network::Config),
    Paging(paging::Config),
    Process(Box<process::Config>),
    Processes(processes::Config),
    System(system::Config),
}

impl ScraperConfig {
    /// The key under `scrapers:`.
    pub fn key(&self) -> &'static str {
        match self {
            ScraperConfig::Cpu(_) => "cpu",
            ScraperConfig::Disk(_) => "disk",
            ScraperConfig::Filesystem(_) => "filesystem",
            ScraperConfig::Load(_) => "load",
            ScraperConfig::Memory(_) => "memory",
            ScraperConfig::Network(_) => "network",
            ScraperConfig::Paging(_) => "paging",
            ScraperConfig::Process(_) => "process",
            ScraperConfig::Processes(_) => "processes",
            ScraperConfig::System(_) => "system",
        }
    }

    /// Checks what serde cannot: metric names, filters and their match types. The error
    /// may start with the key it is about (`metrics: has invalid keys: x`).
    pub fn validate(&self) -> Result<(), String> {
        self.build(&HostPaths::default()).map(drop)
    }

    /// A scraper reading the host under `paths`.
    pub fn build(&self, paths: &HostPaths) -> Result<Box<dyn Scraper>, String> {
        Ok(match self {
            ScraperConfig::Cpu(c) => Box::new(cpu::CpuScraper::new(c, paths)?),
            ScraperConfig::Disk(c) => Box::new(disk::DiskScraper::new(c, paths)?),
            ScraperConfig::Filesystem(c) => Box::new(filesystem::FilesystemScraper::new(c, paths)?),
            ScraperConfig::Load(c) => Box::new(load::LoadScraper::new(c, paths)?),
            ScraperConfig::Memory(c) => Box::new(memory::MemoryScraper::new(c, paths)?),
            ScraperConfig::Network(c) => Box::new(network::NetworkScraper::new(c, paths)?),
            ScraperConfig::Paging(c) => Box::new(paging::PagingScraper::new(c, paths)?),
            ScraperConfig::Process(c) => Box::new(process::ProcessScraper::new(c, paths)?),
            ScraperConfig::Processes(c) => Box::new(processes::ProcessesScraper::new(c, paths)?),
            ScraperConfig::System(c) => Box::new(system::SystemScraper::new(c, paths)?),
        })
    }
}

/// A scraper error that cost some metric points (Go's `PartialScrapeError`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeError {
    pub message: String,
    /// How many metrics (Go counts metrics here, not points) could not be produced.
    pub failed: usize,
}

impl ScrapeError {
    pub fn new(message: impl Into<String>, failed: usize) -> Self {
        ScrapeError {
            message: message.into(),
            failed,
        }
    }
}

/// What one scrape produced: metrics grouped by resource (one group with no resource
/// attributes, except for the process scraper: one per process), and what failed.
#[derive(Debug, Default)]
pub struct Scraped {
    pub resources: Vec<(Vec<KeyValue>, Vec<Metric>)>,
    pub errors: Vec<ScrapeError>,
}

impl Scraped {
    fn single(metrics: Vec<Metric>, errors: Vec<ScrapeError>) -> Scraped {
        let resources = if metrics.is_empty() {
            Vec::new()
        } else {
            vec![(Vec::new(), metrics)]
        };
        Scraped { resources, errors }
    }

    /// Number of data points produced.
    pub fn data_points(&self) -> usize {
        self.resources
            .iter()
            .flat_map(|(_, ms)| ms)
            .map(emit::data_point_count)
            .sum()
    }

    /// As OTLP, with the scope Go gives the scraper (its package path) and `version`.
    pub fn into_resource_metrics(self, scraper: &str, version: &str) -> Vec<ResourceMetrics> {
        let scope = InstrumentationScope {
            name: scope_name(scraper),
            version: version.to_string(),
            ..Default::default()
        };
        self.resources
            .into_iter()
            .map(|(attributes, metrics)| ResourceMetrics {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope.clone()),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect()
    }
}

/// Go's scope name of a scraper: its package import path.
pub fn scope_name(scraper: &str) -> String {
    format!(
        "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/{scraper}scraper"
    )
}

/// A scraper: `start` once (boot time and other fixed facts), then `scrape` on every tick.
pub trait Scraper: Send {
    /// The key under `scrapers:`.
    fn key(&self) -> &'static str;
    /// Go's scrapers fail to start when the boot time cannot be read; so do these.
    fn start(&mut self) -> Result<(), String>;
    fn scrape(&mut self) -> Scraped;
}

/// Nanoseconds since the epoch, now.
pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
