//! JSON: an array of objects (read whole) and newline-delimited JSON
//! (scanned lazily). Dates arrive as text unless a schema says otherwise;
//! ISO-looking text columns are then parsed as dates and datetimes.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::json_depth::{check_depth, MAX_JSON_DEPTH};
use crate::error::{Error, Result};

pub fn read_array(
    path: &Path,
    schema: Option<&Schema>,
    infer_rows: Option<usize>,
) -> Result<DataFrame> {
    let shown = path.display();
    check_depth(path, &shown.to_string(), MAX_JSON_DEPTH)?;
    let file = std::fs::File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    let mut reader = JsonReader::new(file).with_json_format(JsonFormat::Json);
    if let Some(n) = infer_rows.and_then(std::num::NonZeroUsize::new) {
        reader = reader.infer_schema_len(Some(n));
    }
    if let Some(s) = schema {
        reader = reader.with_schema_overwrite(s);
    }
    let df = reader.finish().map_err(|e| {
        Error::data(format!(
            "{shown}: not valid JSON array of objects ({})",
            crate::error::polars_message(&e)
        ))
    })?;
    let casts = super::temporal::casts(&df, schema);
    if casts.is_empty() {
        return Ok(df);
    }
    Ok(df.lazy().with_columns(casts).collect()?)
}

pub fn scan_lines(
    path: &Path,
    schema: Option<&Schema>,
    infer_rows: Option<usize>,
) -> Result<LazyFrame> {
    let shown = path.display();
    check_depth(path, &shown.to_string(), MAX_JSON_DEPTH)?;
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
