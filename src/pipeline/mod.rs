//! `run-pipeline`: a whole batch pipeline from one TOML file. The file is
//! parsed and validated as a whole before any I/O ([`load`] gives a
//! [`Plan`] or every problem at once, the stage graph included); [`run`]
//! executes the plan under a lock, independent stages at the same time,
//! with retries and timeouts, reconciles row counts and writes a manifest,
//! from which a failed run can be resumed.
//!
//! spec (TOML) ─► validate (all problems, with lines) ─► Plan + graph ─► run (schedule, execute) ─► manifest

mod execute;
mod expand;
pub mod graph;
mod lock;
pub mod manifest;
mod on_spark;
mod orchestration;
mod plan;
mod problems;
mod resume;
mod run;
mod schedule;
mod spec;
mod stage;
mod validate;

pub use lock::RunLock;
pub use manifest::{Attempt, AttemptOutcome, Manifest, StageRecord, StageStatus};
pub use plan::{Action, Dataset, ExtractSpec, Need, Plan, Stage, TransferSpec};
pub use resume::latest_unfinished;
pub use run::{default_jobs, run, RunOptions, Selection};
pub use schedule::Observer;
pub use validate::{load, parse_text, LoadOptions};
