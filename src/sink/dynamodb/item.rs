//! Rows to DynamoDB items, in the service's JSON form (`{"N": "1.5"}`):
//! integers, floats and decimals as N with their exact decimal text
//! (floats: the shortest text that reads back as the same float); text as
//! S; binary as B; booleans as BOOL; lists and arrays as L; structs as M;
//! null as NULL; dates, timestamps and times as ISO 8601 text in S
//! (timestamps with a zone in UTC with `Z`), durations as polars prints them.

use base64::Engine;
use polars::prelude::*;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::format::temporal::{iso_date, iso_datetime};

/// One attribute value, or why it cannot be one.
pub fn attribute(v: &AnyValue) -> std::result::Result<Value, String> {
    Ok(match v {
        AnyValue::Null => json!({ "NULL": true }),
        AnyValue::Boolean(b) => json!({ "BOOL": b }),
        AnyValue::Int8(i) => number(i.to_string()),
        AnyValue::Int16(i) => number(i.to_string()),
        AnyValue::Int32(i) => number(i.to_string()),
        AnyValue::Int64(i) => number(i.to_string()),
        AnyValue::Int128(i) => number(i.to_string()),
        AnyValue::UInt8(i) => number(i.to_string()),
        AnyValue::UInt16(i) => number(i.to_string()),
        AnyValue::UInt32(i) => number(i.to_string()),
        AnyValue::UInt64(i) => number(i.to_string()),
        AnyValue::Float32(f) => float(*f as f64, f.to_string())?,
        AnyValue::Float64(f) => float(*f, f.to_string())?,
        AnyValue::Decimal(v, _, scale) => number(decimal_text(*v, *scale)),
        AnyValue::String(s) => json!({ "S": s }),
        AnyValue::StringOwned(s) => json!({ "S": s.as_str() }),
        AnyValue::Binary(b) => json!({ "B": base64::engine::general_purpose::STANDARD.encode(b) }),
        AnyValue::BinaryOwned(b) => {
            json!({ "B": base64::engine::general_purpose::STANDARD.encode(b) })
        }
        AnyValue::Date(d) => json!({ "S": iso_date(*d).unwrap_or_else(|| d.to_string()) }),
        AnyValue::Datetime(t, unit, tz) => json!({ "S": iso_datetime(*t, *unit, tz.is_some()) }),
        AnyValue::DatetimeOwned(t, unit, tz) => {
            json!({ "S": iso_datetime(*t, *unit, tz.is_some()) })
        }
        AnyValue::Time(ns) => {
            let secs = (*ns / 1_000_000_000) as u32;
            let nanos = (*ns % 1_000_000_000) as u32;
            let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
                .ok_or_else(|| format!("{ns} ns is not a time of day"))?;
            json!({ "S": t.format("%H:%M:%S%.f").to_string() })
        }
        AnyValue::Duration(..) => json!({ "S": v.to_string() }),
        AnyValue::Categorical(..)
        | AnyValue::CategoricalOwned(..)
        | AnyValue::Enum(..)
        | AnyValue::EnumOwned(..) => json!({ "S": v.get_str().unwrap_or_default() }),
        AnyValue::List(s) | AnyValue::Array(s, _) => {
            let s = s.rechunk();
            let items: std::result::Result<Vec<Value>, String> =
                s.iter().map(|x| attribute(&x)).collect();
            json!({ "L": items? })
        }
        AnyValue::Struct(..) | AnyValue::StructOwned(..) => {
            let mut m = Map::new();
            match v {
                AnyValue::StructOwned(b) => {
                    for (x, f) in b.0.iter().zip(&b.1) {
                        m.insert(f.name().to_string(), attribute(x)?);
                    }
                }
                AnyValue::Struct(_, _, fields) => {
                    for (x, f) in v._iter_struct_av().zip(fields.iter()) {
                        m.insert(f.name().to_string(), attribute(&x)?);
                    }
                }
                _ => unreachable!(),
            }
            json!({ "M": m })
        }
        other => return Err(format!("{} values have no DynamoDB type", other.dtype())),
    })
}

fn number(text: String) -> Value {
    json!({ "N": text })
}

fn float(f: f64, text: String) -> std::result::Result<Value, String> {
    if !f.is_finite() {
        return Err(format!("{f} is not a number DynamoDB can store"));
    }
    Ok(number(text))
}

/// `12345` with scale 2 → `123.45`, exactly.
fn decimal_text(v: i128, scale: usize) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// The items of a batch: each row's attributes, in column order.
pub fn items(df: &DataFrame, first_row: u64) -> Result<Vec<Map<String, Value>>> {
    let columns: Vec<Series> = df
        .columns()
        .iter()
        .map(|c| c.as_materialized_series().rechunk())
        .collect();
    let mut out = Vec::with_capacity(df.height());
    for row in 0..df.height() {
        let mut item = Map::with_capacity(columns.len());
        for s in &columns {
            let v = s.get(row)?;
            let a = attribute(&v).map_err(|why| {
                Error::data(format!(
                    "row {}, column '{}': {why}",
                    first_row + row as u64 + 1,
                    s.name()
                ))
            })?;
            item.insert(s.name().to_string(), a);
        }
        out.push(item);
    }
    Ok(out)
}

/// The scalar attribute type a key column has (S, N or B), if it can be a key.
pub fn key_type(dtype: &DataType) -> Option<&'static str> {
    match dtype {
        DataType::String | DataType::Categorical(..) | DataType::Enum(..) => Some("S"),
        DataType::Date | DataType::Datetime(..) | DataType::Time => Some("S"),
        d if d.is_integer() || d.is_float() || d.is_decimal() => Some("N"),
        DataType::Binary => Some("B"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_map_to_typed_attributes() {
        assert_eq!(decimal_text(12345, 2), "123.45");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(
            attribute(&AnyValue::Float64(0.1)).unwrap(),
            json!({"N": "0.1"})
        );
        assert_eq!(
            attribute(&AnyValue::Float64(1e21)).unwrap(),
            json!({"N": "1000000000000000000000"})
        );
        assert!(attribute(&AnyValue::Float64(f64::NAN)).is_err());
        assert_eq!(attribute(&AnyValue::Null).unwrap(), json!({"NULL": true}));
        assert_eq!(
            attribute(&AnyValue::Binary(b"hi")).unwrap(),
            json!({"B": "aGk="})
        );
        assert_eq!(
            attribute(&AnyValue::Date(1)).unwrap(),
            json!({"S": "1970-01-02"})
        );
        let list = AnyValue::List(Series::new("x".into(), [Some(1i64), None]));
        assert_eq!(
            attribute(&list).unwrap(),
            json!({"L": [{"N": "1"}, {"NULL": true}]})
        );
    }
}
