//! PostgreSQL's binary format, both ways: [`encode`] writes polars batches
//! as binary COPY rows, [`decode`] reads the binary values of a query's
//! rows. The representations they share (epochs, NUMERIC) live here.

pub mod decode;
pub mod encode;

use crate::error::{Error, Result};

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// The same, in microseconds.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// PostgreSQL's binary NUMERIC as an integer at `scale`, or as a float.
pub fn numeric_value(raw: &[u8], scale: Option<usize>, col: &str) -> Result<NumericValue> {
    if raw.len() < 8 {
        return Err(Error::data(format!("column '{col}': malformed numeric")));
    }
    let ndigits = i16::from_be_bytes([raw[0], raw[1]]) as usize;
    let weight = i16::from_be_bytes([raw[2], raw[3]]) as i32;
    let sign = u16::from_be_bytes([raw[4], raw[5]]);
    if sign == 0xC000 {
        return match scale {
            None => Ok(NumericValue::Float(f64::NAN)),
            Some(_) => Err(Error::data(format!(
                "column '{col}': NaN in a numeric column"
            ))),
        };
    }
    let digits: Vec<i64> = (0..ndigits)
        .map(|i| i64::from(i16::from_be_bytes([raw[8 + 2 * i], raw[9 + 2 * i]])))
        .collect();
    let neg = sign == 0x4000;
    match scale {
        None => {
            let mut v = 0f64;
            for (i, d) in digits.iter().enumerate() {
                v += *d as f64 * 10000f64.powi(weight - i as i32);
            }
            Ok(NumericValue::Float(if neg { -v } else { v }))
        }
        Some(scale) => {
            // value = Σ d_i · 10000^(weight - i); scaled by 10^scale.
            let mut v: i128 = 0;
            let overflow = || Error::data(format!("column '{col}': numeric value too large"));
            for (i, d) in digits.iter().enumerate() {
                let exp4 = weight - i as i32; // power of 10000
                let exp10 = exp4 * 4 + scale as i32;
                if exp10 < 0 {
                    // Digits beyond the scale: the column's type forbids them; drop.
                    let div = 10i128.pow((-exp10).min(38) as u32);
                    v = v.checked_add(i128::from(*d) / div).ok_or_else(overflow)?;
                } else {
                    let mul = 10i128.checked_pow(exp10 as u32).ok_or_else(overflow)?;
                    v = i128::from(*d)
                        .checked_mul(mul)
                        .and_then(|x| v.checked_add(x))
                        .ok_or_else(overflow)?;
                }
            }
            Ok(NumericValue::Int(if neg { -v } else { v }))
        }
    }
}

pub enum NumericValue {
    Int(i128),
    Float(f64),
}

/// PostgreSQL's binary NUMERIC for `v × 10^-scale`: base-10000 digits.
pub fn numeric(v: i128, scale: usize, out: &mut Vec<u8>) {
    let text = v.unsigned_abs().to_string();
    let (int, frac) = if text.len() > scale {
        (
            text[..text.len() - scale].to_string(),
            text[text.len() - scale..].to_string(),
        )
    } else {
        (
            String::new(),
            format!("{}{text}", "0".repeat(scale - text.len())),
        )
    };
    let int_pad = (4 - int.len() % 4) % 4;
    let int = format!("{}{int}", "0".repeat(int_pad));
    let frac_pad = (4 - frac.len() % 4) % 4;
    let frac = format!("{frac}{}", "0".repeat(frac_pad));
    let mut digits: Vec<i16> = int
        .as_bytes()
        .chunks(4)
        .chain(frac.as_bytes().chunks(4))
        .map(|g| g.iter().fold(0i16, |a, d| a * 10 + i16::from(d - b'0')))
        .collect();
    let mut weight = (int.len() / 4) as i16 - 1;
    let lead = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..lead);
    weight -= lead as i16;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    let sign: u16 = if v < 0 && !digits.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres_types_check::*;

    mod postgres_types_check {
        /// rust_decimal's own NUMERIC encoding, as the reference.
        pub fn reference(text: &str) -> Vec<u8> {
            use tokio_postgres::types::{ToSql, Type};
            let d: rust_decimal::Decimal = text.parse().unwrap();
            let mut b = bytes::BytesMut::new();
            d.to_sql(&Type::NUMERIC, &mut b).unwrap();
            b.to_vec()
        }
    }

    #[test]
    fn numeric_matches_rust_decimal() {
        for (v, s, text) in [
            (12345i128, 2usize, "123.45"),
            (-12345, 2, "-123.45"),
            (1, 0, "1"),
            (5, 4, "0.0005"),
            (123456789012345678, 6, "123456789012.345678"),
        ] {
            let mut out = Vec::new();
            numeric(v, s, &mut out);
            assert_eq!(out, reference(text), "{text}");
        }
        // Trailing zero groups are left out (as PostgreSQL itself stores them).
        let mut out = Vec::new();
        numeric(100_000_000, 0, &mut out);
        assert_eq!(out, [0, 1, 0, 2, 0, 0, 0, 0, 0, 1]);
        let mut out = Vec::new();
        numeric(-10_000, 4, &mut out);
        assert_eq!(out, [0, 1, 0, 0, 0x40, 0, 0, 4, 0, 1]);
        // Zero keeps its display scale (PostgreSQL shows 0.000).
        let mut out = Vec::new();
        numeric(0, 3, &mut out);
        assert_eq!(out, [0, 0, 0, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn numerics_decode_at_their_scale() {
        let mut buf = Vec::new();
        numeric(-12345, 2, &mut buf);
        match numeric_value(&buf, Some(2), "x").unwrap() {
            NumericValue::Int(v) => assert_eq!(v, -12345),
            NumericValue::Float(_) => panic!(),
        }
        match numeric_value(&buf, None, "x").unwrap() {
            NumericValue::Float(v) => assert!((v + 123.45).abs() < 1e-9),
            NumericValue::Int(_) => panic!(),
        }
    }
}
