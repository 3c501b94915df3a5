//! PostgreSQL's binary COPY format, encoded column by column from polars
//! batches: each column is encoded into one buffer of length-prefixed
//! fields by a typed loop, then the fields are interleaved into rows. The
//! same bytes as tokio-postgres' `BinaryCopyInWriter` writes, without a
//! boxed `ToSql` call per value.

use polars::prelude::*;

use super::{numeric, PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::db::encode::encode_columns;
use crate::error::{Error, Result};

/// The header every binary COPY stream starts with.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The trailer: a field count of -1.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// How one polars type is stored in PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// numeric(precision, scale)
    Numeric(usize, usize),
    Text,
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
    Time,
    Interval,
}

impl PgType {
    /// The type for a polars column, or why there is none.
    pub fn for_dtype(dtype: &DataType) -> Option<PgType> {
        Some(match dtype {
            DataType::Boolean => PgType::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => PgType::Int2,
            DataType::Int32 | DataType::UInt16 => PgType::Int4,
            DataType::Int64 | DataType::UInt32 => PgType::Int8,
            DataType::UInt64 => PgType::Numeric(20, 0),
            DataType::Int128 => PgType::Numeric(39, 0),
            DataType::Float32 => PgType::Float4,
            d if d.is_float() => PgType::Float8,
            DataType::Decimal(p, s) => PgType::Numeric(*p, *s),
            DataType::String | DataType::Null | DataType::Categorical(..) | DataType::Enum(..) => {
                PgType::Text
            }
            DataType::Binary | DataType::BinaryOffset => PgType::Bytea,
            DataType::Date => PgType::Date,
            DataType::Datetime(_, None) => PgType::Timestamp,
            DataType::Datetime(_, Some(_)) => PgType::Timestamptz,
            DataType::Time => PgType::Time,
            DataType::Duration(_) => PgType::Interval,
            _ => return None,
        })
    }

    /// The type as `format_type()` spells it, for DDL and comparisons.
    pub fn sql(&self) -> String {
        match self {
            PgType::Bool => "boolean".into(),
            PgType::Int2 => "smallint".into(),
            PgType::Int4 => "integer".into(),
            PgType::Int8 => "bigint".into(),
            PgType::Float4 => "real".into(),
            PgType::Float8 => "double precision".into(),
            PgType::Numeric(p, s) => format!("numeric({p},{s})"),
            PgType::Text => "text".into(),
            PgType::Bytea => "bytea".into(),
            PgType::Date => "date".into(),
            PgType::Timestamp => "timestamp without time zone".into(),
            PgType::Timestamptz => "timestamp with time zone".into(),
            PgType::Time => "time without time zone".into(),
            PgType::Interval => "interval".into(),
        }
    }
}

/// One column's fields: length-prefixed values, end offsets per row.
struct Fields {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    fn with_capacity(rows: usize, bytes: usize) -> Fields {
        Fields {
            data: Vec::with_capacity(rows * (4 + bytes)),
            ends: Vec::with_capacity(rows),
        }
    }

    #[inline]
    fn null(&mut self) {
        self.data.extend_from_slice(&(-1i32).to_be_bytes());
        self.ends.push(self.data.len());
    }

    #[inline]
    fn value(&mut self, bytes: &[u8]) {
        self.data
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.data.extend_from_slice(bytes);
        self.ends.push(self.data.len());
    }

    #[inline]
    fn opt<const N: usize>(&mut self, v: Option<[u8; N]>) {
        match v {
            Some(b) => self.value(&b),
            None => self.null(),
        }
    }
}

fn unit_to_micros(tu: TimeUnit) -> impl Fn(i64) -> i64 {
    move |v| match tu {
        TimeUnit::Nanoseconds => v.div_euclid(1000),
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v.saturating_mul(1000),
    }
}

fn encode_column(s: &Series, ty: &PgType) -> Result<Fields> {
    let n = s.len();
    let name = s.name().to_string();
    let mut f;
    match ty {
        PgType::Bool => {
            f = Fields::with_capacity(n, 1);
            for v in s.bool()?.iter() {
                f.opt(v.map(|b| [u8::from(b)]));
            }
        }
        PgType::Int2 => {
            f = Fields::with_capacity(n, 2);
            let c = s.cast(&DataType::Int16)?;
            for v in c.i16()?.iter() {
                f.opt(v.map(i16::to_be_bytes));
            }
        }
        PgType::Int4 => {
            f = Fields::with_capacity(n, 4);
            let c = s.cast(&DataType::Int32)?;
            for v in c.i32()?.iter() {
                f.opt(v.map(i32::to_be_bytes));
            }
        }
        PgType::Int8 => {
            f = Fields::with_capacity(n, 8);
            let c = s.cast(&DataType::Int64)?;
            for v in c.i64()?.iter() {
                f.opt(v.map(i64::to_be_bytes));
            }
        }
        PgType::Float4 => {
            f = Fields::with_capacity(n, 4);
            for v in s.f32()?.iter() {
                f.opt(v.map(f32::to_be_bytes));
            }
        }
        PgType::Float8 => {
            f = Fields::with_capacity(n, 8);
            let c = s.cast(&DataType::Float64)?;
            for v in c.f64()?.iter() {
                f.opt(v.map(f64::to_be_bytes));
            }
        }
        PgType::Numeric(_, scale) => {
            f = Fields::with_capacity(n, 16);
            let mut buf = Vec::with_capacity(32);
            match s.dtype() {
                DataType::Decimal(..) | DataType::Int128 => {
                    let phys = s.to_physical_repr();
                    for v in phys.i128()?.iter() {
                        match v {
                            Some(v) => {
                                buf.clear();
                                numeric(v, *scale, &mut buf);
                                f.value(&buf);
                            }
                            None => f.null(),
                        }
                    }
                }
                _ => {
                    let c = s.cast(&DataType::UInt64)?;
                    for v in c.u64()?.iter() {
                        match v {
                            Some(v) => {
                                buf.clear();
                                numeric(i128::from(v), 0, &mut buf);
                                f.value(&buf);
                            }
                            None => f.null(),
                        }
                    }
                }
            }
        }
        PgType::Text => {
            let c = if s.dtype() == &DataType::String {
                s.clone()
            } else {
                s.cast(&DataType::String)?
            };
            let ca = c.str()?;
            let bytes: usize = n * 16;
            f = Fields {
                data: Vec::with_capacity(bytes + 4 * n),
                ends: Vec::with_capacity(n),
            };
            for v in ca.iter() {
                match v {
                    Some(t) => {
                        if t.contains('\0') {
                            return Err(Error::data(format!(
                                "column '{name}': a text value holds a NUL character, which PostgreSQL text cannot store"
                            )));
                        }
                        f.value(t.as_bytes())
                    }
                    None => f.null(),
                }
            }
        }
        PgType::Bytea => {
            let c = s.cast(&DataType::Binary)?;
            f = Fields::with_capacity(n, 16);
            for v in c.binary()?.iter() {
                match v {
                    Some(b) => f.value(b),
                    None => f.null(),
                }
            }
        }
        PgType::Date => {
            f = Fields::with_capacity(n, 4);
            let phys = s.to_physical_repr();
            for v in phys.i32()?.iter() {
                f.opt(v.map(|d| (d - PG_EPOCH_DAYS).to_be_bytes()));
            }
        }
        PgType::Timestamp | PgType::Timestamptz => {
            let DataType::Datetime(tu, _) = s.dtype() else {
                unreachable!("timestamps come from datetime columns")
            };
            let to_us = unit_to_micros(*tu);
            f = Fields::with_capacity(n, 8);
            let phys = s.to_physical_repr();
            for v in phys.i64()?.iter() {
                f.opt(v.map(|t| (to_us(t) - PG_EPOCH_MICROS).to_be_bytes()));
            }
        }
        PgType::Time => {
            f = Fields::with_capacity(n, 8);
            let phys = s.to_physical_repr();
            for v in phys.i64()?.iter() {
                f.opt(v.map(|ns| (ns / 1000).to_be_bytes()));
            }
        }
        PgType::Interval => {
            let DataType::Duration(tu) = s.dtype() else {
                unreachable!("intervals come from duration columns")
            };
            let to_us = unit_to_micros(*tu);
            f = Fields::with_capacity(n, 16);
            let phys = s.to_physical_repr();
            for v in phys.i64()?.iter() {
                f.opt(v.map(|d| {
                    let mut b = [0u8; 16];
                    b[..8].copy_from_slice(&to_us(d).to_be_bytes());
                    b
                }));
            }
        }
    }
    Ok(f)
}

/// Appends one batch as binary COPY rows to `out`.
pub fn encode_batch(df: &DataFrame, types: &[PgType], out: &mut Vec<u8>) -> Result<()> {
    encode_batch_parallel(df, types, 1, out)
}

/// Like [`encode_batch`], with the columns split over `threads` threads.
pub fn encode_batch_parallel(
    df: &DataFrame,
    types: &[PgType],
    threads: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let cols = encode_columns(df.columns(), types, threads, encode_column)?;
    interleave(&cols, df.height(), out);
    Ok(())
}

fn interleave(cols: &[Fields], rows: usize, out: &mut Vec<u8>) {
    let total: usize = cols.iter().map(|c| c.data.len()).sum::<usize>() + 2 * rows;
    out.reserve(total);
    let count = (cols.len() as i16).to_be_bytes();
    let mut starts = vec![0usize; cols.len()];
    for row in 0..rows {
        out.extend_from_slice(&count);
        for (c, start) in cols.iter().zip(starts.iter_mut()) {
            let end = c.ends[row];
            out.extend_from_slice(&c.data[*start..end]);
            *start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rows_interleave_columns() {
        let df = df!("a" => [Some(1i32), None], "b" => ["x", "yz"]).unwrap();
        let mut out = Vec::new();
        encode_batch(&df, &[PgType::Int4, PgType::Text], &mut out).unwrap();
        let expect: Vec<u8> = [
            &[0, 2][..],
            &[0, 0, 0, 4, 0, 0, 0, 1],
            &[0, 0, 0, 1, b'x'],
            &[0, 2],
            &[0xff, 0xff, 0xff, 0xff],
            &[0, 0, 0, 2, b'y', b'z'],
        ]
        .concat();
        assert_eq!(out, expect);
    }
}
