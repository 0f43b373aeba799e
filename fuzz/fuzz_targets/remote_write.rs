//! Metrics to Prometheus remote-write requests, snappy protobuf and back: equal, every
//! series in exactly one request, label sets well formed; arbitrary bytes into the decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promtranslate::fuzzing::remote_write_round_trip(data));
