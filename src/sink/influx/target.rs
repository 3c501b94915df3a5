//! Where points go: `influxdb://[USER[:PASSWORD]@]HOST[:PORT]/DB[?rp=RP]`
//! (the 1.x `/write` API) or `influxdb2://HOST[:PORT]/BUCKET?org=ORG` (the
//! 2.x `/api/v2/write` API, also served by InfluxDB 1.8 and later), and the
//! one HTTP request each batch becomes.

use crate::error::{Error, Result};
use crate::location::{redact, RemoteUrl, Scheme};

use super::line::Precision;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    V1 { db: String, rp: Option<String> },
    V2 { bucket: String, org: String },
}

#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic { user: String, password: String },
    Token(String),
}

// Never print a password or token, not even in a debug dump.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Token(_) => f.write_str("Token(***)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub api: Api,
    /// `http(s)://HOST:PORT`
    pub base: url::Url,
    pub auth: Auth,
    /// The URL as messages show it (no password).
    pub shown: String,
}

const DEFAULT_PORT: u16 = 8086;

impl Target {
    /// Reads the URL and the `INFLUX_*` variables (`INFLUX_TOKEN` for 2.x,
    /// `INFLUX_USERNAME`/`INFLUX_PASSWORD` for 1.x when the URL has no user).
    pub fn from_url(url: &RemoteUrl) -> Result<Target> {
        Self::from_url_with(url, &|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_url_with(url: &RemoteUrl, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
        let u = &url.url;
        let shown = redact(u.as_str());
        let bad = |why: &str| Error::usage(format!("{shown}: {why}"));
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host (influxdb://HOST:PORT/DB)"))?;
        let name = percent_encoding::percent_decode_str(u.path().trim_start_matches('/'))
            .decode_utf8()
            .map_err(|_| bad("the database or bucket name is not UTF-8"))?
            .to_string();
        let v2 = url.scheme == Scheme::Influx2;
        if name.is_empty() || name.contains('/') {
            return Err(bad(if v2 {
                "give the bucket as the path: influxdb2://HOST:PORT/BUCKET?org=ORG"
            } else {
                "give the database as the path: influxdb://HOST:PORT/DB"
            }));
        }
        let mut rp = None;
        let mut org = None;
        let mut tls = None;
        for (k, v) in u.query_pairs() {
            match (k.as_ref(), v2) {
                ("rp", false) => rp = Some(v.to_string()),
                ("org", true) => org = Some(v.to_string()),
                ("tls", _) => {
                    tls = Some(match v.as_ref() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(bad(&format!("tls={other}: write tls=true or tls=false")))
                        }
                    })
                }
                (other, _) => {
                    return Err(bad(&format!(
                        "unknown parameter '{other}' (known: {})",
                        if v2 { "org, tls" } else { "rp, tls" }
                    )))
                }
            }
        }
        let loopback = is_loopback(host);
        let scheme = if tls.unwrap_or(!loopback) {
            "https"
        } else {
            "http"
        };
        let host_part = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let base = url::Url::parse(&format!(
            "{scheme}://{host_part}:{}",
            u.port().unwrap_or(DEFAULT_PORT)
        ))
        .map_err(|e| bad(&e.to_string()))?;
        let api;
        let auth;
        if v2 {
            let org = org.filter(|o| !o.is_empty()).ok_or_else(|| {
                bad("InfluxDB 2 needs the organization: influxdb2://HOST:PORT/BUCKET?org=ORG")
            })?;
            if !u.username().is_empty() {
                return Err(bad(
                    "InfluxDB 2 takes a token from INFLUX_TOKEN, not a user in the URL",
                ));
            }
            api = Api::V2 { bucket: name, org };
            auth = env("INFLUX_TOKEN").map_or(Auth::None, Auth::Token);
        } else {
            api = Api::V1 { db: name, rp };
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .to_string()
            };
            auth = if !u.username().is_empty() {
                Auth::Basic {
                    user: decode(u.username()),
                    password: u
                        .password()
                        .map(decode)
                        .or_else(|| env("INFLUX_PASSWORD"))
                        .unwrap_or_default(),
                }
            } else if let Some(user) = env("INFLUX_USERNAME") {
                Auth::Basic {
                    user,
                    password: env("INFLUX_PASSWORD").unwrap_or_default(),
                }
            } else {
                Auth::None
            };
        }
        Ok(Target {
            api,
            base,
            auth,
            shown,
        })
    }

    /// The write endpoint with its query for timestamps of this precision.
    pub fn write_url(&self, precision: Precision) -> url::Url {
        let mut u = self.base.clone();
        match &self.api {
            Api::V1 { db, rp } => {
                u.set_path("/write");
                let mut q = u.query_pairs_mut();
                q.append_pair("db", db);
                if let Some(rp) = rp {
                    q.append_pair("rp", rp);
                }
                q.append_pair("precision", precision.v1());
            }
            Api::V2 { bucket, org } => {
                u.set_path("/api/v2/write");
                u.query_pairs_mut()
                    .append_pair("org", org)
                    .append_pair("bucket", bucket)
                    .append_pair("precision", precision.v2());
            }
        }
        u
    }

    /// The `Authorization` header value, if any.
    pub fn authorization(&self) -> Option<String> {
        use base64::Engine;
        match &self.auth {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Token(t) => Some(format!("Token {t}")),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;

    fn target(text: &str, env: &[(&str, &str)]) -> Result<Target> {
        let Location::Remote(r) = Location::parse(text).unwrap() else {
            panic!("{text}")
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Target::from_url_with(&r, &|k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn v1_urls_carry_db_rp_precision_and_basic_auth() {
        let t = target("influxdb://ops:s%40cret@127.0.0.1:9999/water?rp=week", &[]).unwrap();
        assert_eq!(
            t.write_url(Precision::Us).as_str(),
            "http://127.0.0.1:9999/write?db=water&rp=week&precision=u"
        );
        // base64("ops:s@cret")
        assert_eq!(t.authorization().unwrap(), "Basic b3BzOnNAY3JldA==");
        assert!(!t.shown.contains("cret"), "{}", t.shown);
        assert!(!format!("{t:?}").contains("cret"));
        let t = target(
            "influxdb://db.example.com/water",
            &[("INFLUX_USERNAME", "u"), ("INFLUX_PASSWORD", "p")],
        )
        .unwrap();
        assert_eq!(
            t.write_url(Precision::Ns).as_str(),
            "https://db.example.com:8086/write?db=water&precision=n"
        );
        assert_eq!(t.authorization().unwrap(), "Basic dTpw");
    }

    #[test]
    fn v2_urls_carry_org_bucket_and_the_token() {
        let t = target(
            "influxdb2://localhost:8087/my%20bucket?org=acme",
            &[("INFLUX_TOKEN", "tok")],
        )
        .unwrap();
        assert_eq!(
            t.write_url(Precision::Ms).as_str(),
            "http://localhost:8087/api/v2/write?org=acme&bucket=my+bucket&precision=ms"
        );
        assert_eq!(t.authorization().unwrap(), "Token tok");
        assert!(!format!("{t:?}").contains("tok\""));
        let e = target("influxdb2://localhost/b", &[]).unwrap_err();
        assert!(e.message.contains("?org=ORG"), "{}", e.message);
        let e = target("influxdb://localhost/db?bucket=x", &[]).unwrap_err();
        assert!(
            e.message.contains("unknown parameter 'bucket'"),
            "{}",
            e.message
        );
        let e = target("influxdb://localhost:8086", &[]).unwrap_err();
        assert!(e.message.contains("database as the path"), "{}", e.message);
    }
}
