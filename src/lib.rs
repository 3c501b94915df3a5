//! etl: the engine behind the `etl` binary. It reads, transforms and writes
//! tables; it never parses argv, prints or draws. See DESIGN.md for the
//! data flow: location → store → format → frame → ops → sink.

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
pub mod sink;
pub mod source;
pub mod store;
pub mod transfer;
pub mod vars;

pub use error::{Error, ErrorKind, Result};

/// Process-wide polars settings etl relies on; call once at startup,
/// before any thread reads tables.
pub fn init() {
    set_reader(Reader::Streaming);
}

/// How polars reads local files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Async prefetching reads: resident memory stays bounded. Measured here
    /// (scripts/bench_*.py) it is also faster for Parquet, and about as fast
    /// for CSV in streaming conversions.
    Streaming,
    /// Memory maps: mapped pages count as resident memory, but a query that
    /// holds the whole table anyway (windows, joins, sorts) parses CSV much
    /// faster this way (7.8 s against 13.0 s on the 10M-row healthcare clean).
    Mapped,
}

/// Chooses the reader for the queries that follow. A user's own
/// POLARS_FORCE_ASYNC setting wins.
pub fn set_reader(reader: Reader) {
    const VAR: &str = "POLARS_FORCE_ASYNC";
    static USER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *USER.get_or_init(|| std::env::var_os(VAR).is_some()) {
        return;
    }
    // SAFETY (edition 2021): set_var is safe; polars re-reads the flag below.
    std::env::set_var(
        VAR,
        if reader == Reader::Streaming {
            "1"
        } else {
            "0"
        },
    );
    polars_config::config().reload_env_var(VAR);
}
pub use frame::Frame;
pub use location::Location;
