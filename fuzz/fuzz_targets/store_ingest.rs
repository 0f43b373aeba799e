//! The embedded store's ingest decoders (remote write, Loki push, OTLP) and its block page
//! decoders on arbitrary bytes; what decodes is stored and read back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| store::fuzzing::ingest(data));
