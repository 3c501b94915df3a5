//! Table to stream: one message per row, keyed by a column, the payload as
//! JSON (one object per row), Avro (a single-object container file per
//! row, schema included) or the row's `value` column as is (text, bytes).
//! Returns once the broker confirmed every message.

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
    if opts.value_format == ValueFormat::Csv {
        return Err(Error::unsupported(
            "writing CSV payloads (use value-format json, avro, text or bytes)",
        ));
    }
    Ok(())
}

pub fn produce(frame: Frame, url: &RemoteUrl, opts: &StreamOptions) -> Result<ProduceSummary> {
    validate(opts)?;
    let started = Instant::now();
    let mut frame = frame;
    let schema = frame.schema()?;
    if let Some(k) = &opts.key {
        crate::names::require_columns(&schema, std::slice::from_ref(k), "--key")?;
    }
    if matches!(opts.value_format, ValueFormat::Text | ValueFormat::Bytes) {
        crate::names::require_columns(&schema, &["value".to_string()], "value-format text/bytes")?;
    }
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

fn send_batch(p: &mut dyn Producer, df: &mut DataFrame, opts: &StreamOptions) -> Result<u64> {
    let n = df.height();
    if n == 0 {
        return Ok(0);
    }
    let keys: Option<Vec<Option<String>>> = match &opts.key {
        Some(k) => {
            let c = df.column(k)?.cast(&DataType::String)?;
            Some(c.str()?.iter().map(|v| v.map(str::to_string)).collect())
        }
        None => None,
    };
    let key = |i: usize| {
        keys.as_ref()
            .and_then(|k| k[i].as_deref())
            .map(str::as_bytes)
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
                p.send(key(i), line)?;
            }
        }
        ValueFormat::Avro => {
            for i in 0..n {
                let row = df.slice(i as i64, 1);
                let mut writer =
                    crate::format::avro::AvroWriter::new(Vec::new(), row.schema(), Codec::None)?;
                writer.write(&row)?;
                p.send(key(i), &writer.finish()?)?;
            }
        }
        ValueFormat::Text => {
            let c = df.column("value")?.cast(&DataType::String)?;
            for (i, v) in c.str()?.iter().enumerate() {
                p.send(key(i), v.unwrap_or_default().as_bytes())?;
            }
        }
        ValueFormat::Bytes => {
            let c = df.column("value")?.cast(&DataType::Binary)?;
            for (i, v) in c.binary()?.iter().enumerate() {
                p.send(key(i), v.unwrap_or_default())?;
            }
        }
        ValueFormat::Csv => unreachable!("validate() refuses CSV"),
    }
    Ok(n as u64)
}
