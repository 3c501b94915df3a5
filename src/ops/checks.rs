//! Validation: rules mark failing rows with a reason in
//! [`REJECT_COLUMN`]. The step runner then settles them (rejects output,
//! thresholds); ops never write anything.

use polars::prelude::*;

use super::spec::{Check, Rule};
use super::{check_regex, literal, need};
use crate::error::{Error, Result};
use crate::frame::Frame;

/// The hidden column holding why a row is rejected (null: kept).
pub const REJECT_COLUMN: &str = "__etl_reject";

/// US states, DC and territories (USPS codes).
pub const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR", "VI", "GU", "AS", "MP", "AA", "AE", "AP",
];

/// Adds reasons to the reject column; the first reason of a row wins.
pub fn mark(frame: Frame, schema: &Schema, reasons: Vec<Expr>) -> Result<Frame> {
    let mut all = Vec::with_capacity(reasons.len() + 1);
    if schema.contains(REJECT_COLUMN) {
        all.push(col(REJECT_COLUMN));
    }
    all.extend(reasons);
    let expr = coalesce(&all).alias(REJECT_COLUMN);
    frame.map_keep_rows(move |lf| lf.with_column(expr.clone()))
}

fn reason(failed: Expr, text: Expr) -> Expr {
    when(failed)
        .then(text)
        .otherwise(lit(NULL).cast(DataType::String))
}

fn shown(column: &str) -> Expr {
    col(column).cast(DataType::String).fill_null(lit("null"))
}

pub fn check(frame: Frame, schema: &Schema, c: &Check) -> Result<Frame> {
    let mut columns = c.columns.clone();
    if let Some(one) = &c.column {
        columns.insert(0, one.clone());
    }
    let rule_name = format!("{:?}", c.rule).to_lowercase();
    if columns.is_empty() && c.rule != Rule::Sql {
        return Err(Error::usage(format!(
            "check {rule_name}: name the `column` to check"
        )));
    }
    need(schema, &columns, "check")?;
    let first = columns.first().cloned().unwrap_or_default();
    let v = || col(first.as_str());
    let text = |what: &str| {
        concat_str(
            [
                lit(format!("{what}: '{first}' value '")),
                shown(&first),
                lit("'"),
            ],
            "",
            true,
        )
    };
    let mut frame = frame;
    let reasons: Vec<Expr> = match c.rule {
        Rule::NotNull => columns
            .iter()
            .map(|n| {
                reason(
                    col(n.as_str()).is_null(),
                    lit(format!("not-null: '{n}' is null")),
                )
            })
            .collect(),
        Rule::Unique => {
            frame = frame.into_lazy()?;
            let key = if columns.len() == 1 {
                v()
            } else {
                as_struct(columns.iter().map(|n| col(n.as_str())).collect())
            };
            vec![reason(
                key.is_duplicated(),
                lit(format!("unique: duplicate {}", columns.join(", "))),
            )]
        }
        Rule::Range => {
            let mut failed = lit(false);
            if let Some(min) = &c.min {
                failed = failed.or(v().lt(literal(min)?));
            }
            if let Some(max) = &c.max {
                failed = failed.or(v().gt(literal(max)?));
            }
            if c.min.is_none() && c.max.is_none() {
                return Err(Error::usage("check range: give `min`, `max` or both"));
            }
            let bounds = format!(
                " is outside [{}, {}]",
                c.min
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "-inf".into()),
                c.max
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "inf".into())
            );
            vec![reason(
                failed.fill_null(lit(false)),
                concat_str([text("range"), lit(bounds)], "", true),
            )]
        }
        Rule::Regex => {
            let pattern = c
                .pattern
                .as_deref()
                .ok_or_else(|| Error::usage("check regex: give `pattern`"))?;
            let anchored = format!("^(?:{})$", check_regex(pattern, "check regex")?);
            let failed = v()
                .cast(DataType::String)
                .str()
                .contains(lit(anchored), true)
                .not()
                .fill_null(lit(false));
            vec![reason(
                failed,
                concat_str(
                    [text("regex"), lit(format!(" does not match {pattern}"))],
                    "",
                    true,
                ),
            )]
        }
        Rule::InSet => {
            if c.values.is_empty() {
                return Err(Error::usage("check in-set: give `values`"));
            }
            let values = Series::new(
                "values".into(),
                c.values
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>(),
            );
            let failed = v()
                .cast(DataType::String)
                .is_in(lit(values).implode(false), false)
                .not()
                .fill_null(lit(false));
            vec![reason(
                failed,
                concat_str(
                    [text("in-set"), lit(" is not one of the allowed values")],
                    "",
                    true,
                ),
            )]
        }
        Rule::UsState => {
            let codes = Series::new("codes".into(), US_STATES);
            let failed = v()
                .cast(DataType::String)
                .is_in(lit(codes).implode(false), false)
                .not()
                .fill_null(lit(false));
            vec![reason(
                failed,
                concat_str([text("us-state"), lit(" is not a US state code")], "", true),
            )]
        }
        Rule::Npi => {
            let failed = v()
                .cast(DataType::String)
                .map(
                    |c| {
                        let ca = c.str()?;
                        let out: BooleanChunked =
                            ca.apply_nonnull_values_generic(DataType::Boolean, |s| !npi_valid(s));
                        Ok(out.into_column())
                    },
                    |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
                )
                .fill_null(lit(false));
            vec![reason(
                failed,
                concat_str(
                    [
                        text("npi"),
                        lit(" is not a valid NPI (10 digits, Luhn check digit)"),
                    ],
                    "",
                    true,
                ),
            )]
        }
        Rule::Sql => {
            let predicate = c
                .sql
                .as_deref()
                .ok_or_else(|| Error::usage("check sql: give `sql`"))?;
            let holds = super::sql::expression(predicate, schema)?;
            vec![reason(
                holds.not().fill_null(lit(true)),
                lit(format!("sql: row fails `{predicate}`")),
            )]
        }
    };
    mark(frame, schema, reasons)
}

/// NPI check digit: Luhn over "80840" + the first nine digits.
pub fn npi_valid(npi: &str) -> bool {
    let npi = npi.trim();
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = format!("80840{}", &npi[..9])
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut x = *d;
        if i % 2 == 0 {
            x *= 2;
            if x > 9 {
                x -= 9;
            }
        }
        sum += x;
    }
    let check = (10 - sum % 10) % 10;
    check == u32::from(npi.as_bytes()[9] - b'0')
}

#[cfg(test)]
mod tests {
    use super::npi_valid;

    #[test]
    fn npi_check_digit() {
        assert!(npi_valid("1234567893"), "the CMS example NPI");
        assert!(!npi_valid("1234567890"));
        assert!(!npi_valid("123456789"));
        assert!(!npi_valid("12345678a3"));
    }
}
