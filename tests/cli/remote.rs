//! Tables at remote locations: `ingest` reads from and writes to S3, Azure
//! Blob, GCS and SFTP (spooled through local temporary files).

use crate::common::*;
use crate::transfer::{need, ok_env, python, run_env, s3_keys, unique, var};

#[test]
fn ingest_writes_parquet_to_s3_and_reads_it_back() {
    if !need(&["ETL_TEST_S3_ENDPOINT", "ETL_TEST_S3_BUCKET"], "S3")
        || python_with(&["boto3", "pyarrow"]).is_none()
    {
        return;
    }
    let prefix = unique("tables");
    let url = format!("s3://{}/{prefix}/people.parquet", var("ETL_TEST_S3_BUCKET"));
    let people = fixture("formats/people.csv");
    ok_env(&["ingest", people.to_str().unwrap(), "-o", &url]);
    // Another Parquet reader, fed by another S3 client.
    let rows = python(
        r#"
import boto3, os, sys, io, pyarrow.parquet as pq
s3 = boto3.client("s3", endpoint_url=os.environ["ETL_TEST_S3_ENDPOINT"])
data = s3.get_object(Bucket=os.environ["ETL_TEST_S3_BUCKET"], Key=sys.argv[1])["Body"].read()
t = pq.read_table(io.BytesIO(data))
print(t.num_rows, ",".join(t.column_names))
"#,
        &[&format!("{prefix}/people.parquet")],
    );
    assert_eq!(rows, "6 id,name,score,active,born,updated");
    // An existing output needs --force; nothing else appears.
    let r = run_env(&["ingest", people.to_str().unwrap(), "-o", &url]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(s3_keys(&prefix), [format!("{prefix}/people.parquet")]);
    let v: serde_json::Value =
        serde_json::from_str(&ok_env(&["inspect", &url, "--json", "--no-stats"]).stdout).unwrap();
    assert_eq!(
        (v["rows"].as_u64(), v["location"].as_str()),
        (Some(6), Some(url.as_str()))
    );
    // Read back through etl: same rows as the local file.
    let back = ok_env(&["ingest", &url, "--to", "csv"]).stdout;
    assert_eq!(back, as_csv(&people, &[]));
    // A glob over a prefix, with the remote name as source column.
    let r = ok_env(&[
        "ingest",
        &format!("s3://{}/{prefix}/*.parquet", var("ETL_TEST_S3_BUCKET")),
        "--add-source-column",
        "src",
        "--to",
        "csv",
    ]);
    assert!(
        r.stdout.lines().nth(1).unwrap().ends_with(&url),
        "{}",
        r.stdout
    );
}

#[test]
fn ingest_round_trips_through_sftp_azure_and_gcs() {
    if !need(
        &[
            "ETL_TEST_SFTP_URL",
            "ETL_TEST_SSH_KEY",
            "ETL_TEST_KNOWN_HOSTS",
            "ETL_TEST_SFTP_ROOT",
        ],
        "sshd",
    ) || !need(
        &[
            "AZURE_STORAGE_CONNECTION_STRING",
            "ETL_TEST_AZURE_CONTAINER",
        ],
        "Azurite",
    ) || !need(
        &["STORAGE_EMULATOR_HOST", "ETL_TEST_GCS_BUCKET"],
        "fake-gcs-server",
    ) {
        return;
    }
    let people = fixture("formats/people.csv");
    let expected = as_csv(&people, &[]);
    let name = unique("tables");
    let sftp = format!("{}{name}/people.csv", var("ETL_TEST_SFTP_URL"));
    let az = format!(
        "az://{}/{name}/parts.ndjson",
        var("ETL_TEST_AZURE_CONTAINER")
    );
    let gs = format!("gs://{}/{name}/people.parquet", var("ETL_TEST_GCS_BUCKET"));
    let with_ssh = |args: &[&str]| {
        let r: Run = etl()
            .env("ETL_SSH_IDENTITY", var("ETL_TEST_SSH_KEY"))
            .env("ETL_SSH_KNOWN_HOSTS", var("ETL_TEST_KNOWN_HOSTS"))
            .args(args)
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 0, "etl {args:?}: {}", r.stderr);
        r
    };
    with_ssh(&["ingest", people.to_str().unwrap(), "-o", &sftp]);
    // The file on the server is the CSV etl writes locally.
    let on_server = std::path::Path::new(&var("ETL_TEST_SFTP_ROOT"))
        .join(&name)
        .join("people.csv");
    assert_eq!(std::fs::read_to_string(on_server).unwrap(), expected);
    with_ssh(&["ingest", &sftp, "-o", &az, "--split", "2", "--to", "ndjson"]);
    with_ssh(&["ingest", &format!("{az}/"), "-o", &gs]);
    let back = with_ssh(&["ingest", &gs, "--to", "csv"]).stdout;
    let sorted = |t: &str| {
        let mut l: Vec<String> = t.lines().map(str::to_string).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&back), sorted(&expected));
}

/// A Spark/Hive layout reads the same from S3 as from disk: percent-escaped
/// partition values are decoded, `_temporary/` and markers are skipped.
#[test]
fn a_remote_hive_layout_reads_like_the_same_layout_on_disk() {
    if !need(&["ETL_TEST_S3_ENDPOINT", "ETL_TEST_S3_BUCKET"], "S3")
        || python_with(&["boto3"]).is_none()
    {
        return;
    }
    let dir = tempdir();
    let layout = dir.path().join("layout");
    let people = fixture("formats/people.csv");
    let part = |rel: &str| {
        let path = layout.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        ok(&[
            "ingest",
            people.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
        ]);
    };
    part("city=New%20York/year=2024/part-0.parquet");
    part("city=Paris/year=2023/part-0.parquet");
    // Unfinished work of a writer and markers: never data.
    part("_temporary/0/city=Rome/year=2024/part-9.parquet");
    std::fs::write(layout.join("_SUCCESS"), "").unwrap();
    std::fs::write(layout.join("city=Paris/year=2023/.part-0.parquet.crc"), "x").unwrap();
    let prefix = unique("hive");
    python(
        r#"
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["ETL_TEST_S3_ENDPOINT"])
root, prefix = sys.argv[1], sys.argv[2]
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        s3.upload_file(p, os.environ["ETL_TEST_S3_BUCKET"], prefix + "/" + os.path.relpath(p, root))
"#,
        &[layout.to_str().unwrap(), &prefix],
    );
    let sorted = |r: Run| {
        let mut lines: Vec<String> = r.stdout.lines().map(str::to_string).collect();
        lines[1..].sort();
        lines.join("\n")
    };
    let local = sorted(ok(&["ingest", layout.to_str().unwrap(), "--to", "csv"]));
    let url = format!("s3://{}/{prefix}/", var("ETL_TEST_S3_BUCKET"));
    let remote = sorted(ok_env(&["ingest", &url, "--to", "csv"]));
    assert_eq!(remote, local);
    assert!(local.contains(",New York,2024"), "{local}");
    assert!(!local.contains("Rome") && !local.contains("%20"), "{local}");
    assert_eq!(local.matches(",New York,2024").count(), 6, "{local}");
    assert_eq!(local.matches(",Paris,2023").count(), 6, "{local}");
}
