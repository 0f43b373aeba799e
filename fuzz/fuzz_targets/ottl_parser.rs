//! OTTL statements, conditions and value expressions: parsed from arbitrary text for the log
//! and span contexts, and run on a small item when they parse.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ottl::fuzzing::parse(data));
