//! tokio-postgres over rustls: the `MakeTlsConnect` adapter, and the URL's
//! `sslmode` / `sslrootcert` (libpq's meanings, PGSSLMODE / PGSSLROOTCERT
//! for what the URL leaves out) turned into a [`TlsPolicy`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use crate::db::conn::{env, shown};
use crate::db::tls::{is_loopback, Roots, TlsMode, TlsPolicy};
use crate::error::{Error, Result};

/// libpq's TLS parameters that tokio-postgres does not know: taken out of
/// the URL before it parses the rest.
pub struct UrlTls {
    pub mode: Option<TlsMode>,
    pub root_cert: Option<Roots>,
}

/// Takes `sslmode` and `sslrootcert` out of the URL's query (the URL is
/// changed); client certificates are refused clearly.
pub fn take_url_tls(u: &mut url::Url, original: &url::Url) -> Result<UrlTls> {
    let mut mode = None;
    let mut root = None;
    let mut kept: Vec<(String, String)> = Vec::new();
    for (k, v) in u.query_pairs() {
        match k.as_ref() {
            "sslmode" => {
                mode = Some(TlsMode::parse_postgres(&v).ok_or_else(|| {
                    Error::usage(format!(
                        "{}: sslmode={v} is not one of disable, allow, prefer, require, verify-ca, verify-full",
                        shown(original)
                    ))
                })?)
            }
            "sslrootcert" => root = Some(v.into_owned()),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                return Err(Error::unsupported(format!(
                    "{}: {k}= (client certificates and CRLs are not supported yet)",
                    shown(original)
                )))
            }
            _ => kept.push((k.into_owned(), v.into_owned())),
        }
    }
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    let mode = match mode {
        Some(m) => Some(m),
        None => match env("PGSSLMODE") {
            Some(v) => Some(TlsMode::parse_postgres(&v).ok_or_else(|| {
                Error::usage(format!(
                    "PGSSLMODE={v} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ))
            })?),
            None => None,
        },
    };
    let root = root.or_else(|| env("PGSSLROOTCERT"));
    // libpq 16: sslrootcert=system is the system's CA store, verify-full by default.
    let (mode, root_cert) = match root.as_deref() {
        Some("system") => (mode.or(Some(TlsMode::VerifyFull)), Some(Roots::System)),
        Some(p) => (mode, Some(Roots::File(p.into()))),
        None => (mode, None),
    };
    Ok(UrlTls { mode, root_cert })
}

/// The policy for the configured hosts: loopback only when every host
/// (and every hostaddr) is.
pub fn policy(cfg: &tokio_postgres::Config, tls: UrlTls) -> TlsPolicy {
    let loopback = cfg.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => is_loopback(name),
        #[cfg(unix)]
        Host::Unix(_) => true,
    }) && cfg.get_hostaddrs().iter().all(|a| {
        a.is_loopback()
            || matches!(a, std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback()))
    });
    TlsPolicy::decide(tls.mode, tls.root_cert, loopback)
}

/// tokio-postgres's own setting for the policy (it knows disable, prefer
/// and require; verification is the connector's).
pub fn ssl_mode(policy: &TlsPolicy) -> SslMode {
    match policy.mode {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        _ => SslMode::Require,
    }
}

/// Makes rustls connectors for tokio-postgres (`None`: TLS is off).
#[derive(Clone)]
pub struct MakeRustls(pub Option<Arc<ClientConfig>>);

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        // Called for every host, TLS or not: failures wait for `connect`.
        let name = ServerName::try_from(domain.trim_start_matches('[').trim_end_matches(']'))
            .map(|n| n.to_owned())
            .map_err(|_| format!("'{domain}' is not a host name TLS can verify"));
        Ok(RustlsConnect {
            config: self.0.clone(),
            name,
        })
    }
}

pub struct RustlsConnect {
    config: Option<Arc<ClientConfig>>,
    name: std::result::Result<ServerName<'static>, String>,
}

type Handshake<S> = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Handshake<S>;

    fn connect(self, stream: S) -> Handshake<S> {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("TLS is off (sslmode=disable)"))?;
            let name = self.name.map_err(io::Error::other)?;
            let s = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(Box::new(s)))
        })
    }
}

/// A PostgreSQL connection's stream under rustls.
pub struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    // SCRAM without channel binding: SCRAM-SHA-256-PLUS would need the
    // certificate's own hash algorithm, and libpq's default does not demand it.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
