//! A JSON array of rows, rewritten as JSON lines in one streaming pass, so
//! polars reads it with its streaming NDJSON scan: memory stays bounded
//! whatever the file's size (polars' whole-document JSON reader holds the
//! file and its parsed values at once, several times the file's size).
//! The pass also enforces the nesting limit ([`super::json_depth`]) and a
//! limit on one row's size, the only thing left that could grow.

use std::io::{Read, Write};

/// The largest element (one row) of a JSON array etl reads, in bytes.
pub const MAX_ROW_BYTES: u64 = 64 << 20;

#[derive(Debug)]
pub enum Problem {
    /// The first character is not `[`.
    NotArray,
    /// The input ends inside the array.
    Unclosed {
        line: u64,
    },
    /// Something other than whitespace follows the closing `]`.
    Trailing {
        line: u64,
    },
    /// A `]` or `}` that closes nothing, or a closer of the wrong kind.
    Unbalanced {
        line: u64,
    },
    /// A missing or doubled `,` between elements.
    Malformed {
        line: u64,
    },
    TooDeep {
        line: u64,
        limit: usize,
    },
    RowTooBig {
        line: u64,
    },
    Io(std::io::Error),
}

impl Problem {
    pub fn describe(&self) -> String {
        match self {
            Problem::NotArray => "not a JSON array (the first character is not '[')".into(),
            Problem::Unclosed { line } => {
                format!("line {line}: the JSON array is never closed (a truncated file?)")
            }
            Problem::Trailing { line } => {
                format!("line {line}: text after the closing ']' of the JSON array")
            }
            Problem::Unbalanced { line } => {
                format!("line {line}: a ']' or '}}' that closes nothing (malformed JSON)")
            }
            Problem::Malformed { line } => {
                format!("line {line}: expected one ',' between the elements of the JSON array")
            }
            Problem::TooDeep { line, limit } => format!(
                "line {line}: JSON nested more than {limit} levels deep \
                 (arrays and objects; etl reads at most {limit})"
            ),
            Problem::RowTooBig { line } => format!(
                "line {line}: one element of the JSON array is over {} MiB \
                 (etl reads rows of at most {} MiB; write the data as JSON lines or Parquet)",
                MAX_ROW_BYTES >> 20,
                MAX_ROW_BYTES >> 20
            ),
            Problem::Io(e) => crate::error::io_message(e),
        }
    }
}

impl From<std::io::Error> for Problem {
    fn from(e: std::io::Error) -> Problem {
        Problem::Io(e)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the opening `[`.
    Start,
    /// Inside the array, between elements.
    Between,
    /// Inside an element.
    Element,
    /// After the closing `]`.
    End,
}

/// Writes each element of the array read from `r` as one line to `w`;
/// stops after `max_rows` elements when given. Returns the elements written.
/// `depth_limit` counts the outer array as one level.
pub fn to_lines(
    mut r: impl Read,
    w: &mut impl Write,
    depth_limit: usize,
    max_rows: Option<u64>,
) -> Result<u64, Problem> {
    let mut buf = vec![0u8; 1 << 20];
    let mut at = At::Start;
    let mut line = 1u64;
    // Open brackets, the outer array included.
    let mut stack: Vec<u8> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    // Between elements: one just ended, so a ',' or the closing ']' is next.
    let mut need_comma = false;
    let (mut rows, mut row_bytes, mut first_chunk) = (0u64, 0u64, true);
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let mut chunk = &buf[..n];
        if std::mem::take(&mut first_chunk) {
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
        }
        // Start of the element bytes not yet written.
        let mut from = 0usize;
        let mut i = 0usize;
        while i < chunk.len() {
            let b = chunk[i];
            if at == At::Element && in_string {
                i += 1;
                if escaped {
                    escaped = false;
                    line += u64::from(b == b'\n');
                    continue;
                }
                match b {
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    b'\n' => line += 1,
                    // Fast path through string contents.
                    _ => match memchr::memchr3(b'"', b'\\', b'\n', &chunk[i..]) {
                        None => i = chunk.len(),
                        Some(k) => i += k,
                    },
                }
                continue;
            }
            if b == b'\n' {
                line += 1;
            }
            match at {
                At::Start | At::End => {
                    if !b.is_ascii_whitespace() {
                        if at == At::End {
                            return Err(Problem::Trailing { line });
                        }
                        if b != b'[' {
                            return Err(Problem::NotArray);
                        }
                        stack.push(b'[');
                        at = At::Between;
                    }
                    i += 1;
                }
                At::Between => {
                    i += 1;
                    match b {
                        b',' if need_comma => need_comma = false,
                        b']' if need_comma || rows == 0 => {
                            stack.pop();
                            at = At::End;
                        }
                        _ if b.is_ascii_whitespace() => {}
                        b',' | b']' => return Err(Problem::Malformed { line }),
                        _ if need_comma => return Err(Problem::Malformed { line }),
                        _ => {
                            if max_rows.is_some_and(|m| rows >= m) {
                                return Ok(rows);
                            }
                            at = At::Element;
                            from = i - 1;
                            row_bytes = 0;
                            i -= 1;
                        }
                    }
                }
                At::Element => {
                    let ends = match b {
                        b'"' => {
                            in_string = true;
                            false
                        }
                        b'[' | b'{' => {
                            stack.push(b);
                            if stack.len() > depth_limit {
                                return Err(Problem::TooDeep {
                                    line,
                                    limit: depth_limit,
                                });
                            }
                            false
                        }
                        b']' | b'}' => {
                            let open = if b == b']' { b'[' } else { b'{' };
                            if stack.len() == 1 {
                                // The outer array closes after a scalar element.
                                if b != b']' {
                                    return Err(Problem::Unbalanced { line });
                                }
                                w.write_all(&chunk[from..i])?;
                                w.write_all(b"\n")?;
                                rows += 1;
                                stack.pop();
                                at = At::End;
                                i += 1;
                                continue;
                            }
                            if stack.pop() != Some(open) {
                                return Err(Problem::Unbalanced { line });
                            }
                            stack.len() == 1
                        }
                        b',' if stack.len() == 1 => {
                            // The end of a scalar element.
                            w.write_all(&chunk[from..i])?;
                            w.write_all(b"\n")?;
                            rows += 1;
                            at = At::Between;
                            need_comma = false;
                            i += 1;
                            continue;
                        }
                        b'\n' | b'\r' => {
                            // A line break between tokens: one line per row.
                            w.write_all(&chunk[from..i])?;
                            w.write_all(b" ")?;
                            from = i + 1;
                            false
                        }
                        _ => false,
                    };
                    i += 1;
                    if ends {
                        w.write_all(&chunk[from..i])?;
                        w.write_all(b"\n")?;
                        rows += 1;
                        at = At::Between;
                        need_comma = true;
                    }
                }
            }
        }
        if at == At::Element {
            w.write_all(&chunk[from..])?;
            row_bytes += (chunk.len() - from) as u64;
            if row_bytes > MAX_ROW_BYTES {
                return Err(Problem::RowTooBig { line });
            }
        }
    }
    match at {
        At::Start => Err(Problem::NotArray),
        At::End => Ok(rows),
        _ => Err(Problem::Unclosed { line }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Result<String, String> {
        let mut out = Vec::new();
        to_lines(text.as_bytes(), &mut out, 64, None)
            .map(|_| String::from_utf8(out).unwrap())
            .map_err(|p| p.describe())
    }

    #[test]
    fn one_line_per_element_whatever_the_layout() {
        assert_eq!(
            lines("\u{feff} [\n {\"a\": 1,\n  \"b\": [1, 2]},\r\n{\"a\":\"x]\\\"},\"}\n]\n")
                .unwrap(),
            "{\"a\": 1,   \"b\": [1, 2]}\n{\"a\":\"x]\\\"},\"}\n"
        );
        assert_eq!(lines("[]").unwrap(), "");
        assert_eq!(lines("[1, 2 ,3]").unwrap(), "1\n2 \n3\n");
    }

    #[test]
    fn broken_arrays_are_named() {
        assert!(lines("{\"a\":1}").unwrap_err().contains("not a JSON array"));
        assert!(lines("").unwrap_err().contains("not a JSON array"));
        assert!(lines("[{\"a\":1},\n{\"a\"")
            .unwrap_err()
            .contains("line 2: the JSON array is never closed"));
        assert!(lines("[{\"a\":1}] x").unwrap_err().contains("text after"));
        assert!(lines("[{\"a\":1]]").unwrap_err().contains("closes nothing"));
        for bad in ["[1,,2]", "[{}{}]", "[1,]", "[,1]"] {
            assert!(
                lines(bad).unwrap_err().contains("expected one ','"),
                "{bad}"
            );
        }
        let deep = format!("[{}1{}]", "[".repeat(80), "]".repeat(80));
        assert!(lines(&deep).unwrap_err().contains("more than 64 levels"));
    }

    #[test]
    fn stops_after_the_rows_asked_for() {
        let mut out = Vec::new();
        let n = to_lines(
            &b"[{\"a\":1},{\"a\":2},{\"a\":3}"[..],
            &mut out,
            64,
            Some(2),
        )
        .unwrap();
        assert_eq!((n, out.as_slice()), (2, &b"{\"a\":1}\n{\"a\":2}\n"[..]));
    }
}
