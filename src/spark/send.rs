//! Inputs the cluster cannot read itself (Avro, Excel, Arrow IPC: a stock
//! Spark has no reader for them; SFTP: it does not reach it): etl reads
//! them here, as a local run would, and sends the rows in the plan as an
//! Arrow IPC stream (a `LocalRelation`), up to [`limit`] bytes of Arrow
//! data. Larger inputs are refused: convert them to Parquet where the
//! cluster reads (`etl ingest IN -o OUT.parquet`).

use polars::prelude::*;
use polars_arrow::io::ipc::write::{StreamWriter, WriteOptions};

use crate::error::{Error, Result};
use crate::format::ReadOptions;
use crate::location::Location;
use crate::source::Provenance;

/// The most Arrow data sent in one plan, by default: Spark's own clients
/// inline local data up to 64 MB too, and the server takes messages up to
/// 128 MB (`spark.connect.grpc.maxInboundMessageSize`).
pub const DEFAULT_LIMIT_MB: u64 = 64;

/// The limit in bytes: `ETL_SPARK_SEND_LIMIT_MB` changes it.
pub fn limit() -> u64 {
    std::env::var("ETL_SPARK_SEND_LIMIT_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_LIMIT_MB)
        << 20
}

/// `64 MB`.
pub fn limit_shown() -> String {
    format!("{} MB", limit() >> 20)
}

/// Why an input above the limit is refused (after "not supported yet: ").
pub fn too_large(inputs: &str, why: &str, size: &str) -> String {
    format!(
        "{inputs} ({why}) is {size}, and inputs the cluster cannot read are sent from here only up to {} of Arrow data: convert it to Parquet where the cluster reads it (etl ingest IN -o OUT.parquet)",
        limit_shown()
    )
}

/// The inputs read here as one Arrow IPC stream, with their row count.
/// `why` says why Spark does not read them (for the error above the limit).
pub fn arrow_stream(
    inputs: &[Location],
    read: &ReadOptions,
    source_column: Option<&str>,
    why: &str,
) -> Result<(Vec<u8>, u64)> {
    let shown = inputs
        .iter()
        .map(|l| crate::location::redact(&l.to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    let frame = crate::source::open(
        inputs,
        read,
        &Provenance {
            source_column: source_column.map(str::to_string),
        },
    )?;
    let (stream, guard) = frame.into_batches()?;
    let casts = spark_types(&stream.schema).map_err(|e| e.context(&shown))?;
    let compat = CompatLevel::oldest();
    let mut schema = (*stream.schema).clone();
    for (name, to) in &casts {
        schema.set_dtype(name, to.clone());
    }
    let mut writer = StreamWriter::new(Vec::new(), WriteOptions { compression: None });
    writer.start(&schema.to_arrow(compat), None)?;
    let (mut bytes, mut rows) = (0u64, 0u64);
    for batch in stream.batches {
        let mut df = batch.map_err(|e| guard.explain(e))?;
        for (name, to) in &casts {
            let cast = df
                .column(name)?
                .strict_cast(to)
                .map_err(|e| Error::from(e).context(format!("{shown}: column '{name}'")))?;
            df.with_column(cast)?;
        }
        bytes += df.estimated_size() as u64;
        if bytes > limit() {
            return Err(Error::unsupported(too_large(
                &shown,
                why,
                &format!("more than {}", limit_shown()),
            )));
        }
        rows += df.height() as u64;
        for chunk in df.iter_chunks(compat, true) {
            writer.write(&chunk, None)?;
        }
    }
    writer.finish()?;
    Ok((writer.into_inner(), rows))
}

/// The columns whose type Spark's Arrow reader does not take, with the
/// type each is sent as: unsigned integers widened, categories as text,
/// times in microseconds (Spark's unit).
fn spark_types(schema: &Schema) -> Result<Vec<(PlSmallStr, DataType)>> {
    let mut casts = Vec::new();
    for (name, dtype) in schema.iter() {
        let to = match dtype {
            DataType::UInt8 => DataType::Int16,
            DataType::UInt16 => DataType::Int32,
            DataType::UInt32 => DataType::Int64,
            DataType::UInt64 => DataType::Decimal(20, 0),
            DataType::Categorical(..) | DataType::Enum(..) => DataType::String,
            DataType::Datetime(unit, tz) if *unit != TimeUnit::Microseconds => {
                DataType::Datetime(TimeUnit::Microseconds, tz.clone())
            }
            DataType::Duration(unit) if *unit != TimeUnit::Microseconds => {
                DataType::Duration(TimeUnit::Microseconds)
            }
            DataType::Time => {
                return Err(Error::unsupported(format!(
                    "column '{name}' is a time of day, which Spark has no type for"
                )))
            }
            _ => continue,
        };
        casts.push((name.clone(), to));
    }
    Ok(casts)
}
