//! The column-batch machinery of database reads: a reader thread gathers
//! rows into typed column builders and sends a batch of [`BATCH_ROWS`]
//! rows at a time, the schema first.

use std::sync::mpsc;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{BatchStream, Frame};

/// Rows per batch handed downstream.
pub const BATCH_ROWS: usize = 65_536;

/// Starts `read` on a thread of its own and waits for the schema (or the
/// first error: connection, query); the batches follow as a stream.
pub fn spawn(url: &url::Url, read: impl FnOnce(Out) + Send + 'static) -> Result<Frame> {
    let (schema_tx, schema_rx) = mpsc::sync_channel::<Result<SchemaRef>>(1);
    let (batch_tx, batch_rx) = mpsc::sync_channel::<Result<DataFrame>>(2);
    std::thread::Builder::new()
        .name("etl-db-read".into())
        .spawn(move || {
            read(Out {
                schema: Some(schema_tx),
                batches: batch_tx,
            })
        })?;
    let schema = schema_rx
        .recv()
        .map_err(|_| Error::io(format!("{}: the reader stopped", super::conn::shown(url))))??;
    Ok(Frame::batches(BatchStream {
        schema,
        batches: Box::new(batch_rx.into_iter()),
    }))
}

/// Where the reader thread sends the schema (once) and the batches. If
/// the reader panics, dropping this during the unwind sends an error, so
/// the read fails instead of ending as if the data were complete.
pub struct Out {
    schema: Option<mpsc::SyncSender<Result<SchemaRef>>>,
    batches: mpsc::SyncSender<Result<DataFrame>>,
}

impl Out {
    /// Reports an error wherever the consumer is waiting.
    pub fn fail(&mut self, e: Error) {
        match self.schema.take() {
            Some(s) => {
                let _ = s.send(Err(e));
            }
            None => {
                let _ = self.batches.send(Err(e));
            }
        }
    }

    pub fn schema(&mut self, schema: SchemaRef) {
        if let Some(s) = self.schema.take() {
            let _ = s.send(Ok(schema));
        }
    }

    /// False when the consumer went away (e.g. after --limit).
    pub fn batch(&mut self, df: DataFrame) -> bool {
        self.batches.send(Ok(df)).is_ok()
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.fail(Error::io(
                "the database reader failed with an internal error (a panic); the rows read so far are incomplete",
            ));
        }
    }
}

/// Column values gathered for one batch.
pub enum Builder {
    Bool(Vec<Option<bool>>),
    I8(Vec<Option<i8>>),
    I16(Vec<Option<i16>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    U8(Vec<Option<u8>>),
    U16(Vec<Option<u16>>),
    U32(Vec<Option<u32>>),
    U64(Vec<Option<u64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    Str(Vec<Option<String>>),
    Bin(Vec<Option<Vec<u8>>>),
    /// Days since 1970-01-01.
    Date(Vec<Option<i32>>),
    /// Microseconds since 1970-01-01, with the zone if aware.
    Datetime(Vec<Option<i64>>, bool),
    /// Nanoseconds since midnight.
    Time(Vec<Option<i64>>),
    /// Microseconds.
    Duration(Vec<Option<i64>>),
    Decimal(Vec<Option<i128>>, usize, usize),
}

impl Builder {
    pub fn for_dtype(dtype: &DataType) -> Builder {
        match dtype {
            DataType::Boolean => Builder::Bool(Vec::new()),
            DataType::Int8 => Builder::I8(Vec::new()),
            DataType::Int16 => Builder::I16(Vec::new()),
            DataType::Int32 => Builder::I32(Vec::new()),
            DataType::Int64 => Builder::I64(Vec::new()),
            DataType::UInt8 => Builder::U8(Vec::new()),
            DataType::UInt16 => Builder::U16(Vec::new()),
            DataType::UInt32 => Builder::U32(Vec::new()),
            DataType::UInt64 => Builder::U64(Vec::new()),
            DataType::Float32 => Builder::F32(Vec::new()),
            DataType::Float64 => Builder::F64(Vec::new()),
            DataType::Binary => Builder::Bin(Vec::new()),
            DataType::Date => Builder::Date(Vec::new()),
            DataType::Datetime(_, tz) => Builder::Datetime(Vec::new(), tz.is_some()),
            DataType::Time => Builder::Time(Vec::new()),
            DataType::Duration(_) => Builder::Duration(Vec::new()),
            DataType::Decimal(p, s) => Builder::Decimal(Vec::new(), *p, *s),
            _ => Builder::Str(Vec::new()),
        }
    }

    pub fn push_null(&mut self) {
        match self {
            Builder::Bool(v) => v.push(None),
            Builder::I8(v) => v.push(None),
            Builder::I16(v) => v.push(None),
            Builder::I32(v) => v.push(None),
            Builder::I64(v) => v.push(None),
            Builder::U8(v) => v.push(None),
            Builder::U16(v) => v.push(None),
            Builder::U32(v) => v.push(None),
            Builder::U64(v) => v.push(None),
            Builder::F32(v) => v.push(None),
            Builder::F64(v) => v.push(None),
            Builder::Str(v) => v.push(None),
            Builder::Bin(v) => v.push(None),
            Builder::Date(v) => v.push(None),
            Builder::Datetime(v, _) => v.push(None),
            Builder::Time(v) => v.push(None),
            Builder::Duration(v) => v.push(None),
            Builder::Decimal(v, ..) => v.push(None),
        }
    }

    /// The gathered values as a column; the builder is emptied.
    pub fn take(&mut self, name: &str) -> Result<Column> {
        let n: PlSmallStr = name.into();
        let s = match self {
            Builder::Bool(v) => Series::new(n, std::mem::take(v)),
            Builder::I8(v) => Series::new(n, std::mem::take(v)),
            Builder::I16(v) => Series::new(n, std::mem::take(v)),
            Builder::I32(v) => Series::new(n, std::mem::take(v)),
            Builder::I64(v) => Series::new(n, std::mem::take(v)),
            Builder::U8(v) => Series::new(n, std::mem::take(v)),
            Builder::U16(v) => Series::new(n, std::mem::take(v)),
            Builder::U32(v) => Series::new(n, std::mem::take(v)),
            Builder::U64(v) => Series::new(n, std::mem::take(v)),
            Builder::F32(v) => Series::new(n, std::mem::take(v)),
            Builder::F64(v) => Series::new(n, std::mem::take(v)),
            Builder::Str(v) => Series::new(n, std::mem::take(v)),
            Builder::Bin(v) => Series::new(n, std::mem::take(v)),
            Builder::Date(v) => Series::new(n, std::mem::take(v)).cast(&DataType::Date)?,
            Builder::Datetime(v, aware) => Series::new(n, std::mem::take(v)).cast(
                &DataType::Datetime(TimeUnit::Microseconds, aware.then_some(TimeZone::UTC)),
            )?,
            Builder::Time(v) => Series::new(n, std::mem::take(v)).cast(&DataType::Time)?,
            Builder::Duration(v) => Series::new(n, std::mem::take(v))
                .cast(&DataType::Duration(TimeUnit::Microseconds))?,
            Builder::Decimal(v, p, s) => Int128Chunked::from_slice_options(n, &std::mem::take(v))
                .into_decimal(*p, *s)?
                .into_series(),
        };
        Ok(s.into_column())
    }
}

/// Collects rows into batches of [`BATCH_ROWS`] and sends them.
pub struct Batcher {
    pub names: Vec<String>,
    pub builders: Vec<Builder>,
    rows: usize,
}

impl Batcher {
    pub fn new(schema: &Schema) -> Batcher {
        Batcher {
            names: schema.iter_names().map(|n| n.to_string()).collect(),
            builders: schema.iter_values().map(Builder::for_dtype).collect(),
            rows: 0,
        }
    }

    fn flush(&mut self) -> Result<DataFrame> {
        let cols = self
            .names
            .iter()
            .zip(self.builders.iter_mut())
            .map(|(n, b)| b.take(n))
            .collect::<Result<Vec<_>>>()?;
        let rows = self.rows;
        self.rows = 0;
        Ok(DataFrame::new(rows, cols)?)
    }

    /// After a row: sends a full batch. False when the consumer went away.
    pub fn row_done(&mut self, out: &mut Out) -> Result<bool> {
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            let df = self.flush()?;
            return Ok(out.batch(df));
        }
        Ok(true)
    }

    pub fn finish(&mut self, out: &mut Out) -> Result<()> {
        if self.rows > 0 {
            let df = self.flush()?;
            out.batch(df);
        }
        Ok(())
    }
}

/// The query's columns as a schema; two columns of one name are refused.
pub fn schema_of(cols: Vec<(String, DataType)>) -> Result<SchemaRef> {
    let mut schema = Schema::with_capacity(cols.len());
    for (name, dtype) in cols {
        if schema.contains(&name) {
            return Err(Error::usage(format!(
                "the query returns two columns named '{name}': give them distinct names (AS)"
            )));
        }
        schema.insert(name.into(), dtype);
    }
    if schema.is_empty() {
        return Err(Error::usage("the query returns no columns"));
    }
    Ok(Arc::new(schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> url::Url {
        url::Url::parse("sqlite:///x.db").unwrap()
    }

    fn one_batch() -> DataFrame {
        df!("id" => [1i64, 2]).unwrap()
    }

    #[test]
    fn a_panic_after_some_batches_fails_the_read() {
        let frame = spawn(&url(), |mut out| {
            out.schema(one_batch().schema().clone());
            out.batch(one_batch());
            panic!("a bug in a decoder");
        })
        .unwrap();
        let crate::frame::FrameData::Batches(stream) = frame.data else {
            panic!("a database read is a stream of batches");
        };
        let results: Vec<Result<DataFrame>> = stream.batches.collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        let e = results[1].as_ref().unwrap_err();
        assert!(e.message.contains("incomplete"), "{}", e.message);
    }

    #[test]
    fn a_panic_before_the_schema_fails_the_read() {
        let e = spawn(&url(), |_out| panic!("a bug while connecting")).unwrap_err();
        assert!(e.message.contains("internal error"), "{}", e.message);
    }
}
