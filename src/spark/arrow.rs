//! Spark Connect's results: Arrow IPC streams, one per batch, into one frame.

use std::io::Cursor;

use polars::prelude::*;

use crate::error::{Error, Result};

pub fn to_frame(batches: &[Vec<u8>]) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for bytes in batches {
        let df = IpcStreamReader::new(Cursor::new(bytes.as_slice()))
            .finish()
            .map_err(|e| {
                Error::io(format!(
                    "Spark sent a result that is not a readable Arrow stream: {}",
                    crate::error::polars_message(&e)
                ))
            })?;
        match out.as_mut() {
            None => out = Some(df),
            Some(all) => {
                all.vstack_mut(&df)?;
            }
        }
    }
    out.ok_or_else(|| Error::io("Spark sent no result"))
}
