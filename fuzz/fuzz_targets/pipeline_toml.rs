//! Pipeline files: TOML parsing and validation of any text. Problems are
//! errors with lines; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = etl::pipeline::LoadOptions::default();
    let _ = etl::pipeline::parse_text(text, std::path::Path::new("fuzz.toml"), &opts);
});
