//! A nesting limit for JSON, checked by a byte scan before polars parses:
//! polars' memory grows steeply with depth (200 levels of a 1 KB file took
//! 200 MB, 1,000 levels over 2.4 GB) and recurses on the stack (100,000
//! levels abort the process, skipping every cleanup).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Levels of arrays and objects allowed, the outer array of rows included.
pub const MAX_JSON_DEPTH: usize = 64;

/// Fails with the file, line and depth when `path` nests arrays and objects
/// deeper than `limit`. Brackets inside strings do not count.
pub fn check_depth(path: &Path, shown: &str, limit: usize) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::from(e).context(shown))?;
    check_reader(file, limit).map_err(|found| match found {
        Found::TooDeep { line } => Error::data(format!(
            "{shown}: line {line}: JSON nested more than {limit} levels deep \
             (arrays and objects; etl reads at most {limit})"
        )),
        Found::Io(e) => Error::from(e).context(shown),
    })
}

#[derive(Debug)]
pub enum Found {
    TooDeep { line: u64 },
    Io(std::io::Error),
}

/// The scan itself, over any reader (also used by the fuzz target).
pub fn check_reader(mut r: impl Read, limit: usize) -> std::result::Result<(), Found> {
    let mut buf = vec![0u8; 1 << 16];
    let (mut depth, mut line) = (0usize, 1u64);
    let (mut in_string, mut escaped) = (false, false);
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Found::Io(e)),
        };
        for &b in &buf[..n] {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                if b == b'\n' {
                    line += 1;
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return Err(Found::TooDeep { line });
                    }
                }
                // Unbalanced closers are polars' to report.
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'\n' => line += 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, limit: usize) -> bool {
        check_reader(text.as_bytes(), limit).is_ok()
    }

    #[test]
    fn counts_arrays_and_objects_outside_strings() {
        assert!(depth_ok(r#"[{"a":[1,[2]]}]"#, 4));
        assert!(!depth_ok(r#"[{"a":[1,[2]]}]"#, 3));
        // Brackets in strings, also after escaped quotes, do not count.
        assert!(depth_ok(r#"[{"a":"[[[[\"[[[{{{"}]"#, 2));
        assert!(depth_ok(r#"[{"a":"\\"},{"b":"x"}]"#, 2));
        // Depth is per value, not cumulative across siblings or lines.
        assert!(depth_ok("{\"a\":[[1]]}\n{\"a\":[[2]]}\n", 3));
    }

    #[test]
    fn names_the_line_where_the_limit_is_passed() {
        let text = format!("[\n{{\"a\":\n{}1{}}}]", "[".repeat(100), "]".repeat(100));
        match check_reader(text.as_bytes(), MAX_JSON_DEPTH) {
            Err(Found::TooDeep { line }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }
}
