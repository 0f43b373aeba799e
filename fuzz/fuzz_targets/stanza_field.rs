//! Stanza field syntax (`body.a`, `attributes["x.y"]`): parsed, printed back, used on an entry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| stanza::fuzzing::field(data));
