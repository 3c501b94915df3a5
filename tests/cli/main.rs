//! CLI integration tests: they run the real `etl` binary against the
//! committed fixtures. One file per subcommand.

mod clean;
mod common;
mod docs;
mod head;
mod healthcare;
mod ingest;
mod ingest_errors;
mod inspect;
mod persist;
mod pipes;
mod remote;
mod transfer;
mod transfer_faults;
mod transform;
