//! Format sniffing: magic bytes and the text format of a document's start,
//! then the whole detection on a file with a few names.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = etl::format::sniff::magic(data);
    let _ = etl::format::sniff::text_format(data);
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["x.csv", "x.json", "x.parquet", "x.csv.gz", "noext"] {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        let _ = etl::format::sniff::detect(&path, None);
    }
});
