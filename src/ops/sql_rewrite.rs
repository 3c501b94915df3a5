//! Rewrites a query so polars' SQL engine gives standard SQL answers, and
//! adds functions Spark and DuckDB users expect. Each rewrite is a small,
//! testable text-to-text transformation of the parsed query.
//!
//! | construct | polars | rewritten to |
//! |---|---|---|
//! | `ROUND(x[, n])` | half to even | half away from zero |
//! | `SUM(x)` over no values | 0 | NULL |
//! | `split(s, d)`, `size(a)`, `cardinality(a)` | missing | `string_to_array`, `array_length` |
//! | `\d` in regex literals | any Unicode digit | `[0-9]` |
//! | window `ORDER BY x [NULLS FIRST\|LAST]` | NULL rows get a NULL rank | NULLs ranked, last unless asked |
//! | `regexp_extract`, `regexp_replace`, `regexp_substr` | missing | UDFs ([`registry`]) |

use std::ops::ControlFlow;
use std::sync::Arc;

use polars::prelude::*;
use polars::sql::FunctionRegistry;
use sqlparser::ast::{
    visit_expressions_mut, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use crate::error::{Error, Result};

/// The query, rewritten; a parse error is reported with polars' parser's words.
pub fn rewrite(sql: &str) -> Result<String> {
    let mut statements = Parser::parse_sql(&GenericDialect, sql)
        .map_err(|e| Error::usage(format!("SQL syntax error: {e}")))?;
    let mut failure = None;
    let _ = visit_expressions_mut(&mut statements, |expr| {
        if let Err(e) = rewrite_expr(expr) {
            failure = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::<()>::Continue(())
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let mut nesting = UdfNesting::default();
    let _ = sqlparser::ast::Visit::visit(&statements, &mut nesting);
    if let Some(name) = nesting.nested {
        return Err(Error::unsupported(format!(
            "{name} inside a subquery or CTE (polars' SQL engine does not pass etl's functions into nested queries); \
             call it in the outermost SELECT, or use the extract/replace ops"
        )));
    }
    Ok(statements
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join("; "))
}

/// Finds etl's functions used below the outermost query.
#[derive(Default)]
struct UdfNesting {
    depth: usize,
    nested: Option<String>,
}

impl sqlparser::ast::Visitor for UdfNesting {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &sqlparser::ast::Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &sqlparser::ast::Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &SqlExpr) -> ControlFlow<()> {
        if let SqlExpr::Function(f) = expr {
            let name = f.name.to_string().to_ascii_lowercase();
            if self.depth > 1 && FUNCTIONS.iter().any(|(n, _)| *n == name) {
                self.nested = Some(name);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

fn parse_expr(text: &str) -> Result<SqlExpr> {
    Parser::new(&GenericDialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::usage(format!("internal SQL rewrite failed for `{text}`: {e}")))
}

fn plain_args(f: &sqlparser::ast::Function) -> Option<Vec<&SqlExpr>> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn is_distinct(f: &sqlparser::ast::Function) -> bool {
    matches!(&f.args, FunctionArguments::List(l) if l.duplicate_treatment == Some(sqlparser::ast::DuplicateTreatment::Distinct))
}

/// Window orderings: each key gets a leading null-indicator key in the same
/// direction, so NULLs sort (and rank) last, or first when asked; polars
/// windows accept neither mixed directions nor NULLS FIRST/LAST.
fn order_nulls(f: &mut sqlparser::ast::Function) -> Result<()> {
    let Some(sqlparser::ast::WindowType::WindowSpec(spec)) = &mut f.over else {
        return Ok(());
    };
    let mut keys = Vec::with_capacity(spec.order_by.len() * 2);
    for key in spec.order_by.drain(..) {
        let descending = key.options.asc == Some(false);
        let nulls_first = key.options.nulls_first.unwrap_or(false);
        // The indicator's larger value sorts first under DESC, last under ASC.
        let null_value = if descending == nulls_first { 1 } else { 0 };
        let indicator = parse_expr(&format!(
            "CASE WHEN {} IS NULL THEN {null_value} ELSE {} END",
            key.expr,
            1 - null_value
        ))?;
        let options = sqlparser::ast::OrderByOptions {
            asc: key.options.asc,
            nulls_first: None,
        };
        keys.push(sqlparser::ast::OrderByExpr {
            expr: indicator,
            options,
            with_fill: None,
        });
        keys.push(sqlparser::ast::OrderByExpr {
            expr: key.expr,
            options,
            with_fill: key.with_fill,
        });
    }
    spec.order_by = keys;
    Ok(())
}

fn rewrite_expr(expr: &mut SqlExpr) -> Result<()> {
    let SqlExpr::Function(f) = expr else {
        return Ok(());
    };
    order_nulls(f)?;
    let name = f.name.to_string().to_ascii_lowercase();
    // Patterns of regex functions: ASCII digits.
    if name.starts_with("regexp_") || name == "rlike" {
        if let FunctionArguments::List(list) = &mut f.args {
            if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Value(v)))) =
                list.args.get_mut(1)
            {
                if let Value::SingleQuotedString(p) = &mut v.value {
                    *p = super::ascii_digits(p);
                }
            }
        }
    }
    let windowed = f.over.is_some();
    let Some(args) = plain_args(f) else {
        return Ok(());
    };
    let text: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let replacement = match (name.as_str(), text.as_slice()) {
        ("round", [x]) => Some(format!("(SIGN({x}) * FLOOR(ABS({x}) + 0.5))")),
        ("round", [x, n]) => {
            let digits: i32 = n.parse().map_err(|_| {
                Error::usage(format!(
                    "ROUND({x}, {n}): the digits must be a whole number"
                ))
            })?;
            let scale = format!("POWER(10.0, {digits})");
            Some(format!(
                "(SIGN({x}) * FLOOR(ABS({x}) * {scale} + 0.5) / {scale})"
            ))
        }
        ("sum", [x]) if !windowed && !is_distinct(f) => Some(format!(
            "(CASE WHEN COUNT({x}) = 0 THEN NULL ELSE SUM({x}) END)"
        )),
        ("split" | "string_split", [s, d]) => Some(format!("STRING_TO_ARRAY({s}, {d})")),
        ("size" | "cardinality", [a]) => Some(format!("ARRAY_LENGTH({a})")),
        // DuckDB's len(string_split(...)): the list's length, not the text's.
        ("len" | "length", [a]) if a.to_ascii_uppercase().starts_with("STRING_TO_ARRAY(") => {
            Some(format!("ARRAY_LENGTH({a})"))
        }
        _ => None,
    };
    if let Some(r) = replacement {
        *expr = parse_expr(&r)?;
    }
    Ok(())
}

/// Functions polars' SQL lacks, registered by name.
pub fn registry() -> Arc<dyn FunctionRegistry> {
    Arc::new(EtlFunctions)
}

struct EtlFunctions;

const FUNCTIONS: &[(&str, RegexFn)] = &[
    ("regexp_extract", RegexFn::Extract),
    ("regexp_substr", RegexFn::Substr),
    ("regexp_replace", RegexFn::Replace),
];

impl FunctionRegistry for EtlFunctions {
    fn register(&mut self, name: &str, _fun: UserDefinedFunction) -> PolarsResult<()> {
        polars_bail!(ComputeError: "cannot register '{name}': etl's SQL functions are fixed")
    }

    fn get_udf(&self, name: &str) -> PolarsResult<Option<UserDefinedFunction>> {
        Ok(FUNCTIONS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, kind)| UserDefinedFunction::new((*n).into(), RegexUdf(*kind))))
    }

    fn contains(&self, name: &str) -> bool {
        FUNCTIONS.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Copy)]
enum RegexFn {
    /// `regexp_extract(s, pattern[, group = 1])`, as in Spark.
    Extract,
    /// `regexp_substr(s, pattern)`: the first match.
    Substr,
    /// `regexp_replace(s, pattern, replacement)`: every match; `$1` refers to groups.
    Replace,
}

struct RegexUdf(RegexFn);

fn literal_arg<'a>(s: &'a [Column], i: usize, what: &str) -> PolarsResult<&'a Column> {
    s.get(i)
        .ok_or_else(|| polars_err!(ComputeError: "{what} is missing"))
}

impl ColumnsUdf for RegexUdf {
    fn call_udf(&self, s: &mut [Column]) -> PolarsResult<Column> {
        let name = s[0].name().clone();
        let text = s[0].cast(&DataType::String)?;
        let pattern = literal_arg(s, 1, "the pattern")?
            .str()?
            .get(0)
            .map(super::ascii_digits)
            .ok_or_else(|| polars_err!(ComputeError: "the regex pattern must be a text literal"))?;
        let c = col(name.clone());
        let expr = match self.0 {
            RegexFn::Extract | RegexFn::Substr => {
                let group = match (self.0, s.get(2)) {
                    (RegexFn::Substr, _) => 0,
                    (_, None) => 1,
                    (_, Some(g)) => g.cast(&DataType::Int64)?.i64()?.get(0).unwrap_or(1) as usize,
                };
                c.str().extract(lit(pattern), group)
            }
            RegexFn::Replace => {
                let with = literal_arg(s, 2, "the replacement")?
                    .str()?
                    .get(0)
                    .unwrap_or("")
                    .to_string();
                c.str().replace_all(lit(pattern), lit(with), false)
            }
        };
        let df = DataFrame::new(text.len(), vec![text])?;
        let out = df.lazy().select([expr.alias(name.clone())]).collect()?;
        Ok(out.column(&name)?.clone())
    }
}

impl AnonymousColumnsUdf for RegexUdf {
    fn as_column_udf(self: Arc<Self>) -> Arc<dyn ColumnsUdf> {
        self
    }

    fn deep_clone(self: Arc<Self>) -> Arc<dyn AnonymousColumnsUdf> {
        Arc::new(RegexUdf(self.0))
    }

    fn get_field(&self, _schema: &Schema, fields: &[Field]) -> PolarsResult<Field> {
        Ok(Field::new(fields[0].name().clone(), DataType::String))
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn round_sum_count_distinct_and_spark_names() {
        let r = rewrite("select round(avg(x) over (partition by p)) from t").unwrap();
        assert!(r.contains("SIGN(avg(x) OVER (PARTITION BY p)) * FLOOR(ABS(avg(x) OVER (PARTITION BY p)) + 0.5)"), "{r}");
        let r = rewrite("select sum(x), count(distinct y), size(split(z, ' ')) from t group by k")
            .unwrap();
        assert!(
            r.contains("CASE WHEN COUNT(x) = 0 THEN NULL ELSE SUM(x) END"),
            "{r}"
        );
        assert!(r.contains("ARRAY_LENGTH(STRING_TO_ARRAY(z, ' '))"), "{r}");
        let r = rewrite("select len(string_split(z, ' ')), length(name) from t").unwrap();
        assert!(
            r.contains("ARRAY_LENGTH(STRING_TO_ARRAY(z, ' '))") && r.contains("length(name)"),
            "{r}"
        );
        let r = rewrite(r"select regexp_extract(s, '\d+', 0) from t").unwrap();
        assert!(r.contains("'[0-9]+'"), "{r}");
        assert!(rewrite("selec 1")
            .unwrap_err()
            .message
            .starts_with("SQL syntax error"));
        let e =
            rewrite("select * from (select regexp_extract(s, 'a', 0) as x from t)").unwrap_err();
        assert!(
            e.message
                .starts_with("not supported yet: regexp_extract inside a subquery"),
            "{}",
            e.message
        );
        let r = rewrite(
            "select dense_rank() over (partition by p order by x desc, y nulls first) from t",
        )
        .unwrap();
        assert!(
            r.contains("ORDER BY CASE WHEN x IS NULL THEN 0 ELSE 1 END DESC, x DESC, CASE WHEN y IS NULL THEN 0 ELSE 1 END, y)"),
            "{r}"
        );
    }
}
