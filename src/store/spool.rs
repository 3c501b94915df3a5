//! Tables at remote locations: inputs are downloaded to local temporary
//! files (verified by size) and read like any file; outputs are written to
//! a local temporary file or folder, then uploaded through the store, so
//! nothing is visible at the destination until it is complete.

use std::path::Path;

use super::{Place, SshOptions};
use crate::error::{Error, Result};
use crate::location::{Location, Scheme};
use crate::sink::cleanup;
use crate::source::InputFile;

/// Whether a location is a file store etl can read tables from and write them to.
pub fn is_file_store(loc: &Location) -> bool {
    matches!(loc, Location::Remote(r) if matches!(r.scheme, Scheme::S3 | Scheme::Azure | Scheme::Gcs | Scheme::Sftp))
}

/// SSH settings for table commands come from the environment:
/// ETL_SSH_IDENTITY, ETL_SSH_KNOWN_HOSTS (else the defaults of `transfer`).
fn ssh_from_env() -> SshOptions {
    let path = |v: &str| {
        std::env::var_os(v)
            .filter(|s| !s.is_empty())
            .map(Into::into)
    };
    SshOptions {
        identity: path("ETL_SSH_IDENTITY"),
        known_hosts: path("ETL_SSH_KNOWN_HOSTS"),
        accept_new_host_key: false,
    }
}

/// One downloaded input file.
pub struct Spooled {
    pub file: InputFile,
    /// The remote name, for messages and --add-source-column.
    pub shown: String,
    pub temp: tempfile::TempPath,
}

fn hidden(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.starts_with('_') || base.starts_with('.') || base.ends_with(".crc")
}

/// Downloads the files behind a remote location (a file, a folder or
/// prefix, or a glob) into temporary files.
pub fn fetch(loc: &Location) -> Result<Vec<Spooled>> {
    let text = match loc {
        Location::Remote(r) => r.url.to_string(),
        other => return Err(Error::usage(format!("{other}: not a remote location"))),
    };
    super::block_on(async move {
        let place = Place::open(&text, &ssh_from_env()).await?;
        place.check().await?;
        let files = crate::transfer::expand_source(&place, true).await?;
        let mut out = Vec::new();
        for (path, stat, rel) in files {
            if hidden(&rel) {
                continue;
            }
            let shown = place.show(&path);
            let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
            let tmp = tempfile::Builder::new()
                .prefix("etl-spool-")
                .suffix(&format!("-{name}"))
                .tempfile()?
                .into_temp_path();
            cleanup::track(&tmp);
            let mut reader = place.reader(&path, stat.size).await?;
            let mut file = tokio::fs::File::create(&tmp).await?;
            let mut got = 0u64;
            crate::progress::start(&format!("download {name}"), Some(stat.size));
            while let Some(chunk) = reader.next().await? {
                got += chunk.len() as u64;
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
                crate::progress::bytes(got);
            }
            tokio::io::AsyncWriteExt::flush(&mut file).await?;
            crate::progress::finish();
            if got != stat.size {
                return Err(Error::io(format!(
                    "{shown}: downloaded {got} bytes, expected {}",
                    stat.size
                )));
            }
            let partitions = rel
                .rsplit_once('/')
                .map(|(dirs, _)| {
                    dirs.split('/')
                        .filter_map(|c| c.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Spooled {
                file: InputFile {
                    path: tmp.to_path_buf(),
                    partitions,
                },
                shown,
                temp: tmp,
            });
        }
        if out.is_empty() {
            return Err(Error::io(format!("{}: no data files", place.shown)));
        }
        Ok(out)
    })
}

/// Whether something exists at a remote output location.
pub fn exists(url: &str) -> Result<bool> {
    let url = url.to_string();
    super::block_on(async move {
        let place = Place::open(&url, &ssh_from_env()).await?;
        place.check().await?;
        if place.stat(&place.path).await?.is_some() {
            return Ok(true);
        }
        Ok(place.is_dir(&place.path).await?)
    })
}

/// Uploads a finished local output (a file, or a folder of part files) to
/// `url`, verified like `etl transfer`; returns the remote names.
pub fn upload(local: &Path, url: &str) -> Result<Vec<String>> {
    let is_dir = local.is_dir();
    let dest = if is_dir && !url.ends_with('/') {
        format!("{url}/")
    } else {
        url.to_string()
    };
    let mut source = local.to_string_lossy().into_owned();
    if is_dir {
        source.push('/');
    }
    let req = crate::transfer::TransferRequest {
        sources: vec![source],
        dest,
        recursive: is_dir,
        identity: ssh_from_env().identity,
        known_hosts: ssh_from_env().known_hosts,
        ..Default::default()
    };
    let s = crate::transfer::transfer(&req)?;
    Ok(s.files.into_iter().map(|f| f.destination).collect())
}
