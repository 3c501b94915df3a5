//! Spark SQL for the column-level ops (see `columns.rs`).

use std::collections::BTreeMap;

use super::spark_sql::{
    ident, select_replacing, spark_type, value_lit, with_column, Input, SparkSql, Translated,
};
use super::spec::{Cast, Constant, Derive};
use crate::error::Error;

pub fn select(input: &Input, cols: &[String]) -> Translated<SparkSql> {
    input.need(cols, "select")?;
    Ok(SparkSql::query(format!(
        "SELECT {} FROM {}",
        super::spark_sql::idents(cols),
        ident(input.view)
    )))
}

pub fn rename(input: &Input, map: &BTreeMap<String, String>) -> Translated<SparkSql> {
    let old: Vec<String> = map.keys().cloned().collect();
    input.need(&old, "rename")?;
    for n in map.values() {
        if input.has(n) && !map.contains_key(n) {
            return Err(Error::usage(format!(
                "rename: column '{n}' already exists; drop it first or choose another name"
            ))
            .into());
        }
    }
    if input.columns.is_none() {
        return Ok(SparkSql::query(format!(
            "SELECT * FROM {}",
            ident(input.view)
        )));
    }
    let items: Vec<String> = input
        .columns()
        .iter()
        .map(|c| match map.get(c) {
            Some(new) => format!("{} AS {}", ident(c), ident(new)),
            None => ident(c),
        })
        .collect();
    Ok(SparkSql::query(format!(
        "SELECT {} FROM {}",
        items.join(", "),
        ident(input.view)
    )))
}

pub fn drop(input: &Input, cols: &[String]) -> Translated<SparkSql> {
    input.need(cols, "drop")?;
    let keep: Vec<&String> = input
        .columns()
        .iter()
        .filter(|c| !cols.contains(c))
        .collect();
    if keep.is_empty() {
        return Err(Error::usage("drop: no column would be left").into());
    }
    Ok(SparkSql::query(format!(
        "SELECT {} FROM {}",
        super::spark_sql::idents(&keep),
        ident(input.view)
    )))
}

/// Strict casts: Spark's ANSI mode fails on a value that does not convert,
/// as etl does. Quarantine (rows to the rejects) is not on Spark yet.
pub fn cast(input: &Input, c: &Cast) -> Translated<SparkSql> {
    if c.quarantine {
        return Err(super::spark_sql::Refusal::NoTranslation(
            "cast: quarantine = true needs rejects, which are not collected on Spark yet".into(),
        ));
    }
    let names: Vec<String> = c.columns.keys().cloned().collect();
    input.need(&names, "cast")?;
    let mut types = BTreeMap::new();
    for (name, ty) in &c.columns {
        types.insert(name.clone(), spark_type(ty)?);
    }
    Ok(SparkSql::query(select_replacing(
        input,
        &|col| {
            types
                .get(col)
                .map(|t| format!("CAST({} AS {t})", ident(col)))
        },
        &[],
    )))
}

pub fn constant(input: &Input, c: &Constant) -> Translated<SparkSql> {
    let value = value_lit(&c.value)?;
    Ok(SparkSql::query(with_column(input, &c.column, &value)))
}

/// The run's time, the same for every row (Spark evaluates it once per query).
pub fn ingest_time(input: &Input, name: &str) -> Translated<SparkSql> {
    Ok(SparkSql::query(with_column(
        input,
        name,
        "CAST(current_timestamp() AS TIMESTAMP)",
    )))
}

/// The expression is passed to Spark as written: it must be Spark SQL too
/// (the common functions and operators are the same).
pub fn derive(input: &Input, d: &Derive) -> Translated<SparkSql> {
    let expr = super::spark_sql::spark_expression(&d.sql);
    Ok(SparkSql::query(with_column(
        input,
        &d.column,
        &format!("({expr})"),
    )))
}
