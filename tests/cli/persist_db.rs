//! `etl persist` into the real PostgreSQL and MariaDB servers: every mode,
//! type mapping, schema evolution, odd names, failures halfway and a killed
//! process leaving the table as it was, password redaction. Results are
//! checked with psql and mariadb, not through etl.

use std::time::{Duration, Instant};

use crate::common::*;
use crate::dbs::*;

fn servers() -> Vec<Server> {
    [postgres(), mysql()].into_iter().flatten().collect()
}

fn rows(s: &Server, table: &str, cols: &str) -> Vec<String> {
    let out = s.sql(&format!("select {cols} from {} order by 1", s.q(table)));
    out.lines()
        .map(|l| l.replace('\t', "|"))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_mode_loads_as_documented() {
    for s in servers() {
        let dir = tempdir();
        let t = unique("etl_modes");
        let a = csv_in(dir.path(), "a.csv", "id,name\n1,a\n2,b\n");
        let b = csv_in(dir.path(), "b.csv", "id,name\n3,c\n");
        let c = csv_in(dir.path(), "c.csv", "id,name\n9,z\n");
        let r = s.persist(&t, &a, &["--mode", "full-refresh"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(rows(&s, &t, "id, name"), ["1|a", "2|b"]);
        let r = s.persist(&t, &b, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("wrote 1 rows to") && r.stderr.contains("(append)"),
            "{}",
            r.stderr
        );
        assert_eq!(rows(&s, &t, "id, name"), ["1|a", "2|b", "3|c"]);
        // truncate keeps the table's own DDL (here: its comment).
        match s.kind {
            Kind::Postgres => s.sql(&format!("comment on table {} is 'keep me'", s.q(&t))),
            Kind::Mysql => s.sql(&format!("alter table {} comment = 'keep me'", s.q(&t))),
        };
        let r = s.persist(&t, &c, &["--mode", "truncate"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(rows(&s, &t, "id, name"), ["9|z"]);
        let comment = match s.kind {
            Kind::Postgres => s.sql(&format!("select obj_description('{}'::regclass)", s.q(&t))),
            Kind::Mysql => s.sql(&format!(
                "select table_comment from information_schema.tables where table_schema = database() and table_name = '{t}'"
            )),
        };
        assert_eq!(comment, "keep me");
        // incremental: a new table gets the key as its primary key.
        let u = unique("etl_upsert");
        let r = s.persist(&u, &a, &["--mode", "incremental", "--primary-key", "id"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let pk = match s.kind {
            Kind::Postgres => s.sql(&format!(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) where i.indrelid = '{}'::regclass and i.indisprimary",
                s.q(&u)
            )),
            Kind::Mysql => s.sql(&format!(
                "select column_name from information_schema.statistics where table_schema = database() and table_name = '{u}' and index_name = 'PRIMARY'"
            )),
        };
        assert_eq!(pk, "id");
        let d = csv_in(dir.path(), "d.csv", "id,name\n2,B\n5,e\n");
        let r = s.persist(&u, &d, &["--mode", "incremental", "--primary-key", "id"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(rows(&s, &u, "id, name"), ["1|a", "2|B", "5|e"]);
        // full-refresh replaces the table, schema included.
        let k = csv_in(dir.path(), "k.csv", "k\n7\n");
        let r = s.persist(&u, &k, &["--mode", "full-refresh"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(rows(&s, &u, "*"), ["7"]);
        assert!(s
            .tables_like("etl_new_")
            .iter()
            .all(|n| !n.contains(&std::process::id().to_string())));
        s.drop(&t);
        s.drop(&u);
    }
}

/// One row of every type and one row of nulls, from a PostgreSQL query.
const TYPED: &str = "select i8, i4, i2, f8, f4, dec::numeric(10,2) as dec, b, t, d, ts, tstz, bin from (values \
    (1::bigint, 2::int, 3::smallint, 1.5::float8, 2.5::float4, 123.45::numeric(10,2), true, \
     'a, \"q\"' || chr(10) || 'é 🦀 ''s'::text, date '2026-01-02', timestamp '2026-01-02 03:04:05.123456', \
     timestamptz '2026-01-02 03:04:05+02', '\\x00ff0a'::bytea), \
    (null, null, null, null, null, null, null, null, null, null, null, null)) \
    v(i8, i4, i2, f8, f4, dec, b, t, d, ts, tstz, bin)";

#[test]
fn types_round_trip_into_postgres() {
    let Some(pg) = postgres() else { return };
    let t = unique("etl_types");
    let r = pipe(
        &["ingest", &pg.url, "--query", TYPED],
        &["persist", &pg.url, "--table", &t],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let types = pg.sql(&format!(
        "select string_agg(format_type(atttypid, atttypmod), ',' order by attnum) from pg_attribute where attrelid = '{}'::regclass and attnum > 0",
        pg.q(&t)
    ));
    assert_eq!(
        types,
        "bigint,integer,smallint,double precision,real,numeric(10,2),boolean,text,date,timestamp without time zone,timestamp with time zone,bytea"
    );
    let diff = pg.sql(&format!(
        "select count(*) from ((select * from {0} except all {TYPED}) union all ({TYPED} except all select * from {0})) x",
        pg.q(&t)
    ));
    assert_eq!(diff, "0", "the loaded rows differ from the source rows");
    assert_eq!(pg.count(&t), 2);
    pg.drop(&t);
}

#[test]
fn types_round_trip_into_mariadb() {
    let (Some(pg), Some(my)) = (postgres(), mysql()) else {
        return;
    };
    let t = unique("etl_types");
    let r = pipe(
        &["ingest", &pg.url, "--query", TYPED],
        &["persist", &my.url, "--table", &t],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let types = my.sql(&format!(
        "select group_concat(column_type order by ordinal_position) from information_schema.columns where table_schema = database() and table_name = '{t}'"
    ));
    assert_eq!(
        types,
        "bigint(20),int(11),smallint(6),double,float,decimal(10,2),tinyint(1),longtext,date,datetime(6),datetime(6),longblob"
    );
    let got = rows(
        &my,
        &t,
        "i8, i4, i2, f8, f4, `dec`, b, replace(t, char(10), '<NL>'), d, ts, tstz, hex(bin)",
    );
    assert_eq!(
        got,
        [
            "NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL",
            "1|2|3|1.5|2.5|123.45|1|a, \"q\"<NL>é 🦀 's|2026-01-02|2026-01-02 03:04:05.123456|2026-01-02 01:04:05.000000|00FF0A",
        ]
    );
    my.drop(&t);
}

#[test]
fn schema_differences_are_listed_and_evolve_adds_columns() {
    for s in servers() {
        let dir = tempdir();
        let t = unique("etl_evolve");
        let a = csv_in(dir.path(), "a.csv", "id,name\n1,a\n");
        let wider = csv_in(dir.path(), "w.csv", "id,name,extra,more\n2,b,x,7\n");
        let narrower = csv_in(dir.path(), "n.csv", "id\n3\n");
        assert_eq!(s.persist(&t, &a, &[]).code, 0);
        let r = s.persist(&t, &wider, &[]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("new columns extra, more (pass --evolve"),
            "{}",
            r.stderr
        );
        assert_eq!(s.count(&t), 1);
        let r = s.persist(&t, &narrower, &[]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("columns name are missing"),
            "{}",
            r.stderr
        );
        let r = s.persist(&t, &wider, &["--evolve"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            rows(&s, &t, "id, name, extra, more"),
            ["1|a|NULL|NULL", "2|b|x|7"].map(|r| if s.kind == Kind::Postgres {
                r.replace("NULL", "")
            } else {
                r.to_string()
            })
        );
        s.drop(&t);
    }
}

#[test]
fn odd_identifiers_work_and_impossible_ones_are_refused() {
    for s in servers() {
        let dir = tempdir();
        let t = format!("{} Odd \"Name\"", unique("Etl"));
        let f = csv_in(
            dir.path(),
            "a.csv",
            "Weird \"col\",UPPER,with space,semi;colon\n1,2,3,4\n",
        );
        let quoted_table = format!("\"{}\"", t.replace('"', "\"\""));
        let r = s.persist(&quoted_table, &f, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let got = s.sql(&format!(
            "select {}, {}, {}, {} from {}",
            s.q("Weird \"col\""),
            s.q("UPPER"),
            s.q("with space"),
            s.q("semi;colon"),
            s.q(&t)
        ));
        assert_eq!(got.replace('\t', "|"), "1|2|3|4");
        // Injection attempts are names like any other.
        let evil = unique("etl_x\"; drop table students; --");
        let r = s.persist(&format!("\"{}\"", evil.replace('"', "\"\"")), &f, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(s.count(&evil), 1);
        let long = "x".repeat(70);
        let r = s.persist(&long, &f, &[]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("is longer than"), "{}", r.stderr);
        let r = s.persist("a.b.c", &f, &[]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("write TABLE or SCHEMA.TABLE"),
            "{}",
            r.stderr
        );
        s.drop(&t);
        s.drop(&evil);
    }
}

#[test]
fn a_failure_halfway_leaves_the_table_as_it_was() {
    for s in servers() {
        let dir = tempdir();
        let t = unique("etl_half");
        let a = csv_in(dir.path(), "a.csv", "id,label\n1,one\n2,two\n3,three\n");
        let r = s.persist(&t, &a, &["--mode", "incremental", "--primary-key", "id"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        // 300k new rows, then one whose key came earlier in the same load:
        // several batches go out before the server refuses the duplicate.
        let mut good = String::from("id,label\n");
        for i in 10..300_010 {
            good.push_str(&format!("{i},row-{i}\n"));
        }
        let dup = csv_in(dir.path(), "dup.csv", &format!("{good}10,duplicate\n"));
        for mode in ["append", "truncate"] {
            let r = s.persist(&t, &dup, &["--mode", mode]);
            assert_eq!(r.code, 1, "{mode}: {}", r.stderr);
            assert!(
                r.stderr.to_lowercase().contains("duplicate"),
                "{}",
                r.stderr
            );
            assert_eq!(
                rows(&s, &t, "id, label"),
                ["1|one", "2|two", "3|three"],
                "{mode}"
            );
        }
        // A bad value in the input, after 300k good rows.
        let bad = csv_in(dir.path(), "bad.csv", &format!("{good}oops,bad\n"));
        for mode in ["full-refresh", "truncate", "append"] {
            let r = s.persist(&t, &bad, &["--mode", mode]);
            assert_eq!(r.code, 1, "{mode}: {}", r.stderr);
            assert_eq!(
                rows(&s, &t, "id, label"),
                ["1|one", "2|two", "3|three"],
                "{mode}"
            );
        }
        assert!(s
            .tables_like("etl_new_")
            .iter()
            .all(|n| !n.starts_with(&format!("etl_new_{}", std::process::id()))));
        s.drop(&t);
    }
}

/// Waits until `sql` (a count) says 1+, or fails after `secs`.
fn wait_for(s: &Server, sql: &str, want_some: bool, secs: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        let n: i64 = s.sql(sql).trim().parse().unwrap_or(0);
        if (n > 0) == want_some {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The suffix etl gives a MariaDB target's scratch tables.
fn scratch_suffix(table: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(format!("\u{0}{table}").as_bytes())[..8])
}

#[test]
fn a_killed_load_leaves_the_table_as_it_was() {
    let dir = tempdir();
    let big = numbered_csv(dir.path(), 3_000_000);
    let small = csv_in(dir.path(), "a.csv", "id,label\n1,one\n2,two\n");
    // PostgreSQL: full-refresh (a new table, then the swap, in one
    // transaction) and truncate (a TEMP staging table, then TRUNCATE and
    // INSERT in the same transaction). MariaDB: truncate (straight into the table inside a
    // transaction) and full-refresh (a new table, then RENAME TABLE).
    let mut cases = Vec::new();
    if postgres().is_some() {
        cases.push((postgres().unwrap(), "full-refresh"));
        cases.push((postgres().unwrap(), "truncate"));
    }
    if mysql().is_some() {
        cases.push((mysql().unwrap(), "truncate"));
        cases.push((mysql().unwrap(), "full-refresh"));
    }
    for (s, mode) in cases {
        let t = unique("etl_kill");
        assert_eq!(s.persist(&t, &small, &[]).code, 0);
        let mut child = etl()
            .args([
                "persist",
                &s.url,
                "--table",
                &t,
                "-i",
                big.to_str().unwrap(),
                "--mode",
                mode,
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let running = match (s.kind, mode) {
            (Kind::Postgres, _) => format!(
                "select count(*) from pg_stat_activity where application_name = 'etl/{}' and query like 'COPY %'",
                child.id()
            ),
            (Kind::Mysql, "truncate") => format!(
                "select count(*) from information_schema.processlist where info like 'LOAD DATA%{t}%'"
            ),
            (Kind::Mysql, _) => format!(
                "select count(*) from information_schema.processlist where info like 'LOAD DATA%etl_new_{}%'",
                scratch_suffix(&t)
            ),
        };
        let started = wait_for(&s, &running, true, 60);
        // Let a few batches reach the server.
        std::thread::sleep(Duration::from_millis(700));
        let finished_early = child.try_wait().unwrap().is_some();
        child.kill().unwrap();
        let _ = child.wait();
        assert!(
            started && !finished_early,
            "{mode}: the load was not caught in flight"
        );
        assert!(
            wait_for(&s, &running, false, 30),
            "the server kept the killed session"
        );
        assert_eq!(rows(&s, &t, "id, label"), ["1|one", "2|two"], "{mode}");
        match s.kind {
            Kind::Postgres => {
                // The staging table was TEMP: it went with the session
                // (gone, as waited for above); the new table was never committed.
                let left = s.tables_like(&format!("etl_new_{}_", child.id()));
                assert!(left.is_empty(), "{left:?}");
            }
            Kind::Mysql => {
                // A new table killed mid-load may stay behind (DDL is not
                // transactional in MariaDB); the next load of the target drops it.
                let r = s.persist(&t, &small, &["--mode", "full-refresh"]);
                assert_eq!(r.code, 0, "{}", r.stderr);
                let left = s.tables_like(&format!("etl_new_{}", scratch_suffix(&t)));
                assert!(left.is_empty(), "{left:?}");
                assert_eq!(rows(&s, &t, "id, label"), ["1|one", "2|two"]);
            }
        }
        s.drop(&t);
    }
}

/// Two full-refresh loads of one MariaDB table at once, several times
/// (half the rounds start with no table): both succeed, the table is always
/// there holding exactly one load's rows, no scratch table is left.
#[test]
fn concurrent_full_refresh_loads_keep_one_whole_table() {
    let Some(s) = mysql() else { return };
    let dir = tempdir();
    let rows_of = |n: usize, who: &str| {
        let mut t = String::from("id,who\n");
        for i in 0..n {
            t.push_str(&format!("{i},{who}\n"));
        }
        t
    };
    let a = csv_in(dir.path(), "a.csv", &rows_of(30_000, "a"));
    let b = csv_in(dir.path(), "b.csv", &rows_of(20_000, "b"));
    let t = unique("etl_race");
    for round in 0..6 {
        if round % 2 == 0 {
            s.drop(&t);
        }
        let spawn = |input: &str| {
            etl()
                .args(["persist", &s.url, "--table", &t, "-i", input])
                .args(["--mode", "full-refresh"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (pa, pb) = (spawn(&a), spawn(&b));
        let ra: Run = pa.wait_with_output().unwrap().into();
        let rb: Run = pb.wait_with_output().unwrap().into();
        assert_eq!(ra.code, 0, "round {round}: {}", ra.stderr);
        assert_eq!(rb.code, 0, "round {round}: {}", rb.stderr);
        let got = s
            .sql(&format!(
                "select count(*), min(who), max(who) from {}",
                s.q(&t)
            ))
            .replace('\t', "|");
        assert!(
            got == "30000|a|a" || got == "20000|b|b",
            "round {round}: {got}"
        );
    }
    let suffix = scratch_suffix(&t);
    for prefix in ["etl_new_", "etl_old_"] {
        let left = s.tables_like(&format!("{prefix}{suffix}"));
        assert!(left.is_empty(), "{left:?}");
    }
    s.drop(&t);
}

#[test]
fn passwords_never_show_and_unreachable_servers_exit_3() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "a.csv", "id\n1\n");
    for url in [
        "postgres://etl:s3cretpw@127.0.0.1:1/db",
        "mysql://etl:s3cretpw@127.0.0.1:1/db",
    ] {
        let r = fails(&["persist", url, "--table", "t", "-i", &f], 3);
        assert!(!r.stderr.contains("s3cretpw"), "{}", r.stderr);
        assert!(
            r.stderr.contains("etl:***@127.0.0.1:1/db: cannot connect"),
            "{}",
            r.stderr
        );
    }
    if let Some(my) = mysql() {
        let wrong = my.with_password("s3cretpw");
        let r = fails(&["persist", &wrong, "--table", "t", "-i", &f], 3);
        assert!(!r.stderr.contains("s3cretpw"), "{}", r.stderr);
        assert!(r.stderr.contains(":***@"), "{}", r.stderr);
        assert!(r.stderr.contains("Access denied"), "{}", r.stderr);
    }
}

#[test]
fn json_summary_and_libpq_variables() {
    let Some(pg) = postgres() else { return };
    let dir = tempdir();
    let f = csv_in(dir.path(), "a.csv", "id\n1\n2\n");
    let t = unique("etl_json");
    // The URL names only the host: user, database and port come from PG*.
    let u = pg.parts();
    let bare = format!("postgres://{}/", u.host_str().unwrap());
    let out = etl()
        .args(["persist", &bare, "--table", &t, "-i", &f, "--json"])
        .env("PGUSER", u.username())
        .env("PGPORT", u.port().unwrap_or(5432).to_string())
        .env("PGDATABASE", u.path().trim_start_matches('/'))
        .env("PGPASSWORD", u.password().unwrap_or(""))
        .output()
        .unwrap();
    let r: Run = out.into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["rows"], 2);
    assert_eq!(v["mode"], "append");
    assert!(v["target"].as_str().unwrap().ends_with(&format!("#{t}")));
    assert_eq!(pg.count(&t), 2);
    pg.drop(&t);
}

#[test]
fn overwrite_partitions_replaces_only_the_new_rows_partitions() {
    for s in servers() {
        let dir = tempdir();
        let t = unique("etl_parts");
        let both = csv_in(dir.path(), "a.csv", "id,day\n1,mon\n2,tue\n3,\n");
        let again = csv_in(dir.path(), "b.csv", "id,day\n9,tue\n8,\n");
        let mode = ["--mode", "overwrite-partitions", "--partition-by", "day"];
        let r = s.persist(&t, &both, &mode);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = s.persist(&t, &again, &mode);
        assert_eq!(r.code, 0, "{}", r.stderr);
        // mon stays, tue and the null partition are replaced.
        assert_eq!(
            rows(&s, &t, "id, coalesce(day, '-')"),
            ["1|mon", "8|-", "9|tue"]
        );
        let r = s.persist(&t, &again, &["--partition-by", "day"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("only goes with mode overwrite-partitions"),
            "{}",
            r.stderr
        );
        s.drop(&t);
    }
}
