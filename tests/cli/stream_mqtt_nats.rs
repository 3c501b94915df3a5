//! MQTT (mosquitto) and NATS JetStream (nats-server) as stream inputs and
//! targets, checked with their own clients (mosquitto_pub/sub, nats-py).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::stream_kafka::{ids_in, kill_after};
use crate::transfer::{need, python, unique, var};

fn mosquitto_pub(port: &str, topic: &str, lines: &str) {
    let mut child = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", port, "-t", topic, "-q", "1", "-l"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn json_lines(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("{{\"id\": {i}}}\n")).collect()
}

#[test]
fn mqtt_ingest_is_exactly_once_across_kill_9() {
    if !need(&["ETL_TEST_MQTT_URL", "ETL_TEST_MQTT_PORT"], "MQTT")
        || python_with(&["pyarrow"]).is_none()
    {
        return;
    }
    let port = var("ETL_TEST_MQTT_PORT");
    let topic = unique("sensors");
    let group = unique("etl-mqtt");
    let u = format!("{}/{topic}", var("ETL_TEST_MQTT_URL"));
    let dir = tempdir();
    let out = dir.path().join("bronze");
    let args = [
        "ingest",
        u.as_str(),
        "--group",
        group.as_str(),
        "--value-format",
        "json",
        "--max-messages",
        "100",
        "-o",
        out.to_str().unwrap(),
        "--batches",
        "1000",
    ];
    // The first run opens the persistent session (nothing to read yet).
    let r = ok(&args);
    assert!(r.stderr.contains("read 0 rows"), "{}", r.stderr);
    let n = 1000;
    mosquitto_pub(&port, &topic, &json_lines(0, n));
    let mut killed = 0;
    for _ in 0..3 {
        if kill_after(&args, fastrand::u64(300..1500)) {
            killed += 1;
        }
    }
    eprintln!("mqtt: killed {killed} of 3 runs mid-way");
    ok(&args);
    let ids = ids_in(&out);
    assert_eq!(
        ids,
        (0..n as i64).collect::<Vec<_>>(),
        "killed {killed} times"
    );
    // Messages published while no etl runs wait in the session.
    mosquitto_pub(&port, &topic, &json_lines(n, n + 10));
    ok(&args);
    assert_eq!(ids_in(&out).len(), n + 10);
}

#[test]
fn mqtt_persist_publishes_confirmed_messages() {
    if !need(&["ETL_TEST_MQTT_URL", "ETL_TEST_MQTT_PORT"], "MQTT") {
        return;
    }
    let port = var("ETL_TEST_MQTT_PORT");
    let topic = unique("out");
    let sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            &format!("{topic}/#"),
            "-q",
            "1",
            "-C",
            "6",
            "-v",
            "-W",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let people = fixture("formats/people.csv");
    let u = format!("{}/{topic}", var("ETL_TEST_MQTT_URL"));
    ok(&["persist", &u, "--key", "id", "-i", people.to_str().unwrap()]);
    let got = sub.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&got.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{topic}/1 {{\"id\":1,"))),
        "{text}"
    );
}

#[test]
fn mqtt_down_is_an_io_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempdir();
    let r = fails(
        &[
            "ingest",
            &format!("mqtt://127.0.0.1:{port}/x"),
            "-o",
            dir.path().join("o/").to_str().unwrap(),
        ],
        3,
    );
    assert!(r.stderr.contains("broker unreachable"), "{}", r.stderr);
}

fn nats_publish(subject: &str, from: usize, to: usize) {
    python(
        r#"
import sys, os, asyncio, json, nats
async def main():
    nc = await nats.connect(os.environ["ETL_TEST_NATS_URL"])
    js = nc.jetstream()
    subject = sys.argv[1]
    try:
        await js.add_stream(name=subject.replace(".", "_"), subjects=[subject])
    except Exception:
        pass
    for i in range(int(sys.argv[2]), int(sys.argv[3])):
        await js.publish(subject, json.dumps({"id": i}).encode(), headers={"src": "nats-py"})
    await nc.close()
asyncio.run(main())
"#,
        &[subject, &from.to_string(), &to.to_string()],
    );
}

#[test]
fn nats_ingest_is_exactly_once_across_kill_9() {
    if !need(&["ETL_TEST_NATS_URL"], "NATS") || python_with(&["nats", "pyarrow"]).is_none() {
        return;
    }
    let subject = unique("readings").replace('-', "_");
    let n = 2000;
    nats_publish(&subject, 0, n);
    let u = format!("{}/{subject}", var("ETL_TEST_NATS_URL"));
    let dir = tempdir();
    let out = dir.path().join("bronze");
    let args = [
        "ingest",
        u.as_str(),
        "--group",
        "bronze",
        "--value-format",
        "json",
        "--max-messages",
        "150",
        "-o",
        out.to_str().unwrap(),
        "--batches",
        "1000",
    ];
    // A consumer that took messages and died before acknowledging them (as a
    // crashed run would): they are read again, not skipped.
    python(
        r#"
import sys, os, asyncio, nats
async def main():
    nc = await nats.connect(os.environ["ETL_TEST_NATS_URL"])
    sub = await nc.jetstream().pull_subscribe(sys.argv[1], durable="bronze")
    msgs = await sub.fetch(100, timeout=5)
    assert len(msgs) == 100
    await nc.close()
asyncio.run(main())
"#,
        &[&subject],
    );
    let mut killed = 0;
    for _ in 0..3 {
        if kill_after(&args, fastrand::u64(30..500)) {
            killed += 1;
        }
    }
    eprintln!("nats: killed {killed} of 3 runs mid-way");
    ok(&args);
    assert_eq!(
        ids_in(&out),
        (0..n as i64).collect::<Vec<_>>(),
        "killed {killed} times"
    );
    nats_publish(&subject, n, n + 5);
    ok(&args);
    assert_eq!(ids_in(&out).len(), n + 5);
    // The durable consumer's acknowledged floor is the last stored sequence.
    let floor = python(
        r#"
import sys, os, asyncio, nats
async def main():
    nc = await nats.connect(os.environ["ETL_TEST_NATS_URL"])
    info = await nc.jetstream().consumer_info(sys.argv[1].replace(".", "_"), "bronze")
    print(info.ack_floor.stream_seq)
    await nc.close()
asyncio.run(main())
"#,
        &[&subject],
    );
    assert_eq!(floor, (n + 5).to_string());
}

#[test]
fn nats_persist_is_confirmed_by_jetstream() {
    if !need(&["ETL_TEST_NATS_URL"], "NATS") || python_with(&["nats"]).is_none() {
        return;
    }
    let subject = unique("out").replace('-', "_");
    let u = format!("{}/{subject}", var("ETL_TEST_NATS_URL"));
    let people = fixture("formats/people.csv");
    ok(&["persist", &u, "-i", people.to_str().unwrap()]);
    let got = python(
        r#"
import sys, os, asyncio, json, nats
async def main():
    nc = await nats.connect(os.environ["ETL_TEST_NATS_URL"])
    js = nc.jetstream()
    name = await js.find_stream_name_by_subject(sys.argv[1])
    info = await js.stream_info(name)
    msg = await js.get_msg(name, 1)
    print(info.state.messages, json.loads(msg.data)["id"])
    await nc.close()
asyncio.run(main())
"#,
        &[&subject],
    );
    assert_eq!(got, "6 1");
}
