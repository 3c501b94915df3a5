//! What the engines' connections share: the URL as it may be shown
//! (password hidden), the clients' standard environment variables, and
//! server errors on one line.

use crate::error::Error;
use crate::location::redact;

/// The location as it may be shown: password replaced by `***`.
pub fn shown(url: &url::Url) -> String {
    redact(url.as_str())
}

/// A client's standard environment variable, when set and not empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The text on one line, with a part repeated by nested errors once only.
pub fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut parts: Vec<&str> = Vec::new();
    for p in flat.split(": ") {
        if parts.last() != Some(&p) {
            parts.push(p);
        }
    }
    parts.join(": ")
}

/// The database-level part of an error message, with the location.
pub fn io_error(url: &url::Url, what: impl std::fmt::Display) -> Error {
    Error::io(format!("{}: {what}", shown(url)))
}
