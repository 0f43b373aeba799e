//! `host_metrics` / `hostmetrics` receiver settings: the scraper controller's keys
//! (`collection_interval`, `initial_delay`, `timeout`), `root_path`, and `scrapers` whose
//! keys pick the scraper and whose values are that scraper's settings.

use std::time::Duration;

use ::config::{ConfigError, Value, value::Mapping};
use ::hostmetrics::ScraperConfig;
use serde::Deserialize;

/// The whole receiver config, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub collection_interval: Duration,
    pub initial_delay: Duration,
    /// 0: no limit. Scrapes are local file reads; accepted, and logged when exceeded.
    pub timeout: Duration,
    pub root_path: String,
    /// In the order of the config file.
    pub scrapers: Vec<ScraperConfig>,
}

/// The keys besides `scrapers`.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct ControllerKeys {
    collection_interval: ::config::Duration,
    initial_delay: ::config::Duration,
    timeout: ::config::Duration,
    root_path: String,
    /// Entity metadata (the logs side of the Go receiver); accepted.
    #[allow(dead_code)]
    metadata_collection_interval: ::config::Duration,
}

impl Default for ControllerKeys {
    fn default() -> Self {
        ControllerKeys {
            collection_interval: ::config::Duration(Duration::from_secs(60)),
            initial_delay: ::config::Duration(Duration::from_secs(1)),
            timeout: ::config::Duration(Duration::ZERO),
            root_path: String::new(),
            metadata_collection_interval: ::config::Duration(Duration::from_secs(300)),
        }
    }
}

impl Config {
    /// Decodes and validates the receiver's config at `path` (`receivers::hostmetrics`).
    pub fn parse(value: &Value, path: &str) -> Result<Config, ConfigError> {
        let mut map: Mapping = match value.resolved() {
            Value::Null => Mapping::new(),
            Value::Map(m) => m.clone(),
            other => {
                return Err(ConfigError::new(
                    path,
                    format!("expected a map, got {}", other.kind()),
                ));
            }
        };
        let scrapers_value = map.shift_remove("scrapers").unwrap_or(Value::Null);
        // Go decodes these keys with `WithIgnoreUnused`: other top-level keys are ignored.
        map.retain(|k, _| {
            matches!(
                k.as_str(),
                "collection_interval"
                    | "initial_delay"
                    | "timeout"
                    | "root_path"
                    | "metadata_collection_interval"
            )
        });
        let own: ControllerKeys = ::config::decode(&Value::Map(map), path)?;

        let scrapers_path = format!("{path}::scrapers");
        let scrapers_map = match scrapers_value.resolved() {
            Value::Null => Mapping::new(),
            Value::Map(m) => m.clone(),
            other => {
                return Err(ConfigError::new(
                    scrapers_path,
                    format!("expected a map, got {}", other.kind()),
                ));
            }
        };
        let mut scrapers = Vec::with_capacity(scrapers_map.len());
        for (key, v) in &scrapers_map {
            let at = format!("{scrapers_path}::{key}");
            let cfg = decode_scraper(key, v, &at, path)?;
            cfg.validate().map_err(|m| {
                runtime::factory::validation_error(
                    &at,
                    &format!("error reading settings for scraper type {key:?}: {m}"),
                )
            })?;
            scrapers.push(cfg);
        }

        if own.collection_interval.0.is_zero() {
            return Err(ConfigError::new(
                path,
                "\"collection_interval\": requires positive value",
            ));
        }
        if scrapers.is_empty() {
            return Err(ConfigError::new(
                path,
                "must specify at least one scraper when using hostmetrics receiver",
            ));
        }
        ::hostmetrics::validate_root_path(&own.root_path).map_err(|m| ConfigError::new(path, m))?;
        Ok(Config {
            collection_interval: own.collection_interval.0,
            initial_delay: own.initial_delay.0,
            timeout: own.timeout.0,
            root_path: own.root_path,
            scrapers,
        })
    }
}

fn decode_scraper(
    key: &str,
    v: &Value,
    at: &str,
    path: &str,
) -> Result<ScraperConfig, ConfigError> {
    use ::hostmetrics::{
        cpu, disk, filesystem, load, memory, network, paging, process, processes, system,
    };
    Ok(match key {
        "cpu" => ScraperConfig::Cpu(::config::decode::<cpu::Config>(v, at)?),
        "disk" => ScraperConfig::Disk(::config::decode::<disk::Config>(v, at)?),
        "filesystem" => {
            ScraperConfig::Filesystem(Box::new(::config::decode::<filesystem::Config>(v, at)?))
        }
        "paging" => ScraperConfig::Paging(::config::decode::<paging::Config>(v, at)?),
        "process" => ScraperConfig::Process(Box::new(::config::decode::<process::Config>(v, at)?)),
        "processes" => ScraperConfig::Processes(::config::decode::<processes::Config>(v, at)?),
        "system" => ScraperConfig::System(::config::decode::<system::Config>(v, at)?),
        "load" => ScraperConfig::Load(::config::decode::<load::Config>(v, at)?),
        "memory" => ScraperConfig::Memory(::config::decode::<memory::Config>(v, at)?),
        "network" => ScraperConfig::Network(::config::decode::<network::Config>(v, at)?),
        other if ::hostmetrics::NOT_BUILT_SCRAPERS.contains(&other) => {
            return Err(ConfigError::new(
                path,
                format!(
                    "scraper {other:?} is not built in ferrotel yet (built: {})",
                    ::hostmetrics::SCRAPERS.join(", ")
                ),
            ));
        }
        other => {
            return Err(ConfigError::new(
                path,
                format!("invalid scraper key: {other}"),
            ));
        }
    })
}
