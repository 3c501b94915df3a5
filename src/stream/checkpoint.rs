//! The checkpoint of a stream ingest: the positions up to which messages
//! are stored, committed atomically with the files that store them.
//!
//! A batch is committed in this order:
//! 1. its files are written under hidden pending names beside their final
//!    names (`.NAME.etl-pending`), and synced;
//! 2. `checkpoint.json` is replaced (write, sync, rename, sync folder) with
//!    the new positions and the list of pending renames: **the commit
//!    point**;
//! 3. the pending files are renamed to their final names (roll forward);
//! 4. the broker hears of the positions (consumer-group commit).
//!
//! A crash before 2 leaves pending files that the next run removes and
//! re-reads from the old positions; a crash after 2 is finished by the next
//! run's roll forward, which then reads from the new positions. Readers of
//! the output never see a pending file (hidden names).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Positions;
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The stream these positions belong to (password hidden, no query).
    pub source: String,
    /// Batches committed so far.
    pub batches: u64,
    /// Rows and rejects committed so far.
    pub rows: u64,
    pub rejected: u64,
    pub positions: Positions,
    /// Renames of the last batch: done by whoever reads the checkpoint next.
    pub pending: Vec<Rename>,
    pub committed_at: String,
    /// Message ids of the last batch, for brokers without offsets (MQTT
    /// redelivers unacknowledged messages with their packet id).
    #[serde(default)]
    pub last_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rename {
    pub from: PathBuf,
    pub to: PathBuf,
}

/// The folder that holds a checkpoint, locked for one run at a time.
pub struct StateDir {
    pub dir: PathBuf,
    _lock: File,
}

const FILE: &str = "checkpoint.json";
pub const PENDING_SUFFIX: &str = ".etl-pending";

impl StateDir {
    pub fn open(dir: &Path) -> Result<StateDir> {
        std::fs::create_dir_all(dir).map_err(|e| Error::from(e).context(dir.display()))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::from(e).context(lock_path.display()))?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own; released when it closes.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "{}: another etl is reading into this output (its checkpoint is locked)",
                    dir.display()
                ),
            ));
        }
        Ok(StateDir {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn load(&self) -> Result<Option<Checkpoint>> {
        let path = self.dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::data(format!(
                    "{}: not a readable checkpoint ({e})",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::from(e).context(path.display())),
        }
    }

    /// Finishes the last committed batch and removes what an uncommitted
    /// one left in `dirs`.
    pub fn recover(&self, cp: Option<&Checkpoint>, dirs: &[&Path]) -> Result<()> {
        let pending = cp.map(|c| c.pending.as_slice()).unwrap_or(&[]);
        roll_forward(pending)?;
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && name.ends_with(PENDING_SUFFIX) {
                    std::fs::remove_file(e.path())
                        .map_err(|err| Error::from(err).context(e.path().display()))?;
                }
            }
        }
        Ok(())
    }

    /// The commit point: replaces the checkpoint, durably; then moves the
    /// batch's files into place.
    pub fn commit(&self, cp: &Checkpoint) -> Result<()> {
        let path = self.dir.join(FILE);
        let tmp = self.dir.join(format!(".{FILE}.tmp"));
        let text = serde_json::to_vec_pretty(cp).map_err(|e| Error::data(e.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            sync_dir(&self.dir)
        };
        write().map_err(|e| Error::from(e).context(path.display()))?;
        roll_forward(&cp.pending)
    }
}

/// The hidden name a file is written under until its batch is committed.
pub fn pending_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{PENDING_SUFFIX}"))
}

fn roll_forward(pending: &[Rename]) -> Result<()> {
    for r in pending {
        if r.from.exists() {
            std::fs::rename(&r.from, &r.to).map_err(|e| Error::from(e).context(r.to.display()))?;
            if let Some(dir) = r.to.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(dir).map_err(|e| Error::from(e).context(dir.display()))?;
            }
        }
    }
    Ok(())
}

/// Makes a rename or a new file in `dir` survive a power loss.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Makes a file's bytes survive a power loss.
pub fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::from(e).context(path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_moves_pending_files_and_recovery_drops_uncommitted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("_checkpoint")).unwrap();
        assert!(state.load().unwrap().is_none());
        let target = dir.path().join("part-000000.parquet");
        std::fs::write(pending_name(&target), b"batch 0").unwrap();
        let cp = Checkpoint {
            batches: 1,
            positions: [("t/0".to_string(), 5)].into(),
            pending: vec![Rename {
                from: pending_name(&target),
                to: target.clone(),
            }],
            ..Checkpoint::default()
        };
        state.commit(&cp).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"batch 0");
        // An uncommitted batch: its pending file goes, the committed one stays.
        let next = dir.path().join("part-000001.parquet");
        std::fs::write(pending_name(&next), b"batch 1").unwrap();
        let loaded = state.load().unwrap().unwrap();
        assert_eq!(loaded.positions["t/0"], 5);
        state.recover(Some(&loaded), &[dir.path()]).unwrap();
        assert!(!pending_name(&next).exists());
        assert!(target.exists());
        // A second run on the same folder is refused while the lock is held.
        let e = StateDir::open(&dir.path().join("_checkpoint"))
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::Locked);
    }
}
