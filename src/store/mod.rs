//! Bytes at a location: local files, object storage (S3, Azure Blob, GCS
//! through `object_store`) and SFTP. One small interface for all of them:
//! list (recursive), stat (size and the checksums the store keeps), read
//! (streaming) and write (streaming; visible only when complete).
//!
//! Paths inside a store are `/`-separated strings: a local path, an object
//! key, or a path on the SFTP server.

pub mod digest;
mod error;
mod gcs_upload;
mod known_hosts;
mod local;
mod object;
mod object_error;
mod sftp;
mod ssh;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

pub use digest::{Digest, DigestKind};
pub use error::{Fail, FailResult};

use crate::error::{Error, Result};
use crate::location::{Location, Scheme};

/// How to reach SFTP servers.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SshOptions {
    /// The private key to log in with (else the ssh agent, then ~/.ssh/id_ed25519, ~/.ssh/id_rsa).
    pub identity: Option<PathBuf>,
    /// The known_hosts file (default ~/.ssh/known_hosts).
    pub known_hosts: Option<PathBuf>,
    /// Add an unknown host's key to known_hosts instead of refusing it.
    pub accept_new_host_key: bool,
}

/// What a store knows about one file.
#[derive(Debug, Clone, Default)]
pub struct Stat {
    pub size: u64,
    /// Checksums the store gives without reading the file.
    pub digests: Vec<Digest>,
}

impl Stat {
    pub fn digest(&self, kind: DigestKind) -> Option<&Digest> {
        self.digests.iter().find(|d| d.kind() == kind)
    }
}

/// One file found by a listing: its full path in the store and what is known of it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub stat: Stat,
}

/// A store and a path inside it, parsed from a location.
#[derive(Clone)]
pub struct Place {
    pub backend: Backend,
    /// The path inside the store (no trailing `/`; may be empty for a bucket root).
    pub path: String,
    /// The location as users see it (passwords hidden).
    pub shown: String,
    /// The location was written with a trailing `/`: a folder or prefix.
    pub dir_hint: bool,
}

#[derive(Clone)]
pub enum Backend {
    Local,
    Object(Arc<object::ObjectBackend>),
    Sftp(Arc<sftp::Sftp>),
}

impl Place {
    /// Opens the store behind a location (connecting to it for SFTP).
    pub async fn open(text: &str, ssh: &SshOptions) -> Result<Place> {
        let loc = Location::parse(text)?;
        let dir_hint = text.ends_with('/');
        match loc {
            Location::Stdio => Err(Error::usage(
                "- (stdin/stdout) is not a place to transfer files from or to",
            )),
            Location::Local(p) => Ok(Place {
                backend: Backend::Local,
                path: trim_local(&p.to_string_lossy()),
                shown: p.display().to_string(),
                dir_hint,
            }),
            Location::Glob(g) => Ok(Place {
                backend: Backend::Local,
                path: g.clone(),
                shown: g,
                dir_hint: false,
            }),
            Location::Remote(r) => {
                let shown = crate::location::redact(r.url.as_str());
                match r.scheme {
                    Scheme::S3 | Scheme::Azure | Scheme::Gcs => {
                        let (backend, path) = object::ObjectBackend::open(&r, &shown)?;
                        Ok(Place {
                            backend: Backend::Object(Arc::new(backend)),
                            path,
                            shown,
                            dir_hint,
                        })
                    }
                    Scheme::Sftp => {
                        let (conn, path) = sftp::Sftp::connect(&r.url, &shown, ssh).await?;
                        Ok(Place {
                            backend: Backend::Sftp(Arc::new(conn)),
                            path,
                            shown,
                            dir_hint,
                        })
                    }
                    other => Err(Error::usage(format!(
                        "{shown}: a {other:?} database is not a file location; transfer copies files (use persist for databases)"
                    ))),
                }
            }
        }
    }

    /// Whether a path holds glob characters (`*`, `?`, `[`).
    pub fn is_glob(&self) -> bool {
        self.path.contains(['*', '?', '['])
    }

    /// `path` joined with a relative, `/`-separated name.
    pub fn join(&self, base: &str, rel: &str) -> String {
        if rel.is_empty() {
            return base.to_string();
        }
        match (&self.backend, base) {
            (_, "") => rel.to_string(),
            (_, b) if b.ends_with('/') => format!("{b}{rel}"),
            (_, b) => format!("{b}/{rel}"),
        }
    }

    /// What users see for a full path in this store.
    pub fn show(&self, path: &str) -> String {
        match &self.backend {
            Backend::Local => path.to_string(),
            Backend::Object(o) => o.show(path),
            Backend::Sftp(s) => s.show(path),
        }
    }

    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Local => "local",
            Backend::Object(o) => o.kind(),
            Backend::Sftp(_) => "sftp",
        }
    }

    /// A cheap request that fails early, with a clear message, when the
    /// store is unreachable, the credentials are wrong or the bucket or
    /// container is missing.
    pub async fn check(&self) -> Result<()> {
        match &self.backend {
            Backend::Local => Ok(()),
            Backend::Object(o) => o.check(&self.path).await.map_err(Fail::into_error),
            Backend::Sftp(_) => Ok(()),
        }
    }

    /// Removes what earlier, interrupted runs left under temporary names
    /// for these targets (`.NAME.etl-tmp-*` beside each): local and SFTP.
    pub async fn remove_stale_temps(&self, targets: &[&str]) {
        let mut by_dir: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for t in targets {
            let (dir, name) = t.rsplit_once('/').unwrap_or(("", t));
            by_dir.entry(dir).or_default().push(name);
        }
        for (dir, names) in by_dir {
            let temps: Vec<String> = match &self.backend {
                Backend::Sftp(s) => s.temps_in(if dir.is_empty() { "." } else { dir }).await,
                Backend::Local => std::fs::read_dir(if dir.is_empty() { "." } else { dir })
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .filter(|n| crate::cleanup::is_temp_name(n))
                            .collect()
                    })
                    .unwrap_or_default(),
                Backend::Object(_) => return,
            };
            for t in temps {
                let stale = names
                    .iter()
                    .any(|n| crate::cleanup::is_stale_temp_of(&t, n));
                if stale {
                    let full = self.join(dir, &t);
                    let _ = self.delete(&full).await;
                }
            }
        }
    }

    /// After a transient failure: reconnects a dropped SFTP connection.
    pub async fn reconnect(&self) -> Result<()> {
        match &self.backend {
            Backend::Sftp(s) => s.reconnect().await,
            _ => Ok(()),
        }
    }

    /// The file at `path`, or None when there is none (a folder is not a file).
    pub async fn stat(&self, path: &str) -> FailResult<Option<Stat>> {
        match &self.backend {
            Backend::Local => local::stat(path).await,
            Backend::Object(o) => o.stat(path).await,
            Backend::Sftp(s) => s.stat(path).await,
        }
    }

    /// Whether `path` is a folder (local, SFTP) or a non-empty prefix (object storage).
    pub async fn is_dir(&self, path: &str) -> FailResult<bool> {
        match &self.backend {
            Backend::Local => Ok(std::path::Path::new(path).is_dir()),
            Backend::Object(o) => o.has_prefix(path).await,
            Backend::Sftp(s) => s.is_dir(path).await,
        }
    }

    /// Every file under the folder or prefix `path`, recursively, sorted.
    pub async fn list(&self, path: &str) -> FailResult<Vec<Entry>> {
        let mut v = match &self.backend {
            Backend::Local => local::list(path).await?,
            Backend::Object(o) => o.list(path).await?,
            Backend::Sftp(s) => s.list(path).await?,
        };
        v.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(v)
    }

    /// Streams the file at `path` (of `size` bytes, as listed): large
    /// objects are fetched as several ranges at once, delivered in order.
    pub async fn reader(&self, path: &str, size: u64) -> FailResult<Reader> {
        match &self.backend {
            Backend::Local => local::reader(path).await,
            Backend::Object(o) => o.reader(path, size).await,
            Backend::Sftp(s) => s.reader(path).await,
        }
    }

    /// A writer whose bytes become visible at `path` only when it finishes.
    /// `sha256`, when known beforehand, is stored as object metadata.
    pub async fn writer(&self, path: &str, size: u64, sha256: Option<&str>) -> FailResult<Writer> {
        match &self.backend {
            Backend::Local => local::writer(path).await,
            Backend::Object(o) => o.writer(path, size, sha256).await,
            Backend::Sftp(s) => s.writer(path).await,
        }
    }

    pub async fn delete(&self, path: &str) -> FailResult<()> {
        match &self.backend {
            Backend::Local => local::delete(path).await,
            Backend::Object(o) => o.delete(path).await,
            Backend::Sftp(s) => s.delete(path).await,
        }
    }

    /// Whether object metadata can carry a SHA-256 that etl sets (Azure, GCS).
    pub fn wants_sha256_metadata(&self) -> bool {
        matches!(&self.backend, Backend::Object(o) if o.wants_sha256_metadata())
    }

    /// Whether the store's ETag is an MD5 etl can reproduce (S3).
    pub fn has_md5_etag(&self) -> bool {
        matches!(&self.backend, Backend::Object(o) if o.is_s3())
    }
}

static NOTICES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Something users must be told (e.g. a host key added to known_hosts);
/// the engine never prints, the binary shows these with [`take_notices`].
pub fn notice(msg: String) {
    if let Ok(mut n) = NOTICES.lock() {
        n.push(msg);
    }
}

pub fn take_notices() -> Vec<String> {
    NOTICES
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default()
}

fn trim_local(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() && p.starts_with('/') {
        "/".into()
    } else {
        t.to_string()
    }
}

/// Bytes coming from a store, chunk by chunk.
pub enum Reader {
    Local(tokio::fs::File),
    Stream(
        futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
        String,
    ),
    /// Whole upload parts (of [`digest::part_size`]) with their MD5s.
    Parts(
        futures::stream::BoxStream<'static, object_store::Result<(Bytes, [u8; 16])>>,
        String,
    ),
    Sftp(Box<russh_sftp::client::fs::File>, String),
}

pub const CHUNK: usize = 1 << 20;

impl Reader {
    /// The next chunk, with its MD5 when it is a whole upload part.
    pub async fn next_part(&mut self) -> FailResult<Option<(Bytes, Option<[u8; 16]>)>> {
        use futures::StreamExt;
        if let Reader::Parts(s, shown) = self {
            return match s.next().await {
                None => Ok(None),
                Some(Ok((b, md5))) => Ok(Some((b, Some(md5)))),
                Some(Err(e)) => Err(object_error::fail(e, shown)),
            };
        }
        Ok(self.next().await?.map(|b| (b, None)))
    }

    pub async fn next(&mut self) -> FailResult<Option<Bytes>> {
        use futures::StreamExt;
        use tokio::io::AsyncReadExt;
        match self {
            Reader::Local(f) => {
                let mut buf = vec![0u8; CHUNK];
                let mut filled = 0;
                while filled < CHUNK {
                    let n = f.read(&mut buf[filled..]).await.map_err(Fail::io)?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                Ok((filled > 0).then(|| Bytes::from(buf)))
            }
            Reader::Stream(s, shown) => match s.next().await {
                None => Ok(None),
                Some(Ok(b)) => Ok(Some(b)),
                Some(Err(e)) => Err(object_error::fail(e, shown)),
            },
            Reader::Parts(s, shown) => match s.next().await {
                None => Ok(None),
                Some(Ok((b, _))) => Ok(Some(b)),
                Some(Err(e)) => Err(object_error::fail(e, shown)),
            },
            Reader::Sftp(f, shown) => {
                let mut buf = vec![0u8; CHUNK];
                let mut filled = 0;
                while filled < CHUNK {
                    let n = f
                        .read(&mut buf[filled..])
                        .await
                        .map_err(|e| sftp::io_fail(e, shown))?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                buf.truncate(filled);
                Ok((filled > 0).then(|| Bytes::from(buf)))
            }
        }
    }
}

/// Bytes going into a store; visible at the destination only after `finish`.
pub enum Writer {
    Local(local::LocalWriter),
    Object(Box<object::ObjectWriter>),
    Sftp(sftp::SftpWriter),
}

/// What the store reports after a write.
#[derive(Debug, Default)]
pub struct Written {
    pub size: u64,
    /// Checksums the store gives for the written object (the S3 ETag,
    /// the SHA-256 metadata it kept).
    pub digests: Vec<Digest>,
    /// The S3 ETag of the bytes sent, computed by etl.
    pub expected_etag: Option<String>,
}

/// A finished write: still under a temporary name (local, SFTP), or already
/// in place (object storage, where an upload appears only when complete).
pub enum Pending {
    Visible {
        place: Place,
        path: String,
    },
    Renamed {
        place: Place,
        tmp: String,
        target: String,
    },
}

impl Pending {
    /// The path that holds the written bytes now (for a read-back).
    pub fn current(&self) -> &str {
        match self {
            Pending::Visible { path, .. } => path,
            Pending::Renamed { tmp, .. } => tmp,
        }
    }

    /// Makes the file visible under its name.
    pub async fn commit(self) -> FailResult<()> {
        match self {
            Pending::Visible { .. } => Ok(()),
            Pending::Renamed { place, tmp, target } => match &place.backend {
                Backend::Local => local::commit(&tmp, &target).await,
                Backend::Sftp(s) => s.commit(&tmp, &target).await,
                Backend::Object(_) => Ok(()),
            },
        }
    }

    /// Removes the written bytes (after a failed verification).
    pub async fn discard(self) {
        let (place, path) = match self {
            Pending::Visible { place, path } => (place, path),
            Pending::Renamed { place, tmp, .. } => (place, tmp),
        };
        let _ = place.delete(&path).await;
        if let Backend::Local = place.backend {
            crate::cleanup::untrack(std::path::Path::new(&path));
        }
    }
}

impl Writer {
    pub async fn write(&mut self, data: Bytes) -> FailResult<()> {
        match self {
            Writer::Local(w) => w.write(data).await,
            Writer::Object(w) => w.write(data).await,
            Writer::Sftp(w) => w.write(data).await,
        }
    }

    /// Completes the write: see [`Pending`].
    pub async fn finish(self, place: &Place) -> FailResult<(Written, Pending)> {
        match self {
            Writer::Local(w) => w.finish(place).await,
            Writer::Object(w) => w.finish(place).await,
            Writer::Sftp(w) => w.finish(place).await,
        }
    }

    /// Drops an unfinished write: nothing stays at the destination.
    pub async fn abort(self) {
        match self {
            Writer::Local(w) => w.abort().await,
            Writer::Object(w) => w.abort().await,
            Writer::Sftp(w) => w.abort().await,
        }
    }
}
