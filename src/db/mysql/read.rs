//! Reading MariaDB/MySQL: a query's rows arrive as text (or bytes for
//! binary columns) and are parsed into typed columns as they are pushed:
//!
//! | MariaDB/MySQL | polars |
//! |---|---|
//! | TINYINT(1) | Boolean |
//! | TINYINT..BIGINT (UNSIGNED too), YEAR, BIT | Int8..Int64, UInt8..UInt64 |
//! | FLOAT / DOUBLE | Float32 / Float64 |
//! | DECIMAL(p,s) (p ≤ 38) / DECIMAL (p > 38) | Decimal(p,s) / Float64 |
//! | CHAR, VARCHAR, TEXT, JSON, ENUM, SET | String |
//! | BINARY, VARBINARY, BLOB, GEOMETRY | Binary |
//! | DATE / DATETIME, TIMESTAMP / TIME | Date / Datetime(µs) / Time |

use polars::prelude::*;

use crate::db::batches::{schema_of, Batcher, Builder, Out};
use crate::error::{Error, Result};

#[derive(Clone, Copy)]
enum MyIn {
    Bool,
    Int,
    UInt,
    Float,
    Decimal,
    Text,
    Bin,
    Date,
    Datetime,
    Time,
    Bit,
}

fn my_column(c: &mysql_async::Column) -> (MyIn, DataType) {
    use mysql_async::consts::{ColumnFlags, ColumnType as T};
    let unsigned = c.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = c.character_set() == 63;
    let int = |s: DataType, u: DataType| {
        if unsigned {
            (MyIn::UInt, u)
        } else {
            (MyIn::Int, s)
        }
    };
    match c.column_type() {
        T::MYSQL_TYPE_TINY if c.column_length() == 1 => (MyIn::Bool, DataType::Boolean),
        T::MYSQL_TYPE_TINY => int(DataType::Int8, DataType::UInt8),
        T::MYSQL_TYPE_SHORT | T::MYSQL_TYPE_YEAR => int(DataType::Int16, DataType::UInt16),
        T::MYSQL_TYPE_INT24 | T::MYSQL_TYPE_LONG => int(DataType::Int32, DataType::UInt32),
        T::MYSQL_TYPE_LONGLONG => int(DataType::Int64, DataType::UInt64),
        T::MYSQL_TYPE_FLOAT => (MyIn::Float, DataType::Float32),
        T::MYSQL_TYPE_DOUBLE => (MyIn::Float, DataType::Float64),
        T::MYSQL_TYPE_DECIMAL | T::MYSQL_TYPE_NEWDECIMAL => {
            let s = c.decimals() as usize;
            let len = c.column_length() as usize;
            let p = len.saturating_sub(usize::from(s > 0) + usize::from(!unsigned));
            if (1..=38).contains(&p) && s <= p {
                (MyIn::Decimal, DataType::Decimal(p, s))
            } else {
                (MyIn::Float, DataType::Float64)
            }
        }
        T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => (MyIn::Date, DataType::Date),
        T::MYSQL_TYPE_DATETIME
        | T::MYSQL_TYPE_DATETIME2
        | T::MYSQL_TYPE_TIMESTAMP
        | T::MYSQL_TYPE_TIMESTAMP2 => (
            MyIn::Datetime,
            DataType::Datetime(TimeUnit::Microseconds, None),
        ),
        T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => (MyIn::Time, DataType::Time),
        T::MYSQL_TYPE_BIT => (MyIn::Bit, DataType::UInt64),
        T::MYSQL_TYPE_GEOMETRY => (MyIn::Bin, DataType::Binary),
        T::MYSQL_TYPE_JSON => (MyIn::Text, DataType::String),
        _ if binary => (MyIn::Bin, DataType::Binary),
        _ => (MyIn::Text, DataType::String),
    }
}

fn parse<T: std::str::FromStr>(text: &str, col: &str) -> Result<T> {
    text.parse::<T>()
        .map_err(|_| Error::data(format!("column '{col}': cannot read '{text}'")))
}

/// `123.45` at `scale` → 12345.
fn decimal_of(text: &str, scale: usize, col: &str) -> Result<i128> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut frac = frac.to_string();
    frac.truncate(scale);
    while frac.len() < scale {
        frac.push('0');
    }
    let v: i128 = parse(&format!("{int}{frac}"), col)?;
    Ok(if neg { -v } else { v })
}

fn my_push(b: &mut Builder, kind: MyIn, raw: &[u8], col: &str) -> Result<()> {
    if matches!(kind, MyIn::Bin) {
        if let Builder::Bin(v) = b {
            v.push(Some(raw.to_vec()));
            return Ok(());
        }
    }
    if matches!(kind, MyIn::Bit) {
        if let Builder::U64(v) = b {
            v.push(Some(raw.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x))));
            return Ok(());
        }
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| Error::data(format!("column '{col}': text is not UTF-8")))?;
    match b {
        Builder::Bool(v) => v.push(Some(text != "0")),
        Builder::I8(v) => v.push(Some(parse(text, col)?)),
        Builder::I16(v) => v.push(Some(parse(text, col)?)),
        Builder::I32(v) => v.push(Some(parse(text, col)?)),
        Builder::I64(v) => v.push(Some(parse(text, col)?)),
        Builder::U8(v) => v.push(Some(parse(text, col)?)),
        Builder::U16(v) => v.push(Some(parse(text, col)?)),
        Builder::U32(v) => v.push(Some(parse(text, col)?)),
        Builder::U64(v) => v.push(Some(parse(text, col)?)),
        Builder::F32(v) => v.push(Some(parse(text, col)?)),
        Builder::F64(v) => v.push(Some(parse(text, col)?)),
        Builder::Decimal(v, _, s) => v.push(Some(decimal_of(text, *s, col)?)),
        Builder::Str(v) => v.push(Some(text.to_string())),
        Builder::Date(v) => {
            // Zero dates ('0000-00-00') read as null.
            let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
            v.push(d.map(|d| (d - chrono::NaiveDate::default()).num_days() as i32))
        }
        Builder::Datetime(v, _) => {
            let t = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok();
            v.push(t.map(|t| t.and_utc().timestamp_micros()))
        }
        Builder::Time(v) => {
            let t = chrono::NaiveTime::parse_from_str(text, "%H:%M:%S%.f").map_err(|_| {
                Error::data(format!(
                    "column '{col}': '{text}' is not a time of day (MariaDB TIME can exceed 24 hours or be negative; cast it in --query)"
                ))
            })?;
            use chrono::Timelike;
            v.push(Some(
                i64::from(t.num_seconds_from_midnight()) * 1_000_000_000
                    + i64::from(t.nanosecond()),
            ))
        }
        _ => unreachable!("builders follow the column kinds"),
    }
    let _ = kind;
    Ok(())
}

/// Runs `sql` and sends its rows to `out` (on the reader thread).
pub fn read(url: &url::Url, sql: &str, mut out: Out) {
    use mysql_async::prelude::*;
    let result = crate::runtime::get().block_on(async {
        let mut conn = super::connect(url).await?;
        let me = |e: mysql_async::Error| super::mysql_error(url, &e);
        let mut result = conn.query_iter(sql).await.map_err(me)?;
        let columns = result.columns().unwrap_or_else(|| Vec::new().into());
        let mut kinds = Vec::new();
        let mut cols = Vec::new();
        for c in columns.iter() {
            let (k, t) = my_column(c);
            kinds.push(k);
            cols.push((c.name_str().to_string(), t));
        }
        let schema = schema_of(cols)?;
        let mut batcher = Batcher::new(&schema);
        let names = batcher.names.clone();
        out.schema(schema);
        while let Some(row) = result.next().await.map_err(me)? {
            for (i, b) in batcher.builders.iter_mut().enumerate() {
                match row.as_ref(i) {
                    None | Some(mysql_async::Value::NULL) => b.push_null(),
                    Some(mysql_async::Value::Bytes(raw)) => my_push(b, kinds[i], raw, &names[i])?,
                    Some(other) => {
                        let text = other.as_sql(true);
                        my_push(b, kinds[i], text.trim_matches('\'').as_bytes(), &names[i])?
                    }
                }
            }
            if !batcher.row_done(&mut out)? {
                return Ok(());
            }
        }
        batcher.finish(&mut out)?;
        drop(result);
        let _ = conn.disconnect().await;
        Ok(())
    });
    if let Err(e) = result {
        out.fail(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_at_their_scale() {
        assert_eq!(decimal_of("-0.05", 2, "x").unwrap(), -5);
        assert_eq!(decimal_of("12", 3, "x").unwrap(), 12000);
    }
}
