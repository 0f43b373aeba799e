//! Prometheus scraping for ferrotel's `prometheus` receiver, everything but the HTTP:
//!
//! - [`expfmt`]: the text 0.0.4 and OpenMetrics 1.0 exposition parsers (streaming, no
//!   allocation per sample, errors with line numbers);
//! - [`config`]: the embedded Prometheus config (`global`, `scrape_configs`) with
//!   Prometheus's defaults and validation, refusing by name what cannot run here;
//! - [`relabel`]: `relabel_configs` / `metric_relabel_configs`, every action;
//! - [`target`]: targets from `static_configs` and `file_sd_configs`, with Prometheus's
//!   label defaults and the scrape URL;
//! - [`scrape`]: one target's scrapes into OTLP as the Go receiver translates them
//!   (families, start times, staleness, `up` and the other report metrics, resource).
//! - [`body`]: reading a (gzip'd) body under `body_size_limit`.
//!
//! The scrape cache and the start-time adjuster are looked up in the order of the last
//! scrape (`sequenced`), which is what keeps large targets out of cache-missing probes.

pub mod body;
pub mod config;
pub mod expfmt;
#[doc(hidden)]
pub mod fuzzing;
pub mod labels;
pub mod relabel;
pub mod scrape;
mod sequenced;
pub mod target;

#[cfg(test)]
mod tests;

pub use config::{PromConfig, ScrapeConfig};
pub use labels::Labels;
pub use scrape::{Body, Outcome, Scrape, Settings, TargetState};
pub use target::Target;
