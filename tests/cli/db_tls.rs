//! TLS to the real PostgreSQL and MariaDB servers: scripts/services.sh gives
//! each a throwaway CA (ETL_TEST_POSTGRES_CA, ETL_TEST_MYSQL_CA) and a
//! certificate for localhost and 127.0.0.1. Whether a session runs over TLS
//! is asked of the server itself (pg_stat_ssl, Ssl_cipher) through etl.
//!
//! `0.0.0.0` reaches the loopback servers on Linux but is not a loopback
//! name, so it stands for "a host elsewhere": the certificate does not name
//! it, and the default there is full verification.

use std::sync::Mutex;

use crate::common::*;
use crate::dbs::*;

/// The PostgreSQL tests here hold this: one of them turns the server's TLS
/// off for a moment.
static PG_TLS: Mutex<()> = Mutex::new(());

fn ca_of(s: &Server) -> Option<String> {
    let var = match s.kind {
        Kind::Postgres => "ETL_TEST_POSTGRES_CA",
        Kind::Mysql => "ETL_TEST_MYSQL_CA",
    };
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok() => panic!("CI must provide {var} (scripts/services.sh)"),
        _ => {
            eprintln!("skipped: {var} not set");
            None
        }
    }
}

/// The servers with their CA files.
fn servers() -> Vec<(Server, String)> {
    [postgres(), mysql()]
        .into_iter()
        .flatten()
        .filter_map(|s| ca_of(&s).map(|ca| (s, ca)))
        .collect()
}

/// The URL with query parameters added.
fn with(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// The URL with the host replaced.
fn at_host(url: &str, host: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_host(Some(host)).unwrap();
    u.to_string()
}

/// The TLS parameters for a mode and a CA, in each server's own names.
fn tls(s: &Server, mode: &str, ca: Option<&str>) -> String {
    let (m, c, mode) = match s.kind {
        Kind::Postgres => ("sslmode", "sslrootcert", mode),
        Kind::Mysql => (
            "ssl-mode",
            "ssl-ca",
            match mode {
                "" => "",
                "disable" => "DISABLED",
                "prefer" => "PREFERRED",
                "require" => "REQUIRED",
                // The mysql client's spellings, any case.
                "verify-ca" => "verify_ca",
                _ => "VERIFY_IDENTITY",
            },
        ),
    };
    let mut p = if mode.is_empty() {
        String::new()
    } else {
        format!("{m}={mode}")
    };
    if let Some(ca) = ca {
        if !p.is_empty() {
            p.push('&');
        }
        p.push_str(&format!("{c}={ca}"));
    }
    p
}

/// Whether etl's session with `url` runs over TLS (the server says).
fn over_tls(s: &Server, url: &str) -> bool {
    let sql = match s.kind {
        Kind::Postgres => "select ssl::text as tls from pg_stat_ssl where pid = pg_backend_pid()",
        Kind::Mysql => "select variable_value <> '' as tls from information_schema.session_status where variable_name = 'Ssl_cipher'",
    };
    let r = ok(&["ingest", url, "--query", sql, "--to", "csv"]);
    match r.stdout.lines().nth(1).unwrap_or("").trim() {
        "true" | "1" => true,
        "false" | "0" => false,
        other => panic!("{url}: {other:?} in {}", r.stdout),
    }
}

fn pg_guard(s: &Server) -> Option<std::sync::MutexGuard<'static, ()>> {
    (s.kind == Kind::Postgres).then(|| PG_TLS.lock().unwrap_or_else(|e| e.into_inner()))
}

#[test]
fn verified_tls_round_trips_and_the_default_stays_plaintext_on_loopback() {
    for (s, ca) in servers() {
        let _g = pg_guard(&s);
        let dir = tempdir();
        let t = unique("etl_tls");
        let f = csv_in(dir.path(), "a.csv", "id,name\n1,a\n2,b\n");
        let full = with(&s.url, &tls(&s, "verify-full", Some(&ca)));
        let r = run(&[
            "persist",
            &full,
            "--table",
            &t,
            "-i",
            &f,
            "--mode",
            "full-refresh",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = ok(&["ingest", &full, "--table", &t, "--to", "csv"]);
        assert_eq!(r.stdout, "id,name\n1,a\n2,b\n");
        assert!(over_tls(&s, &full), "{full}");
        // require and prefer encrypt without verifying; disable and the
        // loopback default are plaintext, as before.
        assert!(over_tls(&s, &with(&s.url, &tls(&s, "require", None))));
        assert!(over_tls(&s, &with(&s.url, &tls(&s, "prefer", None))));
        assert!(!over_tls(&s, &with(&s.url, &tls(&s, "disable", None))));
        assert!(!over_tls(&s, &s.url));
        // verify-ca: the chain is checked, not the name.
        let elsewhere = at_host(&s.url, "0.0.0.0");
        assert!(over_tls(
            &s,
            &with(&elsewhere, &tls(&s, "verify-ca", Some(&ca)))
        ));
        s.drop(&t);
    }
}

#[test]
fn failed_verification_is_one_clear_line_without_the_password() {
    let dir = tempdir();
    // A CA that signed nothing the servers hold.
    let wrong = dir.path().join("wrong-ca.pem");
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=not the etl test CA"])
        .arg("-keyout")
        .arg(dir.path().join("wrong.key"))
        .arg("-out")
        .arg(&wrong)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let wrong = wrong.to_str().unwrap();
    for (s, ca) in servers() {
        let _g = pg_guard(&s);
        let secret = "tLsS3cr3t";
        let url = s.with_password(secret);
        let elsewhere = at_host(&url, "0.0.0.0");
        let f = csv_in(dir.path(), "a.csv", "id\n1\n");
        for (target, why) in [
            (
                with(&url, &tls(&s, "verify-full", Some(wrong))),
                "not signed by a trusted CA",
            ),
            (
                with(&url, &tls(&s, "verify-ca", Some(wrong))),
                "not signed by a trusted CA",
            ),
            // Off loopback, no mode: verified against the system's CAs.
            (elsewhere.clone(), "not signed by a trusted CA"),
            // Off loopback with the right CA: the name must match too.
            (
                with(&elsewhere, &tls(&s, "", Some(&ca))),
                "does not name this host",
            ),
        ] {
            let r = fails(&["persist", &target, "--table", "t", "-i", &f], 3);
            assert!(r.stderr.contains(why), "{target}: {}", r.stderr);
            assert!(r.stderr.contains("TLS with "), "{}", r.stderr);
            assert!(!r.stderr.contains(secret), "{}", r.stderr);
            let r = fails(
                &["ingest", &target, "--query", "select 1", "--to", "csv"],
                3,
            );
            assert!(r.stderr.contains(why), "{target}: {}", r.stderr);
        }
        // Off loopback, TLS turned off on purpose: plaintext works.
        let plain = at_host(&s.url, "0.0.0.0");
        assert!(!over_tls(&s, &with(&plain, &tls(&s, "disable", None))));
    }
}

#[test]
fn tls_settings_are_checked_before_connecting() {
    for (url, says) in [
        (
            "postgres://u:pw@db.example/x?sslmode=verify_full",
            "sslmode=verify_full is not one of",
        ),
        (
            "mysql://u:pw@db.example/x?ssl-mode=sometimes",
            "ssl-mode=sometimes is not one of",
        ),
        ("mysql://u:pw@db.example/x?require_ssl=true", "ssl-mode="),
        (
            "postgres://u:pw@db.example/x?sslrootcert=/nonexistent/ca.pem",
            "cannot read the CA file",
        ),
    ] {
        let r = run(&["ingest", url, "--query", "select 1", "--to", "csv"]);
        assert!(r.code == 2 || r.code == 3, "{url}: {} {}", r.code, r.stderr);
        assert!(r.stderr.contains(says), "{url}: {}", r.stderr);
        assert!(!r.stderr.contains(":pw@"), "{}", r.stderr);
    }
}

/// PostgreSQL's TLS turned off for a moment (ALTER SYSTEM, reload): a
/// server without TLS. Turned back on when dropped, even after a failure.
struct TlsOff<'a>(&'a Server);

impl TlsOff<'_> {
    fn apply(s: &Server, sql: &str, want: &str) {
        s.sql(sql);
        s.sql("select pg_reload_conf()");
        let start = std::time::Instant::now();
        while s.try_sql("show ssl").unwrap_or_default().trim() != want {
            assert!(start.elapsed().as_secs() < 20, "ssl = {want} not applied");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for TlsOff<'_> {
    fn drop(&mut self) {
        TlsOff::apply(self.0, "alter system reset ssl", "on");
    }
}

#[test]
fn require_against_a_server_without_tls_fails_clearly() {
    let Some(s) = postgres() else { return };
    let _g = PG_TLS.lock().unwrap_or_else(|e| e.into_inner());
    let off = TlsOff(&s);
    TlsOff::apply(&s, "alter system set ssl = off", "off");
    let require = with(&s.url, "sslmode=require");
    let r = run(&["ingest", &require, "--query", "select 1", "--to", "csv"]);
    let prefer = with(&s.url, "sslmode=prefer");
    let plain = run(&["ingest", &prefer, "--query", "select 1", "--to", "csv"]);
    drop(off);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("the server does not offer TLS") && r.stderr.contains("sslmode=require"),
        "{}",
        r.stderr
    );
    assert_eq!(plain.code, 0, "{}", plain.stderr);
}
