//! OTLP/HTTP body decompression with a small cap: first byte picks the encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| components::receivers::otlp::fuzzing::http_decompress(data));
