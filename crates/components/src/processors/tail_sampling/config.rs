//! `tail_sampling` settings: the Go processor's keys and defaults (`config.go`,
//! `factory.go`), and the policy checks Go makes when it builds the policies
//! (`processor.go` `loadSamplingPolicy`), made here at validation so `ferrotel validate`
//! reports them.

use std::collections::HashSet;

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Wait after a trace's first span before deciding it.
    pub decision_wait: config::Duration,
    /// When set, a trace is decided this long after its root span arrives, if that is
    /// sooner than `decision_wait` after its first span; 0 = off.
    pub decision_wait_after_root_received: config::Duration,
    /// Traces held in memory; when full, the oldest is dropped.
    pub num_traces: u64,
    /// A sizing hint for the decision batches.
    pub expected_new_traces_per_sec: u64,
    pub decision_cache: DecisionCacheConfig,
    /// Stop evaluating policies at the first one that samples.
    pub sample_on_first_match: bool,
    /// On shutdown, drop the traces not decided yet instead of deciding them on what arrived.
    pub drop_pending_traces_on_shutdown: bool,
    /// When `num_traces` is reached, make senders wait for room instead of dropping the
    /// oldest trace.
    pub block_on_overflow: bool,
    /// A trace whose spans grow past this many bytes (OTLP-encoded) is dropped at once and
    /// not sampled; 0 = no limit.
    pub maximum_trace_size_bytes: u64,
    pub policies: Vec<PolicyConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            decision_wait: config::Duration::from_secs(30),
            decision_wait_after_root_received: config::Duration::from_secs(0),
            num_traces: 50_000,
            expected_new_traces_per_sec: 0,
            decision_cache: DecisionCacheConfig::default(),
            sample_on_first_match: false,
            drop_pending_traces_on_shutdown: false,
            block_on_overflow: false,
            maximum_trace_size_bytes: 0,
            policies: Vec::new(),
        }
    }
}

/// Sizes of the LRU caches of decided trace ids (0 = off).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionCacheConfig {
    pub sampled_cache_size: usize,
    pub non_sampled_cache_size: usize,
}

/// A policy: `name`, `type` and the block of that type (blocks of other types are ignored,
/// as Go ignores them). Sub-policies of `and`, `drop` and `composite` have the same shape.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub latency: LatencyConfig,
    pub numeric_attribute: NumericAttributeConfig,
    pub probabilistic: ProbabilisticConfig,
    pub status_code: StatusCodeConfig,
    pub string_attribute: StringAttributeConfig,
    pub rate_limiting: RateLimitingConfig,
    pub bytes_limiting: BytesLimitingConfig,
    pub span_count: SpanCountConfig,
    pub trace_state: TraceStateConfig,
    pub boolean_attribute: BooleanAttributeConfig,
    pub ottl_condition: OttlConditionConfig,
    pub and: AndConfig,
    pub drop: DropConfig,
    pub composite: CompositeConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatencyConfig {
    pub threshold_ms: i64,
    /// 0 = no upper bound.
    pub upper_threshold_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NumericAttributeConfig {
    pub key: String,
    /// Unset = no lower bound.
    pub min_value: Option<i64>,
    /// Unset = no upper bound.
    pub max_value: Option<i64>,
    pub invert_match: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbabilisticConfig {
    /// Empty = Go's `default-hash-seed`.
    pub hash_salt: String,
    pub sampling_percentage: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusCodeConfig {
    pub status_codes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StringAttributeConfig {
    pub key: String,
    pub values: Vec<String>,
    pub enabled_regex_matching: bool,
    /// Entries of the regex result cache; 0 = Go's 128.
    pub cache_max_size: usize,
    pub invert_match: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitingConfig {
    pub spans_per_second: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BytesLimitingConfig {
    pub bytes_per_second: i64,
    /// 0 = twice `bytes_per_second`.
    pub burst_capacity: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpanCountConfig {
    pub min_spans: i32,
    /// 0 = no maximum.
    pub max_spans: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceStateConfig {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BooleanAttributeConfig {
    pub key: String,
    pub value: bool,
    pub invert_match: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OttlConditionConfig {
    pub error_mode: String,
    pub span: Vec<String>,
    pub spanevent: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AndConfig {
    pub and_sub_policy: Vec<PolicyConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DropConfig {
    pub drop_sub_policy: Vec<PolicyConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompositeConfig {
    pub max_total_spans_per_second: i64,
    /// Parsed for compatibility; Go evaluates in `composite_sub_policy` order.
    pub policy_order: Vec<String>,
    pub composite_sub_policy: Vec<PolicyConfig>,
    pub rate_allocation: Vec<RateAllocationConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateAllocationConfig {
    pub policy: String,
    pub percent: i64,
}

/// Where a policy sits: top level, or inside which combining policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Top,
    And,
    Drop,
    Composite,
}

/// The leaf types every level accepts.
pub const LEAF_TYPES: &[&str] = &[
    "always_sample",
    "latency",
    "numeric_attribute",
    "probabilistic",
    "status_code",
    "string_attribute",
    "rate_limiting",
    "bytes_limiting",
    "span_count",
    "trace_state",
    "boolean_attribute",
    "ottl_condition",
];

/// Go's checks of one policy and its sub-policies (type known at its level, status codes,
/// regexes); the messages are Go's, prefixed as `loadSamplingPolicy` prefixes them.
pub fn check_policy(p: &PolicyConfig, level: Level) -> Result<(), String> {
    let allowed = match p.type_.as_str() {
        t if LEAF_TYPES.contains(&t) => true,
        "and" => matches!(level, Level::Top | Level::Composite),
        "drop" | "composite" => level == Level::Top,
        _ => false,
    };
    if !allowed {
        return Err(format!("unknown sampling policy type {}", p.type_));
    }
    match p.type_.as_str() {
        "status_code" => {
            super::policies::status_codes(&p.status_code.status_codes)?;
        }
        "numeric_attribute" => match (p.numeric_attribute.min_value, p.numeric_attribute.max_value)
        {
            (None, None) => return Err("at least one of min_value or max_value must be set".into()),
            (Some(min), Some(max)) if min > max => {
                return Err("min_value must be less than or equal to max_value".into());
            }
            _ => {}
        },
        "string_attribute" if p.string_attribute.enabled_regex_matching => {
            for v in &p.string_attribute.values {
                goregex::compile(v)?;
            }
        }
        "ottl_condition" => {
            super::policies::check_ottl_condition(p)?;
        }
        "and" => {
            for sub in &p.and.and_sub_policy {
                check_policy(sub, Level::And)?;
            }
        }
        "drop" => {
            for sub in &p.drop.drop_sub_policy {
                check_policy(sub, Level::Drop)?;
            }
        }
        "composite" => {
            for sub in &p.composite.composite_sub_policy {
                check_policy(sub, Level::Composite)?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.block_on_overflow {
            return Err("block_on_overflow: not supported by ferrotel yet; with false (the default) the oldest trace leaves memory when num_traces is reached, counted in otelcol_processor_tail_sampling_sampling_trace_dropped_too_early".into());
        }
        if self.num_traces == 0 {
            return Err("num_traces: must be greater than 0".into());
        }
        let mut names = HashSet::new();
        for p in &self.policies {
            if p.name.is_empty() {
                return Err("policy name cannot be empty".into());
            }
            if !names.insert(p.name.as_str()) {
                return Err(format!("duplicate policy name {:?}", p.name));
            }
            check_policy(p, Level::Top)
                .map_err(|e| format!("failed to create policy evaluator for {:?}: {e}", p.name))?;
        }
        Ok(())
    }
}
