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

Examples:
  etl ingest presc.csv | etl persist warehouse/ --table prescpipeline.df_presc_final --partition-by delivery_date
  etl persist warehouse/ --table sales -i sales.parquet --mode incremental --primary-key id
  etl persist postgres://etl@db/health --table public.df_presc_final -i presc.parquet --mode truncate
  etl persist mysql://etl@db/health --table df_city_final -i city.parquet --mode full-refresh --json
  etl persist kafka://127.0.0.1:9092/water --key sensor_id -i sensors.xlsx

InfluxDB (influxdb://[USER@]HOST:PORT/DB[?rp=RP], influxdb2://HOST:PORT/BUCKET?org=ORG): each row a
point of --measurement at --time, --tags columns as tags, the others as fields; gzip batches of
5,000 lines, retried on 429/5xx; --mode append only. Auth: INFLUX_USERNAME/INFLUX_PASSWORD (1.x),
INFLUX_TOKEN (2.x). Plain HTTP on loopback, HTTPS (certificates verified) elsewhere, ?tls= to choose.
DynamoDB (dynamodb://TABLE): each row an item, BatchWriteItem in 25s, unprocessed items retried;
append and incremental put by the table's key (a later row with the same key wins); full-refresh
needs --force-recreate. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL) for a local server.
  etl persist influxdb://127.0.0.1:8086/water --measurement readings --tags site --time ts -i w.csv
  etl persist dynamodb://readings --mode incremental -i w.parquet

Streams (kafka://, mqtt://, nats://, topic://DIR): one message per row (JSON by default), sent
with an idempotent producer (Kafka) or QoS 1 (MQTT) or JetStream acknowledgements (NATS); exit 0
only once every message is confirmed. --table and --mode do not apply."
)]
pub struct PersistArgs {
    /// Where to load: a warehouse folder (Hive-style Parquet), sqlite://PATH.db,
    /// postgres://USER@HOST/DB, mysql://USER@HOST/DB, influxdb://HOST:PORT/DB,
    /// influxdb2://HOST:PORT/BUCKET?org=ORG or dynamodb://TABLE.
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

    /// InfluxDB: the measurement the points go to.
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "InfluxDB and DynamoDB targets"
    )]
    pub measurement: Option<String>,

    /// InfluxDB: the columns written as tags (comma-separated); the other columns are fields.
    #[arg(
        long,
        value_name = "COLS",
        value_delimiter = ',',
        help_heading = "InfluxDB and DynamoDB targets"
    )]
    pub tags: Vec<String>,

    /// InfluxDB: the timestamp (or date) column giving each point's time.
    #[arg(
        long,
        value_name = "COL",
        help_heading = "InfluxDB and DynamoDB targets"
    )]
    pub time: Option<String>,

    /// DynamoDB: let --mode full-refresh delete the table and create it again with the same
    /// key schema and billing mode (it is empty until the load ends).
    #[arg(long, help_heading = "InfluxDB and DynamoDB targets")]
    pub force_recreate: bool,

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
    let target = Location::parse(&args.target)?;
    let service = service_unit(&target);
    let table = match (&args.table, service) {
        (Some(t), _) => t.clone(),
        (None, Some(_)) => String::new(),
        (None, None) => return Err(Error::usage("--table NAME is required (the table to load)")),
    };
    let request = LoadTarget {
        target: args.target.clone(),
        table,
        mode: Some(args.mode.name().to_string()),
        partition_by: args.partition_by.clone(),
        primary_key: args.primary_key.clone(),
        evolve: args.evolve,
        measurement: args.measurement.clone(),
        tags: args.tags.clone(),
        time: args.time.clone(),
        force_recreate: args.force_recreate,
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
    let (unit, skipped) = match service {
        Some(unit) if unit == "points" => (
            unit,
            format!(", {} rows skipped: every field null", s.skipped),
        ),
        Some(unit) => (
            unit,
            format!(
                ", {} rows replaced by a later row with the same key",
                s.skipped
            ),
        ),
        None => ("rows", String::new()),
    };
    let skipped = if s.skipped > 0 {
        skipped
    } else {
        String::new()
    };
    printer.info(
        "persist",
        &format!(
            "wrote {} {unit} to {} ({}{layout}{skipped}) in {:.2}s",
            s.rows,
            s.target,
            args.mode.name(),
            s.seconds
        ),
        serde_json::to_value(&s).unwrap_or_default(),
    );
    Ok(())
}

/// What a service target counts (points, items); None for table stores.
fn service_unit(target: &Location) -> Option<&'static str> {
    use etl::location::Scheme;
    match target {
        Location::Remote(r) => match r.scheme {
            Scheme::Influx | Scheme::Influx2 => Some("points"),
            Scheme::DynamoDb => Some("items"),
            _ => None,
        },
        _ => None,
    }
}
