//! Tables at remote locations: inputs are downloaded to local temporary
//! files (verified by size) and read like any file; outputs are written to
//! a local temporary file or folder, then uploaded through the store, so
//! nothing is visible at the destination until it is complete.

use std::path::Path;

use crate::error::{Error, Result};
use crate::location::Location;
use crate::store::{Place, SshOptions};

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
    /// Its path below the location (`city=New%20York/part-0.parquet`), as
    /// stored: the caller reads partition values from it.
    pub relative: String,
    /// The remote name, for messages and --add-source-column.
    pub shown: String,
    pub temp: tempfile::TempPath,
}

/// Downloads the files behind a remote location (a file, a folder or
/// prefix, or a glob) into temporary files: those whose relative path
/// `keep` accepts (the reader's rule for hidden files and folders).
pub fn fetch(loc: &Location, keep: &(dyn Fn(&str) -> bool + Sync)) -> Result<Vec<Spooled>> {
    let text = match loc {
        Location::Remote(r) => r.url.to_string(),
        other => return Err(Error::usage(format!("{other}: not a remote location"))),
    };
    crate::runtime::block_on(async move {
        let place = Place::open(&text, &ssh_from_env()).await?;
        place.check().await?;
        let files = super::expand_source(&place, true, &|_: &str| true).await?;
        let mut out = Vec::new();
        for (path, stat, rel) in files {
            if !keep(&rel) {
                continue;
            }
            let shown = place.show(&path);
            let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
            let tmp = crate::cleanup::scratch_file("spool", &format!("-{name}"))?.into_temp_path();
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
            out.push(Spooled {
                relative: rel,
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
    crate::runtime::block_on(async move {
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
    let req = super::TransferRequest {
        sources: vec![source],
        dest,
        recursive: is_dir,
        identity: ssh_from_env().identity,
        known_hosts: ssh_from_env().known_hosts,
        ..Default::default()
    };
    let s = super::transfer(&req)?;
    Ok(s.files.into_iter().map(|f| f.destination).collect())
}
