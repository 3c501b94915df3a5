//! JSON: an array of objects (rewritten as JSON lines in one streaming
//! pass) and newline-delimited JSON, both scanned lazily. Dates arrive as text unless a schema says otherwise;
//! ISO-looking text columns are then parsed as dates and datetimes.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::json_depth::{check_depth, MAX_JSON_DEPTH};
use crate::error::{Error, Result};

/// A JSON array of objects, rewritten as JSON lines into a scratch file in
/// one streaming pass (see [`super::json_array`]) and scanned lazily from
/// there, with the row count when the whole array was read. With `limit`,
/// only the rows needed (those asked for and those types are inferred from)
/// are copied.
pub fn read_array(
    path: &Path,
    codec: super::Codec,
    schema: Option<&Schema>,
    infer_rows: Option<usize>,
    limit: Option<usize>,
) -> Result<(LazyFrame, tempfile::TempPath, Option<u64>)> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    let size = file.metadata().map(|m| m.len()).ok();
    let input = super::text_input::decoder(super::text_input::Counting::new(file), codec)?;
    let lines = crate::cleanup::scratch_file("json", ".ndjson")?.into_temp_path();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&lines)?);
    let enough = rows_needed(limit, infer_rows);
    crate::progress::start(&format!("reading {shown}"), size);
    let rows = super::json_array::to_lines(input, &mut out, MAX_JSON_DEPTH, enough);
    crate::progress::finish();
    let rows = rows.map_err(|p| match p {
        super::json_array::Problem::Io(e) if codec != super::Codec::None => Error::data(format!(
            "{shown}: cannot decompress {codec} data ({})",
            crate::error::io_message(&e)
        )),
        super::json_array::Problem::Io(e) => Error::from(e).context(&shown),
        p => Error::data(format!("{shown}: {}", p.describe())),
    })?;
    out.flush()?;
    drop(out);
    if rows == 0 {
        let empty = DataFrame::empty_with_schema(schema.unwrap_or(&Schema::default()));
        return Ok((empty.lazy(), lines, Some(0)));
    }
    let scratch = lines.display().to_string();
    // The pass above checked the nesting.
    let lf = scan_checked_lines(&lines, schema, infer_rows).map_err(|e| {
        let message = e
            .message
            .replace(&scratch, &shown)
            .replace("not valid NDJSON", "not a valid JSON array of objects");
        Error::new(e.kind, message)
    })?;
    // The count is known when every element was read.
    let complete = enough.is_none_or(|n| rows < n);
    Ok((lf, lines, complete.then_some(rows)))
}

/// Rows a reader must keep for `limit` rows with types inferred from
/// `infer_rows` (None: every row).
pub fn rows_needed(limit: Option<usize>, infer_rows: Option<usize>) -> Option<u64> {
    match (limit, infer_rows) {
        (Some(n), Some(infer)) => Some(n.max(infer) as u64),
        _ => None,
    }
}

pub fn scan_lines(
    path: &Path,
    schema: Option<&Schema>,
    infer_rows: Option<usize>,
) -> Result<LazyFrame> {
    check_depth(path, &path.display().to_string(), MAX_JSON_DEPTH)?;
    scan_checked_lines(path, schema, infer_rows)
}

fn scan_checked_lines(
    path: &Path,
    schema: Option<&Schema>,
    infer_rows: Option<usize>,
) -> Result<LazyFrame> {
    let shown = path.display();
    let mut reader = LazyJsonLineReader::new(super::scan_path(path, super::Reader::Streaming))
        .with_infer_schema_length(infer_rows.and_then(std::num::NonZeroUsize::new));
    if let Some(s) = schema {
        reader = reader.with_schema_overwrite(Some(Arc::new(s.clone())));
    }
    let mut lf = reader.finish().map_err(|e| {
        Error::data(format!(
            "{shown}: not valid NDJSON ({})",
            crate::error::polars_message(&e)
        ))
    })?;
    let sample = lf.clone().limit(1000).collect().map_err(|e| {
        Error::data(format!(
            "{shown}: not valid NDJSON ({})",
            crate::error::polars_message(&e)
        ))
    })?;
    let casts = super::temporal::casts(&sample, schema);
    if !casts.is_empty() {
        lf = lf.with_columns(casts);
    }
    let _ = lf.collect_schema();
    Ok(lf)
}

/// Writes a JSON array batch by batch: NDJSON lines joined with commas.
pub struct JsonArrayWriter<W: Write> {
    inner: W,
    first: bool,
    buf: Vec<u8>,
}

impl<W: Write> JsonArrayWriter<W> {
    pub fn new(mut inner: W) -> Result<Self> {
        inner.write_all(b"[")?;
        Ok(JsonArrayWriter {
            inner,
            first: true,
            buf: Vec::new(),
        })
    }

    pub fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        self.buf.clear();
        write_lines(&mut self.buf, df)?;
        for line in self.buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            if !std::mem::take(&mut self.first) {
                self.inner.write_all(b",")?;
            }
            self.inner.write_all(b"\n")?;
            self.inner.write_all(line)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<W> {
        self.inner.write_all(b"\n]\n")?;
        Ok(self.inner)
    }
}

pub fn write_lines(w: &mut dyn Write, df: &mut DataFrame) -> Result<()> {
    let mut iso = iso_datetimes(df)?;
    JsonWriter::new(w)
        .with_json_format(JsonFormat::JsonLines)
        .finish(iso.as_mut().unwrap_or(df))?;
    Ok(())
}

/// Datetime columns as ISO 8601 text with a `T`, and with the offset for
/// zoned values (`2024-03-01T12:00:00.5+00:00`), as Spark writes them, so
/// other readers infer timestamps rather than text. None: nothing to change.
fn iso_datetimes(df: &DataFrame) -> Result<Option<DataFrame>> {
    let mut out: Option<DataFrame> = None;
    for (i, column) in df.columns().iter().enumerate() {
        let DataType::Datetime(_, tz) = column.dtype() else {
            continue;
        };
        let format = match tz {
            Some(_) => "%Y-%m-%dT%H:%M:%S%.f%:z",
            None => "%Y-%m-%dT%H:%M:%S%.f",
        };
        let text = column
            .as_materialized_series()
            .datetime()?
            .to_string(format)?
            .into_series();
        out.get_or_insert_with(|| df.clone())
            .replace_column(i, text.into())?;
    }
    Ok(out)
}
