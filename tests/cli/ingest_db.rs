//! `etl ingest` from databases: --query and --table against the real
//! PostgreSQL and MariaDB servers and a SQLite file, streamed in batches.

use crate::common::*;
use crate::dbs::*;

#[test]
fn postgres_query_and_table_round_trip() {
    let Some(pg) = postgres() else { return };
    let t = unique("etl_read");
    pg.sql(&format!(
        "create table {} (id bigint, \"Name\" text, price numeric(8,2), ok boolean, day date, at timestamp, at_tz timestamptz, score real)",
        pg.q(&t)
    ));
    pg.sql(&format!(
        "insert into {} values (1, 'a, \"b\"', 12.50, true, '2026-01-02', '2026-01-02 03:04:05.5', '2026-01-02 03:04:05+02', 0.5), (2, null, null, null, null, null, null, null)",
        pg.q(&t)
    ));
    let r = ok(&["ingest", &pg.url, "--table", &t, "--to", "csv"]);
    assert_eq!(
        r.stdout,
        "id,Name,price,ok,day,at,at_tz,score\n1,\"a, \"\"b\"\"\",12.50,true,2026-01-02,2026-01-02T03:04:05.500000,2026-01-02T01:04:05.000000+0000,0.5\n2,,,,,,,\n"
    );
    let r = ok(&[
        "ingest",
        &pg.url,
        "--query",
        &format!(
            "select id * 10 as x, upper(\"Name\") as n from {} order by id",
            pg.q(&t)
        ),
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "x,n\n10,\"A, \"\"B\"\"\"\n20,\n");
    // Typed all the way: inspect sees the database's types.
    let dir = tempdir();
    let out = dir.path().join("t.parquet");
    ok(&[
        "ingest",
        &pg.url,
        "--table",
        &t,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        column_types(&out),
        [
            "i64",
            "str",
            "decimal[8,2]",
            "bool",
            "date",
            "datetime[μs]",
            "datetime[μs, UTC]",
            "f32"
        ]
    );
    pg.drop(&t);
}

#[test]
fn mariadb_query_and_table_round_trip() {
    let Some(my) = mysql() else { return };
    let t = unique("etl_read");
    my.sql(&format!(
        "create table {} (id bigint, `Name` text, price decimal(8,2), ok tinyint(1), day date, at datetime(6), small tinyint unsigned, bin varbinary(10))",
        my.q(&t)
    ));
    my.sql(&format!(
        "insert into {} values (1, 'a, \"b\"', 12.50, 1, '2026-01-02', '2026-01-02 03:04:05.5', 250, x'0a0b'), (2, null, null, null, null, null, null, null)",
        my.q(&t)
    ));
    let r = ok(&[
        "ingest",
        &my.url,
        "--table",
        &t,
        "--select",
        "id,Name,price,ok,day,at,small",
        "--to",
        "csv",
    ]);
    assert_eq!(
        r.stdout,
        "id,Name,price,ok,day,at,small\n1,\"a, \"\"b\"\"\",12.50,true,2026-01-02,2026-01-02T03:04:05.500000,250\n2,,,,,,\n"
    );
    let dir = tempdir();
    let out = dir.path().join("t.parquet");
    ok(&[
        "ingest",
        &my.url,
        "--query",
        &format!("select * from {} order by id", my.q(&t)),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        column_types(&out),
        [
            "i64",
            "str",
            "decimal[8,2]",
            "bool",
            "date",
            "datetime[μs]",
            "u8",
            "binary"
        ]
    );
    my.drop(&t);
}

#[test]
fn sqlite_query_and_table_round_trip() {
    let dir = tempdir();
    let db = dir.path().join("x.db");
    let url = format!("sqlite://{}", db.display());
    let f = csv_in(dir.path(), "a.csv", "id,name,score\n1,a,0.5\n2,,1.5\n");
    ok(&["persist", &url, "--table", "people", "-i", &f]);
    let r = ok(&["ingest", &url, "--table", "people", "--to", "csv"]);
    assert_eq!(r.stdout, "id,name,score\n1,a,0.5\n2,,1.5\n");
    let r = ok(&[
        "ingest",
        &url,
        "--query",
        "select id + 1 as next, name || '!' as shout from people order by id",
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "next,shout\n2,a!\n3,\n");
}

#[test]
fn large_results_stream_in_batches() {
    for s in [postgres(), mysql()].into_iter().flatten() {
        let sql = match s.kind {
            Kind::Postgres => {
                "select g as id, 'row-' || g as label from generate_series(1, 200000) g"
            }
            Kind::Mysql => "select seq as id, concat('row-', seq) as label from seq_1_to_200000",
        };
        let r = ok(&["ingest", &s.url, "--query", sql, "--to", "csv"]);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(lines.len(), 200_001);
        assert_eq!(lines[200_000], "200000,row-200000");
        // --limit stops reading early.
        let r = ok(&[
            "ingest", &s.url, "--query", sql, "--limit", "3", "--to", "csv",
        ]);
        assert_eq!(r.stdout, "id,label\n1,row-1\n2,row-2\n3,row-3\n");
    }
}

#[test]
fn database_inputs_need_a_query_and_errors_are_clear() {
    let r = fails(&["ingest", "postgres://etl:pw@127.0.0.1:1/db"], 2);
    assert!(
        r.stderr.contains("needs --query SQL or --table NAME"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(":pw@"), "{}", r.stderr);
    let r = fails(
        &["ingest", "postgres://etl:pw@127.0.0.1:1/db", "--table", "t"],
        3,
    );
    assert!(
        r.stderr.contains("etl:***@127.0.0.1:1/db: cannot connect"),
        "{}",
        r.stderr
    );
    let dir = tempdir();
    let f = csv_in(dir.path(), "a.csv", "id\n1\n");
    let r = fails(&["ingest", &f, "--query", "select 1"], 2);
    assert!(
        r.stderr.contains("read from a database URL"),
        "{}",
        r.stderr
    );
    if let Some(pg) = postgres() {
        let r = fails(
            &[
                "ingest",
                &pg.url,
                "--query",
                "select * from no_such_table_etl",
            ],
            2,
        );
        assert!(r.stderr.contains("no_such_table_etl"), "{}", r.stderr);
        let r = fails(&["ingest", &pg.url, "--query", "select point(1,2) as p"], 2);
        assert!(
            r.stderr.contains("column 'p' of PostgreSQL type point"),
            "{}",
            r.stderr
        );
    }
}
