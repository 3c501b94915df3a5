//! Writing tables: files (any format, atomically), standard output (Arrow
//! IPC stream or any format), folders of part files.

pub mod file;
mod partition_files;
pub mod persist;
pub mod warehouse;
pub mod writers;

pub use file::{write, Destination, WriteRequest, WriteSummary};
