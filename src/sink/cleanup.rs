//! Paths that must not survive an interrupted run: temporary outputs and
//! spools. A signal handler in the binary removes them before exiting.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub fn track(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.push(path.to_path_buf());
    }
}

pub fn untrack(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.retain(|x| x != path);
    }
}

/// Removes every tracked path (files or folders); used on interrupt.
pub fn remove_all() {
    if let Ok(mut p) = PENDING.lock() {
        for path in p.drain(..) {
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
}

/// A temporary path next to `target` that is removed on drop unless kept.
pub struct TempOutput {
    pub path: PathBuf,
    kept: bool,
}

impl TempOutput {
    pub fn beside(target: &Path) -> TempOutput {
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("output");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tmp_name = format!(".{name}.etl-tmp-{}-{nanos}", std::process::id());
        let path = target.with_file_name(tmp_name);
        track(&path);
        TempOutput { path, kept: false }
    }

    /// Moves the finished output into place. An existing target (file or
    /// folder) is replaced; a folder is swapped with two renames.
    pub fn commit(mut self, target: &Path) -> std::io::Result<()> {
        if target.is_dir() && !target.is_symlink() {
            let old = TempOutput::beside(target);
            std::fs::rename(target, &old.path)?;
            if let Err(e) = std::fs::rename(&self.path, target) {
                let _ = std::fs::rename(&old.path, target);
                return Err(e);
            }
            drop(old);
        } else {
            std::fs::rename(&self.path, target)?;
        }
        untrack(&self.path);
        self.kept = true;
        Ok(())
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.kept {
            let _ =
                std::fs::remove_dir_all(&self.path).or_else(|_| std::fs::remove_file(&self.path));
            untrack(&self.path);
        }
    }
}
