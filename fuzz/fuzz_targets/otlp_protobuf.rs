//! OTLP protobuf export requests: walker validation and counting, prost decoding, splitting.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| components::receivers::otlp::fuzzing::otlp_protobuf(data));
