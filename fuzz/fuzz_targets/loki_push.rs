//! Log records to Loki push requests, snappy protobuf and back: equal, every record
//! accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| components::exporters::loki::fuzzing::push_round_trip(data));
