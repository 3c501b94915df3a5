//! `run-pipeline`: a whole batch pipeline from one TOML file. The file is
//! parsed and validated as a whole before any I/O ([`load`] gives a
//! [`Plan`] or every problem at once); [`run`] executes the plan stage by
//! stage under a lock, reconciles row counts and writes a manifest.
//!
//! spec (TOML) ─► validate (all problems, with lines) ─► Plan ─► run ─► manifest

mod expand;
mod lock;
pub mod manifest;
mod on_spark;
mod plan;
mod problems;
mod run;
mod spec;
mod stage;
mod validate;

pub use lock::RunLock;
pub use manifest::{Manifest, StageRecord, StageStatus};
pub use plan::{Action, Dataset, ExtractSpec, Plan, Stage, TransferSpec};
pub use run::{run, Observer, Selection};
pub use validate::{load, parse_text, LoadOptions};
