//! The config loader and validator on arbitrary YAML: errors are fine, panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = config::load_from_str(text) {
        let _ = runtime::graph::parse(&components::registry(), cfg);
    }
});
