//! Flags shared by several subcommands, defined once with their docs, and
//! their translation into the engine's option types.

use clap::Args;
use etl::error::{Error, Result};
use etl::format::csv::{CsvReadOptions, CsvWriteOptions, DEFAULT_INFER_ROWS};
use etl::format::{Codec, Format, ReadOptions, WriteOptions};

/// How to read inputs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input options")]
pub struct ReadArgs {
    /// Input format, instead of detecting it from the extension and first
    /// bytes: csv, tsv, parquet, orc, avro, json, ndjson, excel, ipc, arrows.
    #[arg(long, value_name = "FORMAT")]
    pub from: Option<String>,

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

    /// CSV: text encoding of the input (utf-8, latin1, windows-1252, utf-16le, ...). A UTF-8 BOM is always dropped.
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
    pub fn to_options(&self) -> Result<ReadOptions> {
        let from = self.from.as_deref().map(str::parse::<Format>).transpose()?;
        let mut delimiter = self
            .delimiter
            .as_deref()
            .map(|d| one_char(d, "--delimiter"))
            .transpose()?;
        if delimiter.is_none() && self.from.as_deref() == Some("tsv") {
            delimiter = Some(b'\t');
        }
        let csv = CsvReadOptions {
            has_header: !self.no_header,
            delimiter,
            quote: if self.no_quote {
                None
            } else {
                Some(
                    self.quote
                        .as_deref()
                        .map(|q| one_char(q, "--quote"))
                        .transpose()?
                        .unwrap_or(b'"'),
                )
            },
            escape: self
                .escape
                .as_deref()
                .map(|e| one_char(e, "--escape"))
                .transpose()?,
            comment: self
                .comment
                .as_deref()
                .map(|c| one_char(c, "--comment"))
                .transpose()?,
            null_values: self.null_values.clone(),
            encoding: self.encoding.clone(),
            parse_dates: !self.no_parse_dates,
        };
        etl::format::text_input::encoding(&self.encoding)?;
        Ok(ReadOptions {
            format: from,
            csv,
            sheet: self.sheet.clone(),
            schema: self
                .schema
                .as_deref()
                .map(etl::dtype::parse_schema)
                .transpose()?,
            infer_rows: (self.infer_rows > 0).then_some(self.infer_rows),
            row_limit: None,
        })
    }
}

/// How to write the output.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output options")]
pub struct WriteArgs {
    /// Write to this file (format from its extension, e.g. out.parquet, out.csv.gz) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<String>,

    /// Output format: csv, tsv, parquet, orc, avro, json, ndjson, xlsx, ipc (Arrow file), arrows (Arrow stream).
    /// Without -o, writes that format to stdout.
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<String>,

    /// Compression: csv/json/ndjson gzip|zstd|bzip2|xz|none; parquet snappy|zstd|gzip|lz4|brotli|none;
    /// orc snappy|zlib|zstd|lz4|none; avro deflate|snappy|zstd|bzip2|xz|none; ipc lz4|zstd|none.
    #[arg(long, value_name = "CODEC")]
    pub compression: Option<String>,

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
    /// Resolves the output: file or stdout, format, codec.
    pub fn plan(&self, stdout_is_terminal: bool) -> Result<OutputPlan> {
        let to = self.to.as_deref();
        let tsv = to == Some("tsv");
        let explicit = to.map(str::parse::<Format>).transpose()?;
        let mut default_delimiter = if tsv { b'\t' } else { b',' };
        let (dest, format, name_codec) = match &self.output {
            Some(path) if path != "-" => {
                let location = etl::Location::parse(path)?;
                let remote = etl::store::spool::is_file_store(&location);
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
                let by_name = Format::from_path(&p);
                let format = match (explicit, by_name, self.split) {
                    (Some(f), _, _) => f,
                    (None, Some((f, _)), _) => f,
                    (None, None, Some(_)) => {
                        return Err(Error::usage("--split writes a folder: say the part format with --to FORMAT"))
                    }
                    (None, None, None) => {
                        return Err(Error::usage(format!(
                            "{}: cannot tell the output format from the name; add an extension (.csv, .parquet, ...) or --to FORMAT",
                            p.display()
                        )))
                    }
                };
                let codec = by_name.map(|(_, c)| c).filter(|c| *c != Codec::None);
                if !tsv && format == Format::Csv {
                    default_delimiter = etl::format::csv::delimiter_for(&p);
                }
                let dest = if remote {
                    etl::sink::Destination::Remote(path.clone())
                } else {
                    etl::sink::Destination::Path(p)
                };
                (dest, format, codec)
            }
            _ => match explicit {
                Some(f) => (etl::sink::Destination::Stdout, f, None),
                None if stdout_is_terminal => return Ok(OutputPlan::Preview),
                None => (etl::sink::Destination::Stdout, Format::IpcStream, None),
            },
        };
        let codec = match &self.compression {
            Some(c) => c.parse::<Codec>()?.check_for(format)?,
            None => match name_codec {
                Some(c) => c.check_for(format)?,
                None => Codec::allowed_for(format)[0],
            },
        };
        let mut options = WriteOptions::new(format);
        options.codec = codec;
        options.row_group_size = self.row_group_size;
        options.csv = CsvWriteOptions {
            delimiter: match &self.out_delimiter {
                Some(d) => one_char(d, "--out-delimiter")?,
                None => default_delimiter,
            },
            header: !self.no_out_header,
        };
        Ok(OutputPlan::Write(etl::sink::WriteRequest {
            dest,
            options,
            split: self.split,
            force: self.force,
        }))
    }
}

/// One byte from a flag value; `tab` and `\t` mean a tab.
pub fn one_char(value: &str, flag: &str) -> Result<u8> {
    match value {
        "tab" | "\\t" | "\t" => return Ok(b'\t'),
        "pipe" => return Ok(b'|'),
        "semicolon" => return Ok(b';'),
        "space" => return Ok(b' '),
        _ => {}
    }
    let bytes = value.as_bytes();
    if bytes.len() == 1 && bytes[0].is_ascii() {
        Ok(bytes[0])
    } else {
        Err(Error::usage(format!(
            "{flag} takes one ASCII character (or tab, pipe, semicolon, space), not '{value}'"
        )))
    }
}
