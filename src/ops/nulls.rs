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
            if !f.by.is_empty() {
                return fill_by_group(frame, f, s);
            }
            s
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

/// Fills nulls with a statistic per group. A window (`over`) would hold the
/// whole table in memory; instead the statistics are computed first (a
/// group-by reading only the key and value columns, which streams, into a
/// table of one row per group) and then joined to the rows as they stream
/// past. The table is computed apart, not as a branch of the same plan:
/// polars would cache the shared input in memory for the two branches.
fn fill_by_group(frame: Frame, f: &FillNull, statistic: Expr) -> Result<Frame> {
    const FILLER: &str = "__etl_fill";
    let keys: Vec<Expr> = f.by.iter().map(|b| col(b.as_str())).collect();
    let frame = frame.into_lazy()?;
    let crate::frame::FrameData::Lazy(lf) = &frame.data else {
        unreachable!("into_lazy gives a plan")
    };
    let statistics = lf
        .clone()
        .group_by(keys.clone())
        .agg([statistic.alias(FILLER)])
        .collect_with_engine(Engine::Streaming)
        .map_err(|e| {
            let err = Error::from(e);
            frame.explainers.iter().find_map(|x| x(&err)).unwrap_or(err)
        })?
        .unwrap_single();
    let mut expr = col(f.column.as_str()).fill_null(col(FILLER));
    if let Some(ty) = &f.dtype {
        expr = expr.strict_cast(crate::dtype::parse_dtype(ty)?);
    }
    let expr = expr.alias(f.column.as_str());
    let args = JoinArgs {
        // A null key is a group of its own, as in a window.
        nulls_equal: true,
        maintain_order: MaintainOrderJoin::Left,
        ..JoinArgs::new(JoinType::Left).with_coalesce(JoinCoalesce::CoalesceColumns)
    };
    frame.map_keep_rows(move |lf| {
        lf.join(
            statistics.clone().lazy(),
            keys.clone(),
            keys.clone(),
            args.clone(),
        )
        .with_column(expr.clone())
        .drop(cols([FILLER]))
    })
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
