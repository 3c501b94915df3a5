//! One run of a pipeline at a time. The lock is an advisory `flock` on a
//! file that also says who holds it; the kernel drops the lock when the
//! holder dies, so a lock file left by a dead process is simply taken over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

pub struct RunLock {
    file: File,
    path: PathBuf,
    /// What the previous holder wrote, when it died holding the lock.
    pub stale: Option<String>,
}

impl RunLock {
    /// Takes the lock or fails with exit code 4, naming the holder.
    pub fn acquire(path: &Path, who: &str) -> Result<RunLock> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("lock {}: {e}", dir.display())))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(format!("lock {}: {e}", path.display())))?;
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = previous.trim();
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "another run holds the lock {} ({}); wait for it to finish",
                        path.display(),
                        if holder.is_empty() {
                            "holder unknown"
                        } else {
                            holder
                        }
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("lock {}: {e}", path.display())))
            }
        }
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{who}"))
            .and_then(|_| file.flush())
            .map_err(|e| Error::io(format!("lock {}: {e}", path.display())))?;
        let stale = Some(previous.trim().to_string()).filter(|p| !p.is_empty());
        Ok(RunLock {
            file,
            path: path.to_path_buf(),
            stale,
        })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Empty the file first: a later run then sees no stale holder.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
        let _ = &self.path;
    }
}
