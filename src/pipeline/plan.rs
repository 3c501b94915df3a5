//! A validated pipeline: every name resolved, every variable expanded,
//! every op parsed. Running it needs no more checks of the file.

use std::path::PathBuf;
use std::time::Duration;

use crate::format::{ReadOptions, WriteOptions};
use crate::location::Location;
use crate::ops::Op;
use crate::sink::persist::PersistRequest;

#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    /// The pipeline file, as given.
    pub file: PathBuf,
    /// The medallion root: `bronze/`, `silver/`, `gold/` live under it.
    pub root: PathBuf,
    pub run_date: String,
    pub run_id: String,
    pub manifest: PathBuf,
    pub lock: PathBuf,
    pub stages: Vec<Stage>,
    /// `--engine spark`: ingest and ops stages run on this Spark cluster.
    pub spark: Option<std::sync::Arc<crate::spark::Engine>>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    /// Line of the stage in the pipeline file.
    pub line: usize,
    pub description: Option<String>,
    pub action: Action,
    /// The stages that must succeed before this one starts: declared with
    /// `needs`, or inferred from what the stages read and write.
    pub needs: Vec<Need>,
    /// Attempts after the first one, for transient (I/O, server) errors.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each later one.
    pub retry_delay: Duration,
    /// Each attempt's limit.
    pub timeout: Option<Duration>,
    /// A digest of what the stage does (its table in the file, variables
    /// expanded, orchestration keys left out): `--resume` reuses a stage's
    /// outputs only while it is unchanged.
    pub fingerprint: String,
}

/// One edge of the stage graph: this stage runs after `stage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Index into [`Plan::stages`].
    pub stage: usize,
    /// Listed in the stage's `needs`.
    pub declared: bool,
    /// Why, when inferred: `reads silver.city`, `writes out/x.db too`.
    pub reasons: Vec<String>,
}

/// A table a stage writes and later stages read: `layer.name`, stored as
/// `ROOT/layer/name.parquet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Read sources in any format into a dataset (bronze: the raw rows).
    Ingest {
        inputs: Vec<Location>,
        read: ReadOptions,
        source_column: Option<String>,
        output: Dataset,
    },
    /// Clean or transform: the same ops as `etl clean` and `etl transform`.
    Ops {
        input: Dataset,
        ops: Vec<Op>,
        output: Dataset,
        rejects: Option<Dataset>,
        max_rejects: Option<u64>,
        max_reject_pct: Option<f64>,
    },
    /// Load a dataset into tables (warehouse folder, SQLite, PostgreSQL, MariaDB).
    Persist {
        input: Dataset,
        targets: Vec<PersistRequest>,
    },
    /// Write a dataset as report files in any format.
    Extract { input: Dataset, spec: ExtractSpec },
    /// Copy files to object storage, SFTP or local folders.
    Transfer(TransferSpec),
    /// Write an HTML report about a dataset (crate::report).
    Report {
        input: Dataset,
        spec: crate::report::ReportStage,
    },
}

#[derive(Debug, Clone)]
pub struct ExtractSpec {
    /// A file, or a folder of `files` part files.
    pub path: PathBuf,
    pub options: WriteOptions,
    pub files: Option<usize>,
}

/// Copies of the same files to each destination.
#[derive(Debug, Clone, Default)]
pub struct TransferSpec {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub options: crate::transfer::TransferOptions,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Ingest { .. } => "ingest",
            Action::Ops { .. } => "ops",
            Action::Persist { .. } => "persist",
            Action::Extract { .. } => "extract",
            Action::Transfer(_) => "transfer",
            Action::Report { .. } => "report",
        }
    }

    /// The dataset the stage reads, if any.
    pub fn input(&self) -> Option<&Dataset> {
        match self {
            Action::Ops { input, .. }
            | Action::Persist { input, .. }
            | Action::Extract { input, .. }
            | Action::Report { input, .. } => Some(input),
            _ => None,
        }
    }

    /// The dataset the stage writes, if any.
    pub fn output(&self) -> Option<&Dataset> {
        match self {
            Action::Ingest { output, .. } | Action::Ops { output, .. } => Some(output),
            _ => None,
        }
    }
}
