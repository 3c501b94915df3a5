//! Operations on frames: cleaning, validation and transforms. Each op is
//! data ([`spec::Op`]); [`apply`] runs a list of them in order. Ops are
//! pure functions of frames: side tables come through [`Context`], and
//! checks only mark failing rows ([`checks::REJECT_COLUMN`]); the caller
//! (the step runner) settles them. Row-local ops keep a piped stream
//! streaming; ops that need the whole table (sort, join, group-by, window,
//! dedup, statistics) turn it into a lazy plan.

pub mod checks;
mod columns;
mod columns_spark;
mod nulls;
mod nulls_spark;
pub mod predict;
mod relational;
mod relational_spark;
mod rows;
mod rows_spark;
pub mod spark;
mod spark_sql;
pub mod spec;
pub mod sql;
pub mod sql_rewrite;
mod text;
mod text_spark;

use polars::prelude::*;

pub use relational::aggregate;
pub use spec::Op;

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameData};

/// Opens a side table (a join or lookup table, a union input, an SQL
/// `--with` table) named by its location.
pub type OpenTable<'a> = &'a (dyn Fn(&str) -> Result<Frame> + Sync);

/// What ops need besides the frame: a way to open side tables.
pub struct Context<'a> {
    pub open_table: OpenTable<'a>,
}

/// The result of applying ops: the frame, and whether rows were marked
/// for rejection (in [`checks::REJECT_COLUMN`]) and must be settled.
pub struct Applied {
    pub frame: Frame,
    pub marked: bool,
}

/// Runs `ops` in order. Column names are checked against the schema before
/// each op, so a typo fails before any data is read.
pub fn apply(frame: Frame, ops: &[Op], ctx: &Context) -> Result<Applied> {
    let mut frame = frame;
    let mut marked = false;
    for (i, op) in ops.iter().enumerate() {
        let schema = frame.schema()?;
        let place = format!("op {} ({})", i + 1, name(op));
        frame = apply_one(frame, op, &schema, ctx).map_err(|e| e.context(&place))?;
        marked |= marks_rows(op);
    }
    Ok(Applied { frame, marked })
}

/// Opens a side table as a lazy plan whose temporary files `into` keeps alive.
pub(crate) fn side_table(
    into: &mut Frame,
    location: &str,
    ctx: &Context,
) -> Result<(LazyFrame, SchemaRef)> {
    let mut other = (ctx.open_table)(location)?.into_lazy()?;
    let schema = other.schema()?;
    into.explainers.append(&mut other.explainers);
    into.temps.append(&mut other.temps);
    let FrameData::Lazy(lf) = other.data else {
        unreachable!("into_lazy gives a plan")
    };
    Ok((lf, schema))
}

/// Ops that mark rows for the rejects instead of failing.
fn marks_rows(op: &Op) -> bool {
    matches!(op, Op::Check(_)) || matches!(op, Op::Cast(c) if c.quarantine)
}

fn apply_one(frame: Frame, op: &Op, schema: &Schema, ctx: &Context) -> Result<Frame> {
    match op {
        Op::Select(cols) => columns::select(frame, schema, cols),
        Op::Rename(map) => columns::rename(frame, schema, map),
        Op::Drop(cols) => columns::drop(frame, schema, cols),
        Op::Cast(c) => columns::cast(frame, schema, c),
        Op::Constant(c) => columns::constant(frame, c),
        Op::Derive(d) => columns::derive(frame, schema, d),
        Op::Trim(cols) => text::map_text(frame, schema, cols, "trim", |e| {
            e.str().strip_chars(lit(NULL))
        }),
        Op::Upper(cols) => text::map_text(frame, schema, cols, "upper", |e| e.str().to_uppercase()),
        Op::Lower(cols) => text::map_text(frame, schema, cols, "lower", |e| e.str().to_lowercase()),
        Op::Title(cols) => text::title(frame, schema, cols),
        Op::Replace(r) => text::replace(frame, schema, r),
        Op::Extract(x) => text::extract(frame, schema, x),
        Op::Concat(c) => text::concat(frame, schema, c),
        Op::ParseDate(p) => text::parse_date(frame, schema, p),
        Op::FillNull(f) => nulls::fill(frame, schema, f),
        Op::DropNulls(cols) => nulls::drop_rows(frame, schema, cols),
        Op::Dedup(d) => rows::dedup(frame, schema, d),
        Op::Filter(sql) => rows::filter(frame, schema, sql),
        Op::Sort(keys) => rows::sort(frame, schema, keys),
        Op::Limit(n) => Ok(frame.limit(*n)),
        Op::Check(c) => checks::check(frame, schema, c),
        Op::Lookup(l) => relational::lookup(frame, schema, l, ctx),
        Op::Join(j) => relational::join(frame, schema, j, ctx),
        Op::GroupBy(g) => relational::group_by(frame, schema, g),
        Op::Rank(r) => relational::rank(frame, schema, r),
        Op::TopN(t) => relational::top_n(frame, schema, t),
        Op::Union(locations) => relational::union(frame, locations, ctx),
        Op::Sql(s) => sql::run(frame, s, ctx),
        Op::IngestTime(name) => columns::ingest_time(frame, name),
        Op::Predict(p) => predict::predict(frame, p),
    }
}

/// Ops after which polars holds the whole table in memory anyway.
pub fn holds_whole_table(op: &Op) -> bool {
    match op {
        Op::FillNull(f) => f.with.is_some(),
        Op::Check(c) => c.rule == spec::Rule::Unique,
        Op::Dedup(_)
        | Op::Sql(_)
        | Op::Join(_)
        | Op::GroupBy(_)
        | Op::Rank(_)
        | Op::TopN(_)
        | Op::Sort(_)
        | Op::Lookup(_) => true,
        _ => false,
    }
}

/// Ops that change the number of rows on purpose (rows in = rows out +
/// rejected holds for every other op).
pub fn changes_row_count(op: &Op) -> bool {
    matches!(
        op,
        Op::Filter(_)
            | Op::DropNulls(_)
            | Op::Dedup(_)
            | Op::Limit(_)
            | Op::TopN(_)
            | Op::Join(_)
            | Op::Lookup(_)
            | Op::GroupBy(_)
            | Op::Union(_)
            | Op::Sql(_)
    )
}

/// The op's name as written in files and flags.
pub fn name(op: &Op) -> &'static str {
    match op {
        Op::Select(_) => "select",
        Op::Rename(_) => "rename",
        Op::Drop(_) => "drop",
        Op::Cast(_) => "cast",
        Op::Trim(_) => "trim",
        Op::Upper(_) => "upper",
        Op::Lower(_) => "lower",
        Op::Title(_) => "title",
        Op::Replace(_) => "replace",
        Op::Extract(_) => "extract",
        Op::Concat(_) => "concat",
        Op::Constant(_) => "constant",
        Op::FillNull(_) => "fill-null",
        Op::DropNulls(_) => "drop-nulls",
        Op::Dedup(_) => "dedup",
        Op::Filter(_) => "filter",
        Op::Derive(_) => "derive",
        Op::ParseDate(_) => "parse-date",
        Op::Lookup(_) => "lookup",
        Op::Check(_) => "check",
        Op::Sql(_) => "sql",
        Op::Join(_) => "join",
        Op::GroupBy(_) => "group-by",
        Op::Rank(_) => "rank",
        Op::TopN(_) => "top-n",
        Op::Sort(_) => "sort",
        Op::Limit(_) => "limit",
        Op::Union(_) => "union",
        Op::IngestTime(_) => "ingest-time",
        Op::Predict(_) => "predict",
    }
}

/// Reads an ops file (`[[ops]]` tables, in order).
pub fn parse_ops_file(text: &str, shown: &str) -> Result<Vec<Op>> {
    let text = crate::vars::expand_env(text, shown)?;
    let file: spec::OpsFile = toml::from_str(&text)
        .map_err(|e| Error::usage(format!("{shown}: {}", one_line(&e.to_string()))))?;
    Ok(file.ops)
}

/// Parses one op written inline as TOML: `fill-null = { column = "x", with = "mean" }`.
pub fn parse_inline(text: &str) -> Result<Op> {
    toml::from_str::<Op>(text)
        .map_err(|e| Error::usage(format!("--op '{text}': {}", one_line(&e.to_string()))))
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks that the named columns exist, suggesting close matches.
fn need(schema: &Schema, cols: &[String], what: &str) -> Result<()> {
    crate::names::require_columns(schema, cols, what)
}

/// A literal from a JSON/TOML value.
fn literal(v: &serde_json::Value) -> Result<Expr> {
    Ok(match v {
        serde_json::Value::Null => lit(NULL),
        serde_json::Value::Bool(b) => lit(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => lit(i),
            (None, Some(f)) => lit(f),
            _ => return Err(Error::usage(format!("number {n} is out of range"))),
        },
        serde_json::Value::String(s) => lit(s.clone()),
        other => {
            return Err(Error::usage(format!(
                "a single value is needed, not {other}"
            )))
        }
    })
}

/// Rewrites `\d`/`\D` to ASCII digit classes: SQL engines match only 0-9,
/// while Rust's regex (and so polars) also matches other scripts' digits.
pub fn ascii_digits(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                Some('D') if !in_class => out.push_str("[^0-9]"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap());
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap());
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Compiles a user's regex up front, so a bad one fails with its position.
fn check_regex(pattern: &str, what: &str) -> Result<String> {
    let ascii = ascii_digits(pattern);
    regex::Regex::new(&ascii).map_err(|e| {
        Error::usage(format!(
            "{what}: bad regex '{pattern}': {}",
            one_line(&e.to_string())
        ))
    })?;
    Ok(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_become_ascii_classes() {
        assert_eq!(ascii_digits(r"\d+"), "[0-9]+");
        assert_eq!(ascii_digits(r"[\d.]+\D"), "[0-9.]+[^0-9]");
        assert_eq!(ascii_digits(r"\\d"), r"\\d");
    }

    #[test]
    fn ops_parse_from_toml() {
        let ops = parse_ops_file(
            r#"
            [[ops]]
            rename = { npi = "presc_id" }
            [[ops]]
            extract = { column = "years_of_exp", pattern = '\d+', type = "int" }
            [[ops]]
            fill-null = { column = "trx_cnt", with = "mean", by = ["presc_id"], round = "half-away-from-zero" }
            "#,
            "ops.toml",
        )
        .unwrap();
        assert_eq!(ops.len(), 3);
        assert!(matches!(&ops[2], Op::FillNull(f) if f.by == ["presc_id"]));
        let e = parse_ops_file("[[ops]]\nrenam = { a = \"b\" }\n", "ops.toml").unwrap_err();
        assert!(
            e.message.contains("ops.toml") && e.message.contains("renam"),
            "{}",
            e.message
        );
    }
}
