//! Where a table or file lives: one type for every path and URL a user can
//! write (`-`, `./x.csv`, `dir/`, `'landing/*.csv'`, `file://`, `s3://`, ...).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

mod redact;
pub use redact::redact;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `-`: standard input or output.
    Stdio,
    /// A local file or folder (`file://` URLs become this).
    Local(PathBuf),
    /// A local glob pattern such as `landing/*.csv`.
    Glob(String),
    /// A remote location: object storage, SFTP or a database.
    Remote(RemoteUrl),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    S3,
    Azure,
    Gcs,
    Sftp,
    Postgres,
    Mysql,
    Sqlite,
    /// Streams (src/stream/).
    Kafka,
    Mqtt,
    Nats,
    /// `topic://DIR`: a local folder standing in for a broker topic.
    TopicFolder,
    /// Persist-only services (src/sink/influx, src/sink/dynamodb).
    Influx,
    Influx2,
    DynamoDb,
}

impl Scheme {
    fn from_url_scheme(s: &str) -> Option<Scheme> {
        Some(match s {
            "s3" | "s3a" => Scheme::S3,
            "az" | "abfs" | "abfss" | "azure" => Scheme::Azure,
            "gs" | "gcs" => Scheme::Gcs,
            "sftp" | "ssh" => Scheme::Sftp,
            "postgres" | "postgresql" => Scheme::Postgres,
            "mysql" | "mariadb" => Scheme::Mysql,
            "sqlite" => Scheme::Sqlite,
            "kafka" => Scheme::Kafka,
            "mqtt" => Scheme::Mqtt,
            "nats" => Scheme::Nats,
            "topic" => Scheme::TopicFolder,
            "influxdb" => Scheme::Influx,
            "influxdb2" => Scheme::Influx2,
            "dynamodb" => Scheme::DynamoDb,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    pub scheme: Scheme,
    pub url: url::Url,
}

impl Location {
    pub fn parse(text: &str) -> Result<Location> {
        if text == "-" {
            return Ok(Location::Stdio);
        }
        if text.is_empty() {
            return Err(Error::usage(
                "empty location: give a path, a URL or - for stdin/stdout",
            ));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            if scheme.eq_ignore_ascii_case("file") {
                let url = url::Url::parse(text).map_err(|e| {
                    Error::usage(format!("{}: not a valid file:// URL ({e})", redact(text)))
                })?;
                let path = url.to_file_path().map_err(|_| {
                    Error::usage(format!("{}: not a local file:// URL", redact(text)))
                })?;
                return Ok(Self::local_or_glob(path.to_string_lossy().as_ref()));
            }
            let lower = scheme.to_ascii_lowercase();
            let Some(kind) = Scheme::from_url_scheme(&lower) else {
                return Err(Error::usage(format!(
                    "{}: unknown location scheme '{scheme}://' (known: file, s3, az, abfs, gs, sftp, postgres, mysql, sqlite, kafka, mqtt, nats, topic, influxdb, influxdb2, dynamodb)",
                    redact(text)
                )));
            };
            let text = &kafka_broker_list(kind, text);
            let url = url::Url::parse(text)
                .map_err(|e| Error::usage(format!("{}: not a valid URL ({e})", redact(text))))?;
            return Ok(Location::Remote(RemoteUrl { scheme: kind, url }));
        }
        Ok(Self::local_or_glob(text))
    }

    fn local_or_glob(text: &str) -> Location {
        if text.contains(['*', '?', '[']) && !Path::new(text).exists() {
            Location::Glob(text.to_string())
        } else {
            Location::Local(PathBuf::from(text))
        }
    }

    pub fn is_stdio(&self) -> bool {
        matches!(self, Location::Stdio)
    }

    /// A remote file store (s3://, az://, gs://, sftp://): tables there are
    /// read from downloaded copies and written by upload.
    pub fn is_file_store(&self) -> bool {
        matches!(self, Location::Remote(r) if matches!(r.scheme, Scheme::S3 | Scheme::Azure | Scheme::Gcs | Scheme::Sftp))
    }

    /// A message stream (kafka://, mqtt://, nats://, topic://).
    pub fn is_stream(&self) -> bool {
        matches!(self, Location::Remote(r) if matches!(r.scheme, Scheme::Kafka | Scheme::Mqtt | Scheme::Nats | Scheme::TopicFolder))
    }

    /// A database (postgres://, mysql://, sqlite://).
    pub fn is_database(&self) -> bool {
        matches!(self, Location::Remote(r) if matches!(r.scheme, Scheme::Postgres | Scheme::Mysql | Scheme::Sqlite))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Stdio => f.write_str("-"),
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Glob(g) => f.write_str(g),
            Location::Remote(r) => f.write_str(&redact(r.url.as_str())),
        }
    }
}

/// `kafka://b1:9092,b2:9092/topic` is not a URL: it becomes
/// `kafka://b1:9092/topic?bootstrap.servers=b1:9092,b2:9092`.
fn kafka_broker_list(kind: Scheme, text: &str) -> String {
    let (head, rest) = text.split_once("://").unwrap_or((text, ""));
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (user, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    if kind != Scheme::Kafka || !hosts.contains(',') {
        return text.to_string();
    }
    let first = hosts.split(',').next().unwrap_or_default();
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{head}://{user}{first}{path}{sep}bootstrap.servers={hosts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(Location::parse("-").unwrap(), Location::Stdio);
        assert_eq!(
            Location::parse("a/b.csv").unwrap(),
            Location::Local("a/b.csv".into())
        );
        assert_eq!(
            Location::parse("no/such/*.csv").unwrap(),
            Location::Glob("no/such/*.csv".into())
        );
        assert_eq!(
            Location::parse("file:///tmp/x.csv").unwrap(),
            Location::Local("/tmp/x.csv".into())
        );
        match Location::parse("s3://bucket/key.parquet").unwrap() {
            Location::Remote(r) => assert_eq!(r.scheme, Scheme::S3),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn kafka_broker_lists_go_to_the_query() {
        let loc = Location::parse("kafka://a:9092,b:9093/water?group=g").unwrap();
        assert_eq!(
            loc.to_string(),
            "kafka://a:9092/water?group=g&bootstrap.servers=a:9092,b:9093"
        );
    }

    #[test]
    fn unknown_scheme_is_a_usage_error() {
        let e = Location::parse("ftp://host/x").unwrap_err();
        assert!(
            e.message.contains("unknown location scheme 'ftp://'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn passwords_never_show() {
        let loc = Location::parse("postgres://etl:s3cret@localhost/db").unwrap();
        let shown = loc.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("etl:***@localhost"), "{shown}");
    }
}
