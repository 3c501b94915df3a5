//! Text ops: trim, case, regex replace and extract, concat, date parsing.

use polars::prelude::*;

use super::spec::{Concat, Extract, ParseDate, Replace};
use super::{check_regex, need};
use crate::error::{Error, Result};
use crate::frame::Frame;

fn need_text(schema: &Schema, cols: &[String], what: &str) -> Result<()> {
    need(schema, cols, what)?;
    for c in cols {
        let t = schema.get(c).expect("checked");
        if !matches!(t, DataType::String | DataType::Null) {
            return Err(Error::usage(format!(
                "{what}: column '{c}' is {}, not text (cast it to str first)",
                crate::dtype::display_dtype(t)
            )));
        }
    }
    Ok(())
}

pub fn map_text(
    frame: Frame,
    schema: &Schema,
    cols: &[String],
    what: &str,
    f: fn(Expr) -> Expr,
) -> Result<Frame> {
    need_text(schema, cols, what)?;
    let exprs: Vec<Expr> = cols.iter().map(|c| f(col(c.as_str()))).collect();
    frame.map_keep_rows(move |lf| lf.with_columns(exprs.clone()))
}

/// Title case: the first letter of each word upper, the rest lower.
pub fn title(frame: Frame, schema: &Schema, cols: &[String]) -> Result<Frame> {
    need_text(schema, cols, "title")?;
    let exprs: Vec<Expr> = cols
        .iter()
        .map(|c| {
            let name = PlSmallStr::from(c.as_str());
            col(c.as_str())
                .map(
                    |column| {
                        let ca = column.str()?;
                        let out: StringChunked = ca.apply_into_string_amortized(|s, buf| {
                            let mut start = true;
                            for ch in s.chars() {
                                if ch.is_alphanumeric() {
                                    if start {
                                        buf.extend(ch.to_uppercase());
                                    } else {
                                        buf.extend(ch.to_lowercase());
                                    }
                                    start = false;
                                } else {
                                    buf.push(ch);
                                    start = ch.is_whitespace() || ch == '-';
                                }
                            }
                        });
                        Ok(out.into_column())
                    },
                    |_, field| Ok(field.clone()),
                )
                .alias(name)
        })
        .collect();
    frame.map_keep_rows(move |lf| lf.with_columns(exprs.clone()))
}

pub fn replace(frame: Frame, schema: &Schema, r: &Replace) -> Result<Frame> {
    need_text(schema, std::slice::from_ref(&r.column), "replace")?;
    let pattern = check_regex(&r.pattern, "replace")?;
    let expr = col(r.column.as_str())
        .str()
        .replace_all(lit(pattern), lit(r.with.clone()), false);
    frame.map_keep_rows(move |lf| lf.with_column(expr.clone()))
}

/// The regex group (0 = whole match) of the first match, typed; no match is null.
pub fn extract(frame: Frame, schema: &Schema, x: &Extract) -> Result<Frame> {
    need_text(schema, std::slice::from_ref(&x.column), "extract")?;
    let pattern = check_regex(&x.pattern, "extract")?;
    let groups = regex::Regex::new(&pattern)
        .map(|r| r.captures_len())
        .unwrap_or(1);
    if x.group >= groups {
        return Err(Error::usage(format!(
            "extract: the pattern '{}' has no group {}",
            x.pattern, x.group
        )));
    }
    let into = x.into.clone().unwrap_or_else(|| x.column.clone());
    let mut expr = col(x.column.as_str()).str().extract(lit(pattern), x.group);
    if let Some(ty) = &x.dtype {
        expr = expr.strict_cast(crate::dtype::parse_dtype(ty)?);
    }
    let expr = expr.alias(into.as_str());
    frame.map_keep_rows(move |lf| lf.with_column(expr.clone()))
}

/// `concat_ws`: nulls are skipped; all-null gives null.
pub fn concat(frame: Frame, schema: &Schema, c: &Concat) -> Result<Frame> {
    need(schema, &c.columns, "concat")?;
    if c.columns.is_empty() {
        return Err(Error::usage("concat: name at least one column"));
    }
    let parts: Vec<Expr> = c
        .columns
        .iter()
        .map(|n| col(n.as_str()).cast(DataType::String))
        .collect();
    let any = c
        .columns
        .iter()
        .map(|n| col(n.as_str()).is_not_null())
        .reduce(|a, b| a.or(b))
        .expect("non-empty");
    let joined = concat_str(parts, c.sep.as_str(), true);
    let expr = when(any)
        .then(joined)
        .otherwise(lit(NULL).cast(DataType::String))
        .alias(c.into.as_str());
    frame.map_keep_rows(move |lf| lf.with_column(expr.clone()))
}

pub fn parse_date(frame: Frame, schema: &Schema, p: &ParseDate) -> Result<Frame> {
    need_text(schema, std::slice::from_ref(&p.column), "parse-date")?;
    let into = p.into.clone().unwrap_or_else(|| p.column.clone());
    let options = StrptimeOptions {
        format: Some(p.format.as_str().into()),
        strict: true,
        exact: true,
        cache: true,
    };
    let e = col(p.column.as_str()).str();
    let expr = match p.dtype.as_deref().unwrap_or("date") {
        "date" => e.to_date(options),
        "datetime" | "timestamp" => {
            e.to_datetime(Some(TimeUnit::Microseconds), None, options, lit("raise"))
        }
        other => {
            return Err(Error::usage(format!(
                "parse-date: type must be date or datetime, not '{other}'"
            )))
        }
    }
    .alias(into.as_str());
    frame.map_keep_rows(move |lf| lf.with_column(expr.clone()))
}
