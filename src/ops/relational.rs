//! Ops across rows and tables: join, lookup, group-by, rank, top-N, union.

use polars::prelude::*;

use super::rows::{parse_order, sort_options};
use super::spec::{GroupBy, How, Join, Lookup, Rank, RankFunction, TopN};
use super::{need, Context};
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameData};

fn lazy(frame: Frame) -> Result<(Frame, LazyFrame)> {
    let mut frame = frame.into_lazy()?;
    let FrameData::Lazy(lf) =
        std::mem::replace(&mut frame.data, FrameData::Lazy(LazyFrame::default()))
    else {
        unreachable!("into_lazy gives a plan")
    };
    Ok((frame, lf))
}

fn with_plan(mut frame: Frame, lf: LazyFrame) -> Frame {
    frame.data = FrameData::Lazy(lf);
    frame.rows = None;
    frame
}

pub fn join(frame: Frame, schema: &Schema, j: &Join, ctx: &Context) -> Result<Frame> {
    let (left_on, right_on) = match (j.on.is_empty(), j.left_on.is_empty(), j.right_on.is_empty()) {
        (false, true, true) => (j.on.clone(), j.on.clone()),
        (true, false, false) if j.left_on.len() == j.right_on.len() => (j.left_on.clone(), j.right_on.clone()),
        _ => return Err(Error::usage("join: give `on` (same names on both sides) or `left-on` and `right-on` of equal length")),
    };
    need(schema, &left_on, "join (this table)")?;
    let (mut frame, lf) = lazy(frame)?;
    let (other, other_schema) = super::side_table(&mut frame, &j.table, ctx)?;
    need(&other_schema, &right_on, &format!("join ({})", j.table))?;
    let how = match j.how {
        How::Inner => JoinType::Inner,
        How::Left => JoinType::Left,
        How::Right => JoinType::Right,
        How::Full => JoinType::Full,
        How::Semi => JoinType::Semi,
        How::Anti => JoinType::Anti,
    };
    // Same-named keys merge into one column; differently named keys both stay.
    let coalesce = if j.on.is_empty() {
        JoinCoalesce::KeepColumns
    } else {
        JoinCoalesce::CoalesceColumns
    };
    // Rows keep the order of this table (then the other's), so later ops
    // such as dedup keep=last see the order the user sees.
    let order = match j.how {
        How::Right => MaintainOrderJoin::RightLeft,
        _ => MaintainOrderJoin::LeftRight,
    };
    let mut args = JoinArgs::new(how).with_coalesce(coalesce);
    args.maintain_order = order;
    if let Some(s) = &j.suffix {
        args = args.with_suffix(Some(s.as_str().into()));
    }
    let l: Vec<Expr> = left_on.iter().map(|c| col(c.as_str())).collect();
    let r: Vec<Expr> = right_on.iter().map(|c| col(c.as_str())).collect();
    Ok(with_plan(frame, lf.join(other, l, r, args)))
}

/// Replaces (or adds) a column by looking its values up in a key/value table.
pub fn lookup(frame: Frame, schema: &Schema, l: &Lookup, ctx: &Context) -> Result<Frame> {
    need(schema, std::slice::from_ref(&l.column), "lookup")?;
    let (mut frame, lf) = lazy(frame)?;
    let (table, table_schema) = super::side_table(&mut frame, &l.table, ctx)?;
    need(
        &table_schema,
        &[l.key.clone(), l.value.clone()],
        &format!("lookup ({})", l.table),
    )?;
    let into = l.into.clone().unwrap_or_else(|| l.column.clone());
    const VALUE: &str = "__etl_lookup_value";
    let table = table
        .select([col(l.key.as_str()), col(l.value.as_str()).alias(VALUE)])
        .unique_stable_generic(Some(vec![col(l.key.as_str())]), UniqueKeepStrategy::First);
    let joined = lf
        .join(
            table,
            [col(l.column.as_str())],
            [col(l.key.as_str())],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left).with_coalesce(JoinCoalesce::KeepColumns)
            },
        )
        .with_column(col(VALUE).alias(into.as_str()))
        .drop(cols([VALUE]));
    let keep_key = l.key == l.column || schema.contains(&l.key);
    let joined = if keep_key {
        joined
    } else {
        joined.drop(cols([l.key.as_str()]))
    };
    let mut out = with_plan(frame, joined);
    out.rows = None;
    Ok(out)
}

pub fn group_by(frame: Frame, schema: &Schema, g: &GroupBy) -> Result<Frame> {
    need(schema, &g.by, "group-by")?;
    let mut aggs = Vec::with_capacity(g.aggs.len());
    for (out, spec) in &g.aggs {
        aggs.push(aggregate(spec, schema)?.alias(out.as_str()));
    }
    let by: Vec<Expr> = g.by.iter().map(|c| col(c.as_str())).collect();
    let (frame, lf) = lazy(frame)?;
    Ok(with_plan(frame, lf.group_by_stable(by).agg(aggs)))
}

/// `count(*)`, `count(x)`, `count_distinct(x)`, `sum(x)`, `avg(x)`, `mean(x)`,
/// `median(x)`, `min(x)`, `max(x)`, `first(x)`, `last(x)`, with SQL's null
/// rules: counts skip nulls, and the sum of no values is null, not 0.
pub fn aggregate(spec: &str, schema: &Schema) -> Result<Expr> {
    let bad = || {
        Error::usage(format!(
            "aggregate '{spec}': write function(column), e.g. sum(trx_cnt) or count(*)"
        ))
    };
    let (func, rest) = spec.trim().split_once('(').ok_or_else(bad)?;
    let arg = rest.strip_suffix(')').ok_or_else(bad)?.trim();
    let func = func.trim().to_ascii_lowercase();
    if arg == "*" {
        return match func.as_str() {
            "count" => Ok(len().cast(DataType::Int64)),
            _ => Err(bad()),
        };
    }
    need(schema, &[arg.to_string()], "group-by")?;
    let c = col(arg);
    Ok(match func.as_str() {
        "count" => c.count().cast(DataType::Int64),
        "count_distinct" | "countdistinct" => c.drop_nulls().n_unique().cast(DataType::Int64),
        "sum" => when(c.clone().count().eq(lit(0))).then(lit(NULL)).otherwise(c.sum()),
        "avg" | "mean" => c.mean(),
        "median" => c.median(),
        "min" => c.min(),
        "max" => c.max(),
        "first" => c.first(),
        "last" => c.last(),
        _ => return Err(Error::usage(format!(
            "aggregate '{spec}': unknown function '{func}' (count, count_distinct, sum, avg, median, min, max, first, last)"
        ))),
    })
}

/// SQL window ranks: rows are sorted by partition and ordering; ties (nulls
/// included, which sort last unless said otherwise) share a rank.
fn rank_expr(
    function: RankFunction,
    partition: &[String],
    order: &[super::rows::OrderKey],
) -> Expr {
    let keys: Vec<Expr> = order.iter().map(|k| col(k.column.as_str())).collect();
    let part: Vec<Expr> = partition.iter().map(|c| col(c.as_str())).collect();
    let over = |e: Expr| {
        if part.is_empty() {
            e
        } else {
            e.over(part.clone()).expect("valid window")
        }
    };
    let row_number = over(int_range(lit(0), len(), 1, DataType::Int64)) + lit(1i64);
    let changed = keys
        .iter()
        .map(|k| over(k.clone().neq_missing(k.clone().shift(lit(1)))))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false));
    let first_in_partition = row_number.clone().eq(lit(1i64));
    let new_group = first_in_partition.or(changed.fill_null(lit(true)));
    match function {
        RankFunction::RowNumber => row_number,
        RankFunction::DenseRank => over(new_group.cast(DataType::Int64).cum_sum(false)),
        RankFunction::Rank => over(
            when(new_group)
                .then(row_number)
                .otherwise(lit(NULL).cast(DataType::Int64))
                .fill_null_with_strategy(FillNullStrategy::Forward(None)),
        ),
    }
}

/// `keep_best`: only rows that can rank within the top N are sorted (see
/// [`best_first_values`]).
fn ranked(
    frame: Frame,
    schema: &Schema,
    into: &str,
    function: RankFunction,
    partition: &[String],
    order_by: &[String],
    keep_best: Option<usize>,
) -> Result<(Frame, LazyFrame)> {
    need(schema, partition, "rank partition-by")?;
    let order = parse_order(order_by)?;
    if order.is_empty() {
        return Err(Error::usage("rank: `order-by` needs at least one column"));
    }
    let names: Vec<String> = order.iter().map(|k| k.column.clone()).collect();
    need(schema, &names, "rank order-by")?;
    let mut keys: Vec<super::rows::OrderKey> = partition
        .iter()
        .map(|p| super::rows::OrderKey {
            column: p.clone(),
            descending: false,
            nulls_last: true,
        })
        .collect();
    keys.extend(order.iter().cloned());
    let (exprs, options) = sort_options(&keys);
    let (frame, mut lf) = lazy(frame)?;
    if let Some(n) = keep_best {
        lf = best_first_values(lf, schema, partition, &order[0], n)?;
    }
    let lf = lf
        .sort_by_exprs(exprs, options)
        .with_column(rank_expr(function, partition, &order).alias(into));
    Ok((frame, lf))
}

/// Keeps the rows whose first ordering value is among the `n` best distinct
/// values of their partition (nulls placed as the ordering says). No other
/// row can rank within the top `n`: under any of the three functions a
/// row's rank is at least one more than the number of distinct first values
/// ahead of it. The distinct values are a small table, so the sort and the
/// window that follow see the candidates only, not the whole table.
/// The small table is computed apart, not as a branch of the same plan:
/// polars would cache the shared input in memory for the two branches.
/// Floats are left alone: a join's equality and a sort's order of NaN and
/// -0.0 need not agree.
fn best_first_values(
    lf: LazyFrame,
    schema: &Schema,
    partition: &[String],
    first: &super::rows::OrderKey,
    n: usize,
) -> Result<LazyFrame> {
    let usable = schema.get(&first.column).is_some_and(|t| {
        (t.is_integer() || t.is_bool() || t.is_string() || t.is_temporal())
            && !partition.contains(&first.column)
    });
    if !usable {
        return Ok(lf);
    }
    const BEST: &str = "__etl_best";
    let part: Vec<Expr> = partition.iter().map(|c| col(c.as_str())).collect();
    let value = col(first.column.as_str());
    let best_values = value
        .clone()
        .sort(SortOptions {
            descending: first.descending,
            nulls_last: first.nulls_last,
            ..SortOptions::default()
        })
        .head(Some(n))
        .alias(BEST);
    let mut keys = part.clone();
    keys.push(value.clone());
    let distinct = lf
        .clone()
        .select(keys.clone())
        .unique(None, UniqueKeepStrategy::Any);
    let best = if part.is_empty() {
        distinct.select([best_values])
    } else {
        distinct.group_by(part.clone()).agg([best_values]).explode(
            cols([BEST]),
            ExplodeOptions {
                empty_as_null: false,
                keep_nulls: true,
            },
        )
    }
    .rename([BEST], [first.column.as_str()], true)
    .collect_with_engine(Engine::Streaming)?
    .unwrap_single()
    .lazy();
    let args = JoinArgs {
        nulls_equal: true,
        maintain_order: MaintainOrderJoin::Left,
        ..JoinArgs::new(JoinType::Semi)
    };
    Ok(lf.join(best, keys.clone(), keys, args))
}

pub fn rank(frame: Frame, schema: &Schema, r: &Rank) -> Result<Frame> {
    let (frame, lf) = ranked(
        frame,
        schema,
        &r.into,
        r.function,
        &r.partition_by,
        &r.order_by,
        None,
    )?;
    let mut out = with_plan(frame, lf);
    out.rows = None;
    Ok(out)
}

pub fn top_n(frame: Frame, schema: &Schema, t: &TopN) -> Result<Frame> {
    let column = t
        .rank_column
        .clone()
        .unwrap_or_else(|| "__etl_rank".to_string());
    let (frame, lf) = ranked(
        frame,
        schema,
        &column,
        t.function,
        &t.partition_by,
        &t.order_by,
        Some(t.n),
    )?;
    let mut lf = lf.filter(col(column.as_str()).lt_eq(lit(t.n as i64)));
    if t.rank_column.is_none() {
        lf = lf.drop(cols([column.as_str()]));
    }
    Ok(with_plan(frame, lf))
}

pub fn union(frame: Frame, locations: &[String], ctx: &Context) -> Result<Frame> {
    let mut frames = vec![("this table".to_string(), frame)];
    for loc in locations {
        frames.push((loc.clone(), (ctx.open_table)(loc)?));
    }
    crate::frame::concat_by_name(frames)
}
