//! SQL through polars' SQL context: whole queries (`etl transform --sql`)
//! and row expressions (filters, derived columns, checks).
//!
//! polars' SQL differs from standard SQL in places; queries are rewritten
//! first (see [`super::sql_rewrite`]) so the answers are standard SQL's.

use std::sync::OnceLock;

use polars::prelude::*;
use polars::sql::SQLContext;

use super::spec::Sql;
use super::Context;
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, FrameData};

/// A row expression (`years_of_exp between 20 and 50`), checked against the schema.
pub fn expression(sql: &str, schema: &Schema) -> Result<Expr> {
    let rewritten = super::sql_rewrite::rewrite(&format!("SELECT {sql}"))?;
    let body = rewritten.strip_prefix("SELECT ").unwrap_or(&rewritten);
    let expr = polars::sql::sql_expr(body).map_err(|e| sql_error(sql, e))?;
    let probe = DataFrame::empty_with_schema(schema)
        .lazy()
        .select([expr.clone()])
        .collect_schema();
    if let Err(e) = probe {
        return Err(explain_columns(sql, schema, e));
    }
    Ok(expr)
}

fn explain_columns(sql: &str, schema: &Schema, e: PolarsError) -> Error {
    static MISSING: OnceLock<regex::Regex> = OnceLock::new();
    let re =
        MISSING.get_or_init(|| regex::Regex::new(r#"unable to find column "([^"]+)""#).unwrap());
    if let Some(name) = re.captures(&e.to_string()).map(|c| c[1].to_string()) {
        if let Err(suggested) =
            crate::names::require_columns(schema, &[name], &format!("SQL `{}`", one_line(sql)))
        {
            return suggested;
        }
    }
    sql_error(sql, e)
}

fn sql_error(sql: &str, e: PolarsError) -> Error {
    let inner = Error::from(e);
    let kind = if inner.kind == ErrorKind::Io {
        ErrorKind::Io
    } else {
        ErrorKind::Usage
    };
    Error::new(kind, format!("SQL `{}`: {}", one_line(sql), inner.message))
}

fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 80 {
        format!("{}…", flat.chars().take(79).collect::<String>())
    } else {
        flat
    }
}

/// Runs a query over the frame (table `input`, or `as`) and side tables.
pub fn run(frame: Frame, s: &Sql, ctx: &Context) -> Result<Frame> {
    let mut frame = frame.into_lazy()?;
    let FrameData::Lazy(input) =
        std::mem::replace(&mut frame.data, FrameData::Lazy(LazyFrame::default()))
    else {
        unreachable!("into_lazy gives a plan")
    };
    let query = super::sql_rewrite::rewrite(&s.query)?;
    let mut sql = SQLContext::new().with_function_registry(super::sql_rewrite::registry());
    sql.register(s.name.as_deref().unwrap_or("input"), input);
    for (name, location) in &s.with {
        let (lf, _) = super::side_table(&mut frame, location, ctx)?;
        sql.register(name, lf);
    }
    let mut out = sql.execute(&query).map_err(|e| sql_error(&s.query, e))?;
    out.collect_schema().map_err(|e| sql_error(&s.query, e))?;
    frame.data = FrameData::Lazy(out);
    frame.rows = None;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_check_column_names() {
        let schema = Schema::from_iter([Field::new("years_of_exp".into(), DataType::Int64)]);
        assert!(expression("years_of_exp between 20 and 50", &schema).is_ok());
        let e = expression("year_of_exp > 3", &schema).unwrap_err();
        assert!(
            e.message.contains("did you mean 'years_of_exp'"),
            "{}",
            e.message
        );
    }
}
