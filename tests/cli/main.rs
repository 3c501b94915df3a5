//! CLI integration tests: they run the real `etl` binary against the
//! committed fixtures. One file per subcommand.

mod clean;
mod common;
mod dbs;
mod docs;
mod durability;
mod head;
mod healthcare;
mod incremental_keys;
mod ingest;
mod ingest_db;
mod ingest_errors;
mod input_edges;
mod inspect;
mod interop;
mod interrupts;
mod layers;
mod model;
mod persist;
mod persist_db;
mod pipeline_e2e;
mod pipeline_read;
mod pipeline_runs;
mod pipes;
mod remote;
mod report;
mod run_pipeline;
mod secrets;
mod ssh_host_keys;
mod stream_kafka;
mod stream_local;
mod stream_mqtt_nats;
mod transfer;
mod transfer_faults;
mod transform;
mod warehouse_partitions;
