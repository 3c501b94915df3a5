//! `etl head INPUT [-n 10]`: the first rows of a table, as text.
//!
//!   etl head sales.parquet
//!   etl head big.csv -n 3 --to csv

use clap::Args;
use etl::error::Result;
use etl::format::{FormatName, WriteSpec};
use etl::ops::Op;
use etl::source::Provenance;
use etl::step::{Input, Output, Step};

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

    /// Print the rows in this format instead of a text table.
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub to: Option<FormatName>,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: HeadArgs, _printer: &Printer) -> Result<()> {
    let mut read = args.read.to_options()?;
    read.row_limit = Some(args.rows);
    let location = etl::Location::parse(&args.input)?;
    let output = match args.to {
        Some(to) => {
            let spec = WriteSpec {
                format: Some(to),
                ..WriteSpec::default()
            };
            Output::Write(etl::sink::WriteRequest {
                dest: etl::sink::Destination::Stdout,
                options: spec.resolve(None, &|key| format!("--{key}"))?,
                split: None,
                force: false,
            })
        }
        None => Output::Frame,
    };
    let outcome = etl::step::run(Step {
        input: Input::Locations {
            locations: vec![location],
            read,
            provenance: Provenance::default(),
        },
        ops: vec![Op::Limit(args.rows)],
        rejects: Default::default(),
        output,
    })?;
    match outcome.frame {
        Some(frame) => print_table(&collect(frame)?),
        None => Ok(()),
    }
}
