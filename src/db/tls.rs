//! TLS for PostgreSQL and MariaDB/MySQL connections (rustls, ring): the
//! modes a URL can ask for, the default (plaintext on loopback as before,
//! verified certificates anywhere else), trusted roots (a CA file or the
//! system's), and failures explained in one line.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::{Error, Result};

/// How a connection uses TLS, in libpq's terms; MariaDB's `ssl-mode`
/// names map one to one (DISABLED, PREFERRED, REQUIRED, VERIFY_CA,
/// VERIFY_IDENTITY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext.
    Disable,
    /// TLS when the server offers it, plaintext otherwise; no verification.
    Prefer,
    /// TLS or fail; no verification.
    Require,
    /// TLS, the certificate signed by a trusted CA (any host name).
    VerifyCa,
    /// TLS, the certificate signed by a trusted CA and naming the host.
    VerifyFull,
}

impl TlsMode {
    /// A libpq `sslmode` value (case-insensitive; `allow` is taken as `prefer`).
    pub fn parse_postgres(v: &str) -> Option<TlsMode> {
        Some(match v.to_ascii_lowercase().as_str() {
            "disable" => TlsMode::Disable,
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => return None,
        })
    }

    /// A MySQL/MariaDB `ssl-mode` value, case-insensitive, `-` or `_`.
    pub fn parse_mysql(v: &str) -> Option<TlsMode> {
        Some(match v.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" | "DISABLE" => TlsMode::Disable,
            "PREFERRED" | "PREFER" => TlsMode::Prefer,
            "REQUIRED" | "REQUIRE" => TlsMode::Require,
            "VERIFY_CA" => TlsMode::VerifyCa,
            "VERIFY_IDENTITY" | "VERIFY_FULL" => TlsMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn postgres_name(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    pub fn mysql_name(self) -> &'static str {
        match self {
            TlsMode::Disable => "DISABLED",
            TlsMode::Prefer => "PREFERRED",
            TlsMode::Require => "REQUIRED",
            TlsMode::VerifyCa => "VERIFY_CA",
            TlsMode::VerifyFull => "VERIFY_IDENTITY",
        }
    }
}

/// The certificates a verifying connection trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The system's CA store.
    System,
    /// The CA certificates (PEM) in this file, and no others.
    File(PathBuf),
}

/// What one connection does about TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPolicy {
    pub mode: TlsMode,
    /// Trusted roots; `None` means no verification (prefer, require).
    pub roots: Option<Roots>,
}

impl TlsPolicy {
    /// The policy for a mode as written (or none), a CA as written (or
    /// none), and whether every host is on loopback. Without a mode:
    /// loopback stays plaintext (verify-ca when a CA is given, as libpq does
    /// and the mysql client's --ssl-ca implies), any other host is verified
    /// in full, against the CA given or the system's. A CA given with
    /// prefer or require verifies the chain, as libpq does.
    pub fn decide(mode: Option<TlsMode>, ca: Option<Roots>, loopback: bool) -> TlsPolicy {
        let mode = mode.unwrap_or(match (loopback, ca.is_some()) {
            (false, _) => TlsMode::VerifyFull,
            (true, true) => TlsMode::VerifyCa,
            (true, false) => TlsMode::Disable,
        });
        let roots = match mode {
            TlsMode::Disable => None,
            TlsMode::Prefer | TlsMode::Require => ca,
            TlsMode::VerifyCa | TlsMode::VerifyFull => Some(ca.unwrap_or(Roots::System)),
        };
        TlsPolicy { mode, roots }
    }

    /// Whether the host name is checked too (only verify-full; a CA given
    /// with prefer/require checks the chain only).
    pub fn checks_name(&self) -> bool {
        self.mode == TlsMode::VerifyFull
    }
}

/// Whether a host as written is this machine: `localhost`, 127.0.0.0/8,
/// `::1` (also IPv4-mapped), or a Unix socket folder. Names are not resolved:
/// a DNS answer must not be able to turn verification off.
pub fn is_loopback(host: &str) -> bool {
    if host.starts_with('/') || host.starts_with('@') {
        return true;
    }
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback(),
        Ok(IpAddr::V6(a)) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
        Err(_) => false,
    }
}

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's CA certificates, loaded once per process.
pub fn system_roots() -> Result<Vec<CertificateDer<'static>>> {
    static CERTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    let certs = CERTS.get_or_init(|| rustls_native_certs::load_native_certs().certs);
    if certs.is_empty() {
        return Err(Error::io(
            "no system CA certificates found to verify the server's certificate \
             (give the CA file: sslrootcert=PATH for PostgreSQL, ssl-ca=PATH for MariaDB/MySQL)",
        ));
    }
    Ok(certs.clone())
}

/// The CA certificates of a PEM file; `what` names the option for messages.
pub fn file_roots(path: &std::path::Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::io(format!(
            "{what}={}: cannot read the CA file ({})",
            path.display(),
            crate::error::io_message(&e)
        ))
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::usage(format!(
                "{what}={}: not a PEM CA file ({e})",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::usage(format!(
            "{what}={}: no certificate in the file (PEM expected)",
            path.display()
        )));
    }
    Ok(certs)
}

/// The rustls client configuration for a policy (`None` when it is
/// plaintext). `what` names the CA option for messages.
pub fn client_config(policy: &TlsPolicy, what: &str) -> Result<Option<Arc<ClientConfig>>> {
    if policy.mode == TlsMode::Disable {
        return Ok(None);
    }
    let verifier: Arc<dyn ServerCertVerifier> = match &policy.roots {
        None => Arc::new(NoVerification(provider())),
        Some(roots) => {
            let certs = match roots {
                Roots::System => system_roots()?,
                Roots::File(p) => file_roots(p, what)?,
            };
            let mut store = RootCertStore::empty();
            for c in certs {
                // One odd system certificate must not stop the others.
                let _ = store.add(c);
            }
            if store.is_empty() {
                return Err(Error::usage(format!("{what}: no usable CA certificate")));
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
                .build()
                .map_err(|e| Error::usage(format!("{what}: {e}")))?;
            if policy.checks_name() {
                webpki as Arc<dyn ServerCertVerifier>
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::io(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

/// The certificate's signature checked in the handshake, nothing else
/// (prefer and require without a CA, as libpq and the mysql client do).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// verify-ca: the chain is checked in full; only a name mismatch (checked
/// last, after the chain) is forgiven.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

/// Whether the error is the certificate not naming the host.
pub fn is_name_mismatch(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(e) if is_name_mismatch(&e) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A TLS failure in words a user can act on, or `None` when `text` (a
/// driver's error with its causes) is not about TLS.
pub fn explain(text: &str) -> Option<String> {
    let why = if text.contains("UnknownIssuer") {
        "the server's certificate is not signed by a trusted CA"
    } else if text.contains("not valid for name") || text.contains("NotValidForName") {
        "the server's certificate does not name this host"
    } else if text.contains("Expired") || text.contains("certificate expired") {
        "the server's certificate has expired"
    } else if text.contains("NotValidYet") || text.contains("not valid yet") {
        "the server's certificate is not valid yet"
    } else if text.contains("server does not support TLS")
        || text.contains("does not have this capability")
    {
        "the server does not offer TLS"
    } else if text.contains("invalid peer certificate") {
        "the server's certificate failed verification"
    } else if text.contains("TLS handshake") || text.contains("TLS error") {
        "the TLS handshake failed"
    } else {
        return None;
    };
    Some(why.to_string())
}

/// The server name a certificate presents, from a name-mismatch error
/// (rustls lists them as `DnsName("h")` / `IpAddress(a)`): a name the
/// chain-verified certificate is valid for.
pub fn presented_name(e: &rustls::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
        presented,
        ..
    }) = e
    else {
        return None;
    };
    presented.iter().find_map(|p| {
        let name = if let Some(d) = p.strip_prefix("DnsName(\"") {
            // A wildcard name is valid for any one label in its place.
            d.strip_suffix("\")")?.replacen("*.", "x.", 1)
        } else {
            p.strip_prefix("IpAddress(")?.strip_suffix(')')?.to_string()
        };
        ServerName::try_from(name.clone()).ok().map(|_| name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_decided_by_the_host_as_written() {
        for h in [
            "localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
            "/run/postgresql",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "db.example",
            "10.0.0.5",
            "0.0.0.0",
            "localhost.example",
            "::ffff:10.0.0.1",
            "",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn default_mode_verifies_off_loopback_only() {
        let p = TlsPolicy::decide(None, None, true);
        assert_eq!((p.mode, p.roots), (TlsMode::Disable, None));
        let p = TlsPolicy::decide(None, None, false);
        assert_eq!(
            (p.mode, p.roots),
            (TlsMode::VerifyFull, Some(Roots::System))
        );
        let ca = Roots::File("ca.pem".into());
        let p = TlsPolicy::decide(None, Some(ca.clone()), true);
        assert_eq!((p.mode, p.roots), (TlsMode::VerifyCa, Some(ca.clone())));
        let p = TlsPolicy::decide(Some(TlsMode::Require), None, false);
        assert_eq!((p.mode, p.roots), (TlsMode::Require, None));
        let p = TlsPolicy::decide(Some(TlsMode::Require), Some(ca.clone()), false);
        assert!(!p.checks_name() && p.roots == Some(ca));
    }

    #[test]
    fn mode_spellings() {
        for (s, m) in [
            ("verify_identity", TlsMode::VerifyFull),
            ("Verify-CA", TlsMode::VerifyCa),
            ("REQUIRED", TlsMode::Require),
            ("preferred", TlsMode::Prefer),
            ("disabled", TlsMode::Disable),
        ] {
            assert_eq!(TlsMode::parse_mysql(s), Some(m), "{s}");
        }
        assert_eq!(
            TlsMode::parse_postgres("VERIFY-FULL"),
            Some(TlsMode::VerifyFull)
        );
        assert_eq!(TlsMode::parse_postgres("verify_full"), None);
        assert_eq!(TlsMode::parse_mysql("maybe"), None);
    }

    #[test]
    fn a_presented_name_comes_from_the_mismatch() {
        let e = |presented: Vec<&str>| {
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("db.example").unwrap().to_owned(),
                presented: presented.into_iter().map(String::from).collect(),
            })
        };
        assert_eq!(
            presented_name(&e(vec!["DnsName(\"localhost\")"])).as_deref(),
            Some("localhost")
        );
        assert_eq!(
            presented_name(&e(vec!["IpAddress(127.0.0.1)"])).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            presented_name(&e(vec!["DnsName(\"*.example.com\")"])).as_deref(),
            Some("x.example.com")
        );
        assert_eq!(presented_name(&e(vec![])), None);
    }
}
