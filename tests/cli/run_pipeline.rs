//! `etl run-pipeline`: the healthcare pipeline on the bundled sample with
//! embedded defaults, validation of whole files, the lock, idempotent
//! re-runs, failures that leave nothing behind, manifests and logs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::healthcare::assert_same_report;

/// `etl run-pipeline ARGS` from the repository root, with ETL_HOME = `home`
/// and no ETL_* target variables inherited.
fn pipeline(home: &Path, args: &[&str]) -> Run {
    run_pipeline_in_repo(home, &[], args)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn manifests(home: &Path) -> Vec<PathBuf> {
    let mut m: Vec<PathBuf> = std::fs::read_dir(home.join("_runs"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    m.sort();
    m
}

fn sqlite_count(db: &Path, sql: &str) -> String {
    let py = python_with(&["sqlite3"]).expect("python3");
    let out = Command::new(py)
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(sys.argv[2]).fetchall())",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn csv_of(path: &Path) -> String {
    ok(&["ingest", path.to_str().unwrap(), "--to", "csv"]).stdout
}

#[test]
fn healthcare_pipeline_runs_with_embedded_defaults_and_matches_the_reference() {
    let home = tempdir();
    let h = home.path();
    let r = pipeline(
        h,
        &["pipelines/healthcare.toml", "--var", "run_date=2026-11-20"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("[clean-presc] done in"), "{}", r.stderr);

    // Medallion layout and the two reports, equal to DuckDB's.
    for f in [
        "bronze/presc.parquet",
        "bronze/city.parquet",
        "silver/presc.parquet",
        "silver/city.parquet",
    ] {
        assert!(h.join(f).is_file(), "{f} missing");
    }
    assert_same_report(
        &csv_of(&h.join("gold/city_report.parquet")),
        "healthcare/city_report.expected.csv",
    );
    assert_same_report(
        &csv_of(&h.join("gold/top_prescribers.parquet")),
        "healthcare/top_prescribers.expected.csv",
    );

    // Warehouse: one delivery_date partition per table, readable as a table.
    let wh = h.join("warehouse/prescpipeline");
    assert!(wh.join("df_city_final/delivery_date=2026-11-20").is_dir());
    assert!(wh.join("df_city_final/_SUCCESS").is_file());
    let city_rows = fixture_text("healthcare/city_report.expected.csv")
        .lines()
        .count()
        - 1;
    let presc_rows = fixture_text("healthcare/top_prescribers.expected.csv")
        .lines()
        .count()
        - 1;
    let n = |dir: &Path| {
        let shown = ok(&["inspect", dir.to_str().unwrap(), "--json", "--no-stats"]).stdout;
        serde_json::from_str::<serde_json::Value>(&shown).unwrap()["rows"].clone()
    };
    assert_eq!(n(&wh.join("df_city_final")), city_rows);

    // SQLite, the embedded database.
    let db = h.join("healthcare.db");
    assert_eq!(
        sqlite_count(
            &db,
            "select count(*), min(delivery_date), max(delivery_date) from df_city_final"
        ),
        format!("[({city_rows}, '2026-11-20', '2026-11-20')]")
    );
    assert_eq!(
        sqlite_count(&db, "select count(*) from df_presc_final"),
        format!("[({presc_rows},)]")
    );

    // Extracts: JSON lines in bzip2, one file; ORC snappy, two files.
    let delivery = h.join("gold/delivery/2026-11-20");
    assert_eq!(
        files_under(&delivery),
        [
            "city_report.json.bz2",
            "presc_report/_SUCCESS",
            "presc_report/part-00000.orc",
            "presc_report/part-00001.orc"
        ]
    );
    let extracted = csv_of(&delivery.join("city_report.json.bz2"));
    assert_eq!(extracted.lines().count() - 1, city_rows);
    let orc = csv_of(&delivery.join("presc_report"));
    assert_eq!(orc.lines().count() - 1, presc_rows);

    // Transfers with no target set land in local folders, under a dated prefix.
    for target in ["s3", "azure", "sftp"] {
        let landed = h.join(format!("delivery/{target}/healthcare/2026-11-20"));
        assert_eq!(files_under(&landed), files_under(&delivery), "{target}");
    }

    // The manifest: every stage succeeded, with rows and checksums.
    let runs = manifests(h);
    assert_eq!(runs.len(), 1);
    let m = json(&runs[0]);
    assert_eq!(m["status"], "succeeded");
    assert_eq!(m["run_date"], "2026-11-20");
    let stages = m["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 15);
    assert!(stages.iter().all(|s| s["status"] == "succeeded"), "{m:#}");
    let clean = stages.iter().find(|s| s["name"] == "clean-presc").unwrap();
    assert_eq!(clean["rows_in"], 5000);
    let out = clean["rows_out"].as_u64().unwrap();
    assert_eq!(
        clean["rows_removed_by_ops"].as_i64().unwrap(),
        5000 - out as i64
    );
    assert_eq!(clean["outputs"][0]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn rerunning_a_run_date_replaces_its_partitions_instead_of_duplicating() {
    let home = tempdir();
    let h = home.path();
    for date in ["2026-11-20", "2026-11-20", "2026-11-21"] {
        let r = pipeline(
            h,
            &[
                "pipelines/healthcare.toml",
                "--var",
                &format!("run_date={date}"),
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let city_rows = fixture_text("healthcare/city_report.expected.csv")
        .lines()
        .count()
        - 1;
    let db = h.join("healthcare.db");
    assert_eq!(
        sqlite_count(
            &db,
            "select delivery_date, count(*) from df_city_final group by 1 order by 1"
        ),
        format!("[('2026-11-20', {city_rows}), ('2026-11-21', {city_rows})]")
    );
    let parts: Vec<String> = std::fs::read_dir(h.join("warehouse/prescpipeline/df_city_final"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("delivery_date="))
        .collect();
    assert_eq!(parts.len(), 2, "{parts:?}");
    let one = h.join("warehouse/prescpipeline/df_city_final/delivery_date=2026-11-20");
    assert_eq!(csv_of(&one).lines().count() - 1, city_rows);
    assert_eq!(manifests(h).len(), 3);
}

#[test]
fn check_reports_every_problem_with_its_line_and_touches_nothing() {
    let dir = tempdir();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        r#"[pipeline]
name = "bad"
root = "ROOT"

[[stage]]
name = "in"
ingest = "x.csv"
output = "bronze.x"

[[stage]]
name = "clean"
input = "bronze.x"
ops = [
  { upper = ["a"] },
  { selct = ["a"] },
]
output = "silver.x"

[[stage]]
name = "load"
input = "silver.y"
persist = [ { target = "sqlite://db.sqlite", table = "t", mode = "apend" } ]

[[stage]]
name = "late"
input = "silver.x"
extract = { path = "out/report.{nope}" }
"#
        .replace("ROOT", &dir.path().join("root").display().to_string()),
    )
    .unwrap();
    let r = run(&["run-pipeline", "--check", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let shown = file.display().to_string();
    for expected in [
        format!("{shown}:15: stage 'clean': op 2: unknown variant `selct`"),
        format!("{shown}:21: stage 'load': no stage writes dataset 'silver.y'"),
        format!("{shown}:22: stage 'load': persist target 1: unknown mode 'apend'"),
        format!("{shown}:27: stage 'late': extract: unknown variable {{nope}}"),
    ] {
        assert!(
            r.stderr.contains(&expected),
            "missing «{expected}» in:\n{}",
            r.stderr
        );
    }
    assert!(r.stderr.contains("4 problems"), "{}", r.stderr);
    assert!(
        !dir.path().join("root").exists(),
        "validation must not write anything"
    );
}

/// A two-stage pipeline over a small CSV, for the lock and failure tests.
fn small_pipeline(dir: &Path, extra_ops: &str) -> PathBuf {
    let csv = csv_in(dir, "in.csv", "id,state\n1,CA\n2,XX\n3,NY\n");
    let file = dir.join("small.toml");
    std::fs::write(
        &file,
        format!(
            r#"[pipeline]
name = "small"
root = "{root}"

[[stage]]
name = "ingest"
ingest = "{csv}"
output = "bronze.t"

[[stage]]
name = "clean"
input = "bronze.t"
ops = [ {{ upper = ["state"] }}{extra_ops} ]
output = "silver.t"

[[stage]]
name = "report"
input = "silver.t"
extract = {{ path = "{root}/gold/t.csv" }}
"#,
            root = dir.join("root").display(),
        ),
    )
    .unwrap();
    file
}

#[test]
fn a_second_run_waits_for_nobody_it_exits_4_naming_the_holder() {
    let dir = tempdir();
    let file = small_pipeline(dir.path(), "");
    let lock = dir.path().join("root/.small.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "pid 4242 on elsewhere since earlier, run other\n").unwrap();
    // A live holder: python keeps an flock on the file while etl runs.
    let py = python_with(&["fcntl"]).expect("python3");
    let mut holder = Command::new(py)
        .args([
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
        ])
        .arg(&lock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let r = run(&["run-pipeline", file.to_str().unwrap()]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("another run holds the lock"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("pid 4242 on elsewhere"), "{}", r.stderr);
    assert!(!dir.path().join("root/bronze").exists());

    // The holder is gone: its lock file is stale and is taken over.
    let r = run(&["run-pipeline", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("took over the lock"), "{}", r.stderr);
    assert!(r.stderr.contains("pid 4242"), "{}", r.stderr);
}

#[test]
fn a_failing_stage_stops_the_run_leaves_no_output_and_is_in_the_manifest() {
    let dir = tempdir();
    let file = small_pipeline(
        dir.path(),
        r#", { check = { rule = "us-state", columns = ["state"] } }"#,
    );
    let r = run(&[
        "run-pipeline",
        file.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let root = dir.path().join("root");
    assert!(root.join("bronze/t.parquet").is_file());
    assert!(!root.join("silver").join("t.parquet").exists());
    assert!(!root.join("gold").exists());
    assert!(leftovers(&root.join("silver")).is_empty());
    let runs = manifests(&root);
    let m = json(&runs[0]);
    assert_eq!(m["status"], "failed");
    assert_eq!(m["exit_code"], 1);
    assert_eq!(m["stages"][0]["status"], "succeeded");
    assert_eq!(m["stages"][1]["status"], "failed");
    assert!(
        m["stages"][1]["error"].as_str().unwrap().contains("XX"),
        "{m:#}"
    );
    assert_eq!(m["stages"][2]["status"], "not-run");
    // Every stderr line is JSON with a timestamp.
    for line in r.stderr.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["ts"].is_string(), "{line}");
    }

    // With the rejects allowed, --from the failed stage completes the run.
    let fixed = small_pipeline(
        dir.path(),
        r#", { check = { rule = "us-state", columns = ["state"] } }"#,
    );
    let text = std::fs::read_to_string(&fixed).unwrap().replace(
        "output = \"silver.t\"",
        "output = \"silver.t\"\nrejects = \"quarantine.t\"\nmax-rejects = 5",
    );
    std::fs::write(&fixed, text).unwrap();
    let log = dir.path().join("logs/run.log");
    let r = run(&[
        "run-pipeline",
        fixed.to_str().unwrap(),
        "--from",
        "clean",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(csv_of(&root.join("gold/t.csv")), "id,state\n1,CA\n3,NY\n");
    assert_eq!(
        csv_of(&root.join("quarantine/t.parquet")).lines().count(),
        2
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("[clean] done in") && logged.contains("1 rejected"),
        "{logged}"
    );
    let m = json(manifests(&root).last().unwrap());
    assert_eq!(m["stages"][0]["status"], "skipped");
    assert_eq!(m["stages"][1]["rows_rejected"], 1);
}

#[test]
fn dry_run_prints_the_plan_and_only_checks_its_inputs() {
    let dir = tempdir();
    let file = small_pipeline(dir.path(), "");
    let r = run(&["run-pipeline", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("1. ingest"), "{}", r.stdout);
    assert!(r.stdout.contains("→ silver.t"), "{}", r.stdout);
    assert!(!dir.path().join("root").exists());
    // --only a stage whose input was never written: a clear usage error.
    let r = run(&["run-pipeline", file.to_str().unwrap(), "--only", "report"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("run stage 'clean' first"), "{}", r.stderr);
    let r = run(&["run-pipeline", file.to_str().unwrap(), "--from", "nope"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no stage named 'nope'") && r.stderr.contains("ingest, clean, report"),
        "{}",
        r.stderr
    );
}
