//! One attempt at one stage: what each kind of stage does, with its row
//! counts reconciled and recorded. Runs on a worker thread of the
//! scheduler, so it touches nothing shared but what is safe to share (the
//! async runtime, the cleanup register, polars' thread pool).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::format::{ReadOptions, Reader};
use crate::frame::Frame;
use crate::sink::{Destination, WriteRequest};
use crate::source::Provenance;
use crate::step::{parquet_request, reader_for, Input, Outcome, Output, RejectPolicy, Step};
use crate::transfer::TransferRequest;

use super::manifest::{self, Artifact, StageRecord};
use super::plan::{Action, Dataset, Stage};

/// Runs the stage once. `rows` holds the rows each finished stage wrote
/// per dataset; this stage's output is added to it.
pub(super) fn run_stage(
    stage: &Stage,
    record: &mut StageRecord,
    rows: &mut BTreeMap<String, u64>,
) -> Result<()> {
    match &stage.action {
        Action::Ingest {
            inputs,
            read,
            source_column,
            output,
        } => {
            if let [crate::location::Location::Remote(r)] = inputs.as_slice() {
                if crate::stream::is_stream_scheme(r.scheme) {
                    // Exactly once into OUTPUT.stream/, then the dataset holds every row so far.
                    ensure_parent(&output.path)?;
                    let n = crate::stream::ingest::ingest_dataset(r, read, &output.path)?;
                    record.inputs.push(Artifact {
                        location: crate::stream::shown(r),
                        ..Artifact::default()
                    });
                    record.rows_in = Some(n);
                    record.rows_out = Some(n);
                    record
                        .outputs
                        .push(manifest::describe(&output.path, Some(n)));
                    rows.insert(output.name.clone(), n);
                    return Ok(());
                }
            }
            record.inputs = inputs
                .iter()
                .map(|l| Artifact {
                    location: l.to_string(),
                    ..Artifact::default()
                })
                .collect();
            ensure_parent(&output.path)?;
            let outcome = crate::step::run(Step {
                input: Input::Locations {
                    locations: inputs.clone(),
                    read: read.clone(),
                    provenance: Provenance {
                        source_column: source_column.clone(),
                    },
                },
                ops: Vec::new(),
                rejects: RejectPolicy::default(),
                output: Output::Write(parquet_request(&output.path)),
            })?;
            let known_in = outcome.rows_in;
            let written = rows_out(&outcome);
            record.rows_in = Some(known_in.unwrap_or(written));
            record.rows_out = Some(written);
            if let Some(n) = known_in.filter(|n| *n != written) {
                return Err(vanished(n, written, 0));
            }
            record
                .outputs
                .push(manifest::describe(&output.path, Some(written)));
            rows.insert(output.name.clone(), written);
        }
        Action::Ops {
            input,
            ops,
            output,
            rejects,
            max_rejects,
            max_reject_pct,
        } => {
            let (frame, rows_in) = open_dataset(input, reader_for(ops), rows, record)?;
            ensure_parent(&output.path)?;
            let outcome = crate::step::run(Step {
                input: Input::Frame(frame),
                ops: ops.clone(),
                rejects: RejectPolicy {
                    output: rejects.as_ref().map(|d| parquet_request(&d.path)),
                    max_rejects: *max_rejects,
                    max_reject_pct: *max_reject_pct,
                },
                output: Output::Write(parquet_request(&output.path)),
            })?;
            let written = rows_out(&outcome);
            let rejected = outcome.rejected;
            record.rows_out = Some(written);
            record.rows_rejected = rejected;
            let removed = rows_in as i64 - written as i64 - rejected as i64;
            record.rows_removed_by_ops = removed;
            if removed != 0 && !ops.iter().any(crate::ops::changes_row_count) {
                return Err(vanished(rows_in, written, rejected));
            }
            record
                .outputs
                .push(manifest::describe(&output.path, Some(written)));
            if let Some(r) = rejects.as_ref().filter(|r| r.path.exists()) {
                record
                    .outputs
                    .push(manifest::describe(&r.path, Some(rejected)));
            }
            rows.insert(output.name.clone(), written);
        }
        Action::Persist { input, targets } => {
            let mut rows_in = 0;
            for target in targets {
                let (frame, n) = open_dataset(input, Reader::Streaming, rows, record)?;
                rows_in = n;
                let outcome = crate::step::run(Step {
                    input: Input::Frame(frame),
                    ops: Vec::new(),
                    rejects: RejectPolicy::default(),
                    output: Output::Persist(target.clone()),
                })?;
                let s = outcome.loaded.expect("a persist step reports its load");
                if s.rows + s.skipped != n {
                    return Err(Error::data(format!(
                        "{}: loaded {} rows but the dataset '{}' has {n}",
                        s.target,
                        s.rows + s.skipped,
                        input.name
                    )));
                }
                record.outputs.push(Artifact {
                    location: format!("{} ({})", s.target, s.mode),
                    rows: Some(s.rows),
                    ..Artifact::default()
                });
            }
            record.rows_out = Some(rows_in);
        }
        Action::Extract { input, spec } => {
            let (frame, rows_in) = open_dataset(input, Reader::Streaming, rows, record)?;
            let request = WriteRequest {
                dest: Destination::Path(spec.path.clone()),
                options: spec.options.clone(),
                split: spec.files,
                force: true,
            };
            ensure_parent(&spec.path)?;
            let outcome = crate::step::run(Step {
                input: Input::Frame(frame),
                ops: Vec::new(),
                rejects: RejectPolicy::default(),
                output: Output::Write(request),
            })?;
            let written = rows_out(&outcome);
            record.rows_out = Some(written);
            if written != rows_in {
                return Err(vanished(rows_in, written, 0));
            }
            record
                .outputs
                .push(manifest::describe(&spec.path, Some(written)));
        }
        Action::Report { input, spec } => {
            let (frame, rows_in) = open_dataset(input, Reader::Streaming, rows, record)?;
            ensure_parent(&spec.path)?;
            spec.write(frame, &input.name)?;
            record.rows_out = Some(rows_in);
            record.outputs.push(manifest::describe(&spec.path, None));
        }
        Action::Transfer(spec) => {
            record.inputs = spec
                .from
                .iter()
                .map(|l| Artifact {
                    location: crate::location::redact(l),
                    ..Artifact::default()
                })
                .collect();
            for dest in &spec.to {
                let request = TransferRequest::new(spec.from.clone(), dest.clone(), &spec.options);
                let s = crate::transfer::transfer(&request)?;
                record.outputs.extend(s.files.iter().map(|f| {
                    Artifact {
                        location: f.destination.clone(),
                        rows: None,
                        bytes: Some(f.size),
                        sha256: f
                            .checksum
                            .as_deref()
                            .and_then(|c| c.strip_prefix("sha256:"))
                            .map(str::to_string),
                    }
                }));
            }
        }
    }
    Ok(())
}

/// Opens a dataset and checks that it still holds the rows its stage wrote.
fn open_dataset(
    input: &Dataset,
    reader: Reader,
    rows: &BTreeMap<String, u64>,
    record: &mut StageRecord,
) -> Result<(Frame, u64)> {
    let read = ReadOptions {
        reader,
        ..ReadOptions::default()
    };
    let frame = crate::source::open_file(&input.path, &read)
        .map_err(|e| e.context(format!("dataset '{}'", input.name)))?;
    let n = frame
        .rows
        .or_else(|| {
            crate::format::parquet::row_count(&input.path)
                .ok()
                .map(|r| r as u64)
        })
        .ok_or_else(|| {
            Error::data(format!(
                "dataset '{}' ({}): cannot count its rows",
                input.name,
                input.path.display()
            ))
        })?;
    if let Some(expected) = rows.get(&input.name).filter(|e| **e != n) {
        return Err(Error::data(format!(
            "dataset '{}' ({}) holds {n} rows, but its stage wrote {expected}: was it changed during the run?",
            input.name,
            input.path.display()
        )));
    }
    // A persist stage opens its input once per target: record it once.
    if record.rows_in.replace(n).is_none() {
        record.inputs.push(Artifact {
            location: input.path.display().to_string(),
            rows: Some(n),
            ..Artifact::default()
        });
    }
    Ok((frame, n))
}

fn rows_out(outcome: &Outcome) -> u64 {
    outcome.rows_out.unwrap_or_default()
}

fn ensure_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("{}: {e}", dir.display())))
        }
        None => Ok(()),
    }
}

fn vanished(rows_in: u64, rows_out: u64, rejected: u64) -> Error {
    Error::new(
        ErrorKind::Data,
        format!(
            "row counts do not reconcile: {rows_in} rows in, {rows_out} out, {rejected} rejected, and no op of this stage removes rows"
        ),
    )
}

/// Hands memory freed by the finished stage back to the system. glibc keeps
/// freed blocks in per-thread arenas, so without this each stage's peak
/// stacks on the previous one's leftovers in a long run.
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}
