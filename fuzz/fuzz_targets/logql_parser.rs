//! LogQL queries parsed from arbitrary text and, when they parse, evaluated over a tiny
//! in-memory source.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logql::fuzzing::parse(data));
