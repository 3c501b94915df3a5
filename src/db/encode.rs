//! What the database loaders share to encode batches: slices of bounded
//! size, and per-column work (columns encode independently, so a batch's
//! columns can be spread over a few threads).

use polars::prelude::{Column, DataFrame, Series};

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

/// Rows encoded and sent at a time: bounds the memory of a load whatever
/// the size of the batches (a Parquet row group can hold millions of rows).
pub const SLICE_ROWS: usize = 65_536;

/// The batches cut into slices of at most `rows` rows (zero-copy).
pub fn sliced(
    batches: impl Iterator<Item = Result<DataFrame>>,
    rows: usize,
) -> impl Iterator<Item = Result<DataFrame>> {
    batches.flat_map(move |b| -> Box<dyn Iterator<Item = Result<DataFrame>>> {
        match b {
            Ok(df) if df.height() > rows => {
                let n = df.height();
                Box::new(
                    (0..n)
                        .step_by(rows)
                        .map(move |at| Ok(df.slice(at as i64, rows.min(n - at)))),
                )
            }
            other => Box::new(std::iter::once(other)),
        }
    })
}

/// Threads for encoding one slice's columns: a few, not all the cores (the
/// reader and the network need some too).
pub fn encode_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}
