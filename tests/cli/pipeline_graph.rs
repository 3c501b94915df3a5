//! `run-pipeline` as a graph: stages that share nothing run at the same
//! time (proved from the manifest's start and end times), `--jobs 1` keeps
//! file order, transient errors are retried and data errors are not, each
//! attempt is in the manifest, a stage past its timeout fails the run, and
//! `--check` and `--graph` show the graph and its problems.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

/// `etl run-pipeline ARGS` from the repository root with ETL_HOME = `home`
/// and `env` set (no other ETL_* target inherited).
pub fn healthcare(home: &Path, env: &[(&str, &Path)], args: &[&str]) -> Run {
    let args = [&["pipelines/healthcare.toml"], args].concat();
    run_pipeline_in_repo(home, env, &args)
}

/// The only manifest under `root/_runs`.
pub fn manifest(root: &Path) -> serde_json::Value {
    let runs: Vec<PathBuf> = std::fs::read_dir(root.join("_runs"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    serde_json::from_str(&std::fs::read_to_string(&runs[0]).unwrap()).unwrap()
}

pub fn stage<'a>(m: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {m:#}"))
}

fn time(s: &serde_json::Value, key: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s[key].as_str().unwrap_or_else(|| panic!("{key}: {s:#}")))
        .unwrap()
}

/// Both ran at once: each started before the other ended.
fn overlap(m: &serde_json::Value, a: &str, b: &str) -> bool {
    let (a, b) = (stage(m, a), stage(m, b));
    time(a, "started") < time(b, "finished") && time(b, "started") < time(a, "finished")
}

#[test]
fn healthcare_runs_its_independent_stages_at_the_same_time() {
    let home = tempdir();
    let h = home.path();
    let r = healthcare(h, &[], &["--var", "run_date=2026-11-20", "--jobs", "8"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = manifest(h);
    assert_eq!(m["jobs"], 8);
    for s in m["stages"].as_array().unwrap() {
        assert_eq!(s["status"], "succeeded", "{s:#}");
        assert_eq!(s["attempts"].as_array().unwrap().len(), 1, "{s:#}");
    }
    // Ready together, so started together: the two ingests, the three transfers.
    assert!(overlap(&m, "ingest-city", "ingest-presc"), "{m:#}");
    for (a, b) in [
        ("to-s3", "to-azure"),
        ("to-s3", "to-sftp"),
        ("to-azure", "to-sftp"),
    ] {
        assert!(overlap(&m, a, b), "{a} {b}: {m:#}");
    }
    // Dependencies are kept: a stage starts after the stages it reads end.
    for (before, after) in [
        ("ingest-presc", "clean-presc"),
        ("clean-city", "city-report"),
        ("extract-city", "to-s3"),
        ("extract-presc", "to-sftp"),
        ("persist-city", "persist-presc"),
    ] {
        assert!(
            time(stage(&m, before), "finished") <= time(stage(&m, after), "started"),
            "{before} → {after}: {m:#}"
        );
    }
    // The two reports and their extracts need each other in no way.
    let dot = healthcare(h, &[], &["--graph", "dot"]).stdout;
    for (a, b) in [
        ("city-report", "top-prescribers"),
        ("extract-city", "extract-presc"),
    ] {
        assert!(!dot.contains(&format!("\"{a}\" -> \"{b}\"")), "{dot}");
        assert!(!dot.contains(&format!("\"{b}\" -> \"{a}\"")), "{dot}");
    }
    // Log lines stay readable: one stage's lines carry its name.
    for name in ["ingest-city", "ingest-presc", "to-s3", "to-sftp"] {
        assert!(
            r.stderr.contains(&format!("[{name}] started"))
                && r.stderr.contains(&format!("[{name}] done in")),
            "{}",
            r.stderr
        );
    }
    // Same outputs as one stage at a time.
    let serial = tempdir();
    let r = healthcare(
        serial.path(),
        &[],
        &["--var", "run_date=2026-11-20", "--jobs", "1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let delivery = "gold/delivery/2026-11-20";
    assert_eq!(
        files_under(&h.join(delivery)),
        files_under(&serial.path().join(delivery))
    );
    for d in ["gold/city_report.parquet", "gold/top_prescribers.parquet"] {
        assert_eq!(
            as_csv(&h.join(d), &[]),
            as_csv(&serial.path().join(d), &[]),
            "{d}"
        );
    }
    // --jobs 1: file order, each stage after the previous one ended.
    let m = manifest(serial.path());
    let stages = m["stages"].as_array().unwrap();
    for pair in stages.windows(2) {
        assert!(
            time(&pair[0], "finished") <= time(&pair[1], "started"),
            "{} then {}: {m:#}",
            pair[0]["name"],
            pair[1]["name"]
        );
    }
}

/// A pipeline file in `dir` from its stages (`{dir}` stands for `dir`).
pub fn pipeline_file(dir: &Path, stages: &str) -> PathBuf {
    let file = dir.join("p.toml");
    let d = dir.display().to_string();
    std::fs::write(
        &file,
        format!(
            "[pipeline]\nname = \"p\"\nroot = \"{d}/root\"\n\n{}",
            stages.replace("{dir}", &d)
        ),
    )
    .unwrap();
    file
}

#[test]
fn a_transient_error_is_retried_until_the_input_appears_and_each_attempt_is_recorded() {
    let dir = tempdir();
    let d = dir.path();
    let file = pipeline_file(
        d,
        r#"[[stage]]
name = "fetch"
ingest = "{dir}/late.csv"
output = "bronze.late"
retries = 2
retry-delay = "1s"
"#,
    );
    // The file appears once the second attempt has failed (as the manifest
    // says): the third attempt finds it.
    let manifest_path = d.join("m.json");
    let watcher = {
        let (m, late) = (manifest_path.clone(), d.join("late.csv"));
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                let text = std::fs::read_to_string(&m).unwrap_or_default();
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    let failed = v["stages"][0]["attempts"]
                        .as_array()
                        .map(|a| a.iter().filter(|a| a["outcome"] == "failed").count())
                        .unwrap_or(0);
                    if failed == 2 {
                        std::fs::write(&late, "id,v\n1,a\n2,b\n").unwrap();
                        return true;
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            false
        })
    };
    let r = run(&[
        "run-pipeline",
        file.to_str().unwrap(),
        "--manifest",
        manifest_path.to_str().unwrap(),
    ]);
    assert!(watcher.join().unwrap(), "the second attempt never failed");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let attempts = m["stages"][0]["attempts"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "failed", "succeeded"], "{m:#}");
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["number"], i + 1);
        assert!(
            a["started"].is_string() && a["finished"].is_string(),
            "{a:#}"
        );
    }
    for a in &attempts[..2] {
        assert_eq!(a["error_kind"], "io", "{a:#}");
        assert!(a["error"].as_str().unwrap().contains("late.csv"), "{a:#}");
    }
    // The waits grow: the second is at least the base delay (1s × 2 × ½).
    let gap =
        |a: &serde_json::Value, b: &serde_json::Value| time(b, "started") - time(a, "finished");
    assert!(
        gap(&attempts[0], &attempts[1]).num_milliseconds() >= 500,
        "{m:#}"
    );
    assert!(
        gap(&attempts[1], &attempts[2]).num_milliseconds() >= 1000,
        "{m:#}"
    );
    assert_eq!(m["stages"][0]["status"], "succeeded");
    assert_eq!(m["stages"][0]["rows_out"], 2);
    assert!(
        r.stderr.contains("[fetch] attempt 1 of 3 failed"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("[fetch] attempt 2 of 3 failed"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_data_error_is_not_retried_and_a_failure_stops_new_stages() {
    let dir = tempdir();
    let d = dir.path();
    let csv = csv_in(d, "in.csv", "id,state\n1,CA\n2,XX\n");
    let file = pipeline_file(
        d,
        &format!(
            r#"[[stage]]
name = "load"
ingest = "{csv}"
output = "bronze.t"

[[stage]]
name = "check"
input = "bronze.t"
ops = [ {{ check = {{ rule = "us-state", columns = ["state"] }} }} ]
output = "silver.t"
retries = 3
retry-delay = "1s"

[[stage]]
name = "report"
input = "silver.t"
extract = {{ path = "{{dir}}/out.csv" }}
"#
        ),
    );
    let started = Instant::now();
    let r = run(&["run-pipeline", file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
    let m = manifest(&d.join("root"));
    let check = stage(&m, "check");
    assert_eq!(check["status"], "failed");
    let attempts = check["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{m:#}");
    assert_eq!(attempts[0]["error_kind"], "data");
    assert!(!r.stderr.contains("trying again"), "{}", r.stderr);
    assert_eq!(stage(&m, "report")["status"], "not-run");
    assert!(!d.join("out.csv").exists());
}

#[test]
fn check_reports_unknown_needs_cycles_and_datasets_read_too_early_with_lines() {
    let dir = tempdir();
    let d = dir.path();
    let file = pipeline_file(
        d,
        r#"[[stage]]
name = "a"
ingest = "{dir}/a.csv"
output = "bronze.a"
needs = ["c"]

[[stage]]
name = "b"
input = "bronze.a"
output = "silver.b"
ops = [ { upper = ["x"] } ]
needs = ["a", "nope"]

[[stage]]
name = "c"
input = "silver.b"
extract = { path = "{dir}/c.csv" }

[[stage]]
name = "early"
input = "gold.late"
extract = { path = "{dir}/early.csv" }

[[stage]]
name = "late"
input = "bronze.a"
output = "gold.late"
ops = [ { upper = ["x"] } ]
retries = -1
timeout = "soon"
"#,
    );
    let r = run(&["run-pipeline", "--check", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let f = file.display().to_string();
    for expected in [
        format!("{f}:9: stage 'a': the stages form a cycle, so none of them can start: a → c → b → a"),
        format!("{f}:16: stage 'b': needs 'nope', which is not a stage of this file (stages: a, b, c, early, late)"),
        format!("{f}:25: stage 'early': dataset 'gold.late' is read here before any stage writes it: stage 'late' writes it later in the file"),
        format!("{f}:33: stage 'late': retries must be a whole number from 0 to 100"),
        format!("{f}:34: stage 'late': timeout: 'soon' is not a duration"),
    ] {
        assert!(r.stderr.contains(&expected), "missing «{expected}» in:\n{}", r.stderr);
    }
    assert!(r.stderr.contains("5 problems"), "{}", r.stderr);

    // needs may point forward: then the stage runs after the one it needs.
    let file = pipeline_file(
        d,
        r#"[[stage]]
name = "report"
input = "silver.t"
extract = { path = "{dir}/out.csv" }
needs = ["clean"]

[[stage]]
name = "load"
ingest = "{dir}/in.csv"
output = "bronze.t"

[[stage]]
name = "clean"
input = "bronze.t"
ops = [ { upper = ["state"] } ]
output = "silver.t"
"#,
    );
    csv_in(d, "in.csv", "id,state\n1,ca\n");
    let r = run(&["run-pipeline", file.to_str().unwrap(), "--jobs", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("out.csv")).unwrap(),
        "id,state\n1,CA\n"
    );
    let m = manifest(&d.join("root"));
    assert!(time(stage(&m, "clean"), "finished") <= time(stage(&m, "report"), "started"));
}

#[test]
fn graph_is_dot_in_a_pipe_and_an_indented_tree_as_text() {
    let home = tempdir();
    let h = home.path();
    let r = healthcare(h, &[], &["--graph"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dot = r.stdout;
    assert!(dot.starts_with("digraph \"healthcare\" {"), "{dot}");
    assert!(
        dot.contains("\"ingest-city\" [label=\"ingest-city\\ningest\"];"),
        "{dot}"
    );
    for edge in [
        "\"ingest-city\" -> \"clean-city\" [label=\"reads bronze.city\"]",
        // The join names {silver.city}: read, so needed.
        "\"clean-city\" -> \"city-report\" [label=\"reads silver.city\"]",
        "\"extract-city\" -> \"to-s3\" [label=\"reads ",
        "\"persist-city\" -> \"persist-presc\" [label=\"writes ",
    ] {
        assert!(dot.contains(edge), "missing {edge} in:\n{dot}");
    }
    assert_eq!(dot.matches(" -> ").count(), 18, "{dot}");
    assert!(
        !dot.contains("\"ingest-city\" -> \"ingest-presc\""),
        "{dot}"
    );
    // Nothing was run.
    assert!(!h.join("bronze").exists());

    let text = healthcare(h, &[], &["--graph", "text"]).stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ingest-city (ingest)", "{text}");
    assert_eq!(lines[1], "  clean-city (ops)", "{text}");
    assert!(
        lines.contains(&"    city-report (ops)  [after clean-presc, clean-city]")
            || lines.contains(&"    city-report (ops)  [after clean-city, clean-presc]"),
        "{text}"
    );
    assert!(lines.contains(&"ingest-presc (ingest)"), "{text}");
    assert!(text.contains("to-s3 (transfer)"), "{text}");

    // The water-quality flow: consume reads the topic that produce writes.
    let mut c = etl();
    c.current_dir(repo())
        .env("ETL_HOME", h)
        .env_remove("ETL_KAFKA_URL")
        .args([
            "run-pipeline",
            "pipelines/water_quality.toml",
            "--graph",
            "dot",
        ]);
    let out: Run = c.output().unwrap().into();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("\"produce\" -> \"consume\" [label=\"reads topic://"),
        "{}",
        out.stdout
    );
}
