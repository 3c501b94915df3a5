//! Spark SQL for the ops across rows and tables (see `relational.rs`).

use super::rows::parse_order;
use super::rows_spark::output_columns;
use super::spark_sql::{
    ident, idents, numbered, order_terms, Input, Refusal, SparkSql, Translated, ROW_ID,
};
use super::spec::{GroupBy, How, Join, Rank, RankFunction, Sql, TopN};
use crate::error::Error;

fn no(reason: &str) -> Refusal {
    Refusal::NoTranslation(reason.to_string())
}

/// Columns as polars joins them: this table's, then the other's; keys
/// given by `on` appear once (coalesced in a full join), clashing names
/// of the other table get the suffix (`_right`).
pub fn join(input: &Input, j: &Join) -> Translated<SparkSql> {
    let (left_on, right_on) = match (j.on.is_empty(), j.left_on.is_empty(), j.right_on.is_empty()) {
        (false, true, true) => (j.on.clone(), j.on.clone()),
        (true, false, false) if j.left_on.len() == j.right_on.len() => (j.left_on.clone(), j.right_on.clone()),
        _ => return Err(Error::usage("join: give `on` (same names on both sides) or `left-on` and `right-on` of equal length").into()),
    };
    input.need(&left_on, "join (this table)")?;
    let side = input.side_view(&j.table)?;
    if !side.columns.is_empty() {
        crate::names::require_columns(
            &side
                .columns
                .iter()
                .map(|c| {
                    polars::prelude::Field::new(c.as_str().into(), polars::prelude::DataType::Null)
                })
                .collect(),
            &right_on,
            &format!("join ({})", j.table),
        )?;
    }
    let kind = match j.how {
        How::Inner => "INNER JOIN",
        How::Left => "LEFT OUTER JOIN",
        How::Full => "FULL OUTER JOIN",
        How::Semi => "LEFT SEMI JOIN",
        How::Anti => "LEFT ANTI JOIN",
        How::Right => {
            return Err(no(
                "join: how = \"right\" is not translated yet (swap the tables and use left)",
            ))
        }
    };
    let (l, r) = ("`__etl_l`", "`__etl_r`");
    let on = left_on
        .iter()
        .zip(&right_on)
        .map(|(a, b)| format!("{l}.{} = {r}.{}", ident(a), ident(b)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let coalesce = !j.on.is_empty();
    let mut items = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for c in input.columns() {
        let is_key = coalesce && j.on.contains(c);
        items.push(if is_key && j.how == How::Full {
            format!("coalesce({l}.{0}, {r}.{0}) AS {0}", ident(c))
        } else {
            format!("{l}.{0} AS {0}", ident(c))
        });
        names.push(c.clone());
    }
    if !matches!(j.how, How::Semi | How::Anti) {
        let suffix = j.suffix.as_deref().unwrap_or("_right");
        for c in &side.columns {
            if coalesce && j.on.contains(c) {
                continue;
            }
            let name = if names.contains(c) {
                format!("{c}{suffix}")
            } else {
                c.clone()
            };
            items.push(format!("{r}.{} AS {}", ident(c), ident(&name)));
            names.push(name);
        }
    }
    let select = if input.columns.is_none() {
        "*".to_string()
    } else {
        items.join(", ")
    };
    Ok(SparkSql::query(format!(
        "SELECT {select} FROM {} {l} {kind} {} {r} ON {on}",
        ident(input.view),
        ident(&side.view)
    )))
}

/// One aggregate of the group-by vocabulary in Spark SQL.
fn aggregate(spec: &str, input: &Input) -> Translated<String> {
    let bad = || {
        Refusal::from(Error::usage(format!(
            "aggregate '{spec}': write function(column), e.g. sum(trx_cnt) or count(*)"
        )))
    };
    let (func, rest) = spec.trim().split_once('(').ok_or_else(bad)?;
    let arg = rest.strip_suffix(')').ok_or_else(bad)?.trim();
    let func = func.trim().to_ascii_lowercase();
    if arg == "*" {
        return match func.as_str() {
            "count" => Ok("count(*)".into()),
            _ => Err(bad()),
        };
    }
    input.need(&[arg.to_string()], "group-by")?;
    let c = ident(arg);
    Ok(match func.as_str() {
        "count" => format!("count({c})"),
        "count_distinct" | "countdistinct" => format!("count(DISTINCT {c})"),
        "sum" => format!("sum({c})"),
        "avg" | "mean" => format!("avg({c})"),
        "median" => format!("median({c})"),
        "min" => format!("min({c})"),
        "max" => format!("max({c})"),
        "first" | "last" => {
            return Err(no(&format!(
                "group-by: {func}(...) depends on row order, which Spark does not keep within groups"
            )))
        }
        _ => return Err(Error::usage(format!(
            "aggregate '{spec}': unknown function '{func}' (count, count_distinct, sum, avg, median, min, max, first, last)"
        )).into()),
    })
}

pub fn group_by(input: &Input, g: &GroupBy) -> Translated<SparkSql> {
    input.need(&g.by, "group-by")?;
    let mut items: Vec<String> = g.by.iter().map(|b| ident(b)).collect();
    for (out, spec) in &g.aggs {
        items.push(format!("{} AS {}", aggregate(spec, input)?, ident(out)));
    }
    let group = if g.by.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", idents(&g.by))
    };
    Ok(SparkSql::query(format!(
        "SELECT {} FROM {}{group}",
        items.join(", "),
        ident(input.view)
    )))
}

/// The rank as a BIGINT window over the input with its row numbers; only
/// row-number breaks ties, by input order as etl does.
fn rank_expr(
    input: &Input,
    function: RankFunction,
    partition: &[String],
    order_by: &[String],
) -> Translated<String> {
    input.need(partition, "rank partition-by")?;
    let order = parse_order(order_by)?;
    if order.is_empty() {
        return Err(Error::usage("rank: `order-by` needs at least one column").into());
    }
    let names: Vec<String> = order.iter().map(|k| k.column.clone()).collect();
    input.need(&names, "rank order-by")?;
    let mut terms = order_terms(&order);
    let f = match function {
        RankFunction::RowNumber => {
            terms.push(ident(ROW_ID));
            "row_number"
        }
        RankFunction::Rank => "rank",
        RankFunction::DenseRank => "dense_rank",
    };
    let part = if partition.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {} ", idents(partition))
    };
    Ok(format!(
        "CAST({f}() OVER ({part}ORDER BY {}) AS BIGINT)",
        terms.join(", ")
    ))
}

pub fn rank(input: &Input, r: &Rank) -> Translated<SparkSql> {
    let expr = rank_expr(input, r.function, &r.partition_by, &r.order_by)?;
    let mut items: Vec<String> = input
        .columns()
        .iter()
        .map(|c| {
            if *c == r.into {
                format!("{expr} AS {}", ident(c))
            } else {
                ident(c)
            }
        })
        .collect();
    if !input.has(&r.into) {
        if input.columns.is_none() {
            items.push("*".into());
        }
        items.push(format!("{expr} AS {}", ident(&r.into)));
    }
    Ok(SparkSql::query(format!(
        "SELECT {} FROM {}",
        items.join(", "),
        numbered(input.view)
    )))
}

pub fn top_n(input: &Input, t: &TopN) -> Translated<SparkSql> {
    let expr = rank_expr(input, t.function, &t.partition_by, &t.order_by)?;
    let rank = t.rank_column.as_deref().unwrap_or("__etl_rank");
    let mut cols = output_columns(input);
    if let Some(keep) = &t.rank_column {
        if !input.has(keep) {
            cols = format!("{cols}, {}", ident(keep));
        }
    }
    Ok(SparkSql::query(format!(
        "SELECT {cols} FROM (SELECT *, {expr} AS {} FROM {}) WHERE {} <= {}",
        ident(rank),
        numbered(input.view),
        ident(rank),
        t.n
    )))
}

/// By column name: a column missing from an input is null there.
pub fn union(input: &Input, locations: &[String]) -> Translated<SparkSql> {
    let mut sides = Vec::new();
    for l in locations {
        sides.push(input.side_view(l)?);
    }
    let mut all: Vec<String> = input.columns().to_vec();
    for s in &sides {
        for c in &s.columns {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
    }
    let part = |view: &str, have: &[String]| {
        if all.is_empty() {
            return format!("SELECT * FROM {}", ident(view));
        }
        let items: Vec<String> = all
            .iter()
            .map(|c| {
                if have.contains(c) {
                    ident(c)
                } else {
                    format!("NULL AS {}", ident(c))
                }
            })
            .collect();
        format!("SELECT {} FROM {}", items.join(", "), ident(view))
    };
    let mut parts = vec![part(input.view, input.columns())];
    for s in &sides {
        parts.push(part(&s.view, &s.columns));
    }
    Ok(SparkSql::query(parts.join(" UNION ALL ")))
}

/// The query runs as Spark SQL over views named as in etl (`input`, or
/// `as`, and the `with` tables).
pub fn sql(input: &Input, s: &Sql) -> Translated<SparkSql> {
    let mut prelude = vec![(
        s.name.clone().unwrap_or_else(|| "input".into()),
        format!("SELECT * FROM {}", ident(input.view)),
    )];
    for (name, location) in &s.with {
        let side = input.side_view(location)?;
        prelude.push((name.clone(), format!("SELECT * FROM {}", ident(&side.view))));
    }
    Ok(SparkSql {
        prelude,
        query: super::spark_sql::spark_query(&s.query),
    })
}
