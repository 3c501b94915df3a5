//! Payloads to typed columns, with etl's own readers: JSON objects through
//! the JSON reader, CSV records through the CSV reader, Avro through the
//! Avro reader. Each payload that does not parse is set aside with the
//! reason; the others parse together.

use std::io::Cursor;
use std::sync::Arc;

use polars::io::avro::AvroReader;
use polars::prelude::*;

use super::message::Message;
use super::options::{StreamOptions, ValueFormat};
use crate::error::{Error, Result};
use crate::format::ReadOptions;

pub struct Parsed {
    /// Indexes of the messages that parsed, in batch order.
    pub accepted: Vec<usize>,
    pub rejected: Vec<(usize, String)>,
    /// The value columns of the accepted messages.
    pub columns: DataFrame,
}

pub fn parse(batch: &[Message], opts: &StreamOptions, read: &ReadOptions) -> Result<Parsed> {
    match opts.value_format {
        ValueFormat::Text => text(batch),
        ValueFormat::Bytes => {
            let values: Vec<Option<&[u8]>> = batch.iter().map(|m| m.value.as_deref()).collect();
            Ok(Parsed {
                accepted: (0..batch.len()).collect(),
                rejected: Vec::new(),
                columns: DataFrame::new(batch.len(), vec![Column::new("value".into(), values)])?,
            })
        }
        ValueFormat::Json => json(batch, read),
        ValueFormat::Csv => csv(batch, read),
        ValueFormat::Avro => avro(batch, opts),
    }
}

fn text(batch: &[Message]) -> Result<Parsed> {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut values = Vec::new();
    for (i, m) in batch.iter().enumerate() {
        match m.value.as_deref().map(std::str::from_utf8) {
            None => {
                accepted.push(i);
                values.push(None);
            }
            Some(Ok(v)) => {
                accepted.push(i);
                values.push(Some(v));
            }
            Some(Err(e)) => rejected.push((
                i,
                format!("not UTF-8 text ({e}); read binary payloads with --value-format bytes"),
            )),
        }
    }
    let n = accepted.len();
    Ok(Parsed {
        accepted,
        rejected,
        columns: DataFrame::new(n, vec![Column::new("value".into(), values)])?,
    })
}

fn json(batch: &[Message], read: &ReadOptions) -> Result<Parsed> {
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for (i, m) in batch.iter().enumerate() {
        let Some(v) = m.value.as_deref() else {
            rejected.push((i, "no payload (a tombstone)".to_string()));
            continue;
        };
        match serde_json::from_slice::<serde_json::Value>(v) {
            Ok(obj @ serde_json::Value::Object(_)) => {
                let line = serde_json::to_vec(&obj).map_err(|e| Error::data(e.to_string()))?;
                records.push((i, line));
            }
            Ok(other) => rejected.push((i, format!("a JSON {}, not an object", json_kind(&other)))),
            Err(e) => rejected.push((i, format!("not JSON: {e}"))),
        }
    }
    parse_records(records, rejected, &|lines: &[u8]| {
        let mut reader = JsonReader::new(Cursor::new(lines.to_vec()))
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(None);
        if let Some(s) = &read.schema {
            reader = reader.with_schema_overwrite(s);
        }
        let mut df = reader.finish().map_err(|e| Error::data(short(&e)))?;
        let casts = crate::format::temporal::casts(&df, read.schema.as_ref());
        if !casts.is_empty() {
            df = df.lazy().with_columns(casts).collect()?;
        }
        Ok(df)
    })
}

/// Parses the records together; when that fails, sets aside each record
/// that fails on its own, with the reason, and parses the rest.
fn parse_records(
    records: Vec<(usize, Vec<u8>)>,
    mut rejected: Vec<(usize, String)>,
    parse: &dyn Fn(&[u8]) -> Result<DataFrame>,
) -> Result<Parsed> {
    let join = |rs: &[(usize, Vec<u8>)]| {
        let mut text = Vec::new();
        for (_, r) in rs {
            text.extend_from_slice(r);
            text.push(b'\n');
        }
        text
    };
    let (good, df) = if records.is_empty() {
        (records, DataFrame::empty())
    } else {
        match parse(&join(&records)) {
            Ok(df) => (records, df),
            Err(whole) => {
                let mut good = Vec::new();
                for (i, r) in records {
                    match parse(&join(std::slice::from_ref(&(i, r.clone())))) {
                        Ok(_) => good.push((i, r)),
                        Err(e) => rejected.push((i, e.message)),
                    }
                }
                let df = if good.is_empty() {
                    DataFrame::empty()
                } else {
                    parse(&join(&good)).map_err(|_| whole)?
                };
                (good, df)
            }
        }
    };
    if !good.is_empty() {
        check_height(&df, good.len())?;
    }
    rejected.sort_by_key(|(i, _)| *i);
    Ok(Parsed {
        accepted: good.iter().map(|(i, _)| *i).collect(),
        rejected,
        columns: df,
    })
}

/// The first sentence of a reader's error: no hints about its own options.
fn short(e: &PolarsError) -> String {
    let m = crate::error::polars_message(e);
    match m.find(" The current offset") {
        Some(i) => m[..i].to_string(),
        None => m,
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn check_height(df: &DataFrame, expected: usize) -> Result<()> {
    if df.height() != expected {
        return Err(Error::data(format!(
            "the payloads gave {} rows for {expected} messages",
            df.height()
        )));
    }
    Ok(())
}

/// One CSV record per message, no header: names and types from `--schema`,
/// else column_1, column_2, ... with inferred types.
fn csv(batch: &[Message], read: &ReadOptions) -> Result<Parsed> {
    let delimiter = read.csv.delimiter.unwrap_or(b',');
    let quote = read.csv.quote;
    let mut expected = read.schema.as_ref().map(|s| s.len());
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for (i, m) in batch.iter().enumerate() {
        let Some(v) = m.value.as_deref() else {
            rejected.push((i, "no payload (a tombstone)".to_string()));
            continue;
        };
        let record = v.strip_suffix(b"\n").unwrap_or(v);
        let record = record.strip_suffix(b"\r").unwrap_or(record);
        if std::str::from_utf8(record).is_err() {
            rejected.push((i, "not UTF-8 text".into()));
            continue;
        }
        let fields = count_fields(record, delimiter, quote);
        let Some(fields) = fields else {
            rejected.push((
                i,
                "not one CSV record (a line break or an open quote)".into(),
            ));
            continue;
        };
        match expected {
            Some(n) if n != fields => {
                rejected.push((i, format!("{fields} fields, expected {n}")));
                continue;
            }
            None => expected = Some(fields),
            _ => {}
        }
        records.push((i, record.to_vec()));
    }
    let null_values = (!read.csv.null_values.is_empty()).then(|| {
        NullValues::AllColumns(
            read.csv
                .null_values
                .iter()
                .map(|s| PlSmallStr::from(s.as_str()))
                .collect(),
        )
    });
    // Parsed from memory: the batch is bounded by --max-bytes.
    parse_records(records, rejected, &|text: &[u8]| {
        let mut df = polars::prelude::CsvReadOptions::default()
            .with_has_header(false)
            .with_infer_schema_length(read.infer_rows)
            .with_schema(read.schema.clone().map(Arc::new))
            .with_raise_if_empty(false)
            .map_parse_options(|p| {
                p.with_separator(delimiter)
                    .with_quote_char(quote)
                    .with_missing_is_null(true)
                    .with_try_parse_dates(false)
                    .with_null_values(null_values.clone())
            })
            .into_reader_with_file_handle(Cursor::new(text.to_vec()))
            .finish()
            .map_err(|e| Error::data(short(&e)))?;
        if read.csv.parse_dates {
            let casts = crate::format::temporal::casts(&df, read.schema.as_ref());
            if !casts.is_empty() {
                df = df.lazy().with_columns(casts).collect()?;
            }
        }
        Ok(df)
    })
}

/// Fields of one CSV record; `None` when it spans lines or leaves a quote open.
fn count_fields(record: &[u8], delimiter: u8, quote: Option<u8>) -> Option<usize> {
    let mut fields = 1;
    let mut quoted = false;
    for &b in record {
        if Some(b) == quote {
            quoted = !quoted;
        } else if b == b'\n' && !quoted {
            return None;
        } else if b == delimiter && !quoted {
            fields += 1;
        }
    }
    (!quoted).then_some(fields)
}

const AVRO_MAGIC: &[u8] = b"Obj\x01";

/// Avro payloads: each a single-object container file (what `etl persist`
/// writes), or raw datums of the schema in `--value-schema`.
fn avro(batch: &[Message], opts: &StreamOptions) -> Result<Parsed> {
    let schema = match &opts.value_schema {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| Error::from(e).context(format!("--value-schema {}", p.display())))?,
        ),
        None => None,
    };
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut frames: Vec<DataFrame> = Vec::new();
    for (i, m) in batch.iter().enumerate() {
        let Some(v) = m.value.as_deref() else {
            rejected.push((i, "no payload (a tombstone)".to_string()));
            continue;
        };
        let file = if v.starts_with(AVRO_MAGIC) {
            v.to_vec()
        } else if let Some(s) = &schema {
            container(s, v)
        } else {
            rejected.push((
                i,
                "not an Avro container; raw Avro datums need --value-schema FILE.avsc".into(),
            ));
            continue;
        };
        match read_avro(file) {
            Ok(df) if df.height() == 1 => {
                if let Some(first) = frames.first() {
                    if first.schema() != df.schema() {
                        rejected.push((
                            i,
                            "Avro schema differs from the batch's first message".into(),
                        ));
                        continue;
                    }
                }
                frames.push(df);
                accepted.push(i);
            }
            Ok(df) => rejected.push((i, format!("{} Avro records, expected 1", df.height()))),
            Err(e) => rejected.push((i, format!("not Avro: {e}"))),
        }
    }
    let columns = match frames.split_first() {
        None => DataFrame::empty(),
        Some((first, rest)) => {
            let mut df = first.clone();
            for f in rest {
                df.vstack_mut(f)?;
            }
            df.rechunk_mut();
            df
        }
    };
    Ok(Parsed {
        accepted,
        rejected,
        columns,
    })
}

fn read_avro(file: Vec<u8>) -> std::result::Result<DataFrame, String> {
    let result = std::panic::catch_unwind(|| AvroReader::new(Cursor::new(file)).finish());
    match result {
        Ok(Ok(df)) => Ok(df),
        Ok(Err(e)) => Err(crate::error::polars_message(&e)),
        Err(_) => Err("corrupt datum".into()),
    }
}

/// A one-record Avro container file around a raw datum.
fn container(schema: &str, datum: &[u8]) -> Vec<u8> {
    const SYNC: [u8; 16] = *b"etl-stream-sync!";
    let mut out = AVRO_MAGIC.to_vec();
    zigzag(&mut out, 1); // one metadata entry
    avro_bytes(&mut out, b"avro.schema");
    avro_bytes(&mut out, schema.as_bytes());
    zigzag(&mut out, 0);
    out.extend_from_slice(&SYNC);
    zigzag(&mut out, 1);
    zigzag(&mut out, datum.len() as i64);
    out.extend_from_slice(datum);
    out.extend_from_slice(&SYNC);
    out
}

fn avro_bytes(out: &mut Vec<u8>, b: &[u8]) {
    zigzag(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn zigzag(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_counted_outside_quotes() {
        assert_eq!(count_fields(b"a,\"b,c\",d", b',', Some(b'"')), Some(3));
        assert_eq!(count_fields(b"a,\"b", b',', Some(b'"')), None);
    }

    #[test]
    fn raw_avro_datums_read_with_a_schema() {
        let schema = r#"{"type":"record","name":"r","fields":[{"name":"id","type":"long"},{"name":"s","type":"string"}]}"#;
        // id = 3 (zigzag 6), s = "hi"
        let datum = [6u8, 4, b'h', b'i'];
        let df = read_avro(container(schema, &datum)).unwrap();
        assert_eq!(df.height(), 1);
        assert_eq!(df.column("id").unwrap().i64().unwrap().get(0), Some(3));
        assert_eq!(df.column("s").unwrap().str().unwrap().get(0), Some("hi"));
    }
}
