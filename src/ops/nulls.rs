//! Null handling: fill with a value or a statistic (optionally within
//! partitions, rounded as SQL rounds), and drop rows with nulls.

use polars::prelude::*;

use super::spec::{FillNull, FillWith, Rounding};
use super::{literal, need};
use crate::error::{Error, Result};
use crate::frame::Frame;

pub fn fill(frame: Frame, schema: &Schema, f: &FillNull) -> Result<Frame> {
    need(schema, std::slice::from_ref(&f.column), "fill-null")?;
    need(schema, &f.by, "fill-null by")?;
    let c = col(f.column.as_str());
    let filler = match (&f.with, &f.value) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "fill-null: give either `with` (mean, median, mode) or `value`, not both",
            ))
        }
        (None, None) => {
            return Err(Error::usage(
                "fill-null: give `with = \"mean\"` (or median, mode) or `value = ...`",
            ))
        }
        (None, Some(v)) => {
            if !f.by.is_empty() {
                return Err(Error::usage(
                    "fill-null: `by` needs a statistic (`with`), not a value",
                ));
            }
            literal(v)?
        }
        (Some(stat), None) => {
            let dtype = schema.get(&f.column).expect("checked");
            if !matches!(stat, FillWith::Mode) && !dtype.is_primitive_numeric() {
                return Err(Error::usage(
                    format!(
                        "fill-null: the {stat:?} of '{}' needs a numeric column, but it is {}",
                        f.column,
                        crate::dtype::display_dtype(dtype)
                    )
                    .to_lowercase(),
                ));
            }
            let mut s = match stat {
                FillWith::Mean => c.clone().mean(),
                FillWith::Median => c.clone().median(),
                // Nulls are not values: SQL's mode() skips them too.
                FillWith::Mode => c.clone().drop_nulls().mode(true).first(),
            };
            if let Some(r) = f.round {
                let mode = match r {
                    Rounding::HalfAwayFromZero => RoundMode::HalfAwayFromZero,
                    Rounding::HalfEven => RoundMode::HalfToEven,
                };
                s = s.round(0, mode);
            }
            if f.by.is_empty() {
                s
            } else {
                let by: Vec<Expr> = f.by.iter().map(|b| col(b.as_str())).collect();
                s.over(by)?
            }
        }
    };
    let mut expr = c.fill_null(filler);
    if let Some(ty) = &f.dtype {
        expr = expr.strict_cast(crate::dtype::parse_dtype(ty)?);
    }
    let expr = expr.alias(f.column.as_str());
    // A statistic needs the whole column: a stream is spooled first.
    let frame = if f.with.is_some() {
        frame.into_lazy()?
    } else {
        frame
    };
    frame.map_keep_rows(move |lf| lf.with_column(expr.clone()))
}

pub fn drop_rows(frame: Frame, schema: &Schema, cols: &[String]) -> Result<Frame> {
    need(schema, cols, "drop-nulls")?;
    let keep = cols
        .iter()
        .map(|c| col(c.as_str()).is_not_null())
        .reduce(|a, b| a.and(b))
        .ok_or_else(|| Error::usage("drop-nulls: name at least one column"))?;
    frame.map(move |lf| lf.filter(keep.clone()))
}
