//! etl: the engine behind the `etl` binary. It reads, transforms and writes
//! tables; it never parses argv, prints or draws. See DESIGN.md for the
//! data flow: location → store → format → frame → ops → sink.

pub mod dtype;
pub mod error;
pub mod format;
pub mod frame;
pub mod inspect;
pub mod location;
pub mod names;
pub mod ops;
pub mod progress;
pub mod sink;
pub mod source;
pub mod vars;

pub use error::{Error, ErrorKind, Result};

/// Process-wide polars settings etl relies on; call once at startup,
/// before any thread reads tables.
pub fn init() {
    // Read local files through polars' async prefetching reader instead of
    // memory maps: mapped pages of a multi-GB CSV count as resident memory,
    // and measured here it is also faster for Parquet (see scripts/bench_convert.py).
    if std::env::var_os("POLARS_FORCE_ASYNC").is_none() {
        // SAFETY (edition 2021): called before any other thread starts.
        std::env::set_var("POLARS_FORCE_ASYNC", "1");
    }
}
pub use frame::Frame;
pub use location::Location;
