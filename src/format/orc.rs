//! ORC through orc-rust (arrow-rs), converted to and from polars at the edge
//! through the Arrow C Data Interface (zero copy). orc-rust panics on column
//! types it cannot write, so the schema is checked and converted first.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array as _, ArrayRef, RecordBatch};
use arrow::datatypes::{Field as ArrowRsField, Schema as ArrowRsSchema};
use arrow::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use orc_rust::arrow_reader::ArrowReaderBuilder;
use orc_rust::arrow_writer::{ArrowWriter, ArrowWriterBuilder};
use orc_rust::compression::CompressionType;
use polars::prelude::*;
use polars_arrow::ffi as pffi;

use super::BatchStream;
use super::Codec;
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
    let schema =
        Arc::new(polars_schema(&arrow_schema).map_err(|e| Error::data(format!("{shown}: {e}")))?);
    let mut reader = builder.build();
    let batches = std::iter::from_fn(move || {
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next()));
        match next {
            Ok(None) => None,
            Ok(Some(Ok(batch))) => Some(
                fix_timestamps(batch, &arrow_schema, &timestamps)
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

pub fn row_count(path: &Path) -> Result<u64> {
    let file = std::fs::File::open(path)?;
    let shown = path.display().to_string();
    let builder = catch(&shown, || {
        ArrowReaderBuilder::try_new(file).map_err(|e| e.to_string())
    })?;
    Ok(builder.file_metadata().number_of_rows())
}

/// orc-rust rejects pre-1970 timestamps with a fraction of a second as
/// written by the C++ ORC writer (pyarrow): those store a negative nanosecond
/// part. Timestamps are therefore read as i128 nanoseconds (Decimal128) and
/// converted here. Returns the schema to read with and the timestamp columns.
fn timestamps_as_decimal(schema: &ArrowRsSchema) -> (Arc<ArrowRsSchema>, Vec<usize>) {
    use arrow::datatypes::DataType as T;
    let mut columns = Vec::new();
    let fields: Vec<ArrowRsField> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match f.data_type() {
            T::Timestamp(_, None) => {
                columns.push(i);
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

fn micro_timestamps(schema: &ArrowRsSchema, columns: &[usize]) -> Arc<ArrowRsSchema> {
    use arrow::datatypes::{DataType as T, TimeUnit as U};
    let fields: Vec<ArrowRsField> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if columns.contains(&i) {
                f.as_ref()
                    .clone()
                    .with_data_type(T::Timestamp(U::Microsecond, None))
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(ArrowRsSchema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// Nanoseconds (i128) to microseconds (i64), undoing orc-rust's reading of a
/// negative nanosecond part as a huge unsigned one (and its one-second
/// ORC-763 adjustment that followed from it).
fn fix_timestamps(
    batch: RecordBatch,
    schema: &Arc<ArrowRsSchema>,
    columns: &[usize],
) -> std::result::Result<RecordBatch, String> {
    use arrow::array::{Decimal128Array, TimestampMicrosecondArray};
    if columns.is_empty() {
        return Ok(batch);
    }
    let mut arrays: Vec<ArrayRef> = batch.columns().to_vec();
    for &i in columns {
        let raw = arrays[i]
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .ok_or("timestamp column not decoded as expected")?;
        let micros: TimestampMicrosecondArray =
            raw.iter().map(|v| v.map(nanos_to_micros)).collect();
        arrays[i] = Arc::new(micros);
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())
}

fn nanos_to_micros(v: i128) -> i64 {
    const WRAP: i128 = 1 << 64;
    let repaired = if v > i64::MAX as i128 && v < WRAP && v - WRAP + 1_000_000_000 < 0 {
        v - WRAP + 1_000_000_000
    } else {
        v
    };
    repaired
        .div_euclid(1000)
        .clamp(i64::MIN as i128, i64::MAX as i128) as i64
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

fn polars_schema(schema: &ArrowRsSchema) -> std::result::Result<Schema, String> {
    let mut out = Schema::default();
    for field in schema.fields() {
        let c = FFI_ArrowSchema::try_from(field.as_ref()).map_err(|e| e.to_string())?;
        // SAFETY: arrow-rs' FFI_ArrowSchema and polars' ArrowSchema are both
        // #[repr(C)] renderings of the C Data Interface's ArrowSchema; `c`
        // outlives the borrow, and import_field_from_c only reads it.
        let f = unsafe {
            pffi::import_field_from_c(&*(&c as *const FFI_ArrowSchema as *const pffi::ArrowSchema))
        }
        .map_err(|e| e.to_string())?;
        out.with_column(f.name.clone(), DataType::from_arrow_field(&f));
    }
    Ok(out)
}

/// arrow-rs batch to polars DataFrame, through the C Data Interface.
fn to_polars(batch: &RecordBatch) -> std::result::Result<DataFrame, String> {
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        let (c_array, c_schema) = to_ffi(&array.to_data()).map_err(|e| e.to_string())?;
        // SAFETY: both sides are #[repr(C)] C Data Interface structs of the
        // same layout. The array is moved (transmuted by value) into polars,
        // which takes over its release callback; the schema is only read.
        let series = unsafe {
            let c_schema = &*(&c_schema as *const FFI_ArrowSchema as *const pffi::ArrowSchema);
            let pfield = pffi::import_field_from_c(c_schema).map_err(|e| e.to_string())?;
            let c_array: pffi::ArrowArray =
                std::mem::transmute::<FFI_ArrowArray, pffi::ArrowArray>(c_array);
            let parray = pffi::import_array_from_c(c_array, pfield.dtype().clone())
                .map_err(|e| e.to_string())?;
            Series::from_arrow(field.name().as_str().into(), parray).map_err(|e| e.to_string())?
        };
        columns.push(Column::from(series));
    }
    DataFrame::new(batch.num_rows(), columns).map_err(|e| e.to_string())
}

/// polars DataFrame to arrow-rs batch (one chunk per call).
fn to_arrow_rs(df: &DataFrame, schema: &Arc<ArrowRsSchema>) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for chunk in df.iter_chunks(CompatLevel::oldest(), false) {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(chunk.width());
        for (array, field) in chunk.into_arrays().into_iter().zip(chunk_fields(df)) {
            let c_schema = pffi::export_field_to_c(&field);
            let c_array = pffi::export_array_to_c(array);
            // SAFETY: as in to_polars, the other way: identical #[repr(C)]
            // C Data Interface layouts; arrow-rs takes ownership of the
            // array's release callback, the schema is only borrowed.
            let data = unsafe {
                let c_schema = &*(&c_schema as *const pffi::ArrowSchema as *const FFI_ArrowSchema);
                let c_array: FFI_ArrowArray =
                    std::mem::transmute::<pffi::ArrowArray, FFI_ArrowArray>(c_array);
                from_ffi(c_array, c_schema).map_err(|e| Error::data(e.to_string()))?
            };
            arrays.push(arrow::array::make_array(data));
        }
        let batch =
            RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::data(e.to_string()))?;
        out.push(batch);
    }
    Ok(out)
}

fn chunk_fields(df: &DataFrame) -> Vec<polars_arrow::datatypes::Field> {
    df.schema()
        .iter_fields()
        .map(|f| f.to_arrow(CompatLevel::oldest()))
        .collect()
}

/// Casts that turn columns ORC cannot hold as they are into ones it can,
/// losslessly; refuses the rest with the column's name.
pub fn orc_casts(schema: &Schema) -> Result<Vec<Expr>> {
    let mut casts = Vec::new();
    for (name, dtype) in schema.iter() {
        let target = match dtype {
            DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::String
            | DataType::Binary
            | DataType::Date => continue,
            DataType::Datetime(_, None) => continue,
            DataType::Datetime(unit, Some(_)) => DataType::Datetime(*unit, Some(TimeZone::UTC)),
            DataType::UInt8 => DataType::Int16,
            DataType::UInt16 => DataType::Int32,
            DataType::UInt32 | DataType::UInt64 => DataType::Int64,
            DataType::Categorical(..) | DataType::Enum(..) => DataType::String,
            DataType::Null => DataType::String,
            other => {
                return Err(Error::unsupported(format!(
                    "ORC output of column '{name}' of type {other}: cast it to a supported type (ints, floats, bool, string, binary, date, datetime) first"
                )))
            }
        };
        if &target != dtype {
            casts.push(col(name.clone()).strict_cast(target));
        }
    }
    Ok(casts)
}

/// Writes batches to an ORC file.
pub struct OrcWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: Arc<ArrowRsSchema>,
}

impl<W: Write + Send> OrcWriter<W> {
    pub fn new(inner: W, schema: &Schema, codec: Codec) -> Result<Self> {
        let fields: Vec<ArrowRsField> = schema
            .iter_fields()
            .map(|f| {
                let pf = f.to_arrow(CompatLevel::oldest());
                let c = pffi::export_field_to_c(&pf);
                // SAFETY: the same #[repr(C)] C Data Interface struct on both
                // sides; `c` lives until the end of this closure.
                let c = unsafe { &*(&c as *const pffi::ArrowSchema as *const FFI_ArrowSchema) };
                ArrowRsField::try_from(c).map_err(|e| Error::data(e.to_string()))
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
        Ok(OrcWriter { writer, schema })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        for batch in to_arrow_rs(df, &self.schema)? {
            self.writer
                .write(&batch)
                .map_err(|e| Error::io(format!("ORC write failed: {e}")))?;
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
    fn pre_epoch_fractions_are_repaired() {
        // 1960-05-17T06:07:08.000009 as orc-rust decodes the C++ writer's bytes.
        let decoded: i128 = -303_760_372 * 1_000_000_000 + 18_446_744_072_709_560_616;
        assert_eq!(nanos_to_micros(decoded), -303_760_371_999_991);
        assert_eq!(
            nanos_to_micros(1_709_296_496_123_456_000),
            1_709_296_496_123_456
        );
        assert_eq!(nanos_to_micros(-1), -1);
    }
}
