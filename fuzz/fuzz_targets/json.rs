//! JSON arrays and NDJSON through etl's readers (the rewrite into lines
//! with its nesting check, then polars): errors are fine, panics and
//! runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("x.json");
    std::fs::write(&path, data).expect("write");
    if let Ok((lf, _temp, _)) =
        etl::format::json::read_array(&path, etl::format::Codec::None, None, None, None)
    {
        let _ = lf.collect();
    }
    if let Ok(lf) = etl::format::json::scan_lines(&path, None, None) {
        let _ = lf.collect();
    }
});
