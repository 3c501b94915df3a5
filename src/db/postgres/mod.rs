//! PostgreSQL: connection settings (URL plus the PG* variables), error
//! mapping, and the two directions: [`read`] (a query's rows in binary) and
//! [`write`] (loads through binary COPY). [`binary`] holds the binary format.

pub mod binary;
pub mod read;
pub mod tls;
pub mod write;

use super::conn::{env, one_line, shown};
use super::tls::{client_config, explain, TlsMode, TlsPolicy};
use crate::error::{Error, ErrorKind, Result};
use tokio_postgres::config::Host;

/// PostgreSQL connection settings: the URL, then PGHOST, PGPORT, PGUSER,
/// PGPASSWORD, PGDATABASE and PGCONNECT_TIMEOUT for what it leaves out
/// (as libpq does).
pub fn postgres_config(url: &url::Url) -> Result<tokio_postgres::Config> {
    Ok(postgres_settings(url)?.0)
}

/// The connection settings and what the connection does about TLS
/// (`sslmode`, `sslrootcert`, PGSSLMODE, PGSSLROOTCERT; see [`tls`]).
pub fn postgres_settings(url: &url::Url) -> Result<(tokio_postgres::Config, TlsPolicy)> {
    if url.scheme() != "postgres" && url.scheme() != "postgresql" {
        return Err(Error::usage(format!(
            "{}: not a postgres:// URL",
            shown(url)
        )));
    }
    let env_port = match env("PGPORT") {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| Error::usage(format!("PGPORT={p} is not a port number")))?,
        ),
        None => None,
    };
    let mut u = url.clone();
    let url_tls = tls::take_url_tls(&mut u, url)?;
    let host_given = u.host_str().is_some_and(|h| !h.is_empty());
    if host_given && u.port().is_none() {
        // tokio-postgres would add 5432 itself: PGPORT first.
        if let Some(p) = env_port {
            let _ = u.set_port(Some(p));
        }
    }
    let mut cfg: tokio_postgres::Config = u
        .as_str()
        .parse()
        .map_err(|e| Error::usage(format!("{}: not a valid PostgreSQL URL ({e})", shown(url))))?;
    if !host_given {
        // `postgres:///db`: the host (a name or a socket folder) from PGHOST.
        let hosts = env("PGHOST").unwrap_or_else(|| "localhost".into());
        for h in hosts.split(',') {
            cfg.host(h);
        }
        cfg.port(url.port().or(env_port).unwrap_or(5432));
    }
    if cfg.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| env("USER"))
            .unwrap_or_else(|| "postgres".into());
        cfg.user(user);
    }
    if cfg.get_password().is_none() {
        if let Some(p) = env("PGPASSWORD") {
            cfg.password(p);
        }
    }
    if cfg.get_dbname().is_none() {
        if let Some(d) = env("PGDATABASE") {
            cfg.dbname(d);
        }
    }
    if cfg.get_connect_timeout().is_none() {
        let secs = env("PGCONNECT_TIMEOUT")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(10);
        cfg.connect_timeout(std::time::Duration::from_secs(secs.max(1)));
    }
    if cfg.get_application_name().is_none() {
        // The process id lets a DBA (and the tests) tell runs apart.
        cfg.application_name(format!("etl/{}", std::process::id()));
    }
    let policy = tls::policy(&cfg, url_tls);
    cfg.ssl_mode(tls::ssl_mode(&policy));
    Ok((cfg, policy))
}

/// The kind of a PostgreSQL error: bad data and constraint violations are
/// the data's fault (exit 1), undefined names and syntax the user's (2),
/// the rest the server's or the network's (3).
fn postgres_kind(e: &tokio_postgres::Error) -> ErrorKind {
    match e.code().map(|c| c.code()) {
        Some(c) if c.starts_with("22") || c.starts_with("23") => ErrorKind::Data,
        Some(c) if c.starts_with("42") => ErrorKind::Usage,
        _ => ErrorKind::Io,
    }
}

/// One line: `postgres://u:***@h/db: <what the server said>`.
pub fn postgres_error(url: &url::Url, e: &tokio_postgres::Error) -> Error {
    let text = match e.as_db_error() {
        Some(db) => {
            let mut t = db.message().to_string();
            if let Some(d) = db.detail() {
                t.push_str(&format!(" ({d})"));
            }
            if let Some(w) = db.where_() {
                if w.starts_with("COPY") {
                    t.push_str(&format!(" [{w}]"));
                }
            }
            t
        }
        None => {
            let mut t = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                let more = s.to_string();
                if !t.contains(&more) {
                    t.push_str(&format!(": {more}"));
                }
                src = s.source();
            }
            t
        }
    };
    let text = text.replace('\n', " ");
    Error::new(
        postgres_kind(e),
        format!("{}: {}", shown(url), one_line(&text)),
    )
}

/// A connected client; its connection task runs on the process's runtime.
pub struct PgConn {
    pub client: tokio_postgres::Client,
    pub url: url::Url,
}

impl PgConn {
    pub fn err(&self, e: tokio_postgres::Error) -> Error {
        postgres_error(&self.url, &e)
    }
}

/// Connects with the URL's settings and the PG* variables; a failure is
/// one line naming the server (password hidden), exit 3.
pub fn connect(url: &url::Url) -> Result<PgConn> {
    let (cfg, policy) = postgres_settings(url)?;
    let config = client_config(&policy, "sslrootcert")?;
    let client = crate::runtime::get().block_on(async {
        let (client, conn) = cfg
            .connect(tls::MakeRustls(config))
            .await
            .map_err(|e| connect_error(url, &cfg, &policy, &e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok::<_, Error>(client)
    })?;
    Ok(PgConn {
        client,
        url: url.clone(),
    })
}

/// A failed connection: one line, exit 3; a TLS failure names the host,
/// the mode and the reason.
fn connect_error(
    url: &url::Url,
    cfg: &tokio_postgres::Config,
    policy: &TlsPolicy,
    e: &tokio_postgres::Error,
) -> Error {
    let mut err = postgres_error(url, e);
    err.kind = ErrorKind::Io;
    let detail = err
        .message
        .split_once(": ")
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let tls_failure = policy.mode != TlsMode::Disable && e.as_db_error().is_none();
    match explain(&detail).filter(|_| tls_failure) {
        Some(why) => {
            let hosts: Vec<String> = cfg
                .get_hosts()
                .iter()
                .map(|h| match h {
                    Host::Tcp(h) => h.clone(),
                    #[cfg(unix)]
                    Host::Unix(p) => p.display().to_string(),
                })
                .collect();
            err.message = format!(
                "{}: cannot connect: TLS with {} (sslmode={}): {why} ({detail})",
                shown(url),
                hosts.join(","),
                policy.mode.postgres_name()
            );
        }
        None => err.message = err.message.replacen(": ", ": cannot connect: ", 1),
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_settings_fill_from_the_url() {
        let u = url::Url::parse("postgres://etl:p%40ss@db.example:6543/health").unwrap();
        let c = postgres_config(&u).unwrap();
        assert_eq!(c.get_user(), Some("etl"));
        assert_eq!(c.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(c.get_dbname(), Some("health"));
        assert_eq!(c.get_ports(), &[6543]);
    }
}
