//! Progress reporting: the engine reports, the binary draws. The engine
//! never draws anything itself; without a reporter installed nothing shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

pub trait Progress: Send + Sync {
    /// A new phase of work, with its total bytes when known.
    fn start(&self, label: &str, total_bytes: Option<u64>);
    /// Bytes read so far in the current phase.
    fn bytes(&self, done: u64);
    /// Rows written so far.
    fn rows(&self, done: u64);
    /// The phase is over: clear whatever was drawn.
    fn finish(&self);
    /// A new label for the current phase (e.g. files done).
    fn message(&self, _msg: &str) {}
}

static REPORTER: OnceLock<Box<dyn Progress>> = OnceLock::new();

/// Installs the process-wide reporter (once; later calls are ignored).
pub fn install(p: Box<dyn Progress>) {
    let _ = REPORTER.set(p);
}

/// Bumped by every new phase and by `finish`: a read tracker stops when
/// the phase it reports on is over.
static PHASE: AtomicU64 = AtomicU64::new(0);

pub fn start(label: &str, total_bytes: Option<u64>) {
    PHASE.fetch_add(1, Ordering::SeqCst);
    if let Some(p) = REPORTER.get() {
        p.start(label, total_bytes);
    }
}

pub fn bytes(done: u64) {
    if let Some(p) = REPORTER.get() {
        p.bytes(done);
    }
}

pub fn rows(done: u64) {
    if let Some(p) = REPORTER.get() {
        p.rows(done);
    }
}

pub fn finish() {
    PHASE.fetch_add(1, Ordering::SeqCst);
    if let Some(p) = REPORTER.get() {
        p.finish();
    }
}

pub fn message(msg: &str) {
    if let Some(p) = REPORTER.get() {
        p.message(msg);
    }
}

/// A phase whose work is reading `total` bytes of local files through a
/// library that reports nothing (polars' scans): the bytes the process has
/// read since now (`rchar` in /proc/self/io, which counts every read and
/// pread) stand for its progress, polled until the next phase or `finish`.
/// Reads through memory maps are not counted: the bar then stays put.
pub fn start_reads(label: &str, total: u64) {
    if REPORTER.get().is_none() {
        return;
    }
    start(label, Some(total));
    let phase = PHASE.load(Ordering::SeqCst);
    let Some(base) = bytes_read() else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("etl-progress".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            if PHASE.load(Ordering::SeqCst) != phase {
                return;
            }
            if let Some(now) = bytes_read() {
                bytes(now.saturating_sub(base).min(total));
            }
        });
    drop(spawned);
}

/// Bytes this process has read with read(2)-like calls, from /proc/self/io.
fn bytes_read() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/io").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("rchar:"))?
        .trim()
        .parse()
        .ok()
}
