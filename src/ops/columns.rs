//! Column-level ops: select, rename, drop, cast, constant, derive.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::checks::REJECT_COLUMN;
use super::spec::{Cast, Constant, Derive};
use super::{literal, need};
use crate::error::{Error, Result};
use crate::frame::Frame;

pub fn select(frame: Frame, schema: &Schema, cols: &[String]) -> Result<Frame> {
    need(schema, cols, "select")?;
    let mut exprs: Vec<Expr> = cols.iter().map(|c| col(c.as_str())).collect();
    if schema.contains(REJECT_COLUMN) && !cols.iter().any(|c| c == REJECT_COLUMN) {
        exprs.push(col(REJECT_COLUMN));
    }
    frame.map_keep_rows(move |lf| lf.select(exprs.clone()))
}

pub fn rename(frame: Frame, schema: &Schema, map: &BTreeMap<String, String>) -> Result<Frame> {
    let old: Vec<String> = map.keys().cloned().collect();
    need(schema, &old, "rename")?;
    let new: Vec<String> = map.values().cloned().collect();
    for n in &new {
        if schema.contains(n) && !map.contains_key(n) {
            return Err(Error::usage(format!(
                "rename: column '{n}' already exists; drop it first or choose another name"
            )));
        }
    }
    frame.map_keep_rows(move |lf| lf.rename(old.clone(), new.clone(), true))
}

pub fn drop(frame: Frame, schema: &Schema, cols: &[String]) -> Result<Frame> {
    need(schema, cols, "drop")?;
    let names: Vec<String> = cols.to_vec();
    frame.map_keep_rows(move |lf| lf.drop(polars::prelude::cols(names.clone())))
}

/// Strict casts fail with the row and column of the first bad value; with
/// `quarantine`, rows whose value does not convert are marked for the rejects.
/// A column converted to `target`. Text becomes a date or datetime through
/// polars' parser (a plain cast of text to dates is deprecated there).
fn convert(name: &str, schema: &Schema, target: &DataType, strict: bool) -> Expr {
    let from_text = schema.get(name) == Some(&DataType::String);
    let options = StrptimeOptions {
        format: None,
        strict,
        exact: true,
        cache: true,
    };
    match target {
        DataType::Date if from_text => col(name).str().to_date(options),
        DataType::Datetime(unit, zone) if from_text => {
            col(name)
                .str()
                .to_datetime(Some(*unit), zone.clone(), options, lit("raise"))
        }
        _ if strict => col(name).strict_cast(target.clone()),
        _ => col(name).cast(target.clone()),
    }
}

pub fn cast(frame: Frame, schema: &Schema, c: &Cast) -> Result<Frame> {
    let names: Vec<String> = c.columns.keys().cloned().collect();
    need(schema, &names, "cast")?;
    let mut casts = Vec::new();
    let mut reasons = Vec::new();
    for (name, ty) in &c.columns {
        let target = crate::dtype::parse_dtype(ty)?;
        if c.quarantine {
            let converted = convert(name, schema, &target, false);
            let failed = col(name.as_str())
                .is_not_null()
                .and(converted.clone().is_null());
            let reason = concat_str(
                [
                    lit(format!("cast: '{name}' value '")),
                    col(name.as_str()).cast(DataType::String),
                    lit(format!("' is not a valid {ty}")),
                ],
                "",
                true,
            );
            reasons.push(
                when(failed)
                    .then(reason)
                    .otherwise(lit(NULL).cast(DataType::String)),
            );
            casts.push(converted);
        } else {
            casts.push(convert(name, schema, &target, true));
        }
    }
    let mut frame = if reasons.is_empty() {
        frame
    } else {
        super::checks::mark(frame, schema, reasons)?
    };
    if !c.quarantine {
        let before = match &frame.data {
            crate::frame::FrameData::Lazy(lf) => Some(lf.clone()),
            crate::frame::FrameData::Batches(_) => None,
        };
        if let Some(before) = before {
            frame = frame.with_explainer(cast_explainer(before, c.columns.clone()));
        }
    }
    frame.map_keep_rows(move |lf| lf.with_columns(casts.clone()))
}

/// After a polars failure in a plan with a strict cast, finds the first
/// failing row and column by re-running the plan up to the cast.
fn cast_explainer(before: LazyFrame, columns: BTreeMap<String, String>) -> crate::frame::Explainer {
    std::sync::Arc::new(move |e: &Error| {
        // Only a failure inside polars can be a failed conversion.
        e.find_source::<PolarsError>()?;
        columns.iter().find_map(|(name, ty)| {
            let target = crate::dtype::parse_dtype(ty).ok()?;
            let c = col(name.as_str());
            let first = before
                .clone()
                .with_row_index("__etl_row", Some(1))
                .filter(
                    c.clone()
                        .is_not_null()
                        .and(c.clone().cast(target).is_null()),
                )
                .select([col("__etl_row"), c.cast(DataType::String)])
                .limit(1)
                .collect()
                .ok()?;
            let row = first
                .column("__etl_row")
                .ok()?
                .get(0)
                .ok()?
                .extract::<u64>()?;
            let value = first
                .column(name.as_str())
                .ok()?
                .str()
                .ok()?
                .get(0)?
                .to_string();
            Some(Error::data(format!(
                "cast: row {row}, column '{name}': '{value}' is not a valid {ty}"
            )))
        })
    })
}

pub fn constant(frame: Frame, c: &Constant) -> Result<Frame> {
    let value = literal(&c.value)?.alias(c.column.as_str());
    frame.map_keep_rows(move |lf| lf.with_column(value.clone()))
}

/// A column holding the time of this run (UTC, microseconds).
pub fn ingest_time(frame: Frame, name: &str) -> Result<Frame> {
    let value = lit(chrono::Utc::now().timestamp_micros())
        .cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        ))
        .alias(name);
    frame.map_keep_rows(move |lf| lf.with_column(value.clone()))
}

/// A column computed by an SQL expression over the row.
pub fn derive(frame: Frame, schema: &Schema, d: &Derive) -> Result<Frame> {
    let expr = super::sql::expression(&d.sql, schema)?.alias(d.column.as_str());
    frame.map_keep_rows(move |lf| lf.with_column(expr.clone()))
}
