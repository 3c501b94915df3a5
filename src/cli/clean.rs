//! `etl clean [INPUT] [OP FLAGS...]`: cleaning and validation ops, applied
//! in the order given, then written like `etl ingest` writes.
//!
//!   etl ingest presc.csv | etl clean --rename npi=presc_id --drop-nulls presc_id,drug_name
//!   etl clean presc.parquet --ops clean.toml --rejects rejects.csv -o silver/presc.parquet

use clap::{ArgMatches, Args};
use etl::error::Result;

use super::args::{ReadArgs, WriteArgs};
use super::ops_args::StepArgs;
use super::output::Printer;

#[derive(Debug, Args)]
#[command(
    after_help = "Op flags run in the order given, after the ops of --ops files.

Examples:
  etl ingest presc.csv | etl clean --rename npi=presc_id --drop-nulls presc_id,drug_name
  etl clean presc.csv --extract years_of_exp '\\d+' int --concat full_name ' ' first last
  etl clean presc.parquet --ops clean.toml --check-npi presc_id --rejects bad.csv -o silver/presc.parquet"
)]
pub struct CleanArgs {
    #[command(flatten)]
    pub step: StepArgs,

    /// Keep these columns, in this order (comma-separated).
    #[arg(long, value_name = "COLS", help_heading = "Ops")]
    pub select: Vec<String>,
    /// Rename columns: OLD=NEW[,OLD=NEW...].
    #[arg(long, value_name = "OLD=NEW", help_heading = "Ops")]
    pub rename: Vec<String>,
    /// Remove columns (comma-separated).
    #[arg(long, value_name = "COLS", help_heading = "Ops")]
    pub drop: Vec<String>,
    /// Change types strictly: COL:TYPE[,...]; a value that does not convert is an error.
    #[arg(long, value_name = "COL:TYPE", help_heading = "Ops")]
    pub cast: Vec<String>,
    /// Change types; rows whose value does not convert go to the rejects.
    #[arg(long, value_name = "COL:TYPE", help_heading = "Ops")]
    pub cast_or_reject: Vec<String>,
    /// Strip leading and trailing white space (comma-separated columns).
    #[arg(long, value_name = "COLS", help_heading = "Ops")]
    pub trim: Vec<String>,
    /// Upper-case text columns.
    #[arg(long, value_name = "COLS", help_heading = "Ops")]
    pub upper: Vec<String>,
    /// Lower-case text columns.
    #[arg(long, value_name = "COLS", help_heading = "Ops")]
    pub lower: Vec<String>,
    /// Title-case text columns.
    #[arg(long, value_name = "COLS", help_heading = "Ops")]
    pub title: Vec<String>,
    /// Replace every match of a regex: COL PATTERN REPLACEMENT (`$1` refers to groups).
    #[arg(long, num_args = 3, value_names = ["COL", "PATTERN", "WITH"], help_heading = "Ops")]
    pub replace: Vec<String>,
    /// Keep the first match of a regex, optionally typed: COL PATTERN [TYPE]. `\d` means 0-9 only.
    #[arg(long, num_args = 2..=3, value_names = ["COL", "PATTERN", "TYPE"], help_heading = "Ops")]
    pub extract: Vec<String>,
    /// Join columns into a new one with a separator, skipping nulls: NEW SEP COL COL...
    #[arg(long, num_args = 3.., value_names = ["NEW", "SEP", "COL"], help_heading = "Ops")]
    pub concat: Vec<String>,
    /// Add a column with one value: COL=VALUE (numbers and true/false are typed).
    #[arg(long, value_name = "COL=VALUE", help_heading = "Ops")]
    pub constant: Vec<String>,
    /// Fill nulls: COL=VALUE, or COL=mean|median|mode (partitions and rounding: use --op fill-null).
    #[arg(long, value_name = "COL=WHAT", help_heading = "Ops")]
    pub fill_null: Vec<String>,
    /// Drop rows with a null in any of these columns.
    #[arg(long, value_name = "COLS", help_heading = "Ops")]
    pub drop_nulls: Vec<String>,
    /// Keep the first row per key (comma-separated columns; none: whole rows).
    #[arg(long, value_name = "COLS", num_args = 0..=1, default_missing_value = "", help_heading = "Ops")]
    pub dedup: Vec<String>,
    /// Keep rows where an SQL predicate holds, e.g. `years_of_exp between 20 and 50`.
    #[arg(long, value_name = "SQL", help_heading = "Ops")]
    pub filter: Vec<String>,
    /// Add or replace a column from an SQL expression: COL=SQL.
    #[arg(long, value_name = "COL=SQL", help_heading = "Ops")]
    pub derive: Vec<String>,
    /// Parse text into dates with a strftime format: COL FORMAT (e.g. day '%m/%d/%Y').
    #[arg(long, num_args = 2, value_names = ["COL", "FORMAT"], help_heading = "Ops")]
    pub parse_date: Vec<String>,
    /// Map values through a lookup table: COL TABLE KEY VALUE (unmatched values become null).
    #[arg(long, num_args = 4, value_names = ["COL", "TABLE", "KEY", "VALUE"], help_heading = "Ops")]
    pub lookup: Vec<String>,
    /// Check: no nulls in these columns.
    #[arg(long, value_name = "COLS", help_heading = "Checks")]
    pub not_null: Vec<String>,
    /// Check: no duplicate values (the columns together form the key).
    #[arg(long, value_name = "COLS", help_heading = "Checks")]
    pub unique: Vec<String>,
    /// Check: valid NPI numbers (10 digits, Luhn check digit over the 80840 prefix).
    #[arg(long, value_name = "COL", help_heading = "Checks")]
    pub check_npi: Vec<String>,
    /// Check: US state postal codes.
    #[arg(long, value_name = "COL", help_heading = "Checks")]
    pub check_state: Vec<String>,
    /// Check: an SQL predicate holds for every row.
    #[arg(long, value_name = "SQL", help_heading = "Checks")]
    pub check_sql: Vec<String>,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

pub fn run(args: CleanArgs, matches: &ArgMatches, printer: &Printer) -> Result<()> {
    super::step::run(
        "clean",
        &args.step,
        &args.read,
        &args.write,
        matches,
        printer,
        |_| {},
    )
}
