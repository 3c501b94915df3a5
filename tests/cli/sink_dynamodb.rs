//! `etl persist dynamodb://TABLE`: items written to dynalite (the DynamoDB
//! API, started by scripts/services.sh) and read back with boto3.

use std::process::Command;

use serde_json::Value;

use crate::common::*;
use crate::transfer::{need, unique, var};

const SECRET: &str = "dyn-secret-5b1e9c";

fn endpoint() -> Option<String> {
    (need(&["ETL_TEST_DYNAMODB_ENDPOINT"], "DynamoDB (dynalite)")
        && python_with(&["boto3", "pyarrow"]).is_some())
    .then(|| var("ETL_TEST_DYNAMODB_ENDPOINT"))
}

/// etl with credentials and the dynalite endpoint.
fn etl_dyn(endpoint: &str, args: &[&str]) -> Run {
    etl()
        .args(args)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("AWS_ACCESS_KEY_ID", "etltestkey")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run etl")
        .into()
}

fn no_secret(r: &Run) {
    assert!(
        !r.stderr.contains(SECRET) && !r.stdout.contains(SECRET),
        "the secret key shows: {}{}",
        r.stdout,
        r.stderr
    );
}

const BOTO: &str = r#"
import boto3, json, os, sys, time
c = boto3.client("dynamodb", endpoint_url=os.environ["ETL_TEST_DYNAMODB_ENDPOINT"], region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="y")
def create(name, keys):
    c.create_table(TableName=name,
        KeySchema=[{"AttributeName": k, "KeyType": kt} for k, t, kt in keys],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t, kt in keys],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    while c.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.05)
def scan(name):
    items, kw = [], {}
    while True:
        r = c.scan(TableName=name, **kw)
        items += r["Items"]
        if "LastEvaluatedKey" not in r:
            return items
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
"#;

/// Runs `code` after BOTO, returning its stdout.
fn boto(code: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!("{BOTO}\n{code}"))
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

fn table() -> String {
    unique("etl-sink")
}

#[test]
fn dynamodb_types_map_to_attributes_read_back_by_boto3() {
    let Some(ep) = endpoint() else { return };
    let t = table();
    boto(
        "create(sys.argv[1], [('id', 'N', 'HASH'), ('sk', 'S', 'RANGE')])",
        &[&t],
    );
    let dir = tempdir();
    let input = dir.path().join("in.parquet");
    // Every type the sink maps, written by pyarrow; the check below
    // derives each expected attribute from the same values (the service
    // keeps numbers normalized: 123.4500 reads back as 123.45).
    let write = r#"
import pyarrow as pa, pyarrow.parquet as pq, datetime as dt, decimal, sys
t = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "sk": pa.array(["a", "b ü", "c,\"q\""], pa.string()),
    "f": pa.array([0.1, -2.5e-7, None], pa.float64()),
    "d": pa.array([decimal.Decimal("123.4500"), decimal.Decimal("-0.0001"), None], pa.decimal128(12, 4)),
    "big": pa.array([2**63 - 1, -2**63, 0], pa.int64()),
    "b": pa.array([b"\x00\x01\xff", b"", None], pa.binary()),
    "ok": pa.array([True, False, None]),
    "l": pa.array([[1, 2], [], None], pa.list_(pa.int64())),
    "s": pa.array([{"x": 1, "y": "z"}, {"x": None, "y": "w"}, None], pa.struct([("x", pa.int64()), ("y", pa.string())])),
    "day": pa.array([dt.date(2026, 11, 30), None, dt.date(1969, 12, 31)], pa.date32()),
    "at": pa.array([dt.datetime(2026, 11, 30, 12, 0, 0, 123456), None, None], pa.timestamp("us", tz="UTC")),
    "txt": pa.array(["", "line\nbreak", None], pa.string()),
})
pq.write_table(t, sys.argv[1])
"#;
    let out = Command::new("python3")
        .args(["-c", write, input.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("dynamodb://{t}");
    let r = etl_dyn(
        &ep,
        &["persist", &url, "-i", input.to_str().unwrap(), "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    no_secret(&r);
    assert!(
        r.stderr
            .contains(&format!("wrote 3 items to {url} (append)")),
        "{}",
        r.stderr
    );
    let check = r#"
import base64
items = {int(i["id"]["N"]): i for i in scan(sys.argv[1])}
assert sorted(items) == [1, 2, 3], items
want = {
  1: {"id": {"N": "1"}, "sk": {"S": "a"}, "f": {"N": "0.1"}, "d": {"N": "123.45"},
      "big": {"N": str(2**63 - 1)}, "b": {"B": b"\x00\x01\xff"}, "ok": {"BOOL": True},
      "l": {"L": [{"N": "1"}, {"N": "2"}]}, "s": {"M": {"x": {"N": "1"}, "y": {"S": "z"}}},
      "day": {"S": "2026-11-30"}, "at": {"S": "2026-11-30T12:00:00.123456Z"}, "txt": {"S": ""}},
  2: {"id": {"N": "2"}, "sk": {"S": "b ü"}, "f": {"N": "-0.00000025"}, "d": {"N": "-0.0001"},
      "big": {"N": str(-2**63)}, "b": {"B": b""}, "ok": {"BOOL": False},
      "l": {"L": []}, "s": {"M": {"x": {"NULL": True}, "y": {"S": "w"}}},
      "day": {"NULL": True}, "at": {"NULL": True}, "txt": {"S": "line\nbreak"}},
  3: {"id": {"N": "3"}, "sk": {"S": "c,\"q\""}, "f": {"NULL": True}, "d": {"NULL": True},
      "big": {"N": "0"}, "b": {"NULL": True}, "ok": {"NULL": True},
      "l": {"NULL": True}, "s": {"NULL": True},
      "day": {"S": "1969-12-31"}, "at": {"NULL": True}, "txt": {"NULL": True}},
}
for k in want:
    if items[k] != want[k]:
        for a in sorted(set(items[k]) | set(want[k])):
            if items[k].get(a) != want[k].get(a):
                print("MISMATCH", k, a, items[k].get(a), want[k].get(a))
print("checked", len(items))
"#;
    let out = boto(check, &[&t]);
    assert_eq!(out, "checked 3", "{out}");
}

#[test]
fn dynamodb_incremental_puts_by_key_the_last_row_wins() {
    let Some(ep) = endpoint() else { return };
    let t = table();
    boto("create(sys.argv[1], [('id', 'S', 'HASH')])", &[&t]);
    let dir = tempdir();
    // 1,000 rows over 40 keys: duplicates within a batch and across batches.
    let rows = 1000;
    let mut csv = String::from("id,seq\n");
    for i in 0..rows {
        csv.push_str(&format!("k{},{i}\n", i % 40));
    }
    let input = csv_in(dir.path(), "in.csv", &csv);
    let url = format!("dynamodb://{t}");
    let r = etl_dyn(
        &ep,
        &[
            "persist",
            &url,
            "--mode",
            "incremental",
            "-i",
            &input,
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let written = s["rows"].as_u64().unwrap();
    let merged = s["skipped"].as_u64().unwrap();
    assert_eq!(written + merged, rows as u64, "{s}");
    assert!(written >= 40, "{s}");
    assert!(
        r.stderr.contains(&format!("wrote {written} items to {url} (incremental, {merged} rows replaced by a later row with the same key)")),
        "{}",
        r.stderr
    );
    let out = boto(
        "items = scan(sys.argv[1]); print(len(items), sorted((i['id']['S'], int(i['seq']['N'])) for i in items) == sorted(('k%d' % k, max(s for s in range(1000) if s % 40 == k)) for k in range(40)))",
        &[&t],
    );
    assert_eq!(out, "40 True");
}

#[test]
fn dynamodb_rows_without_a_key_are_refused_with_the_row_named() {
    let Some(ep) = endpoint() else { return };
    let t = table();
    boto("create(sys.argv[1], [('id', 'N', 'HASH')])", &[&t]);
    let dir = tempdir();
    let input = csv_in(dir.path(), "in.csv", "id,v\n1,a\n2,b\n,c\n4,d\n");
    let url = format!("dynamodb://{t}");
    let r = etl_dyn(&ep, &["persist", &url, "-i", &input]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("row 3: the key attribute 'id' is null"),
        "{}",
        r.stderr
    );
    // The summary of what landed is exact: what the service holds.
    let n = boto("print(len(scan(sys.argv[1])))", &[&t]);
    assert!(
        r.stderr.contains(&format!(
            "{n} items were written to {url} before the load stopped"
        )),
        "{n}: {}",
        r.stderr
    );
    // A key column missing from the input is refused before any write.
    let input = csv_in(dir.path(), "nokey.csv", "other,v\n1,a\n");
    let r = etl_dyn(&ep, &["persist", &url, "-i", &input]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("key attribute 'id' is not a column"),
        "{}",
        r.stderr
    );
}

#[test]
fn dynamodb_full_refresh_needs_force_recreate_and_keeps_the_key_schema() {
    let Some(ep) = endpoint() else { return };
    let t = table();
    boto(
        "create(sys.argv[1], [('id', 'N', 'HASH'), ('day', 'S', 'RANGE')])",
        &[&t],
    );
    let dir = tempdir();
    let url = format!("dynamodb://{t}");
    let old = csv_in(dir.path(), "old.csv", "id,day,v\n1,d1,old\n2,d2,old\n");
    assert_eq!(etl_dyn(&ep, &["persist", &url, "-i", &old]).code, 0);
    let new = csv_in(dir.path(), "new.csv", "id,day,v\n3,d3,new\n");
    let r = etl_dyn(
        &ep,
        &["persist", &url, "--mode", "full-refresh", "-i", &new],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--force-recreate"), "{}", r.stderr);
    let r = etl_dyn(&ep, &["persist", &url, "--mode", "truncate", "-i", &new]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not truncate"), "{}", r.stderr);
    let r = etl_dyn(
        &ep,
        &[
            "persist",
            &url,
            "--mode",
            "full-refresh",
            "--force-recreate",
            "-i",
            &new,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = boto(
        "d = c.describe_table(TableName=sys.argv[1])['Table']; print(sorted((k['AttributeName'], k['KeyType']) for k in d['KeySchema']), [(i['id']['N'], i['v']['S']) for i in scan(sys.argv[1])])",
        &[&t],
    );
    assert_eq!(out, "[('day', 'RANGE'), ('id', 'HASH')] [('3', 'new')]");
}

#[test]
fn dynamodb_missing_table_is_created_from_primary_key_or_refused() {
    let Some(ep) = endpoint() else { return };
    let t = table();
    let dir = tempdir();
    let url = format!("dynamodb://{t}");
    let input = csv_in(
        dir.path(),
        "in.csv",
        "site,ts,v\nn,2026-01-01T00:00:00,1.5\n",
    );
    let r = etl_dyn(&ep, &["persist", &url, "-i", &input]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--primary-key HASH[,RANGE]"),
        "{}",
        r.stderr
    );
    let r = etl_dyn(
        &ep,
        &["persist", &url, "--primary-key", "site,ts", "-i", &input],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = boto(
        "d = c.describe_table(TableName=sys.argv[1])['Table']; print(sorted((a['AttributeName'], a['AttributeType']) for a in d['AttributeDefinitions']), scan(sys.argv[1])[0]['ts'])",
        &[&t],
    );
    assert_eq!(
        out,
        "[('site', 'S'), ('ts', 'S')] {'S': '2026-01-01T00:00:00'}"
    );
}

#[test]
fn dynamodb_down_exits_3_and_no_secret_shows() {
    if endpoint().is_none() {
        return;
    }
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempdir();
    let input = csv_in(dir.path(), "in.csv", "id,v\n1,a\n");
    let r = etl_dyn(
        &format!("http://127.0.0.1:{dead}"),
        &["persist", "dynamodb://some-table", "-i", &input],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("does not answer"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    no_secret(&r);
    // Without credentials: a usage error, before any I/O.
    let r: Run = etl()
        .args(["persist", "dynamodb://some-table", "-i", &input])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", r.stderr);
}
