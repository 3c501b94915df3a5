//! PostgreSQL target: binary COPY (never row-by-row INSERT), in ONE
//! transaction, so a failure at any point — a bad value, a constraint
//! violation, a lost connection, a killed process — leaves the table as it
//! was.
//!
//! Which steps run is decided by [`crate::db::load::steps`]:
//! - new table: created and filled inside the transaction (invisible to
//!   others until the commit);
//! - full-refresh: a new table is filled under a temporary name, then the old
//!   one is dropped and the new one renamed, before the commit;
//! - append: COPY straight into the table when its column types are the ones
//!   etl would create, otherwise through a TEMP staging table;
//! - truncate: COPY into a TEMP staging table, then `TRUNCATE` (DDL and
//!   grants kept) and `INSERT ... SELECT`;
//! - incremental: COPY into a TEMP staging table, then `INSERT ... ON CONFLICT
//!   (key) DO UPDATE` (or delete-and-insert when the table has no unique key
//!   on those columns);
//! - overwrite-partitions: COPY into a TEMP staging table, then delete the
//!   rows with the new rows' partition values and `INSERT ... SELECT`.
//!
//! TEMP tables belong to the session: a killed process leaves none behind.

use std::time::Instant;

use futures::SinkExt;
use tokio_postgres::Client;

use super::binary::encode::{self as pgcopy, PgType};
use super::{connect, PgConn};
use crate::db::conn::shown;
use crate::db::encode::{encode_threads, sliced, SLICE_ROWS};
use crate::db::load::{steps, Delete, Direct, Found, LoadSpec, LoadSummary, Steps, Write};
use crate::db::sql::{check_columns, staging_suffix, Dialect, TableName};
use crate::error::{Error, Result};
use crate::frame::Frame;

struct Existing {
    columns: Vec<(String, String)>,
    /// Column sets of the table's unique indexes (primary key included).
    unique: Vec<Vec<String>>,
}

async fn existing(client: &Client, table: &str) -> Result<Option<Existing>, tokio_postgres::Error> {
    let Some(row) = client
        .query_opt(
            "SELECT c.oid::int8 FROM pg_class c WHERE c.oid = to_regclass($1)",
            &[&table],
        )
        .await?
    else {
        return Ok(None);
    };
    let oid: i64 = row.get(0);
    let columns = client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = $1::int8::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&oid],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    let unique = client
        .query(
            "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = $1::int8::oid AND i.indisunique AND i.indpred IS NULL \
             GROUP BY i.indexrelid",
            &[&oid],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, Vec<String>>(0))
        .collect();
    Ok(Some(Existing { columns, unique }))
}

/// Loads `frame` into the table `w.table` of the server at `url`.
pub fn load(frame: Frame, url: &url::Url, w: &LoadSpec) -> Result<LoadSummary> {
    let started = Instant::now();
    let mut frame = frame;
    let schema = frame.schema()?;
    let mut columns = Vec::with_capacity(schema.len());
    for (name, dtype) in schema.iter() {
        let Some(t) = PgType::for_dtype(dtype) else {
            return Err(Error::unsupported(format!(
                "column '{name}' of type {dtype} in PostgreSQL (cast it to text or split it first)"
            )));
        };
        columns.push((name.to_string(), Dialect::Postgres.ident(name)?, t));
    }
    if columns.is_empty() {
        return Err(Error::data("the table has no columns"));
    }
    let name = TableName::parse(&w.table)?;
    let target = name.quoted(Dialect::Postgres)?;
    let conn = connect(url)?;
    let shown_target = format!("{}#{}", shown(url), w.table);
    let rows = crate::runtime::get().block_on(run(&conn, frame, w, &name, &target, &columns))?;
    Ok(LoadSummary {
        target: shown_target,
        mode: w.mode.name().to_string(),
        rows,
        partitions: 0,
        files: 0,
        seconds: started.elapsed().as_secs_f64(),
        skipped: 0,
    })
}

type Col = (String, String, PgType);

async fn run(
    conn: &PgConn,
    frame: Frame,
    w: &LoadSpec,
    name: &TableName,
    target: &str,
    columns: &[Col],
) -> Result<u64> {
    let pe = |e: tokio_postgres::Error| conn.err(e);
    let client = &conn.client;
    let old = existing(client, target).await.map_err(pe)?;
    let new_names: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
    let mut key: Vec<String> = w.primary_key.clone();
    key.sort();
    let found = match &old {
        None => Found {
            exists: false,
            unique_key: false,
            direct: Direct::Never,
        },
        Some(old) => Found {
            exists: true,
            unique_key: old.unique.contains(&key),
            // Binary COPY needs the exact column types etl would create;
            // TRUNCATE would lock readers out for the whole COPY, so a
            // truncate stages first and keeps that lock short.
            direct: if same_types(old, columns) {
                Direct::Append
            } else {
                Direct::Never
            },
        },
    };
    let steps = steps(w.mode, found);
    if let (Some(old), Steps::Into { .. }) = (&old, steps) {
        let old_names: Vec<String> = old.columns.iter().map(|c| c.0.clone()).collect();
        check_columns(&old_names, &new_names, w.evolve, &w.table)?;
    }
    let list = columns
        .iter()
        .map(|c| c.1.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let ddl_cols = columns
        .iter()
        .map(|c| format!("{} {}", c.1, c.2.sql()))
        .collect::<Vec<_>>()
        .join(", ");
    let pk = w
        .primary_key
        .iter()
        .map(|k| Dialect::Postgres.ident(k))
        .collect::<Result<Vec<_>>>()?;
    let tx = client;
    tx.batch_execute("BEGIN").await.map_err(pe)?;
    let result = async {
        let rows;
        match steps {
            Steps::Create { replaces } => {
                // A new table under a temporary name when replacing one.
                let fill = if replaces {
                    name.sibling(format!("etl_new_{}", staging_suffix()))
                        .quoted(Dialect::Postgres)?
                } else {
                    target.to_string()
                };
                tx.batch_execute(&format!("CREATE TABLE {fill} ({ddl_cols})"))
                    .await
                    .map_err(pe)?;
                rows = copy_in(tx, conn, frame, &fill, &list, columns).await?;
                if replaces {
                    tx.batch_execute(&format!(
                        "DROP TABLE {target}; ALTER TABLE {fill} RENAME TO {}",
                        Dialect::Postgres.ident(&name.name)?
                    ))
                    .await
                    .map_err(pe)?;
                }
                if !pk.is_empty() {
                    tx.batch_execute(&format!(
                        "ALTER TABLE {target} ADD PRIMARY KEY ({})",
                        pk.join(", ")
                    ))
                    .await
                    .map_err(pe)?;
                }
            }
            Steps::Into {
                delete,
                write,
                staged,
            } => {
                let old = old.as_ref().expect("loads into a table that exists");
                for c in columns {
                    if !old.columns.iter().any(|o| o.0 == c.0) {
                        tx.batch_execute(&format!(
                            "ALTER TABLE {target} ADD COLUMN {} {}",
                            c.1,
                            c.2.sql()
                        ))
                        .await
                        .map_err(pe)?;
                    }
                }
                if !staged {
                    rows = copy_in(tx, conn, frame, target, &list, columns).await?;
                } else {
                    let staging = "etl_staging";
                    tx.batch_execute(&format!(
                        "CREATE TEMP TABLE {staging} ({ddl_cols}) ON COMMIT DROP"
                    ))
                    .await
                    .map_err(pe)?;
                    rows = copy_in(tx, conn, frame, staging, &list, columns).await?;
                    let sql = merge_sql(target, staging, &list, columns, w, delete, write)?;
                    tx.batch_execute(&sql).await.map_err(pe)?;
                }
            }
        }
        tx.batch_execute("COMMIT").await.map_err(pe)?;
        Ok(rows)
    }
    .await;
    if result.is_err() {
        let _ = tx.batch_execute("ROLLBACK").await;
    }
    result
}

/// Whether every new column has the type etl would create, in the table.
fn same_types(old: &Existing, columns: &[Col]) -> bool {
    columns.iter().all(|c| {
        old.columns
            .iter()
            .find(|o| o.0 == c.0)
            .is_some_and(|o| o.1 == c.2.sql())
    })
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
) -> Result<String> {
    let pk = w
        .primary_key
        .iter()
        .map(|k| Dialect::Postgres.ident(k))
        .collect::<Result<Vec<_>>>()?;
    let keys = pk.join(", ");
    // Keyed loads take the last row of a key, as when the rows are applied in order.
    let by_key = write == Write::Upsert || delete == Delete::SameKey;
    let source = if by_key {
        format!("SELECT DISTINCT ON ({keys}) {list} FROM {staging} ORDER BY {keys}, ctid DESC")
    } else {
        format!("SELECT {list} FROM {staging}")
    };
    let delete = match delete {
        Delete::Nothing => String::new(),
        Delete::All => format!("TRUNCATE {target}; "),
        Delete::SameKey => {
            let matches: Vec<String> = pk.iter().map(|k| format!("t.{k} = s.{k}")).collect();
            format!(
                "DELETE FROM {target} AS t USING {staging} AS s WHERE {}; ",
                matches.join(" AND ")
            )
        }
        Delete::SamePartitions => {
            let same = w
                .partition_by
                .iter()
                .map(|k| {
                    let q = Dialect::Postgres.ident(k)?;
                    Ok(format!("t.{q} IS NOT DISTINCT FROM s.{q}"))
                })
                .collect::<Result<Vec<_>>>()?;
            format!(
                "DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {staging} AS s WHERE {}); ",
                same.join(" AND ")
            )
        }
    };
    let insert = format!("INSERT INTO {target} ({list}) {source}");
    let conflict = match write {
        Write::Rows => String::new(),
        Write::Upsert => {
            let sets: Vec<String> = columns
                .iter()
                .filter(|c| !w.primary_key.contains(&c.0))
                .map(|c| format!("{0} = EXCLUDED.{0}", c.1))
                .collect();
            if sets.is_empty() {
                format!(" ON CONFLICT ({keys}) DO NOTHING")
            } else {
                format!(" ON CONFLICT ({keys}) DO UPDATE SET {}", sets.join(", "))
            }
        }
    };
    Ok(format!("{delete}{insert}{conflict}"))
}

/// Streams the frame's batches as binary COPY into `table`: the batches are
/// read and encoded on a thread of their own while the previous chunk is on
/// the wire.
async fn copy_in(
    tx: &Client,
    conn: &PgConn,
    frame: Frame,
    table: &str,
    list: &str,
    columns: &[Col],
) -> Result<u64> {
    let types: Vec<PgType> = columns.iter().map(|c| c.2.clone()).collect();
    let (stream, guard) = frame.into_batches()?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes>>(4);
    let threads = encode_threads();
    let producer = std::thread::spawn(move || {
        let mut rows = 0u64;
        let mut first = true;
        for batch in sliced(stream.batches, SLICE_ROWS) {
            let mut out = Vec::new();
            if first {
                out.extend_from_slice(pgcopy::HEADER);
                first = false;
            }
            let step = batch.and_then(|b| {
                rows += b.height() as u64;
                pgcopy::encode_batch_parallel(&b, &types, threads, &mut out)
            });
            let failed = step.is_err();
            let msg = step.map(|_| bytes::Bytes::from(out));
            if sender.blocking_send(msg).is_err() || failed {
                return rows;
            }
            crate::progress::rows(rows);
        }
        let mut tail = Vec::new();
        if first {
            tail.extend_from_slice(pgcopy::HEADER);
        }
        tail.extend_from_slice(pgcopy::TRAILER);
        let _ = sender.blocking_send(Ok(bytes::Bytes::from(tail)));
        rows
    });
    let sink = tx
        .copy_in::<_, bytes::Bytes>(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)"))
        .await
        .map_err(|e| conn.err(e))?;
    futures::pin_mut!(sink);
    let mut failure = None;
    while let Some(chunk) = receiver.recv().await {
        match chunk {
            Ok(bytes) => {
                if let Err(e) = sink.send(bytes).await {
                    failure = Some(conn.err(e));
                    break;
                }
            }
            Err(e) => {
                failure = Some(guard.explain(e));
                break;
            }
        }
    }
    drop(receiver);
    let produced = producer
        .join()
        .map_err(|_| Error::data("the batch encoder failed"))?;
    if let Some(e) = failure {
        // Dropping the sink unfinished aborts the COPY; the transaction rolls back.
        return Err(e);
    }
    let copied = sink.finish().await.map_err(|e| conn.err(e))?;
    debug_assert_eq!(copied, produced);
    Ok(copied)
}
