//! Manifests tell the truth about a run: a run refused by the lock writes
//! none (the running job's stays as it is), and a run ended by Ctrl-C says
//! `interrupted`, with the stage it was in.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn one_stage_pipeline(dir: &Path, input: &Path) -> std::path::PathBuf {
    let file = dir.join("p.toml");
    std::fs::write(
        &file,
        format!(
            "[pipeline]\nname = \"p\"\nroot = \"{}\"\n\n[[stage]]\nname = \"load\"\ningest = \"{}\"\noutput = \"bronze.t\"\n",
            dir.join("root").display(),
            input.display()
        ),
    )
    .unwrap();
    file
}

#[test]
fn a_run_refused_by_the_lock_writes_no_manifest() {
    let dir = tempdir();
    let input = std::path::PathBuf::from(csv_in(dir.path(), "in.csv", "id\n1\n"));
    let file = one_stage_pipeline(dir.path(), &input);
    let lock = dir.path().join("root/.p.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let py = python_with(&["fcntl"]).expect("python3");
    let mut holder = Command::new(py)
        .args([
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
        ])
        .arg(&lock)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    // The running job's manifest, at a fixed path.
    let manifest = dir.path().join("m.json");
    std::fs::write(&manifest, "{\"status\": \"running\"}\n").unwrap();
    let f = file.to_str().unwrap();
    let with_manifest = run(&["run-pipeline", f, "--manifest", manifest.to_str().unwrap()]);
    let default = run(&["run-pipeline", f]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    for r in [&with_manifest, &default] {
        assert_eq!(r.code, 4, "{}", r.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        "{\"status\": \"running\"}\n"
    );
    assert!(!dir.path().join("root/_runs").exists());
}

#[test]
fn an_interrupted_runs_manifest_says_interrupted() {
    use std::io::Write;
    let dir = tempdir();
    let big = dir.path().join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    writeln!(w, "id,name,amount").unwrap();
    for i in 0..2_000_000u32 {
        writeln!(w, "{i},name-{},{}", i % 977, i % 10_000).unwrap();
    }
    drop(w);
    let file = one_stage_pipeline(dir.path(), &big);
    let manifest = dir.path().join("m.json");
    let mut child = etl()
        .args(["run-pipeline", file.to_str().unwrap(), "--manifest"])
        .arg(&manifest)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the stage is under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        if text.contains("\"running\"") && text.contains("\"load\"") {
            let m: serde_json::Value = serde_json::from_str(&text).unwrap();
            if m["stages"][0]["status"] == "running" {
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                break false;
            }
        }
        assert!(Instant::now() < deadline, "the stage never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = child.wait_with_output().unwrap();
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    if finished {
        // The machine was fast enough to finish first.
        assert_eq!(m["status"], "succeeded");
        return;
    }
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(m["status"], "interrupted", "{m:#}");
    assert_eq!(m["exit_code"], 130);
    assert_eq!(m["stages"][0]["status"], "interrupted", "{m:#}");
    assert!(m["finished"].is_string());
    assert!(!dir.path().join("root/bronze/t.parquet").exists());
}
