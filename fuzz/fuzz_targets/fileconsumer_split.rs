//! Cutting arbitrary file bytes into tokens (newline, multiline patterns, encodings,
//! max_log_size, force flush).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fileconsumer::fuzzing::split(data));
