//! MariaDB/MySQL target: `LOAD DATA LOCAL INFILE` fed from memory (no
//! temporary file), the rows encoded column by column in the server's
//! default text format (tab-separated, backslash escapes, `\N` for null).
//!
//! DDL commits implicitly in MariaDB/MySQL, so every sequence is ordered
//! so that a failure leaves the target as it was:
//! - new table / full-refresh: load into a new table under a temporary name,
//!   then one atomic `RENAME TABLE` (old → aside, new → target) and drop the
//!   old one; on an error the new table is dropped;
//! - append / truncate: `START TRANSACTION`, (`DELETE` for truncate), `LOAD
//!   DATA` straight into the table, `COMMIT` (InnoDB rolls back a killed
//!   or failed load);
//! - incremental, or new columns with `--evolve`: load into a TEMPORARY
//!   staging table (gone with the session), then merge inside one
//!   transaction: `INSERT ... SELECT ... ON DUPLICATE KEY UPDATE`.
//!
//! With LOCAL, the server turns bad values and duplicate keys into
//! warnings; any warning fails the load and rolls it back.

use std::io::Write;
use std::time::Instant;

use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::Conn;
use polars::prelude::*;

use super::persist::DbLoad;
use super::warehouse::{LoadMode, LoadSummary};
use crate::db::{self, connect_mysql as connect, Dialect, TableName};
use crate::error::{Error, Result};
use crate::frame::Frame;

/// How a polars type is stored in MariaDB/MySQL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MyType {
    Bool,
    Int(&'static str),
    Float,
    Double,
    Decimal(usize, usize),
    Text,
    Blob,
    Date,
    /// Time zone aware timestamps are stored in UTC.
    Datetime,
    Time,
}

impl MyType {
    fn for_dtype(dtype: &DataType) -> Option<MyType> {
        Some(match dtype {
            DataType::Boolean => MyType::Bool,
            DataType::Int8 => MyType::Int("TINYINT"),
            DataType::Int16 => MyType::Int("SMALLINT"),
            DataType::Int32 => MyType::Int("INT"),
            DataType::Int64 => MyType::Int("BIGINT"),
            DataType::UInt8 => MyType::Int("TINYINT UNSIGNED"),
            DataType::UInt16 => MyType::Int("SMALLINT UNSIGNED"),
            DataType::UInt32 => MyType::Int("INT UNSIGNED"),
            DataType::UInt64 => MyType::Int("BIGINT UNSIGNED"),
            DataType::Float32 => MyType::Float,
            d if d.is_float() => MyType::Double,
            DataType::Decimal(p, s) if *s <= 30 => MyType::Decimal(*p, *s),
            DataType::String | DataType::Null | DataType::Categorical(..) | DataType::Enum(..) => {
                MyType::Text
            }
            DataType::Binary | DataType::BinaryOffset => MyType::Blob,
            DataType::Date => MyType::Date,
            DataType::Datetime(..) => MyType::Datetime,
            DataType::Time => MyType::Time,
            _ => return None,
        })
    }

    fn sql(&self, key: bool) -> String {
        match self {
            MyType::Bool => "TINYINT(1)".into(),
            MyType::Int(t) => (*t).into(),
            MyType::Float => "FLOAT".into(),
            MyType::Double => "DOUBLE".into(),
            MyType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            // Key columns need a bounded type to be indexed.
            MyType::Text if key => "VARCHAR(255)".into(),
            MyType::Text => "LONGTEXT".into(),
            MyType::Blob if key => "VARBINARY(255)".into(),
            MyType::Blob => "LONGBLOB".into(),
            MyType::Date => "DATE".into(),
            MyType::Datetime => "DATETIME(6)".into(),
            MyType::Time => "TIME(6)".into(),
        }
    }
}

struct Col {
    name: String,
    quoted: String,
    ty: MyType,
    key: bool,
}

pub fn load(frame: Frame, w: &DbLoad) -> Result<LoadSummary> {
    let started = Instant::now();
    let mut frame = frame;
    let schema = frame.schema()?;
    let mut columns = Vec::with_capacity(schema.len());
    for (name, dtype) in schema.iter() {
        let Some(ty) = MyType::for_dtype(dtype) else {
            return Err(Error::unsupported(format!(
                "column '{name}' of type {dtype} in MariaDB/MySQL (cast it to text or split it first)"
            )));
        };
        columns.push(Col {
            name: name.to_string(),
            quoted: Dialect::Mysql.ident(name)?,
            ty,
            key: w.primary_key.iter().any(|k| k == name.as_str()),
        });
    }
    if columns.is_empty() {
        return Err(Error::data("the table has no columns"));
    }
    let name = TableName::parse(&w.table)?;
    name.quoted(Dialect::Mysql)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let rows = rt.block_on(async {
        let mut conn = connect(&w.url).await?;
        let result = run(&mut conn, frame, w, &name, &columns).await;
        let _ = conn.disconnect().await;
        result
    })?;
    Ok(LoadSummary {
        target: format!("{}#{}", db::shown(&w.url), w.table),
        mode: w.mode.name().to_string(),
        rows,
        partitions: 0,
        files: 0,
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct Existing {
    columns: Vec<String>,
    unique: Vec<Vec<String>>,
}

async fn existing(conn: &mut Conn, name: &TableName) -> mysql_async::Result<Option<Existing>> {
    let schema = name.schema.clone();
    let columns: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (schema.clone(), name.name.clone()),
        )
        .await?;
    if columns.is_empty() {
        return Ok(None);
    }
    let rows: Vec<(String, String)> = conn
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (schema, name.name.clone()),
        )
        .await?;
    let mut unique: Vec<(String, Vec<String>)> = Vec::new();
    for (index, column) in rows {
        match unique.last_mut() {
            Some((i, cols)) if *i == index => cols.push(column),
            _ => unique.push((index, vec![column])),
        }
    }
    let unique = unique
        .into_iter()
        .map(|(_, mut c)| {
            c.sort();
            c
        })
        .collect();
    Ok(Some(Existing { columns, unique }))
}

async fn run(
    conn: &mut Conn,
    frame: Frame,
    w: &DbLoad,
    name: &TableName,
    columns: &[Col],
) -> Result<u64> {
    let url = &w.url;
    let me = |e: mysql_async::Error| db::mysql_error(url, &e);
    let target = name.quoted(Dialect::Mysql)?;
    let old = existing(conn, name).await.map_err(me)?;
    let new_names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    if let Some(old) = &old {
        if w.mode != LoadMode::FullRefresh {
            db::check_columns(&old.columns, &new_names, w.evolve, &w.table)?;
        }
    }
    let list = columns
        .iter()
        .map(|c| c.quoted.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let ddl = |table: &str, temporary: bool| {
        let mut cols: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {}", c.quoted, c.ty.sql(c.key)))
            .collect();
        let keys: Vec<&str> = columns
            .iter()
            .filter(|c| c.key)
            .map(|c| c.quoted.as_str())
            .collect();
        if !keys.is_empty() && !temporary {
            cols.push(format!("PRIMARY KEY ({})", keys.join(", ")));
        }
        format!(
            "CREATE {}TABLE {table} ({}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            if temporary { "TEMPORARY " } else { "" },
            cols.join(", ")
        )
    };
    match (&old, w.mode) {
        (None, _) | (Some(_), LoadMode::FullRefresh) => {
            // Names derived from the target: what a killed run left behind
            // is dropped by the next one.
            let suffix = scratch_suffix(name);
            let fresh = name.sibling(format!("etl_new_{suffix}"));
            let fresh_q = fresh.quoted(Dialect::Mysql)?;
            let aside_q = name
                .sibling(format!("etl_old_{suffix}"))
                .quoted(Dialect::Mysql)?;
            conn.query_drop(format!("DROP TABLE IF EXISTS {fresh_q}, {aside_q}"))
                .await
                .map_err(me)?;
            conn.query_drop(ddl(&fresh_q, false)).await.map_err(me)?;
            let loaded = load_data(conn, url, frame, &fresh_q, columns).await;
            let rows = match loaded {
                Ok(rows) => rows,
                Err(e) => {
                    drop_table(conn, url, &fresh_q).await;
                    return Err(e);
                }
            };
            let swap = if old.is_some() {
                let aside = aside_q.clone();
                conn.query_drop(format!(
                    "RENAME TABLE {target} TO {aside}, {fresh_q} TO {target}"
                ))
                .await
                .map(|_| Some(aside))
            } else {
                conn.query_drop(format!("RENAME TABLE {fresh_q} TO {target}"))
                    .await
                    .map(|_| None)
            };
            match swap {
                Ok(Some(aside)) => {
                    conn.query_drop(format!("DROP TABLE {aside}"))
                        .await
                        .map_err(me)?;
                }
                Ok(None) => {}
                Err(e) => {
                    drop_table(conn, url, &fresh_q).await;
                    return Err(me(e));
                }
            }
            Ok(rows)
        }
        (Some(old), mode) => {
            let added: Vec<&Col> = columns
                .iter()
                .filter(|c| !old.columns.contains(&c.name))
                .collect();
            if added.is_empty() && matches!(mode, LoadMode::Append | LoadMode::Truncate) {
                // One transaction around the load itself.
                conn.query_drop("START TRANSACTION").await.map_err(me)?;
                let result = async {
                    if mode == LoadMode::Truncate {
                        conn.query_drop(format!("DELETE FROM {target}"))
                            .await
                            .map_err(me)?;
                    }
                    let rows = load_data(conn, url, frame, &target, columns).await?;
                    conn.query_drop("COMMIT").await.map_err(me)?;
                    Ok(rows)
                }
                .await;
                if result.is_err() {
                    let _ = conn.query_drop("ROLLBACK").await;
                }
                return result;
            }
            let staging = "`etl_staging`";
            conn.query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {staging}"))
                .await
                .map_err(me)?;
            conn.query_drop(ddl(staging, true)).await.map_err(me)?;
            let rows = load_data(conn, url, frame, staging, columns).await?;
            for c in &added {
                conn.query_drop(format!(
                    "ALTER TABLE {target} ADD COLUMN {} {}",
                    c.quoted,
                    c.ty.sql(false)
                ))
                .await
                .map_err(me)?;
            }
            let merge = merge_sql(mode, &target, staging, &list, columns, w, old)?;
            conn.query_drop("START TRANSACTION").await.map_err(me)?;
            let mut result = Ok(());
            for sql in merge {
                if let Err(e) = conn.query_drop(sql).await {
                    result = Err(me(e));
                    break;
                }
                if let Err(e) = warnings(conn, url).await {
                    result = Err(e);
                    break;
                }
            }
            if result.is_ok() {
                result = conn.query_drop("COMMIT").await.map_err(me);
            }
            if let Err(e) = result {
                let _ = conn.query_drop("ROLLBACK").await;
                // The added columns were committed by their DDL: take them out again.
                for c in &added {
                    let _ = conn
                        .query_drop(format!("ALTER TABLE {target} DROP COLUMN {}", c.quoted))
                        .await;
                }
                return Err(e);
            }
            let _ = conn
                .query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {staging}"))
                .await;
            Ok(rows)
        }
    }
}

/// A short suffix derived from the target's name, for its scratch tables
/// (`etl_new_<suffix>`, `etl_old_<suffix>`).
pub fn scratch_suffix(name: &TableName) -> String {
    use sha2::Digest;
    let key = format!("{}\u{0}{}", name.schema.as_deref().unwrap_or(""), name.name);
    hex::encode(&sha2::Sha256::digest(key.as_bytes())[..8])
}

/// Drops a half-loaded new table; over a fresh connection when the load
/// broke this one.
async fn drop_table(conn: &mut Conn, url: &url::Url, table: &str) {
    let sql = format!("DROP TABLE IF EXISTS {table}");
    if conn.query_drop(&sql).await.is_ok() {
        return;
    }
    if let Ok(mut fresh) = connect(url).await {
        let _ = fresh.query_drop(&sql).await;
        let _ = fresh.disconnect().await;
    }
}

fn merge_sql(
    mode: LoadMode,
    target: &str,
    staging: &str,
    list: &str,
    columns: &[Col],
    w: &DbLoad,
    old: &Existing,
) -> Result<Vec<String>> {
    let pk = &w.primary_key;
    let insert = format!("INSERT INTO {target} ({list}) SELECT {list} FROM {staging}");
    Ok(match mode {
        LoadMode::Append => vec![insert],
        LoadMode::Truncate => vec![format!("DELETE FROM {target}"), insert],
        LoadMode::Incremental => {
            let mut wanted = pk.to_vec();
            wanted.sort();
            let keys: Vec<String> = pk
                .iter()
                .map(|k| Dialect::Mysql.ident(k))
                .collect::<Result<_>>()?;
            if old.unique.contains(&wanted) {
                let sets: Vec<String> = columns
                    .iter()
                    .filter(|c| !c.key)
                    .map(|c| format!("{0} = VALUES({0})", c.quoted))
                    .collect();
                let sets = if sets.is_empty() {
                    format!("{0} = VALUES({0})", keys[0])
                } else {
                    sets.join(", ")
                };
                vec![format!("{insert} ON DUPLICATE KEY UPDATE {sets}")]
            } else {
                let on: Vec<String> = keys.iter().map(|k| format!("t.{k} = s.{k}")).collect();
                vec![
                    format!(
                        "DELETE t FROM {target} AS t JOIN {staging} AS s ON {}",
                        on.join(" AND ")
                    ),
                    insert,
                ]
            }
        }
        LoadMode::OverwritePartitions => {
            let on = w
                .partition_by
                .iter()
                .map(|k| {
                    let q = Dialect::Mysql.ident(k)?;
                    Ok(format!("t.{q} <=> s.{q}"))
                })
                .collect::<Result<Vec<_>>>()?;
            vec![
                format!(
                    "DELETE t FROM {target} AS t JOIN {staging} AS s ON {}",
                    on.join(" AND ")
                ),
                insert,
            ]
        }
        LoadMode::FullRefresh => unreachable!("full-refresh is handled by the caller"),
    })
}

/// Fails on the first warning of the last statement (with LOCAL, bad values
/// and duplicate keys are only warnings).
async fn warnings(conn: &mut Conn, url: &url::Url) -> Result<()> {
    if conn.get_warnings() == 0 {
        return Ok(());
    }
    let w: Vec<(String, u32, String)> = conn
        .query("SHOW WARNINGS LIMIT 1")
        .await
        .map_err(|e| db::mysql_error(url, &e))?;
    let text = w
        .first()
        .map(|(_, code, m)| format!("{m} (code {code})"))
        .unwrap_or_else(|| "the server reported a warning".into());
    Err(Error::data(format!(
        "{}: the load was rolled back: {text}",
        db::shown(url)
    )))
}

/// Bytes per LOAD DATA packet.
const PACKET: usize = 1 << 20;

/// `LOAD DATA LOCAL INFILE` into `table`, the rows streamed from the
/// frame's batches (read and encoded on a thread of their own).
async fn load_data(
    conn: &mut Conn,
    url: &url::Url,
    frame: Frame,
    table: &str,
    columns: &[Col],
) -> Result<u64> {
    let (stream, guard) = frame.into_batches()?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    let failure: std::sync::Arc<std::sync::Mutex<Option<Error>>> = Default::default();
    let types: Vec<MyType> = columns.iter().map(|c| c.ty.clone()).collect();
    let fail = failure.clone();
    // Dropped when the statement is over: stops a producer the server no
    // longer reads from (an error before or during the transfer).
    let (cancel_tx, mut cancel_rx) = futures::channel::oneshot::channel::<()>();
    let producer = std::thread::spawn(move || {
        let mut send = |item: std::io::Result<bytes::Bytes>| {
            let send = Box::pin(sender.send(item));
            matches!(
                futures::executor::block_on(futures::future::select(send, &mut cancel_rx)),
                futures::future::Either::Left((Ok(()), _))
            )
        };
        let mut rows = 0u64;
        for batch in super::pgcopy::sliced(stream.batches, super::pgcopy::SLICE_ROWS) {
            let mut out = Vec::new();
            let step = batch.and_then(|b| {
                rows += b.height() as u64;
                encode_batch(&b, &types, &mut out)
            });
            match step {
                Ok(()) => {
                    // Each chunk is one protocol packet: stay well under
                    // the server's max_allowed_packet.
                    let all = bytes::Bytes::from(out);
                    for at in (0..all.len()).step_by(PACKET) {
                        if !send(Ok(all.slice(at..(at + PACKET).min(all.len())))) {
                            return rows;
                        }
                    }
                }
                Err(e) => {
                    *fail.lock().unwrap() = Some(e);
                    send(Err(std::io::Error::other("the input failed")));
                    return rows;
                }
            }
            crate::progress::rows(rows);
        }
        rows
    });
    conn.set_infile_handler(async move {
        Ok(futures::stream::unfold(receiver, |mut r| async move {
            r.recv().await.map(|item| (item, r))
        })
        .boxed())
    });
    let mut targets = Vec::new();
    let mut sets = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if c.ty == MyType::Blob {
            targets.push(format!("@etl_b{i}"));
            sets.push(format!("{} = UNHEX(@etl_b{i})", c.quoted));
        } else {
            targets.push(c.quoted.clone());
        }
    }
    let set = if sets.is_empty() {
        String::new()
    } else {
        format!(" SET {}", sets.join(", "))
    };
    let sql = format!(
        "LOAD DATA LOCAL INFILE 'etl-stream' INTO TABLE {table} CHARACTER SET utf8mb4 ({}){set}",
        targets.join(", ")
    );
    let result = conn.query_drop(sql).await;
    drop(cancel_tx);
    let produced = producer
        .join()
        .map_err(|_| Error::data("the batch encoder failed"))?;
    if let Some(e) = failure.lock().unwrap().take() {
        return Err(guard.explain(e));
    }
    result.map_err(|e| db::mysql_error(url, &e))?;
    warnings(conn, url).await?;
    let loaded = conn.affected_rows();
    if loaded != produced {
        return Err(Error::data(format!(
            "{}: the server loaded {loaded} of {produced} rows",
            db::shown(url)
        )));
    }
    Ok(produced)
}

/// One column's text fields (escaped), end offsets per row.
struct Fields {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    fn new(rows: usize, bytes: usize) -> Fields {
        Fields {
            data: Vec::with_capacity(rows * bytes),
            ends: Vec::with_capacity(rows),
        }
    }
    #[inline]
    fn end(&mut self) {
        self.ends.push(self.data.len());
    }
}

fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let rep: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0 => b"\\0",
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

fn micros_of(tu: TimeUnit, v: i64) -> i64 {
    match tu {
        TimeUnit::Nanoseconds => v.div_euclid(1000),
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v.saturating_mul(1000),
    }
}

fn write_datetime(out: &mut Vec<u8>, micros: i64) -> Result<()> {
    let dt = chrono::DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Error::data(format!("timestamp {micros}µs is out of range")))?
        .naive_utc();
    use chrono::{Datelike, Timelike};
    write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond() / 1000
    )?;
    Ok(())
}

fn encode_column(s: &Series, ty: &MyType) -> Result<Fields> {
    let n = s.len();
    let name = s.name().to_string();
    let mut f;
    match ty {
        MyType::Bool => {
            f = Fields::new(n, 2);
            for v in s.bool()?.iter() {
                match v {
                    Some(b) => f.data.push(if b { b'1' } else { b'0' }),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Int(_) => {
            f = Fields::new(n, 8);
            let mut buf = itoa::Buffer::new();
            if matches!(s.dtype(), DataType::UInt64) {
                for v in s.u64()?.iter() {
                    match v {
                        Some(x) => f.data.extend_from_slice(buf.format(x).as_bytes()),
                        None => f.data.extend_from_slice(b"\\N"),
                    }
                    f.end();
                }
            } else {
                let c = s.cast(&DataType::Int64)?;
                for v in c.i64()?.iter() {
                    match v {
                        Some(x) => f.data.extend_from_slice(buf.format(x).as_bytes()),
                        None => f.data.extend_from_slice(b"\\N"),
                    }
                    f.end();
                }
            }
        }
        MyType::Float | MyType::Double => {
            f = Fields::new(n, 12);
            let mut buf = ryu::Buffer::new();
            let c = s.cast(&DataType::Float64)?;
            let single = *ty == MyType::Float;
            for v in c.f64()?.iter() {
                match v {
                    Some(x) if !x.is_finite() => {
                        return Err(Error::data(format!(
                            "column '{name}': {x} cannot be stored in MariaDB/MySQL (no NaN or infinity); replace it with null first"
                        )))
                    }
                    Some(x) if single => f
                        .data
                        .extend_from_slice(buf.format(x as f32).as_bytes()),
                    Some(x) => f.data.extend_from_slice(buf.format(x).as_bytes()),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Decimal(_, scale) => {
            f = Fields::new(n, 12);
            let phys = s.to_physical_repr();
            for v in phys.i128()?.iter() {
                match v {
                    Some(x) => decimal_text(&mut f.data, x, *scale),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Text => {
            let c = if s.dtype() == &DataType::String {
                s.clone()
            } else {
                s.cast(&DataType::String)?
            };
            let ca = c.str()?;
            f = Fields::new(0, 0);
            f.data.reserve(n * 16 + n * 2);
            f.ends.reserve(n);
            for v in ca.iter() {
                match v {
                    Some(t) => escape_into(&mut f.data, t.as_bytes()),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Blob => {
            let c = s.cast(&DataType::Binary)?;
            f = Fields::new(n, 16);
            for v in c.binary()?.iter() {
                match v {
                    Some(b) => {
                        for byte in b {
                            write!(f.data, "{byte:02X}")?;
                        }
                    }
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Date => {
            f = Fields::new(n, 10);
            let phys = s.to_physical_repr();
            for v in phys.i32()?.iter() {
                match v {
                    Some(d) => {
                        let day = chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163)
                            .ok_or_else(|| {
                                Error::data(format!("column '{name}': date out of range"))
                            })?;
                        use chrono::Datelike;
                        write!(
                            f.data,
                            "{:04}-{:02}-{:02}",
                            day.year(),
                            day.month(),
                            day.day()
                        )?;
                    }
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Datetime => {
            let DataType::Datetime(tu, _) = s.dtype() else {
                unreachable!("datetime columns")
            };
            let tu = *tu;
            f = Fields::new(n, 26);
            let phys = s.to_physical_repr();
            for v in phys.i64()?.iter() {
                match v {
                    Some(t) => write_datetime(&mut f.data, micros_of(tu, t))?,
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Time => {
            f = Fields::new(n, 15);
            let phys = s.to_physical_repr();
            for v in phys.i64()?.iter() {
                match v {
                    Some(ns) => {
                        let us = ns / 1000;
                        write!(
                            f.data,
                            "{:02}:{:02}:{:02}.{:06}",
                            us / 3_600_000_000,
                            us / 60_000_000 % 60,
                            us / 1_000_000 % 60,
                            us % 1_000_000
                        )?;
                    }
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
    }
    Ok(f)
}

fn decimal_text(out: &mut Vec<u8>, v: i128, scale: usize) {
    let digits = v.unsigned_abs().to_string();
    if v < 0 {
        out.push(b'-');
    }
    if scale == 0 {
        out.extend_from_slice(digits.as_bytes());
        return;
    }
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let cut = padded.len() - scale;
    out.extend_from_slice(&padded.as_bytes()[..cut]);
    out.push(b'.');
    out.extend_from_slice(&padded.as_bytes()[cut..]);
}

/// One batch as tab-separated lines in LOAD DATA's default format.
fn encode_batch(df: &DataFrame, types: &[MyType], out: &mut Vec<u8>) -> Result<()> {
    let columns = df.columns();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    let threads = if df.height() < 4096 { 1 } else { threads };
    let cols = super::columns::encode_columns(columns, types, threads, encode_column)?;
    let total: usize = cols.iter().map(|c| c.data.len() + c.ends.len()).sum();
    out.reserve(total);
    let mut starts = vec![0usize; cols.len()];
    for row in 0..df.height() {
        for (i, (c, start)) in cols.iter().zip(starts.iter_mut()).enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            let end = c.ends[row];
            out.extend_from_slice(&c.data[*start..end]);
            *start = end;
        }
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_escape_and_nulls() {
        let df = df!(
            "a" => [Some(1i64), None],
            "b" => [Some("tab\there\\"), Some("line\nnext")],
        )
        .unwrap();
        let mut out = Vec::new();
        encode_batch(&df, &[MyType::Int("BIGINT"), MyType::Text], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1\ttab\\there\\\\\n\\N\tline\\nnext\n"
        );
        let text = |v, s| {
            let mut o = Vec::new();
            decimal_text(&mut o, v, s);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(text(12345, 2), "123.45");
        assert_eq!(text(-5, 2), "-0.05");
        assert_eq!(text(7, 0), "7");
    }
}
