//! TraceQL queries: parsed from arbitrary text and, when they parse, evaluated on two small
//! spans.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| traceql::fuzzing::parse(data));
