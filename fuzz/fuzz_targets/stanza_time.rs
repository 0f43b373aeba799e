//! Timestamp parsing: arbitrary layouts of every layout type, arbitrary values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| stanza::fuzzing::time(data));
