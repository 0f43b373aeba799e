//! Stanza expressions (`if`, `expr`, `EXPR(...)`): compiled from arbitrary text, evaluated on an entry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| stanza::fuzzing::expr(data));
