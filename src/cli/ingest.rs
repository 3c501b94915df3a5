//! `etl ingest INPUT... [-o OUTPUT | --to FORMAT]`
//!
//! Reads one or more inputs (files, folders of part files, Hive-partitioned
//! folders, globs, stdin) and writes one table.
//!
//!   etl ingest sales.csv -o sales.parquet
//!   etl ingest 'landing/*.csv' --add-source-column file -o all.parquet
//!   etl ingest spark_out/ --select id,name | etl ingest -o part.csv.gz
//!   etl ingest big.parquet --to orc --split 2 -o report/

use std::io::IsTerminal;

use clap::Args;
use etl::db::DbRead;
use etl::error::{Error, Result};
use etl::ops::Op;
use etl::sink::{Destination, WriteSummary};
use etl::source::Provenance;
use etl::step::{Input, Output, Step};

use super::args::{OutputPlan, ReadArgs, WriteArgs};
use super::output::{human_bytes, preview, Printer};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  etl ingest sales.csv -o sales.parquet
  etl ingest 'landing/*.csv' --add-source-column file -o all.parquet
  etl ingest spark_out/ --select id,name | etl ingest -o part.csv.gz
  etl ingest report.parquet --to orc --compression snappy --split 2 -o report/
  etl ingest postgres://etl@db/health --query 'select * from presc where year = 2021' -o presc.parquet
  etl ingest mysql://etl@db/shop --table orders | etl persist sqlite://local.db --table orders
  etl ingest sqlite://local.db --table orders --to csv
  etl ingest kafka://127.0.0.1:9092/water --value-format json -o bronze/water/
  etl ingest kafka://127.0.0.1:9092/water --group lake --follow --interval 30s -o bronze/water/

Databases: postgres:// (PGPASSWORD, PGUSER, PGHOST, PGPORT, PGDATABASE fill what the URL
leaves out), mysql:// or mariadb:// (MYSQL_PWD), sqlite://PATH. Rows stream out in batches of
65536. Types: integers, floats, booleans, text, binary, dates, timestamps (timestamptz as
UTC), times and numeric(p,s)/DECIMAL(p,s) up to 38 digits map to the same polars types;
numeric without precision reads as float64; other types must be cast in --query.

Streams: kafka://BROKER[,BROKER]/TOPIC, mqtt://HOST[:PORT]/TOPIC (%23 for #), nats://HOST[:PORT]/SUBJECT
(JetStream), topic://DIR (a local folder standing in for a broker). Columns: key, value (or the
payload's columns with --value-format), topic, partition, offset, timestamp, headers. Into a folder
(-o DIR/), each batch is one part file committed with a checkpoint (DIR/_checkpoint/) before the
consumer group hears of it: a run after a crash neither skips nor repeats a message. To stdout, the
group commit follows the write (at least once); on a terminal it is a preview (nothing committed).
Kafka security rides on the URL: kafka://USER@HOST/TOPIC?sasl-mechanism=SCRAM-SHA-512&tls-ca=ca.pem
(password in the URL or ETL_KAFKA_PASSWORD; tls=true, tls-cert, tls-key, tls-verify=false).")]
pub struct IngestArgs {
    /// Inputs: files, folders of part files (Spark/Hive layouts), globs (quote them), or - for stdin.
    /// With none, reads stdin. Several inputs are concatenated by column name.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub write: WriteArgs,

    #[command(flatten)]
    pub stream: super::stream_args::StreamReadArgs,

    /// Keep only the first N rows (reading stops early where the format allows).
    #[arg(long, value_name = "N", help_heading = "Table options")]
    pub limit: Option<usize>,

    /// Keep only these columns, in this order (comma-separated).
    #[arg(
        long,
        value_name = "COLS",
        value_delimiter = ',',
        help_heading = "Table options"
    )]
    pub select: Vec<String>,

    /// Add a column with the file each row came from.
    #[arg(long, value_name = "NAME", help_heading = "Table options")]
    pub add_source_column: Option<String>,

    /// Database input: read the rows of this SQL query, sent as written
    /// (postgres://, mysql://, sqlite:// inputs).
    #[arg(
        long,
        value_name = "SQL",
        help_heading = "Database options",
        conflicts_with = "table"
    )]
    pub query: Option<String>,

    /// Database input: read every row of this table (TABLE or SCHEMA.TABLE; names are quoted as written).
    #[arg(long, value_name = "NAME", help_heading = "Database options")]
    pub table: Option<String>,

    /// Add a column with the time of this ingest (UTC timestamp, the same for every row).
    #[arg(long, value_name = "NAME", help_heading = "Table options")]
    pub add_ingest_time: Option<String>,
}

pub fn run(args: IngestArgs, printer: &Printer) -> Result<()> {
    let locations = args
        .inputs
        .iter()
        .map(|i| etl::Location::parse(i))
        .collect::<Result<Vec<_>>>()?;
    if let Some(url) = locations.iter().find_map(super::stream_args::stream_url) {
        if locations.len() > 1 {
            return Err(Error::usage(
                "a stream input is read alone: one kafka://, mqtt://, nats:// or topic:// location",
            ));
        }
        if args.limit.is_some()
            || !args.select.is_empty()
            || args.add_source_column.is_some()
            || args.add_ingest_time.is_some()
        {
            return Err(Error::unsupported(
                "--limit, --select, --add-source-column and --add-ingest-time with a stream input (use --max-messages; shape the table in the next command)",
            ));
        }
        let stream = super::stream_args::IngestStream {
            stream: &args.stream,
            read: &args.read,
            write: &args.write,
        };
        return super::stream_args::ingest(stream, url, printer);
    }
    let plan = args.write.plan(std::io::stdout().is_terminal())?;
    let mut read = args.read.to_options()?;
    read.row_limit = args.limit;
    let what = match (&args.query, &args.table) {
        (Some(q), _) => Some(DbRead::Query(q.clone())),
        (None, Some(t)) => Some(DbRead::Table(t.clone())),
        (None, None) => None,
    };
    let input = match what {
        Some(what) => {
            let [location] = <[_; 1]>::try_from(locations).map_err(|_| {
                Error::usage(
                    "--query and --table read from exactly one database input (postgres://, mysql://, sqlite://)",
                )
            })?;
            if args.add_source_column.is_some() {
                return Err(Error::usage(
                    "--add-source-column names input files; a database input has none",
                ));
            }
            Input::Database { location, what }
        }
        None => Input::Locations {
            locations,
            read,
            provenance: Provenance {
                source_column: args.add_source_column.clone(),
            },
        },
    };
    let (output, req) = match plan {
        OutputPlan::Preview => (Output::Frame, None),
        OutputPlan::Write(req) => (Output::Write(req.clone()), Some(req)),
    };
    let outcome = etl::step::run(Step {
        input,
        ops: table_ops(&args),
        rejects: Default::default(),
        output,
    })?;
    match (outcome.frame, outcome.written, req) {
        (Some(frame), _, _) => preview(frame, 10),
        (_, Some(summary), Some(req)) => {
            match &req.dest {
                Destination::Path(p) => report(printer, &summary, &p.display().to_string(), &req),
                Destination::Remote(u) => {
                    report(printer, &summary, &etl::location::redact(u), &req)
                }
                Destination::Stdout => {}
            }
            Ok(())
        }
        _ => unreachable!("a write step reports what it wrote"),
    }
}

/// The table options as ops, in a fixed order: ingest time, select, limit.
fn table_ops(args: &IngestArgs) -> Vec<Op> {
    let mut ops = Vec::new();
    if let Some(name) = &args.add_ingest_time {
        ops.push(Op::IngestTime(name.clone()));
    }
    if !args.select.is_empty() {
        ops.push(Op::Select(args.select.clone()));
    }
    if let Some(n) = args.limit {
        ops.push(Op::Limit(n));
    }
    ops
}

fn report(printer: &Printer, s: &WriteSummary, target: &str, req: &etl::sink::WriteRequest) {
    let files = if s.files.len() > 1 {
        format!(", {} files", s.files.len())
    } else {
        String::new()
    };
    printer.info(
        "ingest",
        &format!(
            "wrote {} rows to {target} ({}, {}{files}, {}) in {:.2}s",
            s.rows,
            req.options.format,
            req.options.codec,
            human_bytes(s.bytes),
            s.elapsed.as_secs_f64()
        ),
        serde_json::json!({
            "rows": s.rows,
            "output": target,
            "format": req.options.format.name(),
            "compression": req.options.codec.name(),
            "bytes": s.bytes,
            "files": s.files.len(),
            "seconds": s.elapsed.as_secs_f64(),
        }),
    );
}
