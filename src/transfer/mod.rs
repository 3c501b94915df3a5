//! Copying files between locations: local paths, S3, Azure Blob, GCS and
//! SFTP. Bytes are never parsed. Each file is verified after it lands (size
//! plus a checksum the destination can give), retried on transient errors,
//! and skipped on a re-run when it is already there with the same size and
//! checksum, so an interrupted transfer resumes file by file.
//!
//! [`plan`] lists the sources and maps them safely under the destination;
//! [`copy`] moves one file; [`transfer`] runs a whole request.

mod copy;
mod local_tree;
mod plan;
pub mod spool;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Place, SshOptions};

pub use plan::{expand as expand_source, safe_relative, Item};

/// One transfer: what the CLI's flags and a pipeline's transfer stage hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TransferRequest {
    /// Files, folders, globs or URLs to copy.
    pub sources: Vec<String>,
    /// Where they go: a file name, or a folder/prefix (a trailing `/`, an
    /// existing folder, several sources or --recursive).
    pub dest: String,
    /// Copy folders and prefixes with everything under them.
    pub recursive: bool,
    /// Only files matching one of these globs (a glob without `/` matches the base name).
    pub include: Vec<String>,
    /// Leave out files matching one of these globs.
    pub exclude: Vec<String>,
    /// Plan and report, copy nothing.
    pub dry_run: bool,
    /// Read every uploaded file back and compare its SHA-256.
    pub checksum: bool,
    /// Attempts after the first one, for transient errors.
    pub retries: u32,
    /// Files copied at the same time.
    pub parallel: usize,
    /// Write a JSON record of what was transferred here.
    pub manifest: Option<PathBuf>,
    /// SSH private key for sftp:// locations.
    pub identity: Option<PathBuf>,
    /// known_hosts file for sftp:// locations (default ~/.ssh/known_hosts).
    pub known_hosts: Option<PathBuf>,
    /// Add an unknown SSH host key to known_hosts (a changed key is always refused).
    pub accept_new_host_key: bool,
}

/// How to copy, as written: `etl transfer` flags or a pipeline transfer
/// stage's keys (besides `from` and `to`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TransferOptions {
    pub recursive: bool,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub checksum: bool,
    pub retries: u32,
    pub parallel: usize,
    pub identity: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub accept_new_host_key: bool,
}

impl Default for TransferOptions {
    fn default() -> Self {
        let r = TransferRequest::default();
        TransferOptions {
            recursive: r.recursive,
            include: r.include,
            exclude: r.exclude,
            checksum: r.checksum,
            retries: r.retries,
            parallel: r.parallel,
            identity: r.identity,
            known_hosts: r.known_hosts,
            accept_new_host_key: r.accept_new_host_key,
        }
    }
}

impl TransferRequest {
    /// A copy of `sources` to `dest` with these options.
    pub fn new(sources: Vec<String>, dest: String, o: &TransferOptions) -> TransferRequest {
        let empty_as_none = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
        TransferRequest {
            sources,
            dest,
            recursive: o.recursive,
            include: o.include.clone(),
            exclude: o.exclude.clone(),
            checksum: o.checksum,
            retries: o.retries,
            parallel: o.parallel,
            identity: empty_as_none(&o.identity),
            known_hosts: empty_as_none(&o.known_hosts),
            accept_new_host_key: o.accept_new_host_key,
            ..TransferRequest::default()
        }
    }
}

impl Default for TransferRequest {
    fn default() -> Self {
        TransferRequest {
            sources: Vec::new(),
            dest: String::new(),
            recursive: false,
            include: Vec::new(),
            exclude: Vec::new(),
            dry_run: false,
            checksum: false,
            retries: 3,
            parallel: 8,
            manifest: None,
            identity: None,
            known_hosts: None,
            accept_new_host_key: false,
        }
    }
}

impl TransferRequest {
    pub fn ssh(&self) -> SshOptions {
        SshOptions {
            identity: self.identity.clone(),
            known_hosts: self.known_hosts.clone(),
            accept_new_host_key: self.accept_new_host_key,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    pub source: String,
    pub destination: String,
    pub size: u64,
    /// `sha256:HEX` or `etag:ETAG` (S3), when known.
    pub checksum: Option<String>,
    /// `copied`, `skipped` (already there, same size and checksum) or `planned` (dry run).
    pub action: String,
    /// When the file was done (RFC 3339, UTC).
    pub time: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransferSummary {
    pub destination: String,
    pub copied: u64,
    pub skipped: u64,
    /// Bytes copied (skipped files not counted).
    pub bytes: u64,
    pub seconds: f64,
    pub dry_run: bool,
    pub files: Vec<FileRecord>,
    /// Set in a manifest written after a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs a transfer to the end: every file copied and verified, or skipped,
/// or an error (after which nothing partial is left at the destination).
pub fn transfer(req: &TransferRequest) -> Result<TransferSummary> {
    crate::runtime::block_on(run(req))
}

async fn run(req: &TransferRequest) -> Result<TransferSummary> {
    let started = Instant::now();
    if req.sources.is_empty() {
        return Err(Error::usage(
            "transfer: give at least one source and a destination",
        ));
    }
    if req.dest.is_empty() {
        return Err(Error::usage("transfer: no destination"));
    }
    let include = plan::patterns(&req.include, "--include")?;
    let exclude = plan::patterns(&req.exclude, "--exclude")?;
    let ssh = req.ssh();
    let dest = Place::open(&req.dest, &ssh).await?;
    if dest.is_glob() {
        return Err(Error::usage(format!(
            "{}: the destination cannot be a glob",
            dest.shown
        )));
    }
    let mut sources = Vec::new();
    for s in &req.sources {
        // One connection per SFTP server would be nicer; one per source is simple and rare.
        let p = Place::open(s, &ssh).await?;
        p.check().await?;
        sources.push(p);
    }
    dest.check().await?;
    let items = plan::plan(&sources, &dest, req, &include, &exclude).await?;
    let mut summary = TransferSummary {
        destination: dest.shown.clone(),
        copied: 0,
        skipped: 0,
        bytes: 0,
        seconds: 0.0,
        dry_run: req.dry_run,
        files: Vec::new(),
        error: None,
    };
    if req.dry_run {
        for it in &items {
            summary.files.push(FileRecord {
                source: sources[it.source].show(&it.src_path),
                destination: dest.show(&it.dst_path),
                size: it.src_stat.size,
                checksum: None,
                action: "planned".into(),
                time: now(),
                seconds: 0.0,
            });
        }
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }
    let targets: Vec<&str> = items.iter().map(|i| i.dst_path.as_str()).collect();
    dest.remove_stale_temps(&targets).await;
    let total: u64 = items.iter().map(|i| i.src_stat.size).sum();
    let count = items.len();
    crate::progress::start(&format!("transfer 0/{count} files"), Some(total));
    let shared = Arc::new(copy::Shared {
        done_bytes: AtomicU64::new(0),
        done_files: AtomicU64::new(0),
        files: count as u64,
        stop: AtomicBool::new(false),
        checksum: req.checksum,
        retries: req.retries,
    });
    let dest = Arc::new(dest);
    let sources = Arc::new(sources);
    let results: Vec<std::result::Result<FileRecord, Error>> = futures::stream::iter(items)
        .map(|item| {
            let (shared, dest, sources) = (shared.clone(), dest.clone(), sources.clone());
            async move {
                let r = copy::copy_with_retries(&sources[item.source], &item, &dest, &shared).await;
                if r.is_err() {
                    shared.stop.store(true, Ordering::SeqCst);
                }
                r
            }
        })
        .buffer_unordered(req.parallel.max(1))
        .collect()
        .await;
    crate::progress::finish();
    let mut first_error = None;
    for r in results {
        match r {
            Ok(rec) => {
                if rec.action == "skipped" {
                    summary.skipped += 1;
                } else {
                    summary.copied += 1;
                    summary.bytes += rec.size;
                }
                summary.files.push(rec);
            }
            Err(e) if e.find_source::<copy::Cancelled>().is_some() => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    summary
        .files
        .sort_by(|a, b| a.destination.cmp(&b.destination));
    summary.seconds = started.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        if let Some(path) = &req.manifest {
            summary.error = Some(e.message.clone());
            let _ = write_manifest(path, &summary);
        }
        return Err(e);
    }
    if let Some(path) = &req.manifest {
        write_manifest(path, &summary)?;
    }
    Ok(summary)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The manifest: the summary as JSON, written under a temporary name and
/// renamed. Locations are shown with passwords hidden; no credentials.
fn write_manifest(path: &std::path::Path, summary: &TransferSummary) -> Result<()> {
    let text = serde_json::to_string_pretty(summary).map_err(|e| Error::data(e.to_string()))?;
    let text = crate::location::redact(&text);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::from(e).context(parent.display()))?;
    }
    let tmp = crate::cleanup::TempOutput::beside(path);
    std::fs::write(&tmp.path, text + "\n").map_err(|e| Error::from(e).context(path.display()))?;
    tmp.commit(path)
        .map_err(|e| Error::from(e).context(path.display()))
}
