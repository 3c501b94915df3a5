//! MariaDB/MySQL over rustls (mysql_async's `rustls-tls`): the URL's
//! `ssl-mode` and `ssl-ca` (the mysql client's meanings) turned into a
//! [`TlsPolicy`], and connecting under it: PREFERRED falls back to
//! plaintext only when the server has no TLS; VERIFY_CA checks the chain.

use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};

use crate::db::conn::shown;
use crate::db::tls::{
    file_roots, is_loopback, presented_name, system_roots, Roots, TlsMode, TlsPolicy,
};
use crate::error::{Error, Result};

/// Takes `ssl-mode` and `ssl-ca` (also spelled `ssl_mode`, `sslmode`,
/// `ssl_ca`, `sslca`) out of the URL's query (the URL is changed).
/// mysql_async's own TLS parameters are refused, so that one set of
/// names decides.
pub fn take_url_tls(
    u: &mut url::Url,
    original: &url::Url,
) -> Result<(Option<TlsMode>, Option<Roots>)> {
    let mut mode = None;
    let mut ca = None;
    let mut kept: Vec<(String, String)> = Vec::new();
    for (k, v) in u.query_pairs() {
        let key = k.to_ascii_lowercase().replace('_', "-");
        match key.as_str() {
            "ssl-mode" | "sslmode" => {
                mode = Some(TlsMode::parse_mysql(&v).ok_or_else(|| {
                    Error::usage(format!(
                        "{}: ssl-mode={v} is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY",
                        shown(original)
                    ))
                })?)
            }
            "ssl-ca" | "sslca" => ca = Some(Roots::File(v.into_owned().into())),
            "require-ssl" | "verify-ca" | "verify-identity" | "built-in-roots" => {
                return Err(Error::usage(format!(
                    "{}: {k}= is not used by etl; say ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY (and ssl-ca=PATH)",
                    shown(original)
                )))
            }
            "ssl-cert" | "ssl-key" | "ssl-crl" | "ssl-capath" => {
                return Err(Error::unsupported(format!(
                    "{}: {k}= (client certificates, CRLs and CA folders are not supported yet)",
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
    Ok((mode, ca))
}

/// The policy for the URL's host (see [`TlsPolicy::decide`]).
pub fn policy(host: &str, mode: Option<TlsMode>, ca: Option<Roots>) -> TlsPolicy {
    TlsPolicy::decide(mode, ca, is_loopback(host))
}

/// mysql_async's TLS options for a policy (`None`: plaintext).
pub fn ssl_opts(policy: &TlsPolicy) -> Result<Option<SslOpts>> {
    if policy.mode == TlsMode::Disable {
        return Ok(None);
    }
    let opts = SslOpts::default();
    let Some(roots) = &policy.roots else {
        // Encrypted, not verified (PREFERRED, REQUIRED without a CA); the
        // built-in roots only keep mysql_async's verifier constructible.
        return Ok(Some(opts.with_danger_accept_invalid_certs(true)));
    };
    let certs = match roots {
        Roots::System => system_roots()?,
        Roots::File(p) => file_roots(p, "ssl-ca")?,
    };
    let mut pem = String::new();
    for c in certs {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    Ok(Some(
        opts.with_root_certs(vec![pem.into_bytes().into()])
            .with_disable_built_in_roots(true)
            .with_danger_skip_domain_validation(!policy.checks_name()),
    ))
}

/// The rustls error behind a failed connection, if any.
pub fn rustls_error(e: &mysql_async::Error) -> Option<&rustls::Error> {
    match e {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
            io.get_ref()?.downcast_ref::<rustls::Error>()
        }
        mysql_async::Error::Io(mysql_async::IoError::Tls(mysql_async::TlsError::Tls(r))) => Some(r),
        _ => None,
    }
}

/// Connects under the policy. PREFERRED: plaintext again when the server
/// has no TLS. VERIFY_CA: mysql_async checks names whatever it is told, so
/// after a name mismatch (which rustls reports only once the chain checked
/// out) the connection is made again expecting a name the certificate holds.
pub async fn open(opts: Opts, policy: &TlsPolicy) -> mysql_async::Result<Conn> {
    let first = Conn::new(opts.clone()).await;
    match first {
        Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))
            if policy.mode == TlsMode::Prefer =>
        {
            Conn::new(OptsBuilder::from_opts(opts).ssl_opts(None::<SslOpts>)).await
        }
        Err(e) if policy.roots.is_some() && !policy.checks_name() => {
            let name = rustls_error(&e).and_then(presented_name);
            match (name, opts.ssl_opts().cloned()) {
                (Some(name), Some(ssl)) => {
                    let ssl = ssl.with_danger_tls_hostname_override(Some(name));
                    Conn::new(OptsBuilder::from_opts(opts).ssl_opts(ssl)).await
                }
                _ => Err(e),
            }
        }
        other => other,
    }
}
