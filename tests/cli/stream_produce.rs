//! `etl persist` to streams with `--headers` and `--value-format csv`,
//! read back with each server's own client (kafka-python, nats-py) and
//! Python's csv module.

use crate::common::*;
use crate::transfer::{need, python, unique, var};

fn people() -> String {
    fixture("formats/people.csv").to_str().unwrap().to_string()
}

/// The fixture's rows as `id|name|[id, name, score, ...]` lines, as Python's
/// csv module reads them (empty fields as '').
fn expected_rows() -> String {
    python(
        r#"
import sys, csv, json
rows = list(csv.reader(open(sys.argv[1], newline="")))[1:]
print("\n".join(json.dumps([r[0], r[1], r]) for r in sorted(rows, key=lambda r: int(r[0]))))
"#,
        &[&people()],
    )
}

#[test]
fn kafka_persist_sends_headers_and_csv_records() {
    if !need(&["ETL_TEST_KAFKA_URL", "ETL_TEST_KAFKA_BOOTSTRAP"], "Kafka")
        || python_with(&["kafka"]).is_none()
    {
        return;
    }
    let topic = unique("csvh");
    let u = format!("{}/{topic}", var("ETL_TEST_KAFKA_URL"));
    let r = ok(&[
        "persist",
        &u,
        "--key",
        "id",
        "--headers",
        "id,name",
        "--value-format",
        "csv",
        "-i",
        &people(),
    ]);
    assert!(r.stderr.contains("sent 6 messages"), "{}", r.stderr);
    assert!(r.stderr.contains("(csv, all confirmed)"), "{}", r.stderr);
    // Another client: the headers by name, the value one CSV record (no
    // header line) whose fields are the row's, in column order.
    let got = python(
        r#"
import sys, os, io, csv, json
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[1], bootstrap_servers=os.environ["ETL_TEST_KAFKA_BOOTSTRAP"],
                  auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
out = []
for m in c:
    h = {k: v.decode() for k, v in (m.headers or [])}
    records = list(csv.reader(io.StringIO(m.value.decode(), newline="")))
    assert len(records) == 1, records
    rec = records[0]
    # etl writes timestamps without the fixture's trailing zeros; compare the rest.
    assert m.key.decode() == rec[0] == h["id"], (m.key, rec, h)
    out.append((int(rec[0]), json.dumps([h["id"], h.get("name", ""), rec[:5]])))
print("\n".join(v for _, v in sorted(out)))
"#,
        &[&topic],
    );
    let expected: Vec<String> = expected_rows()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let fields: Vec<serde_json::Value> = v[2].as_array().unwrap()[..5].to_vec();
            serde_json::json!([v[0], v[1], fields]).to_string()
        })
        .collect();
    let got: Vec<String> = got
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap()
                .to_string()
        })
        .collect();
    // Row 6 has a null name: no `name` header is sent (read back as '').
    assert_eq!(got, expected);
    // etl reads the CSV payloads back with names and types from --schema.
    let dir = tempdir();
    let back = dir.path().join("back.parquet");
    ok(&[
        "ingest",
        &u,
        "--value-format",
        "csv",
        "--schema",
        "id:i64,name:str,score:f64,active:bool,born:date,updated:str",
        "-o",
        back.to_str().unwrap(),
    ]);
    let csv = as_csv(&back, &["--select", "id,name,score,born"]);
    for row in [
        "1,plain,1.5,1980-01-31\n",
        "2,\"Smith, John\",-2.25,2000-02-29\n",
        "3,\"O\"\"Brien\",10000000000.0,\n",
        "4,\"line1\nline2\",0.0,1969-07-20\n",
        "6,,0.1,2024-02-29\n",
    ] {
        assert!(csv.contains(row), "{row:?} not in {csv}");
    }
}

#[test]
fn persist_refuses_unknown_header_columns_before_sending() {
    let dir = tempdir();
    let topic = dir.path().join("t");
    let r = fails(
        &[
            "persist",
            &format!("topic://{}", topic.display()),
            "--headers",
            "id,nope",
            "-i",
            &people(),
        ],
        2,
    );
    assert!(r.stderr.contains("nope"), "{}", r.stderr);
    assert!(!topic.exists() || files_under(&topic).iter().all(|f| !f.ends_with(".ndjson")));
}

#[test]
fn topic_folder_keeps_headers_and_csv_payloads() {
    let dir = tempdir();
    let topic = dir.path().join("broker/people");
    let u = format!("topic://{}", topic.display());
    ok(&[
        "persist",
        &u,
        "--headers",
        "name",
        "--value-format",
        "csv",
        "-i",
        &people(),
    ]);
    let out = dir.path().join("back.parquet");
    ok(&["ingest", &u, "-o", out.to_str().unwrap()]);
    let got = python(
        r#"
import sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]).to_pylist()
for r in t:
    print(repr(r["value"].split(",")[:2]), r["headers"])
"#,
        &[out.to_str().unwrap()],
    );
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 6, "{got}");
    assert_eq!(
        lines[0],
        r#"['1', 'plain'] [{"key":"name","value":"plain"}]"#
    );
    assert_eq!(
        lines[1],
        r#"['2', '"Smith'] [{"key":"name","value":"Smith, John"}]"#
    );
    // The null name of row 6 sends no header at all.
    assert_eq!(lines[5], "['6', ''] None");
}

#[test]
fn mqtt_refuses_headers_clearly() {
    // Refused before connecting: no server needed.
    let r = fails(
        &[
            "persist",
            "mqtt://127.0.0.1:1/etl-headers",
            "--headers",
            "name",
            "-i",
            &people(),
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("not supported yet: message headers over MQTT"),
        "{}",
        r.stderr
    );
}

#[test]
fn nats_persist_sends_headers() {
    if !need(&["ETL_TEST_NATS_URL"], "NATS") || python_with(&["nats"]).is_none() {
        return;
    }
    let subject = unique("hdr").replace('-', "_");
    let u = format!("{}/{subject}", var("ETL_TEST_NATS_URL"));
    ok(&[
        "persist",
        &u,
        "--headers",
        "id,active",
        "--value-format",
        "csv",
        "-i",
        &people(),
    ]);
    let got = python(
        r#"
import sys, os, asyncio, nats
async def main():
    nc = await nats.connect(os.environ["ETL_TEST_NATS_URL"])
    js = nc.jetstream()
    name = await js.find_stream_name_by_subject(sys.argv[1])
    out = []
    for seq in range(1, 7):
        m = await js.get_msg(name, seq)
        h = m.headers or {}
        out.append("%s:%s:%s" % (h.get("id"), h.get("active"), m.data.decode().split(",")[0]))
    print(" ".join(out))
    await nc.close()
asyncio.run(main())
"#,
        &[&subject],
    );
    assert_eq!(
        got,
        "1:true:1 2:false:2 3:true:3 4:None:4 5:false:5 6:true:6"
    );
}
