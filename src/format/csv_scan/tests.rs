//! The scanner against hand-made inputs: quoting, escapes, comments,
//! ragged rows, encodings and chunk boundaries.

use super::*;

fn dialect() -> Dialect {
    Dialect {
        delimiter: b',',
        quote: Some(b'"'),
        escape: None,
        comment: None,
    }
}

fn scan(text: &[u8], d: Dialect) -> Result<u64, ScanProblem> {
    let mut s = Scanner::new(d, false);
    let mut skip = |_: u64, _: &[Vec<u8>]| true;
    // Feed in small chunks to exercise chunk boundaries.
    for chunk in text.chunks(3) {
        s.feed(chunk, None, &mut skip)?;
    }
    s.finish(&mut skip)
}

#[test]
fn counts_records_with_quoted_newlines_and_crlf() {
    let text = b"a,b\r\n\"x\ny\",\"q\"\"q\"\r\n3,4";
    assert_eq!(scan(text, dialect()), Ok(3));
}

#[test]
fn ragged_rows_name_their_line() {
    let text = b"a,b,c\n1,2,3\n\"multi\nline\",2,3\n1,2\n";
    assert_eq!(
        scan(text, dialect()),
        Err(ScanProblem::Ragged {
            line: 5,
            found: 2,
            expected: 3
        })
    );
}

#[test]
fn fast_path_on_whole_lines_agrees_with_the_state_machine() {
    let text = b"a,b,c\r\n1,2,3\r\n\"x,\ny\",2,3\n\n4,5,6\n7,8\n";
    let mut s = Scanner::new(dialect(), false);
    let mut skip = |_: u64, _: &[Vec<u8>]| true;
    let r = s.feed(text, None, &mut skip);
    assert_eq!(
        r,
        Err(ScanProblem::Ragged {
            line: 7,
            found: 2,
            expected: 3
        })
    );
    let d = Dialect {
        comment: Some(b'#'),
        ..dialect()
    };
    let mut s = Scanner::new(d, false);
    s.feed(b"#c,c,c,c\na,b\n1,2\n", None, &mut skip).unwrap();
    assert_eq!(s.finish(&mut skip), Ok(2));
}

/// Random tables written as RFC 4180 CSV scan back to the same fields and
/// record count, in collect mode and in counting mode (whole buffer, which
/// takes the fast path, and odd chunk sizes, which mostly do not).
#[test]
fn random_tables_round_trip() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let alphabet = ["a", "b", ",", "\"", "\n", " ", "é", "\r\n", "x"];
    for _ in 0..200 {
        let width = 1 + next(5) as usize;
        let rows = 1 + next(40) as usize;
        let mut table: Vec<Vec<String>> = Vec::new();
        let mut text = String::new();
        for _ in 0..rows {
            let row: Vec<String> = (0..width)
                .map(|_| {
                    (0..next(6))
                        .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                        .collect()
                })
                .collect();
            let line: Vec<String> = row
                .iter()
                .map(|f| {
                    if f.contains([',', '"', '\n', '\r']) || (width == 1 && f.is_empty()) {
                        format!("\"{}\"", f.replace('"', "\"\""))
                    } else {
                        f.clone()
                    }
                })
                .collect();
            text.push_str(&line.join(","));
            text.push('\n');
            table.push(row);
        }
        let mut seen: Vec<Vec<String>> = Vec::new();
        let mut s = Scanner::new(dialect(), true);
        let mut record = |_: u64, f: &[Vec<u8>]| {
            seen.push(
                f.iter()
                    .map(|x| String::from_utf8(x.clone()).unwrap())
                    .collect(),
            );
            true
        };
        s.feed(text.as_bytes(), None, &mut record).unwrap();
        s.finish(&mut record).unwrap();
        let normalise = |t: &Vec<Vec<String>>| -> Vec<Vec<String>> {
            t.iter()
                .map(|r| r.iter().map(|f| f.replace('\r', "")).collect())
                .collect()
        };
        assert_eq!(normalise(&seen), normalise(&table), "{text:?}");
        assert_eq!(
            scan(text.as_bytes(), dialect()),
            Ok(rows as u64),
            "{text:?}"
        );
        let mut whole = Scanner::new(dialect(), false);
        let mut skip = |_: u64, _: &[Vec<u8>]| true;
        whole.feed(text.as_bytes(), None, &mut skip).unwrap();
        assert_eq!(whole.finish(&mut skip), Ok(rows as u64), "{text:?}");
    }
}

#[test]
fn block_counting_matches_a_plain_count() {
    let line: Vec<u8> = (0..200u32)
        .map(|i| {
            if i % 7 == 0 {
                b','
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let plain = line.iter().filter(|b| **b == b',').count();
    assert_eq!(count_unquoted(&line, b',', Some(b'"')), Some(plain));
    let mut quoted = line.clone();
    quoted[130] = b'"';
    assert_eq!(count_unquoted(&quoted, b',', Some(b'"')), None);
    assert_eq!(count_unquoted(&quoted, b',', None), Some(plain));
}

#[test]
fn empty_first_field_on_a_quoted_line() {
    let text = b"a,b,c\n,\"x, y\",3\n1,2,3\n";
    assert_eq!(scan(text, dialect()), Ok(3));
    let mut s = Scanner::new(dialect(), false);
    let mut skip = |_: u64, _: &[Vec<u8>]| true;
    s.feed(text, None, &mut skip).unwrap();
    assert_eq!(s.finish(&mut skip), Ok(3));
}

#[test]
fn unterminated_quote_and_nul_are_found() {
    assert_eq!(
        scan(b"a,b\n\"open,2\n", dialect()),
        Err(ScanProblem::UnterminatedQuote { line: 2 })
    );
    assert_eq!(
        scan(b"a,b\n1,\0\n", dialect()),
        Err(ScanProblem::NulByte { line: 2 })
    );
}

#[test]
fn bad_utf8_names_line_and_field() {
    let text = b"a,b\n1,ok\n2,caf\xe9\n";
    assert_eq!(
        scan(text, dialect()),
        Err(ScanProblem::BadUtf8 { line: 3, field: 1 })
    );
    // A multi-byte character split across chunks is fine.
    assert_eq!(scan("a\nZo\u{eb}\n".as_bytes(), dialect()), Ok(2));
}

#[test]
fn comments_are_skipped() {
    let d = Dialect {
        comment: Some(b'#'),
        ..dialect()
    };
    assert_eq!(scan(b"# note\na,b\n# more\n1,2\n", d), Ok(2));
}

#[test]
fn escapes_are_rewritten_as_doubled_quotes() {
    let d = Dialect {
        escape: Some(b'\\'),
        ..dialect()
    };
    let mut s = Scanner::new(d, true);
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut record = |_: u64, f: &[Vec<u8>]| {
        seen.push(
            f.iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect::<Vec<_>>(),
        );
        true
    };
    s.feed(b"a,b\n\"say \\\"hi\\\"\",2\n", Some(&mut out), &mut record)
        .unwrap();
    s.finish(&mut record).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "a,b\n\"say \"\"hi\"\"\",2\n"
    );
    assert_eq!(seen[1], vec!["say \"hi\"".to_string(), "2".to_string()]);
}

#[test]
fn blank_lines_are_counted_and_left_out_of_the_copy() {
    let text = b"a,b\n\n1,2\r\n\r\n\"x\n\ny\",3\n\n\n";
    for size in [1, 2, 5, text.len()] {
        let mut s = Scanner::new(dialect(), false);
        let mut out = Vec::new();
        let mut skip = |_: u64, _: &[Vec<u8>]| true;
        for chunk in text.chunks(size) {
            s.feed(chunk, Some(&mut out), &mut skip).unwrap();
        }
        assert_eq!(s.finish(&mut skip), Ok(3), "chunks of {size}");
        assert_eq!(s.blank_lines(), 4, "chunks of {size}");
        // The blank line inside the quoted field is data and stays.
        assert_eq!(out, b"a,b\n1,2\r\n\"x\n\ny\",3\n", "chunks of {size}");
    }
}
