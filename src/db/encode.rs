//! Per-column work for the database encoders: columns encode independently,
//! so a batch's columns can be spread over a few threads.

use polars::prelude::{Column, Series};

use crate::error::Result;

/// Applies `encode` to every column (with its type), in column order, on
/// up to `threads` threads.
pub fn encode_columns<T: Sync, R: Send>(
    columns: &[Column],
    types: &[T],
    threads: usize,
    encode: impl Fn(&Series, &T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let one = |(c, t): (&Column, &T)| encode(c.as_materialized_series(), t);
    if threads <= 1 || columns.len() < 2 {
        return columns.iter().zip(types).map(one).collect();
    }
    let per = columns.len().div_ceil(threads);
    let parts: Vec<Result<Vec<R>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = columns
            .chunks(per)
            .zip(types.chunks(per))
            .map(|(cs, ts)| scope.spawn(move || cs.iter().zip(ts).map(one).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("encoder thread"))
            .collect()
    });
    let mut out = Vec::with_capacity(columns.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}
