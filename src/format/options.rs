//! Read and write options, as users write them: one serde spec each,
//! shared by the command line (whose flags fill a spec) and pipeline files
//! (`read = {…}`, `extract = {…}`), resolved by one function with one set
//! of error messages into the options the readers and writers take.

use std::path::Path;

use serde::Deserialize;

use super::csv::{CsvReadOptions, CsvWriteOptions, DEFAULT_INFER_ROWS};
use super::{Codec, Format, Reader};
use crate::error::{Error, Result};

/// A format as users name it in `--from`, `--to` and pipeline files. `tsv`
/// is CSV with a tab delimiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FormatName {
    Csv,
    Tsv,
    #[value(alias = "pq")]
    #[serde(alias = "pq")]
    Parquet,
    Orc,
    Avro,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    #[value(alias = "jsonl")]
    #[serde(alias = "jsonl")]
    Ndjson,
    /// xlsx (write); xlsx, xlsm, xls, xlsb, ods (read).
    #[value(alias = "xlsx")]
    #[serde(alias = "xlsx")]
    Excel,
    /// Arrow IPC file.
    #[value(alias = "arrow", alias = "feather")]
    #[serde(alias = "arrow", alias = "feather")]
    Ipc,
    /// Arrow IPC stream (what etl writes into pipes).
    #[value(alias = "ipc-stream")]
    #[serde(alias = "ipc-stream")]
    Arrows,
}

impl FormatName {
    pub fn format(self) -> Format {
        match self {
            FormatName::Csv | FormatName::Tsv => Format::Csv,
            FormatName::Parquet => Format::Parquet,
            FormatName::Orc => Format::Orc,
            FormatName::Avro => Format::Avro,
            FormatName::Json => Format::Json,
            FormatName::Ndjson => Format::Ndjson,
            FormatName::Excel => Format::Excel,
            FormatName::Ipc => Format::Ipc,
            FormatName::Arrows => Format::IpcStream,
        }
    }
}

/// How to read inputs; every field has a sensible default (the same as
/// the command line's).
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Forces the input format instead of detecting it.
    pub format: Option<Format>,
    pub csv: CsvReadOptions,
    /// Excel: the sheet to read (name or 0-based index); the first by default.
    pub sheet: Option<String>,
    /// Column types given by the user (CSV, JSON): `col:type,...`.
    pub schema: Option<polars::prelude::Schema>,
    /// Rows used to infer column types; `None` reads the whole input.
    pub infer_rows: Option<usize>,
    /// Only this many rows will be used: readers may stop early.
    pub row_limit: Option<usize>,
    /// How local files are read (set by the step from its ops).
    pub reader: Reader,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            csv: CsvReadOptions::default(),
            sheet: None,
            schema: None,
            infer_rows: Some(DEFAULT_INFER_ROWS),
            row_limit: None,
            reader: Reader::default(),
        }
    }
}

/// How to read inputs, as written: `etl ingest` flags or a pipeline
/// stage's `read = { … }` (same names, positive where a flag says `--no-`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReadSpec {
    /// The input format instead of detecting it (`--from`).
    #[serde(alias = "from")]
    pub format: Option<FormatName>,
    /// CSV: the first row names the columns (`--no-header` sets false).
    pub header: Option<bool>,
    pub delimiter: Option<String>,
    pub quote: Option<String>,
    /// CSV: fields are never quoted.
    #[serde(default)]
    pub no_quote: bool,
    pub escape: Option<String>,
    pub comment: Option<String>,
    #[serde(default, alias = "null")]
    pub null_values: Vec<String>,
    pub encoding: Option<String>,
    /// `id:int,born:date`, or a file with one `name:type` per line.
    pub schema: Option<String>,
    /// Rows read to infer types; 0 reads every row.
    pub infer_rows: Option<usize>,
    /// CSV: parse ISO-looking text as dates (`--no-parse-dates` sets false).
    pub parse_dates: Option<bool>,
    pub sheet: Option<String>,
}

impl ReadSpec {
    /// The reader options; `name` spells an option for messages (`--quote`
    /// on the command line, `read.quote` in a pipeline file).
    pub fn resolve(&self, name: &dyn Fn(&str) -> String) -> Result<ReadOptions> {
        let char_of = |key: &str, v: &Option<String>| -> Result<Option<u8>> {
            v.as_deref().map(|t| one_char(t, &name(key))).transpose()
        };
        let mut delimiter = char_of("delimiter", &self.delimiter)?;
        if delimiter.is_none() && self.format == Some(FormatName::Tsv) {
            delimiter = Some(b'\t');
        }
        let quote = if self.no_quote {
            if self.quote.is_some() {
                return Err(Error::usage(format!(
                    "{} and {} contradict each other: give one",
                    name("quote"),
                    name("no-quote")
                )));
            }
            None
        } else {
            Some(char_of("quote", &self.quote)?.unwrap_or(b'"'))
        };
        let encoding = self.encoding.clone().unwrap_or_else(|| "utf-8".into());
        super::text_input::encoding(&encoding)?;
        let csv = CsvReadOptions {
            has_header: self.header.unwrap_or(true),
            delimiter,
            quote,
            escape: char_of("escape", &self.escape)?,
            comment: char_of("comment", &self.comment)?,
            null_values: self.null_values.clone(),
            encoding,
            parse_dates: self.parse_dates.unwrap_or(true),
        };
        let infer_rows = self.infer_rows.unwrap_or(DEFAULT_INFER_ROWS);
        Ok(ReadOptions {
            format: self.format.map(FormatName::format),
            csv,
            sheet: self.sheet.clone(),
            schema: self
                .schema
                .as_deref()
                .map(crate::dtype::parse_schema)
                .transpose()?,
            infer_rows: (infer_rows > 0).then_some(infer_rows),
            row_limit: None,
            reader: Reader::default(),
        })
    }
}

/// How to write an output.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub format: Format,
    pub codec: Codec,
    /// Parquet: rows per row group.
    pub row_group_size: Option<usize>,
    pub csv: CsvWriteOptions,
}

impl WriteOptions {
    pub fn new(format: Format) -> Self {
        WriteOptions {
            format,
            codec: Codec::allowed_for(format)[0],
            row_group_size: None,
            csv: CsvWriteOptions::default(),
        }
    }
}

/// How to write an output, as written: `-o`/`--to` flags or a pipeline
/// `extract = { … }`. Format and codec default to what the output's name
/// says (`report.csv.gz`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WriteSpec {
    #[serde(alias = "to")]
    pub format: Option<FormatName>,
    pub compression: Option<Codec>,
    /// Parquet: rows per row group.
    pub row_group_size: Option<usize>,
    /// CSV: field delimiter.
    pub delimiter: Option<String>,
    /// CSV: write a header line (`--no-out-header` sets false).
    pub header: Option<bool>,
}

impl WriteSpec {
    /// The writer options for an output named `name` (a file or folder;
    /// `None` for stdout). `name` spells an option for messages.
    pub fn resolve(
        &self,
        output: Option<&Path>,
        name: &dyn Fn(&str) -> String,
    ) -> Result<WriteOptions> {
        let by_name = output.and_then(Format::from_path);
        let format = match (self.format, by_name) {
            (Some(f), _) => f.format(),
            (None, Some((f, _))) => f,
            (None, None) => {
                return Err(Error::usage(match output {
                    Some(p) => format!(
                        "{}: cannot tell the output format from the name; add an extension (.csv, .parquet, ...) or {}",
                        p.display(),
                        name("format")
                    ),
                    None => format!("give the output format with {}", name("format")),
                }))
            }
        };
        let name_codec = by_name.map(|(_, c)| c).filter(|c| *c != Codec::None);
        let codec = match self.compression.or(name_codec) {
            Some(c) => c.check_for(format)?,
            None => Codec::allowed_for(format)[0],
        };
        let default_delimiter = match (self.format, output) {
            (Some(FormatName::Tsv), _) => b'\t',
            (_, Some(p)) if format == Format::Csv => super::csv::delimiter_for(p),
            _ => b',',
        };
        let delimiter = match &self.delimiter {
            Some(d) => one_char(d, &name("delimiter"))?,
            None => default_delimiter,
        };
        let mut options = WriteOptions::new(format);
        options.codec = codec;
        options.row_group_size = self.row_group_size;
        options.csv = CsvWriteOptions {
            delimiter,
            header: self.header.unwrap_or(true),
        };
        Ok(options)
    }
}

/// One byte from an option's value; `tab` and `\t` mean a tab.
pub fn one_char(value: &str, option: &str) -> Result<u8> {
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
            "{option} takes one ASCII character (or tab, pipe, semicolon, space), not '{value}'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(k: &str) -> String {
        format!("--{k}")
    }

    #[test]
    fn a_pipeline_read_table_and_flags_resolve_alike() {
        let spec: ReadSpec = toml::from_str(
            "from = 'tsv'\nheader = false\nquote = \"'\"\nescape = '\\'\ncomment = '#'\nnull = ['NA']\nencoding = 'latin1'\nschema = 'id:int'\ninfer-rows = 0\nparse-dates = false\nsheet = 'x'",
        )
        .unwrap();
        let o = spec.resolve(&flag).unwrap();
        assert_eq!(o.format, Some(Format::Csv));
        assert_eq!(o.csv.delimiter, Some(b'\t'));
        assert!(!o.csv.has_header && !o.csv.parse_dates);
        assert_eq!(
            (o.csv.quote, o.csv.escape, o.csv.comment),
            (Some(b'\''), Some(b'\\'), Some(b'#'))
        );
        assert_eq!(o.csv.null_values, ["NA"]);
        assert_eq!(o.infer_rows, None);
        assert!(o.schema.is_some());
        let e = ReadSpec {
            delimiter: Some("ab".into()),
            ..ReadSpec::default()
        }
        .resolve(&|k| format!("read.{k}"))
        .unwrap_err();
        assert!(
            e.message
                .starts_with("read.delimiter takes one ASCII character"),
            "{}",
            e.message
        );
        assert!(toml::from_str::<ReadSpec>("delimeter = ';'").is_err());
    }

    #[test]
    fn write_specs_take_format_and_codec_from_the_name() {
        let o = WriteSpec::default()
            .resolve(Some(Path::new("out/report.csv.bz2")), &flag)
            .unwrap();
        assert_eq!((o.format, o.codec), (Format::Csv, Codec::Bzip2));
        let spec: WriteSpec = toml::from_str("format = 'orc'\ncompression = 'snappy'").unwrap();
        let o = spec.resolve(Some(Path::new("x/")), &flag).unwrap();
        assert_eq!((o.format, o.codec), (Format::Orc, Codec::Snappy));
        let e = WriteSpec::default()
            .resolve(Some(Path::new("x.unknownext")), &flag)
            .unwrap_err();
        assert!(
            e.message.contains("cannot tell the output format"),
            "{}",
            e.message
        );
    }
}
