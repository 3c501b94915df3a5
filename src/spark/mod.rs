//! The Spark engine: pipeline stages run on a Spark cluster through Spark
//! Connect (`run-pipeline --engine spark --remote sc://HOST:15002`).
//!
//! Spark reads a stage's inputs, runs its ops as Spark SQL over temporary
//! views (each op's translation sits beside its local implementation, see
//! [`crate::ops::spark`]) and writes the stage's dataset as Parquet itself.
//! Results etl needs locally (persist, extract, report) come back as Arrow
//! batches.
//!
//! The client is generated from Spark 4.3's protocol definitions (the
//! `spark/connect/*.proto` files as shipped in pyspark 4.3.0) with prost
//! and tonic: `scripts/spark-proto/` regenerates `proto/spark.connect.rs`.

mod arrow;
mod client;
mod engine;
mod errors;
pub mod remote;
pub mod send;
pub mod source;

#[allow(dead_code, clippy::all, clippy::pedantic)]
#[path = "proto/spark.connect.rs"]
mod proto;

pub use client::Mark;
pub use engine::{Engine, Ran};
pub use remote::Remote;

/// The Spark Connect protocol version the client speaks.
pub const PROTOCOL: &str = "Spark Connect 4.3 (pyspark 4.3.0's spark/connect/*.proto)";
