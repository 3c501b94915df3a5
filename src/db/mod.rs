//! Databases, grouped by engine: [`postgres`], [`mysql`] (MariaDB too) and
//! [`sqlite`], each reading and writing side by side. This module holds the
//! two entry points, [`open`] (a query's or table's rows as a frame) and
//! [`load_into`] (a frame into a table); [`load`] the load spec and the one
//! mode → steps decision every load follows; [`sql`] identifier quoting and
//! table names; [`conn`] URLs shown without passwords and server errors;
//! [`tls`] the TLS modes, their default and certificate verification.
//! The engines import these, never this file, so no files import each other.

mod batches;
pub mod conn;
mod encode;
pub mod load;
pub mod mysql;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod tls;

pub use batches::BATCH_ROWS;
pub use conn::shown;
pub use load::{LoadMode, LoadSpec, LoadSummary};
pub use sql::{Dialect, TableName};

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::location::{Location, Scheme};

/// What to read from a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbRead {
    /// The rows of this SQL query, sent as written.
    Query(String),
    /// Every row of this table (`TABLE` or `SCHEMA.TABLE`, quoted by etl).
    Table(String),
}

/// Opens the rows of a query or table in a database (postgres://,
/// mysql://, sqlite://) as a frame of batches, read on a thread of their
/// own. Connection and query errors surface here, before any row is read.
pub fn open(location: &Location, what: &DbRead) -> Result<Frame> {
    let remote = match location {
        Location::Remote(r) if location.is_database() => r,
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

/// Loads `frame` into the database `spec.target` names, atomically: on any
/// error the table is left as it was.
pub fn load_into(frame: Frame, spec: &LoadSpec) -> Result<LoadSummary> {
    match &spec.target {
        Location::Remote(r) => match r.scheme {
            Scheme::Sqlite => sqlite::load(frame, &sqlite::path_of(&r.url), spec),
            Scheme::Postgres => postgres::write::load(frame, &r.url, spec),
            Scheme::Mysql => mysql::write::load(frame, &r.url, spec),
            _ => Err(not_a_database(&spec.target)),
        },
        _ => Err(not_a_database(&spec.target)),
    }
}

fn not_a_database(target: &Location) -> Error {
    Error::usage(format!(
        "{target}: not a database URL (sqlite://, postgres://, mysql://)"
    ))
}
