//! The real PostgreSQL and MariaDB servers the database tests use, and
//! their own command-line clients (psql, mariadb) to check what etl wrote.
//!
//! URLs: ETL_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
//! and ETL_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/test). A
//! server that does not answer fails the test when CI is set, else skips it.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A table name unique to this test process and call.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn missing(what: &str, why: &str) -> Option<Server> {
    if std::env::var("CI").is_ok() {
        panic!("CI must provide {what}: {why}");
    }
    eprintln!("skipped: {what} not reachable ({why})");
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Mysql,
}

pub struct Server {
    pub kind: Kind,
    pub url: String,
}

pub fn postgres() -> Option<Server> {
    let url = std::env::var("ETL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let s = Server {
        kind: Kind::Postgres,
        url,
    };
    match s.try_sql("select 1") {
        Ok(_) => Some(s),
        Err(e) => missing("PostgreSQL (ETL_TEST_POSTGRES_URL)", &e),
    }
}

pub fn mysql() -> Option<Server> {
    let url = std::env::var("ETL_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let s = Server {
        kind: Kind::Mysql,
        url,
    };
    match s.try_sql("select 1") {
        Ok(_) => Some(s),
        Err(e) => missing("MariaDB (ETL_TEST_MYSQL_URL)", &e),
    }
}

impl Server {
    pub fn parts(&self) -> url::Url {
        url::Url::parse(&self.url).unwrap()
    }

    /// The URL with a password set (for redaction tests).
    pub fn with_password(&self, password: &str) -> String {
        let mut u = self.parts();
        u.set_password(Some(password)).unwrap();
        u.to_string()
    }

    fn client(&self) -> Command {
        match self.kind {
            Kind::Postgres => {
                let mut c = Command::new("psql");
                c.args([
                    &self.url,
                    "-X",
                    "-A",
                    "-t",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-F",
                    "|",
                ]);
                c
            }
            Kind::Mysql => {
                let u = self.parts();
                let mut c = Command::new("mariadb");
                c.arg("--no-defaults")
                    .arg(format!("-h{}", u.host_str().unwrap_or("127.0.0.1")))
                    .arg(format!("-P{}", u.port().unwrap_or(3306)))
                    .arg(format!("-u{}", u.username()))
                    .args([
                        "-N",
                        "-B",
                        "--local-infile=1",
                        "--default-character-set=utf8mb4",
                    ]);
                if let Some(p) = u.password() {
                    c.arg(format!("-p{p}"));
                }
                c.arg(u.path().trim_start_matches('/'));
                c
            }
        }
    }

    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        let mut c = self.client();
        match self.kind {
            Kind::Postgres => c.args(["-c", sql]),
            Kind::Mysql => c.args(["-e", sql]),
        };
        let out = c
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run the client: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// Runs SQL with the server's own client; rows as `a|b` (psql) or
    /// `a\tb` (mariadb) lines.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Quotes an identifier for this server.
    pub fn q(&self, name: &str) -> String {
        match self.kind {
            Kind::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
            Kind::Mysql => format!("`{}`", name.replace('`', "``")),
        }
    }

    pub fn count(&self, table: &str) -> i64 {
        self.sql(&format!("select count(*) from {}", self.q(table)))
            .trim()
            .parse()
            .unwrap()
    }

    pub fn drop(&self, table: &str) {
        let _ = self.try_sql(&format!("drop table if exists {}", self.q(table)));
    }

    /// Tables whose name starts with `prefix`.
    pub fn tables_like(&self, prefix: &str) -> Vec<String> {
        let sql = match self.kind {
            Kind::Postgres => format!(
                "select relname from pg_class where relkind = 'r' and relname like '{prefix}%' order by 1"
            ),
            Kind::Mysql => format!(
                "select table_name from information_schema.tables where table_schema = database() and table_name like '{prefix}%' order by 1"
            ),
        };
        self.sql(&sql)
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// `etl persist URL --table T -i INPUT EXTRA...`
    pub fn persist(&self, table: &str, input: &str, extra: &[&str]) -> Run {
        let mut args = vec!["persist", &self.url, "--table", table, "-i", input];
        args.extend_from_slice(extra);
        run(&args)
    }
}

/// Runs `etl A... | etl B...` and returns the second's result.
pub fn pipe(a: &[&str], b: &[&str]) -> Run {
    let mut first = etl()
        .args(a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let second = etl()
        .args(b)
        .stdin(first.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let f = first.wait_with_output().unwrap();
    assert!(
        f.status.success(),
        "etl {a:?}: {}",
        String::from_utf8_lossy(&f.stderr)
    );
    second.into()
}
