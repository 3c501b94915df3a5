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
pub mod progress;
pub mod sink;
pub mod source;

pub use error::{Error, ErrorKind, Result};
pub use frame::Frame;
pub use location::Location;
