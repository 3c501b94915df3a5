//! SFTP over SSH (russh + russh-sftp, pure Rust). Key-based login: the
//! `--identity` file, else the ssh agent, else ~/.ssh/id_ed25519 and
//! ~/.ssh/id_rsa; a password only when the URL carries one or
//! ETL_SFTP_PASSWORD is set. The host key must be in known_hosts
//! (`--accept-new-host-key` adds an unknown one, saying so; a changed key is
//! always refused). Uploads go to a temporary name and are renamed when
//! complete.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use russh::client::{self, Handle};
use russh_sftp::client::{RawSftpSession, SftpSession};
use russh_sftp::protocol::{OpenFlags, StatusCode};
use tokio::io::AsyncWriteExt;

use super::ssh::{authenticate, connect_error, home, open_channel, HostCheck, Verdict};
use super::{Entry, Fail, FailResult, Pending, Place, Reader, SshOptions, Stat, Written};
use crate::error::{Error, Result};

/// An SFTP server; reconnects after a dropped connection (see [`Sftp::reconnect`]).
pub struct Sftp {
    url: url::Url,
    shown: String,
    ssh: SshOptions,
    /// `sftp://user@host:port` for messages.
    base: String,
    conn: Mutex<Arc<Conn>>,
    /// Folders known to exist (no mkdir round trips per file).
    dirs: Mutex<std::collections::HashSet<String>>,
}

/// One SSH connection with two SFTP channels: one for files, one for the
/// posix-rename extension.
struct Conn {
    session: SftpSession,
    raw: RawSftpSession,
    handle: Handle<HostCheck>,
}

/// A russh-sftp error as a one-line message, and whether retrying may help.
fn sftp_fail(e: russh_sftp::client::error::Error, shown: &str) -> Fail {
    use russh_sftp::client::error::Error as E;
    match e {
        E::Status(s) => {
            let what = match s.status_code {
                StatusCode::NoSuchFile => "no such file or folder".to_string(),
                StatusCode::PermissionDenied => "permission denied".to_string(),
                StatusCode::ConnectionLost | StatusCode::NoConnection => {
                    return Fail::transient(Error::io(format!("{shown}: connection lost")))
                }
                other => {
                    if s.error_message.is_empty() {
                        other.to_string()
                    } else {
                        s.error_message.clone()
                    }
                }
            };
            Fail::permanent(Error::io(format!("{shown}: {what}")))
        }
        E::Timeout => Fail::transient(Error::io(format!(
            "{shown}: the SFTP server did not answer in time"
        ))),
        E::IO(m) => Fail::transient(Error::io(format!("{shown}: connection lost ({m})"))),
        other => Fail::transient(Error::io(format!("{shown}: {other}"))),
    }
}

pub fn io_fail(e: std::io::Error, shown: &str) -> Fail {
    let text = crate::error::io_message(&e);
    let lower = text.to_ascii_lowercase();
    if lower.contains("no such file") {
        Fail::permanent(Error::io(format!("{shown}: no such file")))
    } else if lower.contains("permission denied") {
        Fail::permanent(Error::io(format!("{shown}: permission denied")))
    } else {
        Fail::transient(Error::io(format!("{shown}: connection lost ({text})")))
    }
}

fn is_not_found(e: &russh_sftp::client::error::Error) -> bool {
    matches!(e, russh_sftp::client::error::Error::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

impl Sftp {
    /// Connects, checks the host key, logs in and starts the SFTP subsystem.
    pub async fn connect(url: &url::Url, shown: &str, ssh: &SshOptions) -> Result<(Sftp, String)> {
        let (conn, base, path) = Conn::open(url, shown, ssh).await?;
        Ok((
            Sftp {
                url: url.clone(),
                shown: shown.to_string(),
                ssh: ssh.clone(),
                base,
                conn: Mutex::new(Arc::new(conn)),
                dirs: Mutex::new(Default::default()),
            },
            path,
        ))
    }

    fn c(&self) -> Arc<Conn> {
        self.conn.lock().expect("sftp connection lock").clone()
    }

    /// After a transient failure: connects again when the connection is gone.
    pub async fn reconnect(&self) -> Result<()> {
        let c = self.c();
        let alive = !c.handle.is_closed()
            && tokio::time::timeout(Duration::from_secs(10), c.session.canonicalize("."))
                .await
                .is_ok_and(|r| r.is_ok());
        if alive {
            return Ok(());
        }
        let mut ssh = self.ssh.clone();
        ssh.accept_new_host_key = false;
        let (conn, _, _) = Conn::open(&self.url, &self.shown, &ssh).await?;
        *self.conn.lock().expect("sftp connection lock") = Arc::new(conn);
        Ok(())
    }
}

impl Conn {
    async fn open(url: &url::Url, shown: &str, ssh: &SshOptions) -> Result<(Conn, String, String)> {
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                Error::usage(format!(
                    "{shown}: no host: write sftp://USER@HOST[:PORT]/PATH"
                ))
            })?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port().unwrap_or(22);
        let user = if url.username().is_empty() {
            std::env::var("USER").unwrap_or_else(|_| "root".into())
        } else {
            percent_encoding::percent_decode_str(url.username())
                .decode_utf8_lossy()
                .into_owned()
        };
        let path = percent_encoding::percent_decode_str(url.path())
            .decode_utf8_lossy()
            .into_owned();
        let path = if path.len() > 1 {
            path.trim_end_matches('/').to_string()
        } else {
            "/".to_string()
        };
        let base = format!("sftp://{user}@{host}:{port}");
        let known_hosts = ssh
            .known_hosts
            .clone()
            .or_else(|| home().map(|h| h.join(".ssh/known_hosts")))
            .ok_or_else(|| Error::usage("no known_hosts file: pass --known-hosts FILE"))?;
        let verdict = Arc::new(Mutex::new(None));
        let handler = HostCheck {
            host: host.clone(),
            port,
            known_hosts: known_hosts.clone(),
            accept_new: ssh.accept_new_host_key,
            verdict: verdict.clone(),
        };
        let preferred = russh::Preferred {
            key: super::known_hosts::preferred_algorithms(&known_hosts, &host, port).into(),
            ..Default::default()
        };
        let config = Arc::new(client::Config {
            preferred,
            inactivity_timeout: Some(Duration::from_secs(60)),
            keepalive_interval: Some(Duration::from_secs(15)),
            window_size: 16 << 20,
            maximum_packet_size: 65535,
            channel_buffer_size: 256,
            nodelay: true,
            ..Default::default()
        });
        let at = format!("{host}:{port}");
        let connect = client::connect(config, (host.as_str(), port), handler);
        let mut handle = match tokio::time::timeout(Duration::from_secs(20), connect).await {
            Err(_) => {
                return Err(Error::io(format!(
                    "{shown}: no answer from {at} within 20 s"
                )))
            }
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                let v = verdict.lock().ok().and_then(|g| g.clone());
                return Err(connect_error(e, v, shown, &at));
            }
        };
        if let Some(Verdict::Added(file)) = verdict.lock().ok().and_then(|g| g.clone()) {
            // Never silent: the binary shows notices on stderr.
            super::notice(format!("added the host key of {at} to {}", file.display()));
        }
        authenticate(&mut handle, &user, url, ssh, shown).await?;
        let cfg = russh_sftp::client::Config {
            max_concurrent_reads: 64,
            max_concurrent_writes: 64,
            request_timeout_secs: 60,
            ..Default::default()
        };
        let session = SftpSession::new_with_config(open_channel(&handle, shown).await?, cfg)
            .await
            .map_err(|e| Error::io(format!("{shown}: SFTP start failed ({e})")))?;
        let raw = RawSftpSession::new(open_channel(&handle, shown).await?);
        raw.init()
            .await
            .map_err(|e| Error::io(format!("{shown}: SFTP start failed ({e})")))?;
        raw.set_timeout(60);
        Ok((
            Conn {
                session,
                raw,
                handle,
            },
            base,
            path,
        ))
    }
}

impl Sftp {
    pub fn show(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            format!("{}/{path}", self.base)
        }
    }

    pub async fn stat(&self, path: &str) -> FailResult<Option<Stat>> {
        match self.c().session.metadata(path).await {
            Ok(m) if m.is_regular() => Ok(Some(Stat {
                size: m.len(),
                digests: Vec::new(),
            })),
            Ok(_) => Ok(None),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sftp_fail(e, &self.show(path))),
        }
    }

    pub async fn is_dir(&self, path: &str) -> FailResult<bool> {
        match self.c().session.metadata(path).await {
            Ok(m) => Ok(m.is_dir()),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(sftp_fail(e, &self.show(path))),
        }
    }

    pub async fn list(&self, path: &str) -> FailResult<Vec<Entry>> {
        let mut out = Vec::new();
        let mut todo = vec![path.to_string()];
        while let Some(dir) = todo.pop() {
            let rd = self
                .c()
                .session
                .read_dir(dir.clone())
                .await
                .map_err(|e| sftp_fail(e, &self.show(&dir)))?;
            for entry in rd {
                let name = entry.file_name();
                if name == "." || name == ".." || crate::cleanup::is_temp_name(&name) {
                    continue;
                }
                let full = if dir.ends_with('/') {
                    format!("{dir}{name}")
                } else {
                    format!("{dir}/{name}")
                };
                let m = entry.metadata();
                if m.is_dir() {
                    todo.push(full);
                } else if m.is_regular() {
                    out.push(Entry {
                        path: full,
                        stat: Stat {
                            size: m.len(),
                            digests: Vec::new(),
                        },
                    });
                }
            }
        }
        Ok(out)
    }

    /// Names in `dir` (not recursive) that are unfinished uploads of etl.
    pub async fn temps_in(&self, dir: &str) -> Vec<String> {
        let Ok(rd) = self.c().session.read_dir(dir.to_string()).await else {
            return Vec::new();
        };
        rd.map(|e| e.file_name())
            .filter(|n| crate::cleanup::is_temp_name(n))
            .collect()
    }

    pub async fn reader(&self, path: &str) -> FailResult<Reader> {
        let shown = self.show(path);
        let f = self
            .c()
            .session
            .open(path)
            .await
            .map_err(|e| sftp_fail(e, &shown))?;
        Ok(Reader::Sftp(Box::new(f), shown))
    }

    pub async fn delete(&self, path: &str) -> FailResult<()> {
        match self.c().session.remove_file(path).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(sftp_fail(e, &self.show(path))),
        }
    }

    async fn mkdirs(&self, dir: &str) -> FailResult<()> {
        if dir.is_empty() || dir == "/" || self.known_dir(dir) {
            return Ok(());
        }
        if let Ok(m) = self.c().session.metadata(dir).await {
            if m.is_dir() {
                self.remember_dir(dir);
                return Ok(());
            }
        }
        if let Some((parent, _)) = dir.rsplit_once('/') {
            Box::pin(self.mkdirs(parent)).await?;
        }
        let r = match self.c().session.create_dir(dir).await {
            Ok(()) => Ok(()),
            Err(e) => match self.c().session.metadata(dir).await {
                Ok(m) if m.is_dir() => Ok(()),
                _ => Err(sftp_fail(e, &self.show(dir))),
            },
        };
        if r.is_ok() {
            self.remember_dir(dir);
        }
        r
    }

    fn known_dir(&self, dir: &str) -> bool {
        self.dirs.lock().is_ok_and(|d| d.contains(dir))
    }

    fn remember_dir(&self, dir: &str) {
        if let Ok(mut d) = self.dirs.lock() {
            d.insert(dir.to_string());
        }
    }

    pub async fn writer(self: &Arc<Self>, path: &str) -> FailResult<super::Writer> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        self.mkdirs(dir).await?;
        // (A folder at `path` makes the final rename fail, with its name.)
        let tmp_name = crate::cleanup::temp_name(name);
        let tmp = if dir.is_empty() {
            tmp_name
        } else {
            format!("{dir}/{tmp_name}")
        };
        let file = self
            .c()
            .session
            .open_with_flags(
                tmp.clone(),
                OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE,
            )
            .await
            .map_err(|e| sftp_fail(e, &self.show(path)))?;
        Ok(super::Writer::Sftp(SftpWriter {
            conn: self.clone(),
            file: Some(file),
            tmp,
            target: path.to_string(),
            size: 0,
        }))
    }

    /// Renames the finished temporary file over the target: posix-rename
    /// where the server has it (atomic). Plain SFTP rename refuses to
    /// replace a file: then the old file is renamed aside, the new one
    /// renamed into place, and the old one deleted; when the second rename
    /// fails the old file is renamed back, so it is never lost.
    pub async fn commit(&self, tmp: &str, target: &str) -> FailResult<()> {
        let c = self.c();
        let mut data = Vec::with_capacity(tmp.len() + target.len() + 8);
        for s in [tmp, target] {
            data.extend_from_slice(&(s.len() as u32).to_be_bytes());
            data.extend_from_slice(s.as_bytes());
        }
        let posix = c.raw.extended("posix-rename@openssh.com", data).await;
        if let Ok(russh_sftp::protocol::Packet::Status(s)) = &posix {
            if s.status_code == StatusCode::Ok {
                return Ok(());
            }
        }
        let failed = |e| {
            let mut f = sftp_fail(e, &self.show(target));
            f.error.message = format!(
                "{}: the uploaded file could not be renamed into place (the old file is kept)",
                f.error.message
            );
            f
        };
        // No target yet: one rename is all.
        let first = match c.session.rename(tmp, target).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let (dir, name) = target.rsplit_once('/').unwrap_or(("", target));
        let aside_name = crate::cleanup::temp_name(&format!("{name}.old"));
        let aside = if dir.is_empty() {
            aside_name
        } else {
            format!("{dir}/{aside_name}")
        };
        if let Err(e) = c.session.rename(target, aside.clone()).await {
            let _ = c.session.remove_file(tmp).await;
            // The target is not there: the first rename's error says why.
            return Err(failed(if is_not_found(&e) { first } else { e }));
        }
        if let Err(e) = c.session.rename(tmp, target).await {
            let _ = c.session.rename(aside, target).await;
            let _ = c.session.remove_file(tmp).await;
            return Err(failed(e));
        }
        let _ = c.session.remove_file(aside).await;
        Ok(())
    }
}

pub struct SftpWriter {
    conn: Arc<Sftp>,
    file: Option<russh_sftp::client::fs::File>,
    tmp: String,
    target: String,
    size: u64,
}

impl SftpWriter {
    pub async fn write(&mut self, data: Bytes) -> FailResult<()> {
        self.size += data.len() as u64;
        let shown = self.conn.show(&self.target);
        let f = self.file.as_mut().expect("open until finished");
        f.write_all(&data).await.map_err(|e| io_fail(e, &shown))
    }

    pub async fn finish(mut self, place: &Place) -> FailResult<(Written, Pending)> {
        let shown = self.conn.show(&self.target);
        let mut f = self.file.take().expect("open until finished");
        if let Err(e) = f.shutdown().await {
            let _ = self.conn.c().session.remove_file(self.tmp.clone()).await;
            return Err(io_fail(e, &shown));
        }
        drop(f);
        let size = match self.conn.c().session.metadata(self.tmp.clone()).await {
            Ok(m) => m.len(),
            Err(e) => {
                let _ = self.conn.c().session.remove_file(self.tmp.clone()).await;
                return Err(sftp_fail(e, &shown));
            }
        };
        Ok((
            Written {
                size,
                ..Default::default()
            },
            Pending::Renamed {
                place: place.clone(),
                tmp: self.tmp.clone(),
                target: self.target.clone(),
            },
        ))
    }

    pub async fn abort(mut self) {
        drop(self.file.take());
        let _ = self.conn.c().session.remove_file(self.tmp.clone()).await;
    }
}
