//! `incremental` keeps one row per key from the new rows, the last one, in
//! SQLite and the warehouse as in PostgreSQL; SQLite table names.

use crate::common::*;

fn sorted_csv(args: &[&str]) -> Vec<String> {
    let r = ok(args);
    let mut rows: Vec<String> = r.stdout.lines().skip(1).map(str::to_string).collect();
    rows.sort();
    rows
}

#[test]
fn sqlite_incremental_keeps_the_last_row_of_a_key() {
    let dir = tempdir();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let first = csv_in(dir.path(), "a.csv", "id,v\n1,a\n2,b\n");
    let second = csv_in(dir.path(), "b.csv", "id,v\n2,old\n3,c\n2,new\n3,d\n");
    for input in [&first, &second] {
        ok(&[
            "persist",
            &db,
            "--table",
            "t",
            "-i",
            input,
            "--mode",
            "incremental",
            "--primary-key",
            "id",
        ]);
    }
    assert_eq!(
        sorted_csv(&["ingest", &db, "--table", "t", "--to", "csv"]),
        ["1,a", "2,new", "3,d"]
    );
    // A new table too.
    ok(&[
        "persist",
        &db,
        "--table",
        "fresh",
        "-i",
        &second,
        "--mode",
        "incremental",
        "--primary-key",
        "id",
    ]);
    assert_eq!(
        sorted_csv(&["ingest", &db, "--table", "fresh", "--to", "csv"]),
        ["2,new", "3,d"]
    );
}

#[test]
fn warehouse_incremental_keeps_the_last_row_of_a_key() {
    let dir = tempdir();
    let wh = dir.path().join("wh");
    let w = wh.to_str().unwrap();
    let first = csv_in(dir.path(), "a.csv", "id,v\n1,a\n2,b\n");
    let second = csv_in(dir.path(), "b.csv", "id,v\n2,old\n3,c\n2,new\n3,d\n");
    for input in [&first, &second] {
        ok(&[
            "persist",
            w,
            "--table",
            "t",
            "-i",
            input,
            "--mode",
            "incremental",
            "--primary-key",
            "id",
        ]);
    }
    let table = wh.join("default/t");
    assert_eq!(
        sorted_csv(&["ingest", table.to_str().unwrap(), "--to", "csv"]),
        ["1,a", "2,new", "3,d"]
    );
    ok(&[
        "persist",
        w,
        "--table",
        "fresh",
        "-i",
        &second,
        "--mode",
        "incremental",
        "--primary-key",
        "id",
    ]);
    let fresh = wh.join("default/fresh");
    assert_eq!(
        sorted_csv(&["ingest", fresh.to_str().unwrap(), "--to", "csv"]),
        ["2,new", "3,d"]
    );
}

#[test]
fn sqlite_table_with_a_schema_is_refused_and_a_quoted_dot_is_a_name() {
    let dir = tempdir();
    let path = dir.path().join("x.db");
    let db = format!("sqlite://{}", path.display());
    let input = csv_in(dir.path(), "a.csv", "id\n1\n");
    let r = fails(&["persist", &db, "--table", "a.b", "-i", &input], 2);
    assert!(
        r.stderr
            .contains("a SQLite URL is one database, with no schema 'a'"),
        "{}",
        r.stderr
    );
    assert!(!path.exists());
    ok(&["persist", &db, "--table", "\"a.b\"", "-i", &input]);
    assert_eq!(
        sorted_csv(&[
            "ingest",
            &db,
            "--query",
            "SELECT * FROM \"a.b\"",
            "--to",
            "csv"
        ]),
        ["1"]
    );
}
