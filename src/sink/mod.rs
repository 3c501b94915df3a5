//! Writing tables: files (any format, atomically), standard output (Arrow
//! IPC stream or any format), folders of part files.

mod columns;
pub mod file;
pub mod mysql;
pub mod persist;
pub mod pgcopy;
pub mod postgres;
pub mod sqlite;
pub mod warehouse;
pub mod writers;

pub use file::{write, Destination, WriteRequest, WriteSummary};
