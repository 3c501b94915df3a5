//! One step: inputs → ops → settle rejects → output. `etl ingest`,
//! `clean`, `transform`, `persist` and the pipeline's ingest and ops
//! stages all run through [`run`], so they read, check, count and write
//! alike.

use polars::prelude::*;

use crate::db::DbRead;
use crate::error::{Error, Result};
use crate::format::{Format, ReadOptions, Reader, WriteOptions};
use crate::frame::Frame;
use crate::location::Location;
use crate::ops::checks::REJECT_COLUMN;
use crate::ops::{self, Op};
use crate::sink::persist::{LoadSummary, PersistRequest};
use crate::sink::{WriteRequest, WriteSummary};
use crate::source::{self, Provenance};

/// Where a step's rows come from.
pub enum Input {
    /// Files, folders, globs, remote file stores or stdin.
    Locations {
        locations: Vec<Location>,
        read: ReadOptions,
        provenance: Provenance,
    },
    /// The rows of a query or table in a database.
    Database { location: Location, what: DbRead },
    /// A frame the caller opened (a pipeline dataset it has verified).
    Frame(Frame),
}

/// Where a step's rows go.
pub enum Output {
    /// A file, a folder of part files, a remote file or stdout.
    Write(WriteRequest),
    /// A table: warehouse folder or database.
    Persist(PersistRequest),
    /// Back to the caller (e.g. to show a preview).
    Frame,
}

/// Where rejected rows go and how many are tolerated.
#[derive(Debug, Clone, Default)]
pub struct RejectPolicy {
    /// Write rejected rows (with `_rule` and `_reason` columns) here.
    pub output: Option<WriteRequest>,
    pub max_rejects: Option<u64>,
    pub max_reject_pct: Option<f64>,
}

pub struct Step {
    pub input: Input,
    pub ops: Vec<Op>,
    pub rejects: RejectPolicy,
    pub output: Output,
}

/// What a step did.
#[derive(Default)]
pub struct Outcome {
    /// Rows read, when known without an extra pass.
    pub rows_in: Option<u64>,
    pub rejected: u64,
    /// Rows written or loaded (None for [`Output::Frame`]).
    pub rows_out: Option<u64>,
    pub written: Option<WriteSummary>,
    pub loaded: Option<LoadSummary>,
    /// The frame, for [`Output::Frame`].
    pub frame: Option<Frame>,
}

/// The reader for a query with these ops: memory maps when polars holds
/// the whole table anyway (faster CSV parsing), streaming reads otherwise.
pub fn reader_for(ops: &[Op]) -> Reader {
    if ops.iter().any(ops::holds_whole_table) {
        Reader::Mapped
    } else {
        Reader::Streaming
    }
}

pub fn run(step: Step) -> Result<Outcome> {
    let Step {
        input,
        ops,
        rejects,
        output,
    } = step;
    let reader = reader_for(&ops);
    let (frame, side_read) = match input {
        Input::Locations {
            locations,
            mut read,
            provenance,
        } => {
            read.reader = reader;
            let frame = source::open(&locations, &read, &provenance)?;
            (frame, read)
        }
        Input::Database { location, what } => (
            source::open_database(&location, &what)?,
            ReadOptions::default(),
        ),
        Input::Frame(frame) => (frame, ReadOptions::default()),
    };
    let rows_in = frame.rows;
    let open_table = |location: &str| -> Result<Frame> {
        let location = Location::parse(location)?;
        source::open(&[location], &side_read, &Provenance::default())
    };
    let applied = ops::apply(
        frame,
        &ops,
        &ops::Context {
            open_table: &open_table,
        },
    )?;
    let (mut frame, rejected) = if applied.marked {
        settle(applied.frame, &rejects)?
    } else {
        (applied.frame, 0)
    };
    if frame.schema()?.is_empty() {
        return Err(Error::data("the table has no columns"));
    }
    let mut outcome = Outcome {
        rows_in,
        rejected,
        ..Outcome::default()
    };
    match output {
        Output::Write(req) => {
            let s = crate::sink::write(frame, &req)?;
            outcome.rows_out = Some(s.rows);
            outcome.written = Some(s);
        }
        Output::Persist(req) => {
            let s = persist(frame, &req)?;
            outcome.rows_out = Some(s.rows);
            outcome.loaded = Some(s);
        }
        Output::Frame => outcome.frame = Some(frame),
    }
    Ok(outcome)
}

/// Checks a persist target without touching it (`--check`, and before
/// reading any input): a table store, or a stream to produce to.
pub fn validate_persist(req: &PersistRequest) -> Result<()> {
    match &req.target {
        Location::Remote(r) if req.target.is_stream() => {
            crate::stream::produce::validate(&crate::stream::produce::options_for(r)?)
        }
        _ => crate::sink::persist::validate(req),
    }
}

/// Loads into a table store, or produces one message per row to a stream.
fn persist(frame: Frame, req: &PersistRequest) -> Result<LoadSummary> {
    let Location::Remote(r) = &req.target else {
        return crate::sink::persist::persist(frame, req);
    };
    if !req.target.is_stream() {
        return crate::sink::persist::persist(frame, req);
    }
    let opts = crate::stream::produce::options_for(r)?;
    let s = crate::stream::produce(frame, r, &opts)?;
    Ok(LoadSummary {
        target: s.target,
        mode: "messages".into(),
        rows: s.rows,
        partitions: 0,
        files: 0,
        seconds: s.seconds,
        skipped: 0,
    })
}

/// Splits a marked frame into rejects and kept rows, enforcing the
/// policy. Nothing is written downstream before the thresholds are known,
/// so a failed check leaves no partial output.
fn settle(frame: Frame, policy: &RejectPolicy) -> Result<(Frame, u64)> {
    let spool = frame.spool()?;
    let total = spool.rows;
    let rejected_lf = spool.scan()?.filter(col(REJECT_COLUMN).is_not_null());
    let rejected = count(rejected_lf.clone())?;
    let pct = if total == 0 {
        0.0
    } else {
        rejected as f64 * 100.0 / total as f64
    };
    if rejected > 0 {
        let with_reason = rejected_lf
            .with_columns([
                col(REJECT_COLUMN)
                    .str()
                    .split(lit(":"))
                    .list()
                    .first()
                    .alias("_rule"),
                col(REJECT_COLUMN).alias("_reason"),
            ])
            .drop(cols([REJECT_COLUMN]));
        match &policy.output {
            Some(req) => {
                crate::sink::write(spool.frame(with_reason), req)?;
            }
            None => {
                let sample = with_reason.limit(3).select([col("_reason")]).collect()?;
                let shown: Vec<String> = sample
                    .column("_reason")?
                    .str()?
                    .iter()
                    .flatten()
                    .map(|s| s.to_string())
                    .collect();
                return Err(Error::data(format!(
                    "{rejected} of {total} rows failed the checks, e.g. {}; write them somewhere with --rejects FILE to continue",
                    shown.join("; ")
                )));
            }
        }
    }
    if let Some(max) = policy.max_rejects {
        if rejected > max {
            return Err(Error::data(format!(
                "{rejected} rows rejected, more than --max-rejects {max}"
            )));
        }
    }
    if let Some(max) = policy.max_reject_pct {
        if pct > max {
            return Err(Error::data(format!("{pct:.2}% of rows rejected ({rejected} of {total}), more than --max-reject-pct {max}")));
        }
    }
    let kept = spool
        .scan()?
        .filter(col(REJECT_COLUMN).is_null())
        .drop(cols([REJECT_COLUMN]));
    Ok((spool.frame(kept).with_rows(total - rejected), rejected))
}

fn count(lf: LazyFrame) -> Result<u64> {
    let df = lf.select([len()]).collect()?;
    Ok(df.column("len")?.get(0)?.extract::<u64>().unwrap_or(0))
}

/// A Parquet file request, replacing what is there (pipeline datasets and
/// quarantine files).
pub fn parquet_request(path: &std::path::Path) -> WriteRequest {
    WriteRequest {
        dest: crate::sink::Destination::Path(path.to_path_buf()),
        options: WriteOptions::new(Format::Parquet),
        split: None,
        force: true,
    }
}
