//! The run manifest: what every stage read and wrote, with row counts,
//! bytes, checksums, durations and status. Written after each stage and at
//! the end, also when the run fails, always atomically. No credentials:
//! every location is redacted before it gets here.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
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
    pub stages: Vec<StageRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// Ended by Ctrl-C or SIGTERM.
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Not reached: an earlier stage failed.
    NotRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageRecord {
    pub name: String,
    pub kind: String,
    pub status: StageStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    pub seconds: f64,
    pub inputs: Vec<Artifact>,
    pub outputs: Vec<Artifact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_out: Option<u64>,
    pub rows_rejected: u64,
    /// Rows that ops such as filter, drop-nulls, dedup, top-n, group-by or
    /// an inner join removed (or, negative, added) on purpose.
    pub rows_removed_by_ops: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `--engine spark`: the ids of the Spark Connect operations the stage ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spark_operations: Vec<String>,
}

/// A file, table or remote object a stage read or wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Artifact {
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl StageRecord {
    pub fn new(name: &str, kind: &str, status: StageStatus) -> StageRecord {
        StageRecord {
            name: name.to_string(),
            kind: kind.to_string(),
            status,
            started: None,
            seconds: 0.0,
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
