//! The Prometheus text and OpenMetrics parsers and the scrape translation on arbitrary bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promscrape::fuzzing::exposition(data));
