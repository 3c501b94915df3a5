//! Ctrl-C leaves nothing in TMPDIR: every scratch file (decompressed text,
//! stdin spools, the warehouse's partition spool) goes with the run, and a
//! killed run's scratch folder is removed by the next run.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn big_csv(dir: &Path, rows: u32) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "id,name,amount,day").unwrap();
    for i in 0..rows {
        writeln!(
            w,
            "{i},name-{},{},2024-01-{:02}",
            i % 977,
            i % 10_000,
            i % 28 + 1
        )
        .unwrap();
    }
    path
}

/// Waits until a file whose name starts with `prefix` exists under `tmp`
/// (or the run ended), then sends SIGINT. Whether it ended by itself.
fn interrupt_when_present(child: &mut Child, tmp: &Path, prefix: &str) -> bool {
    let finished = wait_for(child, tmp, prefix);
    if !finished {
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    }
    finished
}

/// Waits until a file whose name starts with `prefix` exists under `tmp`.
/// Whether the run ended first.
fn wait_for(child: &mut Child, tmp: &Path, prefix: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        let seen = files_under(tmp)
            .iter()
            .any(|f| f.rsplit('/').next().unwrap_or("").starts_with(prefix));
        if seen {
            return false;
        }
        assert!(Instant::now() < deadline, "{prefix}* never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn assert_interrupted_cleanly(child: Child, tmp: &Path, finished: bool) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !finished {
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("temporary files removed"), "{stderr}");
    }
    let left = files_under(tmp);
    let dirs: Vec<_> = std::fs::read_dir(tmp).unwrap().flatten().collect();
    assert!(
        left.is_empty() && dirs.is_empty(),
        "left in TMPDIR: {left:?} {dirs:?}"
    );
}

#[test]
fn ctrl_c_during_a_gzip_ingest_leaves_no_decompressed_copy() {
    let dir = tempdir();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let csv = big_csv(dir.path(), 1_500_000);
    let status = std::process::Command::new("gzip")
        .args(["-1", csv.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let gz = dir.path().join("big.csv.gz");
    let out = dir.path().join("out.parquet");
    let mut child = etl()
        .env("TMPDIR", &tmp)
        .args(["ingest", gz.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let finished = interrupt_when_present(&mut child, &tmp, "etl-text-");
    assert_interrupted_cleanly(child, &tmp, finished);
}

#[test]
fn ctrl_c_during_a_partitioned_persist_leaves_no_spool() {
    let dir = tempdir();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let csv = big_csv(dir.path(), 1_500_000);
    let wh = dir.path().join("wh");
    let mut child = etl()
        .env("TMPDIR", &tmp)
        .args([
            "persist",
            wh.to_str().unwrap(),
            "--table",
            "t",
            "--partition-by",
            "day",
        ])
        .arg("-i")
        .arg(&csv)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let finished = interrupt_when_present(&mut child, &tmp, "etl-persist-");
    assert_interrupted_cleanly(child, &tmp, finished);
}

#[test]
fn ctrl_c_while_stdin_is_spooled_and_a_killed_runs_leftovers_go_next_time() {
    let dir = tempdir();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let spawn = || {
        let mut child = etl()
            .env("TMPDIR", &tmp)
            .args(["ingest", "-", "--to", "csv"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The start of the input, then nothing: the run waits for more.
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"id,v\n1,a\n").unwrap();
        stdin.flush().unwrap();
        (child, stdin)
    };
    let (mut child, _stdin) = spawn();
    let finished = interrupt_when_present(&mut child, &tmp, "etl-stdin-");
    assert!(!finished);
    assert_interrupted_cleanly(child, &tmp, false);

    // SIGKILL skips every cleanup; the next run removes what it left.
    let (mut child, stdin) = spawn();
    assert!(!wait_for(&mut child, &tmp, "etl-stdin-"));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    assert!(!files_under(&tmp).is_empty());
    let input = csv_in(dir.path(), "in.csv", "id\n1\n");
    let mut c = etl();
    c.env("TMPDIR", &tmp)
        .args(["ingest", &input, "--to", "csv"]);
    let r: Run = c.output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(files_under(&tmp).is_empty(), "{:?}", files_under(&tmp));
}
