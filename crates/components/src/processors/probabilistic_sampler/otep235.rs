//! OpenTelemetry consistent probability sampling (OTEP 235, the spec's "tracestate probability
//! sampling"), as contrib's `pkg/sampling` implements it: 56-bit thresholds (`th`) and
//! randomness values (`rv`), their hex encodings, the probability conversions with a chosen
//! precision, and the W3C `tracestate` header with its `ot=` section.

use std::fmt::Write as _;

/// 2^56: the number of randomness values, one more than the largest.
pub const MAX_ADJUSTED_COUNT: u64 = 1 << 56;
/// Hex digits of a 56-bit value.
pub const NUM_HEX_DIGITS: usize = 14;
/// The smallest probability a threshold can express.
pub const MIN_SAMPLING_PROBABILITY: f64 = 1.0 / MAX_ADJUSTED_COUNT as f64;

/// A rejection threshold in [0, 2^56]: an item is sampled when its randomness is >= it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Threshold(pub u64);

/// 56 bits of randomness, from the trace id or an explicit `rv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Randomness(pub u64);

pub const ALWAYS_SAMPLE: Threshold = Threshold(0);
pub const NEVER_SAMPLE: Threshold = Threshold(MAX_ADJUSTED_COUNT);
/// Sampled at every probability (what a missing randomness stands for).
pub const ALL_PROBABILITIES: Randomness = Randomness(MAX_ADJUSTED_COUNT - 1);

/// Why a threshold, randomness or tracestate could not be used (Go's error texts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl Error {
    fn new(s: &str) -> Self {
        Error(s.to_string())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Go's `strconv.ParseUint(s, 16, 64)`: hex digits of either case, nothing else.
fn parse_hex(s: &str) -> Result<u64, Error> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error(format!(
            "strconv.ParseUint: parsing {s:?}: invalid syntax"
        )));
    }
    u64::from_str_radix(s, 16).map_err(|_| {
        Error(format!(
            "strconv.ParseUint: parsing {s:?}: value out of range"
        ))
    })
}

/// 14 hex digits with leading zeros (`RValue`); `None` when out of range.
fn hex14(v: u64) -> Option<String> {
    (v < MAX_ADJUSTED_COUNT).then(|| format!("{v:014x}"))
}

impl Threshold {
    /// `TValueToThreshold`: 1..14 hex digits, trailing zeros implied.
    pub fn from_tvalue(s: &str) -> Result<Threshold, Error> {
        if s.len() > NUM_HEX_DIGITS {
            return Err(Error::new("t-value exceeds 14 hex digits"));
        }
        if s.is_empty() {
            return Err(Error::new("t-value is empty"));
        }
        let v = parse_hex(s)?;
        Ok(Threshold(v << (4 * (NUM_HEX_DIGITS - s.len()))))
    }

    /// `TValue`: "0" for always-sample, "" for never-sample, else the 14 digits without
    /// trailing zeros.
    pub fn tvalue(self) -> String {
        if self == ALWAYS_SAMPLE {
            return "0".to_string();
        }
        match hex14(self.0) {
            Some(s) => s.trim_end_matches('0').to_string(),
            None => String::new(),
        }
    }

    pub fn should_sample(self, rnd: Randomness) -> bool {
        rnd.0 >= self.0
    }

    pub fn probability(self) -> f64 {
        (MAX_ADJUSTED_COUNT - self.0) as f64 / MAX_ADJUSTED_COUNT as f64
    }

    /// `ProbabilityToThreshold`: full precision.
    pub fn from_probability(prob: f64) -> Result<Threshold, Error> {
        Threshold::from_probability_with_precision(prob, NUM_HEX_DIGITS as u32)
    }

    /// `ProbabilityToThresholdWithPrecision`: `precision` significant hex digits (0 = all
    /// 14), plus one for every leading `0` or `f` the threshold has (so 1% and 99.99% keep
    /// their meaning), rounded to nearest.
    pub fn from_probability_with_precision(prob: f64, precision: u32) -> Result<Threshold, Error> {
        let mut precision = if precision == 0 {
            NUM_HEX_DIGITS as i32
        } else {
            precision as i32
        };
        if !in_range(prob) {
            return Err(probability_range());
        }
        if prob == 1.0 {
            return Ok(ALWAYS_SAMPLE);
        }
        // Go divides the binary exponents by -4, truncating toward zero.
        let exp_f = frexp_exponent(prob);
        let exp_r = frexp_exponent(1.0 - prob);
        precision =
            (NUM_HEX_DIGITS as i32).min((precision + exp_f / -4).max(precision + exp_r / -4));
        let scaled = (prob * MAX_ADJUSTED_COUNT as f64).round() as u64;
        let mut threshold = MAX_ADJUSTED_COUNT - scaled;
        let shift = 4 * (NUM_HEX_DIGITS as i32 - precision);
        if shift > 0 {
            let half = 1u64 << (shift - 1);
            threshold = ((threshold + half) >> shift) << shift;
        }
        Ok(Threshold(threshold))
    }
}

/// The exponent of Go's `math.Frexp` (x = frac × 2^exp with frac in [0.5, 1)) for a positive
/// normal `x`, as every probability here is (>= 2^-56).
fn frexp_exponent(x: f64) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1022
}

fn in_range(prob: f64) -> bool {
    (MIN_SAMPLING_PROBABILITY..=1.0).contains(&prob)
}

/// Go's `ErrProbabilityRange`.
pub fn probability_range() -> Error {
    Error::new("sampling probability out of the range [1/MaxAdjustedCount, 1]")
}

impl Randomness {
    /// `RValueToRandomness`: exactly 14 hex digits.
    pub fn from_rvalue(s: &str) -> Result<Randomness, Error> {
        if s.len() != NUM_HEX_DIGITS {
            return Err(Error::new("r-value must have 14 hex digits"));
        }
        parse_hex(s).map(Randomness)
    }

    /// `RValue`: 14 hex digits.
    pub fn rvalue(self) -> String {
        hex14(self.0).unwrap_or_default()
    }

    /// `TraceIDToRandomness`: the trace id's last 7 bytes, big-endian.
    pub fn from_trace_id(id: &[u8]) -> Randomness {
        let mut v = 0u64;
        for &b in id.iter().skip(id.len().saturating_sub(7)) {
            v = (v << 8) | b as u64;
        }
        Randomness(v)
    }
}

/// The `ot` section of the tracestate (`rv:...;th:...;other:...`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OtelTraceState {
    /// The `rv` text as it arrived (empty when set here), with its value.
    pub rvalue: Option<(String, Randomness)>,
    /// The `th` text as it arrived (or was set), with its value.
    pub tvalue: Option<(String, Threshold)>,
    pub extra: Vec<(String, String)>,
}

impl OtelTraceState {
    fn parse(input: &str) -> (OtelTraceState, Vec<Error>) {
        let mut ots = OtelTraceState::default();
        let mut errors = Vec::new();
        if input.len() > 256 {
            errors.push(Error::new("invalid tracestate size"));
            return (ots, errors);
        }
        if !valid_otel_tracestate(input) {
            errors.push(Error::new("invalid syntax"));
            return (ots, errors);
        }
        for member in input.split(';') {
            let Some((k, v)) = member.split_once(':') else {
                continue;
            };
            match k {
                "rv" => match Randomness::from_rvalue(v) {
                    Ok(r) => ots.rvalue = Some((v.to_string(), r)),
                    Err(e) => {
                        ots.rvalue = None;
                        errors.push(e);
                    }
                },
                "th" => match Threshold::from_tvalue(v) {
                    Ok(t) => ots.tvalue = Some((v.to_string(), t)),
                    Err(e) => {
                        ots.tvalue = None;
                        errors.push(e);
                    }
                },
                _ => ots.extra.push((k.to_string(), v.to_string())),
            }
        }
        (ots, errors)
    }

    fn has_any_value(&self) -> bool {
        self.rvalue.is_some() || self.tvalue.is_some() || !self.extra.is_empty()
    }

    pub fn randomness(&self) -> Option<Randomness> {
        self.rvalue.as_ref().map(|(_, r)| *r)
    }

    pub fn threshold(&self) -> Option<Threshold> {
        self.tvalue.as_ref().map(|(_, t)| *t)
    }

    /// The text is made only if the tracestate is written (most items are not sampled).
    pub fn set_randomness(&mut self, r: Randomness) {
        self.rvalue = Some((String::new(), r));
    }

    pub fn clear_threshold(&mut self) {
        self.tvalue = None;
    }

    /// `UpdateTValueWithSampling`: a threshold may only rise (probability only fall); a
    /// never-sample threshold removes `th`.
    pub fn update_threshold(&mut self, th: Threshold) -> Result<(), Error> {
        if let Some((_, old)) = &self.tvalue
            && old.0 > th.0
        {
            return Err(Error::new("cannot raise existing sampling probability"));
        }
        let tv = th.tvalue();
        self.tvalue = (!tv.is_empty()).then_some((tv, th));
        Ok(())
    }

    fn serialize(&self, out: &mut String) {
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(';');
            }
            first = false;
        };
        if let Some((rv, r)) = &self.rvalue {
            sep(out);
            out.push_str("rv:");
            if rv.is_empty() {
                let _ = write!(out, "{:014x}", r.0);
            } else {
                out.push_str(rv);
            }
        }
        if let Some((tv, _)) = &self.tvalue {
            sep(out);
            out.push_str("th:");
            out.push_str(tv);
        }
        for (k, v) in &self.extra {
            sep(out);
            let _ = write!(out, "{k}:{v}");
        }
    }
}

/// A parsed W3C `tracestate`: the `ot` section and the other vendors' members in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct W3cTraceState {
    pub otel: OtelTraceState,
    pub others: Vec<(String, String)>,
}

impl W3cTraceState {
    /// `NewW3CTraceState`. The errors are Go's; as in Go, what was parsed before an error
    /// is kept, but callers treat any error as "unusable".
    pub fn parse(input: &str) -> Result<W3cTraceState, Error> {
        let mut ts = W3cTraceState::default();
        if input.is_empty() {
            return Ok(ts);
        }
        if input.len() > 1024 {
            return Err(Error::new("invalid tracestate size"));
        }
        if !valid_w3c_tracestate(input) {
            return Err(Error::new("invalid syntax"));
        }
        let mut errors = Vec::new();
        for (items, member) in input.split(',').enumerate() {
            // Go counts every list member, empty ones too, and refuses the 32nd.
            if items + 1 >= 32 {
                return Err(Error::new("invalid tracestate item count"));
            }
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let Some((k, v)) = member.split_once('=') else {
                continue;
            };
            if k.len() > 256 {
                errors.push(Error::new("invalid tracestate size"));
                continue;
            }
            if let Some((tenant, system)) = k.split_once('@')
                && (tenant.len() > 241 || system.len() > 14)
            {
                errors.push(Error::new("invalid tracestate size"));
                continue;
            }
            if k == "ot" {
                let (otel, errs) = OtelTraceState::parse(v);
                ts.otel = otel;
                errors.extend(errs);
            } else {
                ts.others.push((k.to_string(), v.to_string()));
            }
        }
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(ts),
        }
    }

    /// `Serialize`: the `ot` member first (when it has anything), then the others.
    pub fn serialize(&self) -> String {
        let mut out = String::new();
        if self.otel.has_any_value() {
            out.push_str("ot=");
            self.otel.serialize(&mut out);
        }
        for (k, v) in &self.others {
            if !out.is_empty() {
                out.push(',');
            }
            let _ = write!(out, "{k}={v}");
        }
        out
    }
}

fn is_lc_alpha(c: u8) -> bool {
    c.is_ascii_lowercase()
}

fn is_lc_alnum(c: u8) -> bool {
    is_lc_alpha(c) || c.is_ascii_digit()
}

fn valid_key_chars(s: &[u8]) -> bool {
    s.iter()
        .all(|&c| is_lc_alnum(c) || matches!(c, b'_' | b'-' | b'*' | b'/'))
}

fn valid_w3c_key(key: &str) -> bool {
    let b = key.as_bytes();
    if b.is_empty() {
        return false;
    }
    if let Some(at) = key.find('@') {
        let (tenant, system) = (&b[..at], &b[at + 1..]);
        return !tenant.is_empty()
            && !system.is_empty()
            && is_lc_alnum(tenant[0])
            && is_lc_alpha(system[0])
            && valid_key_chars(&tenant[1..])
            && valid_key_chars(&system[1..]);
    }
    is_lc_alpha(b[0]) && valid_key_chars(&b[1..])
}

fn nonblank_value_char(c: u8) -> bool {
    matches!(c, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e)
}

fn valid_w3c_value(v: &str) -> bool {
    let b = v.as_bytes();
    match b.split_last() {
        Some((&last, rest)) if b.len() <= 256 => {
            nonblank_value_char(last) && rest.iter().all(|&c| c == b' ' || nonblank_value_char(c))
        }
        _ => false,
    }
}

fn valid_w3c_tracestate(input: &str) -> bool {
    input.split(',').all(|member| {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            return true;
        }
        match member.find('=') {
            Some(eq) if eq >= 1 => {
                valid_w3c_key(&member[..eq]) && valid_w3c_value(&member[eq + 1..])
            }
            _ => false,
        }
    })
}

fn valid_otel_tracestate(input: &str) -> bool {
    if input.is_empty() || input.ends_with(';') {
        return false;
    }
    input.split(';').all(|member| {
        let Some(colon) = member.find(':') else {
            return false;
        };
        let (k, v) = (&member.as_bytes()[..colon], &member.as_bytes()[colon + 1..]);
        !k.is_empty()
            && is_lc_alpha(k[0])
            && k[1..].iter().all(|&c| is_lc_alnum(c))
            && v.iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    })
}
