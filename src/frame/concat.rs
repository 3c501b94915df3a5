//! Several inputs as one table, by column name.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameData};

/// Concatenates inputs by column name: a column missing from an input is
/// null there; numeric types widen; other type conflicts are errors naming
/// both inputs and the column.
pub fn concat_by_name(frames: Vec<(String, Frame)>) -> Result<Frame> {
    let mut unified: Vec<(PlSmallStr, DataType, String)> = Vec::new();
    let mut prepared = Vec::with_capacity(frames.len());
    for (name, frame) in frames {
        let mut frame = frame.into_lazy()?;
        let schema = frame.schema()?;
        for (col_name, dtype) in schema.iter() {
            match unified.iter_mut().find(|(n, _, _)| n == col_name) {
                None => unified.push((col_name.clone(), dtype.clone(), name.clone())),
                Some((_, have, first)) => {
                    *have = widen(have, dtype).ok_or_else(|| {
                        Error::data(format!(
                            "column '{col_name}' is {} in {first} but {} in {name}: the inputs cannot be combined (give --schema {col_name}:TYPE to read both alike)",
                            crate::dtype::display_dtype(have),
                            crate::dtype::display_dtype(dtype)
                        ))
                    })?;
                }
            }
        }
        prepared.push((frame, schema));
    }
    let mut lfs = Vec::with_capacity(prepared.len());
    let mut explainers = Vec::new();
    let mut temps = Vec::new();
    let mut rows = Some(0u64);
    for (frame, schema) in prepared {
        rows = rows.zip(frame.rows).map(|(a, b)| a + b);
        let casts: Vec<Expr> = unified
            .iter()
            .filter(|(n, t, _)| schema.get(n).is_some_and(|have| have != t))
            .map(|(n, t, _)| col(n.clone()).cast(t.clone()))
            .collect();
        explainers.extend(frame.explainers);
        temps.extend(frame.temps);
        let FrameData::Lazy(lf) = frame.data else {
            unreachable!("into_lazy returns a plan")
        };
        lfs.push(if casts.is_empty() {
            lf
        } else {
            lf.with_columns(casts)
        });
    }
    let order: Vec<Expr> = unified.iter().map(|(n, _, _)| col(n.clone())).collect();
    let lf = concat_lf_diagonal(
        lfs,
        UnionArgs {
            rechunk: false,
            parallel: true,
            ..Default::default()
        },
    )?
    .select(order);
    Ok(Frame {
        data: FrameData::Lazy(lf),
        explainers,
        temps,
        rows,
    })
}

fn widen(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Null, x) | (x, Null) => Some(x.clone()),
        (x, y) if x.is_primitive_numeric() && y.is_primitive_numeric() => {
            Some(numeric_supertype(x, y))
        }
        (Date, Datetime(u, tz)) | (Datetime(u, tz), Date) => Some(Datetime(*u, tz.clone())),
        (Datetime(_, tz1), Datetime(_, tz2)) if tz1 == tz2 => {
            Some(Datetime(TimeUnit::Microseconds, tz1.clone()))
        }
        _ => None,
    }
}

/// The narrowest type holding both numeric types without loss of range.
fn numeric_supertype(a: &DataType, b: &DataType) -> DataType {
    if a.is_float() || b.is_float() {
        return if matches!((a, b), (DataType::Float32, DataType::Float32)) {
            DataType::Float32
        } else {
            DataType::Float64
        };
    }
    let bits = |t: &DataType| match t {
        DataType::Int8 | DataType::UInt8 => 8,
        DataType::Int16 | DataType::UInt16 => 16,
        DataType::Int32 | DataType::UInt32 => 32,
        _ => 64,
    };
    if a.is_signed_integer() == b.is_signed_integer() {
        return if bits(a) >= bits(b) {
            a.clone()
        } else {
            b.clone()
        };
    }
    match bits(a).max(bits(b)) {
        8 => DataType::Int16,
        16 => DataType::Int32,
        _ => DataType::Int64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_widen_other_types_conflict() {
        assert_eq!(
            widen(&DataType::Int32, &DataType::Int64),
            Some(DataType::Int64)
        );
        assert_eq!(
            widen(&DataType::Int64, &DataType::Float32),
            Some(DataType::Float64)
        );
        assert_eq!(
            widen(&DataType::UInt32, &DataType::Int8),
            Some(DataType::Int64)
        );
        assert_eq!(
            widen(&DataType::Null, &DataType::String),
            Some(DataType::String)
        );
        assert_eq!(widen(&DataType::Int64, &DataType::String), None);
    }
}
