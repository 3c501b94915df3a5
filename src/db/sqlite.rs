//! SQLite, the embedded default database. A load runs in one transaction:
//! readers see the old table or the new one, never half. Identifiers are
//! always quoted; values are bound as parameters, never spliced into SQL.

use std::path::PathBuf;
use std::time::Instant;

use polars::prelude::*;
use rusqlite::types::Value;

use super::warehouse::{LoadMode, LoadSummary};
use crate::error::{Error, Result};
use crate::frame::Frame;

#[derive(Debug, Clone)]
pub struct SqliteLoad {
    pub path: PathBuf,
    pub table: String,
    pub mode: LoadMode,
    pub primary_key: Vec<String>,
    /// For overwrite-partitions: rows with these values in the new rows are replaced.
    pub partition_by: Vec<String>,
    pub evolve: bool,
}

/// The database file named by `sqlite:///abs/path.db` or `sqlite://rel.db`
/// (percent-escapes such as `%20` decoded).
pub fn path_of(url: &url::Url) -> PathBuf {
    let host = url.host_str().unwrap_or("");
    let raw = format!("{host}{}", url.path());
    PathBuf::from(
        percent_encoding::percent_decode_str(&raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn sql_type(dtype: &DataType) -> &'static str {
    match dtype {
        d if d.is_integer() => "INTEGER",
        DataType::Boolean => "INTEGER",
        d if d.is_float() => "REAL",
        DataType::Binary => "BLOB",
        DataType::Decimal(..) => "NUMERIC",
        _ => "TEXT",
    }
}

fn sqlite_err(e: rusqlite::Error) -> Error {
    Error::io(format!("sqlite: {e}"))
}

pub fn load(frame: Frame, w: &SqliteLoad) -> Result<LoadSummary> {
    let started = Instant::now();
    let mut frame = frame;
    let schema = frame.schema()?;
    if let Some(parent) = w.path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut conn = rusqlite::Connection::open(&w.path)
        .map_err(|e| Error::io(format!("{}: {e}", w.path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(sqlite_err)?;
    let table = quote(&w.table);
    let staging_name = format!("{}__etl_staging", w.table);
    let staging = quote(&staging_name);
    let columns: Vec<(String, DataType)> = schema
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    let existing = existing_columns(&conn, &w.table)?;
    if let Some(old) = &existing {
        if matches!(
            w.mode,
            LoadMode::Append
                | LoadMode::Truncate
                | LoadMode::Incremental
                | LoadMode::OverwritePartitions
        ) {
            let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
            crate::db::check_columns(old, &names, w.evolve, &w.table)?;
        }
    }
    let tx = conn.transaction().map_err(sqlite_err)?;
    let ddl = |name: &str| {
        let cols: Vec<String> = columns
            .iter()
            .map(|(n, t)| format!("{} {}", quote(n), sql_type(t)))
            .collect();
        format!("CREATE TABLE {name} ({})", cols.join(", "))
    };
    tx.execute(&format!("DROP TABLE IF EXISTS {staging}"), [])
        .map_err(sqlite_err)?;
    tx.execute(&ddl(&staging), []).map_err(sqlite_err)?;
    let rows = insert_all(&tx, &staging, &columns, &mut frame)?;
    let names: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
    let list = names.join(", ");
    match (w.mode, &existing) {
        (LoadMode::FullRefresh, _) | (_, None) => {
            tx.execute(&format!("DROP TABLE IF EXISTS {table}"), [])
                .map_err(sqlite_err)?;
            tx.execute(&format!("ALTER TABLE {staging} RENAME TO {table}"), [])
                .map_err(sqlite_err)?;
        }
        (mode, Some(old)) => {
            for (n, t) in &columns {
                if !old.iter().any(|o| o == n) {
                    tx.execute(
                        &format!(
                            "ALTER TABLE {table} ADD COLUMN {} {}",
                            quote(n),
                            sql_type(t)
                        ),
                        [],
                    )
                    .map_err(sqlite_err)?;
                }
            }
            match mode {
                LoadMode::Truncate => {
                    tx.execute(&format!("DELETE FROM {table}"), [])
                        .map_err(sqlite_err)?;
                }
                LoadMode::Incremental => {
                    let key: Vec<String> = w.primary_key.iter().map(|k| quote(k)).collect();
                    let matches: Vec<String> =
                        key.iter().map(|k| format!("{table}.{k} = s.{k}")).collect();
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {staging} AS s WHERE {})", matches.join(" AND ")),
                        [],
                    )
                    .map_err(sqlite_err)?;
                }
                LoadMode::OverwritePartitions => {
                    let same: Vec<String> = w
                        .partition_by
                        .iter()
                        .map(|k| format!("{table}.{k} IS s.{k}", k = quote(k)))
                        .collect();
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {staging} AS s WHERE {})", same.join(" AND ")),
                        [],
                    )
                    .map_err(sqlite_err)?;
                }
                _ => {}
            }
            tx.execute(
                &format!("INSERT INTO {table} ({list}) SELECT {list} FROM {staging}"),
                [],
            )
            .map_err(sqlite_err)?;
            tx.execute(&format!("DROP TABLE {staging}"), [])
                .map_err(sqlite_err)?;
        }
    }
    tx.commit().map_err(sqlite_err)?;
    Ok(LoadSummary {
        target: format!("sqlite://{}#{}", w.path.display(), w.table),
        mode: w.mode.name().to_string(),
        rows,
        partitions: 0,
        files: 0,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn existing_columns(conn: &rusqlite::Connection, table: &str) -> Result<Option<Vec<String>>> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({})", quote(table)))
        .map_err(sqlite_err)?;
    let cols: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(1))
        .map_err(sqlite_err)?
        .collect::<std::result::Result<_, _>>()
        .map_err(sqlite_err)?;
    Ok((!cols.is_empty()).then_some(cols))
}

fn insert_all(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    columns: &[(String, DataType)],
    frame: &mut Frame,
) -> Result<u64> {
    let marks = vec!["?"; columns.len()].join(", ");
    let names: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
    let mut stmt = tx
        .prepare(&format!(
            "INSERT INTO {table} ({}) VALUES ({marks})",
            names.join(", ")
        ))
        .map_err(sqlite_err)?;
    let frame = std::mem::replace(frame, Frame::from_df(DataFrame::empty()));
    let (stream, guard) = frame.into_batches()?;
    let mut rows = 0u64;
    for batch in stream.batches {
        let batch = batch.map_err(|e| guard.explain(e))?;
        let cols: Vec<Series> = batch
            .columns()
            .iter()
            .map(|c| {
                let s = c.as_materialized_series();
                match s.dtype() {
                    DataType::Date
                    | DataType::Datetime(..)
                    | DataType::Time
                    | DataType::Decimal(..) => s.cast(&DataType::String),
                    _ => Ok(s.clone()),
                }
            })
            .collect::<PolarsResult<_>>()?;
        for i in 0..batch.height() {
            let values: Vec<Value> = cols
                .iter()
                .map(|s| value(s.get(i).unwrap_or(AnyValue::Null)))
                .collect();
            stmt.execute(rusqlite::params_from_iter(values))
                .map_err(sqlite_err)?;
        }
        rows += batch.height() as u64;
        crate::progress::rows(rows);
    }
    Ok(rows)
}

fn value(v: AnyValue) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Integer(i64::from(b)),
        AnyValue::Int8(x) => Value::Integer(x.into()),
        AnyValue::Int16(x) => Value::Integer(x.into()),
        AnyValue::Int32(x) => Value::Integer(x.into()),
        AnyValue::Int64(x) => Value::Integer(x),
        AnyValue::UInt8(x) => Value::Integer(x.into()),
        AnyValue::UInt16(x) => Value::Integer(x.into()),
        AnyValue::UInt32(x) => Value::Integer(x.into()),
        AnyValue::UInt64(x) => i64::try_from(x)
            .map(Value::Integer)
            .unwrap_or(Value::Real(x as f64)),
        AnyValue::Float32(x) => Value::Real(x.into()),
        AnyValue::Float64(x) => Value::Real(x),
        AnyValue::String(s) => Value::Text(s.to_string()),
        AnyValue::StringOwned(s) => Value::Text(s.to_string()),
        AnyValue::Binary(b) => Value::Blob(b.to_vec()),
        AnyValue::BinaryOwned(b) => Value::Blob(b),
        other => Value::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_paths_from_urls_keep_case() {
        let p = |u: &str| path_of(&url::Url::parse(u).unwrap());
        assert_eq!(
            p("sqlite:///tmp/My Data.db"),
            PathBuf::from("/tmp/My Data.db")
        );
        assert_eq!(p("sqlite://Warehouse.db"), PathBuf::from("Warehouse.db"));
        assert_eq!(p("sqlite://sub/Etl.db"), PathBuf::from("sub/Etl.db"));
        assert_eq!(quote("odd \"name\""), "\"odd \"\"name\"\"\"");
    }
}
