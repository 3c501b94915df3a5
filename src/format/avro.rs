//! Avro through polars (null, deflate and snappy codecs). polars reads Avro
//! whole, not lazily; the logical types date, timestamp and decimal map to
//! their polars types.

use std::io::Write;
use std::path::Path;

use polars::io::avro::{AvroCompression, AvroReader, AvroWriter};
use polars::prelude::*;

use super::Codec;
use crate::error::{Error, Result};

pub fn read(path: &Path) -> Result<DataFrame> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    let result = std::panic::catch_unwind(|| AvroReader::new(file).finish());
    match result {
        Ok(Ok(df)) => Ok(df),
        Ok(Err(e)) => Err(Error::data(format!(
            "{shown}: not a readable Avro file ({})",
            crate::error::polars_message(&e)
        ))),
        Err(_) => Err(Error::data(format!(
            "{shown}: not a readable Avro file (corrupt block or sync marker)"
        ))),
    }
}

/// Writes the whole table as one Avro file (one block per chunk).
pub fn write(w: &mut dyn Write, df: &mut DataFrame, codec: Codec) -> Result<()> {
    let compression = match codec {
        Codec::Deflate => Some(AvroCompression::Deflate),
        Codec::Snappy => Some(AvroCompression::Snappy),
        _ => None,
    };
    // polars writes the file header once per chunk: one chunk, one header.
    df.rechunk_mut();
    AvroWriter::new(w)
        .with_compression(compression)
        .finish(df)?;
    Ok(())
}
