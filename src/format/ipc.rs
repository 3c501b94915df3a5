//! Arrow IPC: files are scanned lazily by polars; streams (the pipe
//! protocol between etl commands) are read and written batch by batch.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;
use polars_arrow::io::ipc::read::{read_stream_metadata, StreamReader, StreamState};
use polars_arrow::io::ipc::write::{StreamWriter, WriteOptions as IpcWriteOptions};

use super::BatchStream;
use crate::error::{Error, Result};

/// An Arrow IPC file writer taking batches.
pub fn file_writer<W: Write>(
    w: W,
    schema: &Schema,
    compression: Option<IpcCompression>,
) -> Result<polars::io::ipc::BatchedWriter<W>> {
    let compat = CompatLevel::newest();
    let fields =
        polars_arrow::io::ipc::write::default_ipc_fields(schema.to_arrow(compat).iter_values());
    Ok(IpcWriter::new(w)
        .with_compat_level(compat)
        .with_compression(compression)
        .batched(schema, fields)?)
}

pub fn scan_file(path: &Path) -> Result<LazyFrame> {
    Ok(LazyFrame::scan_ipc(
        super::scan_path(path, super::Reader::Streaming),
        Default::default(),
        Default::default(),
    )?)
}

/// Reads an Arrow IPC stream batch by batch; `shown` names the source in errors.
pub fn read_stream<R: Read + Send + 'static>(reader: R, shown: String) -> Result<BatchStream> {
    let mut reader = ForwardSeek {
        inner: reader,
        pos: 0,
    };
    let metadata = read_stream_metadata(&mut reader).map_err(|e| {
        Error::data(format!(
            "{shown}: not a readable Arrow IPC stream ({})",
            crate::error::polars_message(&e)
        ))
    })?;
    let arrow_schema = metadata.schema.clone();
    let schema: SchemaRef = Arc::new(Schema::from_arrow_schema(&arrow_schema));
    let mut stream = StreamReader::new(reader, metadata, None);
    let names: Vec<PlSmallStr> = arrow_schema.iter_values().map(|f| f.name.clone()).collect();
    let fields: Vec<_> = arrow_schema.iter_values().cloned().collect();
    let iter = std::iter::from_fn(move || loop {
        match stream.next()? {
            Ok(StreamState::Waiting) => continue,
            Ok(StreamState::Some(batch)) => {
                let height = batch.height();
                let columns = batch
                    .into_arrays()
                    .into_iter()
                    .zip(names.iter().zip(fields.iter()))
                    .map(|(array, (name, field))| {
                        // SAFETY: the array was decoded against this very field.
                        unsafe {
                            Series::_try_from_arrow_unchecked_with_md(
                                name.clone(),
                                vec![array],
                                field.dtype(),
                                field.metadata.as_deref(),
                            )
                        }
                        .map(Column::from)
                    })
                    .collect::<PolarsResult<Vec<_>>>();
                let df = columns.and_then(|c| DataFrame::new(height, c));
                return Some(df.map_err(|e| {
                    Error::data(format!(
                        "{shown}: broken Arrow IPC stream ({})",
                        crate::error::polars_message(&e)
                    ))
                }));
            }
            Err(e) => {
                return Some(Err(Error::data(format!(
                    "{shown}: the Arrow IPC stream ended early or is corrupt ({})",
                    crate::error::polars_message(&e)
                ))))
            }
        }
    });
    Ok(BatchStream {
        schema,
        batches: Box::new(iter),
    })
}

/// Writes DataFrames as one Arrow IPC stream, flushing after each batch so
/// the next command in a pipe can start at once.
pub struct IpcStreamWriter<W: Write> {
    writer: StreamWriter<W>,
    compat: CompatLevel,
}

impl<W: Write> IpcStreamWriter<W> {
    pub fn new(
        inner: W,
        schema: &Schema,
        compression: Option<polars_arrow::io::ipc::write::Compression>,
    ) -> Result<Self> {
        let compat = CompatLevel::newest();
        let mut writer = StreamWriter::new(inner, IpcWriteOptions { compression });
        writer.start(&schema.to_arrow(compat), None)?;
        Ok(IpcStreamWriter { writer, compat })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        for chunk in df.iter_chunks(self.compat, true) {
            self.writer.write(&chunk, None)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<W> {
        self.writer.finish()?;
        let mut inner = self.writer.into_inner();
        inner.flush()?;
        Ok(inner)
    }
}

/// `Seek` for a forward-only reader (stdin): seeking ahead reads and drops
/// bytes; seeking back is an error. The IPC stream reader only looks ahead.
struct ForwardSeek<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Read for ForwardSeek<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read> Seek for ForwardSeek<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
            SeekFrom::End(_) => -1,
        };
        if target < self.pos as i128 {
            return Err(std::io::Error::other("cannot seek backwards in a stream"));
        }
        let skip = (target - self.pos as i128) as u64;
        let copied = std::io::copy(&mut (&mut self.inner).take(skip), &mut std::io::sink())?;
        self.pos += copied;
        if copied < skip {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(self.pos)
    }
}
