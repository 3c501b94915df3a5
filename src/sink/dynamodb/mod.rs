//! DynamoDB as a persist target (`dynamodb://TABLE`): every row an item,
//! put with `BatchWriteItem` in batches of 25. The table's key schema comes
//! from DescribeTable: rows go to a few concurrent lanes by key, so two rows
//! with the same key always go in order through one lane (the later one
//! wins, within a batch and across batches). Items the service leaves
//! unprocessed are sent again with exponential backoff. The summary counts
//! only the puts the service accepted.

mod client;
mod item;
mod sigv4;
mod table;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::db::load::{LoadMode, LoadSpec, LoadSummary};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::Frame;
use crate::location::RemoteUrl;
use crate::sink::backoff::Backoff;

use client::{CallError, Client};

/// Items per BatchWriteItem (the service's limit).
const BATCH_ITEMS: usize = 25;
/// Concurrent writers; each owns the keys that hash to it.
const LANES: usize = 4;
/// Rows handed to a lane at a time.
const CHUNK_ROWS: usize = 100;

/// The table a `dynamodb://TABLE` URL names.
pub fn table_name(url: &RemoteUrl) -> Result<String> {
    let shown = crate::location::redact(url.url.as_str());
    let host = url.url.host_str().unwrap_or("");
    let path = url.url.path().trim_matches('/');
    let name = if host.is_empty() { path } else { host };
    if !host.is_empty() && !path.is_empty() {
        return Err(Error::usage(format!(
            "{shown}: write the table as dynamodb://TABLE (no path after it)"
        )));
    }
    let ok = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        return Err(Error::usage(format!(
            "{shown}: '{name}' is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, _ - .)"
        )));
    }
    if url.url.query().is_some() || !url.url.username().is_empty() {
        return Err(Error::usage(format!(
            "{shown}: dynamodb://TABLE takes no parameters or user: credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )));
    }
    Ok(name.to_string())
}

/// Checks the spec before any I/O.
pub fn validate(req: &LoadSpec, url: &RemoteUrl) -> Result<()> {
    let name = table_name(url)?;
    let shown = format!("dynamodb://{name}");
    match req.mode {
        LoadMode::Append | LoadMode::Incremental => {}
        LoadMode::FullRefresh if req.series.force_recreate => {}
        LoadMode::FullRefresh => {
            return Err(Error::usage(format!(
                "{shown}: full-refresh deletes and recreates the table (DynamoDB cannot swap tables, so it is empty until the load ends, and settings other than the key schema and billing mode are lost): add --force-recreate to do that"
            )))
        }
        other => {
            return Err(Error::usage(format!(
                "{shown}: DynamoDB takes --mode append, incremental or full-refresh (with --force-recreate), not {}: it has no way to empty a table or replace partitions in one step",
                other.name()
            )))
        }
    }
    if req.series.force_recreate && req.mode != LoadMode::FullRefresh {
        return Err(Error::usage(format!(
            "{shown}: --force-recreate goes with --mode full-refresh"
        )));
    }
    if !req.table.is_empty() {
        return Err(Error::usage(format!(
            "{shown}: the table is the URL's (dynamodb://TABLE): leave out --table"
        )));
    }
    if req.series.measurement.is_some() || !req.series.tags.is_empty() || req.series.time.is_some()
    {
        return Err(Error::usage(format!(
            "{shown}: --measurement, --tags and --time apply to InfluxDB targets"
        )));
    }
    if !req.partition_by.is_empty() || req.evolve {
        return Err(Error::usage(format!(
            "{shown}: --partition-by and --evolve do not apply to DynamoDB (items take any attributes)"
        )));
    }
    if req.primary_key.len() > 2 {
        return Err(Error::usage(format!(
            "{shown}: a DynamoDB key is a partition key and at most one sort key: --primary-key HASH[,RANGE]"
        )));
    }
    Ok(())
}

/// Puts every row of `frame` as an item.
pub fn load(frame: Frame, url: &RemoteUrl, req: &LoadSpec) -> Result<LoadSummary> {
    validate(req, url)?;
    let started = Instant::now();
    let name = table_name(url)?;
    let shown = format!("dynamodb://{name}");
    let client = std::sync::Arc::new(Client::from_env()?);
    let mut frame = frame;
    let schema = frame.schema()?;
    let keys = crate::runtime::block_on(table::prepare(&client, &name, req, &schema))?;
    let (stream, guard) = frame.into_batches()?;

    let mut senders = Vec::with_capacity(LANES);
    let mut lanes = Vec::with_capacity(LANES);
    for _ in 0..LANES {
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Row>>(4);
        senders.push(tx);
        let lane = Lane {
            client: client.clone(),
            table: name.clone(),
        };
        lanes.push(crate::runtime::get().spawn(lane.run(rx)));
    }
    let mut rows = 0u64;
    let mut stopped = None;
    // Rows go to the lanes in chunks: one hand-over per chunk, not per row.
    let mut chunks: Vec<Vec<Row>> = (0..LANES).map(|_| Vec::new()).collect();
    let hand_over = |lane: usize, chunk: Vec<Row>| -> bool {
        // A closed lane has failed: its error is collected below.
        crate::runtime::block_on(senders[lane].send(chunk)).is_ok()
    };
    'read: for batch in stream.batches {
        let df = match batch {
            Ok(df) => df,
            Err(e) => {
                stopped = Some(guard.explain(e));
                break;
            }
        };
        let items = match item::items(&df, rows) {
            Ok(items) => items,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        };
        for it in items {
            rows += 1;
            let key = match keys.key_of(&it) {
                Ok(k) => k,
                Err(why) => {
                    stopped = Some(Error::data(format!("row {rows}: {why}")));
                    break 'read;
                }
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            key.hash(&mut h);
            let lane = (h.finish() % LANES as u64) as usize;
            chunks[lane].push(Row {
                number: rows,
                key,
                item: it,
            });
            if chunks[lane].len() == CHUNK_ROWS
                && !hand_over(lane, std::mem::take(&mut chunks[lane]))
            {
                break 'read;
            }
        }
    }
    for (lane, chunk) in chunks.into_iter().enumerate() {
        if !chunk.is_empty() && !hand_over(lane, chunk) {
            break;
        }
    }
    drop(senders);
    let mut written = 0u64;
    let mut merged = 0u64;
    let mut failure: Option<Error> = None;
    for h in lanes {
        let done = crate::runtime::block_on(h)
            .map_err(|e| Error::io(format!("{shown}: a writer task failed: {e}")))?;
        written += done.written;
        merged += done.merged;
        if let Some(e) = done.error {
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = stopped.or(failure) {
        let message = format!(
            "{}; {written} items were written to {shown} before the load stopped",
            e.message
        );
        return Err(Error { message, ..e });
    }
    Ok(LoadSummary {
        target: shown,
        mode: req.mode.name().into(),
        rows: written,
        partitions: 0,
        files: 0,
        seconds: started.elapsed().as_secs_f64(),
        skipped: merged,
    })
}

struct Row {
    number: u64,
    key: String,
    item: Map<String, Value>,
}

struct Lane {
    client: std::sync::Arc<Client>,
    table: String,
}

#[derive(Default)]
struct LaneDone {
    written: u64,
    /// Rows replaced by a later row with the same key in the same batch.
    merged: u64,
    error: Option<Error>,
}

impl Lane {
    async fn run(self, mut rx: tokio::sync::mpsc::Receiver<Vec<Row>>) -> LaneDone {
        let mut done = LaneDone::default();
        let mut batch: Vec<Row> = Vec::with_capacity(BATCH_ITEMS);
        let mut at: HashMap<String, usize> = HashMap::new();
        while let Some(chunk) = rx.recv().await {
            for row in chunk {
                match at.get(&row.key) {
                    // The same key twice in one request is refused by the
                    // service: the later row replaces the earlier one.
                    Some(&i) => {
                        batch[i] = row;
                        done.merged += 1;
                    }
                    None => {
                        at.insert(row.key.clone(), batch.len());
                        batch.push(row);
                    }
                }
                if batch.len() == BATCH_ITEMS {
                    if let Err(e) = self.write(&mut batch, &mut done).await {
                        done.error = Some(e);
                        return done;
                    }
                    at.clear();
                }
            }
        }
        if !batch.is_empty() {
            if let Err(e) = self.write(&mut batch, &mut done).await {
                done.error = Some(e);
            }
        }
        done
    }

    /// Puts the batch, sending unprocessed items again until none is left.
    async fn write(&self, batch: &mut Vec<Row>, done: &mut LaneDone) -> Result<()> {
        let shown = format!("dynamodb://{}", self.table);
        let rows: Vec<u64> = batch.iter().map(|r| r.number).collect();
        let mut pending: Vec<Value> = batch
            .drain(..)
            .map(|r| json!({ "PutRequest": { "Item": r.item } }))
            .collect();
        let mut backoff = Backoff::new(10, Duration::from_millis(50), Duration::from_secs(5));
        loop {
            let sent = pending.len();
            let mut items = Map::new();
            items.insert(self.table.clone(), Value::Array(pending));
            let body = json!({ "RequestItems": items });
            let answer = self.client.call("BatchWriteItem", &body, 6).await;
            let answer = match answer {
                Ok(v) => v,
                Err(CallError::Api(e)) => {
                    let kind = if e.kind == "ValidationException" {
                        ErrorKind::Data
                    } else {
                        ErrorKind::Io
                    };
                    return Err(Error::new(
                        kind,
                        format!(
                            "{shown}: DynamoDB refused the batch of rows {} ({}: {})",
                            list_rows(&rows),
                            e.kind,
                            e.message
                        ),
                    ));
                }
                Err(CallError::Unreachable(why)) => {
                    return Err(Error::io(format!(
                        "{shown}: DynamoDB does not answer at {} ({why})",
                        self.client.endpoint()
                    )))
                }
            };
            let left: Vec<Value> = match answer["UnprocessedItems"].get(&self.table) {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            done.written += (sent - left.len()) as u64;
            if left.is_empty() {
                return Ok(());
            }
            pending = left;
            match backoff.next_delay() {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    return Err(Error::io(format!(
                        "{shown}: {} items of the batch of rows {} stayed unprocessed after {} tries (throttled)",
                        pending.len(),
                        list_rows(&rows),
                        backoff.tries()
                    )))
                }
            }
        }
    }
}

fn list_rows(rows: &[u64]) -> String {
    let shown: Vec<String> = rows.iter().take(8).map(|r| r.to_string()).collect();
    if rows.len() > 8 {
        format!("{}, … ({} rows)", shown.join(", "), rows.len())
    } else {
        shown.join(", ")
    }
}
