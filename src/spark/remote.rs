//! The Spark Connect URL: `sc://HOST[:PORT][/;key=value;...]`, as Spark's own
//! clients read it. Known keys: `token` (sent as a bearer token, never
//! shown), `use_ssl`, `user_id`, `user_agent`, `session_id`; any other key
//! is sent as a gRPC header (how managed services pick a cluster, e.g.
//! `x-databricks-cluster-id`).

use crate::error::{Error, Result};

/// The default port of Spark Connect.
pub const DEFAULT_PORT: u16 = 15002;

#[derive(Clone)]
pub struct Remote {
    pub host: String,
    pub port: u16,
    pub use_ssl: bool,
    pub token: Option<String>,
    pub user_id: String,
    pub user_agent: Option<String>,
    pub session_id: Option<String>,
    /// Other `;key=value` pairs, sent as headers.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Remote {
    pub fn parse(url: &str) -> Result<Remote> {
        let bad = |why: &str| {
            Error::usage(format!(
                "Spark remote '{}': {why} (write sc://HOST:PORT, e.g. sc://localhost:15002)",
                shown_text(url)
            ))
        };
        let rest = url
            .strip_prefix("sc://")
            .ok_or_else(|| bad("not an sc:// URL"))?;
        let (authority, params) = match rest.find(['/', ';']) {
            Some(i) => (&rest[..i], rest[i..].trim_start_matches('/')),
            None => (rest, ""),
        };
        let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port_text {
            Some(p) => p.parse::<u16>().map_err(|_| bad("bad port"))?,
            None => DEFAULT_PORT,
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let mut remote = Remote {
            host: host.to_string(),
            port,
            use_ssl: false,
            token: None,
            user_id: std::env::var("USER").unwrap_or_else(|_| "etl".into()),
            user_agent: None,
            session_id: None,
            headers: Vec::new(),
        };
        for pair in params.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad("parameters are ;key=value"))?;
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned();
            match key {
                "token" => remote.token = Some(value),
                "use_ssl" => {
                    remote.use_ssl = match value.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(bad("use_ssl is true or false")),
                    }
                }
                "user_id" => remote.user_id = value,
                "user_agent" => remote.user_agent = Some(value),
                "session_id" => remote.session_id = Some(value),
                other => remote.headers.push((other.to_ascii_lowercase(), value)),
            }
        }
        // As in Spark's clients, a token means TLS: it is never sent in clear
        // off this machine.
        if remote.token.is_some() && !remote.use_ssl && !remote.is_loopback() {
            remote.use_ssl = true;
        }
        Ok(remote)
    }

    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The URL for messages and manifests: no token, no header values.
    pub fn shown(&self) -> String {
        let mut s = format!("sc://{}:{}", self.host, self.port);
        if self.token.is_some() {
            s.push_str("/;token=***");
        }
        if self.use_ssl {
            s.push_str(";use_ssl=true");
        }
        s
    }
}

/// A URL as text with `;token=...` (and other secret-looking values) hidden,
/// for messages about a URL that did not parse.
fn shown_text(url: &str) -> String {
    let mut parts = url.split(';');
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        out.push(';');
        match p.split_once('=') {
            Some((k, _)) if k != "use_ssl" && k != "user_id" => {
                out.push_str(k);
                out.push_str("=***");
            }
            _ => out.push_str(p),
        }
    }
    crate::location::redact(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_the_token() {
        let r = Remote::parse("sc://spark.example.com:443/;token=s3cr3t;x-cluster-id=abc").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("spark.example.com", 443));
        assert!(r.use_ssl, "a token off loopback means TLS");
        assert_eq!(r.headers, vec![("x-cluster-id".into(), "abc".into())]);
        assert!(!r.shown().contains("s3cr3t") && !format!("{r:?}").contains("s3cr3t"));
        let r = Remote::parse("sc://127.0.0.1").unwrap();
        assert_eq!(r.port, DEFAULT_PORT);
        assert!(!r.use_ssl);
        let e = Remote::parse("sc://h:x/;token=s3cr3t").unwrap_err();
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);
        assert!(Remote::parse("http://h:1").is_err());
    }
}
