//! SQLite, the embedded default database, both ways. A read opens the file
//! read-only; column types come from the declared types (SQLite's affinity
//! rules), or from the first values of an expression column. A load runs in
//! one transaction: readers see the old table or the new one, never half.
//! Identifiers are always quoted; values are bound as parameters, never
//! spliced into SQL.

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use rusqlite::types::Value;

use super::batches::{schema_of, Batcher, Builder, Out, BATCH_ROWS};
use super::load::{steps, Delete, Direct, Found, LoadMode, LoadSpec, LoadSummary, Steps};
use crate::error::{Error, Result};
use crate::frame::Frame;

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

/// Loads `frame` into the table `w.table` of the database file `path`.
/// The table `--table` names in the one database of a SQLite URL: `a.b`
/// would be table `b` of an attached database `a`, and etl attaches none,
/// so a schema is refused; `"a.b"` (quoted) is a table whose name holds a dot.
fn table_name(text: &str) -> Result<String> {
    let parsed = super::sql::TableName::parse(text)?;
    if let Some(schema) = parsed.schema {
        return Err(Error::usage(format!(
            "--table '{text}': a SQLite URL is one database, with no schema '{schema}'; write the table name alone, or double-quote a name that holds a dot: '\"{text}\"'"
        )));
    }
    Ok(parsed.name)
}

pub fn load(frame: Frame, path: &Path, w: &LoadSpec) -> Result<LoadSummary> {
    let started = Instant::now();
    let name = table_name(&w.table)?;
    let mut frame = frame;
    let schema = frame.schema()?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut conn = rusqlite::Connection::open(path)
        .map_err(|e| Error::io(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(sqlite_err)?;
    let table = quote(&name);
    let staging_name = format!("{name}__etl_staging");
    let staging = quote(&staging_name);
    let columns: Vec<(String, DataType)> = schema
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    let existing = existing_columns(&conn, &name)?;
    let steps = steps(
        w.mode,
        Found {
            exists: existing.is_some(),
            unique_key: false,
            direct: Direct::Never,
        },
    );
    if let (Some(old), Steps::Into { .. }) = (&existing, steps) {
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        super::sql::check_columns(old, &names, w.evolve, &name)?;
    }
    let tx = conn.transaction().map_err(sqlite_err)?;
    let ddl = |name: &str| {
        let cols: Vec<String> = columns
            .iter()
            .map(|(n, t)| format!("{} {}", quote(n), sql_type(t)))
            .collect();
        format!("CREATE TABLE {name} ({})", cols.join(", "))
    };
    // Every load fills a staging table first, inside the transaction.
    tx.execute(&format!("DROP TABLE IF EXISTS {staging}"), [])
        .map_err(sqlite_err)?;
    tx.execute(&ddl(&staging), []).map_err(sqlite_err)?;
    let rows = insert_all(&tx, &staging, &columns, &mut frame)?;
    if w.mode == LoadMode::Incremental {
        // The last row of a key wins, as when the rows are applied in order
        // (and as for PostgreSQL); staging rowids follow the input order.
        let keys: Vec<String> = w.primary_key.iter().map(|k| quote(k)).collect();
        tx.execute(
            &format!(
                "DELETE FROM {staging} WHERE rowid NOT IN (SELECT max(rowid) FROM {staging} GROUP BY {})",
                keys.join(", ")
            ),
            [],
        )
        .map_err(sqlite_err)?;
    }
    let names: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
    let list = names.join(", ");
    match steps {
        Steps::Create { .. } => {
            tx.execute(&format!("DROP TABLE IF EXISTS {table}"), [])
                .map_err(sqlite_err)?;
            tx.execute(&format!("ALTER TABLE {staging} RENAME TO {table}"), [])
                .map_err(sqlite_err)?;
        }
        Steps::Into { delete, .. } => {
            let old = existing.as_deref().unwrap_or_default();
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
            let matching = |keys: &[String], op: &str| {
                let same: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{table}.{k} {op} s.{k}", k = quote(k)))
                    .collect();
                format!(
                    "DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {staging} AS s WHERE {})",
                    same.join(" AND ")
                )
            };
            let delete = match delete {
                Delete::Nothing => None,
                Delete::All => Some(format!("DELETE FROM {table}")),
                Delete::SameKey => Some(matching(&w.primary_key, "=")),
                Delete::SamePartitions => Some(matching(&w.partition_by, "IS")),
            };
            if let Some(sql) = delete {
                tx.execute(&sql, []).map_err(sqlite_err)?;
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
        target: format!("sqlite://{}#{}", path.display(), w.table),
        mode: w.mode.name().to_string(),
        rows,
        partitions: 0,
        files: 0,
        seconds: started.elapsed().as_secs_f64(),
        skipped: 0,
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

/// Runs `sql` and sends its rows to `out` (on the reader thread).
pub fn read(url: &url::Url, sql: &str, mut out: Out) {
    if let Err(e) = read_rows(url, sql, &mut out) {
        out.fail(e);
    }
}

fn read_rows(url: &url::Url, sql: &str, out: &mut Out) -> Result<()> {
    use rusqlite::types::ValueRef;
    let path = path_of(url);
    if !path.exists() {
        return Err(Error::io(format!(
            "{}: no such database file",
            path.display()
        )));
    }
    let sq = |e: rusqlite::Error| Error::usage(format!("{}: {e}", path.display()));
    let conn = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::io(format!("{}: {e}", path.display())))?;
    let mut stmt = conn.prepare(sql).map_err(sq)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    // Declared types decide; columns without one (expressions) take the
    // type of their first value in the first rows.
    let declared: Vec<Option<DataType>> = stmt
        .columns()
        .iter()
        .map(|c| c.decl_type().and_then(sqlite_type))
        .collect();
    let n = names.len();
    let mut rows = stmt.query([]).map_err(sq)?;
    let mut pending: Vec<Vec<rusqlite::types::Value>> = Vec::new();
    let mut dtypes = declared.clone();
    while dtypes.iter().any(Option::is_none) && pending.len() < BATCH_ROWS {
        let Some(row) = rows.next().map_err(sq)? else {
            break;
        };
        let vals: Vec<rusqlite::types::Value> = (0..n)
            .map(|i| row.get_ref(i).map(|v| v.into()))
            .collect::<std::result::Result<_, _>>()
            .map_err(sq)?;
        for (i, v) in vals.iter().enumerate() {
            if dtypes[i].is_none() {
                dtypes[i] = match v {
                    rusqlite::types::Value::Integer(_) => Some(DataType::Int64),
                    rusqlite::types::Value::Real(_) => Some(DataType::Float64),
                    rusqlite::types::Value::Text(_) => Some(DataType::String),
                    rusqlite::types::Value::Blob(_) => Some(DataType::Binary),
                    rusqlite::types::Value::Null => None,
                };
            }
        }
        pending.push(vals);
    }
    let cols: Vec<(String, DataType)> = names
        .iter()
        .cloned()
        .zip(dtypes.into_iter().map(|d| d.unwrap_or(DataType::String)))
        .collect();
    let schema = schema_of(cols)?;
    let mut batcher = Batcher::new(&schema);
    out.schema(schema);
    let push = |b: &mut Builder, v: ValueRef<'_>, col: &str| -> Result<()> {
        let bad = |what: &str| {
            Error::data(format!(
                "{}: column '{col}' holds {what} among values of another type; cast it in --query",
                path.display()
            ))
        };
        match (b, v) {
            (b, ValueRef::Null) => b.push_null(),
            (Builder::I64(v), ValueRef::Integer(i)) => v.push(Some(i)),
            (Builder::Bool(v), ValueRef::Integer(i)) => v.push(Some(i != 0)),
            (Builder::F64(v), ValueRef::Integer(i)) => v.push(Some(i as f64)),
            (Builder::F64(v), ValueRef::Real(f)) => v.push(Some(f)),
            (Builder::Str(v), ValueRef::Text(t)) => {
                v.push(Some(String::from_utf8_lossy(t).into_owned()))
            }
            (Builder::Str(v), ValueRef::Integer(i)) => v.push(Some(i.to_string())),
            (Builder::Str(v), ValueRef::Real(f)) => v.push(Some(f.to_string())),
            (Builder::Bin(v), ValueRef::Blob(b)) => v.push(Some(b.to_vec())),
            (Builder::Bin(v), ValueRef::Text(t)) => v.push(Some(t.to_vec())),
            (_, ValueRef::Text(_)) => return Err(bad("text")),
            (_, ValueRef::Blob(_)) => return Err(bad("a blob")),
            (_, ValueRef::Real(_)) => return Err(bad("a real number")),
            (_, ValueRef::Integer(_)) => return Err(bad("an integer")),
        }
        Ok(())
    };
    for vals in pending {
        for (i, v) in vals.iter().enumerate() {
            push(&mut batcher.builders[i], v.into(), &names[i])?;
        }
        if !batcher.row_done(out)? {
            return Ok(());
        }
    }
    while let Some(row) = rows.next().map_err(sq)? {
        for (i, (b, name)) in batcher.builders.iter_mut().zip(&names).enumerate() {
            push(b, row.get_ref(i).map_err(sq)?, name)?;
        }
        if !batcher.row_done(out)? {
            return Ok(());
        }
    }
    batcher.finish(out)
}

/// SQLite's type affinity rules, for a declared column type.
fn sqlite_type(decl: &str) -> Option<DataType> {
    let d = decl.to_ascii_uppercase();
    Some(if d.contains("INT") {
        DataType::Int64
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        DataType::String
    } else if d.contains("BLOB") {
        DataType::Binary
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        DataType::Float64
    } else if d.contains("BOOL") {
        DataType::Boolean
    } else if d.contains("NUMERIC") || d.contains("DECIMAL") {
        DataType::Float64
    } else {
        return None;
    })
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
