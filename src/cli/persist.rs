//! `etl persist TARGET --table NAME [--mode MODE]`: load a table, atomically.
//!
//!   etl ingest presc.csv | etl persist warehouse/ --table prescpipeline.df_presc_final --partition-by delivery_date
//!   etl persist warehouse/ --table sales -i sales.parquet --mode incremental --primary-key id

use std::io::Write;

use clap::Args;
use etl::error::{Error, Result};
use etl::location::Location;
use etl::sink::persist::{self, LoadMode, PersistRequest};
use etl::source::Provenance;

use super::args::ReadArgs;
use super::output::Printer;

#[derive(Debug, Args)]
#[command(
    after_help = "Modes: append (default) adds rows; full-refresh replaces the table; truncate replaces
the rows; incremental upserts on --primary-key; overwrite-partitions replaces only the
partitions present in the new rows. A failed load leaves the table as it was.

Examples:
  etl ingest presc.csv | etl persist warehouse/ --table prescpipeline.df_presc_final --partition-by delivery_date
  etl persist warehouse/ --table sales -i sales.parquet --mode incremental --primary-key id"
)]
pub struct PersistArgs {
    /// Where to load: a warehouse folder (Hive-style Parquet) or sqlite://PATH.db.
    /// postgres:// and mysql:// are the next targets to land.
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// The table: DB.TABLE, or TABLE in database `default`.
    #[arg(long, value_name = "NAME")]
    pub table: String,

    /// full-refresh, append, truncate, incremental or overwrite-partitions.
    #[arg(long, value_name = "MODE", default_value = "append")]
    pub mode: String,

    /// Partition the table's folders by these columns (comma-separated), e.g. delivery_date.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub partition_by: Vec<String>,

    /// The key for --mode incremental (comma-separated columns).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub primary_key: Vec<String>,

    /// Allow new columns in the new rows (older rows read them as null).
    #[arg(long)]
    pub evolve: bool,

    /// Read the table from here instead of stdin.
    #[arg(short = 'i', long = "input", value_name = "LOCATION")]
    pub input: Option<String>,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: PersistArgs, printer: &Printer) -> Result<()> {
    let request = PersistRequest {
        target: Location::parse(&args.target)?,
        table: args.table.clone(),
        mode: args.mode.parse::<LoadMode>()?,
        partition_by: args.partition_by.clone(),
        primary_key: args.primary_key.clone(),
        evolve: args.evolve,
    };
    persist::validate(&request)?;
    let read = args.read.to_options()?;
    let input = Location::parse(args.input.as_deref().unwrap_or("-"))?;
    let frame = etl::source::open(std::slice::from_ref(&input), &read, &Provenance::default())?;
    let s = persist::persist(frame, &request)?;
    if args.json {
        let text = serde_json::to_string(&s).map_err(|e| Error::data(e.to_string()))?;
        writeln!(std::io::stdout(), "{text}")?;
    }
    let layout = if s.files > 0 {
        format!(", {} partitions, {} files", s.partitions, s.files)
    } else {
        String::new()
    };
    printer.info(
        "persist",
        &format!(
            "wrote {} rows to {} ({}{layout}) in {:.2}s",
            s.rows, s.target, args.mode, s.seconds
        ),
        serde_json::to_value(&s).unwrap_or_default(),
    );
    Ok(())
}
