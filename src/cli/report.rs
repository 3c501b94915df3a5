//! `etl report INPUT... -o report.html`: one self-contained HTML page about
//! a table: shape and schema, per-column statistics and charts, time
//! series, and declared charts.
//!
//!   etl report gold/city_report.parquet -o city.html
//!   etl report presc.parquet --chart 'bar x=presc_state y=sum(trx_cnt) top=20' -o presc.html

use std::path::PathBuf;

use clap::Args;
use etl::error::{Error, Result};
use etl::format::Format;
use etl::report::{ChartSpec, TableRequest};
use etl::source::Provenance;

use super::args::ReadArgs;
use super::output::{human_bytes, Printer};

#[derive(Debug, Args)]
#[command(
    after_help = "Charts (--chart, repeatable; the same words work in a pipeline report stage):
  bar x=COL [y=AGG] [top=N]         one bar per value of COL, the top N (20) by AGG (count(*))
  line x=COL [y=AGG] [every=UNIT]   AGG per value of a number COL (N bins, 100, past 500 values),
                                    or per day/week/month/quarter/year of a date COL
  scatter x=COL y=COL [bins=N]      rows on an N×N grid (40, at most 60) of two number or date columns
  scatter x=AGG y=AGG by=COL        one point per value of COL
  histogram x=COL [bins=N]          rows in N (30) equal-width bins of a number or date column
  Any chart takes title='...'. AGG: count(*), count(c), count_distinct(c), sum(c), avg(c),
  median(c), min(c), max(c).

Every chart is computed by aggregation in the engine: the page holds counts
and group results, never rows, and opens from disk with no network.

Examples:
  etl report gold/city_report.parquet -o city.html
  etl report presc.parquet --chart 'bar x=presc_state y=sum(trx_cnt) top=20' -o presc.html
  etl ingest 'landing/*.csv' | etl report -o landing.html --title 'Landing files'"
)]
pub struct ReportArgs {
    /// The table: files, folders, globs, or - for stdin (read as one table, like `etl ingest`).
    #[arg(value_name = "INPUT", default_value = "-")]
    pub inputs: Vec<String>,

    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// A chart to draw (repeatable), e.g. 'bar x=presc_state y=sum(trx_cnt) top=20'.
    #[arg(long = "chart", value_name = "SPEC")]
    pub charts: Vec<String>,

    /// The page title (default: the input's name).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,

    /// Only the declared charts: no schema table, column charts or time series.
    #[arg(long)]
    pub no_profile: bool,

    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: ReportArgs, printer: &Printer) -> Result<()> {
    let charts = args
        .charts
        .iter()
        .map(|c| c.parse::<ChartSpec>())
        .collect::<Result<Vec<_>>>()?;
    if args.no_profile && charts.is_empty() {
        return Err(Error::usage(
            "--no-profile leaves nothing to show: add --chart SPEC",
        ));
    }
    if args.output.is_dir() {
        return Err(Error::usage(format!(
            "-o {}: is a folder; name the HTML file to write",
            args.output.display()
        )));
    }
    super::model::refuse_existing(&args.output, args.force)?;
    let read = args.read.to_options()?;
    let locations = args
        .inputs
        .iter()
        .map(|i| etl::Location::parse(i))
        .collect::<Result<Vec<_>>>()?;
    // Columnar files are queried in place; anything else is written once to
    // a temporary columnar file so each chart does not parse it again.
    let columnar = locations.iter().all(|l| match l {
        etl::Location::Local(p) => matches!(
            read.format.or_else(|| Format::from_path(p).map(|(f, _)| f)),
            Some(Format::Parquet | Format::Ipc)
        ),
        _ => false,
    });
    let frame = etl::source::open(&locations, &read, &Provenance::default())?;
    let shown: Vec<String> = locations.iter().map(|l| l.to_string()).collect();
    let source = if shown == ["-"] {
        "stdin".to_string()
    } else {
        shown.join(", ")
    };
    let title = args
        .title
        .clone()
        .unwrap_or_else(|| match locations.as_slice() {
            [etl::Location::Local(p)] => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| source.clone()),
            _ => source.clone(),
        });
    let request = TableRequest {
        title,
        source,
        charts,
        profile: !args.no_profile,
        spool: !columnar,
    };
    let (html, rows) = etl::report::table_page(frame, &request)?;
    let bytes = etl::report::write_page(&args.output, &html)?;
    printer.info(
        "report",
        &format!(
            "wrote {} ({}) about {rows} rows",
            args.output.display(),
            human_bytes(bytes)
        ),
        serde_json::json!({"output": args.output.display().to_string(), "bytes": bytes, "rows": rows}),
    );
    Ok(())
}
