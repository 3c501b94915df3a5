//! polars batches to an Avro object container file.
//!
//! What each polars type is written as: integers as `int`/`long` (8-, 16-bit
//! and unsigned ones with an `arrow.*` logical type that other readers ignore
//! and etl reads back exactly); `Datetime` with a zone as `timestamp-millis`,
//! `-micros` or `-nanos` (UTC instants), without one as `local-timestamp-*`;
//! `Date` as `date`; `Time` as `time-micros`; `Decimal` as `decimal` over
//! `bytes`; `Duration` as `long` with an `arrow.duration-*` logical type;
//! lists and arrays as `array`, structs as nested `record`s; categoricals and
//! enums as Avro `enum` when every category is a valid Avro name (else as
//! `string`). Nullable columns are `["null", T]` unions, as Spark writes them.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, DictionaryArray, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{
    DataType as ArrowRsType, Field as ArrowRsField, Int32Type, Schema as ArrowRsSchema,
};
use arrow_avro::compression::CompressionCodec;
use arrow_avro::schema::AVRO_ENUM_SYMBOLS_METADATA_KEY;
use arrow_avro::writer::{AvroWriter as OcfWriter, WriterBuilder};
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::format::arrow_rs::{arrow_rs_field, to_arrow_rs_columns};
use crate::format::Codec;

/// Writes batches to an Avro file. Streams, except when a categorical column
/// needs its symbols (the whole table) before the file header can be written.
pub struct AvroWriter<W: Write> {
    state: State<W>,
    codec: Option<CompressionCodec>,
}

enum State<W: Write> {
    Streaming(Box<OcfWriter<W>>, Plan),
    Gathering(W, Schema, Vec<DataFrame>),
    Done,
}

/// How the batches of one polars schema become arrow-rs batches for Avro.
struct Plan {
    casts: Vec<(PlSmallStr, DataType)>,
    /// Column index and its enum symbols.
    enums: Vec<(usize, Vec<String>)>,
    schema: Arc<ArrowRsSchema>,
}

impl<W: Write> AvroWriter<W> {
    /// Checks every column first: nothing is written for a table Avro cannot hold.
    pub fn new(out: W, schema: &Schema, codec: Codec) -> Result<Self> {
        let codec = match codec {
            Codec::None => None,
            Codec::Deflate => Some(CompressionCodec::Deflate),
            Codec::Snappy => Some(CompressionCodec::Snappy),
            Codec::Zstd => Some(CompressionCodec::ZStandard),
            Codec::Bzip2 => Some(CompressionCodec::Bzip2),
            Codec::Xz => Some(CompressionCodec::Xz),
            other => return Err(Error::usage(format!("Avro cannot use {other} compression"))),
        };
        // Refuse what Avro cannot hold before the first byte.
        let casts = cast_plan(schema)?;
        let categorical = schema
            .iter_values()
            .any(|d| matches!(d, DataType::Categorical(..)));
        let state = if categorical {
            State::Gathering(out, schema.clone(), Vec::new())
        } else {
            let plan = Plan::new(schema, casts, &HashMap::new())?;
            State::Streaming(Box::new(open(out, &plan, codec)?), plan)
        };
        Ok(AvroWriter { state, codec })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        match &mut self.state {
            State::Streaming(w, plan) => write_frame(w, plan, df),
            State::Gathering(_, _, parts) => {
                parts.push(df.clone());
                Ok(())
            }
            State::Done => Err(Error::io("Avro writer already finished")),
        }
    }

    pub fn finish(mut self) -> Result<W> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Streaming(mut w, _) => {
                w.finish().map_err(avro_error)?;
                Ok(w.into_inner())
            }
            State::Gathering(out, schema, parts) => {
                let symbols = categorical_symbols(&schema, &parts)?;
                let plan = Plan::new(&schema, cast_plan(&schema)?, &symbols)?;
                let mut w = open(out, &plan, self.codec)?;
                for df in &parts {
                    write_frame(&mut w, &plan, df)?;
                }
                w.finish().map_err(avro_error)?;
                Ok(w.into_inner())
            }
            State::Done => Err(Error::io("Avro writer already finished")),
        }
    }
}

fn avro_error(e: arrow_avro::errors::AvroError) -> Error {
    Error::data(format!("Avro write failed: {e}"))
}

fn open<W: Write>(out: W, plan: &Plan, codec: Option<CompressionCodec>) -> Result<OcfWriter<W>> {
    WriterBuilder::new(plan.schema.as_ref().clone())
        .with_compression(codec)
        .build(out)
        .map_err(|e| Error::usage(format!("Avro cannot hold this table: {e}")))
}

fn write_frame<W: Write>(w: &mut OcfWriter<W>, plan: &Plan, df: &DataFrame) -> Result<()> {
    let mut df = df.clone();
    for (name, target) in &plan.casts {
        let cast = df.column(name)?.strict_cast(target)?;
        df.with_column(cast)?;
    }
    for mut arrays in to_arrow_rs_columns(&df)? {
        for (i, symbols) in &plan.enums {
            arrays[*i] = Arc::new(to_enum(&arrays[*i], symbols)?);
        }
        let batch = RecordBatch::try_new(plan.schema.clone(), arrays)
            .map_err(|e| Error::data(e.to_string()))?;
        w.write(&batch).map_err(avro_error)?;
    }
    Ok(())
}

impl Plan {
    fn new(
        schema: &Schema,
        casts: Vec<(PlSmallStr, DataType)>,
        categorical: &HashMap<PlSmallStr, Vec<String>>,
    ) -> Result<Plan> {
        let mut fields = Vec::with_capacity(schema.len());
        let mut enums = Vec::new();
        for (i, (name, dtype)) in schema.iter().enumerate() {
            let symbols = match dtype {
                DataType::Enum(categories, _) => Some(
                    categories
                        .categories()
                        .values_iter()
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                ),
                DataType::Categorical(..) => categorical.get(name).cloned(),
                _ => None,
            };
            if let Some(symbols) = symbols.filter(|s| s.iter().all(|s| is_avro_name(s))) {
                let json =
                    serde_json::to_string(&symbols).map_err(|e| Error::data(e.to_string()))?;
                let dict = ArrowRsType::Dictionary(
                    Box::new(ArrowRsType::Int32),
                    Box::new(ArrowRsType::Utf8),
                );
                fields
                    .push(ArrowRsField::new(name.as_str(), dict, true).with_metadata(
                        [(AVRO_ENUM_SYMBOLS_METADATA_KEY.to_string(), json)].into(),
                    ));
                enums.push((i, symbols));
                continue;
            }
            let written = casts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .unwrap_or(dtype);
            fields.push(arrow_rs_field(&Field::new(name.clone(), written.clone()))?);
        }
        Ok(Plan {
            casts,
            enums,
            schema: Arc::new(ArrowRsSchema::new(fields)),
        })
    }
}

/// Avro names (and so enum symbols): `[A-Za-z_][A-Za-z0-9_]*`.
fn is_avro_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The distinct values of each categorical column, sorted: its enum symbols.
fn categorical_symbols(
    schema: &Schema,
    parts: &[DataFrame],
) -> Result<HashMap<PlSmallStr, Vec<String>>> {
    let mut out = HashMap::new();
    for (name, dtype) in schema.iter() {
        if !matches!(dtype, DataType::Categorical(..)) {
            continue;
        }
        let mut seen = std::collections::BTreeSet::new();
        for df in parts {
            let text = df.column(name)?.cast(&DataType::String)?;
            for v in text.str()?.iter().flatten() {
                if !seen.contains(v) {
                    seen.insert(v.to_string());
                }
            }
        }
        out.insert(name.clone(), seen.into_iter().collect());
    }
    Ok(out)
}

/// A text column as dictionary keys into the enum's symbols.
fn to_enum(array: &ArrayRef, symbols: &[String]) -> Result<DictionaryArray<Int32Type>> {
    let index: HashMap<&str, i32> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as i32))
        .collect();
    let text =
        arrow::compute::cast(array, &ArrowRsType::Utf8).map_err(|e| Error::data(e.to_string()))?;
    let text = text.as_string::<i32>();
    let keys: Int32Array = text
        .iter()
        .map(|v| v.map(|v| index.get(v).copied().ok_or(v)).transpose())
        .collect::<std::result::Result<_, _>>()
        .map_err(|v| Error::data(format!("value '{v}' is not one of the enum's symbols")))?;
    let values: ArrayRef = Arc::new(StringArray::from_iter_values(symbols));
    DictionaryArray::try_new(keys, values).map_err(|e| Error::data(e.to_string()))
}

/// Casts that make a polars column writable; refuses what Avro cannot hold,
/// naming the column and what to cast it to.
fn cast_plan(schema: &Schema) -> Result<Vec<(PlSmallStr, DataType)>> {
    let mut casts = Vec::new();
    for (name, dtype) in schema.iter() {
        let target = avro_dtype(dtype).map_err(|hint| {
            Error::usage(format!(
                "Avro cannot hold column '{name}' of type {dtype}: {hint}"
            ))
        })?;
        if &target != dtype {
            casts.push((name.clone(), target));
        }
    }
    Ok(casts)
}

fn avro_dtype(dtype: &DataType) -> std::result::Result<DataType, String> {
    Ok(match dtype {
        // Avro has no unsigned 64-bit type: values above i64::MAX fail the write.
        DataType::UInt64 => DataType::Int64,
        DataType::Categorical(..) | DataType::Enum(..) | DataType::Null => DataType::String,
        DataType::List(inner) | DataType::Array(inner, _) => {
            DataType::List(Box::new(avro_dtype(inner)?))
        }
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Ok(Field::new(f.name().clone(), avro_dtype(f.dtype())?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::Float32
        | DataType::Float64
        | DataType::String
        | DataType::Binary
        | DataType::Date
        | DataType::Time
        | DataType::Decimal(..)
        | DataType::Datetime(..)
        | DataType::Duration(_) => dtype.clone(),
        other => {
            return Err(format!(
                "cast {other} to String (or to Decimal for wide integers) first"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::is_avro_name;

    #[test]
    fn enum_symbols_must_be_avro_names() {
        assert!(is_avro_name("SPADES"));
        assert!(is_avro_name("_x9"));
        assert!(!is_avro_name("New York"));
        assert!(!is_avro_name("9lives"));
        assert!(!is_avro_name(""));
    }
}
