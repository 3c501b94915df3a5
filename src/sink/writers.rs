//! One batch writer per output format, all behind [`TableWriter`], so any
//! frame can be written to any byte sink (a file, stdout) batch by batch.

use std::io::Write;

use polars::prelude::*;

use crate::error::Result;
use crate::format::csv::CsvWriteOptions;
use crate::format::excel::ExcelWriter;
use crate::format::ipc::IpcStreamWriter;
use crate::format::json::JsonArrayWriter;
use crate::format::orc::OrcWriter;
use crate::format::text_input::Encoder;
use crate::format::{avro, json, parquet, Codec, Format, WriteOptions};

pub type Out = Box<dyn Write + Send>;

pub trait TableWriter {
    fn write(&mut self, df: &mut DataFrame) -> Result<()>;
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A writer for `opts.format` over `out`, for frames of `schema`.
/// `flush_each` flushes after every batch (pipes: the reader starts at once).
pub fn open(
    out: Out,
    schema: &Schema,
    opts: &WriteOptions,
    flush_each: bool,
) -> Result<Box<dyn TableWriter>> {
    Ok(match opts.format {
        Format::Csv => Box::new(CsvOut {
            enc: Encoder::new(out, opts.codec)?,
            opts: opts.csv.clone(),
            first: true,
            schema: schema.clone(),
        }),
        Format::Ndjson => Box::new(NdjsonOut {
            enc: Encoder::new(out, opts.codec)?,
        }),
        Format::Json => Box::new(JsonOut {
            w: JsonArrayWriter::new(Encoder::new(out, opts.codec)?)?,
        }),
        Format::Parquet => {
            let w = ParquetWriter::new(out)
                .with_compression(parquet::compression(opts.codec))
                .with_row_group_size(opts.row_group_size)
                .batched(schema)?;
            let target = opts.row_group_size.unwrap_or(DEFAULT_ROW_GROUP);
            Box::new(ParquetOut {
                w,
                pending: Vec::new(),
                pending_rows: 0,
                target,
            })
        }
        Format::Ipc => {
            let w = crate::format::ipc::file_writer(out, schema, ipc_codec(opts.codec))?;
            Box::new(IpcFileOut { w })
        }
        Format::IpcStream => {
            let compression = match opts.codec {
                Codec::Lz4 => Some(polars_arrow::io::ipc::write::Compression::LZ4),
                Codec::Zstd => Some(polars_arrow::io::ipc::write::Compression::ZSTD(
                    Default::default(),
                )),
                _ => None,
            };
            let shared = SharedOut(std::sync::Arc::new(std::sync::Mutex::new(out)));
            let handle = flush_each.then(|| shared.clone());
            Box::new(IpcStreamOut {
                w: IpcStreamWriter::new(Box::new(shared) as Out, schema, compression)?,
                handle,
            })
        }
        Format::Avro => Box::new(AvroOut {
            w: avro::AvroWriter::new(out, schema, opts.codec)?,
        }),
        Format::Orc => Box::new(OrcOut {
            w: OrcWriter::new(out, schema, opts.codec)?,
        }),
        Format::Excel => {
            let buf = std::io::Cursor::new(Vec::new());
            Box::new(ExcelOut {
                w: ExcelWriter::new(buf, schema)?,
                out,
            })
        }
    })
}

fn ipc_codec(codec: Codec) -> Option<IpcCompression> {
    match codec {
        Codec::Lz4 => Some(IpcCompression::LZ4),
        Codec::Zstd => Some(IpcCompression::ZSTD(Default::default())),
        _ => None,
    }
}

struct CsvOut {
    enc: Encoder<Out>,
    opts: CsvWriteOptions,
    first: bool,
    schema: Schema,
}

impl TableWriter for CsvOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        let header = self.opts.header && std::mem::take(&mut self.first);
        crate::format::csv::write_batch(&mut self.enc, df, &self.opts, header)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        if self.first && self.opts.header {
            // An empty table still gets its header line.
            let mut empty = DataFrame::empty_with_schema(&self.schema);
            crate::format::csv::write_batch(&mut self.enc, &mut empty, &self.opts, true)?;
        }
        self.enc.finish()?.flush()?;
        Ok(())
    }
}

struct NdjsonOut {
    enc: Encoder<Out>,
}

impl TableWriter for NdjsonOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        json::write_lines(&mut self.enc, df)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        self.enc.finish()?.flush()?;
        Ok(())
    }
}

struct JsonOut {
    w: JsonArrayWriter<Encoder<Out>>,
}

impl TableWriter for JsonOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        self.w.write(df)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        self.w.finish()?.finish()?.flush()?;
        Ok(())
    }
}

/// Rows per Parquet row group when batches arrive from a stream.
const DEFAULT_ROW_GROUP: usize = 512 * 1024;

/// Gathers streamed batches into row groups of a useful size: a pipe
/// delivers many small batches, and one row group each would make a slow file.
struct ParquetOut {
    w: polars::io::parquet::write::BatchedWriter<Out>,
    pending: Vec<DataFrame>,
    pending_rows: usize,
    target: usize,
}

impl ParquetOut {
    fn flush_group(&mut self) -> Result<()> {
        let mut parts = std::mem::take(&mut self.pending).into_iter();
        if let Some(mut group) = parts.next() {
            for p in parts {
                group.vstack_mut_owned(p)?;
            }
            // polars writes one row group per chunk: make it one chunk.
            group.rechunk_mut();
            self.w.write_batch(&group)?;
        }
        self.pending_rows = 0;
        Ok(())
    }
}

impl TableWriter for ParquetOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        self.pending_rows += df.height();
        self.pending.push(std::mem::take(df));
        if self.pending_rows >= self.target {
            self.flush_group()?;
        }
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.flush_group()?;
        self.w.finish()?;
        Ok(())
    }
}

struct IpcFileOut {
    w: polars::io::ipc::BatchedWriter<Out>,
}

impl TableWriter for IpcFileOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        Ok(self.w.write_batch(df)?)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.w.finish()?;
        Ok(())
    }
}

/// A writer shared with its owner, so the owner can flush between batches.
#[derive(Clone)]
struct SharedOut(std::sync::Arc<std::sync::Mutex<Out>>);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("writer poisoned"))?
            .write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("writer poisoned"))?
            .flush()
    }
}

struct IpcStreamOut {
    w: IpcStreamWriter<Out>,
    handle: Option<SharedOut>,
}

impl TableWriter for IpcStreamOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        self.w.write(df)?;
        if let Some(h) = self.handle.as_mut() {
            h.flush()?;
        }
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<()> {
        self.w.finish()?;
        Ok(())
    }
}

struct AvroOut {
    w: avro::AvroWriter<Out>,
}

impl TableWriter for AvroOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        self.w.write(df)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        self.w.finish()?.flush()?;
        Ok(())
    }
}

struct OrcOut {
    w: OrcWriter<Out>,
}

impl TableWriter for OrcOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        self.w.write(df)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        self.w.finish()
    }
}

/// xlsx needs a seekable sink: built in memory, then copied out.
struct ExcelOut {
    w: ExcelWriter<std::io::Cursor<Vec<u8>>>,
    out: Out,
}

impl TableWriter for ExcelOut {
    fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        self.w.write(df)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        let ExcelOut { w, mut out } = *self;
        let bytes = w.finish_into()?;
        out.write_all(&bytes)?;
        out.flush()?;
        Ok(())
    }
}
