//! Decoding PostgreSQL's binary values (as a query sends them) into the
//! column builders of a batch.

use super::{numeric_value, NumericValue, PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::db::batches::Builder;
use crate::error::{Error, Result};

/// How a column's binary values are decoded.
#[derive(Clone, Copy)]
pub enum PgIn {
    Bool,
    I16,
    I32,
    I64,
    Oid,
    F32,
    F64,
    Numeric(Option<usize>),
    Text,
    Jsonb,
    Uuid,
    Bytea,
    Date,
    Timestamp,
    Time,
    Interval,
}

fn be<const N: usize>(raw: &[u8], col: &str) -> Result<[u8; N]> {
    raw.try_into().map_err(|_| {
        Error::data(format!(
            "column '{col}': unexpected value size {}",
            raw.len()
        ))
    })
}

/// Appends one value (`raw`, as the server sent it) to the column's builder.
pub fn push(b: &mut Builder, kind: PgIn, raw: &[u8], col: &str) -> Result<()> {
    let utf8 = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| Error::data(format!("column '{col}': text is not UTF-8")))
    };
    match (b, kind) {
        (Builder::Bool(v), PgIn::Bool) => v.push(Some(raw.first() == Some(&1))),
        (Builder::I16(v), PgIn::I16) => v.push(Some(i16::from_be_bytes(be(raw, col)?))),
        (Builder::I32(v), PgIn::I32) => v.push(Some(i32::from_be_bytes(be(raw, col)?))),
        (Builder::I64(v), PgIn::I64) => v.push(Some(i64::from_be_bytes(be(raw, col)?))),
        (Builder::I64(v), PgIn::Oid) => v.push(Some(i64::from(u32::from_be_bytes(be(raw, col)?)))),
        (Builder::F32(v), PgIn::F32) => v.push(Some(f32::from_be_bytes(be(raw, col)?))),
        (Builder::F64(v), PgIn::F64) => v.push(Some(f64::from_be_bytes(be(raw, col)?))),
        (Builder::Decimal(v, ..), PgIn::Numeric(s)) => match numeric_value(raw, s, col)? {
            NumericValue::Int(i) => v.push(Some(i)),
            NumericValue::Float(_) => unreachable!("scaled numerics are integers"),
        },
        (Builder::F64(v), PgIn::Numeric(None)) => match numeric_value(raw, None, col)? {
            NumericValue::Float(f) => v.push(Some(f)),
            NumericValue::Int(_) => unreachable!("unscaled numerics are floats"),
        },
        (Builder::Str(v), PgIn::Text) => v.push(Some(utf8(raw)?)),
        (Builder::Str(v), PgIn::Jsonb) => v.push(Some(utf8(raw.get(1..).unwrap_or(&[]))?)),
        (Builder::Str(v), PgIn::Uuid) => {
            let h = hex::encode(raw);
            v.push(Some(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )))
        }
        (Builder::Bin(v), PgIn::Bytea) => v.push(Some(raw.to_vec())),
        (Builder::Date(v), PgIn::Date) => {
            let d = i32::from_be_bytes(be(raw, col)?);
            // ±infinity are i32::MAX/MIN: no date.
            v.push((d != i32::MAX && d != i32::MIN).then(|| d + PG_EPOCH_DAYS))
        }
        (Builder::Datetime(v, _), PgIn::Timestamp) => {
            let t = i64::from_be_bytes(be(raw, col)?);
            v.push((t != i64::MAX && t != i64::MIN).then(|| t + PG_EPOCH_MICROS))
        }
        (Builder::Time(v), PgIn::Time) => v.push(Some(i64::from_be_bytes(be(raw, col)?) * 1000)),
        (Builder::Duration(v), PgIn::Interval) => {
            let raw: [u8; 16] = be(raw, col)?;
            let us = i64::from_be_bytes(raw[0..8].try_into().unwrap());
            let days = i32::from_be_bytes(raw[8..12].try_into().unwrap());
            let months = i32::from_be_bytes(raw[12..16].try_into().unwrap());
            if months != 0 {
                return Err(Error::data(format!(
                    "column '{col}': an interval with months has no fixed length; cast it in --query (e.g. extract(epoch from {col}))"
                )));
            }
            v.push(Some(us + i64::from(days) * 86_400_000_000))
        }
        _ => unreachable!("builders follow the column kinds"),
    }
    Ok(())
}
