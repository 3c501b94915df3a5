//! The Spark side of the op vocabulary: each op's translation to Spark SQL
//! over temporary views, used by `run-pipeline --engine spark`. The
//! translations live beside the local implementations (`columns_spark.rs`
//! beside `columns.rs`, ...); [`translate`] matches every op, so a new op
//! cannot compile without saying how it runs on Spark, or why it cannot.
//!
//! A translation reads the op's input from one view and gives one query;
//! the engine makes it the next view. Where the local op depends on row
//! order (dedup's keep, sort's ties, limit, row-number ties), the query
//! orders by `monotonically_increasing_id()` of its input, which is the
//! order in which the input dataset's file holds its rows.

use polars::prelude::{DataType, Field, Schema, TimeUnit};

use super::spec::Op;
use crate::error::Error;

/// Why an op does not run on Spark.
#[derive(Debug)]
pub enum Refusal {
    /// No Spark translation (yet): the reason, for `--check`.
    NoTranslation(String),
    /// The op is wrong for this input (an unknown column, say).
    Invalid(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Invalid(e)
    }
}

pub type Translated<T> = std::result::Result<T, Refusal>;

fn no(reason: impl Into<String>) -> Refusal {
    Refusal::NoTranslation(reason.into())
}

/// A view the engine registered for a side table (join, union, `sql` with).
#[derive(Debug, Clone)]
pub struct SideView {
    pub view: String,
    pub columns: Vec<String>,
}

/// The op's input: its view and columns, and the side tables' views.
pub struct Input<'a> {
    pub view: &'a str,
    /// The columns in order; `None` when unknown (`--check`, before any I/O):
    /// then column names are not checked.
    pub columns: Option<&'a [String]>,
    pub side: &'a dyn Fn(&str) -> Option<SideView>,
}

impl Input<'_> {
    /// The columns in order (empty when unknown).
    pub fn columns(&self) -> &[String] {
        self.columns.unwrap_or(&[])
    }

    /// Checks that the named columns exist, as the local op does.
    pub fn need(&self, names: &[String], what: &str) -> Translated<()> {
        if let Some(cols) = self.columns {
            let schema: Schema = cols
                .iter()
                .map(|c| Field::new(c.as_str().into(), DataType::Null))
                .collect();
            crate::names::require_columns(&schema, names, what)?;
        }
        Ok(())
    }

    pub fn has(&self, name: &str) -> bool {
        self.columns().iter().any(|c| c == name)
    }

    pub fn side_view(&self, location: &str) -> Translated<SideView> {
        (self.side)(location).ok_or_else(|| {
            Refusal::Invalid(Error::usage(format!(
                "the side table {location} was not registered on Spark"
            )))
        })
    }
}

/// What an op becomes: views to create first (`sql`'s table names), then
/// the query whose result is the op's output.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkSql {
    pub prelude: Vec<(String, String)>,
    pub query: String,
}

impl SparkSql {
    pub fn query(query: String) -> Self {
        SparkSql {
            prelude: Vec::new(),
            query,
        }
    }
}

/// The op as Spark SQL over `input`, or why it cannot run there.
pub fn translate(op: &Op, input: &Input) -> Translated<SparkSql> {
    use super::text_spark as t;
    use super::{columns_spark as c, nulls_spark as n, relational_spark as r, rows_spark as w};
    let q = match op {
        Op::Select(cols) => c::select(input, cols)?,
        Op::Rename(map) => c::rename(input, map)?,
        Op::Drop(cols) => c::drop(input, cols)?,
        Op::Cast(cast) => c::cast(input, cast)?,
        Op::Constant(k) => c::constant(input, k)?,
        Op::Derive(d) => c::derive(input, d)?,
        Op::IngestTime(name) => c::ingest_time(input, name)?,
        // Spark's trim() strips only spaces; polars strips all white space.
        Op::Trim(cols) => t::map_text(input, cols, "trim", |e| {
            format!("regexp_replace({e}, {}, '')", string_lit(r"(?U)^\s+|\s+$"))
        })?,
        Op::Upper(cols) => t::map_text(input, cols, "upper", |e| format!("upper({e})"))?,
        Op::Lower(cols) => t::map_text(input, cols, "lower", |e| format!("lower({e})"))?,
        Op::Title(_) => {
            return Err(no(
                "title: Spark's initcap splits words differently (only at spaces)",
            ))
        }
        Op::Replace(x) => t::replace(input, x)?,
        Op::Extract(x) => t::extract(input, x)?,
        Op::Concat(x) => t::concat(input, x)?,
        Op::ParseDate(p) => t::parse_date(input, p)?,
        Op::FillNull(f) => n::fill(input, f)?,
        Op::DropNulls(cols) => n::drop_rows(input, cols)?,
        Op::Dedup(d) => w::dedup(input, d)?,
        Op::Filter(sql) => w::filter(input, sql)?,
        Op::Sort(keys) => w::sort(input, keys)?,
        Op::Limit(k) => w::limit(input, *k)?,
        Op::Check(_) => return Err(no("check: rejects are not collected on Spark yet")),
        Op::Lookup(_) => return Err(no("lookup: not translated yet (use join)")),
        Op::Join(j) => r::join(input, j)?,
        Op::GroupBy(g) => r::group_by(input, g)?,
        Op::Rank(k) => r::rank(input, k)?,
        Op::TopN(k) => r::top_n(input, k)?,
        Op::Union(locations) => r::union(input, locations)?,
        Op::Sql(s) => r::sql(input, s)?,
        Op::Predict(_) => return Err(no("predict: models run locally (etl model), not on Spark")),
    };
    Ok(q)
}

/// The side tables an op reads, which the engine registers as views first.
pub fn side_tables(op: &Op) -> Vec<&str> {
    match op {
        Op::Join(j) => vec![j.table.as_str()],
        Op::Union(locations) => locations.iter().map(String::as_str).collect(),
        Op::Sql(s) => s.with.values().map(String::as_str).collect(),
        Op::Lookup(l) => vec![l.table.as_str()],
        _ => Vec::new(),
    }
}

/// Whether `op` has a Spark translation, without any data: `Err` says why not.
pub fn check(op: &Op) -> std::result::Result<(), String> {
    let side = |_: &str| {
        Some(SideView {
            view: "side".into(),
            columns: Vec::new(),
        })
    };
    let input = Input {
        view: "input",
        columns: None,
        side: &side,
    };
    match translate(op, &input) {
        Ok(_) => Ok(()),
        Err(Refusal::NoTranslation(why)) => Err(why),
        // Invalid options are the local validation's to report.
        Err(Refusal::Invalid(_)) => Ok(()),
    }
}

// ---------------------------------------------------------------- SQL text

/// The column used to keep the input's row order.
pub const ROW_ID: &str = "__etl_row";

/// An identifier in backticks.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Identifiers joined by commas.
pub fn idents<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| ident(n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string literal: Spark unescapes backslashes in literals.
pub fn string_lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A literal from a JSON/TOML value, typed as the local op types it.
pub fn value_lit(v: &serde_json::Value) -> Translated<String> {
    Ok(match v {
        serde_json::Value::Null => "CAST(NULL AS STRING)".into(),
        serde_json::Value::Bool(b) => b.to_string().to_uppercase(),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => format!("CAST({i} AS BIGINT)"),
            (None, Some(f)) if f.is_finite() => format!("CAST('{f:?}' AS DOUBLE)"),
            _ => return Err(Error::usage(format!("number {n} is out of range")).into()),
        },
        serde_json::Value::String(s) => string_lit(s),
        other => return Err(Error::usage(format!("a single value is needed, not {other}")).into()),
    })
}

/// The Spark SQL type of an etl type name.
pub fn spark_type(name: &str) -> Translated<String> {
    let t = crate::dtype::parse_dtype(name)?;
    Ok(match t {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 | DataType::UInt8 => "SMALLINT".into(),
        DataType::Int32 | DataType::UInt16 => "INT".into(),
        DataType::Int64 | DataType::UInt32 => "BIGINT".into(),
        DataType::UInt64 => "DECIMAL(20,0)".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::String => "STRING".into(),
        DataType::Binary => "BINARY".into(),
        DataType::Date => "DATE".into(),
        DataType::Datetime(TimeUnit::Microseconds, None) => "TIMESTAMP_NTZ".into(),
        DataType::Datetime(TimeUnit::Microseconds, Some(_)) => "TIMESTAMP".into(),
        DataType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
        other => {
            return Err(no(format!(
                "type '{name}' ({}): Spark has no such type",
                crate::dtype::display_dtype(&other)
            )))
        }
    })
}

/// The input with its row order as a column ([`ROW_ID`]).
pub fn numbered(view: &str) -> String {
    format!(
        "(SELECT *, monotonically_increasing_id() AS {} FROM {})",
        ident(ROW_ID),
        ident(view)
    )
}

/// `ORDER BY` terms of local orderings (`col desc nulls first`).
pub fn order_terms(keys: &[super::rows::OrderKey]) -> Vec<String> {
    keys.iter()
        .map(|k| {
            format!(
                "{} {} NULLS {}",
                ident(&k.column),
                if k.descending { "DESC" } else { "ASC" },
                if k.nulls_last { "LAST" } else { "FIRST" }
            )
        })
        .collect()
}

/// Every input column, with `replace` giving a new expression for some.
pub fn select_replacing(
    input: &Input,
    replace: &dyn Fn(&str) -> Option<String>,
    added: &[(String, String)],
) -> String {
    let mut items: Vec<String> = input
        .columns()
        .iter()
        .map(|c| match replace(c) {
            Some(e) => format!("{e} AS {}", ident(c)),
            None => ident(c),
        })
        .collect();
    for (name, expr) in added {
        items.push(format!("{expr} AS {}", ident(name)));
    }
    if items.is_empty() {
        items.push("*".into());
    }
    format!("SELECT {} FROM {}", items.join(", "), ident(input.view))
}

/// The query with a new or replaced column `name = expr`, in place when it
/// exists, else last (as polars' `with_column`).
pub fn with_column(input: &Input, name: &str, expr: &str) -> String {
    if input.has(name) {
        select_replacing(input, &|c| (c == name).then(|| expr.to_string()), &[])
    } else if input.columns.is_none() {
        format!(
            "SELECT *, {expr} AS {} FROM {}",
            ident(name),
            ident(input.view)
        )
    } else {
        select_replacing(input, &|_| None, &[(name.to_string(), expr.to_string())])
    }
}

/// An SQL row expression as Spark SQL (see [`spark_query`]).
pub fn spark_expression(sql: &str) -> String {
    let query = spark_query(&format!("SELECT {sql}"));
    match query.strip_prefix("SELECT ") {
        Some(body) => body.to_string(),
        None => sql.to_string(),
    }
}

/// A query in etl's SQL as Spark SQL: `"quoted"` identifiers in backticks
/// (Spark reads double quotes as strings), and the functions etl also
/// accepts in their Spark names: `string_to_array(s, d)` → `split(s, d)`
/// (a regex there: `d` is quoted), `array_length(a)` → `size(a)`; backslashes
/// in literals doubled, as Spark unescapes them. Text that
/// does not parse goes to Spark as written, for Spark to judge.
pub fn spark_query(sql: &str) -> String {
    use sqlparser::ast::{visit_expressions_mut, Expr as SqlExpr, FunctionArguments, Ident};
    use std::ops::ControlFlow;
    let Ok(mut statements) =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect, sql)
    else {
        return sql.to_string();
    };
    let backtick = |i: &mut Ident| {
        if i.quote_style == Some('"') {
            i.quote_style = Some('`');
        }
    };
    let _ = visit_expressions_mut(&mut statements, |expr| {
        match expr {
            SqlExpr::Identifier(i) => backtick(i),
            SqlExpr::CompoundIdentifier(parts) => parts.iter_mut().for_each(backtick),
            SqlExpr::Function(f) => {
                let name = f.name.to_string().to_ascii_lowercase();
                let renamed = match name.as_str() {
                    "array_length" | "cardinality" => Some("size"),
                    "string_to_array" => Some("split"),
                    _ => None,
                };
                if let Some(new) = renamed {
                    f.name = sqlparser::ast::ObjectName::from(vec![Ident::new(new)]);
                    if name == "string_to_array" {
                        if let FunctionArguments::List(list) = &mut f.args {
                            if let Some(sqlparser::ast::FunctionArg::Unnamed(
                                sqlparser::ast::FunctionArgExpr::Expr(SqlExpr::Value(v)),
                            )) = list.args.get_mut(1)
                            {
                                if let sqlparser::ast::Value::SingleQuotedString(d) = &mut v.value {
                                    *d = regex::escape(d);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    // Spark unescapes backslashes in literals; etl's SQL keeps them ('\d').
    let _ = visit_expressions_mut(&mut statements, |expr| {
        if let SqlExpr::Value(v) = expr {
            if let sqlparser::ast::Value::SingleQuotedString(text) = &mut v.value {
                *text = text.replace('\\', "\\\\");
            }
        }
        ControlFlow::<()>::Continue(())
    });
    statements
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One op of every kind: the match makes this list complete.
    fn one_of_each() -> Vec<Op> {
        let texts = [
            r#"select = ["a"]"#,
            r#"rename = { a = "b" }"#,
            r#"drop = ["a"]"#,
            r#"cast = { columns = { a = "int" } }"#,
            r#"trim = ["a"]"#,
            r#"upper = ["a"]"#,
            r#"lower = ["a"]"#,
            r#"title = ["a"]"#,
            r#"replace = { column = "a", pattern = "x", with = "y" }"#,
            r#"extract = { column = "a", pattern = '\d+' }"#,
            r#"concat = { into = "c", columns = ["a", "b"] }"#,
            r#"constant = { column = "c", value = 1 }"#,
            r#"fill-null = { column = "a", value = 0 }"#,
            r#"drop-nulls = ["a"]"#,
            r#"dedup = { key = ["a"] }"#,
            r#"filter = "a > 1""#,
            r#"derive = { column = "c", sql = "a + 1" }"#,
            r#"parse-date = { column = "a", format = "%Y-%m-%d" }"#,
            r#"lookup = { column = "a", table = "t.csv", key = "k", value = "v" }"#,
            r#"check = { rule = "not-null", column = "a" }"#,
            r#"sql = { query = "select * from input" }"#,
            r#"join = { table = "t.parquet", on = ["a"] }"#,
            r#"group-by = { by = ["a"], aggs = { n = "count(*)" } }"#,
            r#"rank = { into = "r", order-by = ["a"] }"#,
            r#"top-n = { n = 1, order-by = ["a"] }"#,
            r#"sort = ["a"]"#,
            "limit = 3",
            r#"union = ["t.parquet"]"#,
            r#"ingest-time = "t""#,
            r#"predict = { model = "m.json" }"#,
        ];
        let ops: Vec<Op> = texts
            .iter()
            .map(|t| super::super::parse_inline(t).unwrap())
            .collect();
        // Adding an op kind makes this match fail to compile until the
        // kind has an example above.
        for op in &ops {
            match op {
                Op::Select(_)
                | Op::Rename(_)
                | Op::Drop(_)
                | Op::Cast(_)
                | Op::Trim(_)
                | Op::Upper(_)
                | Op::Lower(_)
                | Op::Title(_)
                | Op::Replace(_)
                | Op::Extract(_)
                | Op::Concat(_)
                | Op::Constant(_)
                | Op::FillNull(_)
                | Op::DropNulls(_)
                | Op::Dedup(_)
                | Op::Filter(_)
                | Op::Derive(_)
                | Op::ParseDate(_)
                | Op::Lookup(_)
                | Op::Check(_)
                | Op::Sql(_)
                | Op::Join(_)
                | Op::GroupBy(_)
                | Op::Rank(_)
                | Op::TopN(_)
                | Op::Sort(_)
                | Op::Limit(_)
                | Op::Union(_)
                | Op::IngestTime(_)
                | Op::Predict(_) => {}
            }
        }
        ops
    }

    /// Op kinds that have no Spark translation, on purpose, with why.
    const UNSUPPORTED: &[&str] = &["title", "lookup", "check", "predict"];

    #[test]
    fn every_op_kind_translates_or_is_marked_unsupported() {
        let ops = one_of_each();
        let names: Vec<&str> = ops.iter().map(super::super::name).collect();
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "one example per kind");
        let mut missing = Vec::new();
        for op in &ops {
            let name = super::super::name(op);
            match check(op) {
                Ok(()) => assert!(
                    !UNSUPPORTED.contains(&name),
                    "{name} translates now: take it off UNSUPPORTED"
                ),
                Err(why) => {
                    assert!(
                        why.starts_with(name),
                        "{name}: the reason names the op: {why}"
                    );
                    if !UNSUPPORTED.contains(&name) {
                        missing.push(format!("{name}: {why}"));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "ops without a Spark translation: {missing:?}"
        );
    }

    #[test]
    fn literals_and_identifiers_are_quoted() {
        assert_eq!(ident("a`b"), "`a``b`");
        assert_eq!(string_lit(r"it's \d"), r"'it\'s \\d'");
        assert_eq!(
            value_lit(&serde_json::json!(1.5)).unwrap(),
            "CAST('1.5' AS DOUBLE)"
        );
        assert_eq!(spark_type("int").unwrap(), "BIGINT");
        assert!(matches!(spark_type("time"), Err(Refusal::NoTranslation(_))));
    }
}
