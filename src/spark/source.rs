//! Where Spark reads and writes: etl locations as paths the server sees,
//! and etl's read options as Spark's data source options. What has no
//! Spark equivalent is refused with the reason (for `--check`).

use std::collections::HashMap;
use std::path::Path;

use crate::format::{Codec, Format, ReadOptions};
use crate::location::{Location, Scheme};

/// A path for the server: local paths made absolute (a server on this
/// machine, or one sharing the folder, sees them), object storage as
/// Spark's Hadoop connectors name it.
pub fn server_path(location: &Location) -> Result<String, String> {
    match location {
        Location::Local(p) => absolute(p),
        Location::Glob(g) => absolute(Path::new(g)),
        Location::Stdio => Err("standard input is not on the Spark server".into()),
        Location::Remote(r) => match r.scheme {
            Scheme::S3 => Ok(format!(
                "s3a://{}{}",
                r.url.host_str().unwrap_or_default(),
                r.url.path()
            )),
            Scheme::Gcs => Ok(format!(
                "gs://{}{}",
                r.url.host_str().unwrap_or_default(),
                r.url.path()
            )),
            Scheme::Azure if r.url.scheme().starts_with("abfs") => Ok(r.url.to_string()),
            Scheme::Azure => Err(
                "az:// locations: write them as abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH for Spark"
                    .into(),
            ),
            _ => Err(format!(
                "{}: Spark reads files, not this kind of location",
                crate::location::redact(r.url.as_str())
            )),
        },
    }
}

fn absolute(p: &Path) -> Result<String, String> {
    std::path::absolute(p)
        .map(|a| a.to_string_lossy().into_owned())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// A Spark data source: format, options and paths.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkRead {
    pub format: &'static str,
    pub options: HashMap<String, String>,
    pub paths: Vec<String>,
    /// Spark infers narrower types than etl (int, float): widen them after.
    pub widen: bool,
}

/// How Spark reads `inputs` as etl would with `read`, or why it cannot.
pub fn spark_read(
    inputs: &[Location],
    read: &ReadOptions,
    source_column: Option<&str>,
) -> Result<SparkRead, String> {
    if source_column.is_some() {
        return Err("add-source-column is not translated to Spark yet".into());
    }
    if read.schema.is_some() {
        return Err("read.schema is not translated to Spark yet (Spark needs every column)".into());
    }
    let mut format = read.format;
    let mut paths = Vec::new();
    for l in inputs {
        let shown = crate::location::redact(&l.to_string());
        let path = server_path(l)?;
        let (f, codec) = Format::from_path(Path::new(&path))
            .map(|(f, c)| (Some(f), c))
            .unwrap_or((None, Codec::None));
        if !matches!(codec, Codec::None | Codec::Gzip | Codec::Bzip2) {
            return Err(format!(
                "{shown}: Spark reads only gzip and bzip2 compressed text"
            ));
        }
        if format.is_none() {
            format = f;
        }
        paths.push(path);
    }
    let format = format.ok_or_else(|| {
        "the input format is not known from the file names: give read.format".to_string()
    })?;
    let mut options = HashMap::new();
    let mut set = |k: &str, v: String| {
        options.insert(k.to_string(), v);
    };
    let name = match format {
        Format::Parquet => "parquet",
        Format::Orc => "orc",
        Format::Ndjson => "json",
        Format::Json => {
            set("multiLine", "true".into());
            "json"
        }
        Format::Csv => {
            let csv = &read.csv;
            let ext_delimiter = paths
                .first()
                .and_then(|p| Path::new(p).extension())
                .and_then(|e| e.to_str())
                .map(|e| match e {
                    "tsv" | "tab" => b'\t',
                    "psv" => b'|',
                    _ => b',',
                });
            let delimiter = csv.delimiter.or(ext_delimiter).unwrap_or(b',');
            set("header", csv.has_header.to_string());
            set("sep", (delimiter as char).to_string());
            set("inferSchema", "true".into());
            // ISO dates as dates, as etl's parse-dates infers them.
            set("preferDate", "true".into());
            set("mode", "FAILFAST".into());
            match csv.quote {
                Some(q) => set("quote", (q as char).to_string()),
                None => set("quote", "\u{0}".into()),
            }
            // RFC 4180's doubled quotes, as etl reads them, unless an escape is given.
            set(
                "escape",
                (csv.escape.or(csv.quote).unwrap_or(b'"') as char).to_string(),
            );
            if let Some(c) = csv.comment {
                set("comment", (c as char).to_string());
            }
            match csv.null_values.as_slice() {
                [] => {}
                [one] => set("nullValue", one.clone()),
                _ => return Err("read.null-values: Spark takes one null text, not several".into()),
            }
            let enc = csv.encoding.to_ascii_lowercase();
            if !matches!(enc.as_str(), "utf-8" | "utf8" | "") {
                set("encoding", csv.encoding.clone());
            }
            if !csv.parse_dates {
                return Err("read.parse-dates = false is not translated to Spark yet".into());
            }
            "csv"
        }
        other => {
            return Err(format!(
                "{} input: Spark has no built-in reader for it",
                other.name()
            ))
        }
    };
    Ok(SparkRead {
        format: name,
        options,
        widen: matches!(format, Format::Csv | Format::Json | Format::Ndjson),
        paths,
    })
}

/// How Spark reads a side table (join, union, `sql` with) named by `location`.
pub fn side_read(location: &str) -> Result<SparkRead, String> {
    let l = Location::parse(location).map_err(|e| e.message)?;
    spark_read(&[l], &ReadOptions::default(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_options_follow_etl_defaults() {
        let l = Location::parse("data/in.tsv").unwrap();
        let r = spark_read(&[l], &ReadOptions::default(), None).unwrap();
        assert_eq!(r.format, "csv");
        assert_eq!(r.options["sep"], "\t");
        assert_eq!(r.options["escape"], "\"");
        assert!(r.paths[0].starts_with('/') && r.widen);
        let x = Location::parse("in.xlsx").unwrap();
        assert!(spark_read(&[x], &ReadOptions::default(), None).is_err());
        let s3 = Location::parse("s3://b/k/x.parquet").unwrap();
        assert_eq!(server_path(&s3).unwrap(), "s3a://b/k/x.parquet");
    }
}
