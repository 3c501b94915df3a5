//! `etl inspect`: metadata, schema and statistics.

use crate::common::*;

#[test]
fn json_report_has_rows_schema_and_stats() {
    let r = ok(&[
        "inspect",
        fixture("formats/people.csv.gz").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["format"], "csv");
    assert_eq!(v["compression"], "gzip");
    assert_eq!(v["rows"], 6);
    let id = &v["columns"][0];
    assert_eq!(id["name"], "id");
    assert_eq!(id["nulls"], 0);
    assert_eq!(id["min"], "1");
    assert_eq!(id["max"], "6");
    assert_eq!(id["distinct_estimate"], 6);
    let score = &v["columns"][2];
    assert_eq!(score["nulls"], 1);
    assert_eq!(score["min"], "-2.25");
    let born = &v["columns"][4];
    assert_eq!(born["min"], "1969-07-20");
    assert_eq!(born["max"], "2024-02-29");
}

#[test]
fn parquet_metadata_only_without_stats() {
    let r = ok(&[
        "inspect",
        fixture("formats/people.zstd.parquet").to_str().unwrap(),
        "--no-stats",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["rows"], 6, "row count from the footer");
    assert_eq!(v["compression"], "zstd");
    assert!(v["columns"][0]["nulls"].is_null());
}

#[test]
fn text_report_is_a_readable_table() {
    let r = ok(&[
        "inspect",
        fixture("formats/people.snappy.orc").to_str().unwrap(),
    ]);
    assert!(r.stdout.contains("format       orc"), "{}", r.stdout);
    assert!(r.stdout.contains("rows         6"), "{}", r.stdout);
    let name_line = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("name "))
        .unwrap();
    assert!(
        name_line.contains("str") && name_line.contains(" 1 "),
        "{name_line}"
    );
}

#[test]
fn folders_and_globs_are_inspected_as_one_table() {
    let r = ok(&[
        "inspect",
        fixture("layouts/spark_out").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["format"], "parquet (2 files)");
    assert_eq!(v["rows"], 6);
}

#[test]
fn inspect_errors_like_ingest() {
    let r = fails(
        &["inspect", fixture("bad/truncated.orc").to_str().unwrap()],
        1,
    );
    assert!(r.stderr.contains("truncated.orc"), "{}", r.stderr);
}
