//! The pieces of the ops' Spark SQL translations (see `spark.rs`): the
//! op's input, the result, quoting, types and orderings.

use polars::prelude::{DataType, Field, Schema, TimeUnit};

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

pub fn no(reason: impl Into<String>) -> Refusal {
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
    spark_type_of(&t).map_err(|why| no(format!("type '{name}' ({why}): Spark has no such type")))
}

/// The Spark SQL type of a column type; `Err` shows the type Spark lacks.
pub fn spark_type_of(t: &DataType) -> std::result::Result<String, String> {
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
        other => return Err(crate::dtype::display_dtype(other)),
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
/// (a regex there: `d` is quoted), `array_length(a)` → `size(a)` as a
/// BIGINT; backslashes
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
        // Spark's size() is an INT; etl's array_length is unsigned, which
        // Spark has not: the 64-bit type holds every value (the expressions
        // are visited after their arguments, so this one is not again).
        if let SqlExpr::Function(f) = expr {
            if f.name.to_string() == "size" {
                *expr = SqlExpr::Cast {
                    kind: sqlparser::ast::CastKind::Cast,
                    expr: Box::new(expr.clone()),
                    data_type: sqlparser::ast::DataType::BigInt(None),
                    array: false,
                    format: None,
                };
            }
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
