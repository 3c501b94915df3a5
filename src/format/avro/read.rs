//! Avro files to polars batches. Avro types polars has no equivalent for are
//! converted: `uuid` to its canonical text, `fixed` to binary, `duration` to a
//! struct of its three parts, a union of several types to text, an enum to a
//! polars enum of the same symbols in the same order.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
};
use arrow::datatypes::{
    DataType as ArrowRsType, Field as ArrowRsField, Fields, IntervalUnit, Schema as ArrowRsSchema,
    TimeUnit,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use arrow_avro::reader::ReaderBuilder;
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::format::arrow_rs::{polars_schema, to_polars};
use crate::format::BatchStream;

/// How one top-level column is brought to a type polars holds.
#[derive(Clone)]
enum Conversion {
    Cast(ArrowRsType),
    Uuid,
    Union,
    Duration,
}

/// Opens an Avro object container file and streams its blocks as batches.
pub fn read(path: &Path) -> Result<BatchStream> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    let unreadable = move |shown: &str, e: &dyn std::fmt::Display| {
        Error::data(format!("{shown}: not a readable Avro file ({e})"))
    };
    super::blocks::check(path).map_err(|e| unreadable(&shown, &e))?;
    let built = std::panic::catch_unwind(|| {
        ReaderBuilder::new()
            .with_batch_size(65_536)
            .build(BufReader::with_capacity(1 << 20, file))
    });
    let mut reader = match built {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(unreadable(&shown, &e)),
        Err(_) => return Err(unreadable(&shown, &"corrupt header")),
    };
    let source = reader.schema();
    let plan: Vec<Conversion> = source
        .fields()
        .iter()
        .map(|f| {
            conversion(f)
                .map_err(|e| Error::unsupported(format!("{shown}: column '{}': {e}", f.name())))
        })
        .collect::<Result<_>>()?;
    let target = Arc::new(target_schema(&source, &plan));
    let mut schema = polars_schema(&target).map_err(|e| Error::data(format!("{shown}: {e}")))?;
    let enums = enum_columns(&source)?;
    for (i, dtype) in &enums {
        let name = source.field(*i).name().as_str();
        schema.with_column(name.into(), dtype.clone());
    }
    let batches = std::iter::from_fn(move || {
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next()));
        match next {
            Ok(None) => None,
            Ok(Some(Ok(batch))) => Some(
                convert(&batch, &plan, &target)
                    .and_then(|b| to_polars(&b))
                    .and_then(|df| with_enums(df, &enums))
                    .map_err(|e| Error::data(format!("{shown}: {e}"))),
            ),
            Ok(Some(Err(e))) => Some(Err(unreadable(&shown, &e))),
            Err(_) => Some(Err(unreadable(&shown, &"corrupt block"))),
        }
    })
    .fuse();
    Ok(BatchStream {
        schema: Arc::new(schema),
        batches: Box::new(batches),
    })
}

fn conversion(field: &ArrowRsField) -> std::result::Result<Conversion, String> {
    let is_uuid = field.metadata().get("logicalType").map(String::as_str) == Some("uuid");
    Ok(match field.data_type() {
        ArrowRsType::FixedSizeBinary(16) if is_uuid => Conversion::Uuid,
        ArrowRsType::Union(..) => Conversion::Union,
        ArrowRsType::Interval(IntervalUnit::MonthDayNano) => Conversion::Duration,
        other => Conversion::Cast(friendly(other)?),
    })
}

/// The nearest type polars holds, for types inside lists, maps and records.
fn friendly(dtype: &ArrowRsType) -> std::result::Result<ArrowRsType, String> {
    use ArrowRsType as T;
    let field = |f: &ArrowRsField| -> std::result::Result<ArrowRsField, String> {
        Ok(ArrowRsField::new(
            f.name(),
            friendly(f.data_type())?,
            f.is_nullable(),
        ))
    };
    Ok(match dtype {
        T::Timestamp(unit, Some(_)) => T::Timestamp(*unit, Some("UTC".into())),
        T::FixedSizeBinary(_) => T::Binary,
        T::Time32(_) | T::Time64(_) => T::Time64(TimeUnit::Nanosecond),
        T::Decimal256(..) => T::Utf8,
        T::List(f) => T::List(Arc::new(field(f)?)),
        T::Struct(fs) => T::Struct(fs.iter().map(|f| field(f)).collect::<std::result::Result<Fields, _>>()?),
        T::Map(entries, sorted) => T::Map(Arc::new(field(entries)?), *sorted),
        T::Union(..) | T::Interval(_) => {
            return Err("a union of several types or a duration inside a list, map or record is not supported yet".into())
        }
        other => other.clone(),
    })
}

fn target_schema(source: &ArrowRsSchema, plan: &[Conversion]) -> ArrowRsSchema {
    let fields: Vec<ArrowRsField> = source
        .fields()
        .iter()
        .zip(plan)
        .map(|(f, c)| {
            let dtype = match c {
                Conversion::Cast(t) => t.clone(),
                Conversion::Uuid | Conversion::Union => ArrowRsType::Utf8,
                Conversion::Duration => ArrowRsType::Struct(duration_fields()),
            };
            ArrowRsField::new(f.name(), dtype, true)
        })
        .collect();
    ArrowRsSchema::new(fields)
}

fn duration_fields() -> Fields {
    vec![
        ArrowRsField::new("months", ArrowRsType::Int32, true),
        ArrowRsField::new("days", ArrowRsType::Int32, true),
        ArrowRsField::new("milliseconds", ArrowRsType::Int64, true),
    ]
    .into()
}

fn convert(
    batch: &RecordBatch,
    plan: &[Conversion],
    target: &Arc<ArrowRsSchema>,
) -> std::result::Result<RecordBatch, String> {
    let mut arrays = Vec::with_capacity(plan.len());
    for (array, c) in batch.columns().iter().zip(plan) {
        let converted: ArrayRef = match c {
            Conversion::Cast(t) if t == array.data_type() => array.clone(),
            Conversion::Cast(t) => arrow::compute::cast(array, t).map_err(|e| e.to_string())?,
            Conversion::Uuid => Arc::new(uuid_text(array)),
            Conversion::Union => Arc::new(union_text(array)?),
            Conversion::Duration => Arc::new(duration_parts(array)),
        };
        arrays.push(converted);
    }
    RecordBatch::try_new(target.clone(), arrays).map_err(|e| e.to_string())
}

fn uuid_text(array: &ArrayRef) -> StringArray {
    let bytes = array.as_fixed_size_binary();
    (0..bytes.len())
        .map(|i| {
            bytes.is_valid(i).then(|| {
                let h = hex::encode(bytes.value(i));
                format!(
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                )
            })
        })
        .collect()
}

/// Each value of a union as text, as its own branch would print it.
fn union_text(array: &ArrayRef) -> std::result::Result<StringArray, String> {
    let union = array.as_union();
    let options = FormatOptions::default();
    let mut out = Vec::with_capacity(union.len());
    for i in 0..union.len() {
        let child = union.child(union.type_id(i));
        let offset = union.value_offset(i);
        if child.data_type() == &ArrowRsType::Null || child.is_null(offset) {
            out.push(None);
            continue;
        }
        let formatter =
            ArrayFormatter::try_new(child.as_ref(), &options).map_err(|e| e.to_string())?;
        out.push(Some(formatter.value(offset).to_string()));
    }
    Ok(out.into_iter().collect())
}

/// Avro `duration` (months, days, milliseconds) as a struct of those parts.
fn duration_parts(array: &ArrayRef) -> StructArray {
    let values = array.as_primitive::<arrow::datatypes::IntervalMonthDayNanoType>();
    let months: Int32Array = values.iter().map(|v| v.map(|v| v.months)).collect();
    let days: Int32Array = values.iter().map(|v| v.map(|v| v.days)).collect();
    let millis: Int64Array = values
        .iter()
        .map(|v| v.map(|v| v.nanoseconds / 1_000_000))
        .collect();
    StructArray::new(
        duration_fields(),
        vec![Arc::new(months), Arc::new(days), Arc::new(millis)],
        values.nulls().cloned(),
    )
}

/// Top-level Avro enums become polars enums with the file's symbols.
fn enum_columns(schema: &ArrowRsSchema) -> Result<Vec<(usize, DataType)>> {
    let mut out = Vec::new();
    for (i, f) in schema.fields().iter().enumerate() {
        let Some(json) = f
            .metadata()
            .get(arrow_avro::schema::AVRO_ENUM_SYMBOLS_METADATA_KEY)
        else {
            continue;
        };
        if !matches!(f.data_type(), ArrowRsType::Dictionary(..)) {
            continue;
        }
        let symbols: Vec<String> = serde_json::from_str(json)
            .map_err(|e| Error::data(format!("enum '{}': bad symbols ({e})", f.name())))?;
        let categories = FrozenCategories::new(symbols.iter().map(String::as_str))?;
        out.push((i, DataType::from_frozen_categories(categories)));
    }
    Ok(out)
}

fn with_enums(
    mut df: DataFrame,
    enums: &[(usize, DataType)],
) -> std::result::Result<DataFrame, String> {
    for (i, dtype) in enums {
        let column = df.columns()[*i]
            .strict_cast(dtype)
            .map_err(|e| e.to_string())?;
        df.replace_column(*i, column).map_err(|e| e.to_string())?;
    }
    Ok(df)
}
