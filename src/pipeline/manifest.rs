//! The run manifest: what every stage read and wrote, with row counts,
//! bytes, checksums, durations and status. Written after each stage and at
//! the end, also when the run fails, always atomically. No credentials:
//! every location is redacted before it gets here.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub pipeline: String,
    pub file: String,
    pub run_id: String,
    pub run_date: String,
    pub started: String,
    pub finished: Option<String>,
    pub seconds: f64,
    pub status: RunStatus,
    pub host: String,
    pub pid: u32,
    /// Stages allowed to run at the same time (`--jobs`).
    #[serde(default = "one")]
    pub jobs: usize,
    /// Each `--resume` that continued this run: when, by which process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<Resumed>,
    /// Stages in file order.
    pub stages: Vec<StageRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resumed {
    pub started: String,
    pub host: String,
    pub pid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// Ended by Ctrl-C or SIGTERM.
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    /// Started, not finished (what an interrupted run's manifest shows as
    /// `interrupted`).
    Running,
    Interrupted,
    Succeeded,
    Failed,
    /// Not selected by --only or --from.
    Skipped,
    /// Not reached: a stage it needs, or another stage, failed first.
    NotRun,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    pub name: String,
    pub kind: String,
    pub status: StageStatus,
    /// When the stage was started and when it ended (all attempts), RFC 3339 in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    pub seconds: f64,
    /// Each attempt: the first, then retries after transient errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// The digest of the stage's definition (see `Stage::fingerprint`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// Succeeded in an earlier attempt of this run, and kept by `--resume`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
    #[serde(default)]
    pub inputs: Vec<Artifact>,
    #[serde(default)]
    pub outputs: Vec<Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_out: Option<u64>,
    #[serde(default)]
    pub rows_rejected: u64,
    /// Rows that ops such as filter, drop-nulls, dedup, top-n, group-by or
    /// an inner join removed (or, negative, added) on purpose.
    #[serde(default)]
    pub rows_removed_by_ops: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `--engine spark`: the ids of the Spark Connect operations the stage ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spark_operations: Vec<String>,
}

/// One try at a stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first try.
    pub number: u32,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    pub seconds: f64,
    pub outcome: AttemptOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `io`, `data`, `usage`, …: whether it was worth another try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Interrupted,
}

/// A file, table or remote object a stage read or wrote.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Artifact {
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The name of an error kind as the manifest records it.
pub fn kind_name(kind: crate::error::ErrorKind) -> &'static str {
    use crate::error::ErrorKind::*;
    match kind {
        Data => "data",
        Usage => "usage",
        Io => "io",
        Locked => "locked",
        BrokenPipe => "broken-pipe",
        Interrupted => "interrupted",
    }
}

impl StageRecord {
    pub fn new(name: &str, kind: &str, status: StageStatus) -> StageRecord {
        StageRecord {
            name: name.to_string(),
            kind: kind.to_string(),
            status,
            started: None,
            finished: None,
            seconds: 0.0,
            attempts: Vec::new(),
            fingerprint: String::new(),
            reused: false,
            inputs: Vec::new(),
            outputs: Vec::new(),
            rows_in: None,
            rows_out: None,
            rows_rejected: 0,
            rows_removed_by_ops: 0,
            error: None,
            spark_operations: Vec::new(),
        }
    }
}

/// The manifest last saved and where: what a signal handler records as
/// interrupted. Held while saving, so the two never write at once.
static LAST_SAVED: std::sync::Mutex<Option<(PathBuf, Manifest)>> = std::sync::Mutex::new(None);

/// On a signal: the last saved manifest, marked interrupted (the running
/// stage too), saved again.
fn save_interrupted() {
    let Ok(mut last) = LAST_SAVED.lock() else {
        return;
    };
    let Some((path, m)) = last.as_mut() else {
        return;
    };
    m.status = RunStatus::Interrupted;
    m.finished = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    m.error = Some("interrupted by a signal".into());
    m.exit_code = Some(130);
    for s in &mut m.stages {
        if s.status == StageStatus::Running {
            s.status = StageStatus::Interrupted;
        }
        for a in &mut s.attempts {
            if a.outcome == AttemptOutcome::Running {
                a.outcome = AttemptOutcome::Interrupted;
            }
        }
    }
    let _ = m.write(path);
}

impl Manifest {
    /// Writes the manifest durably, and keeps it for [`save_interrupted`].
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut last = LAST_SAVED.lock().unwrap_or_else(|e| e.into_inner());
        crate::cleanup::on_interrupt(save_interrupted);
        self.write(path)?;
        *last = Some((path.to_path_buf(), self.clone()));
        Ok(())
    }

    /// Reads a manifest written by an earlier run.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("manifest {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::data(format!(
                "manifest {}: not a run manifest of etl ({e})",
                path.display()
            ))
        })
    }

    fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("{}: {e}", dir.display())))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::data(e.to_string()))?;
        // Error messages recorded here may quote a library's text with a URL in it.
        let text = crate::location::redact(&text);
        crate::cleanup::write_durably(path, (text + "\n").as_bytes())
            .map_err(|e| Error::io(format!("manifest {}: {e}", path.display())))
    }
}

/// Describes a written file or folder of part files: size and SHA-256 (of
/// each file in name order, for a folder).
pub fn describe(path: &Path, rows: Option<u64>) -> Artifact {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for f in files.iter().filter(|f| f.is_file()) {
        let Ok(mut file) = std::fs::File::open(f) else {
            continue;
        };
        while let Ok(n) = file.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes += n as u64;
            sha2::Digest::update(&mut hasher, &buf[..n]);
        }
    }
    let digest = sha2::Digest::finalize(hasher);
    Artifact {
        location: path.display().to_string(),
        rows,
        bytes: Some(bytes),
        sha256: Some(hex::encode(digest)),
    }
}

/// This machine's name, for the manifest and the lock.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    if !ok {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
