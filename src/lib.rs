//! etl: the engine behind the `etl` binary. It reads, transforms and writes
//! tables; it never parses argv, prints or draws. Data flows one way; a
//! module only imports the ones listed before it (tests/cli/layers.rs keeps
//! it so):
//!
//! error, names, vars, progress, runtime, cleanup, location, dtype
//!   → store (bytes at a location) → format (bytes ⇄ frames) → frame
//!   → model (fit and score) → transfer (store → store, and spooling of
//!   remote tables) → db
//!   → source (locations → frames) → ops (pure frame → frame)
//!   → sink (files, warehouse, table stores) → stream (kafka, mqtt, nats:
//!   checkpointed batches in, messages out) → step (inputs → ops → rejects
//!   → output) → spark (stages on a Spark cluster through Spark Connect)
//!   → inspect, report (HTML pages) → pipeline.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod cleanup;
pub mod db;
pub mod dtype;
pub mod error;
pub mod format;
pub mod frame;
pub mod inspect;
pub mod location;
pub mod model;
pub mod names;
pub mod ops;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod runtime;
pub mod sink;
pub mod source;
pub mod spark;
pub mod step;
pub mod store;
pub mod stream;
pub mod transfer;
pub mod vars;

pub use error::{Error, ErrorKind, Result};
pub use frame::Frame;
pub use location::Location;
