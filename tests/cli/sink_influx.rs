//! `etl persist influxdb://…`: points written to a real InfluxDB 1.x
//! (Debian's influxdb, started by scripts/services.sh) and read back with
//! the server's own /query API: every point, tag and field, awkward strings
//! included.

use std::process::Command;

use serde_json::Value;

use crate::common::*;
use crate::transfer::{need, unique, var};

fn server() -> Option<String> {
    need(&["ETL_TEST_INFLUX_HOSTPORT"], "InfluxDB").then(|| var("ETL_TEST_INFLUX_HOSTPORT"))
}

/// An InfluxQL statement through the HTTP API (times as integer ns).
fn query(db: &str, q: &str) -> Value {
    let out = Command::new("curl")
        .args(["-sS", "-XPOST", "-G"])
        .arg(format!("http://{}/query", var("ETL_TEST_INFLUX_HOSTPORT")))
        .args(["--data-urlencode", &format!("db={db}")])
        .args(["--data-urlencode", "epoch=ns"])
        .args(["--data-urlencode", &format!("q={q}")])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["results"][0].get("error").is_none(), "{q}: {v}");
    v
}

fn new_db() -> String {
    let db = unique("etl_sink").replace('-', "_");
    query("", &format!("CREATE DATABASE \"{db}\""));
    db
}

/// The rows of a result: one map of column → value per row.
fn rows_of(v: &Value) -> Vec<serde_json::Map<String, Value>> {
    let Some(series) = v["results"][0]["series"].as_array() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in series {
        let cols: Vec<&str> = s["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for row in s["values"].as_array().unwrap() {
            let mut m = serde_json::Map::new();
            for (c, x) in cols.iter().zip(row.as_array().unwrap()) {
                m.insert(c.to_string(), x.clone());
            }
            out.push(m);
        }
    }
    out
}

/// An InfluxQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Awkward text for tags and fields: every character line protocol escapes.
const AWKWARD: &[&str] = &[
    "plain",
    "with space",
    "comma,inside",
    "equals=sign",
    "quote\"d",
    "back\\slash",
    "back\\ slash space",
    "ünïcödé ✓ 水",
    "a,b=c d\"e\\f",
];

#[test]
fn influx_points_tags_and_fields_round_trip_with_awkward_strings() {
    let Some(host) = server() else { return };
    let db = new_db();
    let dir = tempdir();
    // One row per awkward text, which is both a tag value and a string
    // field (and the field text also gets a line break).
    let mut csv = String::from("ts,site name,n,x,ok,note\n");
    for (i, s) in AWKWARD.iter().enumerate() {
        let field = format!("{s}\nline {i}");
        csv.push_str(&format!(
            "2026-11-30T10:00:{i:02}.123456,\"{}\",{},{},{},\"{}\"\n",
            s.replace('"', "\"\""),
            i as i64 - 3,
            i as f64 * 0.5 + 0.25,
            i % 2 == 0,
            field.replace('"', "\"\""),
        ));
    }
    // A row whose fields are all null: skipped, and counted.
    csv.push_str("2026-11-30T10:01:00,lonely,,,,\n");
    let input = csv_in(dir.path(), "in.csv", &csv);
    let measurement = "water level,ü=1";
    let url = format!("influxdb://{host}/{db}");
    let r = ok(&[
        "persist",
        &url,
        "--measurement",
        measurement,
        "--tags",
        "site name",
        "--time",
        "ts",
        "-i",
        &input,
        "--json",
    ]);
    let n = AWKWARD.len();
    assert!(
        r.stderr.contains(&format!(
            "wrote {n} points to {url} (append, 1 rows skipped: every field null)"
        )),
        "{}",
        r.stderr
    );
    let summary: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(summary["rows"], n as u64);
    assert_eq!(summary["skipped"], 1);

    let got = rows_of(&query(
        &db,
        &format!("SELECT * FROM {} ORDER BY time", ident(measurement)),
    ));
    assert_eq!(got.len(), n, "{got:?}");
    let base = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_micro_opt(10, 0, 0, 123_456)
        .unwrap()
        .and_utc()
        .timestamp_nanos_opt()
        .unwrap();
    for (i, (row, s)) in got.iter().zip(AWKWARD).enumerate() {
        assert_eq!(row["time"], base + i as i64 * 1_000_000_000, "{row:?}");
        assert_eq!(row["site name"], *s, "{row:?}");
        assert_eq!(row["n"], i as i64 - 3);
        assert_eq!(row["x"].as_f64().unwrap(), i as f64 * 0.5 + 0.25);
        assert_eq!(row["ok"], i % 2 == 0);
        assert_eq!(row["note"], format!("{s}\nline {i}"));
    }
    // Tags are tags and fields have their types.
    let tags = rows_of(&query(
        &db,
        &format!(
            "SHOW TAG VALUES FROM {} WITH KEY = \"site name\"",
            ident(measurement)
        ),
    ));
    let mut want: Vec<&str> = AWKWARD.to_vec();
    want.sort();
    let mut have: Vec<String> = tags
        .iter()
        .map(|t| t["value"].as_str().unwrap().to_string())
        .collect();
    have.sort();
    assert_eq!(have, want);
    let fields = rows_of(&query(
        &db,
        &format!("SHOW FIELD KEYS FROM {}", ident(measurement)),
    ));
    let types: std::collections::BTreeMap<String, String> = fields
        .iter()
        .map(|f| {
            (
                f["fieldKey"].as_str().unwrap().to_string(),
                f["fieldType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: std::collections::BTreeMap<String, String> = [
        ("n", "integer"),
        ("note", "string"),
        ("ok", "boolean"),
        ("x", "float"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(types, want);
}

#[test]
fn influx_large_loads_go_in_batches_and_count_exactly() {
    let Some(host) = server() else { return };
    let db = new_db();
    let dir = tempdir();
    let rows = 12_345;
    let mut csv = String::from("ts,sensor,value\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "2026-01-01T00:00:00.{:06},s{},{}\n",
            i % 1_000_000,
            i % 7,
            i
        ));
    }
    let input = csv_in(dir.path(), "big.csv", &csv);
    // The server runs without authentication and ignores the credentials;
    // they must not show anywhere.
    let url = format!("influxdb://etl:pw-ok-7731@{host}/{db}");
    let r = ok(&[
        "persist",
        &url,
        "--measurement",
        "m",
        "--tags",
        "sensor",
        "--time",
        "ts",
        "-i",
        &input,
        "--json",
    ]);
    assert!(
        r.stderr.contains(&format!(
            "wrote {rows} points to influxdb://etl:***@{host}/{db}"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("pw-ok-7731") && !r.stdout.contains("pw-ok-7731"));
    let got = rows_of(&query(&db, "SELECT count(value), sum(value) FROM m"));
    assert_eq!(got[0]["count"], rows);
    assert_eq!(got[0]["sum"], (0..rows as i64).sum::<i64>());
}

#[test]
fn influx_rejected_point_is_a_data_error_naming_the_line() {
    let Some(host) = server() else { return };
    let db = new_db();
    // The field `v` already holds strings in the shard (one week of time)
    // the new points fall in: a float is refused by the server.
    let out = Command::new("curl")
        .args([
            "-sS",
            "-XPOST",
            "--data-binary",
            "m v=\"text\" 1767225602000000000",
        ])
        .arg(format!("http://{host}/write?db={db}"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempdir();
    let input = csv_in(
        dir.path(),
        "in.csv",
        "ts,site,v\n2026-01-01T00:00:00,north,1.5\n2026-01-01T00:00:01,south,2.5\n",
    );
    let url = format!("influxdb://{host}/{db}");
    let r = fails(
        &[
            "persist",
            &url,
            "--measurement",
            "m",
            "--tags",
            "site",
            "--time",
            "ts",
            "-i",
            &input,
        ],
        1,
    );
    assert!(
        r.stderr
            .contains("first rejected line: m,site=north v=1.5 1767225600000000"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("field type conflict"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "0 points were written before this batch, the server kept 0 of this batch's 2 points"
        ),
        "{}",
        r.stderr
    );
    let got = rows_of(&query(&db, "SELECT count(v) FROM m"));
    assert_eq!(
        got[0]["count"], 1,
        "only the point written by curl is there"
    );
}

#[test]
fn influx_down_or_missing_database_exits_3_and_says_so() {
    let Some(host) = server() else { return };
    let dir = tempdir();
    let input = csv_in(dir.path(), "in.csv", "ts,v\n2026-01-01T00:00:00,1\n");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let args = ["--measurement", "m", "--time", "ts", "-i", input.as_str()];
    let url = format!("influxdb://etl:pw-dead-9137@127.0.0.1:{dead}/db");
    let mut a = vec!["persist", url.as_str()];
    a.extend(args);
    let r = fails(&a, 3);
    assert!(r.stderr.contains("does not answer"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert!(!r.stderr.contains("pw-dead-9137"), "{}", r.stderr);

    let url = format!("influxdb://{host}/{}", unique("nodb").replace('-', "_"));
    let mut a = vec!["persist", url.as_str()];
    a.extend(args);
    let r = fails(&a, 3);
    assert!(r.stderr.contains("CREATE DATABASE"), "{}", r.stderr);
    assert!(r.stderr.contains("0 points were written"), "{}", r.stderr);
}

#[test]
fn influx_refuses_other_modes_and_missing_flags_before_any_io() {
    let dir = tempdir();
    let input = csv_in(dir.path(), "in.csv", "ts,v\n2026-01-01T00:00:00,1\n");
    // Port 9 (discard): never contacted, the checks come first.
    let url = "influxdb://127.0.0.1:9/db";
    let r = fails(
        &[
            "persist",
            url,
            "--measurement",
            "m",
            "--time",
            "ts",
            "--mode",
            "full-refresh",
            "-i",
            &input,
        ],
        2,
    );
    assert!(r.stderr.contains("append only"), "{}", r.stderr);
    let r = fails(&["persist", url, "--time", "ts", "-i", &input], 2);
    assert!(r.stderr.contains("--measurement"), "{}", r.stderr);
    let r = fails(&["persist", url, "--measurement", "m", "-i", &input], 2);
    assert!(r.stderr.contains("--time COL"), "{}", r.stderr);
    let r = fails(
        &[
            "persist",
            url,
            "--measurement",
            "m",
            "--time",
            "v",
            "-i",
            &input,
        ],
        2,
    );
    assert!(
        r.stderr.contains("a timestamp or date column is needed"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "persist",
            "sqlite://x.db",
            "--table",
            "t",
            "--measurement",
            "m",
            "-i",
            &input,
        ],
        2,
    );
    assert!(r.stderr.contains("go with influxdb://"), "{}", r.stderr);
}

/// InfluxDB 1.6 has no /api/v2/write (1.8 added it), and no 2.x server is
/// packaged here: the v2 path is checked as far as a real server allows,
/// its request reaching the server and the refusal explained.
#[test]
fn influx2_against_a_1x_server_says_the_v2_api_is_missing_and_hides_the_token() {
    let Some(host) = server() else { return };
    let dir = tempdir();
    let input = csv_in(dir.path(), "in.csv", "ts,v\n2026-01-01T00:00:00,1\n");
    let url = format!("influxdb2://{host}/bucket?org=acme");
    let out = etl()
        .args([
            "persist",
            &url,
            "--measurement",
            "m",
            "--time",
            "ts",
            "-i",
            &input,
        ])
        .env("INFLUX_TOKEN", "tok-secret-4711")
        .output()
        .unwrap();
    let r: Run = out.into();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("/api/v2/write"), "{}", r.stderr);
    assert!(r.stderr.contains("0 points were written"), "{}", r.stderr);
    assert!(!r.stderr.contains("tok-secret-4711") && !r.stdout.contains("tok-secret-4711"));
}

#[test]
fn influx_pipeline_persist_target_takes_measurement_tags_and_time() {
    let Some(host) = server() else { return };
    let db = new_db();
    let dir = tempdir();
    let input = csv_in(
        dir.path(),
        "in.csv",
        "ts,site,level\n2026-01-01T00:00:00,a,1.5\n2026-01-01T00:00:01,b,2.5\n",
    );
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"[pipeline]
name = "influx"
root = "{root}"

[[stage]]
name = "load"
ingest = "{input}"
output = "bronze.readings"

[[stage]]
name = "to-influx"
input = "bronze.readings"
persist = [ {{ target = "influxdb://{host}/{db}", measurement = "levels", tags = ["site"], time = "ts" }} ]
"#,
            root = dir.path().join("root").display(),
        ),
    )
    .unwrap();
    let r = run(&["run-pipeline", pipeline.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = rows_of(&query(&db, "SELECT level, site FROM levels ORDER BY time"));
    let sites: Vec<&str> = got.iter().map(|r| r["site"].as_str().unwrap()).collect();
    assert_eq!(sites, ["a", "b"]);
}

#[test]
fn influx_a_bad_row_mid_load_stops_it_and_says_what_landed() {
    let Some(host) = server() else { return };
    let db = new_db();
    let dir = tempdir();
    // The first batch (5,000 rows) is fine; row 5,001's tag value ends in
    // a backslash, which line protocol cannot hold.
    let mut csv = String::from("ts,site,v\n");
    for i in 0..5_000 {
        csv.push_str(&format!("2026-01-01T00:00:00.{i:06},ok,{i}\n"));
    }
    csv.push_str("2026-01-01T00:00:01,bad\\,1\n");
    let input = csv_in(dir.path(), "in.csv", &csv);
    let url = format!("influxdb://{host}/{db}");
    let r = fails(
        &[
            "persist",
            &url,
            "--measurement",
            "m",
            "--tags",
            "site",
            "--time",
            "ts",
            "-i",
            &input,
        ],
        1,
    );
    assert!(r.stderr.contains("row 5001, column 'site'"), "{}", r.stderr);
    assert!(r.stderr.contains("trailing backslash"), "{}", r.stderr);
    let got = rows_of(&query(&db, "SELECT count(v) FROM m"));
    let landed = got[0]["count"].as_u64().unwrap();
    assert_eq!(landed, 5_000);
    assert!(
        r.stderr
            .contains(&format!("{landed} points were written to {url} before it")),
        "{}",
        r.stderr
    );
}
