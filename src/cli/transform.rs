//! `etl transform [INPUT] --sql QUERY [--with NAME=LOCATION]...`: SQL and
//! relational ops (join, group-by, rank, top-N, sort, union).
//!
//!   etl transform presc.parquet --sql "select presc_state, count(*) n from input group by presc_state"
//!   etl transform --op 'top-n = { n = 5, partition-by = ["presc_state"], order-by = ["trx_cnt desc"] }'

use std::collections::BTreeMap;

use clap::{ArgMatches, Args};
use etl::error::{Error, Result};
use etl::ops::spec::Op;

use super::args::{ReadArgs, WriteArgs};
use super::ops_args::StepArgs;
use super::output::Printer;

#[derive(Debug, Args)]
#[command(
    after_help = "Op flags run in the order given, after the ops of --ops files. Joins, group-by,
ranks and top-N are ops too: write them with --op or in an --ops file.

Examples:
  etl transform presc.parquet --sql \"select presc_state, count(*) as n from input group by presc_state\"
  etl transform --sql \"select * from input join city on city.state_id = input.presc_state\" --with city=city.parquet
  etl transform --op 'top-n = { n = 5, partition-by = [\"presc_state\"], order-by = [\"trx_cnt desc\"] }'"
)]
pub struct TransformArgs {
    #[command(flatten)]
    pub step: StepArgs,

    /// Run an SQL query (or `@FILE` to read it from a file); the input is the table `input` (or --as NAME).
    #[arg(long, value_name = "QUERY", help_heading = "Ops")]
    pub sql: Vec<String>,
    /// The input's table name in --sql queries.
    #[arg(long = "as", value_name = "NAME", help_heading = "Ops")]
    pub table_name: Option<String>,
    /// A side table for --sql queries: NAME=LOCATION (any readable location and format).
    #[arg(long, value_name = "NAME=LOCATION", help_heading = "Ops")]
    pub with: Vec<String>,
    /// Order rows: COL[ desc][ nulls first|last],... (nulls last by default).
    #[arg(long, value_name = "KEYS", help_heading = "Ops")]
    pub sort: Vec<String>,
    /// Keep the first N rows.
    #[arg(long, value_name = "N", help_heading = "Ops")]
    pub limit: Vec<String>,
    /// Append the rows of another table, by column name.
    #[arg(long, value_name = "LOCATION", help_heading = "Ops")]
    pub union: Vec<String>,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

pub fn run(args: TransformArgs, matches: &ArgMatches, printer: &Printer) -> Result<()> {
    // --with and --as belong to every --sql query of the command.
    let mut with = BTreeMap::new();
    for w in &args.with {
        let (name, location) = w
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("--with '{w}': write NAME=LOCATION")))?;
        with.insert(name.trim().to_string(), location.to_string());
    }
    super::step::run(
        "transform",
        &args.step,
        &args.read,
        &args.write,
        matches,
        printer,
        |op| {
            if let Op::Sql(s) = op {
                s.with.extend(with.clone());
                if s.name.is_none() {
                    s.name = args.table_name.clone();
                }
            }
        },
    )
}
