//! Writing tables: files (any format, atomically), standard output (Arrow
//! IPC stream or any format), folders of part files; table stores through
//! [`persist`], with the services [`influx`] and [`dynamodb`] beside them.

mod backoff;
pub mod dynamodb;
pub mod file;
pub mod influx;
mod partition_files;
pub mod persist;
pub mod warehouse;
pub mod writers;

pub use file::{write, Destination, WriteRequest, WriteSummary};
