//! The problems found in a pipeline file, collected with their lines and
//! reported all at once.

use crate::error::{Error, Result};

pub(super) struct Problems {
    pub file: String,
    pub list: Vec<(usize, String)>,
}

impl Problems {
    pub fn add(&mut self, line: usize, message: impl Into<String>) {
        self.list.push((line, message.into()));
    }

    pub fn into_result(mut self) -> Result<()> {
        if self.list.is_empty() {
            return Ok(());
        }
        self.list.sort_by_key(|(line, _)| *line);
        let lines: Vec<String> = self
            .list
            .iter()
            .map(|(line, m)| {
                if *line > 0 {
                    format!("{}:{line}: {m}", self.file)
                } else {
                    format!("{}: {m}", self.file)
                }
            })
            .collect();
        let count = lines.len();
        Err(Error::usage(format!(
            "the pipeline file has {count} problem{}:\n  {}",
            if count == 1 { "" } else { "s" },
            lines.join("\n  ")
        )))
    }
}

/// A parser's multi-line message as one line.
pub(super) fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.starts_with("TOML parse error"))
        .collect::<Vec<_>>()
        .join(" ")
}
