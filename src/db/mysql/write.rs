//! MariaDB/MySQL target: `LOAD DATA LOCAL INFILE` fed from memory (no
//! temporary file), the rows encoded column by column in the server's
//! default text format (tab-separated, backslash escapes, `\N` for null).
//!
//! Which steps run is decided by [`crate::db::load::steps`]. DDL commits
//! implicitly in MariaDB/MySQL, so every sequence is ordered so that a
//! failure leaves the target as it was:
//! - new table / full-refresh: load into a new table under a temporary name,
//!   then one atomic `RENAME TABLE` (old → aside, new → target) and drop the
//!   old one; on an error the new table is dropped;
//! - append / truncate: `START TRANSACTION`, (`DELETE` for truncate), `LOAD
//!   DATA` straight into the table, `COMMIT` (InnoDB rolls back a killed
//!   or failed load);
//! - incremental, overwrite-partitions, or new columns with `--evolve`: load
//!   into a TEMPORARY staging table (gone with the session), then merge
//!   inside one transaction: `DELETE` the rows the load replaces, then
//!   `INSERT ... SELECT` (`... ON DUPLICATE KEY UPDATE` for an upsert).
//!
//! With LOCAL, the server turns bad values and duplicate keys into
//! warnings; any warning fails the load and rolls it back.

use std::time::Instant;

use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::Conn;

use super::text::{encode_batch, MyType};
use super::{connect, mysql_error};
use crate::db::conn::shown;
use crate::db::encode::{sliced, SLICE_ROWS};
use crate::db::load::{steps, Delete, Direct, Found, LoadSpec, LoadSummary, Steps, Write};
use crate::db::sql::{check_columns, Dialect, TableName};
use crate::error::{Error, Result};
use crate::frame::Frame;
struct Col {
    name: String,
    quoted: String,
    ty: MyType,
    key: bool,
}

/// Loads `frame` into the table `w.table` of the server at `url`.
pub fn load(frame: Frame, url: &url::Url, w: &LoadSpec) -> Result<LoadSummary> {
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
    let rows = crate::runtime::get().block_on(async {
        let mut conn = connect(url).await?;
        let result = run(&mut conn, url, frame, w, &name, &columns).await;
        let _ = conn.disconnect().await;
        result
    })?;
    Ok(LoadSummary {
        target: format!("{}#{}", shown(url), w.table),
        mode: w.mode.name().to_string(),
        rows,
        partitions: 0,
        files: 0,
        seconds: started.elapsed().as_secs_f64(),
        skipped: 0,
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
    url: &url::Url,
    frame: Frame,
    w: &LoadSpec,
    name: &TableName,
    columns: &[Col],
) -> Result<u64> {
    let me = |e: mysql_async::Error| mysql_error(url, &e);
    let target = name.quoted(Dialect::Mysql)?;
    let old = existing(conn, name).await.map_err(me)?;
    let new_names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let added: Vec<&Col> = match &old {
        Some(old) => columns
            .iter()
            .filter(|c| !old.columns.contains(&c.name))
            .collect(),
        None => Vec::new(),
    };
    let mut key = w.primary_key.clone();
    key.sort();
    let steps = steps(
        w.mode,
        Found {
            exists: old.is_some(),
            unique_key: old.as_ref().is_some_and(|o| o.unique.contains(&key)),
            // LOAD DATA converts text to any column type; DELETE keeps
            // readers going (they see the old rows until the commit).
            direct: if added.is_empty() {
                Direct::AppendOrTruncate
            } else {
                Direct::Never
            },
        },
    );
    if let (Some(old), Steps::Into { .. }) = (&old, steps) {
        check_columns(&old.columns, &new_names, w.evolve, &w.table)?;
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
    match steps {
        Steps::Create { replaces } => {
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
            let swap = if replaces {
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
        Steps::Into {
            delete,
            write,
            staged,
        } => {
            if !staged {
                // One transaction around the load itself.
                conn.query_drop("START TRANSACTION").await.map_err(me)?;
                let result = async {
                    if delete == Delete::All {
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
            let merge = merge_sql(&target, staging, &list, columns, w, delete, write)?;
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

/// The statements that move the staged rows into the table.
fn merge_sql(
    target: &str,
    staging: &str,
    list: &str,
    columns: &[Col],
    w: &LoadSpec,
    delete: Delete,
    write: Write,
) -> Result<Vec<String>> {
    let matching = |keys: &[String], op: &str| -> Result<String> {
        let on = keys
            .iter()
            .map(|k| {
                let q = Dialect::Mysql.ident(k)?;
                Ok(format!("t.{q} {op} s.{q}"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(format!(
            "DELETE t FROM {target} AS t JOIN {staging} AS s ON {}",
            on.join(" AND ")
        ))
    };
    let mut sql = match delete {
        Delete::Nothing => vec![],
        Delete::All => vec![format!("DELETE FROM {target}")],
        Delete::SameKey => vec![matching(&w.primary_key, "=")?],
        Delete::SamePartitions => vec![matching(&w.partition_by, "<=>")?],
    };
    let insert = format!("INSERT INTO {target} ({list}) SELECT {list} FROM {staging}");
    sql.push(match write {
        Write::Rows => insert,
        Write::Upsert => {
            let sets: Vec<String> = columns
                .iter()
                .filter(|c| !c.key)
                .map(|c| format!("{0} = VALUES({0})", c.quoted))
                .collect();
            let sets = if sets.is_empty() {
                let first = Dialect::Mysql.ident(&w.primary_key[0])?;
                format!("{first} = VALUES({first})")
            } else {
                sets.join(", ")
            };
            format!("{insert} ON DUPLICATE KEY UPDATE {sets}")
        }
    });
    Ok(sql)
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
        .map_err(|e| mysql_error(url, &e))?;
    let text = w
        .first()
        .map(|(_, code, m)| format!("{m} (code {code})"))
        .unwrap_or_else(|| "the server reported a warning".into());
    Err(Error::data(format!(
        "{}: the load was rolled back: {text}",
        shown(url)
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
        for batch in sliced(stream.batches, SLICE_ROWS) {
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
    result.map_err(|e| mysql_error(url, &e))?;
    warnings(conn, url).await?;
    let loaded = conn.affected_rows();
    if loaded != produced {
        return Err(Error::data(format!(
            "{}: the server loaded {loaded} of {produced} rows",
            shown(url)
        )));
    }
    Ok(produced)
}
