//! `probabilistic_sampler` settings: the Go processor's keys, defaults and validation messages
//! (`config.go`, `factory.go` `createDefaultConfig`).

use runtime::ComponentConfig;
use serde::Deserialize;

use super::otep235::{MIN_SAMPLING_PROBABILITY, NUM_HEX_DIGITS};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Percentage of items kept; >= 100 keeps all, 0 drops all. A float32 in Go: the
    /// hash_seed arithmetic depends on that precision.
    pub sampling_percentage: f32,
    pub hash_seed: u32,
    /// `hash_seed`, `proportional`, `equalizing` or empty (chosen at start, see
    /// [`Config::effective_mode`]).
    pub mode: String,
    /// Items whose randomness or tracestate cannot be used are dropped (true) or kept.
    pub fail_closed: bool,
    /// Hex digits of the threshold written into `th` (1..=14).
    pub sampling_precision: i32,
    /// Logs: `traceID` or `record`.
    pub attribute_source: String,
    /// Logs: the record attribute hashed when the trace id is absent or not used.
    pub from_attribute: String,
    /// Logs: a record attribute holding the record's own sampling percentage.
    pub sampling_priority: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sampling_percentage: 0.0,
            hash_seed: 0,
            mode: String::new(),
            fail_closed: true,
            sampling_precision: 4,
            attribute_source: TRACE_ID_SOURCE.to_string(),
            from_attribute: String::new(),
            sampling_priority: String::new(),
        }
    }
}

pub const TRACE_ID_SOURCE: &str = "traceID";
pub const RECORD_SOURCE: &str = "record";

/// The sampler modes of `sampler_mode.go`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    HashSeed,
    Equalizing,
    Proportional,
}

impl Config {
    /// Go's `makeSampler`: an unset mode is `hash_seed` (its `defaultMode`; the reasons the
    /// code gives, a hash seed or logs not sampled by trace id, lead there too).
    pub fn effective_mode(&self) -> Mode {
        match self.mode.as_str() {
            "equalizing" => Mode::Equalizing,
            "proportional" => Mode::Proportional,
            _ => Mode::HashSeed,
        }
    }
}

/// Go's `%g` of a float32 in exponent form (`1e-15`, `1.5e-07`): two exponent digits at least.
fn go_g_exponent(v: f32) -> String {
    let s = format!("{v:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        match self.mode.as_str() {
            "" | "hash_seed" | "equalizing" | "proportional" => {}
            other => return Err(format!("mode: unsupported sampler mode {other:?}")),
        }
        let pct = self.sampling_percentage as f64;
        if !pct.is_finite() {
            let shown = if pct.is_nan() {
                "NaN".to_string()
            } else if pct > 0.0 {
                "+Inf".to_string()
            } else {
                "-Inf".to_string()
            };
            return Err(format!("sampling rate is invalid: {shown}%"));
        }
        let ratio = pct / 100.0;
        if ratio < 0.0 {
            return Err(format!(
                "sampling rate is negative: {:.6}%",
                self.sampling_percentage
            ));
        }
        if ratio > 0.0 && ratio < MIN_SAMPLING_PROBABILITY {
            return Err(format!(
                "sampling rate is too small: {}%",
                go_g_exponent(self.sampling_percentage)
            ));
        }
        if !self.attribute_source.is_empty()
            && self.attribute_source != TRACE_ID_SOURCE
            && self.attribute_source != RECORD_SOURCE
        {
            return Err(format!(
                "invalid attribute source: {}. Expected: {TRACE_ID_SOURCE} or {RECORD_SOURCE}",
                self.attribute_source
            ));
        }
        // Go accepts a negative precision here and misbehaves later; refusing it is kinder.
        if self.sampling_precision <= 0 {
            return Err(format!(
                "invalid sampling precision: {}",
                self.sampling_precision
            ));
        }
        if self.sampling_precision > NUM_HEX_DIGITS as i32 {
            return Err(format!(
                "sampling precision is too great, should be <= 14: {}",
                self.sampling_precision
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::go_g_exponent;

    #[test]
    fn go_g_exponent_pads_the_exponent_as_go_does() {
        assert_eq!(go_g_exponent(1e-15), "1e-15");
        assert_eq!(go_g_exponent(1.5e-7), "1.5e-07");
    }
}
