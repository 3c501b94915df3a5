//! `etl persist TARGET --table NAME [--mode MODE]`: load a table, atomically.
//!
//!   etl ingest presc.csv | etl persist warehouse/ --table prescpipeline.df_presc_final --partition-by delivery_date
//!   etl persist warehouse/ --table sales -i sales.parquet --mode incremental --primary-key id

use std::io::Write;

use clap::Args;
use etl::db::load::{LoadMode, LoadTarget};
use etl::error::{Error, Result};
use etl::location::Location;
use etl::source::Provenance;
use etl::step::{Input, Output, Step};

use super::args::ReadArgs;
use super::output::Printer;

#[derive(Debug, Args)]
#[command(
    after_help = "Modes: append (default) adds rows; full-refresh replaces the table; truncate replaces
the rows and keeps the table (DDL, grants); incremental upserts on --primary-key;
overwrite-partitions (warehouse only) replaces only the partitions present in the new rows.
A failed or killed load leaves the table as it was.

Targets:
  DIR/                 Hive-style warehouse folder: DIR/<db>/<table>/<col>=<value>/part-*.parquet
  sqlite://PATH.db     one transaction (staging table, swap or merge)
  postgres://U@H/DB    binary COPY in one transaction (TEMP staging table for truncate and
                       incremental: INSERT ... ON CONFLICT); PGPASSWORD, PGUSER, PGHOST, PGPORT,
                       PGDATABASE fill what the URL leaves out
  mysql://U@H/DB       LOAD DATA LOCAL INFILE streamed from memory; new tables are swapped in
                       with RENAME TABLE, incremental uses ON DUPLICATE KEY UPDATE; MYSQL_PWD
A missing table is created: ints, floats, decimals, bools, text, binary, dates, timestamps
(with time zone: timestamptz in PostgreSQL, UTC DATETIME(6) in MariaDB), times. Names are
quoted exactly as written (case kept): --table 'Sales 2026' or SCHEMA.TABLE, \"a.b\" for a
dot inside a name. Passwords never appear in messages (postgres://etl:***@host/db).

TLS: with no mode in the URL, loopback (localhost, 127.0.0.0/8, ::1, a socket) stays
plaintext and any other host is reached only over TLS with its certificate verified (chain
and name, the system's CAs). PostgreSQL: ?sslmode=disable|prefer|require|verify-ca|verify-full
&sslrootcert=CA.pem (libpq's meanings, PGSSLMODE). MariaDB/MySQL:
?ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY&ssl-ca=CA.pem.

Examples:
  etl ingest presc.csv | etl persist warehouse/ --table prescpipeline.df_presc_final --partition-by delivery_date
  etl persist warehouse/ --table sales -i sales.parquet --mode incremental --primary-key id
  etl persist postgres://etl@db/health --table public.df_presc_final -i presc.parquet --mode truncate
  etl persist mysql://etl@db/health --table df_city_final -i city.parquet --mode full-refresh --json
  etl persist kafka://127.0.0.1:9092/water --key sensor_id -i sensors.xlsx

Streams (kafka://, mqtt://, nats://, topic://DIR): one message per row (JSON by default), sent
with an idempotent producer (Kafka) or QoS 1 (MQTT) or JetStream acknowledgements (NATS); exit 0
only once every message is confirmed. --table and --mode do not apply."
)]
pub struct PersistArgs {
    /// Where to load: a warehouse folder (Hive-style Parquet), sqlite://PATH.db,
    /// postgres://USER@HOST/DB or mysql://USER@HOST/DB.
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// The table: DB.TABLE or TABLE (database `default` in a warehouse; the URL's schema or
    /// database in PostgreSQL and MariaDB).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,

    /// How the load treats what the table already holds: replace it all, add the rows,
    /// empty it first (keeping its definition), upsert on --primary-key, or replace the
    /// partitions present in the new rows.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = LoadMode::Append)]
    pub mode: LoadMode,

    /// Partition the table's folders by these columns (comma-separated), e.g. delivery_date.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub partition_by: Vec<String>,

    /// The key for --mode incremental (comma-separated columns); a table etl creates gets it as
    /// its primary key.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub primary_key: Vec<String>,

    /// Allow new columns in the new rows (added to the table; older rows read them as null).
    /// Without it, a schema difference is an error listing the columns.
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

    #[command(flatten)]
    pub stream: super::stream_args::StreamWriteArgs,
}

pub fn run(args: PersistArgs, printer: &Printer) -> Result<()> {
    if let Some(url) = super::stream_args::stream_url(&Location::parse(&args.target)?) {
        let stream = super::stream_args::PersistStream {
            stream: &args.stream,
            read: &args.read,
            input: args.input.as_deref(),
            json: args.json,
        };
        return super::stream_args::persist(stream, url, printer);
    }
    let request = LoadTarget {
        target: args.target.clone(),
        table: args
            .table
            .clone()
            .ok_or_else(|| Error::usage("--table NAME is required (the table to load)"))?,
        mode: Some(args.mode.name().to_string()),
        partition_by: args.partition_by.clone(),
        primary_key: args.primary_key.clone(),
        evolve: args.evolve,
    }
    .resolve()?;
    etl::step::validate_persist(&request)?;
    let read = args.read.to_options()?;
    let input = Location::parse(args.input.as_deref().unwrap_or("-"))?;
    let outcome = etl::step::run(Step {
        input: Input::Locations {
            locations: vec![input],
            read,
            provenance: Provenance::default(),
        },
        ops: Vec::new(),
        rejects: Default::default(),
        output: Output::Persist(request),
    })?;
    let s = outcome.loaded.expect("a persist step reports its load");
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
            s.rows,
            s.target,
            args.mode.name(),
            s.seconds
        ),
        serde_json::to_value(&s).unwrap_or_default(),
    );
    Ok(())
}
