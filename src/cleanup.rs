//! Temporary files: the one naming convention, the register of paths that
//! must not survive an interrupted run, and their removal. A signal handler
//! in the binary calls [`remove_all`] before exiting.
//!
//! Two kinds of temporary path exist:
//! - outputs in progress, *beside* their target (`.NAME.etl-tmp-PID-NANOS`),
//!   renamed into place when complete ([`TempOutput`], [`temp_name`]);
//! - scratch files in TMPDIR (`etl-KIND-*`), for spools and staging
//!   ([`scratch_file`], [`scratch_dir`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The marker every in-progress output name carries.
const TEMP_MARK: &str = ".etl-tmp-";

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

/// The temporary name of an output in progress for the file or object
/// named `name`: `.NAME.etl-tmp-PID-NANOS`, hidden from readers of the
/// folder and unique to this process.
pub fn temp_name(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(".{name}{TEMP_MARK}{}-{nanos}", std::process::id())
}

/// Whether `entry` (a file name) is an in-progress output of `target`
/// (a file name) left by another process: what an earlier, interrupted
/// run left behind, never this run's own.
pub fn is_stale_temp_of(entry: &str, target: &str) -> bool {
    let mine = format!("{TEMP_MARK}{}-", std::process::id());
    entry.starts_with(&format!(".{target}{TEMP_MARK}")) && !entry.contains(&mine)
}

/// Whether a file name is some in-progress output.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARK)
}

/// A tracked scratch file in TMPDIR named `etl-KIND-XXXX.SUFFIX`, removed
/// when the returned path is dropped or on interrupt. The file exists
/// (empty) when this returns.
pub fn scratch_file(kind: &str, suffix: &str) -> std::io::Result<ScratchPath> {
    let path = tempfile::Builder::new()
        .prefix(&format!("etl-{kind}-"))
        .suffix(suffix)
        .tempfile()?
        .into_temp_path();
    track(&path);
    Ok(ScratchPath { path: Some(path) })
}

/// A tracked scratch folder in TMPDIR named `etl-KIND-XXXX`.
pub fn scratch_dir(kind: &str) -> std::io::Result<ScratchDir> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("etl-{kind}-"))
        .tempdir()?;
    track(dir.path());
    Ok(ScratchDir { dir: Some(dir) })
}

/// A scratch file that is deleted (and untracked) on drop.
#[derive(Debug)]
pub struct ScratchPath {
    path: Option<tempfile::TempPath>,
}

impl ScratchPath {
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// The underlying [`tempfile::TempPath`], still deleted on drop and
    /// still removed on interrupt, for owners that keep it beside a plan
    /// that reads it.
    pub fn into_temp_path(mut self) -> tempfile::TempPath {
        self.path.take().expect("a scratch path is taken once")
    }
}

impl std::ops::Deref for ScratchPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for ScratchPath {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl Drop for ScratchPath {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            untrack(&p);
        }
    }
}

/// A scratch folder that is deleted (and untracked) on drop.
#[derive(Debug)]
pub struct ScratchDir {
    dir: Option<tempfile::TempDir>,
}

impl ScratchDir {
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(Path::new(""))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Some(d) = self.dir.take() {
            untrack(d.path());
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
        let path = target.with_file_name(temp_name(name));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_hidden_and_recognised() {
        let t = temp_name("report.csv");
        assert!(t.starts_with(".report.csv.etl-tmp-"), "{t}");
        assert!(is_temp_name(&t));
        assert!(!is_temp_name("report.csv"));
        // This process's own temp file is never stale; another pid's is.
        assert!(!is_stale_temp_of(&t, "report.csv"));
        assert!(is_stale_temp_of(".report.csv.etl-tmp-1-5", "report.csv"));
        assert!(!is_stale_temp_of(".other.csv.etl-tmp-1-5", "report.csv"));
    }

    #[test]
    fn scratch_files_are_removed_on_drop() {
        let s = scratch_file("test", ".arrow").unwrap();
        let p = s.path().to_path_buf();
        assert!(p.exists());
        assert!(p
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("etl-test-"));
        drop(s);
        assert!(!p.exists());
    }
}
