//! Runs the stages of a plan as a graph: each on its own worker thread as
//! soon as the stages it needs have succeeded, at most `jobs` at a time,
//! lowest file position first (so `jobs = 1` is file order). This thread,
//! the coordinator, is the only one that touches the manifest and the
//! observer: workers send it events. A failure stops new stages from
//! starting and retries from being tried; running stages finish and are
//! recorded. A stage past its timeout is abandoned: it is recorded as
//! failed at once, and its thread ends with the process (its output, not
//! yet renamed into place, is removed by the cleanup register then).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

use super::execute::{release_freed_memory, run_stage};
use super::manifest::{kind_name, Attempt, AttemptOutcome, Manifest, StageRecord, StageStatus};
use super::plan::{Plan, Stage};

/// What the caller hears while the run goes on (the engine never prints).
pub trait Observer {
    fn stage_started(&self, stage: &Stage);
    fn stage_finished(&self, stage: &Stage, record: &StageRecord);
    fn note(&self, stage: &str, message: &str);
}

/// Now, for the manifest: RFC 3339 in UTC, to the microsecond (stages
/// that run at the same time are ordered by it).
pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// What a worker tells the coordinator.
enum Event {
    AttemptStarted {
        stage: usize,
        number: u32,
        started: String,
    },
    AttemptEnded {
        stage: usize,
        attempt: Attempt,
        retry_in: Option<Duration>,
    },
    Finished {
        stage: usize,
        record: Box<StageRecord>,
        outcome: Result<()>,
        rows: BTreeMap<String, u64>,
    },
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Waiting,
    Running {
        since: Instant,
        deadline: Option<Instant>,
    },
    Done,
    Failed,
    /// Timed out: its thread may still be working, its events are ignored.
    Abandoned,
}

pub(super) struct Schedule<'a> {
    pub plan: &'a Plan,
    /// The stages to run now (the others are skipped or reused: done).
    pub todo: Vec<bool>,
    pub jobs: usize,
    pub observer: &'a dyn Observer,
    /// Rows per dataset written so far (by reused stages, on resume).
    pub rows: BTreeMap<String, u64>,
}

impl Schedule<'_> {
    /// Runs the stages; the first error (in time) is the run's.
    pub fn run(mut self, m: &mut Manifest) -> Result<()> {
        let plan = self.plan;
        let (tx, rx) = channel::<Event>();
        let stop = Arc::new(AtomicBool::new(false));
        let mut state: Vec<State> = self
            .todo
            .iter()
            .map(|t| if *t { State::Waiting } else { State::Done })
            .collect();
        let mut running = 0usize;
        let mut first_error: Option<Error> = None;
        let fail = |first_error: &mut Option<Error>, e: Error| {
            stop.store(true, Ordering::SeqCst);
            first_error.get_or_insert(e);
        };
        loop {
            if first_error.is_none() {
                for i in 0..plan.stages.len() {
                    if running >= self.jobs {
                        break;
                    }
                    let stage = &plan.stages[i];
                    let ready = state[i] == State::Waiting
                        && stage.needs.iter().all(|n| state[n.stage] == State::Done);
                    if !ready {
                        continue;
                    }
                    m.stages[i].status = StageStatus::Running;
                    m.stages[i].started = Some(now());
                    m.stages[i].attempts.clear();
                    if let Err(e) = m.save(&plan.manifest) {
                        fail(&mut first_error, e);
                        break;
                    }
                    self.observer.stage_started(stage);
                    let spawned = spawn(i, stage, plan.spark.clone(), &self.rows, &stop, &tx);
                    if let Err(e) = spawned {
                        m.stages[i].status = StageStatus::Failed;
                        m.stages[i].error = Some(e.message.clone());
                        state[i] = State::Failed;
                        fail(&mut first_error, e);
                        break;
                    }
                    state[i] = State::Running {
                        since: Instant::now(),
                        deadline: None,
                    };
                    running += 1;
                }
            }
            if running == 0 {
                break;
            }
            let deadline = state
                .iter()
                .filter_map(|s| match s {
                    State::Running { deadline, .. } => *deadline,
                    _ => None,
                })
                .min();
            let event = match deadline {
                Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let event = match event {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    for (i, s) in state.iter_mut().enumerate() {
                        let State::Running {
                            since,
                            deadline: Some(d),
                        } = *s
                        else {
                            continue;
                        };
                        if d > Instant::now() {
                            continue;
                        }
                        *s = State::Abandoned;
                        running -= 1;
                        let e = self.timed_out(i, since, m);
                        fail(&mut first_error, e);
                    }
                    if let Err(e) = m.save(&plan.manifest) {
                        fail(&mut first_error, e);
                    }
                    continue;
                }
                // Unreachable while this thread holds `tx`.
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match event {
                Event::AttemptStarted {
                    stage,
                    number,
                    started,
                } => {
                    let State::Running { since, .. } = state[stage] else {
                        continue;
                    };
                    state[stage] = State::Running {
                        since,
                        deadline: plan.stages[stage].timeout.map(|t| Instant::now() + t),
                    };
                    m.stages[stage].attempts.push(Attempt {
                        number,
                        started,
                        finished: None,
                        seconds: 0.0,
                        outcome: AttemptOutcome::Running,
                        error: None,
                        error_kind: None,
                    });
                }
                Event::AttemptEnded {
                    stage,
                    attempt,
                    retry_in,
                } => {
                    if state[stage] == State::Abandoned {
                        continue;
                    }
                    if let (Some(wait), Some(error)) = (retry_in, &attempt.error) {
                        let s = &plan.stages[stage];
                        self.observer.note(
                            &s.name,
                            &format!(
                                "attempt {} of {} failed: {error}; trying again in {:.1}s",
                                attempt.number,
                                s.retries + 1,
                                wait.as_secs_f64()
                            ),
                        );
                    }
                    if let Some(last) = m.stages[stage].attempts.last_mut() {
                        *last = attempt;
                    }
                }
                Event::Finished {
                    stage,
                    record,
                    outcome,
                    rows,
                } => {
                    let State::Running { since, .. } = state[stage] else {
                        continue;
                    };
                    running -= 1;
                    let mut record = *record;
                    let previous = &m.stages[stage];
                    record.started = previous.started.clone();
                    record.attempts = previous.attempts.clone();
                    record.fingerprint = previous.fingerprint.clone();
                    record.finished = Some(now());
                    record.seconds = since.elapsed().as_secs_f64();
                    record.status = if outcome.is_ok() {
                        StageStatus::Succeeded
                    } else {
                        StageStatus::Failed
                    };
                    record.error = outcome.as_ref().err().map(|e| e.message.clone());
                    self.observer.stage_finished(&plan.stages[stage], &record);
                    m.stages[stage] = record;
                    match outcome {
                        Ok(()) => {
                            state[stage] = State::Done;
                            self.rows.extend(rows);
                        }
                        Err(e) => {
                            state[stage] = State::Failed;
                            let e = e.context(format!("stage '{}'", plan.stages[stage].name));
                            fail(&mut first_error, e);
                        }
                    }
                }
            }
            if let Err(e) = m.save(&plan.manifest) {
                fail(&mut first_error, e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Records a stage that ran out of time, and the run's error.
    fn timed_out(&self, i: usize, since: Instant, m: &mut Manifest) -> Error {
        let stage = &self.plan.stages[i];
        let limit = stage.timeout.unwrap_or_default();
        let message = format!(
            "timed out after {} (timeout = \"{}\"); its unfinished output is discarded",
            shown(limit),
            shown(limit)
        );
        let r = &mut m.stages[i];
        r.status = StageStatus::Failed;
        r.finished = Some(now());
        r.seconds = since.elapsed().as_secs_f64();
        r.error = Some(message.clone());
        if let Some(a) = r.attempts.last_mut() {
            a.outcome = AttemptOutcome::TimedOut;
            a.finished = r.finished.clone();
            a.error = Some(message.clone());
            a.error_kind = Some(kind_name(ErrorKind::Io).into());
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&a.started) {
                a.seconds = (chrono::Utc::now() - t.to_utc()).num_milliseconds() as f64 / 1000.0;
            }
        }
        let record = r.clone();
        self.observer.stage_finished(stage, &record);
        Error::io(message).context(format!("stage '{}'", stage.name))
    }
}

/// `1.5s`, `30s`, `2m`, `1h` as the file would say it.
fn shown(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else if s < 1.0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{s}s")
    }
}

fn spawn(
    index: usize,
    stage: &Stage,
    spark: Option<Arc<crate::spark::Engine>>,
    rows: &BTreeMap<String, u64>,
    stop: &Arc<AtomicBool>,
    tx: &Sender<Event>,
) -> Result<()> {
    let name = stage.name.clone();
    let (stage, rows, stop, tx) = (stage.clone(), rows.clone(), stop.clone(), tx.clone());
    std::thread::Builder::new()
        .name(format!("stage {name}"))
        .spawn(move || work(index, &stage, spark.as_deref(), rows, &stop, &tx))
        .map(|_| ())
        .map_err(|e| Error::io(format!("stage '{name}': cannot start a thread: {e}")))
}

/// A worker: the stage's attempts, until one succeeds, the error is not
/// worth another try, the retries are used up, or the run is stopping.
fn work(
    index: usize,
    stage: &Stage,
    spark: Option<&crate::spark::Engine>,
    rows: BTreeMap<String, u64>,
    stop: &AtomicBool,
    tx: &Sender<Event>,
) {
    let mut number = 1;
    loop {
        let started = now();
        let began = Instant::now();
        let _ = tx.send(Event::AttemptStarted {
            stage: index,
            number,
            started: started.clone(),
        });
        let mut record = StageRecord::new(&stage.name, stage.action.kind(), StageStatus::Failed);
        let mut rows_now = rows.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| match spark {
            Some(spark) => {
                super::on_spark::run_stage(spark, stage, &mut record, &mut rows_now, run_stage)
            }
            None => run_stage(stage, &mut record, &mut rows_now),
        }))
        .unwrap_or_else(|panic| Err(panicked(panic)));
        release_freed_memory();
        let retry_in = match &outcome {
            Err(e)
                if is_transient(e) && number <= stage.retries && !stop.load(Ordering::SeqCst) =>
            {
                Some(backoff(stage.retry_delay, number))
            }
            _ => None,
        };
        let attempt = Attempt {
            number,
            started,
            finished: Some(now()),
            seconds: began.elapsed().as_secs_f64(),
            outcome: if outcome.is_ok() {
                AttemptOutcome::Succeeded
            } else {
                AttemptOutcome::Failed
            },
            error: outcome.as_ref().err().map(|e| e.message.clone()),
            error_kind: outcome
                .as_ref()
                .err()
                .map(|e| kind_name(e.kind).to_string()),
        };
        let _ = tx.send(Event::AttemptEnded {
            stage: index,
            attempt,
            retry_in,
        });
        if let Some(wait) = retry_in {
            if sleep_unless_stopped(wait, stop) {
                number += 1;
                continue;
            }
        }
        let _ = tx.send(Event::Finished {
            stage: index,
            record: Box::new(record),
            outcome,
            rows: rows_now,
        });
        return;
    }
}

/// I/O and server errors may pass; bad data or a bad file will not.
fn is_transient(e: &Error) -> bool {
    e.kind == ErrorKind::Io
}

/// The wait before retry `n + 1`: the delay doubled for each earlier
/// retry, times a random factor from 0.5 to 1 so that stages failing
/// together do not retry together.
fn backoff(delay: Duration, n: u32) -> Duration {
    let doubled = delay.saturating_mul(1u32 << (n - 1).min(16));
    doubled.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// Sleeps; false when the run started stopping meanwhile.
fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + wait;
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::data(format!(
        "internal error ({what}); the input may be malformed. Please report this with the input that caused it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_within_half() {
        let d = Duration::from_secs(10);
        for n in 1..=3 {
            let full = 10.0 * f64::from(1u32 << (n - 1));
            let w = backoff(d, n).as_secs_f64();
            assert!(w >= full / 2.0 && w <= full, "{n}: {w}");
        }
    }
}
