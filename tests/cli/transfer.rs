//! `etl transfer` against real servers on loopback (scripts/services.sh):
//! OpenSSH for SFTP, SeaweedFS for S3, Azurite, fake-gcs-server. Results are
//! checked with independent clients: boto3, azure-storage-blob, the GCS JSON
//! API over HTTP, and the `sftp` command.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or test process) uses.
pub fn unique(tag: &str) -> String {
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The variables a server's tests need, or a skip (a failure in CI).
pub fn need(vars: &[&str], what: &str) -> bool {
    let missing: Vec<&str> = vars
        .iter()
        .copied()
        .filter(|v| std::env::var(v).map(|x| x.is_empty()).unwrap_or(true))
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok() {
        panic!(
            "CI must run the tests under scripts/services.sh run (missing {missing:?} for {what})"
        );
    }
    eprintln!("skipped: {what} not configured ({missing:?}); run: scripts/services.sh start, then source its env.sh");
    false
}

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// etl with the S3 endpoint of the test server.
pub fn etl_env() -> Command {
    let mut c = etl();
    if let Ok(ep) = std::env::var("ETL_TEST_S3_ENDPOINT") {
        c.env("AWS_ENDPOINT_URL", ep);
    }
    c
}

pub fn run_env(args: &[&str]) -> Run {
    etl_env().args(args).output().expect("run etl").into()
}

pub fn ok_env(args: &[&str]) -> Run {
    let r = run_env(args);
    assert_eq!(r.code, 0, "etl {args:?} failed: {}", r.stderr);
    r
}

pub fn fails_env(args: &[&str], code: i32) -> Run {
    let r = run_env(args);
    assert_eq!(
        r.code, code,
        "etl {args:?}: expected exit {code}, got {}; stderr: {}",
        r.code, r.stderr
    );
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("etl: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line expected: {}", r.stderr);
    r
}

/// Runs a Python snippet (argv after the script: `args`), returns stdout.
pub fn python(code: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const BOTO: &str = r#"
import boto3, os, sys, json, hashlib
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["ETL_TEST_S3_ENDPOINT"], config=Config(retries={"max_attempts": 1}))
B = os.environ["ETL_TEST_S3_BUCKET"]
def keys(prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix=prefix).get("Contents", []))
"#;

pub fn s3_keys(prefix: &str) -> Vec<String> {
    let out = python(
        &format!("{BOTO}\nprint(json.dumps(keys(sys.argv[1])))"),
        &[prefix],
    );
    serde_json::from_str(&out).unwrap()
}

fn s3_get(key: &str) -> (Vec<u8>, String) {
    let out = python(
        &format!("{BOTO}\nr = s3.get_object(Bucket=B, Key=sys.argv[1])\nd = r['Body'].read()\nprint(json.dumps([d.hex(), r['ETag'].strip('\"')]))"),
        &[key],
    );
    let v: (String, String) = serde_json::from_str(&out).unwrap();
    (hex::decode(v.0).unwrap(), v.1)
}

fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", md5::compute(data))
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// A folder of small files in subfolders, plus one binary file of `big` bytes.
fn tree(dir: &Path, big: usize) -> PathBuf {
    let root = dir.join("out");
    std::fs::create_dir_all(root.join("2024/01")).unwrap();
    std::fs::write(root.join("a.csv"), "id\n1\n").unwrap();
    std::fs::write(root.join("notes.txt"), "hello").unwrap();
    std::fs::write(root.join("2024/01/b.csv"), "id\n2\n").unwrap();
    let data: Vec<u8> = (0..big).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(root.join("2024/big.bin"), data).unwrap();
    root
}

fn json_of(r: &Run) -> serde_json::Value {
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

#[test]
fn s3_recursive_upload_with_filters_then_download_and_resume() {
    if !need(&["ETL_TEST_S3_ENDPOINT", "ETL_TEST_S3_BUCKET"], "S3")
        || python_with(&["boto3"]).is_none()
    {
        return;
    }
    let dir = tempdir();
    let root = tree(dir.path(), 20 << 20); // 20 MiB: a 3-part multipart upload
    let prefix = unique("s3-tree");
    let dest = format!("s3://{}/{prefix}/", var("ETL_TEST_S3_BUCKET"));
    let r = ok_env(&[
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &dest,
        "--exclude",
        "*.txt",
        "--json",
    ]);
    let s = json_of(&r);
    assert_eq!(s["copied"], 3, "{s}");
    assert_eq!(
        s3_keys(&prefix),
        [
            format!("{prefix}/2024/01/b.csv"),
            format!("{prefix}/2024/big.bin"),
            format!("{prefix}/a.csv")
        ]
    );
    // The store's ETag is the multipart MD5 of the bytes etl sent.
    let big = std::fs::read(root.join("2024/big.bin")).unwrap();
    let (got, etag) = s3_get(&format!("{prefix}/2024/big.bin"));
    assert!(got == big, "downloaded bytes differ");
    assert!(etag.ends_with("-3"), "multipart ETag expected, got {etag}");
    let (small, etag) = s3_get(&format!("{prefix}/a.csv"));
    assert_eq!(small, b"id\n1\n");
    assert_eq!(etag, md5_hex(b"id\n1\n"));

    // A re-run skips everything; a changed file (same size) goes again.
    let s = json_of(&ok_env(&[
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &dest,
        "--exclude",
        "*.txt",
        "--json",
    ]));
    assert_eq!(
        (s["copied"].as_u64(), s["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{s}"
    );
    std::fs::write(root.join("a.csv"), "id\n9\n").unwrap();
    let s = json_of(&ok_env(&[
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &dest,
        "--include",
        "*.csv",
        "--json",
    ]));
    assert_eq!(
        (s["copied"].as_u64(), s["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(s3_get(&format!("{prefix}/a.csv")).0, b"id\n9\n");

    // Download the prefix back, verified against the ETags.
    let back = dir.path().join("back");
    let s = json_of(&ok_env(&[
        "transfer",
        "-r",
        &dest,
        back.to_str().unwrap(),
        "--checksum",
        "--json",
    ]));
    assert_eq!(s["copied"], 3, "{s}");
    assert!(std::fs::read(back.join("2024/big.bin")).unwrap() == big);
    assert_eq!(
        std::fs::read_to_string(back.join("2024/01/b.csv")).unwrap(),
        "id\n2\n"
    );
    assert!(leftovers(&back).is_empty() && leftovers(&back.join("2024")).is_empty());
    let s = json_of(&ok_env(&[
        "transfer",
        "-r",
        &dest,
        back.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(s["skipped"], 3, "{s}");
}

#[test]
fn s3_single_file_renamed_dry_run_and_manifest() {
    if !need(&["ETL_TEST_S3_ENDPOINT", "ETL_TEST_S3_BUCKET"], "S3")
        || python_with(&["boto3"]).is_none()
    {
        return;
    }
    let dir = tempdir();
    let f = csv_in(dir.path(), "report.csv", "a,b\n1,2\n");
    let prefix = unique("s3-one");
    let key = format!("{prefix}/renamed.csv");
    let dest = format!("s3://{}/{key}", var("ETL_TEST_S3_BUCKET"));
    let r = ok_env(&["transfer", &f, &dest, "--dry-run"]);
    assert!(r.stdout.contains("renamed.csv"), "{}", r.stdout);
    assert!(s3_keys(&prefix).is_empty(), "a dry run wrote something");
    let manifest = dir.path().join("m/manifest.json");
    ok_env(&[
        "transfer",
        &f,
        &dest,
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(s3_keys(&prefix), vec![key.clone()]);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let file = &m["files"][0];
    assert_eq!(file["destination"], dest.as_str());
    assert_eq!(file["size"], 8);
    assert_eq!(file["action"], "copied");
    assert_eq!(
        file["checksum"],
        format!("etag:{}", md5_hex(b"a,b\n1,2\n")).as_str()
    );
    assert!(file["time"].as_str().unwrap().ends_with('Z'));
    let secret = var("AWS_SECRET_ACCESS_KEY");
    assert!(
        secret.is_empty() || !text.contains(&secret),
        "a credential in the manifest"
    );
}

#[test]
fn azure_upload_stores_sha256_and_downloads_verified() {
    if !need(
        &[
            "AZURE_STORAGE_CONNECTION_STRING",
            "ETL_TEST_AZURE_CONTAINER",
        ],
        "Azurite",
    ) || python_with(&["azure.storage.blob"]).is_none()
    {
        return;
    }
    let dir = tempdir();
    let root = tree(dir.path(), 9 << 20); // two blocks
    let prefix = unique("az-tree");
    let dest = format!("az://{}/{prefix}/", var("ETL_TEST_AZURE_CONTAINER"));
    let s = json_of(&ok_env(&[
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &dest,
        "--json",
    ]));
    assert_eq!(s["copied"], 4, "{s}");
    let big = std::fs::read(root.join("2024/big.bin")).unwrap();
    let out = python(
        r#"
import os, sys, json, hashlib
from azure.storage.blob import BlobServiceClient
svc = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"], retry_total=0)
c = svc.get_container_client(os.environ["ETL_TEST_AZURE_CONTAINER"])
names = sorted(b.name for b in c.list_blobs(name_starts_with=sys.argv[1]))
b = c.get_blob_client(sys.argv[1] + "/2024/big.bin")
data = b.download_blob().readall()
print(json.dumps([names, hashlib.sha256(data).hexdigest(), b.get_blob_properties().metadata.get("etlsha256")]))
"#,
        &[&prefix],
    );
    let (names, sha, meta): (Vec<String>, String, String) = serde_json::from_str(&out).unwrap();
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(sha, sha256_hex(&big));
    assert_eq!(meta, sha, "SHA-256 metadata");
    let s = json_of(&ok_env(&[
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &dest,
        "--json",
    ]));
    assert_eq!(s["skipped"], 4, "{s}");
    let back = dir.path().join("back");
    // No trailing slash, no folder there: DEST is the new file name.
    ok_env(&[
        "transfer",
        &format!("{dest}2024/big.bin"),
        back.to_str().unwrap(),
        "--checksum",
    ]);
    assert!(std::fs::read(&back).unwrap() == big);
    let folder = dir.path().join("folder/");
    ok_env(&[
        "transfer",
        &format!("{dest}2024/big.bin"),
        folder.to_str().unwrap(),
    ]);
    assert!(std::fs::read(folder.join("big.bin")).unwrap() == big);
}

#[test]
fn gcs_upload_download_checked_over_the_json_api() {
    if !need(
        &[
            "ETL_TEST_GCS_ENDPOINT",
            "ETL_TEST_GCS_BUCKET",
            "STORAGE_EMULATOR_HOST",
        ],
        "fake-gcs-server",
    ) {
        return;
    }
    let dir = tempdir();
    let root = tree(dir.path(), 9 << 20); // a resumable upload in two chunks
    let prefix = unique("gs-tree");
    let bucket = var("ETL_TEST_GCS_BUCKET");
    let dest = format!("gs://{bucket}/{prefix}/");
    let s = json_of(&ok_env(&[
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &dest,
        "--json",
    ]));
    assert_eq!(s["copied"], 4, "{s}");
    let url = format!(
        "{}/storage/v1/b/{bucket}/o?prefix={prefix}/",
        var("ETL_TEST_GCS_ENDPOINT")
    );
    let out = Command::new("curl")
        .args(["-s", "-m", "10", &url])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{v}");
    let big = std::fs::read(root.join("2024/big.bin")).unwrap();
    let item = items
        .iter()
        .find(|i| i["name"].as_str().unwrap().ends_with("big.bin"))
        .unwrap();
    assert_eq!(item["size"], big.len().to_string().as_str());
    assert_eq!(item["metadata"]["etlsha256"], sha256_hex(&big).as_str());
    let back = dir.path().join("back");
    ok_env(&["transfer", "-r", &dest, back.to_str().unwrap()]);
    assert!(std::fs::read(back.join("2024/big.bin")).unwrap() == big);
    assert_eq!(
        std::fs::read_to_string(back.join("notes.txt")).unwrap(),
        "hello"
    );
}

#[test]
fn object_names_that_would_escape_dest_are_refused() {
    if !need(
        &[
            "ETL_TEST_GCS_ENDPOINT",
            "ETL_TEST_GCS_BUCKET",
            "STORAGE_EMULATOR_HOST",
        ],
        "fake-gcs-server",
    ) {
        return;
    }
    // fake-gcs-server keeps a name with '..' as it is (S3 servers refuse it).
    let prefix = unique("gs-evil");
    let bucket = var("ETL_TEST_GCS_BUCKET");
    let name = format!("{prefix}/a/../../../evil.txt");
    let url = format!(
        "{}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
        var("ETL_TEST_GCS_ENDPOINT"),
        name.replace('/', "%2F")
    );
    let out = Command::new("curl")
        .args(["-s", "-m", "10", "-X", "POST", "--data-binary", "x", &url])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("evil.txt"));
    let dir = tempdir();
    let dest = dir.path().join("in/deep");
    let r = fails_env(
        &[
            "transfer",
            "-r",
            &format!("gs://{bucket}/{prefix}/"),
            dest.to_str().unwrap(),
        ],
        1,
    );
    assert!(r.stderr.contains("outside the destination"), "{}", r.stderr);
    assert!(!dir.path().join("evil.txt").exists() && !dir.path().join("in/evil.txt").exists());
    assert!(!dest.exists(), "something was written");
}

/// The `sftp` command in batch mode with the test key and known_hosts.
fn sftp_batch(commands: &str) -> String {
    let host = var("ETL_TEST_SFTP_HOST");
    let mut child = Command::new("sftp")
        .args([
            "-b",
            "-",
            "-i",
            &var("ETL_TEST_SSH_KEY"),
            "-o",
            &format!("UserKnownHostsFile={}", var("ETL_TEST_KNOWN_HOSTS")),
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-P",
            &var("ETL_TEST_SFTP_PORT"),
            &format!("{}@{host}", var("ETL_TEST_SFTP_USER")),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sftp command");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sftp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SFTP_VARS: &[&str] = &[
    "ETL_TEST_SFTP_URL",
    "ETL_TEST_SSH_KEY",
    "ETL_TEST_KNOWN_HOSTS",
    "ETL_TEST_SFTP_HOST",
    "ETL_TEST_SFTP_PORT",
    "ETL_TEST_SFTP_USER",
];

/// The SFTP URL's path for a name (the URL ends with /).
fn sftp_path(name: &str) -> String {
    let url = url::Url::parse(&var("ETL_TEST_SFTP_URL")).unwrap();
    format!("{}{name}", url.path())
}

#[test]
fn sftp_upload_checked_with_the_sftp_command_then_download() {
    if !need(SFTP_VARS, "sshd") {
        return;
    }
    let dir = tempdir();
    let root = tree(dir.path(), 3 << 20);
    let name = unique("sftp-tree");
    let dest = format!("{}{name}/", var("ETL_TEST_SFTP_URL"));
    let (key, kh) = (var("ETL_TEST_SSH_KEY"), var("ETL_TEST_KNOWN_HOSTS"));
    let auth = ["--identity", key.as_str(), "--known-hosts", kh.as_str()];
    let mut args = vec![
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &dest,
        "--checksum",
        "--json",
    ];
    args.extend_from_slice(&auth);
    let s = json_of(&ok_env(&args));
    assert_eq!(s["copied"], 4, "{s}");
    assert!(
        s["files"][0]["checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{s}"
    );
    // The sftp client fetches what etl put there.
    let got = dir.path().join("got.bin");
    let listing = sftp_batch(&format!(
        "ls -la {0}/2024\nget {0}/2024/big.bin {1}\n",
        sftp_path(&name),
        got.display()
    ));
    assert!(
        !listing.contains(".etl-tmp"),
        "temporary file left: {listing}"
    );
    assert!(std::fs::read(&got).unwrap() == std::fs::read(root.join("2024/big.bin")).unwrap());
    // Re-run: skipped; download back.
    let s = json_of(&ok_env(&args));
    assert_eq!(s["skipped"], 4, "{s}");
    let back = dir.path().join("back");
    let mut down = vec!["transfer", "-r", &dest, back.to_str().unwrap(), "--json"];
    down.extend_from_slice(&auth);
    let s = json_of(&ok_env(&down));
    assert_eq!(s["copied"], 4, "{s}");
    assert_eq!(
        std::fs::read_to_string(back.join("2024/01/b.csv")).unwrap(),
        "id\n2\n"
    );
}

#[test]
fn sftp_host_keys_are_checked() {
    if !need(SFTP_VARS, "sshd") {
        return;
    }
    let dir = tempdir();
    let f = csv_in(dir.path(), "x.csv", "a\n1\n");
    let dest = format!("{}{}/", var("ETL_TEST_SFTP_URL"), unique("sftp-hk"));
    let key = var("ETL_TEST_SSH_KEY");
    let kh = dir.path().join("known_hosts");
    let khs = kh.to_str().unwrap();
    // Unknown host: refused, nothing written, known_hosts untouched.
    let r = fails_env(
        &["transfer", &f, &dest, "-i", &key, "--known-hosts", khs],
        3,
    );
    assert!(
        r.stderr.contains("unknown host key") && r.stderr.contains("--accept-new-host-key"),
        "{}",
        r.stderr
    );
    assert!(!kh.exists());
    // Accepted on request, and said so.
    let r = ok_env(&[
        "transfer",
        &f,
        &dest,
        "-i",
        &key,
        "--known-hosts",
        khs,
        "--accept-new-host-key",
    ]);
    assert!(r.stderr.contains("added the host key"), "{}", r.stderr);
    let line = std::fs::read_to_string(&kh).unwrap();
    let want = std::fs::read_to_string(var("ETL_TEST_KNOWN_HOSTS")).unwrap();
    assert_eq!(line.trim(), want.trim(), "recorded key");
    ok_env(&["transfer", &f, &dest, "-i", &key, "--known-hosts", khs]);
    // A changed key is refused, even with --accept-new-host-key.
    let other = dir.path().join("other");
    let st = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            other.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let pubkey = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let host = line.split_whitespace().next().unwrap();
    let fake: Vec<&str> = pubkey.split_whitespace().take(2).collect();
    std::fs::write(&kh, format!("{host} {}\n", fake.join(" "))).unwrap();
    let r = fails_env(
        &[
            "transfer",
            &f,
            &dest,
            "-i",
            &key,
            "--known-hosts",
            khs,
            "--accept-new-host-key",
        ],
        3,
    );
    assert!(r.stderr.contains("CHANGED"), "{}", r.stderr);
}

#[test]
fn unreachable_or_refused_locations_fail_clearly_with_exit_3() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "x.csv", "a\n1\n");
    // A refused port (nothing listens on port 1): S3 and SFTP.
    let r = etl()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .args(["transfer", &f, "s3://bucket/x/", "--retries", "0"])
        .output()
        .unwrap();
    let r: Run = r.into();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let kh = dir.path().join("kh");
    let r = fails(
        &[
            "transfer",
            &f,
            "sftp://etl@127.0.0.1:1/x/",
            "--known-hosts",
            kh.to_str().unwrap(),
        ],
        3,
    );
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
}

#[test]
fn bad_credentials_and_missing_buckets_fail_with_exit_3_and_write_nothing() {
    if !need(&["ETL_TEST_S3_ENDPOINT", "ETL_TEST_S3_BUCKET"], "S3")
        || python_with(&["boto3"]).is_none()
    {
        return;
    }
    let dir = tempdir();
    let f = csv_in(dir.path(), "x.csv", "a\n1\n");
    let prefix = unique("s3-denied");
    let dest = format!("s3://{}/{prefix}/", var("ETL_TEST_S3_BUCKET"));
    let r: Run = etl_env()
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .args(["transfer", &f, &dest])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("access denied"), "{}", r.stderr);
    assert!(!r.stderr.contains("not-the-secret"));
    assert!(s3_keys(&prefix).is_empty());
    let r = fails_env(
        &[
            "transfer",
            &f,
            &format!("s3://no-such-bucket-{}/x/", std::process::id()),
        ],
        3,
    );
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    if need(&["AZURE_STORAGE_CONNECTION_STRING"], "Azurite") {
        let r = fails_env(&["transfer", &f, "az://no-such-container/x/"], 3);
        assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    }
    if need(SFTP_VARS, "sshd") {
        let other = dir.path().join("not-authorized");
        Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                other.to_str().unwrap(),
            ])
            .status()
            .unwrap();
        let name = unique("sftp-denied");
        let r = fails_env(
            &[
                "transfer",
                &f,
                &format!("{}{name}/", var("ETL_TEST_SFTP_URL")),
                "-i",
                other.to_str().unwrap(),
                "--known-hosts",
                &var("ETL_TEST_KNOWN_HOSTS"),
            ],
            3,
        );
        assert!(r.stderr.contains("authentication failed"), "{}", r.stderr);
        assert!(!Path::new(&var("ETL_TEST_SFTP_ROOT")).join(&name).exists());
    }
}

#[test]
fn folders_need_recursive_and_unsafe_names_are_rejected() {
    let dir = tempdir();
    let root = tree(dir.path(), 10);
    let dest = dir.path().join("dest");
    let r = fails(
        &["transfer", root.to_str().unwrap(), dest.to_str().unwrap()],
        2,
    );
    assert!(r.stderr.contains("--recursive"), "{}", r.stderr);
    // Local to local works too, through the same machinery.
    ok(&[
        "transfer",
        "-r",
        root.to_str().unwrap(),
        &format!("{}/", dest.display()),
        "--include",
        "2024/*",
    ]);
    assert!(dest.join("2024/big.bin").exists());
    assert!(
        !dest.join("a.csv").exists(),
        "--include 2024/* matched a.csv"
    );
    assert!(leftovers(&dest.join("2024")).is_empty());
}
