//! Table to stream: one message per row, keyed by a column, with columns as
//! headers, the payload as JSON (one object per row), CSV (one record per
//! row, no header line: the reader gives names with --schema), Avro (a
//! single-object container file per row, schema included) or the row's
//! `value` column as is (text, bytes). Returns once the broker confirmed
//! every message.

use std::time::Instant;

use polars::prelude::*;

use super::options::{StreamOptions, ValueFormat};
use super::{open_producer, shown, Producer};
use crate::error::{Error, Result};
use crate::format::Codec;
use crate::frame::Frame;
use crate::location::RemoteUrl;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProduceSummary {
    pub target: String,
    pub rows: u64,
    pub seconds: f64,
}

/// The options of a stream target from its URL; payloads are JSON unless it says otherwise.
pub fn options_for(url: &RemoteUrl) -> Result<StreamOptions> {
    let mut o = StreamOptions::from_url(url)?;
    if !url.url.query_pairs().any(|(k, _)| k == "value-format") {
        o.value_format = ValueFormat::Json;
    }
    Ok(o)
}

/// Checks the options before any I/O.
pub fn validate(opts: &StreamOptions) -> Result<()> {
    opts.check_supported()
}

/// Checks the table's columns against the options before any message is sent.
fn check_columns(schema: &Schema, opts: &StreamOptions) -> Result<()> {
    if let Some(k) = &opts.key {
        crate::names::require_columns(schema, std::slice::from_ref(k), "--key")?;
    }
    crate::names::require_columns(schema, &opts.headers, "--headers")?;
    if matches!(opts.value_format, ValueFormat::Text | ValueFormat::Bytes) {
        crate::names::require_columns(schema, &["value".to_string()], "value-format text/bytes")?;
    }
    if opts.value_format == ValueFormat::Csv {
        if let Some((name, dtype)) = schema.iter().find(|(_, t)| t.is_nested()) {
            return Err(Error::usage(format!(
                "column '{name}' is {dtype}, which a CSV record cannot hold; use value-format json or avro"
            )));
        }
    }
    Ok(())
}

pub fn produce(frame: Frame, url: &RemoteUrl, opts: &StreamOptions) -> Result<ProduceSummary> {
    validate(opts)?;
    let started = Instant::now();
    let mut frame = frame;
    let schema = frame.schema()?;
    check_columns(&schema, opts)?;
    let mut producer = open_producer(url, opts)?;
    let (stream, guard) = frame.into_batches()?;
    let mut rows = 0u64;
    for batch in stream.batches {
        let mut df = batch.map_err(|e| guard.explain(e))?;
        rows += send_batch(producer.as_mut(), &mut df, opts)?;
    }
    let confirmed = producer.finish()?;
    if confirmed != rows {
        return Err(Error::io(format!(
            "{}: {confirmed} of {rows} messages confirmed",
            shown(url)
        )));
    }
    Ok(ProduceSummary {
        target: shown(url),
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The text of a column per row (null stays null).
fn texts(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let c = df.column(name)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|v| v.map(str::to_string)).collect())
}

fn send_batch(p: &mut dyn Producer, df: &mut DataFrame, opts: &StreamOptions) -> Result<u64> {
    let n = df.height();
    if n == 0 {
        return Ok(0);
    }
    let keys: Option<Vec<Option<String>>> = match &opts.key {
        Some(k) => Some(texts(df, k)?),
        None => None,
    };
    let header_values: Vec<(&str, Vec<Option<String>>)> = opts
        .headers
        .iter()
        .map(|h| Ok((h.as_str(), texts(df, h)?)))
        .collect::<Result<_>>()?;
    let key = |i: usize| {
        keys.as_ref()
            .and_then(|k| k[i].as_deref())
            .map(str::as_bytes)
    };
    // A null value sends no header of that name.
    let headers = |i: usize| -> Vec<(&str, &[u8])> {
        header_values
            .iter()
            .filter_map(|(name, values)| values[i].as_deref().map(|v| (*name, v.as_bytes())))
            .collect()
    };
    match opts.value_format {
        ValueFormat::Json => {
            let mut buf = Vec::new();
            crate::format::json::write_lines(&mut buf, df)?;
            let mut lines = buf.split(|b| *b == b'\n').filter(|l| !l.is_empty());
            for i in 0..n {
                let line = lines
                    .next()
                    .ok_or_else(|| Error::data("the JSON writer gave fewer lines than rows"))?;
                p.send(key(i), line, &headers(i))?;
            }
        }
        ValueFormat::Csv => {
            let mut buf = Vec::new();
            let csv = crate::format::csv::CsvWriteOptions::default();
            crate::format::csv::write_batch(&mut buf, df, &csv, false)?;
            let records = csv_records(&buf, b'"');
            if records.len() != n {
                return Err(Error::data(format!(
                    "the CSV writer gave {} records for {n} rows",
                    records.len()
                )));
            }
            for (i, record) in records.into_iter().enumerate() {
                p.send(key(i), record, &headers(i))?;
            }
        }
        ValueFormat::Avro => {
            for i in 0..n {
                let row = df.slice(i as i64, 1);
                let mut writer =
                    crate::format::avro::AvroWriter::new(Vec::new(), row.schema(), Codec::None)?;
                writer.write(&row)?;
                p.send(key(i), &writer.finish()?, &headers(i))?;
            }
        }
        ValueFormat::Text => {
            let c = df.column("value")?.cast(&DataType::String)?;
            for (i, v) in c.str()?.iter().enumerate() {
                p.send(key(i), v.unwrap_or_default().as_bytes(), &headers(i))?;
            }
        }
        ValueFormat::Bytes => {
            let c = df.column("value")?.cast(&DataType::Binary)?;
            for (i, v) in c.binary()?.iter().enumerate() {
                p.send(key(i), v.unwrap_or_default(), &headers(i))?;
            }
        }
    }
    Ok(n as u64)
}

/// The records of CSV text, one per line outside quotes, without the line ends.
fn csv_records(text: &[u8], quote: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, &b) in text.iter().enumerate() {
        if b == quote {
            quoted = !quoted;
        } else if b == b'\n' && !quoted {
            let line = &text[start..i];
            out.push(line.strip_suffix(b"\r").unwrap_or(line));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::csv_records;

    #[test]
    fn csv_records_keep_line_breaks_inside_quotes() {
        let text = b"1,a\n2,\"x\ny\"\n,\n";
        let r: Vec<&[u8]> = csv_records(text, b'"');
        assert_eq!(r, [&b"1,a"[..], b"2,\"x\ny\"", b","]);
    }
}
