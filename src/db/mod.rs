//! Databases, grouped by engine: [`postgres`], [`mysql`] (MariaDB too) and
//! [`sqlite`], each reading and writing side by side. This module holds what
//! they share: identifier quoting, `SCHEMA.TABLE` parsing, errors that never
//! show a password, and the entry point for reads ([`open`]); [`load`] holds
//! the load spec and the one mode → steps decision every load follows.

mod batches;
mod encode;
pub mod load;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

pub use batches::BATCH_ROWS;
pub use load::{LoadMode, LoadSpec, LoadSummary};

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::location::{redact, Location, Scheme};

/// What to read from a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbRead {
    /// The rows of this SQL query, sent as written.
    Query(String),
    /// Every row of this table (`TABLE` or `SCHEMA.TABLE`, quoted by etl).
    Table(String),
}

/// Whether a location is a database to run a query against.
pub fn is_database(loc: &Location) -> bool {
    matches!(loc, Location::Remote(r)
        if matches!(r.scheme, Scheme::Postgres | Scheme::Mysql | Scheme::Sqlite))
}

/// Opens the rows of a query or table in a database (postgres://,
/// mysql://, sqlite://) as a frame of batches, read on a thread of their
/// own. Connection and query errors surface here, before any row is read.
pub fn open(location: &Location, what: &DbRead) -> Result<Frame> {
    let remote = match location {
        Location::Remote(r) if is_database(location) => r,
        other => {
            return Err(Error::usage(format!(
                "{other}: --query and --table read from a database URL (postgres://, mysql://, sqlite://)"
            )))
        }
    };
    let dialect = match remote.scheme {
        Scheme::Mysql => Dialect::Mysql,
        _ => Dialect::Postgres,
    };
    let sql = match what {
        DbRead::Query(q) if q.trim().is_empty() => {
            return Err(Error::usage("--query needs an SQL query"))
        }
        DbRead::Query(q) => q.trim().trim_end_matches(';').to_string(),
        DbRead::Table(t) => format!("SELECT * FROM {}", TableName::parse(t)?.quoted(dialect)?),
    };
    let url = remote.url.clone();
    let scheme = remote.scheme;
    batches::spawn(&remote.url, move |out| match scheme {
        Scheme::Postgres => postgres::read::read(&url, &sql, out),
        Scheme::Mysql => mysql::read::read(&url, &sql, out),
        _ => sqlite::read(&url, &sql, out),
    })
}

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

/// A client's standard environment variable, when set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
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
}
