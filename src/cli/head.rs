//! `etl head INPUT [-n 10]`: the first rows of a table, as text.
//!
//!   etl head sales.parquet
//!   etl head big.csv -n 3 --to csv

use clap::Args;
use etl::error::Result;
use etl::source::Provenance;

use super::args::ReadArgs;
use super::output::{collect, print_table, Printer};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  etl head sales.parquet
  etl head big.csv -n 3 --to csv")]
pub struct HeadArgs {
    /// The table to look at: a file, folder, glob, or - for stdin.
    #[arg(value_name = "INPUT", default_value = "-")]
    pub input: String,

    /// How many rows to show.
    #[arg(short = 'n', long = "rows", value_name = "N", default_value_t = 10)]
    pub rows: usize,

    /// Print the rows in this format (csv, ndjson, json, ...) instead of a text table.
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<String>,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: HeadArgs, _printer: &Printer) -> Result<()> {
    let mut read = args.read.to_options()?;
    read.row_limit = Some(args.rows);
    let location = etl::Location::parse(&args.input)?;
    let frame = etl::source::open(&[location], &read, &Provenance::default())?.limit(args.rows);
    match args.to.as_deref() {
        Some(to) => {
            let format = to.parse::<etl::format::Format>()?;
            let mut options = etl::format::WriteOptions::new(format);
            if to == "tsv" {
                options.csv.delimiter = b'\t';
            }
            let req = etl::sink::WriteRequest {
                dest: etl::sink::Destination::Stdout,
                options,
                split: None,
                force: false,
            };
            etl::sink::write(frame, &req).map(|_| ())
        }
        None => print_table(&collect(frame)?),
    }
}
