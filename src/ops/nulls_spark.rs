//! Spark SQL for the null ops (see `nulls.rs`).

use super::spark_sql::{
    ident, spark_type, value_lit, with_column, Input, Refusal, SparkSql, Translated,
};
use super::spec::{FillNull, FillWith, Rounding};
use crate::error::Error;

/// A statistic within partitions is a window over them; SQL's round is
/// half away from zero (Spark's `round`), half-even is `bround`.
pub fn fill(input: &Input, f: &FillNull) -> Translated<SparkSql> {
    input.need(std::slice::from_ref(&f.column), "fill-null")?;
    input.need(&f.by, "fill-null by")?;
    let c = ident(&f.column);
    let filler = match (&f.with, &f.value) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "fill-null: give either `with` (mean, median, mode) or `value`, not both",
            )
            .into())
        }
        (None, None) => {
            return Err(Error::usage(
                "fill-null: give `with = \"mean\"` (or median, mode) or `value = ...`",
            )
            .into())
        }
        (None, Some(v)) => {
            if !f.by.is_empty() {
                return Err(Error::usage(
                    "fill-null: `by` needs a statistic (`with`), not a value",
                )
                .into());
            }
            value_lit(v)?
        }
        (Some(stat), None) => {
            let function = match stat {
                FillWith::Mean => "avg",
                FillWith::Median => "median",
                FillWith::Mode => {
                    return Err(Refusal::NoTranslation(
                        "fill-null: with = \"mode\" breaks ties differently on Spark".into(),
                    ))
                }
            };
            let over = if f.by.is_empty() {
                "OVER ()".to_string()
            } else {
                format!("OVER (PARTITION BY {})", super::spark_sql::idents(&f.by))
            };
            let stat = format!("{function}({c}) {over}");
            match f.round {
                Some(Rounding::HalfAwayFromZero) => format!("round({stat}, 0)"),
                Some(Rounding::HalfEven) => format!("bround({stat}, 0)"),
                None => stat,
            }
        }
    };
    let mut expr = format!("coalesce({c}, {filler})");
    if let Some(ty) = &f.dtype {
        expr = format!("CAST({expr} AS {})", spark_type(ty)?);
    }
    Ok(SparkSql::query(with_column(input, &f.column, &expr)))
}

pub fn drop_rows(input: &Input, cols: &[String]) -> Translated<SparkSql> {
    input.need(cols, "drop-nulls")?;
    if cols.is_empty() {
        return Err(Error::usage("drop-nulls: name at least one column").into());
    }
    let keep = cols
        .iter()
        .map(|c| format!("{} IS NOT NULL", ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    Ok(SparkSql::query(format!(
        "SELECT * FROM {} WHERE {keep}",
        ident(input.view)
    )))
}
