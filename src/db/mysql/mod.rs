//! MariaDB/MySQL: connection settings (URL plus MYSQL_PWD, MYSQL_HOST,
//! MYSQL_TCP_PORT), error mapping, and the two directions: [`read`] (a
//! query's rows as text) and [`write`] (loads through `LOAD DATA`, encoded by
//! [`text`]).

pub mod read;
mod text;
pub mod tls;
pub mod write;

use super::conn::{env, one_line, shown};
use super::tls::{explain, is_loopback, TlsMode, TlsPolicy};
use crate::error::{Error, ErrorKind, Result};

/// MariaDB/MySQL connection settings: the URL, then MYSQL_PWD, MYSQL_HOST
/// and MYSQL_TCP_PORT for what it leaves out.
pub fn mysql_opts(url: &url::Url) -> Result<mysql_async::Opts> {
    Ok(mysql_settings(url)?.0)
}

/// The connection settings and what the connection does about TLS
/// (`ssl-mode`, `ssl-ca`; see [`tls`]).
pub fn mysql_settings(url: &url::Url) -> Result<(mysql_async::Opts, TlsPolicy)> {
    let mut u = url.clone();
    if u.scheme() == "mariadb" {
        u = url::Url::parse(&format!("mysql{}", &url.as_str()["mariadb".len()..]))
            .map_err(|e| Error::usage(format!("{}: {e}", shown(url))))?;
    }
    let (mode, ca) = tls::take_url_tls(&mut u, url)?;
    if u.host_str().is_none_or(str::is_empty) {
        let host = env("MYSQL_HOST").unwrap_or_else(|| "127.0.0.1".into());
        let _ = u.set_host(Some(&host));
    }
    if u.port().is_none() {
        if let Some(p) = env("MYSQL_TCP_PORT") {
            let port = p
                .parse::<u16>()
                .map_err(|_| Error::usage(format!("MYSQL_TCP_PORT={p} is not a port number")))?;
            let _ = u.set_port(Some(port));
        }
    }
    let opts = mysql_async::Opts::from_url(u.as_str())
        .map_err(|e| Error::usage(format!("{}: not a valid MySQL URL ({e})", shown(url))))?;
    let mut b = mysql_async::OptsBuilder::from_opts(opts.clone());
    if opts.pass().is_none() {
        if let Some(p) = env("MYSQL_PWD") {
            b = b.pass(Some(p));
        }
    }
    if opts.user().is_none() {
        b = b.user(Some(env("USER").unwrap_or_else(|| "root".into())));
    }
    let policy = tls::policy(opts.ip_or_hostname(), mode, ca);
    b = b.ssl_opts(tls::ssl_opts(&policy)?);
    if policy.mode != TlsMode::Disable || !is_loopback(opts.ip_or_hostname()) {
        // mysql_async would move to the socket the server names (@@socket)
        // when this machine has one by that path: plaintext, and maybe
        // another server altogether.
        b = b.prefer_socket(false);
    }
    Ok((b.into(), policy))
}

/// One line: `mysql://u:***@h/db: <what the server said>`.
pub fn mysql_error(url: &url::Url, e: &mysql_async::Error) -> Error {
    let kind = match e {
        mysql_async::Error::Server(s) => match s.state.get(..2) {
            Some("22") | Some("23") => ErrorKind::Data,
            Some("42") => ErrorKind::Usage,
            _ => match s.code {
                // Data truncated / incorrect value / out of range / duplicate key.
                1062 | 1264 | 1265 | 1292 | 1366 | 1406 | 1048 => ErrorKind::Data,
                _ => ErrorKind::Io,
            },
        },
        _ => ErrorKind::Io,
    };
    let text = match e {
        mysql_async::Error::Server(s) => s.message.clone(),
        other => other.to_string(),
    };
    let text = match url.password() {
        Some(p) if !p.is_empty() => text.replace(p, "***"),
        _ => text,
    };
    Error::new(kind, format!("{}: {}", shown(url), one_line(&text)))
}

/// Connects with the URL's settings and MYSQL_PWD; a failure is one line
/// naming the server (password hidden), exit 3.
pub async fn connect(url: &url::Url) -> Result<mysql_async::Conn> {
    let (opts, policy) = mysql_settings(url)?;
    let host = opts.ip_or_hostname().to_string();
    let mut conn = tls::open(opts, &policy).await.map_err(|e| {
        let mut err = mysql_error(url, &e);
        err.kind = ErrorKind::Io;
        let detail = err
            .message
            .split_once(": ")
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        let tls_failure =
            policy.mode != TlsMode::Disable && !matches!(e, mysql_async::Error::Server(_));
        match explain(&detail).filter(|_| tls_failure) {
            Some(why) => {
                err.message = format!(
                    "{}: cannot connect: TLS with {host} (ssl-mode={}): {why} ({detail})",
                    shown(url),
                    policy.mode.mysql_name()
                )
            }
            None => err.message = err.message.replacen(": ", ": cannot connect: ", 1),
        }
        err
    })?;
    // Strict: a bad value is an error, not a silent zero; times in UTC.
    const SESSION: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', NAMES utf8mb4";
    mysql_async::prelude::Queryable::query_drop(&mut conn, SESSION)
        .await
        .map_err(|e| mysql_error(url, &e))?;
    Ok(conn)
}
