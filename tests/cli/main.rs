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
mod inspect;
mod interop;
mod layers;
mod model;
mod persist;
mod persist_db;
mod pipeline_e2e;
mod pipeline_read;
mod pipes;
mod remote;
mod report;
mod run_pipeline;
mod stream_kafka;
mod stream_local;
mod stream_mqtt_nats;
mod transfer;
mod transfer_faults;
mod transform;
