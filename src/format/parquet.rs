//! Parquet: lazy scans (metadata read up front so a broken file fails at
//! once, with its name) and writes with the codec and row-group size asked.

use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::{Codec, WriteOptions};
use crate::error::{Error, Result};

pub fn scan(path: &Path, reader: super::Reader) -> Result<LazyFrame> {
    let shown = path.display();
    // Reading the footer here turns a corrupt file into a clear error now,
    // rather than a confusing one in the middle of a pipeline.
    let file = std::fs::File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    ParquetReader::new(file).get_metadata().map_err(|e| {
        Error::data(format!(
            "{shown}: not a readable Parquet file ({})",
            crate::error::polars_message(&e)
        ))
    })?;
    let args = ScanArgsParquet {
        allow_missing_columns: false,
        ..Default::default()
    };
    let lf = LazyFrame::scan_parquet(super::scan_path(path, reader), args)
        .map_err(|e| Error::from(e).context(&shown))?;
    Ok(lf)
}

/// Row count from the footer, without reading data.
pub fn row_count(path: &Path) -> Result<usize> {
    let file = std::fs::File::open(path)?;
    Ok(ParquetReader::new(file).num_rows()?)
}

pub fn compression(codec: Codec) -> ParquetCompression {
    match codec {
        Codec::None => ParquetCompression::Uncompressed,
        Codec::Gzip => ParquetCompression::Gzip(None),
        Codec::Zstd => ParquetCompression::Zstd(None),
        Codec::Lz4 => ParquetCompression::Lz4Raw,
        Codec::Brotli => ParquetCompression::Brotli(None),
        _ => ParquetCompression::Snappy,
    }
}

pub fn write_options(opts: &WriteOptions) -> Arc<ParquetWriteOptions> {
    Arc::new(ParquetWriteOptions {
        compression: compression(opts.codec),
        row_group_size: opts.row_group_size,
        ..Default::default()
    })
}
