//! Store failures: an [`Error`] plus whether trying again may help
//! (timeouts, 5xx, throttling, dropped connections).

use crate::error::Error;

#[derive(Debug)]
pub struct Fail {
    pub error: Error,
    pub transient: bool,
}

pub type FailResult<T> = std::result::Result<T, Fail>;

impl Fail {
    pub fn permanent(error: Error) -> Fail {
        Fail {
            error,
            transient: false,
        }
    }
    pub fn transient(error: Error) -> Fail {
        Fail {
            error,
            transient: true,
        }
    }
    /// A local I/O error: permanent (disk full, permission denied, ...).
    pub fn io(e: std::io::Error) -> Fail {
        Fail::permanent(Error::from(e))
    }
    pub fn into_error(self) -> Error {
        self.error
    }
    pub fn context(self, place: impl std::fmt::Display) -> Fail {
        Fail {
            error: self.error.context(place),
            transient: self.transient,
        }
    }
}

impl From<Fail> for Error {
    fn from(f: Fail) -> Error {
        f.error
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::permanent(e)
    }
}
