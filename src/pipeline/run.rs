//! Runs a validated [`Plan`]: stage by stage, under the pipeline's lock,
//! each stage's output swapped in only when complete. Row counts are
//! reconciled between and within stages, and the manifest is saved after
//! every stage, so a failed or killed run still leaves its record.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::error::{Error, ErrorKind, Result};
use crate::format::{ReadOptions, Reader};
use crate::frame::Frame;
use crate::sink::{Destination, WriteRequest};
use crate::source::Provenance;
use crate::step::{parquet_request, reader_for, Input, Outcome, Output, RejectPolicy, Step};
use crate::transfer::TransferRequest;

use super::manifest::{self, Artifact, Manifest, RunStatus, StageRecord, StageStatus};
use super::plan::{Action, Dataset, Plan, Stage};
use super::RunLock;

/// Which stages run: all, `--only A,B`, or `--from A` onwards.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub from: Option<String>,
}

/// What the caller hears while the run goes on (the engine never prints).
pub trait Observer {
    fn stage_started(&self, stage: &Stage);
    fn stage_finished(&self, stage: &Stage, record: &StageRecord);
    fn note(&self, stage: &str, message: &str);
}

impl Selection {
    /// The stages to run, by index; unknown names are a usage error.
    pub fn pick(&self, plan: &Plan) -> Result<Vec<bool>> {
        let names: Vec<&str> = plan.stages.iter().map(|s| s.name.as_str()).collect();
        let find = |n: &str| {
            names.iter().position(|s| *s == n).ok_or_else(|| {
                Error::usage(format!(
                    "no stage named '{n}' in {} (stages: {})",
                    plan.file.display(),
                    names.join(", ")
                ))
            })
        };
        let mut picked = vec![self.only.is_empty(); names.len()];
        for n in &self.only {
            picked[find(n)?] = true;
        }
        if let Some(from) = &self.from {
            let start = find(from)?;
            for (i, p) in picked.iter_mut().enumerate() {
                *p = *p && i >= start;
            }
        }
        Ok(picked)
    }
}

/// Runs the plan. The manifest comes back whatever happened; the result
/// says whether the run succeeded.
pub fn run(plan: &Plan, selection: &Selection, observer: &dyn Observer) -> (Manifest, Result<()>) {
    let started = Instant::now();
    let mut m = Manifest {
        pipeline: plan.name.clone(),
        file: plan.file.display().to_string(),
        run_id: plan.run_id.clone(),
        run_date: plan.run_date.clone(),
        started: now(),
        finished: None,
        seconds: 0.0,
        status: RunStatus::Running,
        host: manifest::hostname(),
        pid: std::process::id(),
        stages: Vec::new(),
        error: None,
        exit_code: None,
    };
    let result = run_stages(plan, selection, observer, &mut m);
    m.finished = Some(now());
    m.seconds = started.elapsed().as_secs_f64();
    m.status = if result.is_ok() {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    if let Err(e) = &result {
        // Refused by the lock: the manifest (maybe the running job's own,
        // with --manifest) is not this run's to write.
        if e.kind == crate::error::ErrorKind::Locked {
            return (m, result);
        }
        m.error = Some(e.message.clone());
        m.exit_code = Some(e.kind.exit_code());
    }
    let saved = m.save(&plan.manifest);
    let result = match (result, saved) {
        (Ok(()), Err(e)) => Err(e),
        (r, _) => r,
    };
    (m, result)
}

fn run_stages(
    plan: &Plan,
    selection: &Selection,
    observer: &dyn Observer,
    m: &mut Manifest,
) -> Result<()> {
    let picked = selection.pick(plan)?;
    let who = format!(
        "pid {} on {} since {}, run {}",
        std::process::id(),
        m.host,
        m.started,
        plan.run_id
    );
    let lock = RunLock::acquire(&plan.lock, &who)?;
    if let Some(stale) = &lock.stale {
        observer.note(
            "lock",
            &format!("took over the lock of a run that is no longer alive ({stale})"),
        );
    }
    m.stages = plan
        .stages
        .iter()
        .zip(&picked)
        .map(|(s, p)| {
            let status = if *p {
                StageStatus::NotRun
            } else {
                StageStatus::Skipped
            };
            StageRecord::new(&s.name, s.action.kind(), status)
        })
        .collect();
    m.save(&plan.manifest)?;
    check_skipped_inputs(plan, &picked)?;

    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    for (i, stage) in plan.stages.iter().enumerate() {
        if !picked[i] {
            continue;
        }
        observer.stage_started(stage);
        m.stages[i].status = StageStatus::Running;
        m.stages[i].started = Some(now());
        m.save(&plan.manifest)?;
        let began = Instant::now();
        let mut record = StageRecord::new(&stage.name, stage.action.kind(), StageStatus::Failed);
        record.started = Some(now());
        let outcome = match plan.spark.as_deref() {
            Some(spark) => {
                super::on_spark::run_stage(spark, stage, &mut record, &mut rows, run_stage)
            }
            None => run_stage(stage, &mut record, &mut rows),
        };
        record.seconds = began.elapsed().as_secs_f64();
        record.status = if outcome.is_ok() {
            StageStatus::Succeeded
        } else {
            StageStatus::Failed
        };
        if let Err(e) = &outcome {
            record.error = Some(e.message.clone());
        }
        release_freed_memory();
        observer.stage_finished(stage, &record);
        m.stages[i] = record;
        m.save(&plan.manifest)?;
        outcome.map_err(|e| e.context(format!("stage '{}'", stage.name)))?;
    }
    drop(lock);
    Ok(())
}

/// With --only/--from, a stage may read a dataset that a skipped stage
/// writes: it must exist from an earlier run.
fn check_skipped_inputs(plan: &Plan, picked: &[bool]) -> Result<()> {
    let mut written_now = Vec::new();
    for (stage, p) in plan.stages.iter().zip(picked) {
        if !p {
            continue;
        }
        if let Some(input) = stage.action.input() {
            if !written_now.contains(&&input.name) && !input.path.exists() {
                let producer = plan
                    .stages
                    .iter()
                    .find(|s| s.action.output() == Some(input))
                    .map(|s| s.name.as_str())
                    .unwrap_or("?");
                return Err(Error::usage(format!(
                    "stage '{}' reads dataset '{}' ({}), which does not exist yet: run stage '{producer}' first, or the whole pipeline",
                    stage.name,
                    input.name,
                    input.path.display()
                )));
            }
        }
        if let Some(out) = stage.action.output() {
            written_now.push(&out.name);
        }
    }
    Ok(())
}

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
                if s.rows != n {
                    return Err(Error::data(format!(
                        "{}: loaded {} rows but the dataset '{}' has {n}",
                        s.target, s.rows, input.name
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
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
