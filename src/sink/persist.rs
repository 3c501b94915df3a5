//! One entry point for loading a table into a table store: the warehouse
//! folder, SQLite, PostgreSQL or MariaDB/MySQL, or the services InfluxDB
//! and DynamoDB. (Streams, the other persist
//! targets, are produced to by `crate::stream`; `crate::step` chooses.)

use crate::db;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::location::{Location, Scheme};

use super::{dynamodb, influx, warehouse};

pub use crate::db::load::{LoadMode, LoadSpec, LoadSummary};

/// What to load where: the one load spec, under the name the commands and
/// pipelines know it by.
pub type PersistRequest = LoadSpec;

/// Checks what can be checked without touching the target: used by
/// `run-pipeline --check` before any I/O.
pub fn validate(req: &PersistRequest) -> Result<()> {
    if let Location::Remote(r) = &req.target {
        match r.scheme {
            Scheme::Influx | Scheme::Influx2 => return influx::validate(req, r),
            Scheme::DynamoDb => return dynamodb::validate(req, r),
            _ => {}
        }
    }
    if !req.series.is_empty() {
        return Err(Error::usage(format!(
            "{}: --measurement, --tags and --time go with influxdb:// targets, --force-recreate with dynamodb://",
            req.target
        )));
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
                    "{}: persist loads into a warehouse folder or a database URL (sqlite://, postgres://, mysql://, influxdb://, influxdb2://, dynamodb://)",
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
        match r.scheme {
            Scheme::Influx | Scheme::Influx2 => return influx::load(frame, r, req),
            Scheme::DynamoDb => return dynamodb::load(frame, r, req),
            _ => {}
        }
    }
    let mut frame = frame;
    let schema = frame.schema()?;
    crate::names::require_columns(&schema, &req.primary_key, "--primary-key")?;
    crate::names::require_columns(&schema, &req.partition_by, "--partition-by")?;
    match &req.target {
        Location::Local(root) => warehouse::load(frame, root, req),
        _ => db::load_into(frame, req),
    }
}
