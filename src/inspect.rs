//! `etl inspect`: what a table is (format, compression, size, rows,
//! schema) and what its columns hold (nulls, min, max, distinct estimate).

use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::{sniff, ReadOptions};
use crate::frame::Frame;
use crate::location::Location;
use crate::source::{self, Provenance};

#[derive(Debug, Serialize)]
pub struct Inspection {
    pub location: String,
    pub format: String,
    pub compression: String,
    pub size_bytes: Option<u64>,
    pub rows: Option<u64>,
    pub columns: Vec<ColumnStats>,
}

#[derive(Debug, Serialize)]
pub struct ColumnStats {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
    pub nulls: Option<u64>,
    pub min: Option<String>,
    pub max: Option<String>,
    /// An estimate (HyperLogLog) of the number of distinct values.
    pub distinct_estimate: Option<u64>,
}

/// Inspects one location. `stats` computes per-column statistics in one
/// streaming pass; without it only metadata and the schema are read.
pub fn inspect(location: &Location, opts: &ReadOptions, stats: bool) -> Result<Inspection> {
    if location.is_file_store() {
        // s3://, az://, gs://, sftp://: inspect a downloaded copy.
        let mut files = crate::transfer::spool::fetch(location, &source::visible)?;
        if files.len() != 1 {
            return Err(Error::unsupported(format!(
                "inspecting {} remote files at once ({location}); name one file",
                files.len()
            )));
        }
        let one = files.pop().expect("one file");
        let mut report = inspect(&Location::Local(one.temp.to_path_buf()), opts, stats)?;
        report.location = one.shown;
        return Ok(report);
    }
    if let Location::Local(path) = location {
        // A named pipe or <(process substitution): read once, then inspected.
        if let Some(temp) = source::spool_if_stream(path)? {
            let shown = location.to_string();
            let mut report = inspect(&Location::Local(temp.to_path_buf()), opts, stats)
                .map_err(|e| source::rename(e, &temp, &shown))?;
            report.location = shown;
            return Ok(report);
        }
    }
    let (format, compression, size) = describe(location, opts)?;
    let mut frame = source::open(std::slice::from_ref(location), opts, &Provenance::default())?;
    let schema = frame.schema()?;
    let mut rows = frame.rows;
    let mut columns: Vec<ColumnStats> = schema
        .iter()
        .map(|(n, t)| ColumnStats {
            name: n.to_string(),
            dtype: crate::dtype::display_dtype(t),
            nulls: None,
            min: None,
            max: None,
            distinct_estimate: None,
        })
        .collect();
    if stats {
        let (n, per_column) = column_stats(frame, &schema)?;
        rows = Some(n);
        for (c, s) in columns.iter_mut().zip(per_column) {
            c.nulls = s.0;
            c.min = s.1;
            c.max = s.2;
            c.distinct_estimate = s.3;
        }
    }
    Ok(Inspection {
        location: location.to_string(),
        format,
        compression,
        size_bytes: size,
        rows,
        columns,
    })
}

fn describe(location: &Location, opts: &ReadOptions) -> Result<(String, String, Option<u64>)> {
    match location {
        Location::Local(p) if p.is_file() => {
            let (f, c) = sniff::detect(p, opts.format)?;
            let inner = if f == crate::format::Format::Parquet {
                parquet_codec(p).unwrap_or_default()
            } else {
                String::new()
            };
            let codec = if inner.is_empty() {
                c.to_string()
            } else {
                inner
            };
            Ok((
                f.to_string(),
                codec,
                std::fs::metadata(p).ok().map(|m| m.len()),
            ))
        }
        Location::Local(_) | Location::Glob(_) => {
            let files = source::expand(location)?;
            let first = &files[0].path;
            let (f, c) = sniff::detect(first, opts.format)?;
            let size = files
                .iter()
                .filter_map(|f| std::fs::metadata(&f.path).ok())
                .map(|m| m.len())
                .sum();
            Ok((
                format!("{f} ({} files)", files.len()),
                c.to_string(),
                Some(size),
            ))
        }
        Location::Stdio => Ok(("stream".into(), "none".into(), None)),
        Location::Remote(_) => Err(Error::unsupported(format!("inspecting {location}"))),
    }
}

fn parquet_codec(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let meta = ParquetReader::new(file).get_metadata().ok()?.clone();
    let rg = meta.row_groups.first()?;
    let col = rg.parquet_columns().first()?;
    Some(format!("{:?}", col.compression()).to_lowercase())
}

type Stats = (Option<u64>, Option<String>, Option<String>, Option<u64>);

fn column_stats(frame: Frame, schema: &Schema) -> Result<(u64, Vec<Stats>)> {
    let frame = frame.into_lazy()?;
    let explain = |e: Error| frame.explain(e);
    let crate::frame::FrameData::Lazy(lf) = &frame.data else {
        unreachable!()
    };
    let mut exprs = vec![len().alias("__rows")];
    for (i, (name, dtype)) in schema.iter().enumerate() {
        let c = col(name.clone());
        exprs.push(
            c.clone()
                .null_count()
                .cast(DataType::UInt64)
                .alias(format!("n{i}")),
        );
        if orderable(dtype) {
            exprs.push(
                c.clone()
                    .min()
                    .cast(DataType::String)
                    .alias(format!("lo{i}")),
            );
            exprs.push(
                c.clone()
                    .max()
                    .cast(DataType::String)
                    .alias(format!("hi{i}")),
            );
        }
        if !matches!(
            dtype,
            DataType::List(_) | DataType::Struct(_) | DataType::Array(..)
        ) {
            exprs.push(
                c.approx_n_unique()
                    .cast(DataType::UInt64)
                    .alias(format!("d{i}")),
            );
        }
    }
    let df = lf
        .clone()
        .select(exprs)
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| explain(e.into()))?;
    let get_u64 = |name: &str| {
        df.column(name)
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
    };
    let get_str = |name: &str| {
        df.column(name)
            .ok()
            .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(|v| v.to_string())))
    };
    let rows = get_u64("__rows").unwrap_or(0);
    let stats = (0..schema.len())
        .map(|i| {
            (
                get_u64(&format!("n{i}")),
                get_str(&format!("lo{i}")),
                get_str(&format!("hi{i}")),
                get_u64(&format!("d{i}")),
            )
        })
        .collect();
    Ok((rows, stats))
}

fn orderable(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric()
        || matches!(
            dtype,
            DataType::String
                | DataType::Boolean
                | DataType::Date
                | DataType::Datetime(..)
                | DataType::Time
                | DataType::Decimal(..)
        )
}
