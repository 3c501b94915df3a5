//! `etl persist` into the warehouse folder: load modes, schema checks,
//! atomicity, and other readers (DuckDB with Hive partitioning).

use crate::common::*;

fn rows_of(table: &std::path::Path) -> Vec<String> {
    let mut rows: Vec<String> = as_csv(table, &[])
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    rows.sort();
    rows
}

fn persist(dir: &std::path::Path, input: &str, extra: &[&str]) -> Run {
    let wh = dir.join("wh");
    let mut args = vec![
        "persist",
        wh.to_str().unwrap(),
        "--table",
        "db.t",
        "-i",
        input,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn append_partitions_and_duckdb_reads_the_table() {
    let dir = tempdir();
    let day1 = csv_in(
        dir.path(),
        "d1.csv",
        "id,v,delivery_date\n1,a,2026-11-20\n2,b,2026-11-20\n",
    );
    let day2 = csv_in(dir.path(), "d2.csv", "id,v,delivery_date\n3,c,2026-11-21\n");
    for f in [&day1, &day2] {
        let r = persist(dir.path(), f, &["--partition-by", "delivery_date"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let table = dir.path().join("wh/db/t");
    assert!(table.join("_SUCCESS").exists());
    assert!(
        table.join("delivery_date=2026-11-20").is_dir()
            && table.join("delivery_date=2026-11-21").is_dir()
    );
    assert_eq!(
        rows_of(&table),
        ["1,a,2026-11-20", "2,b,2026-11-20", "3,c,2026-11-21"]
    );
    assert!(leftovers(&dir.path().join("wh/db")).is_empty());
    let Some(py) = python_with(&["duckdb"]) else {
        return;
    };
    let q = format!(
        "import duckdb; print(duckdb.sql(\"select count(*), count(distinct delivery_date) from read_parquet('{}/**/*.parquet', hive_partitioning=true)\").fetchall())",
        table.display()
    );
    let out = std::process::Command::new(py)
        .args(["-c", &q])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[(3, 2)]",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn overwrite_partitions_replaces_only_the_partitions_it_writes() {
    let dir = tempdir();
    let both = csv_in(dir.path(), "a.csv", "id,day\n1,mon\n2,tue\n");
    let again = csv_in(dir.path(), "b.csv", "id,day\n9,tue\n");
    assert_eq!(
        persist(dir.path(), &both, &["--partition-by", "day"]).code,
        0
    );
    let r = persist(
        dir.path(),
        &again,
        &["--partition-by", "day", "--mode", "overwrite-partitions"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(rows_of(&dir.path().join("wh/db/t")), ["1,mon", "9,tue"]);
    let r = persist(dir.path(), &again, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("partitioned by day, but --partition-by gives none"),
        "{}",
        r.stderr
    );
}

#[test]
fn full_refresh_and_incremental() {
    let dir = tempdir();
    let first = csv_in(dir.path(), "a.csv", "id,v\n1,a\n2,b\n");
    let second = csv_in(dir.path(), "b.csv", "id,v\n2,B\n3,C\n");
    assert_eq!(persist(dir.path(), &first, &[]).code, 0);
    let r = persist(
        dir.path(),
        &second,
        &["--mode", "incremental", "--primary-key", "id"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(rows_of(&dir.path().join("wh/db/t")), ["1,a", "2,B", "3,C"]);
    let r = persist(dir.path(), &first, &["--mode", "full-refresh"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(rows_of(&dir.path().join("wh/db/t")), ["1,a", "2,b"]);
    let r = persist(dir.path(), &first, &["--mode", "incremental"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--mode incremental needs --primary-key"),
        "{}",
        r.stderr
    );
}

#[test]
fn incremental_merges_into_a_partitioned_table() {
    let dir = tempdir();
    let first = csv_in(
        dir.path(),
        "a.csv",
        "id,v,city,day\n1,a,New York,2026-11-20\n2,b,Paris,2026-11-20\n3,c,,2026-11-21\n",
    );
    let second = csv_in(
        dir.path(),
        "b.csv",
        "id,v,city,day\n2,B,Paris,2026-11-20\n3,C,,2026-11-21\n4,d,New York,2026-11-21\n",
    );
    let parts = ["--partition-by", "city,day"];
    assert_eq!(persist(dir.path(), &first, &parts).code, 0);
    let table = dir.path().join("wh/db/t");
    assert!(table.join("city=New York").is_dir());
    assert!(table.join("city=__HIVE_DEFAULT_PARTITION__").is_dir());
    let mut args = vec!["--mode", "incremental", "--primary-key", "id"];
    args.extend_from_slice(&parts);
    let r = persist(dir.path(), &second, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        rows_of(&table),
        [
            "1,a,New York,2026-11-20",
            "2,B,Paris,2026-11-20",
            "3,C,,2026-11-21",
            "4,d,New York,2026-11-21"
        ]
    );
    assert!(leftovers(&dir.path().join("wh/db")).is_empty());
}

#[test]
fn schema_differences_are_listed_and_evolve_adds_columns() {
    let dir = tempdir();
    let first = csv_in(dir.path(), "a.csv", "id,v\n1,a\n");
    let wider = csv_in(dir.path(), "b.csv", "id,v,extra\n2,b,x\n");
    let retyped = csv_in(dir.path(), "c.csv", "id,v\nthree,c\n");
    assert_eq!(persist(dir.path(), &first, &[]).code, 0);
    let r = persist(dir.path(), &wider, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("new column 'extra' (str)") && r.stderr.contains("--evolve"),
        "{}",
        r.stderr
    );
    let r = persist(dir.path(), &retyped, &[]);
    assert!(
        r.stderr
            .contains("'id' is i64 in the table but str in the new rows"),
        "{}",
        r.stderr
    );
    assert_eq!(persist(dir.path(), &wider, &["--evolve"]).code, 0);
    assert_eq!(rows_of(&dir.path().join("wh/db/t")), ["1,a,", "2,b,x"]);
}

#[test]
fn a_failed_load_leaves_the_table_as_it_was() {
    let dir = tempdir();
    let good = csv_in(dir.path(), "a.csv", "id,v\n1,a\n");
    let bad = csv_in(dir.path(), "b.csv", "id,v\n2,b\n3\n");
    assert_eq!(persist(dir.path(), &good, &[]).code, 0);
    for mode in ["append", "full-refresh"] {
        let r = persist(dir.path(), &bad, &["--mode", mode]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_eq!(rows_of(&dir.path().join("wh/db/t")), ["1,a"], "{mode}");
    }
    assert!(
        leftovers(&dir.path().join("wh/db")).is_empty(),
        "{:?}",
        leftovers(&dir.path().join("wh/db"))
    );
}

#[test]
fn bad_table_names_and_database_targets_are_refused_clearly() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "a.csv", "id\n1\n");
    let wh = dir.path().join("wh");
    let r = fails(
        &["persist", wh.to_str().unwrap(), "--table", "../x", "-i", &f],
        2,
    );
    assert!(
        r.stderr.contains("letters, digits and _ only"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "persist",
            "postgres://etl:secret@127.0.0.1:1/db",
            "--table",
            "t",
            "-i",
            &f,
        ],
        3,
    );
    assert!(
        r.stderr
            .contains("postgres://etl:***@127.0.0.1:1/db: cannot connect"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret"));
    let r = run(&[
        "persist",
        wh.to_str().unwrap(),
        "--table",
        "t",
        "-i",
        &f,
        "--mode",
        "upsert",
    ]);
    // A closed set: the argument parser checks it and lists the modes.
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("invalid value 'upsert' for '--mode <MODE>'")
            && r.stderr
                .contains("full-refresh, append, truncate, incremental, overwrite-partitions"),
        "{}",
        r.stderr
    );
}

fn sqlite_rows(db: &std::path::Path, sql: &str) -> String {
    let Some(py) = python_with(&["sqlite3"]) else {
        return String::new();
    };
    let script = format!("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute({sql:?}).fetchall())");
    let out = std::process::Command::new(py)
        .args(["-c", &script, db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn sqlite_modes_checked_with_python_sqlite3() {
    let dir = tempdir();
    let db = dir.path().join("sub/etl.db");
    let url = format!("sqlite://{}", db.display());
    let a = csv_in(
        dir.path(),
        "a.csv",
        "id,name,day\n1,a,2026-11-20\n2,b,2026-11-20\n",
    );
    let b = csv_in(
        dir.path(),
        "b.csv",
        "id,name,day\n2,B,2026-11-21\n3,c,2026-11-21\n",
    );
    let table = "odd \"name\"";
    let load = |input: &str, extra: &[&str]| {
        let mut args = vec!["persist", url.as_str(), "--table", table, "-i", input];
        args.extend_from_slice(extra);
        run(&args)
    };
    assert_eq!(load(&a, &[]).code, 0);
    assert_eq!(
        load(&b, &["--mode", "incremental", "--primary-key", "id"]).code,
        0
    );
    let q = "select id, name, day from \"odd \"\"name\"\"\" order by id";
    assert_eq!(
        sqlite_rows(&db, q),
        "[(1, 'a', '2026-11-20'), (2, 'B', '2026-11-21'), (3, 'c', '2026-11-21')]"
    );
    assert_eq!(load(&a, &["--mode", "truncate"]).code, 0);
    assert_eq!(
        sqlite_rows(&db, q),
        "[(1, 'a', '2026-11-20'), (2, 'b', '2026-11-20')]"
    );
    assert_eq!(load(&b, &[]).code, 0);
    assert_eq!(
        sqlite_rows(&db, "select count(*) from \"odd \"\"name\"\"\""),
        "[(4,)]"
    );
    assert_eq!(load(&a, &["--mode", "full-refresh"]).code, 0);
    assert_eq!(
        sqlite_rows(&db, "select count(*) from \"odd \"\"name\"\"\""),
        "[(2,)]"
    );
    let tables = sqlite_rows(&db, "select name from sqlite_master where type = 'table'");
    assert_eq!(tables, "[('odd \"name\"',)]", "no staging table left");
}

#[test]
fn a_failed_sqlite_load_changes_nothing() {
    let dir = tempdir();
    let db = dir.path().join("etl.db");
    let url = format!("sqlite://{}", db.display());
    let good = csv_in(dir.path(), "a.csv", "id,v\n1,a\n");
    let wider = csv_in(dir.path(), "w.csv", "id,v,extra\n2,b,x\n");
    let bad = csv_in(dir.path(), "b.csv", "id,v\n2,b\nx,c\n");
    assert_eq!(run(&["persist", &url, "--table", "t", "-i", &good]).code, 0);
    for mode in ["append", "full-refresh", "truncate"] {
        let r = run(&[
            "persist", &url, "--table", "t", "-i", &bad, "--schema", "id:int", "--mode", mode,
        ]);
        assert_eq!(r.code, 1, "{mode}: {}", r.stderr);
        assert_eq!(sqlite_rows(&db, "select * from t"), "[(1, 'a')]", "{mode}");
    }
    let r = run(&["persist", &url, "--table", "t", "-i", &wider]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("new columns extra (pass --evolve"),
        "{}",
        r.stderr
    );
    assert_eq!(
        run(&["persist", &url, "--table", "t", "-i", &wider, "--evolve"]).code,
        0
    );
    assert_eq!(
        sqlite_rows(&db, "select * from t order by id"),
        "[(1, 'a', None), (2, 'b', 'x')]"
    );
    assert_eq!(
        sqlite_rows(
            &db,
            "select count(*) from sqlite_master where name like '%etl_staging%'"
        ),
        "[(0,)]"
    );
}
