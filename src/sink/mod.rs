//! Writing tables: files (any format, atomically), standard output (Arrow
//! IPC stream or any format), folders of part files.

pub mod file;
pub mod persist;
pub mod warehouse;
pub mod writers;

pub use file::{write, Destination, WriteRequest, WriteSummary};
