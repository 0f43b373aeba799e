//! The keep/drop decision for one span or log record, as `sampler_mode.go`,
//! `tracesprocessor.go` and `logsprocessor.go` make it: where the item's randomness comes
//! from (a seeded FNV hash, the trace id's last 56 bits, an explicit `rv`), the threshold the
//! mode applies, the `sampling.priority` override, fail-closed handling of unusable items,
//! and the `th`/`rv` written back into a sampled item.

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use pdata::proto::logs::v1::LogRecord;
use pdata::proto::trace::v1::Span;

use super::config::{Config, Mode, TRACE_ID_SOURCE};
use super::otep235::{
    ALL_PROBABILITIES, ALWAYS_SAMPLE, Error, MIN_SAMPLING_PROBABILITY, NEVER_SAMPLE, Randomness,
    Threshold, W3cTraceState,
};

const NUM_HASH_BUCKETS: u64 = 0x4000;
const HASH_BUCKET_MASK: u32 = 0x3fff;

/// Which randomness decided an item: the `policy` attribute of the self-metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    TraceIdHash,
    TraceIdW3c,
    SamplingRandomness,
    SamplingPriority,
    MissingRandomness,
    /// The logs' `from_attribute` (named after it).
    Attribute,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Source::TraceIdHash,
        Source::TraceIdW3c,
        Source::SamplingRandomness,
        Source::SamplingPriority,
        Source::MissingRandomness,
        Source::Attribute,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Source::TraceIdHash => "trace_id_hash",
            Source::TraceIdW3c => "trace_id_w3c",
            Source::SamplingRandomness => "sampling_randomness",
            Source::SamplingPriority => "sampling_priority",
            Source::MissingRandomness => "missing_randomness",
            Source::Attribute => "",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Rnd {
    value: Randomness,
    source: Source,
}

impl Rnd {
    const MISSING: Rnd = Rnd {
        value: ALL_PROBABILITIES,
        source: Source::MissingRandomness,
    };

    fn is_missing(self) -> bool {
        self.source == Source::MissingRandomness
    }
}

/// FNV-1a, 32 bits, over the seed (4 bytes little-endian) and then `bytes` (`fnvhasher.go`).
pub fn fnv1a32(seed: u32, bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in seed.to_le_bytes().iter().chain(bytes) {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `randomnessFromBytes`: the 14-bit hash bucket turned into a 56-bit randomness value that
/// the threshold comparison decides exactly as the legacy `bucket < rate` did.
pub fn hash_randomness(bytes: &[u8], seed: u32) -> Randomness {
    let hashed32 = fnv1a32(seed, bytes);
    let hashed = (hashed32 & HASH_BUCKET_MASK) as u64;
    let rprime14 = NUM_HASH_BUCKETS - 1 - hashed;
    let unused18 = (hashed32 >> 14) as u64;
    let mixed28 = unused18 ^ (unused18 << 10);
    Randomness((rprime14 << 42) | (mixed28 << 14) | hashed)
}

/// The hash_seed mode's threshold: `uint32(pct * 163.84)` computed in float32 and truncated
/// (as the processor always has), as a rejection threshold in the top 14 bits.
pub fn hash_threshold(pct: f32) -> Option<Threshold> {
    let scaled = (pct * (16384.0f32 / 100.0f32)) as u32;
    if scaled == 0 {
        return None;
    }
    Some(Threshold((NUM_HASH_BUCKETS - scaled as u64) << 42))
}

#[derive(Debug, Clone)]
enum Kind {
    Never,
    Hashing {
        seed: u32,
        threshold: Threshold,
        logs_trace_id: bool,
        logs_attribute: String,
    },
    Equalizing {
        threshold: Threshold,
    },
    Proportional {
        ratio: f64,
        precision: u32,
    },
}

/// One processor's sampler (Go's `makeSampler`).
#[derive(Debug, Clone)]
pub struct Sampler {
    kind: Kind,
    fail_closed: bool,
    precision: u32,
    priority_attribute: String,
}

fn is_empty_id(id: &[u8]) -> bool {
    id.iter().all(|&b| b == 0)
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

fn str_attr<'a>(attrs: &'a [KeyValue], key: &str) -> &'a str {
    match attr(attrs, key).and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

fn put_str(attrs: &mut Vec<KeyValue>, key: &str, value: String) {
    let v = Some(AnyValue {
        value: Some(Value::StringValue(value)),
    });
    match attrs.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = v,
        None => attrs.push(KeyValue {
            key: key.to_string(),
            value: v,
            ..Default::default()
        }),
    }
}

/// Where a span keeps its sampling information: the parsed tracestate.
struct SpanCarrier(W3cTraceState);

/// Where a log record keeps it: the `sampling.threshold` / `sampling.randomness` attributes.
struct LogCarrier {
    threshold: Option<Threshold>,
    randomness: Option<Randomness>,
}

const LOG_THRESHOLD: &str = "sampling.threshold";
const LOG_RANDOMNESS: &str = "sampling.randomness";

impl LogCarrier {
    fn parse(attrs: &[KeyValue]) -> (LogCarrier, Option<Error>) {
        let mut c = LogCarrier {
            threshold: None,
            randomness: None,
        };
        let mut err = None;
        let tv = str_attr(attrs, LOG_THRESHOLD);
        if !tv.is_empty() {
            match Threshold::from_tvalue(tv) {
                Ok(t) => c.threshold = Some(t),
                Err(e) => err = Some(e),
            }
        }
        let rv = str_attr(attrs, LOG_RANDOMNESS);
        if !rv.is_empty() {
            match Randomness::from_rvalue(rv) {
                Ok(r) => c.randomness = Some(r),
                Err(e) => err = Some(e),
            }
        }
        (c, err)
    }
}

/// What [`Sampler::decide`] needs of a carrier, span or log record alike.
trait Carrier {
    fn threshold(&self) -> Option<Threshold>;
}

impl Carrier for SpanCarrier {
    fn threshold(&self) -> Option<Threshold> {
        self.0.otel.threshold()
    }
}

impl Carrier for LogCarrier {
    fn threshold(&self) -> Option<Threshold> {
        self.threshold
    }
}

impl LogCarrier {
    fn clear_threshold(&mut self, attrs: &mut Vec<KeyValue>) {
        self.threshold = None;
        attrs.retain(|kv| kv.key != LOG_THRESHOLD);
    }
}

/// `sampling.priority` on a span (OpenTracing convention): 0 drops, > 0 keeps, anything
/// else (negative, NaN, not a number) leaves the decision to the sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanPriority {
    Defer,
    MustSample,
    DoNotSample,
}

pub fn span_priority(attrs: &[KeyValue]) -> SpanPriority {
    let value = match attr(attrs, "sampling.priority").and_then(|v| v.value.as_ref()) {
        Some(Value::IntValue(i)) => *i as f64,
        Some(Value::DoubleValue(d)) => *d,
        Some(Value::StringValue(s)) => match s.trim().parse::<f64>() {
            // Go's ParseFloat refuses surrounding spaces.
            Ok(v) if s.trim().len() == s.len() => v,
            _ => return SpanPriority::Defer,
        },
        _ => return SpanPriority::Defer,
    };
    if value == 0.0 {
        SpanPriority::DoNotSample
    } else if value > 0.0 {
        SpanPriority::MustSample
    } else {
        SpanPriority::Defer
    }
}

/// The result for one item: kept or not, and the randomness source for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub sampled: bool,
    pub source: Source,
}

impl Sampler {
    pub fn new(cfg: &Config, logs: bool) -> Sampler {
        let precision = cfg.sampling_precision.clamp(1, 14) as u32;
        let pct = cfg.sampling_percentage.min(100.0);
        let mode = if cfg.mode.is_empty()
            && (cfg.hash_seed != 0 || (logs && cfg.attribute_source != TRACE_ID_SOURCE))
        {
            Mode::HashSeed
        } else {
            cfg.effective_mode()
        };
        let kind = if pct <= 0.0 {
            Kind::Never
        } else {
            // Float64 before dividing: float32 would lose precision.
            let ratio = (pct as f64 / 100.0).max(MIN_SAMPLING_PROBABILITY);
            match mode {
                Mode::Equalizing => Kind::Equalizing {
                    threshold: Threshold::from_probability_with_precision(ratio, precision)
                        .unwrap_or(ALWAYS_SAMPLE),
                },
                Mode::Proportional => Kind::Proportional { ratio, precision },
                Mode::HashSeed => match hash_threshold(pct) {
                    None => Kind::Never,
                    Some(threshold) => Kind::Hashing {
                        seed: cfg.hash_seed,
                        threshold,
                        logs_trace_id: cfg.attribute_source == TRACE_ID_SOURCE,
                        logs_attribute: cfg.from_attribute.clone(),
                    },
                },
            }
        };
        Sampler {
            kind,
            fail_closed: cfg.fail_closed,
            precision,
            priority_attribute: cfg.sampling_priority.clone(),
        }
    }

    fn decide(&self, carrier: Option<&dyn Carrier>) -> Threshold {
        let incoming = carrier.and_then(|c| c.threshold());
        match &self.kind {
            Kind::Never => NEVER_SAMPLE,
            Kind::Hashing { threshold, .. } => *threshold,
            Kind::Equalizing { threshold } => match incoming {
                Some(t) if *threshold < t => t,
                _ => *threshold,
            },
            Kind::Proportional { ratio, precision } => {
                let p = incoming.map(Threshold::probability).unwrap_or(1.0);
                match Threshold::from_probability_with_precision(p * ratio, *precision) {
                    Ok(t) => t,
                    // Below the smallest probability: simply not sampled.
                    Err(_) => NEVER_SAMPLE,
                }
            }
        }
    }

    fn fail_threshold(&self) -> Threshold {
        if self.fail_closed {
            NEVER_SAMPLE
        } else {
            ALWAYS_SAMPLE
        }
    }

    /// Decides one span; a kept span gets its tracestate's `th` (and, in hash_seed mode,
    /// `rv`) updated.
    pub fn span(&self, span: &mut Span) -> Outcome {
        let (mut rnd, mut carrier, mut err) = self.span_randomness(span);
        if err.is_none() {
            if rnd.is_missing() {
                err = Some(Error("missing randomness".into()));
            } else if let Some(c) = &mut carrier
                && let Some(th) = c.0.otel.threshold()
                && !th.should_sample(rnd.value)
            {
                c.0.otel.clear_threshold();
                err = Some(Error(
                    "inconsistent arriving threshold: item should not have been sampled".into(),
                ));
            }
        }
        let mut threshold = match &err {
            Some(e) => {
                tracing::debug!(error = %e, "traces sampler");
                self.fail_threshold()
            }
            None => self.decide(carrier.as_ref().map(|c| c as &dyn Carrier)),
        };
        match span_priority(&span.attributes) {
            SpanPriority::DoNotSample => {
                threshold = NEVER_SAMPLE;
                rnd.source = Source::SamplingPriority;
            }
            SpanPriority::MustSample => {
                threshold = ALWAYS_SAMPLE;
                rnd.source = Source::SamplingPriority;
            }
            SpanPriority::Defer => {}
        }
        let sampled = threshold.should_sample(rnd.value);
        if sampled && let Some(mut c) = carrier {
            if let Err(e) = c.0.otel.update_threshold(threshold) {
                tracing::debug!(error = %e, "traces sampler");
            }
            span.trace_state = c.0.serialize();
        }
        Outcome {
            sampled,
            source: rnd.source,
        }
    }

    fn span_randomness(&self, span: &Span) -> (Rnd, Option<SpanCarrier>, Option<Error>) {
        let tid = &span.trace_id;
        let parsed = W3cTraceState::parse(&span.trace_state);
        match &self.kind {
            Kind::Never => (
                Rnd {
                    value: ALL_PROBABILITIES,
                    source: Source::SamplingPriority,
                },
                parsed.as_ref().ok().cloned().map(SpanCarrier),
                parsed.err(),
            ),
            Kind::Hashing { seed, .. } => {
                let rnd = if is_empty_id(tid) {
                    Rnd::MISSING
                } else {
                    Rnd {
                        value: hash_randomness(tid, *seed),
                        source: Source::TraceIdHash,
                    }
                };
                match parsed {
                    Err(e) => (rnd, None, Some(e)),
                    Ok(ts) if ts.otel.rvalue.is_some() => (
                        rnd,
                        None,
                        Some(Error(
                            "item has sampling randomness, equalizing or proportional mode recommended"
                                .into(),
                        )),
                    ),
                    Ok(ts) if ts.otel.tvalue.is_some() => (
                        rnd,
                        None,
                        Some(Error(
                            "item has sampling threshold, equalizing or proportional mode recommended"
                                .into(),
                        )),
                    ),
                    Ok(mut ts) => {
                        ts.otel.set_randomness(rnd.value);
                        (rnd, Some(SpanCarrier(ts)), None)
                    }
                }
            }
            Kind::Equalizing { .. } | Kind::Proportional { .. } => match parsed {
                Err(e) => (Rnd::MISSING, None, Some(e)),
                Ok(ts) => {
                    let rnd = if let Some(r) = ts.otel.randomness() {
                        Rnd {
                            value: r,
                            source: Source::SamplingRandomness,
                        }
                    } else if !is_empty_id(tid) {
                        Rnd {
                            value: Randomness::from_trace_id(tid),
                            source: Source::TraceIdW3c,
                        }
                    } else {
                        Rnd::MISSING
                    };
                    (rnd, Some(SpanCarrier(ts)), None)
                }
            },
        }
    }

    /// Decides one log record; a kept record gets `sampling.threshold` (and, in hash_seed
    /// mode, `sampling.randomness`) attributes.
    pub fn log(&self, rec: &mut LogRecord) -> Outcome {
        let (mut rnd, mut carrier, mut err) = self.log_randomness(rec);
        if err.is_none() {
            if rnd.is_missing() {
                err = Some(Error("missing randomness".into()));
            } else if let Some(c) = &mut carrier
                && let Some(th) = c.threshold
                && !th.should_sample(rnd.value)
            {
                c.clear_threshold(&mut rec.attributes);
                err = Some(Error(
                    "inconsistent arriving threshold: item should not have been sampled".into(),
                ));
            }
        }
        let mut threshold = match &err {
            Some(e) => {
                tracing::debug!(error = %e, "logs sampler");
                self.fail_threshold()
            }
            None => self.decide(carrier.as_ref().map(|c| c as &dyn Carrier)),
        };
        // In logs the priority attribute is the record's own sampling percentage.
        if !self.priority_attribute.is_empty()
            && let Some(th) = self.log_priority(&rec.attributes)
        {
            threshold = th;
            rnd.source = Source::SamplingPriority;
        }
        let sampled = threshold.should_sample(rnd.value);
        if sampled && let Some(c) = carrier {
            match c.threshold {
                Some(old) if threshold < old => {
                    tracing::debug!("logs sampler: cannot raise existing sampling probability")
                }
                _ => put_str(&mut rec.attributes, LOG_THRESHOLD, threshold.tvalue()),
            }
        }
        Outcome {
            sampled,
            source: rnd.source,
        }
    }

    fn log_priority(&self, attrs: &[KeyValue]) -> Option<Threshold> {
        let min_prob = match attr(attrs, &self.priority_attribute).and_then(|v| v.value.as_ref()) {
            Some(Value::DoubleValue(d)) => d / 100.0,
            Some(Value::IntValue(i)) => *i as f64 / 100.0,
            _ => return None,
        };
        if min_prob == 0.0 {
            return None;
        }
        Threshold::from_probability_with_precision(min_prob, self.precision).ok()
    }

    fn log_randomness(&self, rec: &mut LogRecord) -> (Rnd, Option<LogCarrier>, Option<Error>) {
        let (carrier, parse_err) = LogCarrier::parse(&rec.attributes);
        match &self.kind {
            Kind::Never => (
                Rnd {
                    value: ALL_PROBABILITIES,
                    source: Source::SamplingPriority,
                },
                Some(carrier),
                parse_err,
            ),
            Kind::Hashing {
                seed,
                logs_trace_id,
                logs_attribute,
                ..
            } => {
                let mut rnd = Rnd::MISSING;
                if *logs_trace_id && !is_empty_id(&rec.trace_id) {
                    rnd = Rnd {
                        value: hash_randomness(&rec.trace_id, *seed),
                        source: Source::TraceIdHash,
                    };
                }
                if rnd.is_missing()
                    && !logs_attribute.is_empty()
                    && let Some(v) = attr(&rec.attributes, logs_attribute)
                {
                    let bytes: Vec<u8> = match &v.value {
                        Some(Value::BytesValue(b)) => b.clone(),
                        _ => crate::util::gofmt::value_as_string(Some(v)).into_bytes(),
                    };
                    if !bytes.is_empty() {
                        rnd = Rnd {
                            value: hash_randomness(&bytes, *seed),
                            source: Source::Attribute,
                        };
                    }
                }
                if let Some(e) = parse_err {
                    (rnd, None, Some(e))
                } else if carrier.randomness.is_some() {
                    (
                        rnd,
                        None,
                        Some(Error(
                            "item has sampling randomness, equalizing or proportional mode recommended"
                                .into(),
                        )),
                    )
                } else if carrier.threshold.is_some() {
                    (
                        rnd,
                        None,
                        Some(Error(
                            "item has sampling threshold, equalizing or proportional mode recommended"
                                .into(),
                        )),
                    )
                } else {
                    let mut carrier = carrier;
                    if !rnd.is_missing() {
                        carrier.randomness = Some(rnd.value);
                        put_str(&mut rec.attributes, LOG_RANDOMNESS, rnd.value.rvalue());
                    }
                    (rnd, Some(carrier), None)
                }
            }
            Kind::Equalizing { .. } | Kind::Proportional { .. } => {
                if let Some(e) = parse_err {
                    return (Rnd::MISSING, None, Some(e));
                }
                let rnd = if let Some(r) = carrier.randomness {
                    Rnd {
                        value: r,
                        source: Source::SamplingRandomness,
                    }
                } else if !is_empty_id(&rec.trace_id) {
                    Rnd {
                        value: Randomness::from_trace_id(&rec.trace_id),
                        source: Source::TraceIdW3c,
                    }
                } else {
                    Rnd::MISSING
                };
                (rnd, Some(carrier), None)
            }
        }
    }
}
