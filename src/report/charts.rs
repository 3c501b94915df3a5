//! Declared charts (`bar`, `line`, `scatter`, `histogram`) and the charts
//! a report draws for every column, each from one aggregation query.

use polars::prelude::*;

use super::data::{
    as_number, axis_of, bucket_for, finite, floats, histogram, is_number, is_temporal, labels,
    polars_every, top_values, Axis, Body, Chart, Point, Table,
};
use super::spec::{ChartKind, ChartSpec};
use crate::error::{Error, Result};

/// Most points a line chart draws; more asks for a coarser bucket.
const MAX_LINE_POINTS: usize = 2000;
/// A number x with more distinct values than this is binned in a line chart.
const MAX_EXACT_X: usize = 500;
/// Most groups a `scatter ... by=` chart draws (the largest groups).
const MAX_GROUPS: usize = 1000;

/// Computes one declared chart. Unknown columns and aggregates are usage errors.
pub fn declared(table: &Table, spec: &ChartSpec) -> Result<Chart> {
    let place = format!("chart '{spec}'");
    compute(table, spec).map_err(|e| e.context(place))
}

fn compute(table: &Table, spec: &ChartSpec) -> Result<Chart> {
    // With by=, x and y are aggregates, checked as such.
    let mut wanted = match &spec.by {
        Some(by) => vec![by.clone()],
        None => vec![spec.x.clone()],
    };
    if spec.by.is_some() && spec.kind != ChartKind::Scatter {
        return Err(Error::usage("by= belongs to scatter charts"));
    }
    wanted.dedup();
    crate::names::require_columns(&table.schema, &wanted, "x")?;
    let x_type = table.schema.get(&spec.x).cloned().unwrap_or(DataType::Null);
    let mut chart = match spec.kind {
        ChartKind::Bar => bar(table, spec)?,
        ChartKind::Histogram => {
            if !is_number(&x_type) && !is_temporal(&x_type) {
                return Err(Error::usage(format!(
                    "a histogram needs a number or date column; '{}' is {} (use a bar chart for its top values)",
                    spec.x,
                    crate::dtype::display_dtype(&x_type)
                )));
            }
            let bins = spec.bins.unwrap_or(30);
            let body = histogram(table, &spec.x, bins)?.unwrap_or(Body::Histogram {
                bins: Vec::new(),
                axis: axis_of(&x_type),
            });
            Chart {
                kind: "histogram",
                title: format!("Distribution of {}", spec.x),
                summary: String::new(),
                x_label: spec.x.clone(),
                y_label: "rows".into(),
                body,
            }
        }
        ChartKind::Line => line(table, spec, &x_type)?,
        ChartKind::Scatter => scatter(table, spec, &x_type)?,
    };
    if let Some(t) = &spec.title {
        chart.title = t.clone();
    }
    chart.summary = summarize(&chart);
    Ok(chart)
}

/// The y aggregate of a chart and its label; `count(*)` by default.
fn aggregate(table: &Table, y: Option<&str>) -> Result<(Expr, String)> {
    let spec = y.unwrap_or("count(*)");
    let expr = crate::ops::aggregate(spec, &table.schema).map_err(|e| {
        Error::usage(
            e.message
                .replace("group-by: ", "y: ")
                .replace("aggregate ", "y="),
        )
    })?;
    if let Some((func, arg)) = spec.split_once('(') {
        let func = func.trim().to_ascii_lowercase();
        let arg = arg.trim_end_matches(')').trim();
        let numeric_only = matches!(func.as_str(), "sum" | "avg" | "mean" | "median");
        if let Some(t) = table.schema.get(arg).filter(|_| numeric_only) {
            if !is_number(t) {
                return Err(Error::usage(format!(
                    "y={spec}: {func} needs a number column; '{arg}' is {}",
                    crate::dtype::display_dtype(t)
                )));
            }
        }
    }
    let label = if spec.replace(' ', "") == "count(*)" {
        "rows".to_string()
    } else {
        spec.to_string()
    };
    Ok((expr.cast(DataType::Float64), label))
}

fn bar(table: &Table, spec: &ChartSpec) -> Result<Chart> {
    let (agg, y_label) = aggregate(table, spec.y.as_deref())?;
    let top = spec.top.unwrap_or(20);
    let df = table.query(|lf| {
        lf.group_by([col(spec.x.as_str()).alias("x")])
            .agg([agg.alias("y")])
            .sort(
                ["y", "x"],
                SortMultipleOptions::default()
                    .with_order_descending_multi([true, false])
                    .with_nulls_last(true),
            )
            .limit(top as IdxSize)
    })?;
    let bars = labels(&df, "x")?
        .into_iter()
        .zip(floats(&df, "y")?)
        .collect();
    let groups = table.column(&spec.x).and_then(|c| c.distinct);
    let title = match groups {
        Some(g) if g as usize > top => format!("{y_label} by {}: top {top} of about {g}", spec.x),
        _ => format!("{y_label} by {}", spec.x),
    };
    Ok(Chart {
        kind: "bar",
        title,
        summary: String::new(),
        x_label: y_label,
        y_label: spec.x.clone(),
        body: Body::Bars(bars),
    })
}

fn line(table: &Table, spec: &ChartSpec, x_type: &DataType) -> Result<Chart> {
    let (agg, y_label) = aggregate(table, spec.y.as_deref())?;
    let stats = table.column(&spec.x).expect("checked");
    let (key, x_label) = if is_temporal(x_type) {
        let span = stats.range.map(|(lo, hi)| hi - lo).unwrap_or(0.0);
        let every = spec.every.as_deref().unwrap_or_else(|| bucket_for(span));
        let key = col(spec.x.as_str()).dt().truncate(lit(polars_every(every)));
        (key, format!("{} (per {every})", spec.x))
    } else if is_number(x_type) {
        if spec.every.is_some() {
            return Err(Error::usage(format!(
                "every= buckets dates; '{}' is a number column",
                spec.x
            )));
        }
        match (stats.distinct, stats.range) {
            // Many distinct numbers: equal-width bins, each drawn at its middle.
            (Some(d), Some((lo, hi))) if d as usize > MAX_EXACT_X && hi > lo => {
                let bins = spec.bins.unwrap_or(100) as f64;
                let w = (hi - lo) / bins;
                let key = (((finite(&spec.x, x_type) - lit(lo)) / lit(w))
                    .floor()
                    .clip(lit(0.0), lit(bins - 1.0))
                    + lit(0.5))
                    * lit(w)
                    + lit(lo);
                (key, format!("{} ({} bins)", spec.x, bins))
            }
            _ => (col(spec.x.as_str()), spec.x.clone()),
        }
    } else {
        return Err(Error::usage(format!(
            "a line chart needs a number or date x; '{}' is {} (use a bar chart)",
            spec.x,
            crate::dtype::display_dtype(x_type)
        )));
    };
    let df = table.query(|lf| {
        lf.filter(col(spec.x.as_str()).is_not_null())
            .group_by([key.alias(spec.x.as_str())])
            .agg([agg.alias("y")])
            .sort([spec.x.as_str()], SortMultipleOptions::default())
            .limit((MAX_LINE_POINTS + 1) as IdxSize)
    })?;
    if df.height() > MAX_LINE_POINTS {
        return Err(Error::usage(format!(
            "more than {MAX_LINE_POINTS} points of '{}' to draw: use every= a longer bucket (or bins=)",
            spec.x
        )));
    }
    let xs = df
        .clone()
        .lazy()
        .select([as_number(&spec.x, x_type).alias("x")])
        .collect()?;
    let points = floats(&xs, "x")?
        .into_iter()
        .zip(floats(&df, "y")?)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    Ok(Chart {
        kind: "line",
        title: format!("{y_label} over {}", spec.x),
        summary: String::new(),
        x_label,
        y_label,
        body: Body::Line {
            points,
            axis: axis_of(x_type),
        },
    })
}

fn scatter(table: &Table, spec: &ChartSpec, x_type: &DataType) -> Result<Chart> {
    let y = spec.y.clone().expect("checked");
    if let Some(by) = &spec.by {
        let (xa, x_label) = aggregate(table, Some(&spec.x)).map_err(|e| {
            Error::usage(format!(
                "{} (with by=, x and y are aggregates such as avg(col))",
                e.message
            ))
        })?;
        let (ya, y_label) = aggregate(table, Some(&y))?;
        let df = table.query(|lf| {
            lf.group_by([col(by.as_str()).alias("g")])
                .agg([
                    xa.alias("x"),
                    ya.alias("y"),
                    len().cast(DataType::UInt64).alias("n"),
                ])
                .sort(
                    ["n"],
                    SortMultipleOptions::default().with_order_descending(true),
                )
                .limit(MAX_GROUPS as IdxSize)
        })?;
        let n = df.column("n")?.u64()?.clone();
        let points = floats(&df, "x")?
            .into_iter()
            .zip(floats(&df, "y")?)
            .zip(n.iter())
            .zip(labels(&df, "g")?)
            .filter(|(((x, y), _), _)| x.is_finite() && y.is_finite())
            .map(|(((x, y), n), g)| (x, y, n.unwrap_or(0), Some(format!("{by} {g}"))))
            .collect();
        return Ok(Chart {
            kind: "scatter",
            title: format!("{y_label} against {x_label}, one point per {by}"),
            summary: String::new(),
            x_label,
            y_label,
            body: Body::Scatter {
                points,
                x_axis: Axis::Number,
                y_axis: Axis::Number,
            },
        });
    }
    crate::names::require_columns(&table.schema, std::slice::from_ref(&y), "y")?;
    let y_type = table.schema.get(&y).cloned().unwrap_or(DataType::Null);
    for (name, t) in [(&spec.x, x_type), (&y, &y_type)] {
        if !is_number(t) && !is_temporal(t) {
            return Err(Error::usage(format!(
                "a scatter chart needs number or date columns; '{name}' is {} (or give by=COLUMN and aggregates)",
                crate::dtype::display_dtype(t)
            )));
        }
    }
    let cells = spec.bins.unwrap_or(40);
    let range = |name: &str| table.column(name).and_then(|c| c.range);
    let (Some((x0, x1)), Some((y0, y1))) = (range(&spec.x), range(&y)) else {
        return Err(Error::data(format!(
            "'{}' or '{y}' holds no values to draw",
            spec.x
        )));
    };
    let step = |lo: f64, hi: f64| {
        if hi > lo {
            (hi - lo) / cells as f64
        } else {
            1.0
        }
    };
    let (xw, yw) = (step(x0, x1), step(y0, y1));
    let cell = |name: &str, t: &DataType, lo: f64, w: f64, alias: &str| {
        ((finite(name, t) - lit(lo)) / lit(w))
            .floor()
            .clip(lit(0.0), lit((cells - 1) as f64))
            .cast(DataType::Int64)
            .alias(alias)
    };
    let (cx, cy) = (
        cell(&spec.x, x_type, x0, xw, "cx"),
        cell(&y, &y_type, y0, yw, "cy"),
    );
    let df = table.query(|lf| {
        lf.select([cx, cy])
            .drop_nulls(None)
            .group_by([col("cx"), col("cy")])
            .agg([len().cast(DataType::UInt64).alias("n")])
    })?;
    let (cx, cy, n) = (
        df.column("cx")?.i64()?,
        df.column("cy")?.i64()?,
        df.column("n")?.u64()?,
    );
    let mut points: Vec<Point> = cx
        .iter()
        .zip(cy.iter())
        .zip(n.iter())
        .filter_map(|((a, b), n)| Some((a?, b?, n?)))
        .map(|(a, b, n)| {
            (
                x0 + xw * (a as f64 + 0.5),
                y0 + yw * (b as f64 + 0.5),
                n,
                None,
            )
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Ok(Chart {
        kind: "scatter",
        title: format!("{y} against {}", spec.x),
        summary: String::new(),
        x_label: spec.x.clone(),
        y_label: y.clone(),
        body: Body::Scatter {
            points,
            x_axis: axis_of(x_type),
            y_axis: axis_of(&y_type),
        },
    })
}

/// The chart drawn for one column in the column profiles: a histogram for
/// numbers and dates, the top values for anything else that groups.
pub fn column_chart(table: &Table, column: &str) -> Result<Option<Chart>> {
    let stats = table.column(column).expect("a column of the table");
    let t = &stats.dtype;
    let few_integers = t.is_integer() && stats.distinct.is_some_and(|d| d <= 12);
    let chart = if (is_number(t) || is_temporal(t)) && !few_integers {
        let Some(body) = histogram(table, column, 20)? else {
            return Ok(None);
        };
        Chart {
            kind: "histogram",
            title: format!("Distribution of {column}"),
            summary: String::new(),
            x_label: column.to_string(),
            y_label: "rows".into(),
            body,
        }
    } else if matches!(
        t,
        DataType::List(_) | DataType::Struct(_) | DataType::Array(..) | DataType::Binary
    ) || stats.nulls == table.rows
    {
        return Ok(None);
    } else {
        let (bars, others) = top_values(table, column, 10)?;
        let title = if others > 0 {
            format!("Top values of {column} ({others} rows hold other values)")
        } else {
            format!("Values of {column}")
        };
        Chart {
            kind: "bar",
            title,
            summary: String::new(),
            x_label: "rows".into(),
            y_label: column.to_string(),
            body: Body::Bars(bars),
        }
    };
    let mut chart = chart;
    chart.summary = summarize(&chart);
    Ok(Some(chart))
}

/// Rows per time bucket of a date or datetime column.
pub fn time_series(table: &Table, column: &str) -> Result<Chart> {
    let spec = ChartSpec {
        kind: ChartKind::Line,
        x: column.to_string(),
        y: None,
        by: None,
        top: None,
        bins: None,
        every: None,
        title: None,
    };
    let mut chart = compute(table, &spec)?;
    chart.title = format!("Rows over time by {column}");
    chart.summary = summarize(&chart);
    Ok(chart)
}

/// A sentence a screen reader reads instead of the picture.
fn summarize(chart: &Chart) -> String {
    match &chart.body {
        Body::Bars(bars) => {
            let first: Vec<String> = bars
                .iter()
                .take(3)
                .map(|(l, v)| format!("{l} {}", super::svg::number(*v)))
                .collect();
            format!(
                "{} bars of {} by {}; the largest: {}.",
                bars.len(),
                chart.x_label,
                chart.y_label,
                first.join(", ")
            )
        }
        Body::Histogram { bins, axis } => {
            let peak = bins.iter().max_by_key(|b| b.2);
            match peak {
                Some((lo, hi, n)) => format!(
                    "{} bins of {} from {} to {}; the fullest bin, {} to {}, holds {n} rows.",
                    bins.len(),
                    chart.x_label,
                    super::svg::tick(bins[0].0, *axis),
                    super::svg::tick(bins[bins.len() - 1].1, *axis),
                    super::svg::tick(*lo, *axis),
                    super::svg::tick(*hi, *axis),
                ),
                None => "No values.".into(),
            }
        }
        Body::Line { points, axis } => {
            let hi = points.iter().max_by(|a, b| a.1.total_cmp(&b.1));
            match (points.first(), points.last(), hi) {
                (Some(a), Some(b), Some(h)) => format!(
                    "{} points of {} from {} to {}; the highest, {}, at {}.",
                    points.len(),
                    chart.y_label,
                    super::svg::tick(a.0, *axis),
                    super::svg::tick(b.0, *axis),
                    super::svg::number(h.1),
                    super::svg::tick(h.0, *axis),
                ),
                _ => "No values.".into(),
            }
        }
        Body::Scatter { points, .. } => format!(
            "{} points of {} against {}.",
            points.len(),
            chart.y_label,
            chart.x_label
        ),
    }
}
