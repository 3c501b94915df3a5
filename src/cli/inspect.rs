//! `etl inspect INPUT [--json]`: format, compression, size, rows, schema
//! and per-column statistics.
//!
//!   etl inspect sales.parquet
//!   etl inspect 'landing/*.csv' --json

use std::io::Write;

use clap::Args;
use etl::error::Result;

use super::args::ReadArgs;
use super::output::{human_bytes, Printer};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  etl inspect sales.parquet
  etl inspect 'landing/*.csv' --json
  etl inspect huge.parquet --no-stats")]
pub struct InspectArgs {
    /// The table to inspect: a file, folder, glob, or - for stdin.
    #[arg(value_name = "INPUT")]
    pub input: String,

    /// Print a JSON document instead of text.
    #[arg(long)]
    pub json: bool,

    /// Read only metadata and the schema: no per-column statistics (fast on any size).
    #[arg(long)]
    pub no_stats: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: InspectArgs, _printer: &Printer) -> Result<()> {
    let read = args.read.to_options()?;
    let location = etl::Location::parse(&args.input)?;
    let report = etl::inspect::inspect(&location, &read, !args.no_stats)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| etl::Error::data(e.to_string()))?;
        writeln!(out, "{text}")?;
        return Ok(());
    }
    writeln!(out, "{}", report.location)?;
    writeln!(out, "  format       {}", report.format)?;
    writeln!(out, "  compression  {}", report.compression)?;
    if let Some(size) = report.size_bytes {
        writeln!(out, "  size         {} ({size} bytes)", human_bytes(size))?;
    }
    match report.rows {
        Some(r) => writeln!(out, "  rows         {r}")?,
        None => writeln!(
            out,
            "  rows         unknown (run without --no-stats to count)"
        )?,
    }
    writeln!(out, "  columns      {}", report.columns.len())?;
    writeln!(out)?;
    let header = ["column", "type", "nulls", "min", "max", "distinct~"];
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let num = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let rows: Vec<[String; 6]> = report
        .columns
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.dtype.clone(),
                num(c.nulls),
                clip(&cell(&c.min)),
                clip(&cell(&c.max)),
                num(c.distinct_estimate),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, v) in widths.iter_mut().zip(r) {
            *w = (*w).max(v.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(
        out,
        "  {}",
        line(header.iter().map(|h| h.to_string()).collect())
    )?;
    for r in rows {
        writeln!(out, "  {}", line(r.to_vec()))?;
    }
    Ok(())
}

fn clip(v: &str) -> String {
    let one_line = v.replace('\n', "\\n");
    if one_line.chars().count() > 30 {
        format!("{}…", one_line.chars().take(29).collect::<String>())
    } else {
        one_line
    }
}
