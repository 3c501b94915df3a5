//! One error type for the engine. Every error carries a kind that decides the
//! process exit code (see DESIGN.md), a one-line human message, and the
//! underlying error it came from, if any. Code decides by kind (or by a
//! typed source), never by the text of a message.

use std::fmt::Display;

use polars::prelude::PolarsError;

/// What failed, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The data failed: validation, schema mismatch, parse errors. Exit 1.
    Data,
    /// Usage or configuration: bad flag, bad pipeline file, unknown format. Exit 2.
    Usage,
    /// I/O or remote: file, database or store unreachable or denied. Exit 3.
    Io,
    /// Another run holds the pipeline's lock. Exit 4.
    Locked,
    /// The downstream reader closed the pipe: not a failure. Exit 0.
    BrokenPipe,
    /// Interrupted by a signal. Exit 130.
    Interrupted,
}

impl ErrorKind {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Data => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Io => 3,
            ErrorKind::Locked => 4,
            ErrorKind::BrokenPipe => 0,
            ErrorKind::Interrupted => 130,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// What caused it (an I/O, polars, database or store error), for
    /// callers that walk the chain; the message already says it for people.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `cause` as this error's source.
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(cause));
        self
    }

    /// The first error of type `E` in the chain of sources, if any.
    pub fn find_source<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> =
            self.source.as_deref().map(|s| s as _);
        while let Some(e) = cur {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            cur = e.source();
        }
        None
    }
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }
    /// A feature that is planned but not built: says so plainly.
    pub fn unsupported(what: impl Display) -> Self {
        Self::usage(format!("not supported yet: {what}"))
    }

    /// Prefixes the message with where it happened, e.g. the file name.
    pub fn context(self, place: impl Display) -> Self {
        Error {
            message: format!("{place}: {}", self.message),
            ..self
        }
    }
}

/// Adds `.context(place)` to any result whose error converts into [`Error`].
pub trait ResultExt<T> {
    fn context(self, place: impl Display) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, place: impl Display) -> Result<T> {
        self.map_err(|e| e.into().context(place))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::new(ErrorKind::BrokenPipe, "broken pipe").with_source(e);
        }
        Error::io(io_message(&e)).with_source(e)
    }
}

/// `No such file or directory` rather than `No such file or directory (os error 2)`.
pub fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

impl From<PolarsError> for Error {
    fn from(e: PolarsError) -> Self {
        let kind = match &e {
            PolarsError::IO { error, .. } if error.kind() == std::io::ErrorKind::BrokenPipe => {
                ErrorKind::BrokenPipe
            }
            PolarsError::IO { .. } => ErrorKind::Io,
            PolarsError::ColumnNotFound(_)
            | PolarsError::SQLSyntax(_)
            | PolarsError::SQLInterface(_) => ErrorKind::Usage,
            _ => ErrorKind::Data,
        };
        Error::new(kind, polars_message(&e)).with_source(e)
    }
}

/// polars messages carry a kind prefix, hints and a context stack over many
/// lines; users get the first meaningful line, with the context appended.
pub fn polars_message(e: &PolarsError) -> String {
    let (inner, context) = unwrap_context(e);
    let raw = match inner {
        PolarsError::IO { error, msg } => match msg {
            Some(msg) => msg.to_string(),
            None => io_message(error),
        },
        PolarsError::ColumnNotFound(m) => format!("column not found: {m}"),
        PolarsError::SQLSyntax(m) => format!("SQL syntax error: {m}"),
        PolarsError::SQLInterface(m) => format!("SQL error: {m}"),
        other => strip_kind_prefix(&other.to_string()).to_string(),
    };
    let mut first = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Hint") && !l.starts_with("You might"))
        .take_while(|l| !l.starts_with("This error occurred with the following context stack"))
        .collect::<Vec<_>>()
        .join(" ");
    if first.is_empty() {
        first = raw.trim().to_string();
    }
    if context.is_empty() {
        first
    } else {
        format!("{}: {first}", context.join(": "))
    }
}

fn unwrap_context(e: &PolarsError) -> (&PolarsError, Vec<String>) {
    let mut ctx = Vec::new();
    let mut cur = e;
    while let PolarsError::Context { error, msg } = cur {
        ctx.push(msg.to_string());
        cur = error;
    }
    (cur, ctx)
}

fn strip_kind_prefix(text: &str) -> &str {
    // PolarsError's Display is already the bare message for most kinds; keep it defensive.
    text.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_design() {
        assert_eq!(Error::data("x").kind.exit_code(), 1);
        assert_eq!(Error::usage("x").kind.exit_code(), 2);
        assert_eq!(Error::io("x").kind.exit_code(), 3);
        assert_eq!(
            Error::unsupported("orc decimals").message,
            "not supported yet: orc decimals"
        );
    }

    #[test]
    fn io_errors_lose_the_os_error_suffix() {
        let e: Error = std::io::Error::from_raw_os_error(2).into();
        assert_eq!(e.message, "No such file or directory");
        assert_eq!(e.kind, ErrorKind::Io);
    }

    #[test]
    fn context_prefixes_the_place() {
        let e = Error::data("bad value").context("people.csv");
        assert_eq!(e.to_string(), "people.csv: bad value");
    }

    #[test]
    fn the_cause_is_kept_through_context() {
        let e: Error = std::io::Error::from_raw_os_error(2).into();
        let e = e.context("x.csv");
        let io = e
            .find_source::<std::io::Error>()
            .expect("the io error is the source");
        assert_eq!(io.raw_os_error(), Some(2));
        assert!(std::error::Error::source(&e).is_some());
    }
}
