//! The process's one async runtime: object stores, SFTP, transfers and
//! database clients run their I/O on it. Synchronous engine code enters it
//! with [`block_on`]; nothing else builds a runtime.

use std::future::Future;
use std::sync::OnceLock;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// The runtime, started on first use.
pub fn get() -> &'static tokio::runtime::Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name("etl-io")
            .enable_all()
            .build()
            .expect("the async runtime starts")
    })
}

/// Runs a future to completion on the runtime, from synchronous code (on
/// another thread when the caller is itself inside a runtime, where
/// blocking is not allowed).
pub fn block_on<F: Future + Send>(fut: F) -> F::Output
where
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| get().block_on(fut))
                .join()
                .expect("the runtime thread does not panic")
        })
    } else {
        get().block_on(fut)
    }
}
