//! Flags for streams (kafka://, mqtt://, nats://, topic://) as `etl ingest`
//! inputs and `etl persist` targets, and the two commands' stream paths.
//!
//!   etl ingest kafka://127.0.0.1:9092/water --value-format json -o bronze/water/
//!   etl ingest mqtt://127.0.0.1/sensors/%23 --follow --interval 10s -o landing/sensors/
//!   etl persist kafka://127.0.0.1:9092/water --key sensor_id -i sensors.xlsx

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use etl::error::{Error, Result};
use etl::format::{Format, WriteOptions};
use etl::frame::Frame;
use etl::location::{Location, RemoteUrl};
use etl::stream::{self, IngestRequest, StreamOptions, StreamOutput, ValueFormat};

use super::args::{OutputPlan, ReadArgs, WriteArgs};
use super::output::{preview, Printer};

/// How payloads map to columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValueFormatArg {
    /// The payload as a text column `value`.
    Text,
    /// The payload as a binary column `value`.
    Bytes,
    /// A JSON object per message; its fields become typed columns.
    Json,
    /// One CSV record per message (no header); names and types from --schema.
    Csv,
    /// Avro: a single-object container file per message, or raw datums with --value-schema.
    Avro,
}

impl From<ValueFormatArg> for ValueFormat {
    fn from(v: ValueFormatArg) -> Self {
        match v {
            ValueFormatArg::Text => ValueFormat::Text,
            ValueFormatArg::Bytes => ValueFormat::Bytes,
            ValueFormatArg::Json => ValueFormat::Json,
            ValueFormatArg::Csv => ValueFormat::Csv,
            ValueFormatArg::Avro => ValueFormat::Avro,
        }
    }
}

/// Reading a stream (`etl ingest kafka://...`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Stream options (kafka://, mqtt://, nats://, topic:// inputs)")]
pub struct StreamReadArgs {
    /// Consumer group (Kafka), durable consumer (NATS JetStream) or client id with a persistent
    /// session (MQTT). Default: etl.
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,

    /// Parse payloads into typed columns (default: text, one `value` column).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub value_format: Option<ValueFormatArg>,

    /// Avro schema file (.avsc) for payloads that are raw Avro datums.
    #[arg(long, value_name = "FILE")]
    pub value_schema: Option<PathBuf>,

    /// At most this many messages per batch.
    #[arg(long, value_name = "N")]
    pub max_messages: Option<u64>,

    /// At most about this many payload bytes per batch (e.g. 64M; default 128M): bounds memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub max_bytes: Option<u64>,

    /// The longest a batch waits for messages (e.g. 500ms, 10s; default 10s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_wait: Option<Duration>,

    /// Keep reading: one part file per batch into the -o folder, until interrupted.
    #[arg(long, requires = "output")]
    pub follow: bool,

    /// With --follow: the pause between batches once caught up (default 5s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "follow")]
    pub interval: Option<Duration>,

    /// Stop after this many batches (with --follow, or into a folder).
    #[arg(long, value_name = "N", requires = "output")]
    pub batches: Option<u64>,

    /// Messages whose payload does not parse go here, with a reject_reason column (a folder of
    /// part files when -o is a folder). Without it, such a payload fails the batch.
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,

    /// A Kafka client property (librdkafka name), e.g. security.protocol=SASL_PLAINTEXT. Repeat.
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    pub kafka_options: Vec<String>,

    /// A Confluent-style schema registry for Avro values (not supported yet).
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
}

/// Writing a stream (`etl persist kafka://...`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Stream options (kafka://, mqtt://, nats://, topic:// targets)")]
pub struct StreamWriteArgs {
    /// The column whose value is each message's key (MQTT, NATS: appended to the topic or subject).
    #[arg(long, value_name = "COLUMN")]
    pub key: Option<String>,

    /// Payload of each row: json (default), csv (one record, no header line), avro (a
    /// single-object container file per row), text or bytes (the row's `value` column as is).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub value_format: Option<ValueFormatArg>,

    /// Columns sent as message headers (name = column name, value = the text of the cell; a
    /// null sends no header). Kafka, NATS and topic:// only: MQTT 3.1.1 has no headers.
    #[arg(long, value_name = "COLUMN[,COLUMN]", value_delimiter = ',')]
    pub headers: Vec<String>,

    /// A Kafka client property (librdkafka name), e.g. compression.type=zstd. Repeat.
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    pub kafka_options: Vec<String>,

    /// A Confluent-style schema registry for Avro values (not supported yet).
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
}

fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    etl::stream::options::parse_duration(s)
}

fn parse_bytes(s: &str) -> std::result::Result<u64, String> {
    etl::stream::options::parse_bytes(s)
}

fn properties(list: &[String]) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Error::usage(format!("--kafka-option {kv}: write KEY=VALUE")))
        })
        .collect()
}

pub fn stream_url(location: &Location) -> Option<&RemoteUrl> {
    match location {
        Location::Remote(r) if stream::is_stream(location) => Some(r),
        _ => None,
    }
}

impl StreamReadArgs {
    fn options(&self, url: &RemoteUrl) -> Result<StreamOptions> {
        let mut o = StreamOptions::from_url(url)?;
        if let Some(g) = &self.group {
            o.group = g.clone();
        }
        if let Some(v) = self.value_format {
            o.value_format = v.into();
        }
        if let Some(s) = &self.value_schema {
            o.value_schema = Some(s.clone());
        }
        o.max_messages = self.max_messages.or(o.max_messages);
        o.max_bytes = self.max_bytes.or(o.max_bytes);
        if let Some(w) = self.max_wait {
            o.max_wait = w;
        }
        o.properties.extend(properties(&self.kafka_options)?);
        if self.schema_registry.is_some() {
            o.schema_registry = self.schema_registry.clone();
        }
        Ok(o)
    }
}

/// What `etl ingest` hands over for a stream input.
pub struct IngestStream<'a> {
    pub stream: &'a StreamReadArgs,
    pub read: &'a ReadArgs,
    pub write: &'a WriteArgs,
}

/// `etl ingest STREAM`: into a folder or file with a checkpoint (exactly
/// once), or one batch to stdout (committed after it is written) or to
/// the terminal (a preview: nothing committed).
pub fn ingest(args: IngestStream, url: &RemoteUrl, printer: &Printer) -> Result<()> {
    let s = args.stream;
    let options = s.options(url)?;
    let read = args.read.to_options()?;
    let shown = stream::shown(url);
    let Some(out) = args.write.output.as_deref().filter(|o| *o != "-") else {
        return ingest_to_stdout(&args, url, &options, &read, printer);
    };
    let path = PathBuf::from(out);
    let folder = out.ends_with('/') || path.is_dir() || s.follow || s.batches.is_some();
    let (output, write) = if folder {
        let format = args.write.to.map_or(Format::Parquet, |t| t.format());
        let mut w = WriteOptions::new(format);
        if let Some(c) = args.write.compression {
            w.codec = c.check_for(format)?;
        }
        (StreamOutput::Folder(path), w)
    } else {
        match args.write.plan(false)? {
            OutputPlan::Write(req) if matches!(req.dest, etl::sink::Destination::Path(_)) => {
                (StreamOutput::File(path), req.options)
            }
            _ => {
                return Err(Error::unsupported(
                    "stream batches into remote files; write to a local folder or file",
                ))
            }
        }
    };
    let req = IngestRequest {
        source: url.clone(),
        options,
        read,
        output,
        write,
        rejects: s.rejects.clone(),
        follow: s
            .follow
            .then(|| s.interval.unwrap_or(Duration::from_secs(5))),
        max_batches: s.batches,
        force: args.write.force,
    };
    let summary = stream::ingest(&req, &mut |b| {
        let files: Vec<String> = b.files.iter().map(|f| f.display().to_string()).collect();
        printer.info(
            "ingest",
            &format!(
                "batch {}: {} rows, {} rejected → {}",
                b.batch,
                b.rows,
                b.rejected,
                if files.is_empty() {
                    "-".into()
                } else {
                    files.join(", ")
                }
            ),
            serde_json::to_value(b).unwrap_or_default(),
        );
    })?;
    let positions: Vec<String> = summary
        .positions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    printer.info(
        "ingest",
        &format!(
            "read {} rows ({} rejected) in {} batches from {shown} in {:.2}s; next positions {}",
            summary.rows,
            summary.rejected,
            summary.batches,
            summary.seconds,
            if positions.is_empty() {
                "unchanged".into()
            } else {
                positions.join(", ")
            }
        ),
        serde_json::to_value(&summary).unwrap_or_default(),
    );
    Ok(())
}

fn ingest_to_stdout(
    args: &IngestStream,
    url: &RemoteUrl,
    options: &StreamOptions,
    read: &etl::format::ReadOptions,
    printer: &Printer,
) -> Result<()> {
    use std::io::IsTerminal;
    let plan = args.write.plan(std::io::stdout().is_terminal())?;
    let once = stream::ingest::read_once(url, options, read)?;
    let rejected = once.tables.rejects.height();
    if rejected > 0 {
        match &args.stream.rejects {
            Some(r) => {
                let format = Format::from_path(r).map(|(f, _)| f).unwrap_or(Format::Parquet);
                etl::sink::file::write_file(
                    Frame::from_df(once.tables.rejects.clone()),
                    r,
                    &WriteOptions::new(format),
                )?;
            }
            None => {
                return Err(Error::data(format!(
                    "{}: {rejected} payloads do not parse as {}; pass --rejects PATH to set them aside (nothing was committed)",
                    stream::shown(url),
                    options.value_format.name()
                )))
            }
        }
    }
    let frame = Frame::from_df(once.tables.rows.clone());
    match plan {
        // A look, not a read: nothing is committed.
        OutputPlan::Preview => preview(frame, 10),
        OutputPlan::Write(req) => {
            let s = etl::sink::write(frame, &req)?;
            let n = once.messages();
            once.commit()?;
            printer.info(
                "ingest",
                &format!(
                    "wrote {} rows from {n} messages of {}",
                    s.rows,
                    stream::shown(url)
                ),
                serde_json::json!({ "rows": s.rows, "messages": n }),
            );
            Ok(())
        }
    }
}

/// What `etl persist` hands over for a stream target.
pub struct PersistStream<'a> {
    pub stream: &'a StreamWriteArgs,
    pub read: &'a ReadArgs,
    pub input: Option<&'a str>,
    pub json: bool,
}

/// `etl persist STREAM`: one message per row, confirmed before exit 0.
pub fn persist(args: PersistStream, url: &RemoteUrl, printer: &Printer) -> Result<()> {
    let mut options = stream::produce::options_for(url)?;
    let s = args.stream;
    if s.key.is_some() {
        options.key = s.key.clone();
    }
    if let Some(v) = s.value_format {
        options.value_format = v.into();
    }
    if !s.headers.is_empty() {
        options.headers = s.headers.clone();
    }
    if s.schema_registry.is_some() {
        options.schema_registry = s.schema_registry.clone();
    }
    options.properties.extend(properties(&s.kafka_options)?);
    stream::produce::validate(&options)?;
    let read = args.read.to_options()?;
    let input = Location::parse(args.input.unwrap_or("-"))?;
    let frame = etl::source::open(
        std::slice::from_ref(&input),
        &read,
        &etl::source::Provenance::default(),
    )?;
    let summary = stream::produce(frame, url, &options)?;
    if args.json {
        use std::io::Write;
        let text = serde_json::to_string(&summary).map_err(|e| Error::data(e.to_string()))?;
        writeln!(std::io::stdout(), "{text}")?;
    }
    printer.info(
        "persist",
        &format!(
            "sent {} messages to {} ({}, all confirmed) in {:.2}s",
            summary.rows,
            summary.target,
            options.value_format.name(),
            summary.seconds
        ),
        serde_json::to_value(&summary).unwrap_or_default(),
    );
    Ok(())
}
