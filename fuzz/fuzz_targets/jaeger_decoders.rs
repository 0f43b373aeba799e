#![no_main]
//! The Jaeger decoders (Thrift batch and agent message in the binary and compact protocols,
//! the api_v2 PostSpans protobuf) and their translation to OTLP; the body is
//! `jaeger::fuzzing::decoders`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jaeger::fuzzing::decoders(data);
});
