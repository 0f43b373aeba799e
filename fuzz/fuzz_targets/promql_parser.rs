//! PromQL queries parsed from arbitrary text and, when they parse, evaluated as instant and
//! range queries over a tiny in-memory data source.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promql::fuzzing::parse_and_eval(data));
