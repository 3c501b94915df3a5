//! CLI integration tests: they run the real `etl` binary against the
//! committed fixtures. One file per subcommand.

mod clean;
mod common;
mod dbs;
mod docs;
mod head;
mod healthcare;
mod ingest;
mod ingest_db;
mod ingest_errors;
mod input_edges;
mod inspect;
mod interop;
mod layers;
mod persist;
mod persist_db;
mod pipeline_e2e;
mod pipeline_read;
mod pipes;
mod remote;
mod run_pipeline;
mod transfer;
mod transfer_faults;
mod transform;
