//! Faults for real: a private S3 server or sshd (scripts/services.sh with
//! its own state folder, so other tests keep theirs) is killed in the middle
//! of a large upload, then started again on the same port with its data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::transfer::{python, unique};

/// A private set of servers, stopped when dropped.
struct Private {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

fn services_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/services.sh")
}

impl Private {
    fn start(name: &str) -> Option<Private> {
        let dir = tempfile::Builder::new()
            .prefix("etl-svc-")
            .tempdir()
            .unwrap();
        let out = Command::new(services_sh())
            .args(["start", name])
            .env("ETL_SERVICES_DIR", dir.path())
            .output()
            .unwrap();
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).into_owned();
            if std::env::var("CI").is_ok() {
                panic!("CI: scripts/services.sh start {name} failed: {why}");
            }
            eprintln!("skipped: cannot start a private {name}: {why}");
            return None;
        }
        let text = std::fs::read_to_string(dir.path().join("env.sh")).unwrap();
        let env = text
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        Some(Private { dir, env })
    }

    fn var(&self, k: &str) -> String {
        self.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn cmd(&self, what: &str, name: &str) {
        let st = Command::new(services_sh())
            .args([what, name])
            .env("ETL_SERVICES_DIR", self.dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "services.sh {what} {name}");
    }

    fn etl(&self) -> Command {
        let mut c = etl();
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some((_, ep)) = self.env.iter().find(|(k, _)| k == "ETL_TEST_S3_ENDPOINT") {
            c.env("AWS_ENDPOINT_URL", ep);
        }
        c
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let _ = Command::new(services_sh())
            .arg("stop")
            .env("ETL_SERVICES_DIR", self.dir.path())
            .status();
    }
}

fn big_file(dir: &Path, mib: usize) -> PathBuf {
    let p = dir.join("big.bin");
    let block: Vec<u8> = (0..1 << 20)
        .map(|i: usize| (i * 31 + i / 977) as u8)
        .collect();
    let mut f = std::fs::File::create(&p).unwrap();
    for i in 0..mib {
        use std::io::Write;
        let mut b = block.clone();
        b[0] = i as u8;
        f.write_all(&b).unwrap();
    }
    p
}

/// Starts `etl`, kills the server `after` into the run, waits for etl.
fn kill_during(p: &Private, server: &str, args: &[&str], after: Duration) -> Run {
    let child = p
        .etl()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    std::thread::sleep(after);
    p.cmd("pause", server);
    let out = child.wait_with_output().unwrap();
    let r: Run = out.into();
    assert!(t0.elapsed() > after, "etl ended before the fault");
    r
}

fn s3_state(p: &Private, prefix: &str) -> String {
    python(
        r#"
import boto3, os, sys, json
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name="us-east-1")
objs = s3.list_objects_v2(Bucket=sys.argv[4], Prefix=sys.argv[5]).get("Contents", [])
print(json.dumps([[o["Key"], o["Size"], o["ETag"].strip('"')] for o in objs]))
"#,
        &[
            &p.var("ETL_TEST_S3_ENDPOINT"),
            &p.var("AWS_ACCESS_KEY_ID"),
            &p.var("AWS_SECRET_ACCESS_KEY"),
            &p.var("ETL_TEST_S3_BUCKET"),
            prefix,
        ],
    )
}

#[test]
fn s3_server_killed_during_upload_then_rerun_completes() {
    if python_with(&["boto3"]).is_none() {
        return;
    }
    let Some(p) = Private::start("s3") else {
        return;
    };
    let dir = tempdir();
    let f = big_file(dir.path(), 400);
    let prefix = unique("fault");
    let dest = format!("s3://{}/{prefix}/", p.var("ETL_TEST_S3_BUCKET"));
    let args = ["transfer", f.to_str().unwrap(), &dest, "--retries", "1"];
    let r = kill_during(&p, "s3", &args, Duration::from_millis(1500));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("etl: error: ") && r.stderr.trim_end().lines().count() == 1,
        "{}",
        r.stderr
    );
    p.cmd("resume", "s3");
    assert_eq!(s3_state(&p, &prefix), "[]", "a partial object is visible");
    let r: Run = p
        .etl()
        .args(["transfer", f.to_str().unwrap(), &dest, "--json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let state: Vec<(String, u64, String)> = serde_json::from_str(&s3_state(&p, &prefix)).unwrap();
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].1, 400 << 20);
    assert!(state[0].2.ends_with("-50"), "8 MiB parts: {}", state[0].2);
    let r: Run = p
        .etl()
        .args(["transfer", f.to_str().unwrap(), &dest, "--json"])
        .output()
        .unwrap()
        .into();
    assert!(r.stdout.contains("\"skipped\":1"), "{}", r.stdout);
}

#[test]
fn sshd_killed_during_upload_then_rerun_completes() {
    let Some(p) = Private::start("sshd") else {
        return;
    };
    let dir = tempdir();
    let f = big_file(dir.path(), 400);
    let name = unique("fault");
    let url = format!("{}{name}/", p.var("ETL_TEST_SFTP_URL"));
    let (key, kh) = (p.var("ETL_TEST_SSH_KEY"), p.var("ETL_TEST_KNOWN_HOSTS"));
    let args = [
        "transfer",
        f.to_str().unwrap(),
        &url,
        "-i",
        &key,
        "--known-hosts",
        &kh,
        "--retries",
        "1",
    ];
    let r = kill_during(&p, "sshd", &args, Duration::from_millis(1500));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.trim_end().lines().count() == 1, "{}", r.stderr);
    let root = std::path::PathBuf::from(p.var("ETL_TEST_SFTP_ROOT")).join(&name);
    assert!(
        !root.join("big.bin").exists(),
        "a partial file is visible under its name"
    );
    p.cmd("resume", "sshd");
    let r: Run = p
        .etl()
        .args(&args[..args.len() - 2])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read(root.join("big.bin")).unwrap() == std::fs::read(&f).unwrap());
    assert!(
        leftovers(&root).is_empty(),
        "temporary upload left: {:?}",
        leftovers(&root)
    );
}
