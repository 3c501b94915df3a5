//! `etl ingest kafka://` and `etl persist kafka://` against a real Kafka API
//! broker (tansu, started by scripts/services.sh), checked with an
//! independent client (kafka-python).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use crate::transfer::{need, python, unique, var};

fn kafka() -> bool {
    need(&["ETL_TEST_KAFKA_URL", "ETL_TEST_KAFKA_BOOTSTRAP"], "Kafka")
        && python_with(&["kafka", "pyarrow", "fastavro"]).is_some()
}

/// Creates a topic and produces `n` JSON messages `{"id": i, "reading": i/10}`
/// with keys and a header; payloads listed in `bad` are not JSON.
pub fn produce(topic: &str, partitions: u32, n: usize, bad: &[usize]) {
    python(
        r#"
import sys, os, json
from kafka import KafkaProducer, KafkaAdminClient
from kafka.admin import NewTopic
bs = os.environ["ETL_TEST_KAFKA_BOOTSTRAP"]
topic, parts, n, bad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), set(json.loads(sys.argv[4]))
admin = KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=10000)
admin.create_topics([NewTopic(topic, num_partitions=parts, replication_factor=1)])
admin.close()
p = KafkaProducer(bootstrap_servers=bs, acks="all", linger_ms=5)
for i in range(n):
    value = b"{not json" if i in bad else json.dumps({"id": i, "reading": i / 10}).encode()
    p.send(topic, key=("k%d" % (i % 7)).encode(), value=value, headers=[("src", b"test")])
p.flush(30)
p.close()
"#,
        &[
            topic,
            &partitions.to_string(),
            &n.to_string(),
            &format!("{bad:?}"),
        ],
    );
}

/// The group's committed offsets summed over partitions (kafka-python).
fn committed(group: &str, topic: &str) -> i64 {
    python(
        r#"
import sys, os
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=os.environ["ETL_TEST_KAFKA_BOOTSTRAP"], group_id=sys.argv[1],
                  enable_auto_commit=False)
parts = c.partitions_for_topic(sys.argv[2]) or []
print(sum(c.committed(TopicPartition(sys.argv[2], p)) or 0 for p in parts))
c.close()
"#,
        &[group, topic],
    )
    .parse()
    .unwrap()
}

/// The `id` column of every part file in a folder (pyarrow, which skips
/// names starting with _ and .), sorted.
pub fn ids_in(dir: &Path) -> Vec<i64> {
    let out = python(
        r#"
import sys, pyarrow.dataset as ds
t = ds.dataset(sys.argv[1], format="parquet").to_table(columns=["id"])
print(" ".join(str(v) for v in sorted(t.column("id").to_pylist())))
"#,
        &[dir.to_str().unwrap()],
    );
    out.split_whitespace().map(|v| v.parse().unwrap()).collect()
}

fn url(topic: &str) -> String {
    format!("{}/{topic}", var("ETL_TEST_KAFKA_URL"))
}

/// Runs an ingest and kills it with SIGKILL after `ms`; returns whether it
/// was still running (killed) or had finished.
pub fn kill_after(args: &[&str], ms: u64) -> bool {
    let mut child = etl()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    running
}

#[test]
fn kafka_ingest_is_exactly_once_across_kill_9() {
    if !kafka() {
        return;
    }
    let topic = unique("eo");
    let n = 3000;
    produce(&topic, 3, n, &[]);
    let dir = tempdir();
    let out = dir.path().join("bronze");
    let group = unique("g");
    let u = url(&topic);
    let args = [
        "ingest",
        u.as_str(),
        "--group",
        group.as_str(),
        "--value-format",
        "json",
        "--max-messages",
        "150",
        "-o",
        out.to_str().unwrap(),
        "--batches",
        "1000",
    ];
    let mut killed = 0;
    while killed < 3 {
        if kill_after(&args, fastrand::u64(100..900)) {
            killed += 1;
        } else {
            break; // finished before the kill: nothing left to interrupt
        }
    }
    ok(&args);
    let ids = ids_in(&out);
    assert_eq!(ids.len(), n, "exactly N rows");
    assert_eq!(
        ids,
        (0..n as i64).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    assert!(leftovers(&out).is_empty());
    assert_eq!(committed(&group, &topic), n as i64);
    // Nothing new: a run adds no part and keeps the positions.
    let before = files_under(&out);
    let r = ok(&args);
    assert!(r.stderr.contains("read 0 rows"), "{}", r.stderr);
    assert_eq!(files_under(&out), before);
    // The checkpoint says where each partition stands.
    let cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_checkpoint/checkpoint.json")).unwrap())
            .unwrap();
    let total: i64 = cp["positions"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(total, n as i64);
    assert!(
        killed > 0,
        "no run was interrupted: the kill test tested nothing"
    );
}

#[test]
fn kafka_rejects_carry_the_reason_and_bad_payloads_move_nothing_without_them() {
    if !kafka() {
        return;
    }
    let topic = unique("rej");
    produce(&topic, 1, 10, &[3, 7]);
    let dir = tempdir();
    let out = dir.path().join("batch.parquet");
    let rej = dir.path().join("rejects.parquet");
    let group = unique("g");
    let u = url(&topic);
    // Without --rejects: exit 1, no output, no offset moved.
    let r = fails(
        &[
            "ingest",
            &u,
            "--group",
            &group,
            "--value-format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        r.stderr.contains("2 payloads do not parse as json"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("first at offset 3"), "{}", r.stderr);
    assert!(!out.exists());
    assert_eq!(committed(&group, &topic), 0);
    ok(&[
        "ingest",
        &u,
        "--group",
        &group,
        "--value-format",
        "json",
        "-o",
        out.to_str().unwrap(),
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    let csv = as_csv(
        &out,
        &["--select", "key,id,reading,topic,partition,offset,headers"],
    );
    assert_eq!(csv.lines().count(), 9, "{csv}");
    assert!(csv.contains(r#"k1,1,0.1,"#), "{csv}");
    assert!(
        csv.contains(r#""[{""key"":""src"",""value"":""test""}]""#),
        "{csv}"
    );
    let bad = as_csv(&rej, &["--select", "offset,value,reject_reason"]);
    let lines: Vec<&str> = bad.lines().collect();
    assert_eq!(lines.len(), 3, "{bad}");
    assert!(lines[1].starts_with("3,{not json,not JSON:"), "{bad}");
    assert!(lines[2].starts_with("7,"), "{bad}");
    assert_eq!(committed(&group, &topic), 10);
}

#[test]
fn kafka_down_is_a_clear_io_error_and_moves_nothing() {
    let dir = tempdir();
    let out = dir.path().join("bronze");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let u = format!("kafka://127.0.0.1:{port}/water");
    let r = fails(&["ingest", &u, "-o", &format!("{}/", out.display())], 3);
    assert!(r.stderr.contains("broker unreachable"), "{}", r.stderr);
    assert!(r.stderr.contains(&u), "{}", r.stderr);
    assert!(!out.join("_checkpoint/checkpoint.json").exists());
    assert!(files_under(&out)
        .iter()
        .all(|f| f.starts_with("_checkpoint/")));
    let people = fixture("formats/people.csv");
    let r = fails(&["persist", &u, "-i", people.to_str().unwrap()], 3);
    assert!(r.stderr.contains("broker unreachable"), "{}", r.stderr);
}

#[test]
fn kafka_persist_sends_one_confirmed_message_per_row() {
    if !kafka() {
        return;
    }
    let topic = unique("out");
    let u = url(&topic);
    let people = fixture("formats/people.csv");
    let r = ok(&["persist", &u, "--key", "id", "-i", people.to_str().unwrap()]);
    assert!(r.stderr.contains("sent 6 messages"), "{}", r.stderr);
    let got = python(
        r#"
import sys, os, json
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[1], bootstrap_servers=os.environ["ETL_TEST_KAFKA_BOOTSTRAP"],
                  auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
rows = sorted((m.key.decode(), str(json.loads(m.value)["name"])) for m in c)
print(";".join("%s=%s" % r for r in rows))
"#,
        &[&topic],
    );
    let expected = python(
        r#"
import sys, csv
rows = sorted((r["id"], str(r["name"] or None)) for r in csv.DictReader(open(sys.argv[1])))
print(";".join("%s=%s" % r for r in rows))
"#,
        &[people.to_str().unwrap()],
    );
    assert_eq!(got, expected);
    // Avro payloads: each a container file any Avro reader opens.
    let topic2 = unique("avro");
    let u2 = url(&topic2);
    ok(&[
        "persist",
        &u2,
        "--value-format",
        "avro",
        "-i",
        people.to_str().unwrap(),
    ]);
    let names = python(
        r#"
import sys, os, io, fastavro
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[1], bootstrap_servers=os.environ["ETL_TEST_KAFKA_BOOTSTRAP"],
                  auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
print("|".join(sorted(str(r["name"]) for m in c for r in fastavro.reader(io.BytesIO(m.value)))))
"#,
        &[&topic2],
    );
    assert_eq!(names.split('|').count(), 6, "{names}");
    // ... and etl reads them back as typed columns.
    let dir = tempdir();
    let back = dir.path().join("back.parquet");
    ok(&[
        "ingest",
        &u2,
        "--value-format",
        "avro",
        "-o",
        back.to_str().unwrap(),
    ]);
    let mut ids: Vec<String> = as_csv(&back, &["--select", "id"])
        .lines()
        .skip(1)
        .map(String::from)
        .collect();
    ids.sort();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
}

#[test]
fn kafka_archive_to_avro_keeps_keys_headers_and_timestamps() {
    if !kafka() {
        return;
    }
    let topic = unique("arch");
    produce(&topic, 2, 20, &[]);
    let dir = tempdir();
    let archive = dir.path().join("archive.avro");
    ok(&["ingest", &url(&topic), "-o", archive.to_str().unwrap()]);
    let got = python(
        r#"
import sys, fastavro
recs = list(fastavro.reader(open(sys.argv[1], "rb")))
r = recs[0]
print(len(recs), sorted(r.keys()), r["key"].startswith("k"), r["headers"], r["timestamp"] is not None,
      len({(x["partition"], x["offset"]) for x in recs}))
"#,
        &[archive.to_str().unwrap()],
    );
    assert_eq!(
        got,
        r#"20 ['headers', 'key', 'offset', 'partition', 'timestamp', 'topic', 'value'] True [{"key":"src","value":"test"}] True 20"#
    );
}

#[test]
fn water_quality_pipeline_runs_through_kafka() {
    if !kafka() {
        return;
    }
    let dir = tempdir();
    let home = dir.path().join("wq");
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/water_quality.toml");
    let r: Run = etl()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ETL_HOME", &home)
        .env("ETL_KAFKA_URL", var("ETL_TEST_KAFKA_URL"))
        .args(["run-pipeline", pipeline.to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("kafka://"), "{}", r.stderr);
    let rows = |p: &str| -> String {
        python(
            "import sys, pyarrow.parquet as pq; print(pq.read_metadata(sys.argv[1]).num_rows)",
            &[home.join(p).to_str().unwrap()],
        )
    };
    assert_eq!(rows("bronze/readings.parquet"), "289");
    assert_eq!(rows("silver/readings.parquet"), "285");
    assert_eq!(rows("gold/hourly.parquet"), "72");
    // Another client sees the sheet's rows in the topic, keyed by sensor.
    let keys = python(
        r#"
import os, json
from kafka import KafkaConsumer
c = KafkaConsumer("water-quality", bootstrap_servers=os.environ["ETL_TEST_KAFKA_BOOTSTRAP"],
                  auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
ok = all(m.key.decode() == json.loads(m.value)["sensor_id"] for m in c)
print(ok, sorted({p for p in c.assignment()}) != [])
"#,
        &[],
    );
    assert_eq!(keys, "True True");
}
