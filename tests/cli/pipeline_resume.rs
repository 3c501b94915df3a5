//! `run-pipeline --resume` continues the latest failed or killed run from
//! its manifest and ends with the same outputs as a run never stopped;
//! it refuses when that could mix old and new results. A stage past its
//! timeout fails the run at the deadline.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::pipeline_graph::{healthcare, manifest, pipeline_file, stage};

/// A named pipe: opening it for reading blocks until someone writes, so a
/// stage ingesting it waits for as long as the test wants.
fn fifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path only.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// The data files under `dir` (no _SUCCESS markers), each as CSV.
fn contents(dir: &Path) -> Vec<(String, String)> {
    files_under(dir)
        .into_iter()
        .filter(|f| !f.ends_with("_SUCCESS"))
        .map(|f| {
            let path = dir.join(&f);
            (f, as_csv(&path, &[]))
        })
        .collect()
}

#[test]
fn a_failed_healthcare_run_resumed_ends_like_an_uninterrupted_run() {
    let home = tempdir();
    let h = home.path();
    // The S3 stand-in is a file, not a folder: the transfer there fails (I/O).
    let s3 = h.join("s3-target");
    std::fs::write(&s3, "in the way").unwrap();
    let env = [("ETL_S3_URL", s3.as_path())];
    let date = ["--var", "run_date=2026-11-20"];
    let r = healthcare(h, &env, &[&date[..], &["--jobs", "1"]].concat());
    assert_eq!(r.code, 3, "{}", r.stderr);
    let failed = manifest(h);
    assert_eq!(failed["status"], "failed");
    assert_eq!(stage(&failed, "to-s3")["status"], "failed");
    assert_eq!(stage(&failed, "to-sftp")["status"], "not-run");

    std::fs::remove_file(&s3).unwrap();
    // The date comes from the run being continued.
    let r = healthcare(h, &env, &["--resume"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("3 stages to run (to-s3, to-azure, to-sftp)"),
        "{}",
        r.stderr
    );
    let m = manifest(h);
    assert_eq!(m["status"], "succeeded", "{m:#}");
    assert_eq!(m["run_id"], failed["run_id"]);
    assert_eq!(m["started"], failed["started"]);
    assert_eq!(m["resumed"].as_array().unwrap().len(), 1);
    assert!(m.get("error").is_none(), "{m:#}");
    for s in m["stages"].as_array().unwrap() {
        assert_eq!(s["status"], "succeeded", "{s:#}");
        let transfer = s["kind"] == "transfer";
        assert_eq!(s["reused"].as_bool().unwrap_or(false), !transfer, "{s:#}");
    }
    // The reused stages' records are the earlier run's.
    assert_eq!(
        stage(&m, "clean-presc").clone(),
        stage(&failed, "clean-presc").clone().tap_reused()
    );

    let other = tempdir();
    let o = other.path();
    let o_s3 = o.join("s3-target");
    let r = healthcare(o, &[("ETL_S3_URL", o_s3.as_path())], &date);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let landed = "healthcare/2026-11-20";
    assert_eq!(contents(&s3.join(landed)), contents(&o_s3.join(landed)));
    assert!(!contents(&s3.join(landed)).is_empty());
    for target in ["azure", "sftp"] {
        let d = format!("delivery/{target}/{landed}");
        assert_eq!(contents(&h.join(&d)), contents(&o.join(&d)), "{target}");
    }
    for d in [
        "silver/presc.parquet",
        "gold/city_report.parquet",
        "gold/df_presc_final.parquet",
    ] {
        assert_eq!(as_csv(&h.join(d), &[]), as_csv(&o.join(d), &[]), "{d}");
    }
    assert_eq!(
        as_csv(&h.join("warehouse/prescpipeline/df_city_final"), &[]),
        as_csv(&o.join("warehouse/prescpipeline/df_city_final"), &[])
    );
}

trait TapReused {
    fn tap_reused(self) -> Self;
}

impl TapReused for serde_json::Value {
    fn tap_reused(mut self) -> Self {
        self["reused"] = serde_json::Value::Bool(true);
        self
    }
}

/// ingest a CSV, ingest a second one (`slow.csv`), join them, extract.
fn two_inputs(dir: &Path) -> std::path::PathBuf {
    csv_in(dir, "in.csv", "id,name\n1,a\n2,b\n3,c\n");
    pipeline_file(
        dir,
        r#"[[stage]]
name = "load"
ingest = "{dir}/in.csv"
output = "bronze.a"

[[stage]]
name = "load-slow"
ingest = "{dir}/slow.csv"
output = "bronze.b"
timeout = "10m"

[[stage]]
name = "join"
input = "bronze.a"
ops = [ { join = { table = "{bronze.b}", on = ["id"], how = "inner" } } ]
output = "gold.j"

[[stage]]
name = "report"
input = "gold.j"
extract = { path = "{dir}/root/gold/j.csv" }
"#,
    )
}

const SLOW: &str = "id,score\n1,10\n3,30\n";

#[test]
fn a_run_killed_with_sigkill_resumes_to_the_same_outputs() {
    let dir = tempdir();
    let d = dir.path();
    let file = two_inputs(d);
    fifo(&d.join("slow.csv"));
    let mut child = etl()
        .args(["run-pipeline", file.to_str().unwrap(), "--jobs", "1"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed while load-slow waits on the pipe, after load succeeded.
    let runs = d.join("root/_runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut e| e.next())
            .and_then(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        if m.as_ref()
            .is_some_and(|m| stage(m, "load-slow")["status"] == "running")
        {
            break;
        }
        assert!(Instant::now() < deadline, "load-slow never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = manifest(&d.join("root"));
    assert_eq!(killed["status"], "running", "{killed:#}");
    assert_eq!(stage(&killed, "load")["status"], "succeeded");
    assert_eq!(stage(&killed, "load-slow")["status"], "running");

    std::fs::remove_file(d.join("slow.csv")).unwrap();
    std::fs::write(d.join("slow.csv"), SLOW).unwrap();
    let r = run(&["run-pipeline", file.to_str().unwrap(), "--resume"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("3 stages to run (load-slow, join, report)"),
        "{}",
        r.stderr
    );
    let m = manifest(&d.join("root"));
    assert_eq!(m["status"], "succeeded");
    assert_eq!(stage(&m, "load")["reused"], true);
    assert_eq!(
        stage(&m, "load-slow")["attempts"].as_array().unwrap().len(),
        1
    );
    assert!(leftovers(&d.join("root/bronze")).is_empty());

    let other = tempdir();
    let o = other.path();
    let file = two_inputs(o);
    std::fs::write(o.join("slow.csv"), SLOW).unwrap();
    ok(&["run-pipeline", file.to_str().unwrap()]);
    let resumed = std::fs::read_to_string(d.join("root/gold/j.csv")).unwrap();
    assert_eq!(
        resumed,
        std::fs::read_to_string(o.join("root/gold/j.csv")).unwrap()
    );
    assert_eq!(resumed.lines().count(), 3, "{resumed}");
}

#[test]
fn resume_refuses_when_nothing_failed_or_what_it_would_reuse_changed() {
    let dir = tempdir();
    let d = dir.path();
    let file = two_inputs(d);
    let f = file.to_str().unwrap();
    let r = run(&["run-pipeline", f, "--resume"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no earlier run of pipeline 'p'"),
        "{}",
        r.stderr
    );

    // slow.csv is missing: load-slow fails, load succeeds.
    let r = run(&["run-pipeline", f, "--jobs", "1"]);
    assert_eq!(r.code, 3, "{}", r.stderr);

    // A file the reused stage wrote has changed.
    let bronze = d.join("root/bronze/a.parquet");
    let kept = std::fs::read(&bronze).unwrap();
    std::fs::write(&bronze, b"not the same").unwrap();
    std::fs::write(d.join("slow.csv"), SLOW).unwrap();
    let r = run(&["run-pipeline", f, "--resume"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("stage 'load' wrote") && r.stderr.contains("which has changed since"),
        "{}",
        r.stderr
    );
    std::fs::write(&bronze, kept).unwrap();

    // The reused stage's definition changed.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("/in.csv\"", "/in.csv\"\nread = { format = \"csv\" }"),
    )
    .unwrap();
    let r = run(&["run-pipeline", f, "--resume"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("stage 'load' succeeded in run"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("its definition has changed since"),
        "{}",
        r.stderr
    );
    // Orchestration keys and the failed stage may change.
    std::fs::write(
        &file,
        text.replace("timeout = \"10m\"", "timeout = \"5m\"\nretries = 1")
            .replace(
                "name = \"load\"",
                "name = \"load\"\ndescription = \"the first\"",
            ),
    )
    .unwrap();
    let r = run(&[
        "run-pipeline",
        f,
        "--resume",
        "--var",
        "run_date=2001-01-01",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("leave out --var run_date"),
        "{}",
        r.stderr
    );
    let r = run(&["run-pipeline", f, "--resume"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&["run-pipeline", f, "--resume"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("succeeded: nothing to resume"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_stage_past_its_timeout_fails_the_run_at_the_deadline_and_is_not_retried() {
    let dir = tempdir();
    let d = dir.path();
    let file = two_inputs(d);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "timeout = \"10m\"",
            "timeout = \"1s\"\nretries = 2\nretry-delay = \"0s\"",
        ),
    )
    .unwrap();
    fifo(&d.join("slow.csv"));
    let started = Instant::now();
    let r = run(&["run-pipeline", file.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        r.stderr
            .contains("stage 'load-slow': timed out after 1s (timeout = \"1s\")"),
        "{}",
        r.stderr
    );
    let m = manifest(&d.join("root"));
    let s = stage(&m, "load-slow");
    assert_eq!(s["status"], "failed");
    let attempts = s["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{m:#}");
    assert_eq!(attempts[0]["outcome"], "timed-out");
    assert!(s["seconds"].as_f64().unwrap() >= 1.0, "{s:#}");
    assert_eq!(stage(&m, "join")["status"], "not-run");
    assert!(!d.join("root/bronze/b.parquet").exists());
    assert!(leftovers(&d.join("root/bronze")).is_empty());
}
