//! Helpers shared by the CLI tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn etl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_etl")
}

pub fn etl() -> Command {
    let mut c = Command::new(etl_bin());
    c.env_remove("COLUMNS").stdin(Stdio::null());
    c
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

pub fn fixture_text(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The result of one run: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw: Vec<u8>,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            raw: o.stdout,
        }
    }
}

pub fn run(args: &[&str]) -> Run {
    etl().args(args).output().expect("run etl").into()
}

/// Runs and insists on success, showing stderr otherwise.
pub fn ok(args: &[&str]) -> Run {
    let r = run(args);
    assert_eq!(r.code, 0, "etl {args:?} failed: {}", r.stderr);
    r
}

/// Runs and insists on a failure with the given exit code.
pub fn fails(args: &[&str], code: i32) -> Run {
    let r = run(args);
    assert_eq!(
        r.code, code,
        "etl {args:?}: expected exit {code}, got {}; stderr: {}",
        r.code, r.stderr
    );
    assert!(
        r.stderr.starts_with("etl: error: "),
        "message format: {}",
        r.stderr
    );
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "one-line error expected: {}",
        r.stderr
    );
    r
}

pub fn as_csv(input: &Path, extra: &[&str]) -> String {
    let mut args = vec!["ingest", input.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--to", "csv"]);
    ok(&args).stdout
}

/// Files in `dir` whose names show an unfinished write.
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".etl-tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// A Python with the given modules, for interop checks; CI must have it.
pub fn python_with(modules: &[&str]) -> Option<&'static str> {
    let probe = format!("import {}", modules.join(", "));
    let ok = Command::new("python3")
        .args(["-c", &probe])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some("python3");
    }
    if std::env::var("CI").is_ok() {
        panic!("CI must provide python3 with {modules:?} (see .ci/run)");
    }
    eprintln!("skipped: python3 with {modules:?} not available");
    None
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("etl-test-")
        .tempdir()
        .unwrap()
}

/// Writes a CSV file into `dir` and returns its path as text.
pub fn csv_in(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A CSV of `rows` numbered rows (`id,label`), for streaming tests.
pub fn numbered_csv(dir: &Path, rows: usize) -> PathBuf {
    let path = dir.join("big.csv");
    let mut text = String::from("id,label\n");
    for i in 0..rows {
        text.push_str(&format!("{i},row-{i}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The column types `etl inspect` reports for a table.
pub fn column_types(path: &Path) -> Vec<String> {
    let r = ok(&["inspect", path.to_str().unwrap(), "--json", "--no-stats"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect()
}

/// Runs etl with `input` on stdin.
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = etl()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap().into()
}

/// Every file under `dir`, as sorted paths relative to it.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// `prlimit`, to run etl under resource limits (hostile inputs under an
/// address-space limit); CI must have it.
pub fn prlimit() -> Option<&'static str> {
    let found = Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("prlimit");
    }
    if std::env::var("CI").is_ok() {
        panic!("CI must provide prlimit (util-linux)");
    }
    eprintln!("skipped: prlimit not available");
    None
}

/// The repository root: pipelines' relative paths are relative to it.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `etl run-pipeline ARGS` from the repository root with ETL_HOME = `home`
/// and `env` set (no other ETL_* target variable inherited).
pub fn run_pipeline_in_repo(home: &Path, env: &[(&str, &Path)], args: &[&str]) -> Run {
    let mut c = etl();
    c.current_dir(repo()).env("ETL_HOME", home);
    for v in [
        "ETL_POSTGRES_URL",
        "ETL_S3_URL",
        "ETL_AZURE_URL",
        "ETL_SFTP_URL",
        "ETL_WAREHOUSE_DIR",
        "ETL_PRESC_INPUT",
        "ETL_CITY_INPUT",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.arg("run-pipeline").args(args).output().unwrap().into()
}
