//! One entry point for loading a table into any persist target: the
//! warehouse folder, SQLite, PostgreSQL or MariaDB/MySQL. `etl persist` and
//! `run-pipeline` both come through here.

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::location::{Location, Scheme};

use super::mysql;
use super::postgres;
use super::sqlite::{self, SqliteLoad};
use super::warehouse::{self, WarehouseLoad};

pub use super::warehouse::{LoadMode, LoadSummary};

/// What to load where, independent of the target's kind.
#[derive(Debug, Clone)]
pub struct PersistRequest {
    pub target: Location,
    /// `db.table` or `table`.
    pub table: String,
    pub mode: LoadMode,
    /// Hive partition columns (warehouse folder); in a database, the columns
    /// whose values overwrite-partitions replaces.
    pub partition_by: Vec<String>,
    /// The upsert key for `incremental`.
    pub primary_key: Vec<String>,
    /// Allow new columns; without it a schema difference is an error.
    pub evolve: bool,
}

/// A load into a PostgreSQL or MariaDB/MySQL server.
#[derive(Debug, Clone)]
pub struct DbLoad {
    pub url: url::Url,
    pub table: String,
    pub mode: LoadMode,
    pub primary_key: Vec<String>,
    /// For overwrite-partitions: rows with the new rows' values of these columns are replaced.
    pub partition_by: Vec<String>,
    pub evolve: bool,
}

/// Checks what can be checked without touching the target: used by
/// `run-pipeline --check` before any I/O.
pub fn validate(req: &PersistRequest) -> Result<()> {
    if let Location::Remote(r) = &req.target {
        if crate::stream::is_stream_scheme(r.scheme) {
            return crate::stream::produce::validate(&crate::stream::produce::options_for(r)?);
        }
    }
    if req.table.is_empty() {
        return Err(Error::usage("the table needs a name"));
    }
    if req.mode == LoadMode::Incremental && req.primary_key.is_empty() {
        return Err(Error::usage(
            "--mode incremental needs --primary-key COLS (primary-key = [...] in a pipeline file)",
        ));
    }

    match &req.target {
        Location::Local(_) => {
            warehouse::table_path(std::path::Path::new("."), &req.table)?;
            Ok(())
        }
        Location::Remote(r) => {
            if req.mode == LoadMode::OverwritePartitions && req.partition_by.is_empty() {
                return Err(Error::usage(
                    "mode overwrite-partitions needs the columns whose values it replaces (partition-by)",
                ));
            }
            if !req.partition_by.is_empty() && req.mode != LoadMode::OverwritePartitions {
                return Err(Error::usage(
                    "in a database, partition-by only goes with mode overwrite-partitions (rows with the new rows' partition values are replaced)",
                ));
            }
            match r.scheme {
                Scheme::Sqlite | Scheme::Postgres | Scheme::Mysql => Ok(()),
                _ => Err(Error::usage(format!(
                    "{}: persist loads into a warehouse folder or a database URL (sqlite://, postgres://, mysql://)",
                    req.target
                ))),
            }
        }
        other => Err(Error::usage(format!(
            "{other}: persist loads into a warehouse folder or a database URL"
        ))),
    }
}

/// Loads `frame` into the target, atomically: on any error the target is
/// left as it was.
pub fn persist(frame: Frame, req: &PersistRequest) -> Result<LoadSummary> {
    validate(req)?;
    if let Location::Remote(r) = &req.target {
        if crate::stream::is_stream_scheme(r.scheme) {
            let opts = crate::stream::produce::options_for(r)?;
            let s = crate::stream::produce(frame, r, &opts)?;
            return Ok(LoadSummary {
                target: s.target,
                mode: "messages".into(),
                rows: s.rows,
                partitions: 0,
                files: 0,
                seconds: s.seconds,
            });
        }
    }
    let mut frame = frame;
    let schema = frame.schema()?;
    crate::names::require_columns(&schema, &req.primary_key, "--primary-key")?;
    crate::names::require_columns(&schema, &req.partition_by, "--partition-by")?;
    match &req.target {
        Location::Local(root) => {
            let load = WarehouseLoad {
                root: root.clone(),
                table: req.table.clone(),
                mode: req.mode,
                partition_by: req.partition_by.clone(),
                primary_key: req.primary_key.clone(),
                evolve: req.evolve,
            };
            warehouse::load(frame, &load)
        }
        Location::Remote(r) if r.scheme == Scheme::Sqlite => {
            let load = SqliteLoad {
                path: sqlite::path_of(&r.url),
                table: req.table.clone(),
                mode: req.mode,
                primary_key: req.primary_key.clone(),
                partition_by: req.partition_by.clone(),
                evolve: req.evolve,
            };
            sqlite::load(frame, &load)
        }
        Location::Remote(r) => {
            let load = DbLoad {
                url: r.url.clone(),
                table: req.table.clone(),
                mode: req.mode,
                primary_key: req.primary_key.clone(),
                partition_by: req.partition_by.clone(),
                evolve: req.evolve,
            };
            match r.scheme {
                Scheme::Postgres => postgres::load(frame, &load),
                Scheme::Mysql => mysql::load(frame, &load),
                _ => unreachable!("validate() accepts only database URLs"),
            }
        }
        _ => unreachable!("validate() accepts only local folders and database URLs"),
    }
}
