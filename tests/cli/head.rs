//! `etl head`: the first rows, as a table or in a format.

use crate::common::*;

#[test]
fn shows_the_first_rows_as_a_table() {
    let r = ok(&[
        "head",
        fixture("formats/people.snappy.parquet").to_str().unwrap(),
        "-n",
        "2",
    ]);
    assert!(
        r.stdout.contains("plain") && r.stdout.contains("Smith, John"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("O\"Brien"),
        "only two rows: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("i64") && r.stdout.contains("date"),
        "types in the header: {}",
        r.stdout
    );
}

#[test]
fn head_in_a_format() {
    let r = ok(&[
        "head",
        fixture("formats/people.xlsx").to_str().unwrap(),
        "-n",
        "1",
        "--to",
        "ndjson",
    ]);
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(
        r.stdout.starts_with("{\"id\":1,\"name\":\"plain\""),
        "{}",
        r.stdout
    );
}

#[test]
fn head_reads_only_what_it_needs() {
    // A CSV whose row 5 is broken: the first 3 rows still show.
    let dir = tempdir();
    let f = dir.path().join("x.ndjson");
    std::fs::write(&f, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n").unwrap();
    let r = ok(&["head", f.to_str().unwrap(), "-n", "2", "--to", "csv"]);
    assert_eq!(r.stdout, "a\n1\n2\n");
}

#[test]
fn head_of_a_csv_checks_only_the_rows_it_shows() {
    // Row 4 is ragged: head -n 2 never reaches it, a full read fails on it.
    let dir = tempdir();
    let f = csv_in(dir.path(), "r.csv", "a,b\n1,2\n3,4\n5\n6,7\n");
    let r = ok(&["head", &f, "-n", "2", "--to", "csv"]);
    assert_eq!(r.stdout, "a,b\n1,2\n3,4\n");
    let r = fails(&["ingest", &f, "--to", "csv"], 1);
    assert!(
        r.stderr.contains("line 4: 1 fields, expected 2"),
        "{}",
        r.stderr
    );
}
