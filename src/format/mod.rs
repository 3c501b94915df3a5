//! Table formats: detection, options, and one module per format with its
//! reader and writer side by side.

pub mod arrow_rs;
pub mod avro;
pub mod csv;
pub mod csv_scan;
pub mod excel;
pub mod ipc;
pub mod json;
pub mod orc;
pub mod parquet;
pub mod sniff;
pub mod temporal;
pub mod text_input;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A table format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Parquet,
    Orc,
    Avro,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// xlsx, xlsm, xls, xlsb, ods (read); xlsx (write).
    Excel,
    /// Arrow IPC file (random access, with footer).
    Ipc,
    /// Arrow IPC stream (what etl writes between pipes).
    IpcStream,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &[
        "csv", "tsv", "parquet", "orc", "avro", "json", "ndjson", "excel", "xlsx", "ipc", "arrow",
        "arrows",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Orc => "orc",
            Format::Avro => "avro",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Excel => "excel",
            Format::Ipc => "ipc",
            Format::IpcStream => "ipc-stream",
        }
    }

    /// The usual file extension for this format when etl names files itself.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Orc => "orc",
            Format::Avro => "avro",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Excel => "xlsx",
            Format::Ipc => "arrow",
            Format::IpcStream => "arrows",
        }
    }

    /// Format and compression named by a file's extensions (`x.csv.gz`).
    pub fn from_path(path: &Path) -> Option<(Format, Codec)> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let (stem, codec) = strip_codec_extension(&name);
        let ext = Path::new(stem).extension()?.to_str()?;
        let format = match ext {
            "csv" | "tsv" | "tab" | "txt" | "psv" => Format::Csv,
            "parquet" | "pq" => Format::Parquet,
            "orc" => Format::Orc,
            "avro" => Format::Avro,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => Format::Excel,
            "arrow" | "ipc" | "feather" => Format::Ipc,
            "arrows" => Format::IpcStream,
            _ => return None,
        };
        Some((format, codec))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "text" => Format::Csv,
            "parquet" | "pq" => Format::Parquet,
            "orc" => Format::Orc,
            "avro" => Format::Avro,
            "json" => Format::Json,
            "ndjson" | "jsonl" | "jsonlines" => Format::Ndjson,
            "excel" | "xlsx" | "xls" | "xlsm" | "xlsb" | "ods" => Format::Excel,
            "ipc" | "arrow" | "feather" => Format::Ipc,
            "arrows" | "ipc-stream" | "arrow-stream" => Format::IpcStream,
            other => {
                return Err(Error::usage(format!(
                    "unknown format '{other}' (known: {})",
                    Format::NAMES.join(", ")
                )))
            }
        })
    }
}

/// A compression codec, either of a whole text file (`.csv.gz`) or inside a
/// binary format (Parquet pages, ORC stripes, Avro blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
    Snappy,
    Lz4,
    Zlib,
    Deflate,
    Brotli,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zlib => "zlib",
            Codec::Deflate => "deflate",
            Codec::Brotli => "brotli",
        }
    }

    /// The extension etl appends for a compressed text file.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Codec::Gzip => ".gz",
            Codec::Zstd => ".zst",
            Codec::Bzip2 => ".bz2",
            Codec::Xz => ".xz",
            _ => "",
        }
    }

    /// The codecs each output format can write; the first is the default.
    pub fn allowed_for(format: Format) -> &'static [Codec] {
        match format {
            Format::Csv | Format::Ndjson | Format::Json => &[
                Codec::None,
                Codec::Gzip,
                Codec::Zstd,
                Codec::Bzip2,
                Codec::Xz,
            ],
            Format::Parquet => &[
                Codec::Snappy,
                Codec::Zstd,
                Codec::Gzip,
                Codec::Lz4,
                Codec::Brotli,
                Codec::None,
            ],
            Format::Orc => &[
                Codec::Snappy,
                Codec::Zlib,
                Codec::Zstd,
                Codec::Lz4,
                Codec::None,
            ],
            Format::Avro => &[
                Codec::None,
                Codec::Deflate,
                Codec::Snappy,
                Codec::Zstd,
                Codec::Bzip2,
                Codec::Xz,
            ],
            Format::Ipc | Format::IpcStream => &[Codec::None, Codec::Lz4, Codec::Zstd],
            Format::Excel => &[Codec::None],
        }
    }

    /// Checks that `format` can write this codec, with a message listing what it can.
    pub fn check_for(self, format: Format) -> Result<Codec> {
        let allowed = Codec::allowed_for(format);
        if allowed.contains(&self) {
            return Ok(self);
        }
        let names: Vec<&str> = allowed.iter().map(|c| c.name()).collect();
        Err(Error::usage(format!(
            "{format} output cannot use --compression {}: choose one of {}",
            self.name(),
            names.join(", ")
        )))
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Codec> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" | "uncompressed" | "null" => Codec::None,
            "gzip" | "gz" => Codec::Gzip,
            "zstd" | "zst" => Codec::Zstd,
            "bzip2" | "bz2" => Codec::Bzip2,
            "xz" | "lzma" => Codec::Xz,
            "snappy" => Codec::Snappy,
            "lz4" => Codec::Lz4,
            "zlib" => Codec::Zlib,
            "deflate" => Codec::Deflate,
            "brotli" => Codec::Brotli,
            other => {
                return Err(Error::usage(format!(
                    "unknown compression '{other}' (known: none, gzip, zstd, bzip2, xz, snappy, lz4, zlib, deflate, brotli)"
                )))
            }
        })
    }
}

/// Splits a whole-file compression suffix off a lower-case file name.
pub fn strip_codec_extension(name: &str) -> (&str, Codec) {
    for (suffix, codec) in [
        (".gz", Codec::Gzip),
        (".zst", Codec::Zstd),
        (".bz2", Codec::Bzip2),
        (".xz", Codec::Xz),
    ] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return (stem, codec);
        }
    }
    (name, Codec::None)
}

/// How to read inputs; every field has a sensible default (the same as
/// the command line's).
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Forces the input format instead of detecting it.
    pub format: Option<Format>,
    pub csv: csv::CsvReadOptions,
    /// Excel: the sheet to read (name or 0-based index); the first by default.
    pub sheet: Option<String>,
    /// Column types given by the user (CSV, JSON): `col:type,...`.
    pub schema: Option<polars::prelude::Schema>,
    /// Rows used to infer column types; `None` reads the whole input.
    pub infer_rows: Option<usize>,
    /// Only this many rows will be used: readers may stop early.
    pub row_limit: Option<usize>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            csv: csv::CsvReadOptions::default(),
            sheet: None,
            schema: None,
            infer_rows: Some(csv::DEFAULT_INFER_ROWS),
            row_limit: None,
        }
    }
}

/// How to write an output.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub format: Format,
    pub codec: Codec,
    /// Parquet: rows per row group.
    pub row_group_size: Option<usize>,
    pub csv: csv::CsvWriteOptions,
}

impl WriteOptions {
    pub fn new(format: Format) -> Self {
        WriteOptions {
            format,
            codec: Codec::allowed_for(format)[0],
            row_group_size: None,
            csv: csv::CsvWriteOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_gives_format_and_codec() {
        assert_eq!(
            Format::from_path(Path::new("a/B.CSV.GZ")),
            Some((Format::Csv, Codec::Gzip))
        );
        assert_eq!(
            Format::from_path(Path::new("x.parquet")),
            Some((Format::Parquet, Codec::None))
        );
        assert_eq!(
            Format::from_path(Path::new("x.xlsm")),
            Some((Format::Excel, Codec::None))
        );
        assert_eq!(Format::from_path(Path::new("x")), None);
    }

    #[test]
    fn codec_checked_against_format() {
        assert!(Codec::Bzip2.check_for(Format::Csv).is_ok());
        let e = Codec::Bzip2.check_for(Format::Parquet).unwrap_err();
        assert!(
            e.message.contains("choose one of snappy, zstd"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_format_lists_known_ones() {
        let e = "xml".parse::<Format>().unwrap_err();
        assert!(e.message.contains("unknown format 'xml'") && e.message.contains("parquet"));
    }
}
