//! Zipkin v1 JSON and Thrift, v2 JSON and v2 protobuf decoders (the zipkin receiver's input), and the
//! re-encoding of what decodes. Body in `zipkin::fuzzing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zipkin::fuzzing::decoders(data);
});
