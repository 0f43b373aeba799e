//! `pprof` settings: the contrib extension's keys and defaults.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listen address (confignet's TCP address); an empty host (`:1777`) means every
    /// interface.
    pub endpoint: String,
    /// confignet's dialer settings, part of the same struct in Go; meaningless for a server.
    pub dialer: Option<config::Value>,
    /// Go's `runtime.SetBlockProfileRate`. Rust has no goroutine blocking profiler: accepted,
    /// logged once when non-zero, no effect.
    pub block_profile_fraction: i64,
    /// Go's `runtime.SetMutexProfileFraction`. No mutex contention profiler in Rust either:
    /// accepted, logged once when non-zero, no effect.
    pub mutex_profile_fraction: i64,
    /// When set, a CPU profile of the whole run is written to this file at shutdown (gzip'd
    /// profile.proto, as Go's `pprof.StartCPUProfile` writes it). While it runs,
    /// `/debug/pprof/profile` answers that CPU profiling is already in use, as in Go.
    pub save_to_file: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "localhost:1777".into(),
            dialer: None,
            block_profile_fraction: 0,
            mutex_profile_fraction: 0,
            save_to_file: String::new(),
        }
    }
}

/// No checks, as in Go: an empty endpoint listens on a free port of every interface.
impl ComponentConfig for Config {}
