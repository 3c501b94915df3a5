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

pub use super::spark_sql::{
    ident, idents, no, numbered, order_terms, select_replacing, spark_expression, spark_query,
    spark_type, spark_type_of, string_lit, value_lit, with_column, Input, Refusal, SideView,
    SparkSql, Translated, ROW_ID,
};
use super::spec::Op;

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
