//! Spark SQL for the row ops (see `rows.rs`). Where etl keeps the input's
//! row order (dedup's keep, sort's ties, limit), the query orders by the
//! input's row number ([`super::spark_sql::numbered`]).

use super::rows::parse_order;
use super::spark_sql::{ident, idents, numbered, order_terms, Input, SparkSql, Translated, ROW_ID};
use super::spec::{Dedup, Keep};

/// The input's columns (without etl's helper columns), or `*` when unknown.
pub fn output_columns(input: &Input) -> String {
    if input.columns.is_none() {
        "*".to_string()
    } else {
        idents(input.columns())
    }
}

pub fn filter(input: &Input, predicate: &str) -> Translated<SparkSql> {
    Ok(SparkSql::query(format!(
        "SELECT * FROM {} WHERE ({})",
        ident(input.view),
        super::spark_sql::spark_expression(predicate)
    )))
}

pub fn dedup(input: &Input, d: &Dedup) -> Translated<SparkSql> {
    input.need(&d.key, "dedup")?;
    if d.key.is_empty() {
        return Ok(SparkSql::query(format!(
            "SELECT DISTINCT * FROM {}",
            ident(input.view)
        )));
    }
    let direction = match d.keep {
        Keep::First => "ASC",
        Keep::Last => "DESC",
    };
    Ok(SparkSql::query(format!(
        "SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY {row} {direction}) AS `__etl_keep` FROM {input}) WHERE `__etl_keep` = 1",
        cols = output_columns(input),
        keys = idents(&d.key),
        row = ident(ROW_ID),
        input = numbered(input.view),
    )))
}

/// Ties keep their input order, as etl's stable sort does.
pub fn sort(input: &Input, keys: &[String]) -> Translated<SparkSql> {
    let keys = parse_order(keys)?;
    let names: Vec<String> = keys.iter().map(|k| k.column.clone()).collect();
    input.need(&names, "sort")?;
    let mut terms = order_terms(&keys);
    terms.push(ident(ROW_ID));
    Ok(SparkSql::query(format!(
        "SELECT {} FROM {} ORDER BY {}",
        output_columns(input),
        numbered(input.view),
        terms.join(", ")
    )))
}

pub fn limit(input: &Input, n: usize) -> Translated<SparkSql> {
    Ok(SparkSql::query(format!(
        "SELECT {} FROM {} ORDER BY {} LIMIT {n}",
        output_columns(input),
        numbered(input.view),
        ident(ROW_ID)
    )))
}
