//! `run-pipeline --engine spark`: the same pipeline file on a real Spark
//! Connect server (scripts/services.sh starts one: `services.sh run spark
//! -- ...`; ETL_TEST_SPARK_REMOTE). Each translated op is run by both
//! engines over the same small table (nulls, ties, odd strings) and the
//! results compared; a pipeline gives the same gold table on both.

mod healthcare;
mod outputs;
mod sent;

use std::path::Path;

use crate::common::{etl, ok, run, tempdir};

/// The test server's URL; in CI it must be there, elsewhere the test is skipped.
fn remote() -> Option<String> {
    match std::env::var("ETL_TEST_SPARK_REMOTE") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok() => {
            panic!("CI must provide a Spark Connect server (scripts/services.sh run spark)")
        }
        Err(_) => {
            eprintln!("skipped: no Spark Connect server (ETL_TEST_SPARK_REMOTE)");
            None
        }
    }
}

const PEOPLE: &str = "id,name,city,n,score,day,code,us_day
1,\"  Ana  \",Boston,3,1.5,2024-01-02,a1b22,01/02/2024
2,bob,boston,,2.5,2024-01-03,x,01/03/2024
3,\"Émile, Jr.\",Paris,3,,2024-02-10,77z,02/10/2024
4,\"tab\there\",Paris,5,4.0,,,
5,ßtraße,Berlin,1,2.5,2024-03-01,q9,03/01/2024
6,O'Hara,Berlin,5,,2024-03-01,123,03/01/2024
7,ÅSA,,3,0.5,2024-01-02,z,01/02/2024
8,bob,Boston,3,2.5,2024-01-03,x,01/03/2024
";

const CITIES: &str = "city,country\nBoston,US\nParis,FR\nBerlin,DE\nBerlin,DE-2\n";
const EXTRA: &str = "id,name,extra\n9,nine,true\n10,,false\n";

/// Each op, as written in a pipeline file, and whether its row order matters.
const OPS: &[(&str, &str, bool)] = &[
    ("select", r#"{ select = ["city", "id"] }"#, false),
    ("rename", r#"{ rename = { name = "who" } }"#, false),
    ("drop", r#"{ drop = ["code", "us_day"] }"#, false),
    (
        "cast",
        r#"{ cast = { columns = { n = "float", id = "str" } } }"#,
        false,
    ),
    ("trim", r#"{ trim = ["name"] }"#, false),
    ("upper", r#"{ upper = ["name", "city"] }"#, false),
    ("lower", r#"{ lower = ["city"] }"#, false),
    (
        "replace",
        r##"{ replace = { column = "code", pattern = '\d', with = "#" } }"##,
        false,
    ),
    (
        "extract",
        r#"{ extract = { column = "code", pattern = '(\d+)', group = 1, type = "int", into = "num" } }"#,
        false,
    ),
    (
        "concat",
        r#"{ concat = { into = "label", columns = ["name", "city"], sep = "-" } }"#,
        false,
    ),
    (
        "constant",
        r#"{ constant = { column = "k", value = 7 } }"#,
        false,
    ),
    (
        "fill-value",
        r#"{ fill-null = { column = "n", value = 0 } }"#,
        false,
    ),
    (
        "fill-mean-by",
        r#"{ fill-null = { column = "score", with = "mean", by = ["city"], round = "half-away-from-zero" } }"#,
        false,
    ),
    (
        "fill-median",
        r#"{ fill-null = { column = "score", with = "median" } }"#,
        false,
    ),
    ("drop-nulls", r#"{ drop-nulls = ["n", "score"] }"#, false),
    ("dedup-first", r#"{ dedup = { key = ["city"] } }"#, false),
    (
        "dedup-last",
        r#"{ dedup = { key = ["name"], keep = "last" } }"#,
        false,
    ),
    ("dedup-rows", r#"{ dedup = {} }"#, false),
    (
        "filter",
        r#"{ filter = "n >= 3 and city is not null" }"#,
        false,
    ),
    (
        "derive",
        r#"{ derive = { column = "n2", sql = "n * 2 + id" } }"#,
        false,
    ),
    (
        "parse-date",
        r#"{ parse-date = { column = "us_day", format = "%m/%d/%Y" } }"#,
        false,
    ),
    (
        "group-by",
        r#"{ group-by = { by = ["city"], aggs = { rows = "count(*)", total = "sum(n)", mean = "avg(score)", kinds = "count_distinct(n)", low = "min(name)" } } }"#,
        false,
    ),
    (
        "rank",
        r#"{ rank = { into = "r", function = "dense-rank", partition-by = ["city"], order-by = ["n desc"] } }"#,
        false,
    ),
    (
        "rank-ties",
        r#"{ rank = { into = "r", function = "rank", order-by = ["n"] } }"#,
        false,
    ),
    (
        "row-number",
        r#"{ rank = { into = "r", function = "row-number", partition-by = ["city"], order-by = ["n"] } }"#,
        false,
    ),
    (
        "top-n",
        r#"{ top-n = { n = 1, partition-by = ["city"], order-by = ["n desc"], rank-column = "r" } }"#,
        false,
    ),
    ("sort", r#"{ sort = ["n desc nulls first", "city"] }"#, true),
    ("limit", r#"{ limit = 3 }"#, true),
    (
        "join",
        r#"{ join = { table = "{tables}/cities.parquet", on = ["city"], how = "left" } }"#,
        false,
    ),
    (
        "join-keys",
        r#"{ join = { table = "{tables}/cities.parquet", left-on = ["city"], right-on = ["city"], how = "inner" } }"#,
        false,
    ),
    (
        "semi",
        r#"{ join = { table = "{tables}/cities.parquet", on = ["city"], how = "semi" } }"#,
        false,
    ),
    ("union", r#"{ union = ["{tables}/extra.parquet"] }"#, false),
    (
        "sql",
        r#"{ sql = { query = "select city, count(*) as c, max(n) as top from input group by city" } }"#,
        false,
    ),
];

/// A pipeline with one ops stage per op over the same bronze table, each
/// extracted to OUT/NAME.csv.
fn ops_pipeline(dir: &Path, tables: &Path) -> String {
    let mut text = format!(
        "[pipeline]\nname = \"ops\"\nroot = \"{}\"\n\n[vars]\ntables = \"{}\"\n\n[[stage]]\nname = \"ingest\"\ningest = \"{}\"\noutput = \"bronze.people\"\n",
        dir.join("root").display(),
        tables.display(),
        tables.join("people.parquet").display()
    );
    for (name, op, _) in OPS {
        let id = name.replace('-', "_");
        text.push_str(&format!(
            "\n[[stage]]\nname = \"op-{name}\"\ninput = \"bronze.people\"\nops = [ {op} ]\noutput = \"gold.{id}\"\n\n[[stage]]\nname = \"extract-{name}\"\ninput = \"gold.{id}\"\nextract = {{ path = \"{}/{name}.csv\" }}\n",
            dir.join("out").display()
        ));
    }
    text
}

fn write_tables(dir: &Path) {
    for (name, text) in [("people", PEOPLE), ("cities", CITIES), ("extra", EXTRA)] {
        let csv = dir.join(format!("{name}.csv"));
        std::fs::write(&csv, text).unwrap();
        let pq = dir.join(format!("{name}.parquet"));
        ok(&["ingest", csv.to_str().unwrap(), "-o", pq.to_str().unwrap()]);
    }
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = lines.remove(0);
    lines.sort();
    lines.insert(0, header);
    lines
}

fn run_pipeline(file: &Path, engine: &[&str]) -> crate::common::Run {
    let mut args = vec!["run-pipeline", file.to_str().unwrap()];
    args.extend_from_slice(engine);
    let r = run(&args);
    assert_eq!(r.code, 0, "run-pipeline {engine:?}: {}", r.stderr);
    r
}

#[test]
fn every_translated_op_gives_the_local_result() {
    let Some(remote) = remote() else { return };
    let tables = tempdir();
    write_tables(tables.path());
    let (local, spark) = (tempdir(), tempdir());
    for dir in [&local, &spark] {
        std::fs::write(
            dir.path().join("p.toml"),
            ops_pipeline(dir.path(), tables.path()),
        )
        .unwrap();
    }
    run_pipeline(&local.path().join("p.toml"), &[]);
    run_pipeline(
        &spark.path().join("p.toml"),
        &["--engine", "spark", "--remote", &remote],
    );
    let mut differ = Vec::new();
    for (name, _, ordered) in OPS {
        let read =
            |d: &Path| std::fs::read_to_string(d.join("out").join(format!("{name}.csv"))).unwrap();
        let (a, b) = (read(local.path()), read(spark.path()));
        let (a, b) = if *ordered {
            (
                a.lines().map(str::to_string).collect(),
                b.lines().map(str::to_string).collect(),
            )
        } else {
            (sorted_lines(&a), sorted_lines(&b))
        };
        if a != b {
            differ.push(format!("{name}:\n  local: {a:?}\n  spark: {b:?}"));
        }
    }
    assert!(
        differ.is_empty(),
        "ops that differ on Spark:\n{}",
        differ.join("\n")
    );
}

#[test]
fn a_pipeline_gives_the_same_gold_table_and_records_spark_operations() {
    let Some(remote) = remote() else { return };
    let tables = tempdir();
    write_tables(tables.path());
    let (local, spark) = (tempdir(), tempdir());
    for dir in [&local, &spark] {
        let text = format!(
            r#"[pipeline]
name = "small"
root = "{root}"

[[stage]]
name = "ingest"
ingest = "{csv}"
output = "bronze.people"

[[stage]]
name = "clean"
input = "bronze.people"
ops = [
  {{ trim = ["name"] }},
  {{ upper = ["city"] }},
  {{ fill-null = {{ column = "score", with = "mean", by = ["city"], round = "half-away-from-zero" }} }},
  {{ drop-nulls = ["city"] }},
  {{ dedup = {{ key = ["name", "city"] }} }},
]
output = "silver.people"

[[stage]]
name = "report"
input = "silver.people"
ops = [
  {{ group-by = {{ by = ["city"], aggs = {{ people = "count(*)", score = "sum(score)" }} }} }},
  {{ sort = ["people desc", "city"] }},
]
output = "gold.report"

[[stage]]
name = "extract"
input = "gold.report"
extract = {{ path = "{out}/report.csv" }}
"#,
            root = dir.path().join("root").display(),
            csv = tables.path().join("people.csv").display(),
            out = dir.path().display(),
        );
        std::fs::write(dir.path().join("p.toml"), text).unwrap();
    }
    run_pipeline(&local.path().join("p.toml"), &[]);
    let manifest = spark.path().join("m.json");
    run_pipeline(
        &spark.path().join("p.toml"),
        &[
            "--engine",
            "spark",
            "--remote",
            &remote,
            "--manifest",
            manifest.to_str().unwrap(),
        ],
    );
    let read = |d: &Path| std::fs::read_to_string(d.join("report.csv")).unwrap();
    assert_eq!(read(local.path()), read(spark.path()));
    assert!(read(spark.path()).lines().count() > 2);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let stages = m["stages"].as_array().unwrap();
    let clean = stages.iter().find(|s| s["name"] == "clean").unwrap();
    assert_eq!(clean["rows_in"], 8, "{clean}");
    assert_eq!(
        clean["rows_out"].as_u64().unwrap() + clean["rows_removed_by_ops"].as_u64().unwrap(),
        8
    );
    for s in stages.iter().filter(|s| s["kind"] != "transfer") {
        let ids = s["spark_operations"]
            .as_array()
            .unwrap_or_else(|| panic!("no operation ids: {s}"));
        assert!(
            ids.iter()
                .all(|i| i.as_str().is_some_and(|i| i.len() == 36)),
            "{s}"
        );
    }
}

#[test]
fn check_lists_ops_without_a_translation_with_their_lines() {
    let dir = tempdir();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "[[stage]]\nname = \"in\"\ningest = \"x.csv\"\noutput = \"bronze.x\"\n\n[[stage]]\nname = \"clean\"\ninput = \"bronze.x\"\nops = [\n  { upper = [\"a\"] },\n  { title = [\"a\"] },\n  { check = { rule = \"not-null\", column = \"a\" } },\n]\noutput = \"silver.x\"\n",
    )
    .unwrap();
    // No server is needed (and none is contacted): the check reads no data.
    let r = run(&[
        "run-pipeline",
        "--check",
        file.to_str().unwrap(),
        "--engine",
        "spark",
        "--remote",
        "sc://127.0.0.1:9/;token=s3cr3t-token",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let shown = file.display().to_string();
    assert!(
        r.stderr.contains(&format!(
            "{shown}:11: stage 'clean': op 2 (title): no Spark translation"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{shown}:12: stage 'clean': op 3 (check): no Spark translation"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(":10:"), "upper translates: {}", r.stderr);
    assert!(!r.stderr.contains("s3cr3t"));
    assert!(!dir.path().join("out").exists(), "nothing ran");
    // The same file passes the local check.
    ok(&["run-pipeline", "--check", file.to_str().unwrap()]);
}

#[test]
fn an_unreachable_server_is_exit_3_and_the_token_stays_hidden() {
    let dir = tempdir();
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "a\n1\n").unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        format!(
            "[pipeline]\nroot = \"{}\"\n\n[[stage]]\nname = \"in\"\ningest = \"{}\"\noutput = \"bronze.x\"\n",
            dir.path().join("root").display(),
            csv.display()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = etl()
        .args(["run-pipeline", file.to_str().unwrap(), "--engine", "spark"])
        .env(
            "SPARK_REMOTE",
            format!("sc://127.0.0.1:{port}/;token=s3cr3t-token"),
        )
        .output()
        .unwrap();
    let r = crate::common::Run::from(out);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "cannot reach the Spark Connect server at sc://127.0.0.1:{port}"
        )),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("s3cr3t") && !r.stdout.contains("s3cr3t"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("root").exists(), "nothing was written");
}

#[test]
fn a_spark_error_names_the_stage_and_the_op() {
    let Some(remote) = remote() else { return };
    let tables = tempdir();
    write_tables(tables.path());
    let dir = tempdir();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        format!(
            "[pipeline]\nroot = \"{}\"\n\n[[stage]]\nname = \"in\"\ningest = \"{}\"\noutput = \"bronze.x\"\n\n[[stage]]\nname = \"bad\"\ninput = \"bronze.x\"\nops = [ {{ upper = [\"name\"] }}, {{ filter = \"no_such_column > 1\" }} ]\noutput = \"silver.x\"\n",
            dir.path().join("root").display(),
            tables.path().join("people.parquet").display()
        ),
    )
    .unwrap();
    let r = run(&[
        "run-pipeline",
        file.to_str().unwrap(),
        "--engine",
        "spark",
        "--remote",
        &remote,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("stage 'bad': op 2 (filter): ") && r.stderr.contains("no_such_column"),
        "{}",
        r.stderr
    );
}
