//! Kafka TLS and SASL options: what the local brokers allow. tansu 0.6
//! cannot serve TLS (its --cert and --key refuse each other) and its SCRAM
//! users cannot be created while authentication is on, so these tests check
//! that the options reach librdkafka and the broker: TLS against a
//! plaintext broker fails clearly and moves nothing, a broker that requires
//! SCRAM sees etl's SCRAM login (and refuses the unknown user), bad files
//! are usage errors that name them, and no secret is ever printed.

use crate::common::*;
use crate::stream_kafka::produce;
use crate::transfer::{need, python, unique, var};

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

#[test]
fn kafka_tls_against_a_plaintext_broker_fails_clearly_and_moves_nothing() {
    if !need(&["ETL_TEST_KAFKA_URL", "ETL_TEST_KAFKA_BOOTSTRAP"], "Kafka")
        || python_with(&["kafka", "pyarrow"]).is_none()
    {
        return;
    }
    let topic = unique("tls");
    produce(&topic, 1, 5, &[]);
    let group = unique("g");
    let dir = tempdir();
    let out = dir.path().join("bronze");
    let u = format!("{}/{topic}?tls=true", var("ETL_TEST_KAFKA_URL"));
    let r = fails(
        &[
            "ingest",
            &u,
            "--group",
            &group,
            "--max-wait",
            "3s",
            "-o",
            &format!("{}/", out.display()),
        ],
        3,
    );
    assert!(r.stderr.contains("broker unreachable"), "{}", r.stderr);
    // librdkafka's own reason: the TLS handshake with a plaintext listener.
    assert!(
        r.stderr.to_ascii_lowercase().contains("ssl"),
        "{}",
        r.stderr
    );
    assert!(!out.join("_checkpoint/checkpoint.json").exists());
    assert_eq!(committed(&group, &topic), 0);
    // The plaintext read of the same topic works: only TLS was wrong.
    let plain = format!("{}/{topic}", var("ETL_TEST_KAFKA_URL"));
    ok(&[
        "ingest",
        &plain,
        "--group",
        &group,
        "-o",
        &format!("{}/", out.display()),
    ]);
    assert_eq!(committed(&group, &topic), 5);
    // Producing with TLS fails the same way, before any message is sent.
    let r = fails(
        &[
            "persist",
            &u,
            "-i",
            fixture("formats/people.csv").to_str().unwrap(),
        ],
        3,
    );
    assert!(r.stderr.contains("broker unreachable"), "{}", r.stderr);
}

#[test]
fn kafka_bad_tls_files_and_sasl_settings_are_usage_errors() {
    let dir = tempdir();
    let out = format!("{}/", dir.path().join("o").display());
    let ca = dir.path().join("no-such-ca.pem");
    let u = format!(
        "kafka://etl:Hunter2Secret@127.0.0.1:1/t?tls-ca={}",
        ca.display()
    );
    let r = fails(&["ingest", &u, "-o", &out], 2);
    assert!(
        r.stderr
            .contains(&format!("tls-ca {}: cannot read it", ca.display())),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Hunter2Secret"), "{}", r.stderr);
    let r = fails(
        &[
            "persist",
            &format!("kafka://127.0.0.1:1/t?tls-cert={}", ca.display()),
            "-i",
            fixture("formats/people.csv").to_str().unwrap(),
        ],
        2,
    );
    assert!(
        r.stderr.contains("both tls-cert and tls-key"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "ingest",
            "kafka://127.0.0.1:1/t?sasl-mechanism=SCRAM-SHA-256",
            "-o",
            &out,
        ],
        2,
    );
    assert!(r.stderr.contains("needs a user"), "{}", r.stderr);
    let r = fails(
        &[
            "ingest",
            "kafka://127.0.0.1:1/t?sasl-mechanism=KERBEROS",
            "-o",
            &out,
        ],
        2,
    );
    assert!(r.stderr.contains("unknown SASL mechanism"), "{}", r.stderr);
    // A user without a password anywhere: said before connecting.
    let r: Run = etl()
        .env_remove("ETL_KAFKA_PASSWORD")
        .args(["ingest", "kafka://alice@127.0.0.1:1/t", "-o", &out])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("ETL_KAFKA_PASSWORD"), "{}", r.stderr);
}

#[test]
fn kafka_scram_login_reaches_a_broker_that_requires_it() {
    if !need(&["ETL_TEST_KAFKA_SASL_URL"], "Kafka with SASL") {
        return;
    }
    let base = var("ETL_TEST_KAFKA_SASL_URL");
    let host = base.trim_start_matches("kafka://");
    let dir = tempdir();
    let out = format!("{}/", dir.path().join("o").display());
    // SCRAM-SHA-512 with the password in the URL: the broker runs the SCRAM
    // exchange and refuses the user it does not know.
    let u = format!("kafka://alice:Hunter2Secret@{host}/water?sasl-mechanism=SCRAM-SHA-512");
    let r = fails(&["ingest", &u, "--max-wait", "3s", "-o", &out], 3);
    assert!(r.stderr.contains("SCRAM"), "{}", r.stderr);
    assert!(r.stderr.contains("unknown-user"), "{}", r.stderr);
    assert!(r.stderr.contains("alice:***@"), "{}", r.stderr);
    assert!(!r.stderr.contains("Hunter2Secret"), "{}", r.stderr);
    // The same with the password from the environment.
    let r: Run = etl()
        .env("ETL_KAFKA_PASSWORD", "Hunter2Secret")
        .args([
            "persist",
            &format!("kafka://alice@{host}/water?sasl-mechanism=scram-sha-512"),
            "-i",
            fixture("formats/people.csv").to_str().unwrap(),
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("unknown-user"), "{}", r.stderr);
    assert!(!r.stderr.contains("Hunter2Secret"), "{}", r.stderr);
    // Without credentials the broker does not let etl in at all.
    let r = fails(
        &[
            "ingest",
            &format!("{base}/water"),
            "--max-wait",
            "3s",
            "-o",
            &out,
        ],
        3,
    );
    assert!(r.stderr.contains("broker unreachable"), "{}", r.stderr);
}
