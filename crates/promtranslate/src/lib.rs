//! OTLP metrics to Prometheus, as the Go collector's `pkg/translator/prometheus` (now
//! `prometheus/otlptranslator`) and `pkg/translator/prometheusremotewrite` do it.
//!
//! This crate owns the Prometheus side of the metrics path: metric and label names
//! ([`naming`]), the label set of a data point ([`labels`]), remote-write 1.0 requests
//! (protobuf types in [`prompb`], conversion and size-bounded batching in [`remotewrite`],
//! exponential histograms as native histograms in [`native`]), and what the pull exporter
//! serves: delta-to-cumulative accumulation with expiry ([`accumulator`]) and the text
//! exposition formats, Prometheus 0.0.4 and OpenMetrics 1.0 ([`exposition`]).
//! The `prometheus` and `prometheus_remote_write` exporters are thin adapters over it.

pub mod accumulator;
pub mod build;
pub mod clientmodel;
pub mod exposition;
pub mod fuzzing;
pub mod labels;
pub mod naming;
pub mod native;
pub mod prompb;
pub mod remotewrite;

/// Prometheus's staleness marker: the NaN a series gets when it stops (`value.StaleNaN`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale NaN as a float.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// OTLP's data point flag "no recorded value" (the series ended).
pub const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// `strconv.FormatFloat(f, 'g', -1, 64)`, the text Prometheus uses for sample values and
/// `le`/`quantile` labels: shortest round-trip digits, exponent form when the decimal
/// exponent is below -4 or at least 6 (`1e+06`, `1e-05`, `123456`).
pub fn format_float(f: f64) -> String {
    let mut s = String::new();
    push_float(&mut s, f);
    s
}

/// Appends [`format_float`]'s text to `out`.
pub fn push_float(out: &mut String, f: f64) {
    use std::fmt::Write;
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits as `d.ddde±x`.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f < 0.0 {
        out.push('-');
    }
    // strconv's 'g' with precision -1 uses %e when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        out.push_str(mant);
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.abs());
    } else {
        let _ = write!(out, "{}", f.abs());
    }
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent (the
/// remote-write translator's `le` labels).
pub fn format_float_f(f: f64) -> String {
    if f.is_finite() {
        // Rust's `Display` for f64 is exactly that.
        format!("{f}")
    } else {
        format_float(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_formatted_as_strconv_g() {
        for (f, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1e21, "1e+21"),
            (999999.0, "999999"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (1.5e300, "1.5e+300"),
        ] {
            assert_eq!(format_float(f), want, "{f}");
        }
    }
}
