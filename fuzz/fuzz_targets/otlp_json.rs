//! OTLP/JSON export requests for every signal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| components::receivers::otlp::fuzzing::otlp_json(data));
