//! Avro through arrow-rs's `arrow-avro` (the complete Avro 1.12 implementation
//! of the Apache Arrow project), read and written batch by batch and converted
//! to and from polars at the edge. Every Avro type and codec reads; see
//! `write.rs` for what each polars type is written as.

mod blocks;
mod read;
mod write;

pub use read::read;
pub use write::AvroWriter;
