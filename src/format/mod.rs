//! Table formats: detection, options, and one module per format with its
//! reader and writer side by side.

pub mod arrow_rs;
pub mod avro;
pub mod csv;
pub mod csv_scan;
pub mod excel;
pub mod ipc;
pub mod json;
pub mod json_array;
pub mod json_depth;
mod options;
pub mod orc;
mod orc_maps;
pub mod parquet;
pub mod sniff;
pub mod temporal;
pub mod text_input;

use std::fmt;
use std::path::Path;

use polars::prelude::{DataFrame, SchemaRef};

use crate::error::{Error, Result};

pub use options::{one_char, FormatName, ReadOptions, ReadSpec, WriteOptions, WriteSpec};

/// How polars reads a local file, chosen per query by whoever builds it
/// (the step runner knows its ops before it opens its inputs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reader {
    /// Async prefetching reads: resident memory stays bounded. Measured here
    /// (scripts/bench_*.py) it is also faster for Parquet, and about as fast
    /// for CSV in streaming conversions.
    #[default]
    Streaming,
    /// Memory maps: mapped pages count as resident memory, but a query that
    /// holds the whole table anyway (windows, joins, sorts) parses CSV much
    /// faster this way (7.8 s against 13.0 s on the 10M-row healthcare clean).
    Mapped,
}

/// The path to hand a polars scan for `reader`. polars reads `file://`
/// URLs with its async reader and plain paths with memory maps, so the
/// choice travels with the query instead of a process-wide switch.
pub fn scan_path(path: &Path, reader: Reader) -> polars::prelude::PlRefPath {
    use polars::prelude::PlRefPath;
    match (reader, std::path::absolute(path)) {
        (Reader::Streaming, Ok(abs)) => {
            // polars decodes %XX in file:// paths: keep a literal % as it is.
            let text = abs.to_string_lossy().replace('%', "%25");
            PlRefPath::new(format!("file://{text}").as_str())
        }
        _ => PlRefPath::new(path.to_string_lossy().as_ref()),
    }
}

/// Batches of one schema, produced as they are read (a pipe, ORC, a
/// database cursor).
pub struct BatchStream {
    pub schema: SchemaRef,
    pub batches: Box<dyn Iterator<Item = Result<DataFrame>> + Send>,
}

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

/// A compression codec, either of a whole text file (`.csv.gz`) or inside a
/// binary format (Parquet pages, ORC stripes, Avro blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Codec {
    #[value(alias = "uncompressed")]
    #[serde(alias = "uncompressed")]
    None,
    #[value(alias = "gz")]
    #[serde(alias = "gz")]
    Gzip,
    #[value(alias = "zst")]
    #[serde(alias = "zst")]
    Zstd,
    #[value(alias = "bz2")]
    #[serde(alias = "bz2")]
    Bzip2,
    #[value(alias = "lzma")]
    #[serde(alias = "lzma")]
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
    fn names_users_write_parse_as_flags_and_in_files() {
        use clap::ValueEnum;
        assert_eq!(Codec::from_str("bz2", true), Ok(Codec::Bzip2));
        assert_eq!(FormatName::from_str("jsonl", true), Ok(FormatName::Ndjson));
        assert_eq!(FormatName::Tsv.format(), Format::Csv);
        let c: Codec = serde_json::from_str("\"uncompressed\"").unwrap();
        assert_eq!(c, Codec::None);
        assert!(serde_json::from_str::<FormatName>("\"xml\"").is_err());
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
}
