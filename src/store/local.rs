//! Local files: written under a temporary name beside the target and
//! renamed into place when complete.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::{Entry, Fail, FailResult, Pending, Place, Reader, Stat, Written};
use crate::cleanup;
use crate::error::Error;

fn fail(e: std::io::Error, path: &str) -> Fail {
    Fail::io(e).context(path)
}

pub async fn stat(path: &str) -> FailResult<Option<Stat>> {
    match tokio::fs::metadata(path).await {
        Ok(m) if m.is_file() => Ok(Some(Stat {
            size: m.len(),
            digests: Vec::new(),
        })),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(e, path)),
    }
}

pub async fn list(path: &str) -> FailResult<Vec<Entry>> {
    let root = PathBuf::from(path);
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        walk(&root, &mut out)?;
        Ok(out)
    })
    .await
    .map_err(|e| Fail::permanent(Error::io(e.to_string())))?
}

fn walk(dir: &Path, out: &mut Vec<Entry>) -> FailResult<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| fail(e, &dir.display().to_string()))?;
    for entry in rd {
        let entry = entry.map_err(|e| fail(e, &dir.display().to_string()))?;
        let p = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| fail(e, &p.display().to_string()))?;
        if ft.is_dir() {
            walk(&p, out)?;
        } else if ft.is_file() || (ft.is_symlink() && p.is_file()) {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if crate::cleanup::is_temp_name(name) {
                continue;
            }
            let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            out.push(Entry {
                path: p.to_string_lossy().into_owned(),
                stat: Stat {
                    size,
                    digests: Vec::new(),
                },
            });
        }
    }
    Ok(())
}

pub async fn reader(path: &str) -> FailResult<Reader> {
    let f = tokio::fs::File::open(path)
        .await
        .map_err(|e| fail(e, path))?;
    Ok(Reader::Local(f))
}

pub async fn delete(path: &str) -> FailResult<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(e, path)),
    }
}

pub struct LocalWriter {
    file: tokio::io::BufWriter<tokio::fs::File>,
    tmp: String,
    target: String,
    size: u64,
}

pub async fn writer(path: &str) -> FailResult<super::Writer> {
    let target = Path::new(path);
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| fail(e, &parent.display().to_string()))?;
    }
    if target.is_dir() {
        return Err(Fail::permanent(Error::io(format!(
            "{path}: is a folder; give a file name or end the destination with /"
        ))));
    }
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file");
    let tmp = target.with_file_name(cleanup::temp_name(name));
    cleanup::track(&tmp);
    let file = tokio::fs::File::create(&tmp).await.map_err(|e| {
        cleanup::untrack(&tmp);
        fail(e, path)
    })?;
    Ok(super::Writer::Local(LocalWriter {
        file: tokio::io::BufWriter::with_capacity(1 << 20, file),
        tmp: tmp.to_string_lossy().into_owned(),
        target: path.to_string(),
        size: 0,
    }))
}

impl LocalWriter {
    pub async fn write(&mut self, data: Bytes) -> FailResult<()> {
        self.size += data.len() as u64;
        self.file
            .write_all(&data)
            .await
            .map_err(|e| fail(e, &self.target))
    }

    pub async fn finish(mut self, place: &Place) -> FailResult<(Written, Pending)> {
        if let Err(e) = self.file.flush().await {
            self.abort().await;
            return Err(Fail::io(e));
        }
        let on_disk = tokio::fs::metadata(&self.tmp)
            .await
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        Ok((
            Written {
                size: on_disk,
                ..Default::default()
            },
            Pending::Renamed {
                place: place.clone(),
                tmp: self.tmp,
                target: self.target,
            },
        ))
    }

    pub async fn abort(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.tmp).await;
        cleanup::untrack(Path::new(&self.tmp));
    }
}

/// Renames a finished upload into place, durably: its bytes synced first,
/// its folder after.
pub async fn commit(tmp: &str, target: &str) -> FailResult<()> {
    let sync_file = async { tokio::fs::File::open(tmp).await?.sync_all().await };
    let r = match sync_file.await {
        Ok(()) => tokio::fs::rename(tmp, target).await,
        Err(e) => Err(e),
    };
    cleanup::untrack(Path::new(tmp));
    if let Err(e) = r {
        let _ = tokio::fs::remove_file(tmp).await;
        return Err(fail(e, target));
    }
    let target_path = Path::new(target).to_path_buf();
    tokio::task::spawn_blocking(move || cleanup::sync_parent(&target_path))
        .await
        .map_err(|e| fail(std::io::Error::other(e.to_string()), target))?
        .map_err(|e| fail(e, target))
}
