//! What the database sinks and sources share: connection settings from a
//! URL plus the clients' standard environment variables, identifier
//! quoting, `SCHEMA.TABLE` parsing, and errors that never show a password.

use crate::error::{Error, ErrorKind, Result};
use crate::location::redact;

/// The SQL dialect an identifier is quoted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL and SQLite: `"name"` (63 bytes at most in PostgreSQL).
    Postgres,
    /// MariaDB/MySQL: `` `name` `` (64 characters at most).
    Mysql,
}

impl Dialect {
    fn quote_char(self) -> char {
        match self {
            Dialect::Postgres => '"',
            Dialect::Mysql => '`',
        }
    }

    fn max_len(self, name: &str) -> usize {
        match self {
            // PostgreSQL truncates longer names silently: refuse them instead.
            Dialect::Postgres => name.len(),
            Dialect::Mysql => name.chars().count(),
        }
    }

    fn limit(self) -> usize {
        match self {
            Dialect::Postgres => 63,
            Dialect::Mysql => 64,
        }
    }

    /// `name` as a quoted identifier; refuses names the server would
    /// mangle (empty, NUL, too long).
    pub fn ident(self, name: &str) -> Result<String> {
        check_ident(self, name)?;
        let q = self.quote_char();
        Ok(format!("{q}{}{q}", name.replace(q, &format!("{q}{q}"))))
    }
}

fn check_ident(d: Dialect, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::usage(
            "an empty name cannot be a table or column name",
        ));
    }
    if name.contains('\0') {
        return Err(Error::usage(format!(
            "name {name:?} holds a NUL character, which no database accepts"
        )));
    }
    if d == Dialect::Mysql && name.ends_with(' ') {
        return Err(Error::usage(format!(
            "name {name:?} ends with a space, which MariaDB/MySQL refuse; rename the column (etl clean --rename)"
        )));
    }
    if d.max_len(name) > d.limit() {
        return Err(Error::usage(format!(
            "name '{name}' is longer than the {} {} the database allows; rename it (etl clean --rename)",
            d.limit(),
            if d == Dialect::Postgres { "bytes" } else { "characters" }
        )));
    }
    Ok(())
}

/// A table name as written with `--table`: `TABLE` or `SCHEMA.TABLE`
/// (`DB.TABLE` in MariaDB). Parts are taken exactly as written (case kept);
/// a part holding a dot is written in double quotes: `"my.schema".t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn parse(text: &str) -> Result<TableName> {
        let parts = split_dotted(text)?;
        let bad = || {
            Error::usage(format!(
                "--table '{text}': write TABLE or SCHEMA.TABLE (double-quote a part that holds a dot: \"my.table\")"
            ))
        };
        match parts.as_slice() {
            [name] if !name.is_empty() => Ok(TableName {
                schema: None,
                name: name.clone(),
            }),
            [schema, name] if !schema.is_empty() && !name.is_empty() => Ok(TableName {
                schema: Some(schema.clone()),
                name: name.clone(),
            }),
            _ => Err(bad()),
        }
    }

    /// The quoted, qualified name: `"schema"."table"`.
    pub fn quoted(&self, d: Dialect) -> Result<String> {
        let name = d.ident(&self.name)?;
        Ok(match &self.schema {
            Some(s) => format!("{}.{name}", d.ident(s)?),
            None => name,
        })
    }

    /// A sibling table in the same schema.
    pub fn sibling(&self, name: String) -> TableName {
        TableName {
            schema: self.schema.clone(),
            name,
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// `a.b`, `"a.b".c`, `"say ""hi""".t` → parts, quotes removed.
fn split_dotted(text: &str) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if cur.is_empty() && !quoted_part => {
                quoted_part = true;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            cur.push('"');
                        }
                        Some('"') => break,
                        Some(ch) => cur.push(ch),
                        None => {
                            return Err(Error::usage(format!(
                                "--table '{text}': a double quote is not closed"
                            )))
                        }
                    }
                }
                if !matches!(chars.peek(), None | Some('.')) {
                    return Err(Error::usage(format!(
                        "--table '{text}': a quoted name must be followed by a dot or end the name"
                    )));
                }
            }
            '.' => {
                parts.push(std::mem::take(&mut cur));
                quoted_part = false;
            }
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    Ok(parts)
}

/// The location as it may be shown: password replaced by `***`.
pub fn shown(url: &url::Url) -> String {
    redact(url.as_str())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// PostgreSQL connection settings: the URL, then PGHOST, PGPORT, PGUSER,
/// PGPASSWORD, PGDATABASE and PGCONNECT_TIMEOUT for what it leaves out
/// (as libpq does).
pub fn postgres_config(url: &url::Url) -> Result<tokio_postgres::Config> {
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
    Ok(cfg)
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

/// The text on one line, with a part repeated by nested errors once only.
fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut parts: Vec<&str> = Vec::new();
    for p in flat.split(": ") {
        if parts.last() != Some(&p) {
            parts.push(p);
        }
    }
    parts.join(": ")
}

/// MariaDB/MySQL connection settings: the URL, then MYSQL_PWD, MYSQL_HOST
/// and MYSQL_TCP_PORT for what it leaves out.
pub fn mysql_opts(url: &url::Url) -> Result<mysql_async::Opts> {
    let mut u = url.clone();
    if u.scheme() == "mariadb" {
        u = url::Url::parse(&format!("mysql{}", &url.as_str()["mariadb".len()..]))
            .map_err(|e| Error::usage(format!("{}: {e}", shown(url))))?;
    }
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
    Ok(b.into())
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

/// The database-level part of an error message, with the location.
pub fn io_error(url: &url::Url, what: impl std::fmt::Display) -> Error {
    Error::io(format!("{}: {what}", shown(url)))
}

/// Compares the target's columns with the new rows' columns: new columns
/// need `--evolve`; columns missing from the new rows are an error. Names
/// compare exactly (case kept).
pub fn check_columns(old: &[String], new: &[String], evolve: bool, table: &str) -> Result<()> {
    let added: Vec<&str> = new
        .iter()
        .map(String::as_str)
        .filter(|n| !old.iter().any(|o| o == n))
        .collect();
    let missing: Vec<&str> = old
        .iter()
        .map(String::as_str)
        .filter(|o| !new.iter().any(|n| n == o))
        .collect();
    let mut problems = Vec::new();
    if !added.is_empty() && !evolve {
        problems.push(format!(
            "new columns {} (pass --evolve to add them)",
            added.join(", ")
        ));
    }
    if !missing.is_empty() {
        problems.push(format!(
            "columns {} are missing from the new rows",
            missing.join(", ")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::data(format!(
        "table '{table}': the new rows do not fit: {}",
        problems.join("; ")
    )))
}

/// A short name unique to this process and moment, for staging tables.
pub fn staging_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{nanos:x}", std::process::id())
}

/// A connected client on its own runtime.
pub struct PgConn {
    pub rt: tokio::runtime::Runtime,
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
pub fn connect_postgres(url: &url::Url) -> Result<PgConn> {
    let cfg = postgres_config(url)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client = rt.block_on(async {
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| {
            let mut e = postgres_error(url, &e);
            e.kind = crate::error::ErrorKind::Io;
            e.message = e.message.replacen(": ", ": cannot connect: ", 1);
            e
        })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok::<_, Error>(client)
    })?;
    Ok(PgConn {
        rt,
        client,
        url: url.clone(),
    })
}

/// Connects with the URL's settings and MYSQL_PWD; a failure is one line
/// naming the server (password hidden), exit 3.
pub async fn connect_mysql(url: &url::Url) -> Result<mysql_async::Conn> {
    let opts = mysql_opts(url)?;
    let mut conn = mysql_async::Conn::new(opts).await.map_err(|e| {
        let mut e = mysql_error(url, &e);
        e.kind = crate::error::ErrorKind::Io;
        e.message = e.message.replacen(": ", ": cannot connect: ", 1);
        e
    })?;
    // Strict: a bad value is an error, not a silent zero; times in UTC.
    const SESSION: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', NAMES utf8mb4";
    mysql_async::prelude::Queryable::query_drop(&mut conn, SESSION)
        .await
        .map_err(|e| mysql_error(url, &e))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_parse_with_and_without_quotes() {
        let t = TableName::parse("public.Sales").unwrap();
        assert_eq!(t.schema.as_deref(), Some("public"));
        assert_eq!(t.name, "Sales");
        assert_eq!(t.quoted(Dialect::Postgres).unwrap(), "\"public\".\"Sales\"");
        let t = TableName::parse("\"my.schema\".\"say \"\"hi\"\"\"").unwrap();
        assert_eq!(t.schema.as_deref(), Some("my.schema"));
        assert_eq!(t.name, "say \"hi\"");
        assert_eq!(
            t.quoted(Dialect::Mysql).unwrap(),
            "`my.schema`.`say \"hi\"`"
        );
        assert!(TableName::parse("a.b.c").is_err());
        assert!(TableName::parse(".t").is_err());
        assert!(TableName::parse("\"open").is_err());
        assert_eq!(Dialect::Mysql.ident("a`b").unwrap(), "`a``b`");
        assert!(Dialect::Postgres.ident(&"x".repeat(64)).is_err());
        assert!(Dialect::Postgres.ident("nul\0").is_err());
    }

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
