//! Fuzz bodies for the exposition parsers (run by `fuzz/fuzz_targets/prom_exposition.rs`
//! under libFuzzer, and on stable over seeded inputs by the test below): any bytes, in
//! both formats, through the parser and the whole translation of a scrape, must end in
//! entries or an error, never a panic.

use std::sync::Arc;
use std::time::Duration;

use crate::config::PromConfig;
use crate::expfmt::{Format, Parser};
use crate::scrape::{Body, Settings, TargetState};

/// Parses `data` in both formats, then translates it as one scrape of a target.
pub fn exposition(data: &[u8]) {
    for format in [Format::Text, Format::OpenMetrics] {
        if let Ok(mut p) = Parser::from_bytes(data, format) {
            let mut lazy = Parser::from_bytes(data, format)
                .expect("the same bytes")
                .lazy_labels();
            lazy_labels_change_nothing(&mut p, &mut lazy);
        }
        let mut st = state();
        let _ = st.process(
            Body::Ok { body: data, format },
            1_700_000_000_000,
            Duration::ZERO,
        );
        let _ = st.process(
            Body::Ok { body: b"", format },
            1_700_000_001_000,
            Duration::ZERO,
        );
    }
}

/// The lazy parser gives the entries of the eager one, with the same labels once asked for,
/// and fails at the same line with the same message (when its labels are asked for).
fn lazy_labels_change_nothing(eager: &mut Parser<'_>, lazy: &mut Parser<'_>) {
    use crate::expfmt::Entry;
    fn show(e: Entry<'_, '_>) -> Result<String, crate::expfmt::ParseError> {
        Ok(match e {
            Entry::Sample(s) => format!(
                "{:?}",
                (
                    s.series,
                    &s.name,
                    s.labels()?,
                    s.value.to_bits(),
                    s.timestamp_ms,
                    s.exemplar.map(|(v, t)| (v.to_bits(), t)),
                    &s.exemplar_labels,
                )
            ),
            other => format!("{other:?}"),
        })
    }
    loop {
        let want = eager.next_entry().and_then(|e| e.map(show).transpose());
        let got = lazy.next_entry().and_then(|e| e.map(show).transpose());
        let (got, want) = (
            got.map_err(|e| e.to_string()),
            want.map_err(|e| e.to_string()),
        );
        assert_eq!(got, want, "lazy and eager label parsing");
        if !matches!(want, Ok(Some(_))) {
            return;
        }
    }
}

fn state() -> TargetState {
    let yaml =
        "scrape_configs:\n- job_name: fuzz\n  static_configs:\n  - targets: ['127.0.0.1:1']\n";
    // A fixed config that parses (checked by the tests).
    let c = PromConfig::from_yaml(&serde_yaml_ng::from_str(yaml).expect("fixed yaml"))
        .expect("fixed config");
    let sc = Arc::new(c.scrape_configs[0].clone());
    let t = crate::target::populate(&sc.static_configs[0], "127.0.0.1:1", &sc)
        .expect("fixed target")
        .expect("kept");
    TargetState::new(
        sc,
        t,
        Arc::new(Settings {
            external_labels: Default::default(),
            scope_version: String::new(),
            adjust_start_times: true,
            trim_suffixes: false,
            extra_scrape_metrics: true,
        }),
    )
}

#[cfg(test)]
mod tests {
    /// A small xorshift so the test needs no RNG crate and is reproducible.
    fn next(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let seeds: &[&[u8]] = &[
            b"# HELP a x\\ny\n# TYPE a counter\na_total{b=\"c\\\"d\"} 1 2 # {e=\"f\"} 3 4\na_created 5\n# EOF\n",
            b"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
            b"# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum Inf\ns_count -1\ntarget_info{x=\"y\"} 1\n{\"a.b\",\"c\"=\"d\"} 1\n",
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for seed in seeds {
            super::exposition(seed);
            for _ in 0..300 {
                let mut d = seed.to_vec();
                for _ in 0..(next(&mut rng) % 6 + 1) {
                    let i = (next(&mut rng) as usize) % d.len();
                    match next(&mut rng) % 3 {
                        0 => d[i] = next(&mut rng) as u8,
                        1 => {
                            d.remove(i);
                        }
                        _ => d.insert(i, b"{}\"\\#\n =,"[(next(&mut rng) % 9) as usize]),
                    }
                    if d.is_empty() {
                        d.push(b'a');
                    }
                }
                super::exposition(&d);
            }
        }
    }
}
