//! The text `LOAD DATA` reads by default (tab-separated, backslash escapes,
//! `\N` for null), encoded column by column from polars batches, and how
//! each polars type is stored in MariaDB/MySQL.

use std::io::Write;

use polars::prelude::*;

use crate::db::encode::{encode_columns, encode_threads};
use crate::error::{Error, Result};

/// How a polars type is stored in MariaDB/MySQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MyType {
    Bool,
    Int(&'static str),
    Float,
    Double,
    Decimal(usize, usize),
    Text,
    Blob,
    Date,
    /// Time zone aware timestamps are stored in UTC.
    Datetime,
    Time,
}

impl MyType {
    pub fn for_dtype(dtype: &DataType) -> Option<MyType> {
        Some(match dtype {
            DataType::Boolean => MyType::Bool,
            DataType::Int8 => MyType::Int("TINYINT"),
            DataType::Int16 => MyType::Int("SMALLINT"),
            DataType::Int32 => MyType::Int("INT"),
            DataType::Int64 => MyType::Int("BIGINT"),
            DataType::UInt8 => MyType::Int("TINYINT UNSIGNED"),
            DataType::UInt16 => MyType::Int("SMALLINT UNSIGNED"),
            DataType::UInt32 => MyType::Int("INT UNSIGNED"),
            DataType::UInt64 => MyType::Int("BIGINT UNSIGNED"),
            DataType::Float32 => MyType::Float,
            d if d.is_float() => MyType::Double,
            DataType::Decimal(p, s) if *s <= 30 => MyType::Decimal(*p, *s),
            DataType::String | DataType::Null | DataType::Categorical(..) | DataType::Enum(..) => {
                MyType::Text
            }
            DataType::Binary | DataType::BinaryOffset => MyType::Blob,
            DataType::Date => MyType::Date,
            DataType::Datetime(..) => MyType::Datetime,
            DataType::Time => MyType::Time,
            _ => return None,
        })
    }

    pub fn sql(&self, key: bool) -> String {
        match self {
            MyType::Bool => "TINYINT(1)".into(),
            MyType::Int(t) => (*t).into(),
            MyType::Float => "FLOAT".into(),
            MyType::Double => "DOUBLE".into(),
            MyType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            // Key columns need a bounded type to be indexed.
            MyType::Text if key => "VARCHAR(255)".into(),
            MyType::Text => "LONGTEXT".into(),
            MyType::Blob if key => "VARBINARY(255)".into(),
            MyType::Blob => "LONGBLOB".into(),
            MyType::Date => "DATE".into(),
            MyType::Datetime => "DATETIME(6)".into(),
            MyType::Time => "TIME(6)".into(),
        }
    }
}
/// One column's text fields (escaped), end offsets per row.
struct Fields {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    fn new(rows: usize, bytes: usize) -> Fields {
        Fields {
            data: Vec::with_capacity(rows * bytes),
            ends: Vec::with_capacity(rows),
        }
    }
    #[inline]
    fn end(&mut self) {
        self.ends.push(self.data.len());
    }
}

fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let rep: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0 => b"\\0",
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

fn micros_of(tu: TimeUnit, v: i64) -> i64 {
    match tu {
        TimeUnit::Nanoseconds => v.div_euclid(1000),
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v.saturating_mul(1000),
    }
}

fn write_datetime(out: &mut Vec<u8>, micros: i64) -> Result<()> {
    let dt = chrono::DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Error::data(format!("timestamp {micros}µs is out of range")))?
        .naive_utc();
    use chrono::{Datelike, Timelike};
    write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond() / 1000
    )?;
    Ok(())
}

fn encode_column(s: &Series, ty: &MyType) -> Result<Fields> {
    let n = s.len();
    let name = s.name().to_string();
    let mut f;
    match ty {
        MyType::Bool => {
            f = Fields::new(n, 2);
            for v in s.bool()?.iter() {
                match v {
                    Some(b) => f.data.push(if b { b'1' } else { b'0' }),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Int(_) => {
            f = Fields::new(n, 8);
            let mut buf = itoa::Buffer::new();
            if matches!(s.dtype(), DataType::UInt64) {
                for v in s.u64()?.iter() {
                    match v {
                        Some(x) => f.data.extend_from_slice(buf.format(x).as_bytes()),
                        None => f.data.extend_from_slice(b"\\N"),
                    }
                    f.end();
                }
            } else {
                let c = s.cast(&DataType::Int64)?;
                for v in c.i64()?.iter() {
                    match v {
                        Some(x) => f.data.extend_from_slice(buf.format(x).as_bytes()),
                        None => f.data.extend_from_slice(b"\\N"),
                    }
                    f.end();
                }
            }
        }
        MyType::Float | MyType::Double => {
            f = Fields::new(n, 12);
            let mut buf = ryu::Buffer::new();
            let c = s.cast(&DataType::Float64)?;
            let single = *ty == MyType::Float;
            for v in c.f64()?.iter() {
                match v {
                    Some(x) if !x.is_finite() => {
                        return Err(Error::data(format!(
                            "column '{name}': {x} cannot be stored in MariaDB/MySQL (no NaN or infinity); replace it with null first"
                        )))
                    }
                    Some(x) if single => f
                        .data
                        .extend_from_slice(buf.format(x as f32).as_bytes()),
                    Some(x) => f.data.extend_from_slice(buf.format(x).as_bytes()),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Decimal(_, scale) => {
            f = Fields::new(n, 12);
            let phys = s.to_physical_repr();
            for v in phys.i128()?.iter() {
                match v {
                    Some(x) => decimal_text(&mut f.data, x, *scale),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Text => {
            let c = if s.dtype() == &DataType::String {
                s.clone()
            } else {
                s.cast(&DataType::String)?
            };
            let ca = c.str()?;
            f = Fields::new(0, 0);
            f.data.reserve(n * 16 + n * 2);
            f.ends.reserve(n);
            for v in ca.iter() {
                match v {
                    Some(t) => escape_into(&mut f.data, t.as_bytes()),
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Blob => {
            let c = s.cast(&DataType::Binary)?;
            f = Fields::new(n, 16);
            for v in c.binary()?.iter() {
                match v {
                    Some(b) => {
                        for byte in b {
                            write!(f.data, "{byte:02X}")?;
                        }
                    }
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Date => {
            f = Fields::new(n, 10);
            let phys = s.to_physical_repr();
            for v in phys.i32()?.iter() {
                match v {
                    Some(d) => {
                        let day = chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163)
                            .ok_or_else(|| {
                                Error::data(format!("column '{name}': date out of range"))
                            })?;
                        use chrono::Datelike;
                        write!(
                            f.data,
                            "{:04}-{:02}-{:02}",
                            day.year(),
                            day.month(),
                            day.day()
                        )?;
                    }
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Datetime => {
            let DataType::Datetime(tu, _) = s.dtype() else {
                unreachable!("datetime columns")
            };
            let tu = *tu;
            f = Fields::new(n, 26);
            let phys = s.to_physical_repr();
            for v in phys.i64()?.iter() {
                match v {
                    Some(t) => write_datetime(&mut f.data, micros_of(tu, t))?,
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
        MyType::Time => {
            f = Fields::new(n, 15);
            let phys = s.to_physical_repr();
            for v in phys.i64()?.iter() {
                match v {
                    Some(ns) => {
                        let us = ns / 1000;
                        write!(
                            f.data,
                            "{:02}:{:02}:{:02}.{:06}",
                            us / 3_600_000_000,
                            us / 60_000_000 % 60,
                            us / 1_000_000 % 60,
                            us % 1_000_000
                        )?;
                    }
                    None => f.data.extend_from_slice(b"\\N"),
                }
                f.end();
            }
        }
    }
    Ok(f)
}

fn decimal_text(out: &mut Vec<u8>, v: i128, scale: usize) {
    let digits = v.unsigned_abs().to_string();
    if v < 0 {
        out.push(b'-');
    }
    if scale == 0 {
        out.extend_from_slice(digits.as_bytes());
        return;
    }
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let cut = padded.len() - scale;
    out.extend_from_slice(&padded.as_bytes()[..cut]);
    out.push(b'.');
    out.extend_from_slice(&padded.as_bytes()[cut..]);
}

/// One batch as tab-separated lines in LOAD DATA's default format.
pub fn encode_batch(df: &DataFrame, types: &[MyType], out: &mut Vec<u8>) -> Result<()> {
    let columns = df.columns();
    let threads = if df.height() < 4096 {
        1
    } else {
        encode_threads()
    };
    let cols = encode_columns(columns, types, threads, encode_column)?;
    let total: usize = cols.iter().map(|c| c.data.len() + c.ends.len()).sum();
    out.reserve(total);
    let mut starts = vec![0usize; cols.len()];
    for row in 0..df.height() {
        for (i, (c, start)) in cols.iter().zip(starts.iter_mut()).enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            let end = c.ends[row];
            out.extend_from_slice(&c.data[*start..end]);
            *start = end;
        }
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_escape_and_nulls() {
        let df = df!(
            "a" => [Some(1i64), None],
            "b" => [Some("tab\there\\"), Some("line\nnext")],
        )
        .unwrap();
        let mut out = Vec::new();
        encode_batch(&df, &[MyType::Int("BIGINT"), MyType::Text], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1\ttab\\there\\\\\n\\N\tline\\nnext\n"
        );
        let text = |v, s| {
            let mut o = Vec::new();
            decimal_text(&mut o, v, s);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(text(12345, 2), "123.45");
        assert_eq!(text(-5, 2), "-0.05");
        assert_eq!(text(7, 0), "7");
    }
}
