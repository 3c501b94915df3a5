//! ORC through orc-rust (arrow-rs), converted to and from polars at the edge
//! through the Arrow C Data Interface (zero copy). orc-rust panics on column
//! types it cannot write, so the schema is checked and converted first.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array as _, ArrayRef, AsArray, MapArray, RecordBatch, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType as ArrowRsType, Field as ArrowRsField, Schema as ArrowRsSchema};
use orc_rust::arrow_reader::ArrowReaderBuilder;
use orc_rust::arrow_writer::{ArrowWriter, ArrowWriterBuilder};
use orc_rust::compression::CompressionType;
use polars::prelude::*;

use super::arrow_rs::{arrow_rs_field, polars_schema, to_arrow_rs_columns, to_polars};
use super::Codec;
use super::{orc_maps, BatchStream};
use crate::error::{Error, Result};

/// Opens an ORC file and streams its stripes as polars batches.
pub fn read(path: &Path) -> Result<BatchStream> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    let builder = catch(&shown, || {
        ArrowReaderBuilder::try_new(file).map_err(|e| e.to_string())
    })?
    .with_batch_size(65_536);
    let (raw_schema, timestamps) = timestamps_as_decimal(&builder.schema());
    let builder = builder.with_schema(raw_schema);
    let arrow_schema = micro_timestamps(&builder.schema(), &timestamps);
    let standard = orc_maps::standard_schema(&arrow_schema);
    let schema =
        Arc::new(polars_schema(&standard).map_err(|e| Error::data(format!("{shown}: {e}")))?);
    let mut reader = builder.build();
    let batches = std::iter::from_fn(move || {
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next()));
        match next {
            Ok(None) => None,
            Ok(Some(Ok(batch))) => Some(
                fix_timestamps(batch, &arrow_schema, &timestamps)
                    .and_then(|b| standard_maps(b, &standard))
                    .and_then(|b| to_polars(&b))
                    .map_err(|e| Error::data(format!("{shown}: {e}"))),
            ),
            Ok(Some(Err(e))) => Some(Err(Error::data(format!(
                "{shown}: not a readable ORC file ({e})"
            )))),
            Err(_) => Some(Err(Error::data(format!(
                "{shown}: not a readable ORC file (corrupt stripe)"
            )))),
        }
    })
    .fuse();
    Ok(BatchStream {
        schema,
        batches: Box::new(batches),
    })
}

fn standard_maps(
    batch: RecordBatch,
    schema: &Arc<ArrowRsSchema>,
) -> std::result::Result<RecordBatch, String> {
    let columns = batch
        .columns()
        .iter()
        .map(orc_maps::standard_array)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

pub fn row_count(path: &Path) -> Result<u64> {
    let file = std::fs::File::open(path)?;
    let shown = path.display().to_string();
    let builder = catch(&shown, || {
        ArrowReaderBuilder::try_new(file).map_err(|e| e.to_string())
    })?;
    Ok(builder.file_metadata().number_of_rows())
}

/// ORC timestamps hold nanoseconds over a wider range than an i64 of
/// nanoseconds (years 1 to 9999 are common in Hive tables), so they are read
/// as i128 nanoseconds (Decimal128) and converted here to microseconds, the
/// unit of Spark and Hive. Returns the schema to read with and the timestamp
/// columns with their time zone (`UTC` for `timestamp with local time zone`).
type TimestampColumns = Vec<(usize, Option<Arc<str>>)>;

fn timestamps_as_decimal(schema: &ArrowRsSchema) -> (Arc<ArrowRsSchema>, TimestampColumns) {
    use arrow::datatypes::DataType as T;
    let mut columns = Vec::new();
    let fields: Vec<ArrowRsField> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match f.data_type() {
            T::Timestamp(_, tz) => {
                columns.push((i, tz.as_ref().map(|_| Arc::from("UTC"))));
                f.as_ref().clone().with_data_type(T::Decimal128(38, 9))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    (
        Arc::new(ArrowRsSchema::new_with_metadata(
            fields,
            schema.metadata().clone(),
        )),
        columns,
    )
}

fn micro_timestamps(schema: &ArrowRsSchema, columns: &TimestampColumns) -> Arc<ArrowRsSchema> {
    use arrow::datatypes::{DataType as T, TimeUnit as U};
    let fields: Vec<ArrowRsField> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match columns.iter().find(|(c, _)| *c == i) {
            Some((_, tz)) => f
                .as_ref()
                .clone()
                .with_data_type(T::Timestamp(U::Microsecond, tz.clone())),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(ArrowRsSchema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// Nanoseconds (i128) to microseconds (i64).
fn fix_timestamps(
    batch: RecordBatch,
    schema: &Arc<ArrowRsSchema>,
    columns: &TimestampColumns,
) -> std::result::Result<RecordBatch, String> {
    use arrow::array::{Decimal128Array, TimestampMicrosecondArray};
    if columns.is_empty() {
        return Ok(batch);
    }
    let mut arrays: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, tz) in columns {
        let i = *i;
        let raw = arrays[i]
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .ok_or("timestamp column not decoded as expected")?;
        let micros: TimestampMicrosecondArray =
            raw.iter().map(|v| v.map(nanos_to_micros)).collect();
        arrays[i] = Arc::new(micros.with_timezone_opt(tz.clone()));
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())
}

fn nanos_to_micros(v: i128) -> i64 {
    v.div_euclid(1000).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn catch<T>(shown: &str, f: impl FnOnce() -> std::result::Result<T, String>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::data(format!(
            "{shown}: not a readable ORC file ({e})"
        ))),
        Err(_) => Err(Error::data(format!(
            "{shown}: not a readable ORC file (corrupt metadata)"
        ))),
    }
}

/// Casts that turn columns ORC cannot hold as they are into ones it can,
/// losslessly; refuses the rest, naming the column and what to cast it to.
pub fn orc_casts(schema: &Schema) -> Result<Vec<Expr>> {
    Ok(cast_plan(schema)?
        .into_iter()
        .map(|(name, target)| col(name).strict_cast(target))
        .collect())
}

fn cast_plan(schema: &Schema) -> Result<Vec<(PlSmallStr, DataType)>> {
    let mut casts = Vec::new();
    for (name, dtype) in schema.iter() {
        let target = orc_dtype(dtype).map_err(|hint| {
            Error::usage(format!(
                "ORC cannot hold column '{name}' of type {dtype}: {hint}"
            ))
        })?;
        if &target != dtype {
            casts.push((name.clone(), target));
        }
    }
    Ok(casts)
}

/// The type a column is written as; `Err` says what to cast it to instead.
fn orc_dtype(dtype: &DataType) -> std::result::Result<DataType, String> {
    Ok(match dtype {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::String
        | DataType::Binary
        | DataType::Date
        | DataType::Decimal(..)
        | DataType::Datetime(_, None) => dtype.clone(),
        // ORC's `timestamp with local time zone` holds instants, not zone names.
        DataType::Datetime(unit, Some(_)) => DataType::Datetime(*unit, Some(TimeZone::UTC)),
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Categorical(..) | DataType::Enum(..) | DataType::Null => DataType::String,
        DataType::List(inner) | DataType::Array(inner, _) => {
            DataType::List(Box::new(orc_dtype(inner)?))
        }
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Ok(Field::new(f.name().clone(), orc_dtype(f.dtype())?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
        DataType::Time => {
            return Err(
                "ORC has no time-of-day type; cast it to String or to Int64 (nanoseconds since midnight) first".into(),
            )
        }
        DataType::Duration(_) => {
            return Err("ORC has no duration type; cast it to Int64 first".into())
        }
        other => return Err(format!("cast {other} to String (or to Decimal for wide integers) first")),
    })
}

/// A list of `{key, value}` structs, as polars holds a map read from Parquet
/// or ORC: written as an ORC map.
fn is_map(dtype: &ArrowRsType) -> bool {
    match dtype {
        ArrowRsType::LargeList(item) => matches!(
            item.data_type(),
            ArrowRsType::Struct(fs) if fs.len() == 2 && fs[0].name() == "key" && fs[1].name() == "value"
        ),
        _ => false,
    }
}

fn map_type(dtype: &ArrowRsType) -> ArrowRsType {
    let ArrowRsType::LargeList(item) = dtype else {
        return dtype.clone();
    };
    let ArrowRsType::Struct(fs) = item.data_type() else {
        return dtype.clone();
    };
    let entries = ArrowRsField::new(
        "entries",
        ArrowRsType::Struct(
            vec![
                fs[0].as_ref().clone().with_nullable(false),
                fs[1].as_ref().clone(),
            ]
            .into(),
        ),
        false,
    );
    ArrowRsType::Map(Arc::new(entries), false)
}

/// Rebuilds a large list of key/value structs as a map array.
fn to_map(array: &ArrayRef, target: &ArrowRsType) -> Result<ArrayRef> {
    let ArrowRsType::Map(entries_field, _) = target else {
        return Ok(array.clone());
    };
    let list = array.as_list::<i64>();
    let offsets = list
        .value_offsets()
        .iter()
        .map(|&o| i32::try_from(o))
        .collect::<std::result::Result<Vec<i32>, _>>()
        .map_err(|_| Error::data("ORC map column has more than 2^31 entries in one batch"))?;
    let entries = list.values().as_struct();
    let ArrowRsType::Struct(fields) = entries_field.data_type() else {
        return Ok(array.clone());
    };
    if entries.column(0).null_count() > 0 {
        return Err(Error::data(
            "an ORC map key cannot be null (a map column holds a null key)",
        ));
    }
    let entries = StructArray::try_new(fields.clone(), entries.columns().to_vec(), None)
        .map_err(|e| Error::data(e.to_string()))?;
    let map = MapArray::try_new(
        entries_field.clone(),
        OffsetBuffer::new(offsets.into()),
        entries,
        list.nulls().cloned(),
        false,
    )
    .map_err(|e| Error::data(e.to_string()))?;
    Ok(Arc::new(map))
}

/// Writes batches to an ORC file.
pub struct OrcWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: Arc<ArrowRsSchema>,
    casts: Vec<(PlSmallStr, DataType)>,
}

impl<W: Write + Send> OrcWriter<W> {
    /// Checks every column first: nothing is written for a table ORC cannot hold.
    pub fn new(inner: W, schema: &Schema, codec: Codec) -> Result<Self> {
        let casts = cast_plan(schema)?;
        let mut written = schema.clone();
        for (name, target) in &casts {
            written.with_column(name.clone(), target.clone());
        }
        let fields: Vec<ArrowRsField> = written
            .iter_fields()
            .map(|f| {
                let field = arrow_rs_field(&f)?;
                Ok(if is_map(field.data_type()) {
                    let t = map_type(field.data_type());
                    field.with_data_type(t)
                } else {
                    field
                })
            })
            .collect::<Result<_>>()?;
        let schema = Arc::new(ArrowRsSchema::new(fields));
        let mut builder = ArrowWriterBuilder::new(inner, schema.clone()).with_batch_size(8192);
        let compression = match codec {
            Codec::Snappy => Some(CompressionType::Snappy),
            Codec::Zlib => Some(CompressionType::Zlib),
            Codec::Zstd => Some(CompressionType::Zstd),
            Codec::Lz4 => Some(CompressionType::Lz4),
            _ => None,
        };
        if let Some(c) = compression {
            builder = builder.with_compression(c);
        }
        let writer = builder.try_build().map_err(|e| Error::io(e.to_string()))?;
        Ok(OrcWriter {
            writer,
            schema,
            casts,
        })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        let mut df = df.clone();
        for (name, target) in &self.casts {
            let cast = df.column(name)?.strict_cast(target)?;
            df.with_column(cast)?;
        }
        for arrays in to_arrow_rs_columns(&df)? {
            let arrays = arrays
                .iter()
                .zip(self.schema.fields())
                .map(|(a, f)| to_map(a, f.data_type()))
                .collect::<Result<Vec<_>>>()?;
            let batch = RecordBatch::try_new(self.schema.clone(), arrays)
                .map_err(|e| Error::data(e.to_string()))?;
            // The encoder refuses values, not I/O: e.g. ORC cannot hold
            // the last second before 1970 with a fraction (ORC-763).
            self.writer
                .write(&batch)
                .map_err(|e| Error::data(format!("ORC write failed: {e}")))?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.writer
            .close()
            .map_err(|e| Error::io(format!("ORC write failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::nanos_to_micros;

    #[test]
    fn nanoseconds_round_down_to_microseconds() {
        assert_eq!(
            nanos_to_micros(-303_760_371_999_991_000),
            -303_760_371_999_991
        );
        assert_eq!(nanos_to_micros(-1), -1);
        assert_eq!(
            nanos_to_micros(1_709_296_496_123_456_789),
            1_709_296_496_123_456
        );
    }
}
