//! The healthcare pipeline end to end against the real services started by
//! scripts/services.sh: PostgreSQL, the S3 server, Azurite and sshd. Each
//! landing is checked with an independent client (psql, boto3,
//! azure-storage-blob, the sftp command), and the reports must equal the
//! DuckDB reference.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::healthcare::assert_same_report;

const NEEDED: &[&str] = &[
    "ETL_TEST_POSTGRES_URL",
    "ETL_TEST_S3_ENDPOINT",
    "ETL_TEST_S3_BUCKET",
    "ETL_TEST_AZURE_CONTAINER",
    "AZURE_STORAGE_CONNECTION_STRING",
    "ETL_TEST_SFTP_URL",
    "ETL_TEST_SFTP_HOST",
    "ETL_TEST_SFTP_PORT",
    "ETL_TEST_SFTP_USER",
    "ETL_TEST_SSH_KEY",
    "ETL_TEST_KNOWN_HOSTS",
];

fn var(name: &str) -> String {
    std::env::var(name).unwrap()
}

/// The services' settings, or None (skip) outside CI when they are not running.
fn services() -> bool {
    let missing: Vec<&str> = NEEDED
        .iter()
        .copied()
        .filter(|v| std::env::var(v).map(|x| x.is_empty()).unwrap_or(true))
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok() {
        panic!("CI must run the tests under scripts/services.sh run (missing {missing:?})");
    }
    eprintln!("skipped: services not started (scripts/services.sh run -- cargo test); missing {missing:?}");
    false
}

fn python(script: &str, args: &[&str]) -> String {
    let py = python_with(&["boto3", "azure.storage.blob"])
        .expect("python3 with boto3 and azure-storage-blob");
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .arg(var("ETL_TEST_POSTGRES_URL"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// name → bytes of every file under `dir`, by relative path.
fn local_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// `name sha256` lines, sorted, as the Python checks print them.
fn digests(files: &[(String, Vec<u8>)]) -> String {
    use sha2::Digest;
    let mut lines: Vec<String> = files
        .iter()
        .map(|(n, b)| format!("{n} {}", hex::encode(sha2::Sha256::digest(b))))
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn healthcare_pipeline_lands_in_postgres_s3_azure_and_sftp() {
    if !services() {
        return;
    }
    let home = tempdir();
    let h = home.path();
    let tag = format!("e2e-{}", std::process::id());
    let date = "2026-11-19";
    let sftp_base = var("ETL_TEST_SFTP_URL");
    let r: Run = etl()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ETL_HOME", h)
        .env("ETL_POSTGRES_URL", var("ETL_TEST_POSTGRES_URL"))
        .env(
            "ETL_S3_URL",
            format!("s3://{}/{tag}", var("ETL_TEST_S3_BUCKET")),
        )
        .env(
            "ETL_AZURE_URL",
            format!("az://{}/{tag}", var("ETL_TEST_AZURE_CONTAINER")),
        )
        .env(
            "ETL_SFTP_URL",
            format!("{}/{tag}", sftp_base.trim_end_matches('/')),
        )
        .env("ETL_SSH_IDENTITY", var("ETL_TEST_SSH_KEY"))
        .env("ETL_SSH_KNOWN_HOSTS", var("ETL_TEST_KNOWN_HOSTS"))
        .env("AWS_ENDPOINT_URL", var("ETL_TEST_S3_ENDPOINT"))
        .env("AWS_ALLOW_HTTP", "true")
        .env_remove("ETL_WAREHOUSE_DIR")
        .env_remove("ETL_PRESC_INPUT")
        .env_remove("ETL_CITY_INPUT")
        .args([
            "run-pipeline",
            "pipelines/healthcare.toml",
            "--var",
            &format!("run_date={date}"),
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("etltestsecretkey"),
        "a secret in the logs: {}",
        r.stderr
    );

    // PostgreSQL: this run's partition holds exactly the reports.
    let city = psql(&format!(
        "copy (select city, state_name, county_name, population, zip_counts, trx_counts, presc_counts \
         from df_city_final where delivery_date = '{date}') to stdout with (format csv, header)"
    ));
    assert_same_report(&city, "healthcare/city_report.expected.csv");
    let presc = psql(&format!(
        "copy (select presc_id, presc_fullname, presc_state, country_name, years_of_exp, trx_cnt, \
         total_day_supply, total_drug_cost from df_presc_final where delivery_date = '{date}') \
         to stdout with (format csv, header)"
    ));
    assert_same_report(&presc, "healthcare/top_prescribers.expected.csv");

    // The delivered files, byte for byte, in every destination.
    let delivery = h.join(format!("gold/delivery/{date}"));
    let expected = digests(&local_files(&delivery));
    assert!(expected.contains("city_report.json.bz2"), "{expected}");
    let prefix = format!("{tag}/healthcare/{date}/");

    let s3 = python(
        r#"
import boto3, hashlib, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=sys.argv[2], Prefix=sys.argv[3]).get("Contents", [])]
for k in sorted(keys):
    body = s3.get_object(Bucket=sys.argv[2], Key=k)["Body"].read()
    print(k[len(sys.argv[3]):], hashlib.sha256(body).hexdigest())
"#,
        &[
            &var("ETL_TEST_S3_ENDPOINT"),
            &var("ETL_TEST_S3_BUCKET"),
            &prefix,
        ],
    );
    assert_eq!(s3.trim(), expected, "S3");

    let azure = python(
        r#"
import hashlib, sys
from azure.storage.blob import BlobServiceClient
svc = BlobServiceClient.from_connection_string(sys.argv[1], retry_total=1)
c = svc.get_container_client(sys.argv[2])
for b in sorted(c.list_blobs(name_starts_with=sys.argv[3]), key=lambda b: b.name):
    body = c.download_blob(b.name).readall()
    print(b.name[len(sys.argv[3]):], hashlib.sha256(body).hexdigest())
"#,
        &[
            &var("AZURE_STORAGE_CONNECTION_STRING"),
            &var("ETL_TEST_AZURE_CONTAINER"),
            &prefix,
        ],
    );
    assert_eq!(azure.trim(), expected, "Azure");

    // SFTP: fetch with the OpenSSH client into a fresh folder.
    let got = tempdir();
    let remote_dir = format!("{}/{prefix}", url_path(&sftp_base).trim_end_matches('/'));
    let batch = format!("get -r {remote_dir} {}\n", got.path().display());
    let out = Command::new("sftp")
        .args([
            "-q",
            "-b",
            "-",
            "-P",
            &var("ETL_TEST_SFTP_PORT"),
            "-i",
            &var("ETL_TEST_SSH_KEY"),
        ])
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            var("ETL_TEST_KNOWN_HOSTS")
        ))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .arg(format!(
            "{}@{}",
            var("ETL_TEST_SFTP_USER"),
            var("ETL_TEST_SFTP_HOST")
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(batch.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "sftp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fetched = got.path().join(date);
    assert_eq!(digests(&local_files(&fetched)), expected, "SFTP");

    // The manifest names every destination without a secret.
    let runs: Vec<_> = std::fs::read_dir(h.join("_runs"))
        .unwrap()
        .flatten()
        .collect();
    let manifest = std::fs::read_to_string(runs[0].path()).unwrap();
    assert!(
        manifest.contains(&format!("s3://{}/{tag}", var("ETL_TEST_S3_BUCKET"))),
        "{manifest}"
    );
    assert!(!manifest.contains("AccountKey"), "{manifest}");
}

fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map(|x| x.1).unwrap_or(url);
    after_scheme
        .find('/')
        .map(|i| after_scheme[i..].to_string())
        .unwrap_or_else(|| "/".into())
}
