//! Runs a validated [`Plan`] under the pipeline's lock: the stages as a
//! graph (see the scheduler), each stage's output swapped in only
//! when complete. Row counts are reconciled between and within stages,
//! and the manifest is saved after every stage and attempt, so a failed or
//! killed run still leaves its record, from which `--resume` continues.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::error::{Error, Result};

use super::manifest::{self, Manifest, Resumed, RunStatus, StageRecord, StageStatus};
use super::plan::Plan;
use super::resume::plan_resumption;
use super::schedule::{now, Observer, Schedule};
use super::RunLock;

/// Which stages run: all, `--only A,B`, or `--from A` onwards.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub from: Option<String>,
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

/// How to run: which stages, how many at once, and whether this continues
/// the latest failed run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub selection: Selection,
    /// Stages running at the same time, at most (1: one after the other,
    /// in file order).
    pub jobs: usize,
    /// Continue the run whose manifest is at `plan.manifest`; the plan
    /// must carry its run id and date (see `latest_unfinished`).
    pub resume: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            selection: Selection::default(),
            jobs: default_jobs(),
            resume: false,
        }
    }
}

/// What the cores allow.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Runs the plan. The manifest comes back whatever happened; the result
/// says whether the run succeeded.
pub fn run(plan: &Plan, opts: &RunOptions, observer: &dyn Observer) -> (Manifest, Result<()>) {
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
        jobs: opts.jobs.max(1),
        resumed: Vec::new(),
        stages: Vec::new(),
        error: None,
        exit_code: None,
    };
    let result = run_stages(plan, opts, observer, &mut m);
    m.finished = Some(now());
    m.seconds = started.elapsed().as_secs_f64();
    m.status = if result.is_ok() {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    if let Err(e) = &result {
        // Refused by the lock, or a resume refused: the manifest (maybe the
        // running job's own, or the run to resume) is not this run's to write.
        if e.kind == crate::error::ErrorKind::Locked || (m.stages.is_empty() && opts.resume) {
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
    opts: &RunOptions,
    observer: &dyn Observer,
    m: &mut Manifest,
) -> Result<()> {
    let selected = opts.selection.pick(plan)?;
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
    // Read under the lock: a run still going cannot be resumed, one that
    // was killed (its manifest says running) can.
    let resumption = if opts.resume {
        let previous = Manifest::load(&plan.manifest)?;
        if previous.status == RunStatus::Succeeded || previous.run_id != plan.run_id {
            return Err(Error::usage(format!(
                "--resume: run {} of '{}' is no longer the one to resume ({}); try again",
                plan.run_id,
                plan.name,
                plan.manifest.display()
            )));
        }
        let r = plan_resumption(plan, &previous)?;
        m.started = previous.started.clone();
        m.resumed = previous.resumed.clone();
        m.resumed.push(Resumed {
            started: now(),
            host: m.host.clone(),
            pid: m.pid,
        });
        Some(r)
    } else {
        None
    };
    let (picked, todo, mut reused) = match resumption {
        Some(r) => (r.picked, r.todo, r.reused),
        None => (selected.clone(), selected, vec![None; plan.stages.len()]),
    };
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    m.stages = Vec::new();
    for (i, s) in plan.stages.iter().enumerate() {
        let record = match reused[i].take() {
            Some(r) => {
                if let (Some(out), Some(n)) = (s.action.output(), r.rows_out) {
                    rows.insert(out.name.clone(), n);
                }
                r
            }
            None => {
                let status = if picked[i] {
                    StageStatus::NotRun
                } else {
                    StageStatus::Skipped
                };
                let mut r = StageRecord::new(&s.name, s.action.kind(), status);
                r.fingerprint = s.fingerprint.clone();
                r
            }
        };
        m.stages.push(record);
    }
    m.save(&plan.manifest)?;
    check_skipped_inputs(plan, &todo)?;
    if opts.resume {
        let again: Vec<&str> = plan
            .stages
            .iter()
            .zip(&todo)
            .filter(|(_, t)| **t)
            .map(|(s, _)| s.name.as_str())
            .collect();
        observer.note(
            "resume",
            &format!(
                "continuing run {}: {} stage{} to run ({}), the others' outputs reused",
                plan.run_id,
                again.len(),
                if again.len() == 1 { "" } else { "s" },
                again.join(", ")
            ),
        );
    }
    let result = Schedule {
        plan,
        todo,
        jobs: opts.jobs.max(1),
        observer,
        rows,
    }
    .run(m);
    drop(lock);
    result
}

/// A stage may read a dataset that a stage not run now (skipped by
/// --only/--from, or reused by --resume) writes: it must exist already.
fn check_skipped_inputs(plan: &Plan, todo: &[bool]) -> Result<()> {
    for (stage, t) in plan.stages.iter().zip(todo) {
        if !t {
            continue;
        }
        let Some(input) = stage.action.input() else {
            continue;
        };
        let producer = plan
            .stages
            .iter()
            .position(|s| s.action.output() == Some(input));
        if producer.is_some_and(|p| todo[p]) || input.path.exists() {
            continue;
        }
        let producer = producer
            .map(|p| plan.stages[p].name.as_str())
            .unwrap_or("?");
        return Err(Error::usage(format!(
            "stage '{}' reads dataset '{}' ({}), which does not exist yet: run stage '{producer}' first, or the whole pipeline",
            stage.name,
            input.name,
            input.path.display()
        )));
    }
    Ok(())
}
