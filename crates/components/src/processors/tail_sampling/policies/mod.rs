//! The sampling policies (Go's `internal/sampling`): each one looks at everything received
//! for a trace and votes. [`Evaluator`] is the one trait they share; adding a policy type is
//! one file with an `Evaluator` and one arm in [`build`].

mod ottl_condition;

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, Span};
use prost::Message;
use regex::Regex;
use tokio::time::Instant;

use super::config::PolicyConfig;

pub type TraceId = [u8; 16];

/// Compiles an `ottl_condition` policy's conditions, so that `validate` refuses a bad one.
pub fn check_ottl_condition(cfg: &PolicyConfig) -> Result<(), String> {
    ottl_condition::build(cfg).map(drop)
}

/// A policy's vote on one trace (`sampling.Decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Sampled,
    NotSampled,
    /// `invert_match` saw no match: a sample vote that any not-sample vote cancels.
    InvertSampled,
    /// `invert_match` saw a match: a veto over other policies' sample votes.
    InvertNotSampled,
    /// A `drop` policy matched: a veto over everything.
    Dropped,
}

/// What a policy sees of a trace: the spans received so far (each piece keeps its resource
/// and scopes) and how many.
#[derive(Debug, Clone, Default)]
pub struct TraceData {
    pub batches: Vec<ResourceSpans>,
    pub span_count: i64,
}

impl TraceData {
    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.batches
            .iter()
            .flat_map(|rs| rs.scope_spans.iter().flat_map(|ss| ss.spans.iter()))
    }

    /// Size of the trace encoded as one OTLP export request (what Go's `TracesSize` measures).
    pub fn encoded_size(&self) -> usize {
        self.batches
            .iter()
            .map(|rs| {
                let len = rs.encoded_len();
                1 + prost::encoding::encoded_len_varint(len as u64) + len
            })
            .sum()
    }
}

/// One policy. Stateful policies (rate limits) keep their state here; `now` comes from the
/// processor's clock (tokio's, so tests can pause it).
pub trait Evaluator: Send {
    /// The trace is lent mutably because OTTL's contexts take the items by `&mut` (its
    /// editors write through them); a policy only reads it.
    fn evaluate(
        &mut self,
        id: &TraceId,
        trace: &mut TraceData,
        now: Instant,
    ) -> Result<Decision, String>;

    /// The sub-policy that made the last `Sampled` answer, for policies made of others
    /// (`composite`; Go's `tailsampling.composite_policy` attribute).
    fn sampled_by(&self) -> Option<&str> {
        None
    }
}

/// Builds the evaluator of a validated policy config. `epoch` is the clock's zero for the
/// per-second budgets.
pub fn build(cfg: &PolicyConfig, epoch: Instant) -> Result<Box<dyn Evaluator>, String> {
    Ok(match cfg.type_.as_str() {
        "always_sample" => Box::new(AlwaysSample),
        "latency" => Box::new(Latency {
            threshold_ms: cfg.latency.threshold_ms,
            upper_threshold_ms: cfg.latency.upper_threshold_ms,
        }),
        "numeric_attribute" => {
            let c = &cfg.numeric_attribute;
            let (min, max) = (
                c.min_value.unwrap_or(i64::MIN),
                c.max_value.unwrap_or(i64::MAX),
            );
            Box::new(AttributeFilter {
                key: c.key.clone(),
                invert: c.invert_match,
                matcher: Matcher::Numeric { min, max },
            })
        }
        "probabilistic" => Box::new(Probabilistic::new(
            &cfg.probabilistic.hash_salt,
            cfg.probabilistic.sampling_percentage,
        )),
        "status_code" => Box::new(StatusCode {
            codes: status_codes(&cfg.status_code.status_codes)?,
        }),
        "string_attribute" => {
            let c = &cfg.string_attribute;
            let matcher = if c.enabled_regex_matching {
                let regexes = c
                    .values
                    .iter()
                    .map(|v| goregex::compile(v))
                    .collect::<Result<Vec<_>, _>>()?;
                let size = if c.cache_max_size == 0 {
                    128
                } else {
                    c.cache_max_size
                };
                Matcher::Regex {
                    regexes,
                    cache: Lru::new(size),
                }
            } else {
                Matcher::Exact(c.values.iter().filter(|v| !v.is_empty()).cloned().collect())
            };
            Box::new(AttributeFilter {
                key: c.key.clone(),
                invert: c.invert_match,
                matcher,
            })
        }
        "boolean_attribute" => Box::new(AttributeFilter {
            key: cfg.boolean_attribute.key.clone(),
            invert: cfg.boolean_attribute.invert_match,
            matcher: Matcher::Bool(cfg.boolean_attribute.value),
        }),
        "rate_limiting" => Box::new(RateLimiting {
            spans_per_second: cfg.rate_limiting.spans_per_second,
            epoch,
            second: u64::MAX,
            spent: 0,
        }),
        "bytes_limiting" => {
            let rate = cfg.bytes_limiting.bytes_per_second;
            let burst = if cfg.bytes_limiting.burst_capacity > 0 {
                cfg.bytes_limiting.burst_capacity
            } else {
                rate.saturating_mul(2)
            };
            Box::new(BytesLimiting {
                rate: rate as f64,
                burst: burst as f64,
                tokens: burst as f64,
                last: None,
            })
        }
        "span_count" => Box::new(SpanCount {
            min: cfg.span_count.min_spans as i64,
            max: cfg.span_count.max_spans as i64,
        }),
        "trace_state" => {
            let key = cfg.trace_state.key.clone();
            // A tracestate member (key=value) cannot exceed 256 characters.
            let values = cfg
                .trace_state
                .values
                .iter()
                .filter(|v| !v.is_empty() && key.len() + v.len() < 256)
                .cloned()
                .collect();
            Box::new(TraceState { key, values })
        }
        "ottl_condition" => ottl_condition::build(cfg)?,
        "and" => Box::new(And {
            subs: build_all(&cfg.and.and_sub_policy, epoch)?,
        }),
        "drop" => Box::new(Drop {
            subs: build_all(&cfg.drop.drop_sub_policy, epoch)?,
        }),
        "composite" => Box::new(Composite::new(cfg, epoch)?),
        other => return Err(format!("unknown sampling policy type {other}")),
    })
}

fn build_all(cfgs: &[PolicyConfig], epoch: Instant) -> Result<Vec<Box<dyn Evaluator>>, String> {
    cfgs.iter()
        .map(|c| build(c, epoch).map_err(|e| format!("policy {:?}: {e}", c.name)))
        .collect()
}

/// Go's `NewStatusCodeFilter` checks; the codes as OTLP status code numbers.
pub fn status_codes(names: &[String]) -> Result<Vec<i32>, String> {
    if names.is_empty() {
        return Err("expected at least one status code to filter on".into());
    }
    names
        .iter()
        .map(|n| match n.as_str() {
            "UNSET" => Ok(0),
            "OK" => Ok(1),
            "ERROR" => Ok(2),
            other => Err(format!(
                "unknown status code {other:?}, supported: OK, ERROR, UNSET"
            )),
        })
        .collect()
}

struct AlwaysSample;

impl Evaluator for AlwaysSample {
    fn evaluate(&mut self, _: &TraceId, _: &mut TraceData, _: Instant) -> Result<Decision, String> {
        Ok(Decision::Sampled)
    }
}

/// Duration from the earliest start to the latest end, grown span by span; sampled at the
/// first span where it qualifies (Go's incremental loop).
struct Latency {
    threshold_ms: i64,
    upper_threshold_ms: i64,
}

impl Evaluator for Latency {
    fn evaluate(&mut self, _: &TraceId, t: &mut TraceData, _: Instant) -> Result<Decision, String> {
        let (mut min, mut max) = (0u64, 0u64);
        for s in t.spans() {
            if min == 0 || s.start_time_unix_nano < min {
                min = s.start_time_unix_nano;
            }
            if max == 0 || s.end_time_unix_nano > max {
                max = s.end_time_unix_nano;
            }
            let ms = (max as i128 - min as i128) / 1_000_000;
            let hit = if self.upper_threshold_ms == 0 {
                ms >= self.threshold_ms as i128
            } else {
                (self.threshold_ms as i128) < ms && ms <= self.upper_threshold_ms as i128
            };
            if hit {
                return Ok(Decision::Sampled);
            }
        }
        Ok(Decision::NotSampled)
    }
}

/// How an attribute policy compares a value.
enum Matcher {
    /// `numeric_attribute`: `Int()` (0 for other types) in [min, max].
    Numeric { min: i64, max: i64 },
    /// `string_attribute`: one of the values (empty values never match).
    Exact(Vec<String>),
    /// `string_attribute` with `enabled_regex_matching`: any unanchored match, results
    /// cached by value.
    Regex {
        regexes: Vec<Regex>,
        cache: Lru<String, bool>,
    },
    /// `boolean_attribute`: `Bool()` (false for other types) equal to the value.
    Bool(bool),
}

fn value_of(attrs: &[KeyValue], key: &str) -> Option<Option<Value>> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_ref().and_then(|v: &AnyValue| v.value.clone()))
}

impl Matcher {
    /// `is_span`: Go skips empty strings on spans (not on resources) for string attributes.
    fn matches(&mut self, v: &Option<Value>, is_span: bool) -> bool {
        match self {
            Matcher::Numeric { min, max } => {
                let i = match v {
                    Some(Value::IntValue(i)) => *i,
                    _ => 0,
                };
                *min <= i && i <= *max
            }
            Matcher::Bool(want) => {
                matches!(v, Some(Value::BoolValue(b)) if b == want)
                    || (!*want && !matches!(v, Some(Value::BoolValue(_))))
            }
            Matcher::Exact(values) => {
                let s = str_of(v);
                if is_span && s.is_empty() {
                    return false;
                }
                values.iter().any(|x| x == s)
            }
            Matcher::Regex { regexes, cache } => {
                let s = str_of(v);
                if is_span && s.is_empty() {
                    return false;
                }
                if let Some(hit) = cache.get(s) {
                    return *hit;
                }
                let hit = regexes.iter().any(|r| r.is_match(s));
                cache.put(s.to_string(), hit);
                hit
            }
        }
    }
}

/// pcommon's `Str()`: the string, or "" for any other type.
fn str_of(v: &Option<Value>) -> &str {
    match v {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

/// numeric_attribute, string_attribute and boolean_attribute: any resource or span with the
/// attribute matching. Inverted, a match anywhere is a veto (`InvertNotSampled`) and its
/// absence an `InvertSampled`.
struct AttributeFilter {
    key: String,
    invert: bool,
    matcher: Matcher,
}

impl AttributeFilter {
    fn resource_matches(&mut self, r: &Option<Resource>) -> bool {
        let attrs = r.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        match value_of(attrs, &self.key) {
            Some(v) => self.matcher.matches(&v, false),
            None => false,
        }
    }

    fn span_matches(&mut self, s: &Span) -> bool {
        match value_of(&s.attributes, &self.key) {
            Some(v) => self.matcher.matches(&v, true),
            None => false,
        }
    }
}

impl Evaluator for AttributeFilter {
    fn evaluate(&mut self, _: &TraceId, t: &mut TraceData, _: Instant) -> Result<Decision, String> {
        for rs in &t.batches {
            if self.resource_matches(&rs.resource) {
                return Ok(if self.invert {
                    Decision::InvertNotSampled
                } else {
                    Decision::Sampled
                });
            }
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    if self.span_matches(s) {
                        return Ok(if self.invert {
                            Decision::InvertNotSampled
                        } else {
                            Decision::Sampled
                        });
                    }
                }
            }
        }
        Ok(if self.invert {
            Decision::InvertSampled
        } else {
            Decision::NotSampled
        })
    }
}

/// FNV-1a 64 over the salt and the trace id, at or below `ratio × (2^64 − 1)`.
struct Probabilistic {
    salt: Vec<u8>,
    threshold: u64,
}

impl Probabilistic {
    fn new(salt: &str, pct: f64) -> Probabilistic {
        let salt = if salt.is_empty() {
            "default-hash-seed"
        } else {
            salt
        };
        Probabilistic {
            salt: salt.as_bytes().to_vec(),
            threshold: probabilistic_threshold(pct / 100.0),
        }
    }
}

/// Go's `calculateThreshold`: `MaxUint64 × ratio` in a 64-bit-mantissa `big.Float`
/// (rounded to nearest even), then truncated to an integer and clamped to the uint64 range.
pub fn probabilistic_threshold(ratio: f64) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        return 0;
    }
    if !ratio.is_finite() {
        return u64::MAX;
    }
    // ratio = mantissa × 2^exp exactly.
    let bits = ratio.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    let (mantissa, exp) = if raw_exp == 0 {
        (bits & ((1 << 52) - 1), -1074)
    } else {
        ((bits & ((1 << 52) - 1)) | (1 << 52), raw_exp - 1075)
    };
    let product = u64::MAX as u128 * mantissa as u128;
    // Round the product to 64 significant bits, nearest even.
    let width = 128 - product.leading_zeros() as i32;
    let (mut sig, mut exp) = (product, exp);
    if width > 64 {
        let drop = (width - 64) as u32;
        let rest = sig & ((1u128 << drop) - 1);
        let half = 1u128 << (drop - 1);
        sig >>= drop;
        if rest > half || (rest == half && sig & 1 == 1) {
            sig += 1;
        }
        exp += drop as i32;
    }
    if exp >= 0 {
        return if exp > 64 {
            u64::MAX
        } else {
            u64::try_from(sig << exp).unwrap_or(u64::MAX)
        };
    }
    let shift = (-exp) as u32;
    if shift >= 128 {
        return 0;
    }
    u64::try_from(sig >> shift).unwrap_or(u64::MAX)
}

pub fn fnv1a64(salt: &[u8], id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in salt.iter().chain(id) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Evaluator for Probabilistic {
    fn evaluate(
        &mut self,
        id: &TraceId,
        _: &mut TraceData,
        _: Instant,
    ) -> Result<Decision, String> {
        Ok(if fnv1a64(&self.salt, id) <= self.threshold {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

struct StatusCode {
    codes: Vec<i32>,
}

impl Evaluator for StatusCode {
    fn evaluate(&mut self, _: &TraceId, t: &mut TraceData, _: Instant) -> Result<Decision, String> {
        let hit = t.spans().any(|s| {
            self.codes
                .contains(&s.status.as_ref().map(|st| st.code).unwrap_or(0))
        });
        Ok(if hit {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// Spans received so far (late ones included) within [min, max] (max 0 = no maximum).
struct SpanCount {
    min: i64,
    max: i64,
}

impl Evaluator for SpanCount {
    fn evaluate(&mut self, _: &TraceId, t: &mut TraceData, _: Instant) -> Result<Decision, String> {
        let n = t.span_count;
        let hit = n >= self.min && (self.max == 0 || n <= self.max);
        Ok(if hit {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// A span whose W3C tracestate has `key` equal to one of the values.
struct TraceState {
    key: String,
    values: Vec<String>,
}

/// The value of `key` in a tracestate header; `None` when absent or the header is not a
/// valid list (more than 32 members, a member without `=`).
fn tracestate_get<'a>(ts: &'a str, key: &str) -> Option<&'a str> {
    let mut found = None;
    let mut members = 0;
    for m in ts.split(',') {
        let m = m.trim_matches([' ', '\t']);
        if m.is_empty() {
            continue;
        }
        members += 1;
        let (k, v) = m.split_once('=')?;
        if members > 32 || k.is_empty() || v.is_empty() {
            return None;
        }
        if k == key && found.is_none() {
            found = Some(v);
        }
    }
    found
}

impl Evaluator for TraceState {
    fn evaluate(&mut self, _: &TraceId, t: &mut TraceData, _: Instant) -> Result<Decision, String> {
        let hit = t.spans().any(|s| {
            tracestate_get(&s.trace_state, &self.key)
                .is_some_and(|v| self.values.iter().any(|x| x == v))
        });
        Ok(if hit {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// At most `spans_per_second` spans per second: a trace is sampled while the second's
/// spans plus its own stay strictly below the limit.
struct RateLimiting {
    spans_per_second: i64,
    epoch: Instant,
    second: u64,
    spent: i64,
}

impl Evaluator for RateLimiting {
    fn evaluate(
        &mut self,
        _: &TraceId,
        t: &mut TraceData,
        now: Instant,
    ) -> Result<Decision, String> {
        let second = now.saturating_duration_since(self.epoch).as_secs();
        if second != self.second {
            self.second = second;
            self.spent = 0;
        }
        let if_sampled = self.spent + t.span_count;
        if if_sampled < self.spans_per_second {
            self.spent = if_sampled;
            return Ok(Decision::Sampled);
        }
        Ok(Decision::NotSampled)
    }
}

/// A token bucket of bytes (Go's `rate.Limiter.AllowN`): starts full at `burst`, refills at
/// `rate` per second; a trace is sampled when its encoded size is available.
struct BytesLimiting {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl Evaluator for BytesLimiting {
    fn evaluate(
        &mut self,
        _: &TraceId,
        t: &mut TraceData,
        now: Instant,
    ) -> Result<Decision, String> {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        }
        self.last = Some(now);
        let need = t.encoded_size() as f64;
        if need <= self.tokens {
            self.tokens -= need;
            return Ok(Decision::Sampled);
        }
        Ok(Decision::NotSampled)
    }
}

/// Sampled when every sub-policy samples; the first not-sample answer ends it.
struct And {
    subs: Vec<Box<dyn Evaluator>>,
}

impl Evaluator for And {
    fn evaluate(
        &mut self,
        id: &TraceId,
        t: &mut TraceData,
        now: Instant,
    ) -> Result<Decision, String> {
        for sub in &mut self.subs {
            match sub.evaluate(id, t, now)? {
                Decision::NotSampled | Decision::InvertNotSampled => {
                    return Ok(Decision::NotSampled);
                }
                _ => {}
            }
        }
        Ok(Decision::Sampled)
    }
}

/// Dropped when every sub-policy samples (a veto over all other policies).
struct Drop {
    subs: Vec<Box<dyn Evaluator>>,
}

impl Evaluator for Drop {
    fn evaluate(
        &mut self,
        id: &TraceId,
        t: &mut TraceData,
        now: Instant,
    ) -> Result<Decision, String> {
        for sub in &mut self.subs {
            match sub.evaluate(id, t, now)? {
                Decision::NotSampled | Decision::InvertNotSampled => {
                    return Ok(Decision::NotSampled);
                }
                _ => {}
            }
        }
        Ok(Decision::Dropped)
    }
}

/// Sub-policies in order, each with a spans-per-second budget (`rate_allocation` percent of
/// `max_total_spans_per_second`, an equal share when the percent is not positive, nothing
/// when the policy is not listed); the first that samples decides, within its budget.
struct Composite {
    /// (name, evaluator, budget, spent this second)
    subs: Vec<(String, Box<dyn Evaluator>, i64, i64)>,
    max_total: i64,
    epoch: Instant,
    second: u64,
    last_sampled_by: Option<usize>,
}

impl Composite {
    fn new(cfg: &PolicyConfig, epoch: Instant) -> Result<Composite, String> {
        let c = &cfg.composite;
        let max_total = c.max_total_spans_per_second as f64;
        let default_sps = max_total / c.composite_sub_policy.len().max(1) as f64;
        let mut alloc: HashMap<&str, f64> = HashMap::new();
        for ra in &c.rate_allocation {
            let sps = if ra.percent > 0 {
                ra.percent as f64 / 100.0 * max_total
            } else {
                default_sps
            };
            alloc.insert(ra.policy.as_str(), sps);
        }
        let subs = c
            .composite_sub_policy
            .iter()
            .map(|sub| {
                let eval = build(sub, epoch).map_err(|e| format!("policy {:?}: {e}", sub.name))?;
                let budget = alloc.get(sub.name.as_str()).copied().unwrap_or(0.0) as i64;
                Ok((sub.name.clone(), eval, budget, 0))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Composite {
            subs,
            max_total: c.max_total_spans_per_second,
            epoch,
            second: u64::MAX,
            last_sampled_by: None,
        })
    }
}

impl Evaluator for Composite {
    fn evaluate(
        &mut self,
        id: &TraceId,
        t: &mut TraceData,
        now: Instant,
    ) -> Result<Decision, String> {
        let second = now.saturating_duration_since(self.epoch).as_secs();
        if second != self.second {
            self.second = second;
            for s in &mut self.subs {
                s.3 = 0;
            }
        }
        for (i, (_, eval, budget, spent)) in self.subs.iter_mut().enumerate() {
            match eval.evaluate(id, t, now)? {
                Decision::Sampled | Decision::InvertSampled => {
                    let if_sampled = *spent + t.span_count;
                    if if_sampled <= *budget && if_sampled <= self.max_total {
                        *spent = if_sampled;
                        self.last_sampled_by = Some(i);
                        return Ok(Decision::Sampled);
                    }
                    // Over budget: not sampled, and the budget is kept for smaller traces.
                    return Ok(Decision::NotSampled);
                }
                _ => {}
            }
        }
        Ok(Decision::NotSampled)
    }

    fn sampled_by(&self) -> Option<&str> {
        self.last_sampled_by.map(|i| self.subs[i].0.as_str())
    }
}

/// A least-recently-used map with a fixed capacity (the decision caches, the regex result
/// cache). Lookups refresh an entry; the queue holds stale stamps that are skipped, and is
/// compacted so it stays within twice the capacity.
pub struct Lru<K, V> {
    cap: usize,
    map: HashMap<K, (V, u64)>,
    order: VecDeque<(K, u64)>,
    stamp: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub fn new(cap: usize) -> Self {
        Lru {
            cap: cap.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
            stamp: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn touch(&mut self, k: K) -> u64 {
        self.stamp += 1;
        self.order.push_back((k, self.stamp));
        if self.order.len() > 2 * self.cap + 16 {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|(_, cur)| cur == s));
        }
        self.stamp
    }

    pub fn get<Q>(&mut self, k: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if !self.map.contains_key(k) {
            return None;
        }
        let stamp = self.touch(k.to_owned());
        let entry = self.map.get_mut(k)?;
        entry.1 = stamp;
        Some(&entry.0)
    }

    pub fn contains<Q>(&self, k: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(k)
    }

    pub fn put(&mut self, k: K, v: V) {
        let stamp = self.touch(k.clone());
        self.map.insert(k, (v, stamp));
        while self.map.len() > self.cap {
            let Some((old, s)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(_, cur)| *cur == s) {
                self.map.remove(&old);
            }
        }
    }
}

#[cfg(test)]
pub(super) fn tracestate_value<'a>(ts: &'a str, key: &str) -> Option<&'a str> {
    tracestate_get(ts, key)
}
