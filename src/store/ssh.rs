//! The SSH side of SFTP: host keys checked against known_hosts, the
//! login (key file, agent, default keys, password), channels, and
//! connection errors as one line.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use russh::client::{self, Handle};
use russh::keys::{self, PrivateKeyWithHashAlg, PublicKey};

use super::SshOptions;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub(super) enum Verdict {
    Known,
    Added(PathBuf),
    Unknown(String, PathBuf),
    Changed(usize, PathBuf),
    Revoked(usize, PathBuf),
    Failed(String),
}

pub(super) struct HostCheck {
    pub host: String,
    pub port: u16,
    pub known_hosts: PathBuf,
    pub accept_new: bool,
    pub verdict: Arc<Mutex<Option<Verdict>>>,
}

impl client::Handler for HostCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            self.set(Verdict::Failed(
                "the server offered a host certificate; only plain host keys are supported".into(),
            ));
            return Ok(false);
        };
        let verdict = check_host(
            &self.host,
            self.port,
            key,
            &self.known_hosts,
            self.accept_new,
        );
        let ok = matches!(verdict, Verdict::Known | Verdict::Added(_));
        self.set(verdict);
        Ok(ok)
    }
}

impl HostCheck {
    fn set(&self, v: Verdict) {
        if let Ok(mut g) = self.verdict.lock() {
            *g = Some(v);
        }
    }
}

/// OpenSSH's rules (see known_hosts.rs): only a host no line names may be
/// added with --accept-new-host-key; a known host offering a key of
/// another type is a change, and a revoked key is refused.
fn check_host(host: &str, port: u16, key: &PublicKey, file: &PathBuf, accept_new: bool) -> Verdict {
    use super::known_hosts::{check, Status};
    match check(file, host, port, key) {
        Ok(Status::Known) => Verdict::Known,
        Ok(Status::Changed(line)) => Verdict::Changed(line, file.clone()),
        Ok(Status::Revoked(line)) => Verdict::Revoked(line, file.clone()),
        Ok(Status::Unknown) => {
            let fp = key.fingerprint(keys::HashAlg::Sha256).to_string();
            if accept_new {
                match keys::known_hosts::learn_known_hosts_path(host, port, key, file) {
                    Ok(()) => Verdict::Added(file.clone()),
                    Err(e) => Verdict::Failed(format!(
                        "cannot add the host key to {}: {e}",
                        file.display()
                    )),
                }
            } else {
                Verdict::Unknown(fp, file.clone())
            }
        }
        Err(e) => Verdict::Failed(format!("cannot read {}: {e}", file.display())),
    }
}

pub(super) fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

pub(super) async fn open_channel(
    handle: &Handle<HostCheck>,
    shown: &str,
) -> Result<russh::ChannelStream<client::Msg>> {
    let ch = handle
        .channel_open_session()
        .await
        .map_err(|e| Error::io(format!("{shown}: cannot open an SSH channel ({e})")))?;
    ch.request_subsystem(true, "sftp").await.map_err(|e| {
        Error::io(format!(
            "{shown}: the server refused the SFTP subsystem ({e})"
        ))
    })?;
    Ok(ch.into_stream())
}

pub(super) fn connect_error(
    e: russh::Error,
    verdict: Option<Verdict>,
    shown: &str,
    at: &str,
) -> Error {
    match verdict {
        Some(Verdict::Unknown(fp, file)) => {
            return Error::io(format!(
                "{shown}: unknown host key for {at} ({fp}) — not in {}; check it, then pass --accept-new-host-key to add it",
                file.display()
            ))
        }
        Some(Verdict::Changed(line, file)) => {
            return Error::io(format!(
                "{shown}: the host key of {at} has CHANGED (it differs from {} line {line}); refusing to connect — someone may be intercepting the connection; if the server's key really changed, remove that line",
                file.display()
            ))
        }
        Some(Verdict::Revoked(line, file)) => {
            return Error::io(format!(
                "{shown}: the host key of {at} is REVOKED ({} line {line}); refusing to connect",
                file.display()
            ))
        }
        Some(Verdict::Failed(m)) => return Error::io(format!("{shown}: {m}")),
        _ => {}
    }
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("refused") {
        Error::io(format!(
            "{shown}: connection refused by {at} (is the SSH server running on that port?)"
        ))
    } else if lower.contains("lookup")
        || lower.contains("name or service")
        || lower.contains("resolve")
    {
        Error::io(format!("{shown}: unknown host {at}"))
    } else {
        Error::io(format!("{shown}: cannot connect to {at} ({text})"))
    }
}

pub(super) async fn authenticate(
    handle: &mut Handle<HostCheck>,
    user: &str,
    url: &url::Url,
    ssh: &SshOptions,
    shown: &str,
) -> Result<()> {
    let mut tried = Vec::new();
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    let auth_err = |e: russh::Error| Error::io(format!("{shown}: login failed ({e})"));
    let mut key_files = Vec::new();
    if let Some(id) = &ssh.identity {
        key_files.push(id.clone());
    } else {
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            if let Ok(mut agent) = keys::agent::client::AgentClient::connect_env().await {
                if let Ok(ids) = agent.request_identities().await {
                    for id in ids {
                        let keys::agent::AgentIdentity::PublicKey { key, .. } = id else {
                            continue;
                        };
                        tried.push("ssh agent".to_string());
                        let hash = if key.algorithm().is_rsa() {
                            rsa_hash
                        } else {
                            None
                        };
                        if let Ok(r) = handle
                            .authenticate_publickey_with(user, key, hash, &mut agent)
                            .await
                        {
                            if r.success() {
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
        if let Some(h) = home() {
            for name in ["id_ed25519", "id_rsa"] {
                let p = h.join(".ssh").join(name);
                if p.exists() {
                    key_files.push(p);
                }
            }
        }
    }
    for file in &key_files {
        let key = match keys::load_secret_key(file, None) {
            Ok(k) => k,
            Err(e) => {
                if ssh.identity.is_some() {
                    return Err(Error::usage(format!(
                        "{}: cannot use this key ({e}); encrypted keys work through ssh-agent",
                        file.display()
                    )));
                }
                continue;
            }
        };
        tried.push(file.display().to_string());
        let hash = if key.algorithm().is_rsa() {
            rsa_hash
        } else {
            None
        };
        let r = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(auth_err)?;
        if r.success() {
            return Ok(());
        }
    }
    let password = url
        .password()
        .map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .or_else(|| {
            std::env::var("ETL_SFTP_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
        });
    if let Some(pw) = password {
        tried.push("password".into());
        let r = handle
            .authenticate_password(user, pw)
            .await
            .map_err(auth_err)?;
        if r.success() {
            return Ok(());
        }
    }
    let tried = if tried.is_empty() {
        "no key found: pass --identity FILE, run an ssh agent, or create ~/.ssh/id_ed25519"
            .to_string()
    } else {
        format!("tried {}", tried.join(", "))
    };
    Err(Error::io(format!(
        "{shown}: authentication failed for user {user} ({tried})"
    )))
}
