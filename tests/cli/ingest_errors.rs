//! `etl ingest` on bad input: one clear line, the right exit code, and
//! nothing left behind.

use crate::common::*;

/// Each malformed fixture: the words its error must contain.
const BAD: &[(&str, &[&str])] = &[
    (
        "bad_footer.parquet",
        &["bad_footer.parquet", "not a readable Parquet file"],
    ),
    ("truncated.parquet", &["truncated.parquet", "Parquet"]),
    (
        "truncated.orc",
        &["truncated.orc", "not a readable ORC file"],
    ),
    ("bad_sync.avro", &["bad_sync.avro", "Avro"]),
    ("truncated.avro", &["truncated.avro", "Avro"]),
    (
        "ragged.csv",
        &["ragged.csv", "line 4", "4 fields, expected 3"],
    ),
    ("binary.csv", &["binary.csv", "NUL byte", "binary data"]),
    (
        "bad_utf8.csv",
        &[
            "bad_utf8.csv",
            "line 3",
            "'name'",
            "not valid UTF-8",
            "--encoding",
        ],
    ),
    (
        "unterminated_quote.csv",
        &["unterminated_quote.csv", "line 3", "never closed"],
    ),
    ("empty.csv", &["empty.csv", "empty"]),
    ("not_excel.xlsx", &["not_excel.xlsx", "not an Excel file"]),
    ("truncated.arrow", &["truncated.arrow", "Arrow IPC"]),
];

#[test]
fn malformed_inputs_fail_with_a_clear_line_and_no_output() {
    let dir = tempdir();
    for (file, words) in BAD {
        let out = dir.path().join(format!("{file}.parquet"));
        let r = fails(
            &[
                "ingest",
                fixture(&format!("bad/{file}")).to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            1,
        );
        for w in *words {
            assert!(
                r.stderr.contains(w),
                "{file}: '{w}' missing from: {}",
                r.stderr
            );
        }
        assert!(!r.stderr.contains("panicked"), "{file}: {}", r.stderr);
        assert!(!out.exists(), "{file}: output left behind");
    }
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn a_value_that_does_not_fit_names_line_and_column() {
    let f = fixture("bad/type_error.csv");
    for extra in [["--infer-rows", "3"], ["--schema", "qty:int"]] {
        let r = fails(
            &[
                "ingest",
                f.to_str().unwrap(),
                extra[0],
                extra[1],
                "--to",
                "csv",
            ],
            1,
        );
        assert!(
            r.stderr
                .contains("type_error.csv: line 5, column 'qty': '12x' is not a valid i64"),
            "{}",
            r.stderr
        );
    }
    // Inferring over every row keeps the column as text instead of failing.
    let r = ok(&["ingest", f.to_str().unwrap(), "--to", "csv"]);
    assert!(r.stdout.contains("4,12x"), "{}", r.stdout);
}

#[test]
fn header_only_csv_is_an_empty_table() {
    let r = ok(&[
        "ingest",
        fixture("bad/header_only.csv").to_str().unwrap(),
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "id,name,score\n");
}

#[test]
fn missing_input_is_an_io_error() {
    let r = fails(&["ingest", "/no/such/dir/sales.csv", "--to", "csv"], 3);
    assert!(
        r.stderr
            .contains("/no/such/dir/sales.csv: No such file or directory"),
        "{}",
        r.stderr
    );
    let r = fails(&["ingest", "/no/such/*.csv", "--to", "csv"], 3);
    assert!(r.stderr.contains("no files match"), "{}", r.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let people = fixture("formats/people.csv");
    let p = people.to_str().unwrap();
    // Closed sets are checked (and completed) by the argument parser, which
    // lists the choices.
    let r = run(&["ingest", p, "--to", "xml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("invalid value 'xml' for '--to <FORMAT>'")
            && r.stderr.contains("possible values: csv, tsv, parquet"),
        "{}",
        r.stderr
    );
    let r = fails(&["ingest", p, "-o", "/tmp/out.unknownext"], 2);
    assert!(
        r.stderr.contains("cannot tell the output format"),
        "{}",
        r.stderr
    );
    let r = fails(&["ingest", p, "--from", "parquet", "--to", "csv"], 1);
    assert!(r.stderr.contains("not a Parquet file"), "{}", r.stderr);
    let r = fails(&["ingest", p, "--delimiter", "ab", "--to", "csv"], 2);
    assert!(
        r.stderr.contains("--delimiter takes one ASCII character"),
        "{}",
        r.stderr
    );
    let r = fails(&["ingest", p, "--schema", "id:integer64", "--to", "csv"], 2);
    assert!(
        r.stderr.contains("unknown column type 'integer64'"),
        "{}",
        r.stderr
    );
    let r = fails(&["ingest", p, "--encoding", "klingon", "--to", "csv"], 2);
    assert!(
        r.stderr.contains("unknown --encoding 'klingon'"),
        "{}",
        r.stderr
    );
    let r = run(&["ingest", p, "--no-such-flag"]);
    assert_eq!(r.code, 2);
    // (file stores and databases are read now: see remote.rs and ingest_db.rs)
    let r = fails(&["ingest", "postgres://localhost/db", "--to", "csv"], 2);
    assert!(
        r.stderr.contains("needs --query SQL or --table NAME"),
        "{}",
        r.stderr
    );
    let r = fails(&["ingest", p, "-o", "postgres://localhost/db"], 2);
    assert!(
        r.stderr
            .contains("load a database with `etl persist postgres://"),
        "{}",
        r.stderr
    );
}

#[test]
fn interrupted_write_leaves_nothing_behind() {
    use std::io::Write;
    let dir = tempdir();
    let big = dir.path().join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    writeln!(w, "id,name,amount,day").unwrap();
    for i in 0..1_500_000u32 {
        writeln!(
            w,
            "{i},name-{},{}.{:02},2024-01-{:02}",
            i % 977,
            i % 10_000,
            i % 100,
            i % 28 + 1
        )
        .unwrap();
    }
    drop(w);
    let out = dir.path().join("out.orc");
    let mut child = etl()
        .args(["ingest", big.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    if status.success() {
        // The machine was fast enough to finish first: the output must be whole.
        assert_eq!(as_csv(&out, &[]).lines().count(), 1_500_001);
    } else {
        assert_eq!(status.code(), Some(130));
        assert!(!out.exists(), "a partial output was left");
    }
    assert!(
        leftovers(dir.path()).is_empty(),
        "temporary files left: {:?}",
        leftovers(dir.path())
    );
}
