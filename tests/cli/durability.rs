//! Nothing is reported written before it is on disk: outputs, `_SUCCESS`
//! markers, manifests and the folders holding renamed files are fsynced.
//! Checked from outside with strace (the system calls themselves); skipped
//! where strace cannot trace (CI=1 requires it).

use std::path::Path;
use std::process::Command;

use crate::common::*;

fn strace_works() -> bool {
    let ok = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok && std::env::var("CI").is_ok() {
        panic!("CI must provide a working strace");
    }
    if !ok {
        eprintln!("skipped: strace is not available or cannot trace here");
    }
    ok
}

/// Runs etl under strace; the fsync/rename calls it made, one a line, with
/// the file descriptors' paths (`fsync(3</dir/file>) = 0`).
fn traced(dir: &Path, args: &[&str]) -> Vec<String> {
    let log = dir.join("strace.txt");
    let out = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&log)
        .arg(etl_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    text.lines().map(str::to_string).collect()
}

/// The index of the first call matching all of `parts`, after `from`.
fn find(calls: &[String], from: usize, parts: &[&str]) -> usize {
    calls
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, l)| parts.iter().all(|p| l.contains(p)))
        .map(|(i, _)| i)
        .unwrap_or_else(|| {
            panic!(
                "no call with {parts:?} after #{from} in\n{}",
                calls.join("\n")
            )
        })
}

#[test]
fn an_output_is_synced_then_renamed_then_its_folder_synced() {
    if !strace_works() {
        return;
    }
    let dir = tempdir();
    let d = dir.path().canonicalize().unwrap();
    csv_in(&d, "a.csv", "id,day\n1,x\n2,y\n");
    std::fs::create_dir(d.join("out")).unwrap();
    let calls = traced(&d, &["ingest", "a.csv", "-o", "out/a.parquet"]);
    let file = find(&calls, 0, &["fsync(", "/out/.a.parquet.etl-tmp-"]);
    let rename = find(&calls, file, &["rename", "out/a.parquet\""]);
    find(
        &calls,
        rename,
        &["fsync(", &format!("<{}/out>", d.display())],
    );
}

#[test]
fn warehouse_files_and_success_marker_are_synced() {
    if !strace_works() {
        return;
    }
    let dir = tempdir();
    let d = dir.path().canonicalize().unwrap();
    csv_in(&d, "a.csv", "id,day\n1,x\n2,y\n");
    let calls = traced(
        &d,
        &[
            "persist",
            "wh",
            "--table",
            "t",
            "-i",
            "a.csv",
            "--partition-by",
            "day",
        ],
    );
    let part = find(&calls, 0, &["fsync(", "/day=x/part-"]);
    let swap = find(&calls, part, &["rename", "wh/default/t\""]);
    find(
        &calls,
        swap,
        &["fsync(", &format!("<{}/wh/default>", d.display())],
    );
    let marker = find(
        &calls,
        swap,
        &["fsync(", "/wh/default/t/._SUCCESS.etl-tmp-"],
    );
    find(
        &calls,
        marker,
        &["fsync(", &format!("<{}/wh/default/t>", d.display())],
    );
    // Appending moves files in: each move's folder is synced.
    let calls = traced(
        &d,
        &[
            "persist",
            "wh",
            "--table",
            "t",
            "-i",
            "a.csv",
            "--partition-by",
            "day",
        ],
    );
    let moved = find(&calls, 0, &["rename", "\"wh/default/t/day=y/part-"]);
    find(
        &calls,
        moved,
        &["fsync(", &format!("<{}/wh/default/t/day=y>", d.display())],
    );
}

#[test]
fn a_pipeline_manifest_is_synced() {
    if !strace_works() {
        return;
    }
    let dir = tempdir();
    let d = dir.path().canonicalize().unwrap();
    let csv = csv_in(&d, "a.csv", "id\n1\n");
    std::fs::write(
        d.join("p.toml"),
        format!(
            "[pipeline]\nname = \"p\"\nroot = \"{}/root\"\n\n[[stage]]\nname = \"in\"\ningest = \"{csv}\"\noutput = \"bronze.a\"\n",
            d.display()
        ),
    )
    .unwrap();
    let calls = traced(&d, &["run-pipeline", "p.toml", "--manifest", "m.json"]);
    let m = find(&calls, 0, &["fsync(", "/.m.json.etl-tmp-"]);
    let rename = find(&calls, m, &["rename", "m.json\""]);
    find(&calls, rename, &["fsync(", &format!("<{}>", d.display())]);
}
