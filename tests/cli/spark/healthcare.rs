//! The proof: `pipelines/healthcare.toml` as shipped, on the bundled
//! generated sample, run by both engines gives the same gold tables (same
//! rows, sorted; the same types where Spark has them), and the stages that
//! pull their input back from Spark (persist, extract) and the transfers
//! give the same files.

use std::path::{Path, PathBuf};

use crate::common::{column_types, etl, ok, tempdir};

const GOLD: &[&str] = &[
    "city_report",
    "top_prescribers",
    "df_city_final",
    "df_presc_final",
];

/// Types a local run has and Spark has not, with what Spark writes instead
/// (README, "On a Spark cluster": differences).
const WIDENED: &[(&str, &str)] = &[("u32", "i64")];

/// Runs the shipped pipeline with its defaults (bundled inputs, SQLite,
/// warehouse folder, local delivery folders) under `home`.
fn run_healthcare(home: &Path, engine: &[&str]) -> serde_json::Value {
    let manifest = home.join("manifest.json");
    let mut cmd = etl();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run-pipeline", "pipelines/healthcare.toml", "-q"])
        .args(["--var", "run_date=2026-01-01", "--manifest"])
        .arg(&manifest)
        .args(engine)
        .env("ETL_HOME", home);
    for v in [
        "ETL_PRESC_INPUT",
        "ETL_CITY_INPUT",
        "ETL_WAREHOUSE_DIR",
        "ETL_POSTGRES_URL",
        "ETL_S3_URL",
        "ETL_AZURE_URL",
        "ETL_SFTP_URL",
        "ETL_SSH_IDENTITY",
        "ETL_SSH_KNOWN_HOSTS",
    ] {
        cmd.env_remove(v);
    }
    let r = crate::common::Run::from(cmd.output().unwrap());
    assert_eq!(r.code, 0, "run-pipeline {engine:?}: {}", r.stderr);
    serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap()
}

/// A table's rows as CSV lines, sorted (row order is not part of the contract).
fn sorted_rows(path: &Path) -> Vec<String> {
    let csv = ok(&["ingest", path.to_str().unwrap(), "--to", "csv"]).stdout;
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let header = lines.remove(0);
    lines.sort();
    lines.insert(0, header);
    lines
}

fn gold(home: &Path, name: &str) -> PathBuf {
    home.join("gold").join(format!("{name}.parquet"))
}

#[test]
fn the_healthcare_pipeline_gives_the_local_gold_tables() {
    let Some(remote) = super::remote() else {
        return;
    };
    let (local, spark) = (tempdir(), tempdir());
    let local_run = run_healthcare(local.path(), &[]);
    let spark_run = run_healthcare(spark.path(), &["--engine", "spark", "--remote", &remote]);
    for name in GOLD {
        let (a, b) = (gold(local.path(), name), gold(spark.path(), name));
        assert!(b.is_dir(), "{name}: Spark writes a folder of part files");
        let (ra, rb) = (sorted_rows(&a), sorted_rows(&b));
        assert!(ra.len() > 10, "{name}: {} rows", ra.len());
        let only_local: Vec<&String> = ra.iter().filter(|r| !rb.contains(r)).take(3).collect();
        let only_spark: Vec<&String> = rb.iter().filter(|r| !ra.contains(r)).take(3).collect();
        assert!(
            ra == rb,
            "{name}: {} rows locally, {} on Spark; only local: {only_local:?}; only Spark: {only_spark:?}",
            ra.len(),
            rb.len()
        );
        let (ta, tb) = (column_types(&a), column_types(&b));
        let same = ta.len() == tb.len()
            && ta
                .iter()
                .zip(&tb)
                .all(|(l, s)| l == s || WIDENED.iter().any(|(from, to)| l == from && s == to));
        assert!(same, "{name}: types locally {ta:?}, on Spark {tb:?}");
    }
    // The pulled-back stages wrote the same tables and files.
    for table in ["df_city_final", "df_presc_final"] {
        let count = |home: &Path| {
            ok(&[
                "ingest",
                &format!("sqlite://{}/healthcare.db", home.display()),
                "--table",
                table,
                "--to",
                "csv",
            ])
            .stdout
            .lines()
            .count()
        };
        assert_eq!(
            count(local.path()),
            count(spark.path()),
            "{table} in SQLite"
        );
        let warehouse = |home: &Path| {
            sorted_rows(&home.join(format!(
                "warehouse/prescpipeline/{table}/delivery_date=2026-01-01"
            )))
        };
        assert_eq!(
            warehouse(local.path()),
            warehouse(spark.path()),
            "{table} in the warehouse"
        );
    }
    for copy in ["s3", "azure", "sftp"] {
        let delivered = |home: &Path| {
            let dir = home.join(format!("delivery/{copy}/healthcare/2026-01-01"));
            (
                sorted_rows(&dir.join("city_report.json.bz2")),
                sorted_rows(&dir.join("presc_report")),
            )
        };
        assert_eq!(
            delivered(local.path()),
            delivered(spark.path()),
            "{copy} delivery"
        );
    }
    // The manifest: the same rows per stage, and Spark's operation ids.
    let stages = |m: &serde_json::Value| -> Vec<(
        String,
        serde_json::Value,
        serde_json::Value,
        serde_json::Value,
    )> {
        m["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["rows_in"].clone(),
                    s["rows_out"].clone(),
                    s["rows_rejected"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(stages(&local_run), stages(&spark_run));
    for s in spark_run["stages"].as_array().unwrap() {
        let ids = s["spark_operations"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(s["kind"] == "transfer", ids == 0, "{s}");
    }
}
