//! Warehouse partition folders: one folder per distinct value (a null and
//! the text `__HIVE_DEFAULT_PARTITION__` apart), never outside the table
//! whatever the column is called, and summaries that count what is on disk.

use crate::common::*;

#[test]
fn a_null_and_the_hive_null_marker_text_land_in_different_folders() {
    let dir = tempdir();
    let input = csv_in(
        dir.path(),
        "in.csv",
        "id,city\n1,__HIVE_DEFAULT_PARTITION__\n2,\n3,Paris\n",
    );
    let wh = dir.path().join("wh");
    let r = run(&[
        "persist",
        wh.to_str().unwrap(),
        "--table",
        "db.t",
        "-i",
        &input,
        "--partition-by",
        "city",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("wrote 3 rows"), "{}", r.stderr);
    let table = wh.join("db/t");
    assert!(table.join("city=__HIVE_DEFAULT_PARTITION__").is_dir());
    assert!(table.join("city=%5F_HIVE_DEFAULT_PARTITION__").is_dir());
    // One row in each folder. (Polars-based readers, etl's own included,
    // decode the escaped name and then read it as null; Hive and Spark
    // compare before decoding and read the text.)
    let rows_in = |folder: &str| {
        let part = files_under(&table.join(folder));
        assert_eq!(part.len(), 1, "{folder}: {part:?}");
        let ids: Vec<String> = as_csv(&table.join(folder).join(&part[0]), &[])
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or_default().to_string())
            .collect();
        ids.join(" ")
    };
    assert_eq!(rows_in("city=__HIVE_DEFAULT_PARTITION__"), "2");
    assert_eq!(rows_in("city=%5F_HIVE_DEFAULT_PARTITION__"), "1");
    assert_eq!(rows_in("city=Paris"), "3");
    // An incremental load reads both back as they were (its own reader
    // compares before decoding) and keeps them apart.
    let more = csv_in(dir.path(), "more.csv", "id,city\n3,Rome\n");
    let r = run(&[
        "persist",
        wh.to_str().unwrap(),
        "--table",
        "db.t",
        "-i",
        &more,
        "--partition-by",
        "city",
        "--mode",
        "incremental",
        "--primary-key",
        "id",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("wrote 3 rows"), "{}", r.stderr);
    assert_eq!(rows_in("city=__HIVE_DEFAULT_PARTITION__"), "2");
    assert_eq!(rows_in("city=%5F_HIVE_DEFAULT_PARTITION__"), "1");
    assert_eq!(rows_in("city=Rome"), "3");
    assert!(!table.join("city=Paris").exists());
}

#[test]
fn a_partition_column_name_cannot_write_outside_the_table() {
    let dir = tempdir();
    let input = csv_in(dir.path(), "in.csv", "id,../../x,.hidden\n1,a,b\n2,c,d\n");
    let wh = dir.path().join("wh");
    for column in ["../../x", ".hidden"] {
        let r = run(&[
            "persist",
            wh.to_str().unwrap(),
            "--table",
            "db.t",
            "-i",
            &input,
            "--partition-by",
            column,
        ]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "--partition-by '{column}': a partition column becomes a folder name"
            )),
            "{}",
            r.stderr
        );
        assert_eq!(files_under(dir.path()), ["in.csv"]);
    }
}
