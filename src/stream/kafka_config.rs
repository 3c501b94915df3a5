//! librdkafka client settings from a `kafka://` URL and the stream options:
//! brokers, SASL (PLAIN, SCRAM-SHA-256/512) with the URL's user, TLS with
//! the system's CAs or a given CA file, client certificates, then the
//! user's own librdkafka properties. Secrets come from the URL or the
//! environment and never reach a message.

use std::path::Path;
use std::sync::Mutex;

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;

use super::options::{KafkaSecurity, SaslMechanism, StreamOptions};
use super::shown;
use crate::error::{Error, Result};
use crate::location::RemoteUrl;

/// The password of `kafka://USER@host/topic` when the URL has none.
pub const PASSWORD_VAR: &str = "ETL_KAFKA_PASSWORD";
/// The passphrase of an encrypted `tls-key`.
pub const KEY_PASSWORD_VAR: &str = "ETL_KAFKA_KEY_PASSWORD";

/// Client settings from the URL: brokers (`kafka://b1:9092,b2:9092/topic`),
/// SASL credentials from its user and password, TLS, then the query's
/// client properties (which win).
pub fn config(url: &RemoteUrl, opts: &StreamOptions) -> Result<ClientConfig> {
    let text = url.url.as_str();
    let authority = text
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    let hosts = authority.rsplit('@').next().unwrap_or_default();
    if hosts.is_empty() {
        return Err(Error::usage(format!(
            "{}: no broker: write kafka://HOST:PORT[,HOST:PORT]/TOPIC",
            shown(url)
        )));
    }
    let servers: Vec<String> = hosts
        .split(',')
        .map(|h| {
            if h.contains(':') {
                h.to_string()
            } else {
                format!("{h}:9092")
            }
        })
        .collect();
    let mut c = ClientConfig::new();
    // Connection setup gives up before a metadata request does (10 s), so
    // that its reason (e.g. a TLS handshake that never finishes) is logged
    // by then; warnings are where librdkafka says why a connection failed.
    c.set("bootstrap.servers", servers.join(","))
        .set("socket.connection.setup.timeout.ms", "8000")
        .set("client.id", "etl")
        .set_log_level(RDKafkaLogLevel::Warning);
    security(&mut c, url, &opts.security)?;
    for (k, v) in &opts.properties {
        c.set(k, v);
    }
    Ok(c)
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Sets security.protocol, sasl.* and ssl.* from the URL's user and the
/// security options; checks the files before any connection.
fn security(c: &mut ClientConfig, url: &RemoteUrl, s: &KafkaSecurity) -> Result<()> {
    let shown = shown(url);
    let user = decode(url.url.username());
    let sasl = match (user.is_empty(), s.sasl_mechanism) {
        (true, None) => None,
        (true, Some(m)) => {
            return Err(Error::usage(format!(
                "{shown}: sasl-mechanism={} needs a user: write kafka://USER@HOST/TOPIC (password in the URL or {PASSWORD_VAR})",
                m.name()
            )))
        }
        (false, m) => Some(m.unwrap_or(SaslMechanism::Plain)),
    };
    let tls = s.tls || s.tls_ca.is_some() || s.tls_cert.is_some() || s.tls_key.is_some();
    if !s.tls_verify && !tls {
        return Err(Error::usage(format!(
            "{shown}: tls-verify=false without TLS (add tls=true)"
        )));
    }
    let protocol = match (sasl.is_some(), tls) {
        (false, false) => "PLAINTEXT",
        (false, true) => "SSL",
        (true, false) => "SASL_PLAINTEXT",
        (true, true) => "SASL_SSL",
    };
    c.set("security.protocol", protocol);
    if let Some(m) = sasl {
        let password = match url.url.password() {
            Some(p) => decode(p),
            None => std::env::var(PASSWORD_VAR).map_err(|_| {
                Error::usage(format!(
                    "{shown}: no password for Kafka user '{user}': put it in the URL (kafka://USER:PASSWORD@HOST/TOPIC) or in {PASSWORD_VAR}"
                ))
            })?,
        };
        c.set("sasl.mechanism", m.name())
            .set("sasl.username", &user)
            .set("sasl.password", password);
    }
    if tls {
        if let Some(ca) = &s.tls_ca {
            c.set("ssl.ca.location", readable(ca, "tls-ca", &shown)?);
        }
        match (&s.tls_cert, &s.tls_key) {
            (Some(cert), Some(key)) => {
                c.set(
                    "ssl.certificate.location",
                    readable(cert, "tls-cert", &shown)?,
                )
                .set("ssl.key.location", readable(key, "tls-key", &shown)?);
                if let Ok(p) = std::env::var(KEY_PASSWORD_VAR) {
                    c.set("ssl.key.password", p);
                }
            }
            (None, None) => {}
            _ => {
                return Err(Error::usage(format!(
                    "{shown}: a client certificate needs both tls-cert and tls-key"
                )))
            }
        }
        let (verify, identify) = if s.tls_verify {
            ("true", "https")
        } else {
            ("false", "none")
        };
        c.set("enable.ssl.certificate.verification", verify)
            .set("ssl.endpoint.identification.algorithm", identify);
    }
    Ok(())
}

/// The file's path as text, once it is known to be a readable file.
fn readable(path: &Path, option: &str, shown: &str) -> Result<String> {
    let problem = match std::fs::File::open(path) {
        Ok(f) => match f.metadata() {
            Ok(m) if m.is_file() => None,
            Ok(_) => Some("not a file".to_string()),
            Err(e) => Some(crate::error::io_message(&e)),
        },
        Err(e) => Some(crate::error::io_message(&e)),
    };
    match problem {
        None => Ok(path.display().to_string()),
        Some(p) => Err(Error::usage(format!(
            "{shown}: {option} {}: cannot read it ({p})",
            path.display()
        ))),
    }
}

/// Why librdkafka failed, as it said on its own: the first connection
/// failure it logged (facility FAIL: a failed TLS handshake, a refused SASL
/// login), else its last error (such as "all brokers are down").
#[derive(Default)]
pub struct LastError(Mutex<(Option<String>, Option<String>)>);

impl LastError {
    pub fn record(&self, error: &KafkaError, reason: &str) {
        if let Ok(mut last) = self.0.lock() {
            last.1 = Some(if reason.is_empty() {
                error.to_string()
            } else {
                reason.to_string()
            });
        }
    }

    pub fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if (level as i32) <= RDKafkaLogLevel::Warning as i32 && facility == "FAIL" {
            if let Ok(mut last) = self.0.lock() {
                last.0.get_or_insert_with(|| message.to_string());
            }
        }
    }

    /// `what (error; broker said: reason)`, secrets hidden.
    pub fn explain(&self, url: &RemoteUrl, what: &str, e: &KafkaError) -> Error {
        let last = self
            .0
            .lock()
            .ok()
            .and_then(|l| l.0.clone().or_else(|| l.1.clone()));
        let detail = match last {
            Some(r) if !r.is_empty() => format!("{e}; {r}"),
            _ => e.to_string(),
        };
        Error::io(format!(
            "{}: {what} ({})",
            shown(url),
            crate::location::redact(&detail)
        ))
    }
}

/// A consumer's context: librdkafka's errors kept for the messages.
#[derive(Default)]
pub struct ConsumerErrors(pub LastError);

impl rdkafka::ClientContext for ConsumerErrors {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0.record(&error, reason);
    }
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.0.log(level, facility, message);
    }
}

impl rdkafka::consumer::ConsumerContext for ConsumerErrors {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;

    fn url(text: &str) -> RemoteUrl {
        match Location::parse(text).unwrap() {
            Location::Remote(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn settings(text: &str) -> Result<ClientConfig> {
        let u = url(text);
        config(&u, &StreamOptions::from_url(&u)?)
    }

    #[test]
    fn security_protocol_follows_user_and_tls() {
        let c = settings("kafka://b1/t").unwrap();
        assert_eq!(c.get("bootstrap.servers"), Some("b1:9092"));
        assert_eq!(c.get("security.protocol"), Some("PLAINTEXT"));
        let c = settings("kafka://etl:p%40ss@b/t?sasl-mechanism=scram-sha-512").unwrap();
        assert_eq!(c.get("security.protocol"), Some("SASL_PLAINTEXT"));
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("sasl.password"), Some("p@ss"));
        let c = settings("kafka://etl:x@b/t?tls=true").unwrap();
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(c.get("enable.ssl.certificate.verification"), Some("true"));
        assert_eq!(
            c.get("ssl.endpoint.identification.algorithm"),
            Some("https")
        );
        let c = settings("kafka://b/t?tls=true&tls-verify=false").unwrap();
        assert_eq!(c.get("security.protocol"), Some("SSL"));
        assert_eq!(c.get("enable.ssl.certificate.verification"), Some("false"));
    }

    #[test]
    fn security_mistakes_are_usage_errors() {
        let e = settings("kafka://b/t?sasl-mechanism=SCRAM-SHA-256").unwrap_err();
        assert!(e.message.contains("needs a user"), "{}", e.message);
        let e = settings("kafka://b/t?sasl-mechanism=GSSAPI").unwrap_err();
        assert!(
            e.message.contains("unknown SASL mechanism"),
            "{}",
            e.message
        );
        let e = settings("kafka://b/t?tls-verify=false").unwrap_err();
        assert!(e.message.contains("without TLS"), "{}", e.message);
        let e = settings("kafka://b/t?tls-ca=/no/such/ca.pem").unwrap_err();
        assert!(
            e.message.contains("tls-ca /no/such/ca.pem"),
            "{}",
            e.message
        );
        let e = settings("kafka://b/t?tls-cert=Cargo.toml").unwrap_err();
        assert!(
            e.message.contains("both tls-cert and tls-key"),
            "{}",
            e.message
        );
    }
}
