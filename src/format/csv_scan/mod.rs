//! A quote-aware CSV record scanner. polars pads short rows with nulls and
//! reports parse errors without line numbers; this pass finds ragged rows,
//! unterminated quotes, NUL bytes and invalid UTF-8, and names the line.
//! It can also rewrite backslash-style escapes into doubled quotes, which is
//! the only escaping polars understands.

use std::io::Write;

/// The dialect the scanner needs to know.
#[derive(Debug, Clone)]
pub struct Dialect {
    pub delimiter: u8,
    pub quote: Option<u8>,
    pub escape: Option<u8>,
    pub comment: Option<u8>,
}

/// A problem found in the text, with the 1-based physical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanProblem {
    Ragged {
        line: u64,
        found: usize,
        expected: usize,
    },
    UnterminatedQuote {
        line: u64,
    },
    NulByte {
        line: u64,
    },
    BadUtf8 {
        line: u64,
        field: usize,
    },
}

impl ScanProblem {
    pub fn describe(&self, header: &[String]) -> String {
        let name = |i: usize| {
            header
                .get(i)
                .map(|n| format!(" ('{n}')"))
                .unwrap_or_default()
        };
        match self {
            ScanProblem::Ragged { line, found, expected } => format!(
                "line {line}: {found} fields, expected {expected} like the header (ragged row; check the delimiter and quoting)"
            ),
            ScanProblem::UnterminatedQuote { line } => {
                format!("line {line}: a quoted field is never closed (unterminated quote)")
            }
            ScanProblem::NulByte { line } => format!(
                "line {line}: NUL byte: this is binary data, not CSV text (use --from FORMAT if the name is wrong)"
            ),
            ScanProblem::BadUtf8 { line, field } => format!(
                "line {line}, column {}{}: bytes that are not valid UTF-8 (pass --encoding, e.g. --encoding latin1)",
                field + 1,
                name(*field)
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
    EscapeInQuoted,
    Comment,
}

/// Feeds bytes in chunks; keeps state across chunk boundaries.
pub struct Scanner {
    dialect: Dialect,
    state: State,
    line: u64,
    record_line: u64,
    fields: usize,
    expected: Option<usize>,
    records: u64,
    /// When set, the fields of each record are collected for `on_record`.
    collect: bool,
    field_buf: Vec<u8>,
    record_fields: Vec<Vec<u8>>,
    utf8_carry: Vec<u8>,
    rewrite: bool,
    /// Blank lines seen outside quotes: not records (as in every CSV
    /// reader), so they are left out of the rewritten output.
    blank_lines: u64,
}

pub type RecordFn<'a> = dyn FnMut(u64, &[Vec<u8>]) -> bool + 'a;

impl Scanner {
    /// `rewrite` turns escape sequences into doubled quotes in the output.
    pub fn new(dialect: Dialect, collect: bool) -> Scanner {
        let rewrite = dialect.escape.is_some() && dialect.escape != dialect.quote;
        Scanner {
            dialect,
            state: State::RecordStart,
            line: 1,
            record_line: 1,
            fields: 0,
            expected: None,
            records: 0,
            collect,
            field_buf: Vec::new(),
            record_fields: Vec::new(),
            utf8_carry: Vec::new(),
            rewrite,
            blank_lines: 0,
        }
    }

    /// Whether the output must be rewritten (escapes present in the dialect).
    pub fn rewrites(&self) -> bool {
        self.rewrite
    }

    /// Blank lines seen so far (between records, so never data).
    pub fn blank_lines(&self) -> u64 {
        self.blank_lines
    }

    /// Records seen so far (the header counts as one).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Scans one chunk. Rewritten bytes go to `out` when given; each complete
    /// record goes to `on_record` (with its fields in collect mode); return
    /// false from it to stop.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut out: Option<&mut dyn Write>,
        on_record: &mut RecordFn<'_>,
    ) -> Result<bool, ScanProblem> {
        if let Some(at) = memchr::memchr(0, chunk) {
            let line = self.line + chunk[..at].iter().filter(|b| **b == b'\n').count() as u64;
            return Err(ScanProblem::NulByte { line });
        }
        self.check_utf8(chunk)?;
        let d = self.dialect.clone();
        let quote = d.quote.unwrap_or(0);
        let has_quote = d.quote.is_some();
        let esc = d.escape.unwrap_or(0);
        let mut emitted = 0usize; // start of bytes not yet written to `out`
        let fast = !self.collect;
        let mut i = 0usize;
        while i < chunk.len() {
            if fast && self.state == State::RecordStart {
                // Fast path: a whole line without quote characters is one
                // record whose fields are its delimiters plus one.
                if let Some(len) = memchr::memchr(b'\n', &chunk[i..]) {
                    let line = &chunk[i..i + len];
                    let starts_plain = line
                        .first()
                        .is_some_and(|b| Some(*b) != d.comment && *b != b'\r');
                    if starts_plain {
                        if let Some(delimiters) =
                            count_unquoted(line, d.delimiter, has_quote.then_some(quote))
                        {
                            self.record_line = self.line;
                            self.fields = delimiters + 1;
                            self.line += 1;
                            if !self.end_record(on_record)? {
                                return stop(out, &chunk[emitted..i + len + 1]);
                            }
                            i += len + 1;
                            continue;
                        }
                    }
                }
            }
            let (at, b) = (i, chunk[i]);
            i += 1;
            match self.state {
                State::RecordStart => {
                    self.record_line = self.line;
                    if b == b'\n' || b == b'\r' {
                        // A blank line (or a stray CR before a record): not
                        // written, so polars does not read it as a null row.
                        if let Some(o) = out.as_deref_mut() {
                            o.write_all(&chunk[emitted..at])
                                .map_err(|_| ScanProblem::NulByte { line: 0 })?;
                        }
                        emitted = at + 1;
                        if b == b'\n' {
                            self.blank_lines += 1;
                            self.line += 1;
                        }
                        continue;
                    }
                    if Some(b) == d.comment {
                        self.state = State::Comment;
                        continue;
                    }
                    self.fields = 1;
                    self.state = State::FieldStart;
                    if b == d.delimiter {
                        // An empty first field.
                        self.end_field();
                        self.fields += 1;
                    } else {
                        self.field_start(b, has_quote, quote);
                    }
                }
                State::Comment => {
                    if b == b'\n' {
                        self.line += 1;
                        self.state = State::RecordStart;
                    }
                }
                State::FieldStart | State::Unquoted => {
                    if b == d.delimiter {
                        self.end_field();
                        self.fields += 1;
                        self.state = State::FieldStart;
                    } else if b == b'\n' {
                        self.line += 1;
                        if !self.end_record(on_record)? {
                            return stop(out, &chunk[emitted..i]);
                        }
                    } else if self.state == State::FieldStart {
                        self.field_start(b, has_quote, quote);
                    } else if b != b'\r' {
                        self.push(b);
                    }
                }
                State::Quoted => {
                    if self.rewrite && b == esc {
                        if let Some(o) = out.as_deref_mut() {
                            o.write_all(&chunk[emitted..at])
                                .map_err(|_| ScanProblem::NulByte { line: 0 })?;
                        }
                        emitted = at + 1;
                        self.state = State::EscapeInQuoted;
                    } else if b == quote {
                        self.state = State::QuoteInQuoted;
                    } else {
                        if b == b'\n' {
                            self.line += 1;
                        }
                        self.push(b);
                    }
                }
                State::EscapeInQuoted => {
                    if b == quote {
                        if let Some(o) = out.as_deref_mut() {
                            o.write_all(&[quote])
                                .map_err(|_| ScanProblem::NulByte { line: 0 })?;
                        }
                    }
                    if b == b'\n' {
                        self.line += 1;
                    }
                    self.push(b);
                    self.state = State::Quoted;
                }
                State::QuoteInQuoted => {
                    if b == quote {
                        self.push(b);
                        self.state = State::Quoted;
                    } else if b == d.delimiter {
                        self.end_field();
                        self.fields += 1;
                        self.state = State::FieldStart;
                    } else if b == b'\n' {
                        self.line += 1;
                        if !self.end_record(on_record)? {
                            return stop(out, &chunk[emitted..i]);
                        }
                    } else if b != b'\r' {
                        // Text after a closing quote: keep it, as lenient readers do.
                        self.push(b);
                        self.state = State::Unquoted;
                    }
                }
            }
        }
        if let Some(o) = out {
            o.write_all(&chunk[emitted..])
                .map_err(|_| ScanProblem::NulByte { line: 0 })?;
        }
        Ok(true)
    }

    /// Ends the input: a last record without a newline, or an open quote.
    pub fn finish(&mut self, on_record: &mut RecordFn<'_>) -> Result<u64, ScanProblem> {
        if !self.utf8_carry.is_empty() {
            return Err(ScanProblem::BadUtf8 {
                line: self.line,
                field: self.fields.saturating_sub(1),
            });
        }
        match self.state {
            State::Quoted | State::EscapeInQuoted => {
                return Err(ScanProblem::UnterminatedQuote {
                    line: self.record_line,
                })
            }
            State::RecordStart | State::Comment => {}
            _ => {
                self.end_record(on_record)?;
            }
        }
        Ok(self.records)
    }

    fn field_start(&mut self, b: u8, has_quote: bool, quote: u8) {
        if has_quote && b == quote {
            self.state = State::Quoted;
        } else if b == b'\r' {
            self.state = State::Unquoted;
        } else {
            self.push(b);
            self.state = State::Unquoted;
        }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        if self.collect {
            self.field_buf.push(b);
        }
    }

    fn end_field(&mut self) {
        if self.collect {
            self.record_fields.push(std::mem::take(&mut self.field_buf));
        }
    }

    fn end_record(&mut self, on_record: &mut RecordFn<'_>) -> Result<bool, ScanProblem> {
        self.end_field();
        self.state = State::RecordStart;
        self.records += 1;
        match self.expected {
            None => self.expected = Some(self.fields),
            Some(expected) if expected != self.fields => {
                return Err(ScanProblem::Ragged {
                    line: self.record_line,
                    found: self.fields,
                    expected,
                })
            }
            _ => {}
        }
        // In counting mode the fields are not kept: the callback sees none.
        let go_on = on_record(self.record_line, &self.record_fields);
        self.record_fields.clear();
        Ok(go_on)
    }

    /// Validates UTF-8 across chunk boundaries; on failure, locates the line
    /// and field of the bad byte by scanning the chunk up to it.
    fn check_utf8(&mut self, chunk: &[u8]) -> Result<(), ScanProblem> {
        let mut start = 0;
        if !self.utf8_carry.is_empty() {
            let need = utf8_len(self.utf8_carry[0]).saturating_sub(self.utf8_carry.len());
            let take = need.min(chunk.len());
            self.utf8_carry.extend_from_slice(&chunk[..take]);
            start = take;
            match std::str::from_utf8(&self.utf8_carry) {
                Ok(_) => self.utf8_carry.clear(),
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(self.locate_bad_byte(chunk, 0)),
            }
        }
        match std::str::from_utf8(&chunk[start..]) {
            Ok(_) => Ok(()),
            Err(e) => {
                let at = start + e.valid_up_to();
                if e.error_len().is_none() {
                    self.utf8_carry = chunk[at..].to_vec();
                    Ok(())
                } else {
                    Err(self.locate_bad_byte(chunk, at))
                }
            }
        }
    }

    fn locate_bad_byte(&self, chunk: &[u8], at: usize) -> ScanProblem {
        let mut probe = Scanner::new(self.dialect.clone(), false);
        probe.state = self.state;
        probe.line = self.line;
        probe.fields = self.fields;
        probe.utf8_carry.clear();
        let mut line = probe.line;
        let mut field = probe.fields.saturating_sub(1);
        // Walk the valid prefix with UTF-8 checks off, tracking line and field.
        let _ = probe.feed_unchecked(&chunk[..at]);
        if probe.state != State::RecordStart {
            line = probe.line;
            field = probe.fields.saturating_sub(1);
        } else if at > 0 {
            line = probe.line;
            field = 0;
        }
        ScanProblem::BadUtf8 { line, field }
    }

    fn feed_unchecked(&mut self, chunk: &[u8]) -> Result<bool, ScanProblem> {
        let saved = std::mem::take(&mut self.utf8_carry);
        let mut skip = |_: u64, _: &[Vec<u8>]| true;
        self.expected = None;
        // Safe: every byte before `at` is valid UTF-8, so this cannot recurse.
        let r = self.feed(chunk, None, &mut skip);
        self.utf8_carry = saved;
        r
    }
}

/// Stopping after a record: the output gets the text up to its end, so a
/// copy that stops early holds whole records.
fn stop(out: Option<&mut dyn Write>, rest: &[u8]) -> Result<bool, ScanProblem> {
    if let Some(o) = out {
        o.write_all(rest)
            .map_err(|_| ScanProblem::NulByte { line: 0 })?;
    }
    Ok(false)
}

/// The delimiters in a line, or `None` when it holds a quote character
/// (then the state machine must read it). Works on 64-byte blocks as
/// bitmasks built with SIMD compares.
fn count_unquoted(line: &[u8], delimiter: u8, quote: Option<u8>) -> Option<usize> {
    let mut count = 0usize;
    let mut blocks = line.chunks_exact(64);
    for block in &mut blocks {
        let block: &[u8; 64] = block.try_into().expect("64 bytes");
        if quote.is_some_and(|q| mask(block, q) != 0) {
            return None;
        }
        count += mask(block, delimiter).count_ones() as usize;
    }
    for &b in blocks.remainder() {
        if Some(b) == quote {
            return None;
        }
        count += usize::from(b == delimiter);
    }
    Some(count)
}

/// Bit j is set when `block[j] == c`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn mask(block: &[u8; 64], c: u8) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline; the loads stay inside the 64-byte block.
    unsafe {
        let needle = _mm_set1_epi8(c as i8);
        let mut m = 0u64;
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            m |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) as u16) << (16 * k);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn mask(block: &[u8; 64], c: u8) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0u64, |m, (j, &b)| m | (u64::from(b == c) << j))
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests;
