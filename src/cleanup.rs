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

/// What must be recorded when a signal ends the run (a pipeline's manifest).
static ON_INTERRUPT: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Registers `hook` to run when a signal interrupts the process, before
/// temporary files are removed. Registering the same hook twice runs it once.
pub fn on_interrupt(hook: fn()) {
    if let Ok(mut h) = ON_INTERRUPT.lock() {
        if !h.contains(&hook) {
            h.push(hook);
        }
    }
}

/// The signal handler's cleanup: the interrupt hooks, then [`remove_all`].
pub fn interrupted() {
    let hooks: Vec<fn()> = ON_INTERRUPT.lock().map(|h| h.clone()).unwrap_or_default();
    for hook in hooks {
        hook();
    }
    remove_all();
}

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

/// The prefix of a run's private scratch folder in the system TMPDIR.
const RUN_DIR_PREFIX: &str = "etl-run-";

/// Gives this run a private scratch folder, `$TMPDIR/etl-run-PID-XXXX`, and
/// points TMPDIR at it, so that every scratch file (ours, and those of the
/// libraries we call) lands there and goes with it: on interrupt, at exit,
/// or, after a SIGKILL, at the next run's start. A run holds an `flock` on
/// its folder, so only the folders of runs that are gone are removed, never
/// a concurrent run's. Call first thing, while the process has one thread
/// (it sets an environment variable).
pub fn private_tmpdir() {
    let base = std::env::temp_dir();
    remove_dead_runs(&base);
    // A concurrent run may take a fresh folder for a dead one in the instant
    // between its creation and our lock, and remove it: hold the lock, then
    // check the folder is still the one we made, else make another.
    for _ in 0..8 {
        let Ok(dir) = tempfile::Builder::new()
            .prefix(&format!("{RUN_DIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(&base)
        else {
            return;
        };
        let Ok(lock) = std::fs::File::open(dir.path()) else {
            continue;
        };
        if !try_lock(&lock) || !is_same_file(&lock, dir.path()) {
            continue;
        }
        // Held (open, locked) until the process ends, however it ends.
        std::mem::forget(lock);
        let dir = dir.keep();
        track(&dir);
        std::env::set_var("TMPDIR", &dir);
        return;
    }
}

/// Whether `path` still names the open file `f` (not removed or replaced).
fn is_same_file(f: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Removes the scratch folders of runs that ended without cleaning up
/// (their lock is free).
fn remove_dead_runs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with(RUN_DIR_PREFIX) {
            continue;
        }
        let path = e.path();
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !is_dir {
            continue;
        }
        if let Ok(f) = std::fs::File::open(&path) {
            if try_lock(&f) {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

fn try_lock(f: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a valid, open descriptor.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
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
    /// folder) is replaced. A folder is swapped in one atomic exchange where
    /// the system has one (Linux `renameat2(RENAME_EXCHANGE)`), after which
    /// this temp path holds the old copy and is removed. Elsewhere it takes
    /// two renames, and the old copy is registered for removal only once the
    /// new one is in place: an interrupt between the two never removes both.
    /// The output's bytes are on disk before the rename, and the rename is
    /// (the parent folder synced) before this returns.
    pub fn commit(mut self, target: &Path) -> std::io::Result<()> {
        sync_tree(&self.path)?;
        if target.is_dir() && !target.is_symlink() {
            if exchange(&self.path, target)? {
                sync_parent(target)?;
                // self.path now holds the old copy: dropped below, as not kept.
                return Ok(());
            }
            swap_by_renames(&self.path, target, || {})?;
        } else {
            std::fs::rename(&self.path, target)?;
        }
        sync_parent(target)?;
        untrack(&self.path);
        self.kept = true;
        Ok(())
    }
}

/// Makes a file, or a folder and everything in it, durable: each file's
/// data, then each folder (the names it holds). Nothing is reported written
/// before this.
pub fn sync_tree(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for e in std::fs::read_dir(path)? {
            sync_tree(&e?.path())?;
        }
    } else if !meta.is_file() {
        return Ok(());
    }
    std::fs::File::open(path)?.sync_all()
}

/// Syncs the folder holding `path`, so that a rename or a new name in it
/// survives a crash.
pub fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

/// Writes `bytes` to `path` durably: under a temporary name, synced,
/// renamed, the folder synced.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = TempOutput::beside(path);
    std::fs::write(&tmp.path, bytes)?;
    tmp.commit(path)
}

/// Replaces the folder `target` by `new` with two renames. The old copy is
/// registered for removal only once the new one is in place, so an
/// interrupt at `between` removes the new copy (still a temp) and leaves
/// the old one, under a temp name that the next run reports.
fn swap_by_renames(new: &Path, target: &Path, between: impl FnOnce()) -> std::io::Result<()> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let old = target.with_file_name(temp_name(name));
    std::fs::rename(target, &old)?;
    between();
    if let Err(e) = std::fs::rename(new, target) {
        let _ = std::fs::rename(&old, target);
        return Err(e);
    }
    track(&old);
    let _ = std::fs::remove_dir_all(&old);
    untrack(&old);
    Ok(())
}

/// Swaps two paths atomically: `Ok(false)` where the system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
    let (Ok(a), Ok(b)) = (c(a), c(b)) else {
        return Ok(false);
    };
    // SAFETY: two valid NUL-terminated paths relative to the working folder.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        // Not supported by this kernel or file system.
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
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
    fn a_folder_swap_keeps_the_new_copy_and_removes_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("table");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old"), "old").unwrap();
        let new = TempOutput::beside(&target);
        std::fs::create_dir(&new.path).unwrap();
        std::fs::write(new.path.join("new"), "new").unwrap();
        new.commit(&target).unwrap();
        assert!(target.join("new").is_file());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        // Nothing of the swap is still registered for removal.
        assert!(PENDING
            .lock()
            .unwrap()
            .iter()
            .all(|p| !p.starts_with(dir.path())));
    }

    #[test]
    fn an_interrupt_between_the_two_renames_keeps_the_old_copy() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("table");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old"), "old").unwrap();
        let new = TempOutput::beside(&target);
        std::fs::create_dir(&new.path).unwrap();
        // What the signal handler does at the worst moment (limited to this
        // test's paths: other tests run in parallel).
        let interrupt = || {
            let tracked: Vec<PathBuf> = PENDING.lock().unwrap().clone();
            for p in tracked.iter().filter(|p| p.starts_with(dir.path())) {
                let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
            }
        };
        let r = swap_by_renames(&new.path, &target, interrupt);
        assert!(r.is_err(), "the new copy was removed, so it cannot move in");
        assert!(target.join("old").is_file(), "the old copy must survive");
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
