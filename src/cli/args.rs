//! Flags shared by several subcommands, defined once with their docs, and
//! their translation into the engine's option types.

use clap::Args;
use etl::error::{Error, Result};
use etl::format::csv::DEFAULT_INFER_ROWS;
use etl::format::{Codec, FormatName, ReadOptions, ReadSpec, WriteSpec};

/// How to read inputs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input options")]
pub struct ReadArgs {
    /// Input format, instead of detecting it from the extension and first bytes.
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub from: Option<FormatName>,

    /// CSV: the first row is data, not column names (columns are then named column_1, ...).
    #[arg(long)]
    pub no_header: bool,

    /// CSV: field delimiter, one character (`,` by default; tab for .tsv; write `tab` or `\t` for a tab).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// CSV: quote character (default `"`).
    #[arg(long, value_name = "CHAR", conflicts_with = "no_quote")]
    pub quote: Option<String>,

    /// CSV: fields are never quoted; quote characters are plain text.
    #[arg(long)]
    pub no_quote: bool,

    /// CSV: escape character inside quoted fields, e.g. `\` for `\"` (doubled quotes always work).
    #[arg(long, value_name = "CHAR")]
    pub escape: Option<String>,

    /// CSV: lines starting with this character are comments and skipped.
    #[arg(long, value_name = "CHAR")]
    pub comment: Option<String>,

    /// CSV: values to read as null besides the empty field (repeat or comma-separate: --null NA,NULL).
    #[arg(long = "null", value_name = "TOKEN", value_delimiter = ',')]
    pub null_values: Vec<String>,

    /// CSV: text encoding of the input (utf-8, utf-16le, latin-1, windows-1252, shift_jis, ...; WHATWG labels and the spellings of Python, Java and iconv such as ISO8859_1, cp1250, utf_16_le). A UTF-8 BOM is always dropped.
    #[arg(long, value_name = "LABEL", default_value = "utf-8")]
    pub encoding: String,

    /// Column types instead of inference: `id:int,born:date` or a file with one `name:type` per line.
    /// Types: bool, int8..int64 (int), uint8..uint64, float32, float64 (float), str, date, datetime, time, decimal(p,s).
    #[arg(long, value_name = "SPEC")]
    pub schema: Option<String>,

    /// Rows read to infer column types (CSV, JSON); 0 reads every row.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_INFER_ROWS)]
    pub infer_rows: usize,

    /// CSV: keep ISO-looking date and datetime text as text instead of parsing it.
    #[arg(long)]
    pub no_parse_dates: bool,

    /// Excel: the sheet to read, by name or 0-based index (default: the first).
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
}

impl ReadArgs {
    /// The flags as the read spec a pipeline's `read = { … }` also fills.
    pub fn spec(&self) -> ReadSpec {
        ReadSpec {
            format: self.from,
            header: Some(!self.no_header),
            delimiter: self.delimiter.clone(),
            quote: self.quote.clone(),
            no_quote: self.no_quote,
            escape: self.escape.clone(),
            comment: self.comment.clone(),
            null_values: self.null_values.clone(),
            encoding: Some(self.encoding.clone()),
            schema: self.schema.clone(),
            infer_rows: Some(self.infer_rows),
            parse_dates: Some(!self.no_parse_dates),
            sheet: self.sheet.clone(),
        }
    }

    pub fn to_options(&self) -> Result<ReadOptions> {
        self.spec().resolve(&|key| format!("--{key}"))
    }
}

/// How to write the output.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output options")]
pub struct WriteArgs {
    /// Write to this file (format from its extension, e.g. out.parquet, out.csv.gz) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<String>,

    /// Output format. Without -o, writes that format to stdout.
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub to: Option<FormatName>,

    /// Compression: csv/json/ndjson gzip|zstd|bzip2|xz|none; parquet snappy|zstd|gzip|lz4|brotli|none;
    /// orc snappy|zlib|zstd|lz4|none; avro deflate|snappy|zstd|bzip2|xz|none; ipc lz4|zstd|none.
    #[arg(long, value_name = "CODEC", value_enum, hide_possible_values = true)]
    pub compression: Option<Codec>,

    /// Parquet: rows per row group (default: polars' choice).
    #[arg(long, value_name = "N")]
    pub row_group_size: Option<usize>,

    /// Write N part files (part-00000.EXT, ...) into the folder given by -o, like Spark's coalesce(N).
    #[arg(long, value_name = "N", requires = "output")]
    pub split: Option<usize>,

    /// Replace the output if it exists (the new one is swapped in only when complete).
    #[arg(long)]
    pub force: bool,

    /// CSV output: field delimiter (default `,`; tab for tsv).
    #[arg(long, value_name = "CHAR")]
    pub out_delimiter: Option<String>,

    /// CSV output: no header line.
    #[arg(long)]
    pub no_out_header: bool,
}

/// Where and how the output goes, once resolved.
pub enum OutputPlan {
    /// A terminal: show a preview instead of bytes.
    Preview,
    /// Stdout or a file, in a format.
    Write(etl::sink::WriteRequest),
}

impl WriteArgs {
    fn spec(&self) -> WriteSpec {
        WriteSpec {
            format: self.to,
            compression: self.compression,
            row_group_size: self.row_group_size,
            delimiter: self.out_delimiter.clone(),
            header: Some(!self.no_out_header),
        }
    }

    /// Resolves the output: file or stdout, format, codec.
    pub fn plan(&self, stdout_is_terminal: bool) -> Result<OutputPlan> {
        let flag = |key: &str| match key {
            "format" => "--to FORMAT".to_string(),
            "delimiter" => "--out-delimiter".to_string(),
            other => format!("--{other}"),
        };
        let mut spec = self.spec();
        let dest = match &self.output {
            Some(path) if path != "-" => {
                let location = etl::Location::parse(path)?;
                let remote = location.is_file_store();
                let p = match &location {
                    etl::Location::Local(p) => p.clone(),
                    // s3://, az://, gs://, sftp://: the name gives the format.
                    etl::Location::Remote(r) if remote => std::path::PathBuf::from(r.url.path()),
                    _ => {
                        return Err(Error::usage(format!(
                            "-o {location}: -o writes files (a local path or s3://, az://, gs://, sftp://); load a database with `etl persist {location} --table NAME`"
                        )))
                    }
                };
                if spec.format.is_none()
                    && self.split.is_some()
                    && etl::format::Format::from_path(&p).is_none()
                {
                    return Err(Error::usage(
                        "--split writes a folder: say the part format with --to FORMAT",
                    ));
                }
                let options = spec.resolve(Some(&p), &flag)?;
                let dest = if remote {
                    etl::sink::Destination::Remote(path.clone())
                } else {
                    etl::sink::Destination::Path(p)
                };
                (dest, options)
            }
            _ => {
                if spec.format.is_none() {
                    if stdout_is_terminal {
                        return Ok(OutputPlan::Preview);
                    }
                    spec.format = Some(FormatName::Arrows);
                }
                (etl::sink::Destination::Stdout, spec.resolve(None, &flag)?)
            }
        };
        let (dest, options) = dest;
        Ok(OutputPlan::Write(etl::sink::WriteRequest {
            dest,
            options,
            split: self.split,
            force: self.force,
        }))
    }
}
