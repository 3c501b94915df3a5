//! Spooling: a frame written once to a scratch Arrow IPC file in TMPDIR,
//! then read back as often as needed. Used where the whole table must be
//! seen before anything is written downstream (a stream turned into a
//! plan, checks settled into kept and rejected rows, part files split by
//! row count).

use std::io::BufWriter;
use std::sync::Arc;

use polars::prelude::*;

use super::{self_explain, BatchStream, Explainer, Frame, FrameData};
use crate::error::{Error, Result};
use crate::format::ipc;

/// A frame's rows in a scratch Arrow IPC file, deleted when the last
/// plan reading it is dropped.
pub struct Spooled {
    pub rows: u64,
    pub path: Arc<tempfile::TempPath>,
    pub explainers: Vec<Explainer>,
}

impl Spooled {
    /// A plan over the spooled rows.
    pub fn scan(&self) -> Result<LazyFrame> {
        ipc::scan_file(&self.path)
    }

    /// A frame over `lf` (a plan over the spooled rows) that keeps the file alive.
    pub fn frame(&self, lf: LazyFrame) -> Frame {
        let mut f = Frame::lazy(lf);
        f.temps.push(self.path.clone());
        f.explainers = self.explainers.clone();
        f
    }
}

impl Frame {
    /// Executes the frame into a scratch Arrow IPC file and counts its rows.
    pub fn spool(self) -> Result<Spooled> {
        let Frame {
            data,
            explainers,
            temps,
            ..
        } = self;
        let spooled = match data {
            FrameData::Batches(stream) => write_batches(stream, &explainers)?,
            FrameData::Lazy(lf) => {
                let path = scratch()?;
                let target = SinkTarget::Path(PlRefPath::new(path.to_string_lossy().as_ref()));
                let options = IpcWriterOptions {
                    compression: None,
                    compat_level: CompatLevel::newest(),
                    record_batch_size: None,
                    record_batch_statistics: false,
                };
                lf.sink(
                    SinkDestination::File { target },
                    FileWriteFormat::Ipc(options),
                    UnifiedSinkArgs::default(),
                )
                .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
                .map_err(|e| self_explain(&explainers, Error::from(e)))?;
                let rows = ipc::scan_file(&path)?
                    .select([len()])
                    .collect()?
                    .column("len")?
                    .get(0)?
                    .extract::<u64>()
                    .unwrap_or(0);
                Spooled {
                    rows,
                    path: Arc::new(path),
                    explainers: Vec::new(),
                }
            }
        };
        // The inputs' temporary files are no longer needed once spooled.
        drop(temps);
        Ok(Spooled {
            explainers,
            ..spooled
        })
    }
}

/// Writes a stream batch by batch into a scratch Arrow IPC file.
pub(super) fn write_batches(stream: BatchStream, explainers: &[Explainer]) -> Result<Spooled> {
    let path = scratch()?;
    let file = std::fs::File::create(&path)?;
    let mut writer = ipc::file_writer(BufWriter::new(file), &stream.schema, None)?;
    let mut rows = 0u64;
    for batch in stream.batches {
        let batch = batch.map_err(|e| self_explain(explainers, e))?;
        rows += batch.height() as u64;
        writer.write_batch(&batch)?;
    }
    writer.finish()?;
    Ok(Spooled {
        rows,
        path: Arc::new(path),
        explainers: explainers.to_vec(),
    })
}

fn scratch() -> Result<tempfile::TempPath> {
    Ok(crate::cleanup::scratch_file("spool", ".arrow")?.into_temp_path())
}
