//! The CSV scanner: any bytes, any dialect, any chunking. It must never
//! panic, and feeding the same bytes in other chunk sizes must give the same
//! records, the same problem and the same rewritten output.
#![no_main]

use etl::format::csv_scan::{Dialect, ScanProblem, Scanner};
use libfuzzer_sys::fuzz_target;

fn run(
    data: &[u8],
    d: &Dialect,
    collect: bool,
    chunk: usize,
) -> (Result<u64, ScanProblem>, Vec<u8>, u64) {
    let mut s = Scanner::new(d.clone(), collect);
    let mut out = Vec::new();
    let mut on_record = |_: u64, _: &[Vec<u8>]| true;
    for piece in data.chunks(chunk.max(1)) {
        if let Err(p) = s.feed(piece, Some(&mut out), &mut on_record) {
            return (Err(p), out, s.blank_lines());
        }
    }
    let r = s.finish(&mut on_record);
    (r, out, s.blank_lines())
}

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else {
        return;
    };
    let d = Dialect {
        delimiter: [b',', b';', b'\t', b'|'][usize::from(knobs & 3)],
        quote: (knobs & 4 == 0).then_some(b'"'),
        escape: (knobs & 8 != 0).then_some(b'\\'),
        comment: (knobs & 16 != 0).then_some(b'#'),
    };
    let collect = knobs & 32 != 0;
    let whole = run(data, &d, collect, data.len());
    for chunk in [1, 7, 64] {
        let split = run(data, &d, collect, chunk);
        // Each chunk is checked for NUL and UTF-8 before it is scanned, so
        // which problem is named first may depend on chunking: only whether
        // there is one must agree.
        assert_eq!(
            whole.0.is_ok(),
            split.0.is_ok(),
            "chunks of {chunk}: {:?} vs {:?}",
            whole.0,
            split.0
        );
        if whole.0.is_ok() {
            assert_eq!(whole.0, split.0, "records differ with chunks of {chunk}");
            assert_eq!(
                whole.1, split.1,
                "rewritten output differs with chunks of {chunk}"
            );
            assert_eq!(
                whole.2, split.2,
                "blank lines differ with chunks of {chunk}"
            );
        }
    }
});
