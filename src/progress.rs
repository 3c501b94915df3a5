//! Progress reporting: the engine reports, the binary draws. The engine
//! never draws anything itself; without a reporter installed nothing shows.

use std::sync::OnceLock;

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

pub fn start(label: &str, total_bytes: Option<u64>) {
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
    if let Some(p) = REPORTER.get() {
        p.finish();
    }
}

pub fn message(msg: &str) {
    if let Some(p) = REPORTER.get() {
        p.message(msg);
    }
}
