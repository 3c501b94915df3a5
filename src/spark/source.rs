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
    /// The columns and their types (Spark DDL), when known before reading.
    pub schema: Option<String>,
    /// Spark infers narrower types than etl (int, float): widen them after.
    pub widen: bool,
}

impl SparkRead {
    /// Reads with `schema` (Spark DDL) instead of inferring types; the
    /// header must name the same columns.
    pub fn with_schema(mut self, schema: String) -> SparkRead {
        self.options.insert("inferSchema".into(), "false".into());
        self.options.insert("enforceSchema".into(), "false".into());
        self.schema = Some(schema);
        self.widen = false;
        self
    }
}

/// How a stage's inputs reach Spark.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The cluster reads them itself.
    Spark(SparkRead),
    /// etl reads them here and sends the rows (`super::send`); why the
    /// cluster cannot read them.
    Sent(String),
}

/// How `inputs` reach Spark: read there, sent from here, or neither (why).
pub fn reading(
    inputs: &[Location],
    read: &ReadOptions,
    source_column: Option<&str>,
) -> Result<Reading, String> {
    match unreadable_there(inputs, read) {
        Some(why) => Ok(Reading::Sent(why)),
        None => spark_read(inputs, read, source_column).map(Reading::Spark),
    }
}

/// Why the cluster cannot read `inputs` though etl can, if so: a format
/// without a built-in Spark reader, a compression Hadoop does not read
/// everywhere, a location the cluster does not reach.
fn unreadable_there(inputs: &[Location], read: &ReadOptions) -> Option<String> {
    for l in inputs {
        let shown = crate::location::redact(&l.to_string());
        if let Location::Remote(r) = l {
            if r.scheme == Scheme::Sftp {
                return Some(format!("{shown}: the cluster does not read SFTP"));
            }
        }
        let name = match l {
            Location::Local(p) => p.to_string_lossy().into_owned(),
            Location::Glob(g) => g.clone(),
            Location::Remote(r) => r.url.path().to_string(),
            Location::Stdio => continue,
        };
        let (format, codec) = match Format::from_path(Path::new(&name)) {
            Some((f, c)) => (read.format.unwrap_or(f), c),
            None => match read.format {
                Some(f) => (f, Codec::None),
                None => continue,
            },
        };
        if matches!(
            format,
            Format::Avro | Format::Excel | Format::Ipc | Format::IpcStream
        ) {
            return Some(format!(
                "{} input: Spark has no built-in reader for it",
                format.name()
            ));
        }
        if !matches!(codec, Codec::None | Codec::Gzip | Codec::Bzip2) {
            return Some(format!(
                "{shown}: Spark reads only gzip and bzip2 compressed text"
            ));
        }
    }
    None
}

/// The size on disk of the local files among `inputs` (none when it is not
/// known here), for `--check`: inputs sent from here are limited.
pub fn local_size(inputs: &[Location]) -> Option<u64> {
    let mut total = None;
    for l in inputs
        .iter()
        .filter(|l| matches!(l, Location::Local(_) | Location::Glob(_)))
    {
        for file in crate::source::expand(l).ok()? {
            *total.get_or_insert(0) += std::fs::metadata(&file.path).ok()?.len();
        }
    }
    total
}

/// CSV read where this machine sees the files too: the column types as
/// etl infers them from the first rows (read here, the rest is not), given
/// to Spark as its schema. The types are then those of a local run, and
/// Spark does not scan the whole input once more to infer them. `None`
/// when the files are not here, or types are inferred from every row.
pub fn schema_here(
    spec: &SparkRead,
    inputs: &[Location],
    read: &ReadOptions,
) -> crate::error::Result<Option<String>> {
    let local = inputs
        .iter()
        .all(|l| matches!(l, Location::Local(p) if p.exists()) || matches!(l, Location::Glob(_)));
    let Some(rows) = read.infer_rows.filter(|_| spec.format == "csv" && local) else {
        return Ok(None);
    };
    let head = ReadOptions {
        row_limit: Some(rows),
        ..read.clone()
    };
    let schema = crate::source::open(inputs, &head, &Default::default())?.schema()?;
    let mut columns = Vec::new();
    for (name, dtype) in schema.iter() {
        match crate::ops::spark::spark_type_of(dtype) {
            Ok(t) => columns.push(format!("{} {t}", crate::ops::spark::ident(name))),
            // Spark infers such a column itself.
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(columns.join(", ")))
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
        schema: None,
        widen: matches!(format, Format::Csv | Format::Json | Format::Ndjson),
        paths,
    })
}

/// How a side table (join, union, `sql` with) named by `location` reaches Spark.
pub fn side_read(location: &str) -> Result<(Location, Reading), String> {
    let l = Location::parse(location).map_err(|e| e.message)?;
    let r = reading(std::slice::from_ref(&l), &ReadOptions::default(), None)?;
    Ok((l, r))
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
        assert!(spark_read(std::slice::from_ref(&x), &ReadOptions::default(), None).is_err());
        assert!(matches!(
            reading(&[x], &ReadOptions::default(), None),
            Ok(Reading::Sent(why)) if why.starts_with("excel input")
        ));
        let s3 = Location::parse("s3://b/k/x.parquet").unwrap();
        assert_eq!(server_path(&s3).unwrap(), "s3a://b/k/x.parquet");
    }
}
