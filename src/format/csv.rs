//! CSV and other delimited text: read through a validation pass into a
//! polars lazy scan; write through polars' CSV writer.

use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::csv_scan::{Dialect, Scanner};
use super::text_input::{self, PreparedText, TextSource};
use super::Codec;
use crate::error::{Error, Result};

/// Rows used to infer column types unless the user says otherwise.
pub const DEFAULT_INFER_ROWS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct CsvReadOptions {
    pub has_header: bool,
    /// `None`: by extension (tab for .tsv/.tab, `|` for .psv), else comma.
    pub delimiter: Option<u8>,
    /// `None` disables quoting.
    pub quote: Option<u8>,
    /// An escape character inside quoted fields (e.g. `\`), besides doubled quotes.
    pub escape: Option<u8>,
    /// Lines starting with this character are skipped.
    pub comment: Option<u8>,
    /// Values read as null (the empty field always is).
    pub null_values: Vec<String>,
    /// WHATWG label of the text encoding.
    pub encoding: String,
    /// Parse ISO-looking text columns as dates and datetimes.
    pub parse_dates: bool,
}

impl Default for CsvReadOptions {
    fn default() -> Self {
        CsvReadOptions {
            has_header: true,
            delimiter: None,
            quote: Some(b'"'),
            escape: None,
            comment: None,
            null_values: Vec::new(),
            encoding: "utf-8".into(),
            parse_dates: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CsvWriteOptions {
    pub delimiter: u8,
    pub header: bool,
}

impl Default for CsvWriteOptions {
    fn default() -> Self {
        CsvWriteOptions {
            delimiter: b',',
            header: true,
        }
    }
}

/// The delimiter a file's name suggests.
pub fn delimiter_for(path: &Path) -> u8 {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let (stem, _) = super::strip_codec_extension(&name);
    if stem.ends_with(".tsv") || stem.ends_with(".tab") {
        b'\t'
    } else if stem.ends_with(".psv") {
        b'|'
    } else {
        b','
    }
}

/// A validated CSV input and the lazy scan over it.
pub struct CsvScan {
    pub lf: LazyFrame,
    pub prepared: PreparedText,
    pub header: Vec<String>,
    pub dialect: Dialect,
}

pub fn scan(
    path: &Path,
    codec: Codec,
    opts: &CsvReadOptions,
    schema: Option<&Schema>,
    infer_rows: Option<usize>,
    limit: Option<usize>,
    reader: super::Reader,
) -> Result<CsvScan> {
    let shown = path.display().to_string();
    let dialect = Dialect {
        delimiter: opts.delimiter.unwrap_or_else(|| delimiter_for(path)),
        quote: opts.quote,
        escape: opts.escape,
        comment: opts.comment,
    };
    let encoding = text_input::encoding(&opts.encoding)?;
    let src = TextSource {
        path,
        codec,
        encoding,
    };
    let header = first_record(&src, &dialect)?;
    // With a row limit only the start is read: the rows asked for are
    // checked; a copy also holds those types are inferred from (None: every
    // row, so the whole file).
    let header_rows = u64::from(opts.has_header);
    let enough = limit.map(|n| text_input::Enough {
        checked: n as u64 + header_rows,
        copied: infer_rows.map(|infer| n.max(infer) as u64 + header_rows),
    });
    let prepared = text_input::prepare_csv(&src, &dialect, &header, enough)?;
    if prepared.records == 0 {
        return Err(Error::data(format!(
            "{shown}: no header row and no data (the file holds no records)"
        )));
    }
    let mut reader = LazyCsvReader::new(super::scan_path(&prepared.path, reader))
        .with_has_header(opts.has_header)
        .with_separator(dialect.delimiter)
        .with_quote_char(dialect.quote)
        .with_comment_prefix(
            dialect
                .comment
                .map(|c| PlSmallStr::from((c as char).to_string())),
        )
        .with_try_parse_dates(false)
        .with_infer_schema_length(infer_rows)
        .with_raise_if_empty(false)
        .with_n_rows(limit)
        .with_missing_is_null(true);
    if !opts.null_values.is_empty() {
        let tokens = opts
            .null_values
            .iter()
            .map(|s| PlSmallStr::from(s.as_str()))
            .collect();
        reader = reader.with_null_values(Some(NullValues::AllColumns(tokens)));
    }
    if let Some(schema) = schema {
        if !opts.has_header {
            if schema.len() != header.len() {
                return Err(Error::usage(format!(
                    "{shown}: --schema names {} columns but the file has {} per row",
                    schema.len(),
                    header.len()
                )));
            }
            reader = reader.with_schema(Some(Arc::new(schema.clone())));
        } else {
            for name in schema.iter_names() {
                if !header.iter().any(|h| h == name.as_str()) {
                    return Err(Error::usage(format!(
                        "{shown}: --schema names column '{name}', which the header does not have (columns: {})",
                        header.join(", ")
                    )));
                }
            }
            reader = reader.with_dtype_overwrite(Some(Arc::new(schema.clone())));
        }
    }
    let mut lf = reader
        .finish()
        .map_err(|e| Error::from(e).context(&shown))?;
    if opts.parse_dates {
        lf = with_dates(lf, schema, infer_rows).map_err(|e| e.context(&shown))?;
    }
    Ok(CsvScan {
        lf,
        prepared,
        header,
        dialect,
    })
}

/// Parses text columns that hold ISO dates, judged on the inference sample.
fn with_dates(
    mut lf: LazyFrame,
    given: Option<&Schema>,
    infer_rows: Option<usize>,
) -> Result<LazyFrame> {
    let schema = lf.collect_schema()?;
    let text: Vec<Expr> = schema
        .iter()
        .filter(|(n, t)| **t == DataType::String && !given.is_some_and(|g| g.contains(n)))
        .map(|(n, _)| col(n.clone()))
        .collect();
    if text.is_empty() {
        return Ok(lf);
    }
    let rows = infer_rows
        .unwrap_or(DEFAULT_INFER_ROWS)
        .min(DEFAULT_INFER_ROWS) as IdxSize;
    let sample = lf.clone().select(text).limit(rows).collect()?;
    let casts = super::temporal::casts(&sample, given);
    Ok(if casts.is_empty() {
        lf
    } else {
        lf.with_columns(casts)
    })
}

/// The first record (header or first data row), for names and messages.
fn first_record(src: &TextSource<'_>, dialect: &Dialect) -> Result<Vec<String>> {
    use std::io::Read;
    let file =
        std::fs::File::open(src.path).map_err(|e| Error::from(e).context(src.path.display()))?;
    let mut head = Vec::new();
    text_input::decoder(file, src.codec)?
        .take(1 << 16)
        .read_to_end(&mut head)
        .ok();
    let (text, _, _) = src.encoding.decode(&head);
    let mut fields: Vec<String> = Vec::new();
    let mut scanner = Scanner::new(
        Dialect {
            escape: None,
            ..dialect.clone()
        },
        true,
    );
    {
        let mut grab = |_: u64, f: &[Vec<u8>]| {
            fields = f
                .iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect();
            false
        };
        if let Ok(true) = scanner.feed(text.as_bytes(), None, &mut grab) {
            let _ = scanner.finish(&mut grab);
        }
    }
    Ok(fields)
}

/// Turns polars' "could not parse `x` as dtype `i64` at column 'qty'" into a
/// message with the file's line number, found by scanning for the value.
pub fn explain_parse_error(
    scan_path: &Path,
    shown: &str,
    dialect: &Dialect,
    has_header: bool,
    message: &str,
) -> Option<Error> {
    let re = regex::Regex::new(
        r"could not parse `(.*)` as dtype `(.*)` at column '(.*)' \(column number (\d+)\)",
    )
    .ok()?;
    let caps = re.captures(message)?;
    let (value, dtype, column) = (
        caps[1].to_string(),
        caps[2].to_string(),
        caps[3].to_string(),
    );
    let index: usize = caps[4].parse::<usize>().ok()?.checked_sub(1)?;
    let mut found_line = None;
    let mut scanner = Scanner::new(
        Dialect {
            escape: None,
            ..dialect.clone()
        },
        true,
    );
    let mut first = true;
    let mut look = |line: u64, fields: &[Vec<u8>]| {
        if std::mem::take(&mut first) && has_header {
            return true;
        }
        if fields.get(index).map(|f| f.as_slice()) == Some(value.as_bytes()) {
            found_line = Some(line);
            return false;
        }
        true
    };
    // Streamed in chunks: naming a bad value at the end of a multi-GB file
    // must not hold the file in memory.
    let mut file = std::fs::File::open(scan_path).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let mut go_on = true;
    while go_on {
        let n = text_input::read_full(&mut file, &mut buf).ok()?;
        if n == 0 {
            let _ = scanner.finish(&mut look);
            break;
        }
        go_on = scanner.feed(&buf[..n], None, &mut look).unwrap_or(false);
    }
    let place = match found_line {
        Some(line) => format!("line {line}, column '{column}'"),
        None => format!("column '{column}'"),
    };
    Some(Error::data(format!(
        "{shown}: {place}: '{value}' is not a valid {dtype} (the column's type was inferred or given as {dtype}; \
         give --schema {column}:str to keep it as text, or --infer-rows 0 to infer from every row)"
    )))
}

/// polars CSV writer options for etl's output conventions.
pub fn writer_options(opts: &CsvWriteOptions, codec: Codec) -> CsvWriterOptions {
    let serialize = SerializeOptions {
        separator: opts.delimiter,
        datetime_format: None,
        ..Default::default()
    };
    CsvWriterOptions {
        include_header: opts.header,
        compression: match codec {
            Codec::Gzip => ExternalCompression::Gzip { level: None },
            Codec::Zstd => ExternalCompression::Zstd { level: None },
            _ => ExternalCompression::Uncompressed,
        },
        serialize_options: Arc::new(serialize),
        ..Default::default()
    }
}

/// Writes one batch as CSV to `w`, with or without the header line.
pub fn write_batch(
    w: &mut dyn std::io::Write,
    df: &mut DataFrame,
    opts: &CsvWriteOptions,
    header: bool,
) -> Result<()> {
    CsvWriter::new(w)
        .include_header(header)
        .with_separator(opts.delimiter)
        .finish(df)?;
    Ok(())
}
