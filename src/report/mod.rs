//! `etl report`: one self-contained HTML page about a table or a pipeline
//! run. Charts are computed by aggregation in polars (groups, bins, time
//! buckets), so the page stays small whatever the table's size; they are
//! drawn as inline SVG with titles, axis labels and text alternatives.

mod charts;
mod data;
mod html;
pub mod run;
pub mod spec;
mod svg;

use std::path::{Path, PathBuf};

pub use data::Table;
pub use run::RunInfo;
pub use spec::{ChartEntry, ChartKind, ChartSpec};

use crate::error::{Error, Result};
use crate::frame::Frame;

/// Profile at most this many columns of a table.
pub const MAX_PROFILE_COLUMNS: usize = 60;

/// A report about one table.
pub struct TableRequest {
    pub title: String,
    /// Shown under the title: where the table came from.
    pub source: String,
    pub charts: Vec<ChartSpec>,
    /// Column statistics and a chart per column (`--no-profile` turns it off).
    pub profile: bool,
    /// Write the rows to a temporary columnar file first (text inputs).
    pub spool: bool,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    pub charts: usize,
}

/// The page about one table, as HTML text.
pub fn table_page(frame: Frame, req: &TableRequest) -> Result<(String, u64)> {
    let table = Table::new(&req.title, frame, req.spool)?;
    let mut ids = html::Ids::default();
    let body = html::table_sections(
        &table,
        &html::TableReport {
            charts: &req.charts,
            profile: req.profile,
            max_columns: MAX_PROFILE_COLUMNS,
        },
        "t",
        &mut ids,
    )?;
    let mut nav = Vec::new();
    if !req.charts.is_empty() {
        nav.push(("t-charts".to_string(), "Charts".to_string()));
    }
    if req.profile {
        nav.push(("t-shape".to_string(), "Shape and schema".to_string()));
        if body.contains("id=\"t-time\"") {
            nav.push(("t-time".to_string(), "Over time".to_string()));
        }
        nav.push(("t-columns".to_string(), "Columns".to_string()));
    }
    let subtitle = format!(
        "{} · {} rows · {} columns · made by etl {} on {}",
        req.source,
        svg::number(table.rows as f64),
        table.columns.len(),
        env!("CARGO_PKG_VERSION"),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    Ok((html::page(&req.title, &subtitle, &nav, &body), table.rows))
}

/// A pipeline `report` stage:
/// `report = { path = "{root}/gold/report.html", title = "...", charts = ["bar x=state y=sum(n)"] }`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReportStage {
    pub path: PathBuf,
    #[serde(default)]
    pub title: Option<String>,
    /// Chart words (as `--chart`) or tables with the same keys.
    #[serde(default)]
    pub charts: Vec<ChartEntry>,
    /// Column statistics and charts (default true).
    #[serde(default = "yes")]
    pub profile: bool,
}

fn yes() -> bool {
    true
}

impl ReportStage {
    /// The charts, each checked as far as it can be without the data.
    pub fn charts(&self) -> Result<Vec<ChartSpec>> {
        self.charts.iter().map(ChartEntry::spec).collect()
    }

    /// Writes the page about `frame` (the dataset `name`); returns its size.
    pub fn write(&self, frame: Frame, name: &str) -> Result<u64> {
        let request = TableRequest {
            title: self.title.clone().unwrap_or_else(|| name.to_string()),
            source: name.to_string(),
            charts: self.charts()?,
            profile: self.profile,
            spool: false,
        };
        let (html, _) = table_page(frame, &request)?;
        write_page(&self.path, &html)
    }
}

/// A gold table to show in a run report.
pub struct RunTable {
    pub name: String,
    pub path: PathBuf,
    pub charts: Vec<ChartSpec>,
}

/// The page about a pipeline run: the run section from the manifest, then
/// a profile of each table (typically the gold layer's).
pub fn run_page(manifest: &serde_json::Value, tables: &[RunTable]) -> Result<String> {
    let run = RunInfo::from_manifest(manifest)?;
    let mut body = run::run_section(&run);
    let mut nav = vec![("run".to_string(), "Run".to_string())];
    let mut ids = html::Ids::default();
    for (i, t) in tables.iter().enumerate() {
        let anchor = format!("d{}", i + 1);
        let frame = crate::source::open_file(&t.path, &crate::format::ReadOptions::default())
            .map_err(|e| e.context(format!("dataset '{}'", t.name)))?;
        let table = Table::new(&t.name, frame, false)?;
        body.push_str(&format!(
            "<section id=\"{anchor}\"><h2>{} <span class=\"note\">({} rows)</span></h2>",
            svg::esc(&t.name),
            svg::number(table.rows as f64)
        ));
        body.push_str(&html::table_sections(
            &table,
            &html::TableReport {
                charts: &t.charts,
                profile: true,
                max_columns: 12,
            },
            &anchor,
            &mut ids,
        )?);
        body.push_str("</section>");
        nav.push((anchor, t.name.clone()));
    }
    let title = format!("Run of {}", run.pipeline);
    let subtitle = format!(
        "run {} · run date {} · started {} · {} · made by etl {}",
        run.run_id,
        run.run_date,
        run.started,
        run.status,
        env!("CARGO_PKG_VERSION")
    );
    Ok(html::page(&title, &subtitle, &nav, &body))
}

/// Writes a page atomically: a temporary name in the same folder, then a rename.
pub fn write_page(path: &Path, html: &str) -> Result<u64> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::from(e).context(dir.display()))?;
    }
    crate::cleanup::write_durably(path, html.as_bytes())
        .map_err(|e| Error::from(e).context(path.display()))?;
    Ok(html.len() as u64)
}
