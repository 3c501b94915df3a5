//! The page: one HTML file with its styles inline and charts as SVG, so it
//! opens from disk with no network and no script.

use std::fmt::Write;

use super::charts::{column_chart, declared, time_series};
use super::data::{is_number, is_temporal, Chart, Table};
use super::spec::ChartSpec;
use super::svg::{esc, number, render};
use crate::error::Result;

const STYLE: &str = r#"
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#3b6ea8;--bad:#c0392b;--good:#2e7d32}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
header{padding:20px 32px 12px;border-bottom:1px solid var(--line);background:var(--soft)}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:var(--muted)}
main{padding:8px 32px 40px;max-width:1500px}
h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:0 0 6px}
nav{margin:8px 0 0;font-size:13px}nav a{margin-right:14px;color:var(--accent)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px;background:#fff}
.card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid-charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure.chart{margin:8px 0;padding:10px 12px;border:1px solid var(--line);border-radius:6px;background:#fff;max-width:100%}
figure.chart svg{max-width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:12px;margin-top:4px;max-width:660px}
.chart-svg text{font:11px system-ui,-apple-system,"DejaVu Sans",sans-serif;fill:var(--ink)}
.chart-svg .tick{fill:var(--muted)}
.chart-svg .axis-label{font-size:12px;font-weight:600}
.chart-svg .grid{stroke:#e6e9ed;stroke-width:1}
.chart-svg .axis,.chart-svg .tickmark{stroke:#8c959f;stroke-width:1}
.chart-svg .bar{fill:var(--accent)}
.chart-svg .bar:hover,.chart-svg .point:hover{fill:#e07b39}
.chart-svg .value{fill:var(--muted);font-size:10px}
.chart-svg .line{fill:none;stroke:var(--accent);stroke-width:2}
.chart-svg .point{fill:var(--accent);fill-opacity:.65;stroke:#fff;stroke-width:.5}
.chart-svg .bar.failed{fill:var(--bad)}.chart-svg .bar.skipped,.chart-svg .bar.not-run{fill:#aab4be}
.status-failed{color:var(--bad);font-weight:600}.status-succeeded{color:var(--good)}
.ok{color:var(--good)}.bad{color:var(--bad);font-weight:600}
.note{color:var(--muted)}
"#;

/// Numbers charts and their ids within one page.
#[derive(Default)]
pub struct Ids(usize);

impl Ids {
    pub fn next(&mut self) -> String {
        self.0 += 1;
        format!("c{}", self.0)
    }
}

/// A chart in a `<figure>` that says its kind and how many marks it draws.
pub fn figure(chart: &Chart, ids: &mut Ids) -> String {
    let id = ids.next();
    format!(
        "<figure class=\"chart\" id=\"{id}\" data-kind=\"{}\" data-marks=\"{}\"><h3>{}</h3>{}<figcaption>{}</figcaption></figure>",
        chart.kind,
        chart.marks(),
        esc(&chart.title),
        render(chart, &id),
        esc(&chart.summary)
    )
}

/// The whole page around the sections.
pub fn page(title: &str, subtitle: &str, nav: &[(String, String)], body: &str) -> String {
    let mut links = String::new();
    for (anchor, text) in nav {
        let _ = write!(links, "<a href=\"#{}\">{}</a>", esc(anchor), esc(text));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"generator\" content=\"etl {}\"><title>{}</title><style>{STYLE}</style></head><body><header><h1>{}</h1><p>{}</p><nav>{links}</nav></header><main>{body}</main></body></html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(title),
        esc(title),
        esc(subtitle)
    )
}

/// What to show of one table.
pub struct TableReport<'a> {
    pub charts: &'a [ChartSpec],
    /// Column statistics, a chart per column and time series.
    pub profile: bool,
    /// Profile at most this many columns (the page must stay small).
    pub max_columns: usize,
}

/// The sections of one table: declared charts, shape and schema, time
/// series, and one chart per column.
pub fn table_sections(
    table: &Table,
    what: &TableReport,
    anchor: &str,
    ids: &mut Ids,
) -> Result<String> {
    let mut s = String::new();
    let declared_charts: Vec<Chart> = what
        .charts
        .iter()
        .map(|spec| declared(table, spec))
        .collect::<Result<_>>()?;
    if !declared_charts.is_empty() {
        let _ = write!(
            s,
            "<section id=\"{anchor}-charts\"><h2>Charts</h2><div class=\"grid-charts\">"
        );
        for c in &declared_charts {
            s.push_str(&figure(c, ids));
        }
        s.push_str("</div></section>");
    }
    if !what.profile {
        return Ok(s);
    }
    overview(&mut s, table, anchor);
    let temporal: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| is_temporal(&c.dtype) && c.range.is_some())
        .map(|c| c.name.as_str())
        .take(3)
        .collect();
    if !temporal.is_empty() {
        let _ = write!(
            s,
            "<section id=\"{anchor}-time\"><h2>Over time</h2><div class=\"grid-charts\">"
        );
        for name in temporal {
            s.push_str(&figure(&time_series(table, name)?, ids));
        }
        s.push_str("</div></section>");
    }
    let _ = write!(
        s,
        "<section id=\"{anchor}-columns\"><h2>Columns</h2><div class=\"grid-charts\">"
    );
    for c in table.columns.iter().take(what.max_columns) {
        if let Some(chart) = column_chart(table, &c.name)? {
            s.push_str(&figure(&chart, ids));
        }
    }
    s.push_str("</div>");
    if table.columns.len() > what.max_columns {
        let _ = write!(
            s,
            "<p class=\"note\">Charts for the first {} of {} columns.</p>",
            what.max_columns,
            table.columns.len()
        );
    }
    s.push_str("</section>");
    Ok(s)
}

fn overview(s: &mut String, table: &Table, anchor: &str) {
    let numeric = table.columns.iter().filter(|c| is_number(&c.dtype)).count();
    let with_nulls = table.columns.iter().filter(|c| c.nulls > 0).count();
    let _ = write!(
        s,
        "<section id=\"{anchor}-shape\"><h2>Shape and schema</h2><div class=\"cards\"><div class=\"card\"><b>{}</b><span>rows</span></div><div class=\"card\"><b>{}</b><span>columns</span></div><div class=\"card\"><b>{numeric}</b><span>numeric columns</span></div><div class=\"card\"><b>{with_nulls}</b><span>columns with nulls</span></div></div>",
        number(table.rows as f64),
        table.columns.len()
    );
    s.push_str("<table class=\"schema\"><thead><tr><th>column</th><th>type</th><th>nulls</th><th>null %</th><th>distinct (approx.)</th><th>min</th><th>max</th><th>mean</th></tr></thead><tbody>");
    let clip = |v: &Option<String>| {
        v.as_deref()
            .map(|v| {
                let one = v.replace('\n', " ");
                if one.chars().count() > 40 {
                    format!("{}…", one.chars().take(39).collect::<String>())
                } else {
                    one
                }
            })
            .unwrap_or_else(|| "–".into())
    };
    for c in &table.columns {
        let pct = if table.rows > 0 {
            format!("{:.1}", 100.0 * c.nulls as f64 / table.rows as f64)
        } else {
            "–".into()
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{pct}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.name),
            esc(&crate::dtype::display_dtype(&c.dtype)),
            number(c.nulls as f64),
            c.distinct.map(|d| number(d as f64)).unwrap_or_else(|| "–".into()),
            esc(&clip(&c.min)),
            esc(&clip(&c.max)),
            c.mean.map(number).unwrap_or_else(|| "–".into())
        );
    }
    s.push_str("</tbody></table></section>");
}
