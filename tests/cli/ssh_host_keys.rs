//! SSH host keys by OpenSSH's rules, against a real sshd holding an
//! Ed25519, an ECDSA and an RSA host key: a host known by one type is
//! known (the client asks for that type), a key of another type never
//! replaces a known one, and `@revoked` keys are refused.

use std::path::Path;

use crate::common::*;
use crate::transfer::{fails_env, need, ok_env, unique, var};

const VARS: &[&str] = &[
    "ETL_TEST_SFTP_URL",
    "ETL_TEST_SSH_KEY",
    "ETL_TEST_SFTP_HOST",
    "ETL_TEST_SFTP_PORT",
    "ETL_TEST_SSH_HOST_KEYS",
];

/// `[host]:port TYPE BASE64` for the server's host key `file`.
fn known_line(file: &str) -> String {
    let dir = var("ETL_TEST_SSH_HOST_KEYS");
    let text = std::fs::read_to_string(Path::new(&dir).join(file)).unwrap();
    let key: Vec<&str> = text.split_whitespace().take(2).collect();
    format!(
        "[{}]:{} {}",
        var("ETL_TEST_SFTP_HOST"),
        var("ETL_TEST_SFTP_PORT"),
        key.join(" ")
    )
}

fn transfer(kh: &Path, accept_new: bool) -> Vec<String> {
    let dir = kh.parent().unwrap();
    let f = csv_in(dir, "x.csv", "a\n1\n");
    let dest = format!("{}{}/", var("ETL_TEST_SFTP_URL"), unique("sftp-kt"));
    let mut args: Vec<String> = ["transfer", &f, &dest, "-i", &var("ETL_TEST_SSH_KEY")]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--known-hosts".to_string(), kh.display().to_string()]);
    if accept_new {
        args.push("--accept-new-host-key".into());
    }
    args
}

fn run_transfer(kh: &Path, accept_new: bool, code: i32) -> Run {
    let args = transfer(kh, accept_new);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if code == 0 {
        ok_env(&args)
    } else {
        fails_env(&args, code)
    }
}

#[test]
fn a_host_known_by_its_ecdsa_or_rsa_key_is_known() {
    if !need(VARS, "sshd") {
        return;
    }
    let dir = tempdir();
    let kh = dir.path().join("known_hosts");
    for file in ["host_key_ecdsa.pub", "host_key_rsa.pub"] {
        let line = format!("{}\n", known_line(file));
        std::fs::write(&kh, &line).unwrap();
        let r = run_transfer(&kh, false, 0);
        assert!(!r.stderr.contains("added"), "{file}: {}", r.stderr);
        assert_eq!(std::fs::read_to_string(&kh).unwrap(), line, "{file}");
    }
}

#[test]
fn a_key_of_another_type_never_replaces_a_known_one() {
    if !need(VARS, "sshd") {
        return;
    }
    let dir = tempdir();
    let kh = dir.path().join("known_hosts");
    // The host is known by an ECDSA key that is not the server's.
    let other = dir.path().join("other");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ecdsa", "-N", "", "-f", other.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let fake = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let fake: Vec<&str> = fake.split_whitespace().take(2).collect();
    let host = known_line("host_key.pub");
    let host = host.split_whitespace().next().unwrap();
    let text = format!("{host} {}\n", fake.join(" "));
    std::fs::write(&kh, &text).unwrap();
    let r = run_transfer(&kh, true, 3);
    assert!(r.stderr.contains("CHANGED"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        text,
        "known_hosts untouched"
    );
}

#[test]
fn a_revoked_host_key_is_refused() {
    if !need(VARS, "sshd") {
        return;
    }
    let dir = tempdir();
    let kh = dir.path().join("known_hosts");
    let known = known_line("host_key.pub");
    let key: Vec<&str> = known.split_whitespace().skip(1).collect();
    std::fs::write(&kh, format!("@revoked * {}\n{known}\n", key.join(" "))).unwrap();
    let r = run_transfer(&kh, true, 3);
    assert!(r.stderr.contains("REVOKED"), "{}", r.stderr);
}
