//! The stanza parser chains (regex, json, key_value, csv, container) on arbitrary lines.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| stanza::fuzzing::parsers(data));
