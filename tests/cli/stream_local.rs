//! Streams with no server: `topic://DIR`, the local folder that stands in
//! for a broker, and the water-quality pipeline on its embedded defaults.

use std::path::Path;

use crate::common::*;
use crate::stream_kafka::kill_after;
use crate::transfer::python;

fn topic_url(dir: &Path) -> String {
    format!("topic://{}", dir.display())
}

#[test]
fn topic_folder_round_trip_is_exactly_once_across_kill_9() {
    let dir = tempdir();
    let topic = dir.path().join("broker/readings");
    let u = topic_url(&topic);
    let input = numbered_csv(dir.path(), 5000);
    let r = ok(&["persist", &u, "--key", "id", "-i", input.to_str().unwrap()]);
    assert!(r.stderr.contains("sent 5000 messages"), "{}", r.stderr);
    // The producer's folder: one segment of JSON lines, offsets from 0.
    let visible: Vec<String> = files_under(&topic)
        .into_iter()
        .filter(|f| !f.starts_with('.') && !f.starts_with('_'))
        .collect();
    assert_eq!(visible, ["00000000000000000000.ndjson"]);
    let out = dir.path().join("bronze");
    let args = [
        "ingest",
        u.as_str(),
        "--value-format",
        "json",
        "--max-messages",
        "300",
        "-o",
        out.to_str().unwrap(),
        "--batches",
        "1000",
    ];
    let mut killed = 0;
    for _ in 0..3 {
        if kill_after(&args, fastrand::u64(20..400)) {
            killed += 1;
        }
    }
    eprintln!("topic folder: killed {killed} of 3 runs mid-way");
    ok(&args);
    // A second produce appends a second segment; the next run reads only it.
    ok(&["persist", &u, "--key", "id", "-i", input.to_str().unwrap()]);
    ok(&args);
    let counts = python(
        r#"
import sys, collections, pyarrow.dataset as ds
t = ds.dataset(sys.argv[1], format="parquet").to_table(columns=["id", "offset"])
ids = collections.Counter(t.column("id").to_pylist())
offsets = t.column("offset").to_pylist()
print(t.num_rows, len(set(offsets)), min(offsets), max(offsets), set(ids.values()), len(ids))
"#,
        &[out.to_str().unwrap()],
    );
    assert_eq!(
        counts, "10000 10000 0 9999 {2} 5000",
        "killed {killed} times"
    );
    let group: serde_json::Value =
        serde_json::from_slice(&std::fs::read(topic.join("_groups/etl.json")).unwrap()).unwrap();
    assert_eq!(group["next"], 10000);
    assert!(leftovers(&out).is_empty());
}

#[test]
fn stream_ingest_refuses_what_it_cannot_do() {
    let dir = tempdir();
    let missing = topic_url(&dir.path().join("nothing-here"));
    let r = fails(
        &[
            "ingest",
            &missing,
            "-o",
            dir.path().join("o/").to_str().unwrap(),
        ],
        3,
    );
    assert!(r.stderr.contains("no such topic folder"), "{}", r.stderr);
    let r = fails(&["ingest", &missing, "--limit", "3"], 2);
    assert!(r.stderr.contains("not supported yet"), "{}", r.stderr);
    let r = fails(&["head", &missing], 2);
    assert!(
        r.stderr.contains("read a stream with `etl ingest`"),
        "{}",
        r.stderr
    );
    let r = fails(&["ingest", "kafka://h/t?grup=x", "-o", "x/"], 2);
    assert!(r.stderr.contains("unknown option 'grup'"), "{}", r.stderr);
}

#[test]
fn water_quality_pipeline_runs_with_no_server() {
    if python_with(&["pyarrow"]).is_none() {
        return;
    }
    let dir = tempdir();
    let home = dir.path().join("wq");
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/water_quality.toml");
    let run = || {
        let r: Run = etl()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ETL_HOME", &home)
            .env_remove("ETL_KAFKA_URL")
            .env_remove("ETL_POSTGRES_URL")
            .env_remove("ETL_WAREHOUSE_DIR")
            .args(["run-pipeline", pipeline.to_str().unwrap()])
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 0, "{}", r.stderr);
        r
    };
    run();
    let rows = |p: &str| -> u64 {
        python(
            "import sys, pyarrow.parquet as pq; print(pq.read_metadata(sys.argv[1]).num_rows)",
            &[home.join(p).to_str().unwrap()],
        )
        .parse()
        .unwrap()
    };
    // 289 sheet rows: 1 entered twice, 3 implausible or empty.
    assert_eq!(rows("bronze/readings.parquet"), 289);
    assert_eq!(rows("silver/readings.parquet"), 285);
    assert_eq!(rows("silver/readings_rejects.parquet"), 3);
    // 6 sensors, 12 hours.
    assert_eq!(rows("gold/hourly.parquet"), 72);
    let archive = python(
        r#"
import sys, fastavro
recs = list(fastavro.reader(open(sys.argv[1], "rb")))
print(len(recs), recs[0]["key"], recs[0]["topic"], recs[0]["offset"], recs[0]["timestamp"] is not None)
"#,
        &[home.join("bronze/archive/readings.avro").to_str().unwrap()],
    );
    assert_eq!(archive, "289 WQ-001 water-quality 0 True");
    // Run again: the sheet is produced again, bronze holds both copies,
    // silver and gold are unchanged.
    run();
    assert_eq!(rows("bronze/readings.parquet"), 578);
    assert_eq!(rows("silver/readings.parquet"), 285);
    assert_eq!(rows("gold/hourly.parquet"), 72);
    let db = python(
        r#"
import sys, sqlite3
c = sqlite3.connect(sys.argv[1])
print(c.execute("select count(*), sum(readings) from water_hourly").fetchone())
"#,
        &[home.join("water_quality.db").to_str().unwrap()],
    );
    assert_eq!(db, "(72, 285)");
}

#[test]
fn csv_payloads_parse_with_a_schema_and_bad_records_are_rejected() {
    let dir = tempdir();
    let u = topic_url(&dir.path().join("t"));
    let input = csv_in(
        dir.path(),
        "in.csv",
        "value\n\"1,ph,7.2\"\n\"2,ph,bad\"\n\"3,ph\"\n\"4,do,9.5\"\n",
    );
    ok(&["persist", &u, "--value-format", "text", "-i", &input]);
    let out = dir.path().join("out.csv");
    let rej = dir.path().join("rej.csv");
    ok(&[
        "ingest",
        &u,
        "--value-format",
        "csv",
        "--schema",
        "id:int,kind:str,v:float",
        "--rejects",
        rej.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let rows = as_csv(&out, &["--select", "id,kind,v,offset"]);
    assert_eq!(rows, "id,kind,v,offset\n1,ph,7.2,0\n4,do,9.5,3\n");
    let bad = as_csv(&rej, &["--select", "offset,reject_reason"]);
    assert_eq!(
        bad,
        "offset,reject_reason\n1,could not parse `bad` as dtype `f64` at column 'v' (column number 3)\n2,\"2 fields, expected 3\"\n"
    );
}

#[test]
fn follow_writes_a_part_per_batch_until_interrupted() {
    let dir = tempdir();
    let u = topic_url(&dir.path().join("t"));
    let input = numbered_csv(dir.path(), 50);
    ok(&["persist", &u, "-i", input.to_str().unwrap()]);
    let out = dir.path().join("landing");
    let child = etl()
        .args([
            "ingest",
            &u,
            "--value-format",
            "json",
            "--follow",
            "--interval",
            "100ms",
        ])
        .args(["-o", out.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let parts = |n: usize| {
        for _ in 0..100 {
            let found = files_under(&out)
                .iter()
                .filter(|f| f.starts_with("part-"))
                .count();
            if found >= n {
                return found;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        0
    };
    assert_eq!(parts(1), 1);
    ok(&["persist", &u, "-i", input.to_str().unwrap()]);
    assert_eq!(parts(2), 2, "a second batch arrives while following");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 130, "{}", r.stderr);
    assert_eq!(
        files_under(&out)
            .iter()
            .filter(|f| f.starts_with("part-"))
            .collect::<Vec<_>>(),
        ["part-000000.parquet", "part-000001.parquet"]
    );
    let rows = as_csv(&out, &["--select", "id"]);
    assert_eq!(rows.lines().count(), 101);
}
