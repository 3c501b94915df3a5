//! A table to report on, its per-column statistics (one pass), and chart
//! data computed by aggregation in polars: only counts, bins and group
//! results ever leave the engine, never rows.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameData};

/// How an axis shows its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Number,
    /// Milliseconds since 1970, shown as dates.
    Date,
    /// Milliseconds since 1970, shown as date and time.
    Datetime,
}

/// A scatter point: x, y, the rows it stands for, and its group's label.
pub type Point = (f64, f64, u64, Option<String>);

/// What a chart draws, already aggregated.
#[derive(Debug, Clone)]
pub enum Body {
    /// Horizontal bars, in order: label → value.
    Bars(Vec<(String, f64)>),
    /// Adjacent bins `[lo, hi)` with counts.
    Histogram {
        bins: Vec<(f64, f64, u64)>,
        axis: Axis,
    },
    /// Points joined in x order.
    Line { points: Vec<(f64, f64)>, axis: Axis },
    /// Points with a weight (rows in the grid cell or group) and an optional label.
    Scatter {
        points: Vec<Point>,
        x_axis: Axis,
        y_axis: Axis,
    },
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub kind: &'static str,
    pub title: String,
    /// The text alternative: what the chart shows, in words.
    pub summary: String,
    pub x_label: String,
    pub y_label: String,
    pub body: Body,
}

impl Chart {
    /// Bars, bins or points drawn.
    pub fn marks(&self) -> usize {
        match &self.body {
            Body::Bars(b) => b.len(),
            Body::Histogram { bins, .. } => bins.len(),
            Body::Line { points, .. } => points.len(),
            Body::Scatter { points, .. } => points.len(),
        }
    }
}

/// Per-column statistics from one pass over the table.
#[derive(Debug, Clone)]
pub struct ColumnStats {
    pub name: String,
    pub dtype: DataType,
    pub nulls: u64,
    /// HyperLogLog estimate.
    pub distinct: Option<u64>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub mean: Option<f64>,
    /// min and max as numbers (milliseconds for dates and times), for binning.
    pub range: Option<(f64, f64)>,
}

/// A table ready for aggregation queries.
pub struct Table {
    pub name: String,
    pub lf: LazyFrame,
    pub schema: SchemaRef,
    pub rows: u64,
    pub columns: Vec<ColumnStats>,
    _frame: Frame,
    _spool: Option<tempfile::TempPath>,
}

impl Table {
    /// Prepares a frame. With `spool`, the rows are first written once to a
    /// temporary Arrow IPC file, so that the many small queries that follow
    /// read only their columns instead of parsing a text file again each time.
    pub fn new(name: &str, frame: Frame, spool: bool) -> Result<Table> {
        let (frame, spool_file) = if spool {
            // Removed on drop, and by the signal handler on an interrupt.
            let tmp = crate::cleanup::scratch_file("report", ".arrow")?.into_temp_path();
            let request = crate::sink::WriteRequest {
                dest: crate::sink::Destination::Path(tmp.to_path_buf()),
                options: crate::format::WriteOptions::new(crate::format::Format::Ipc),
                split: None,
                force: true,
            };
            crate::sink::write(frame, &request)?;
            let lf = crate::format::ipc::scan_file(&tmp)?;
            (Frame::lazy(lf), Some(tmp))
        } else {
            (frame.into_lazy()?, None)
        };
        let FrameData::Lazy(lf) = &frame.data else {
            unreachable!("into_lazy gives a plan")
        };
        let mut lf = lf.clone();
        let schema = lf.collect_schema().map_err(|e| frame.explain(e.into()))?;
        let (rows, columns) = stats(&lf, &schema).map_err(|e| frame.explain(e))?;
        Ok(Table {
            name: name.to_string(),
            lf,
            schema,
            rows,
            columns,
            _frame: frame,
            _spool: spool_file,
        })
    }

    pub fn column(&self, name: &str) -> Option<&ColumnStats> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Runs an aggregation query on the streaming engine: memory stays
    /// bounded by the groups, not the rows.
    pub fn query(&self, f: impl FnOnce(LazyFrame) -> LazyFrame) -> Result<DataFrame> {
        collect(f(self.lf.clone()))
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if let Some(p) = &self._spool {
            crate::cleanup::untrack(p);
        }
    }
}

fn collect(lf: LazyFrame) -> Result<DataFrame> {
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}

pub fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date | DataType::Datetime(..))
}

pub fn is_number(t: &DataType) -> bool {
    t.is_primitive_numeric() || matches!(t, DataType::Decimal(..))
}

pub fn axis_of(t: &DataType) -> Axis {
    match t {
        DataType::Date => Axis::Date,
        DataType::Datetime(..) => Axis::Datetime,
        _ => Axis::Number,
    }
}

/// The column as f64: numbers as they are, dates and datetimes as
/// milliseconds since 1970.
pub fn as_number(name: &str, t: &DataType) -> Expr {
    let c = col(name);
    let c = if is_temporal(t) {
        c.cast(DataType::Datetime(TimeUnit::Milliseconds, None))
            .cast(DataType::Int64)
    } else {
        c
    };
    c.cast(DataType::Float64)
}

fn stats(lf: &LazyFrame, schema: &Schema) -> Result<(u64, Vec<ColumnStats>)> {
    let mut exprs = vec![len().cast(DataType::UInt64).alias("__rows")];
    for (i, (name, t)) in schema.iter().enumerate() {
        let c = col(name.clone());
        exprs.push(
            c.clone()
                .null_count()
                .cast(DataType::UInt64)
                .alias(format!("n{i}")),
        );
        let nested = matches!(
            t,
            DataType::List(_) | DataType::Struct(_) | DataType::Array(..)
        );
        if !nested && !matches!(t, DataType::Binary) {
            exprs.push(
                c.clone()
                    .approx_n_unique()
                    .cast(DataType::UInt64)
                    .alias(format!("d{i}")),
            );
        }
        if is_number(t) || is_temporal(t) || matches!(t, DataType::String | DataType::Boolean) {
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
        if is_number(t) || is_temporal(t) {
            let finite = finite(name, t);
            exprs.push(finite.clone().min().alias(format!("flo{i}")));
            exprs.push(finite.max().alias(format!("fhi{i}")));
        }
        if is_number(t) {
            exprs.push(c.cast(DataType::Float64).mean().alias(format!("m{i}")));
        }
    }
    let df = collect(lf.clone().select(exprs))?;
    let u = |n: &str| {
        df.column(n)
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
    };
    let f = |n: &str| {
        df.column(n)
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<f64>())
    };
    let s = |n: &str| {
        df.column(n)
            .ok()
            .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(str::to_string)))
    };
    let columns = schema
        .iter()
        .enumerate()
        .map(|(i, (name, t))| ColumnStats {
            name: name.to_string(),
            dtype: t.clone(),
            nulls: u(&format!("n{i}")).unwrap_or(0),
            distinct: u(&format!("d{i}")),
            min: s(&format!("lo{i}")),
            max: s(&format!("hi{i}")),
            mean: f(&format!("m{i}")).filter(|m| m.is_finite()),
            range: f(&format!("flo{i}")).zip(f(&format!("fhi{i}"))),
        })
        .collect();
    Ok((u("__rows").unwrap_or(0), columns))
}

/// The column as f64 with NaN and infinities as null.
pub fn finite(name: &str, t: &DataType) -> Expr {
    let v = as_number(name, t);
    when(v.clone().is_finite()).then(v).otherwise(lit(NULL))
}

/// Reads column `name` of a query result as f64 values (nulls as NaN).
pub fn floats(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Reads column `name` as display text, `(null)` for nulls.
pub fn labels(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = df.column(name)?.cast(&DataType::String)?;
    Ok(c.str()?
        .iter()
        .map(|v| v.map(str::to_string).unwrap_or_else(|| "(null)".into()))
        .collect())
}

/// Counts of a column in `bins` equal-width bins over its range.
pub fn histogram(table: &Table, column: &str, bins: usize) -> Result<Option<Body>> {
    let stats = table
        .column(column)
        .ok_or_else(|| Error::usage(format!("no column '{column}'")))?;
    let Some((lo, hi)) = stats.range else {
        return Ok(None);
    };
    let t = stats.dtype.clone();
    let bins = if hi > lo { bins.max(1) } else { 1 };
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let v = finite(column, &t);
    let bin = ((v - lit(lo)) / lit(width))
        .floor()
        .clip(lit(0.0), lit((bins - 1) as f64))
        .cast(DataType::Int64)
        .alias("bin");
    let df = table.query(|lf| {
        lf.select([bin])
            .drop_nulls(None)
            .group_by([col("bin")])
            .agg([len().cast(DataType::UInt64).alias("n")])
    })?;
    let mut counts = vec![0u64; bins];
    let (b, n) = (df.column("bin")?.i64()?, df.column("n")?.u64()?);
    for (b, n) in b.iter().zip(n.iter()) {
        if let (Some(b), Some(n)) = (b, n) {
            counts[(b.max(0) as usize).min(bins - 1)] += n;
        }
    }
    let bins = counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| (lo + width * i as f64, lo + width * (i + 1) as f64, n))
        .collect();
    Ok(Some(Body::Histogram {
        bins,
        axis: axis_of(&t),
    }))
}

/// The most frequent values of a column, most frequent first, and how many
/// rows the other values hold.
pub fn top_values(table: &Table, column: &str, top: usize) -> Result<(Vec<(String, f64)>, u64)> {
    let df = table.query(|lf| {
        lf.group_by([col(column).alias("value")])
            .agg([len().cast(DataType::Float64).alias("n")])
            .sort(
                ["n", "value"],
                SortMultipleOptions::default()
                    .with_order_descending_multi([true, false])
                    .with_nulls_last(true),
            )
            .limit(top as IdxSize)
    })?;
    let bars: Vec<(String, f64)> = labels(&df, "value")?
        .into_iter()
        .zip(floats(&df, "n")?)
        .collect();
    let shown: f64 = bars.iter().map(|b| b.1).sum();
    Ok((bars, table.rows.saturating_sub(shown as u64)))
}

/// A time bucket that gives a readable number of points over a span.
pub fn bucket_for(span_ms: f64) -> &'static str {
    let days = span_ms / 86_400_000.0;
    if days <= 120.0 {
        "day"
    } else if days <= 3.0 * 365.0 {
        "week"
    } else if days <= 20.0 * 365.0 {
        "month"
    } else if days <= 60.0 * 365.0 {
        "quarter"
    } else {
        "year"
    }
}

pub fn polars_every(every: &str) -> &'static str {
    match every {
        "day" => "1d",
        "week" => "1w",
        "month" => "1mo",
        "quarter" => "1q",
        _ => "1y",
    }
}
