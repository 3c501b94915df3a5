//! Stream to files, exactly once: batches of messages become part files in
//! a folder (or one file), each committed with its checkpoint
//! ([`super::checkpoint`]) before the broker hears of it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::*;

use super::checkpoint::{pending_name, sync_file, Checkpoint, Rename, StateDir};
use super::options::StreamOptions;
use super::tables::{self, BatchTables};
use super::{open_consumer, shown, Consumer, Limits, Message, Positions};
use crate::error::{Error, Result};
use crate::format::{Format, ReadOptions, WriteOptions};
use crate::frame::Frame;
use crate::location::RemoteUrl;

/// Where the batches go.
#[derive(Debug, Clone)]
pub enum StreamOutput {
    /// One part file per batch (`part-000000.parquet`, ...) in a folder the
    /// rest of etl (and Spark) reads as one table; checkpoint in `DIR/_checkpoint/`.
    Folder(PathBuf),
    /// One batch into one file, replaced by each run; checkpoint in
    /// `.NAME.checkpoint/` beside it.
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub source: RemoteUrl,
    pub options: StreamOptions,
    pub read: ReadOptions,
    pub output: StreamOutput,
    /// Format of the output files.
    pub write: WriteOptions,
    /// Rejected payloads: a folder of part files (folder output) or a file.
    pub rejects: Option<PathBuf>,
    /// Keep reading: wait this long between batches once caught up.
    pub follow: Option<Duration>,
    /// Stop after this many non-empty batches.
    pub max_batches: Option<u64>,
    /// A file output may replace an existing file.
    pub force: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BatchSummary {
    pub batch: u64,
    pub rows: u64,
    pub rejected: u64,
    pub files: Vec<PathBuf>,
    pub positions: Positions,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestSummary {
    pub source: String,
    pub batches: u64,
    pub rows: u64,
    pub rejected: u64,
    pub files: Vec<PathBuf>,
    pub positions: Positions,
    pub seconds: f64,
}

/// Default bound of one batch: what memory holds comfortably.
pub const DEFAULT_MAX_BYTES: u64 = 128 << 20;

/// Reads the stream into the output: without `follow`, what is available
/// now (several batches into a folder when the limits cut it, one batch
/// into a file); with it, batch after batch until stopped.
pub fn ingest(
    req: &IngestRequest,
    on_batch: &mut dyn FnMut(&BatchSummary),
) -> Result<IngestSummary> {
    let started = Instant::now();
    req.options.check_supported()?;
    let (state_dir, out_dir) = match &req.output {
        StreamOutput::Folder(dir) => (dir.join("_checkpoint"), dir.clone()),
        StreamOutput::File(path) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::usage(format!("{}: not a file name", path.display())))?;
            let dir = parent_of(path);
            (dir.join(format!(".{name}.checkpoint")), dir)
        }
    };
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::from(e).context(out_dir.display()))?;
    if let StreamOutput::File(path) = &req.output {
        if path.exists() && !req.force {
            return Err(Error::usage(format!(
                "{}: already exists; pass --force to replace it with the next batch, or write batches into a folder (-o DIR/)",
                path.display()
            )));
        }
    }
    let state = StateDir::open(&state_dir)?;
    let mut cp = state.load()?;
    let source = source_id(&req.source);
    if let Some(c) = &cp {
        if c.source != source {
            return Err(Error::usage(format!(
                "{}: this checkpoint belongs to {}, not {source}; write to another output",
                state_dir.display(),
                c.source
            )));
        }
    }
    let rejects_dir = req.rejects.as_ref().map(|r| match &req.output {
        StreamOutput::Folder(_) => r.clone(),
        StreamOutput::File(_) => parent_of(r),
    });
    let mut dirs: Vec<&Path> = vec![&out_dir];
    if let Some(r) = &rejects_dir {
        std::fs::create_dir_all(r).map_err(|e| Error::from(e).context(r.display()))?;
        dirs.push(r);
    }
    state.recover(cp.as_ref(), &dirs)?;

    let mut consumer = open_consumer(&req.source, &req.options)?;
    if let Some(c) = &cp {
        consumer.resume(&c.last_ids);
    }
    let limits = Limits {
        max_messages: req.options.max_messages,
        max_bytes: Some(req.options.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)),
        max_wait: req.options.max_wait,
    };
    let mut summary = IngestSummary {
        source: shown(&req.source),
        ..IngestSummary::default()
    };
    loop {
        let from = cp.as_ref().map(|c| c.positions.clone()).unwrap_or_default();
        let (batch, caught_up) = consumer.next_batch(&from, &limits)?;
        let single_file = matches!(req.output, StreamOutput::File(_));
        if batch.is_empty() && !single_file {
            if let Some(wait) = req.follow {
                std::thread::sleep(wait);
                continue;
            }
            break;
        }
        let done = commit_batch(req, &state, &mut cp, &source, &batch, consumer.as_mut())?;
        summary.batches += 1;
        summary.rows += done.rows;
        summary.rejected += done.rejected;
        summary.files.extend(done.files.iter().cloned());
        summary.positions = done.positions.clone();
        on_batch(&done);
        if single_file || req.max_batches.is_some_and(|n| summary.batches >= n) {
            break;
        }
        if caught_up {
            match req.follow {
                Some(wait) => std::thread::sleep(wait),
                None => break,
            }
        }
    }
    if let Some(c) = &cp {
        summary.positions = c.positions.clone();
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Writes one batch and commits it: files, checkpoint, broker.
fn commit_batch(
    req: &IngestRequest,
    state: &StateDir,
    cp: &mut Option<Checkpoint>,
    source: &str,
    batch: &[Message],
    consumer: &mut dyn Consumer,
) -> Result<BatchSummary> {
    let previous = cp.clone().unwrap_or_default();
    let number = previous.batches;
    let mut positions = previous.positions.clone();
    for m in batch {
        positions.insert(consumer.position_of(m), m.offset + 1);
    }
    let BatchTables { rows, rejects } = if batch.is_empty() {
        BatchTables {
            rows: tables::empty_table(&req.options)?,
            rejects: DataFrame::empty(),
        }
    } else {
        tables::to_tables(batch, &req.options, &req.read)?
    };
    let (n_rows, n_rejected) = (rows.height() as u64, rejects.height() as u64);
    if n_rejected > 0 && req.rejects.is_none() {
        let first = rejects
            .column(tables::REASON_COLUMN)
            .ok()
            .and_then(|c| c.str().ok()?.get(0).map(str::to_string))
            .unwrap_or_default();
        let offset = rejects
            .column("offset")
            .ok()
            .and_then(|c| c.i64().ok()?.get(0))
            .unwrap_or(-1);
        return Err(Error::data(format!(
            "{}: {n_rejected} payloads do not parse as {} (first at offset {offset}: {first}); pass --rejects PATH to set them aside, nothing was committed",
            shown(&req.source),
            req.options.value_format.name()
        )));
    }
    let mut pending = Vec::new();
    let mut files = Vec::new();
    let ext = req.write.format.extension();
    let write_one = |df: DataFrame,
                     target: PathBuf,
                     opts: &WriteOptions,
                     pending: &mut Vec<Rename>|
     -> Result<()> {
        let tmp = pending_name(&target);
        crate::cleanup::track(&tmp);
        let result = crate::sink::file::write_file(Frame::from_df(df), &tmp, opts)
            .and_then(|_| sync_file(&tmp));
        crate::cleanup::untrack(&tmp);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.context(target.display()));
        }
        pending.push(Rename {
            from: tmp,
            to: target,
        });
        Ok(())
    };
    match &req.output {
        StreamOutput::Folder(dir) => {
            if n_rows > 0 {
                let target = dir.join(format!("part-{number:06}.{ext}"));
                refuse_foreign(&target)?;
                write_one(rows, target.clone(), &req.write, &mut pending)?;
                files.push(target);
            }
            if let (Some(r), true) = (&req.rejects, n_rejected > 0) {
                let target = r.join(format!("part-{number:06}.parquet"));
                refuse_foreign(&target)?;
                write_one(
                    rejects,
                    target.clone(),
                    &WriteOptions::new(Format::Parquet),
                    &mut pending,
                )?;
                files.push(target);
            }
        }
        StreamOutput::File(path) => {
            write_one(rows, path.clone(), &req.write, &mut pending)?;
            files.push(path.clone());
            if let Some(r) = &req.rejects {
                let format = Format::from_path(r)
                    .map(|(f, _)| f)
                    .unwrap_or(Format::Parquet);
                write_one(rejects, r.clone(), &WriteOptions::new(format), &mut pending)?;
                files.push(r.clone());
            }
        }
    }
    let next = Checkpoint {
        source: source.to_string(),
        batches: number + 1,
        rows: previous.rows + n_rows,
        rejected: previous.rejected + n_rejected,
        positions: positions.clone(),
        pending,
        committed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        last_ids: consumer.batch_ids(),
    };
    state.commit(&next)?;
    *cp = Some(next);
    consumer.commit(&positions, batch)?;
    Ok(BatchSummary {
        batch: number,
        rows: n_rows,
        rejected: n_rejected,
        files,
        positions,
    })
}

/// A part name that is taken by a file etl did not commit is never overwritten.
fn refuse_foreign(target: &Path) -> Result<()> {
    if target.exists() {
        return Err(Error::usage(format!(
            "{}: already exists but the checkpoint does not know it; write the stream into its own folder",
            target.display()
        )));
    }
    Ok(())
}

pub fn position_key(topic: &str, partition: i32) -> String {
    format!("{topic}/{partition}")
}

/// The stream without credentials or options: checkpoints are per topic.
fn source_id(url: &RemoteUrl) -> String {
    let mut u = url.url.clone();
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("."),
    }
}

/// A pipeline's ingest stage: appends what is available to the part folder
/// beside the dataset (`bronze/NAME.stream/`, exactly once), then writes
/// the dataset file as every row consumed so far, so that a stage after a
/// crash still sees every batch. Returns the dataset's row count.
pub fn ingest_dataset(source: &RemoteUrl, read: &ReadOptions, dataset: &Path) -> Result<u64> {
    let options = StreamOptions::from_url(source)?;
    let folder = dataset.with_extension("stream");
    let rejects = folder.join("_rejects");
    let req = IngestRequest {
        source: source.clone(),
        options: options.clone(),
        read: read.clone(),
        output: StreamOutput::Folder(folder.clone()),
        write: WriteOptions::new(Format::Parquet),
        rejects: Some(rejects),
        follow: None,
        max_batches: None,
        force: false,
    };
    ingest(&req, &mut |_| {})?;
    let has_parts = std::fs::read_dir(&folder)?
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("part-"));
    let frame = if has_parts {
        crate::source::open(
            &[crate::location::Location::Local(folder)],
            &ReadOptions::default(),
            &crate::source::Provenance::default(),
        )?
    } else {
        Frame::from_df(tables::empty_table(&options)?)
    };
    let s = crate::sink::write(
        frame,
        &crate::sink::WriteRequest {
            dest: crate::sink::Destination::Path(dataset.to_path_buf()),
            options: WriteOptions::new(Format::Parquet),
            split: None,
            force: true,
        },
    )?;
    Ok(s.rows)
}

/// One batch with no checkpoint, for stdout and previews: the caller
/// commits to the broker (at least once) after writing, or never (a peek).
pub struct OneBatch {
    pub tables: BatchTables,
    consumer: Box<dyn Consumer>,
    positions: Positions,
    batch: Vec<Message>,
}

pub fn read_once(
    source: &RemoteUrl,
    options: &StreamOptions,
    read: &ReadOptions,
) -> Result<OneBatch> {
    options.check_supported()?;
    let mut consumer = open_consumer(source, options)?;
    let limits = Limits {
        max_messages: options.max_messages,
        max_bytes: Some(options.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)),
        max_wait: options.max_wait,
    };
    let (batch, _) = consumer.next_batch(&Positions::new(), &limits)?;
    let tables = if batch.is_empty() {
        BatchTables {
            rows: tables::empty_table(options)?,
            rejects: DataFrame::empty(),
        }
    } else {
        tables::to_tables(&batch, options, read)?
    };
    let mut positions = Positions::new();
    for m in &batch {
        positions.insert(consumer.position_of(m), m.offset + 1);
    }
    Ok(OneBatch {
        tables,
        consumer,
        positions,
        batch,
    })
}

impl OneBatch {
    pub fn messages(&self) -> usize {
        self.batch.len()
    }

    /// Tells the broker the batch was consumed.
    pub fn commit(mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.consumer.commit(&self.positions, &self.batch)
    }
}
