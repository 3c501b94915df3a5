//! Writes a frame to a file, a folder of part files, or stdout. File
//! outputs are written under a temporary name beside the target and renamed
//! into place only when complete; on failure nothing is left behind.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::*;

use super::writers::{self, Out};
use crate::cleanup::TempOutput;
use crate::error::{Error, Result};
use crate::format::{parquet, Format, WriteOptions};
use crate::frame::{Frame, FrameData};

#[derive(Debug, Clone)]
pub enum Destination {
    Stdout,
    Path(PathBuf),
    /// s3://, az://, gs:// or sftp://: written locally, then uploaded (transfer::spool).
    Remote(String),
}

#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub dest: Destination,
    pub options: WriteOptions,
    /// Write this many part files into a folder instead of one file.
    pub split: Option<usize>,
    /// Replace an existing output.
    pub force: bool,
}

#[derive(Debug, Clone)]
pub struct WriteSummary {
    pub rows: u64,
    pub bytes: u64,
    pub files: Vec<PathBuf>,
    pub elapsed: Duration,
}

pub fn write(frame: Frame, req: &WriteRequest) -> Result<WriteSummary> {
    let started = Instant::now();
    match &req.dest {
        Destination::Stdout => {
            if req.split.is_some() {
                return Err(Error::usage(
                    "--split writes a folder of part files: give it with -o DIR",
                ));
            }
            let out: Out = Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout()));
            let rows = write_batches(frame, out, &req.options, true)?;
            Ok(WriteSummary {
                rows,
                bytes: 0,
                files: Vec::new(),
                elapsed: started.elapsed(),
            })
        }
        Destination::Remote(url) => {
            if !req.force && crate::transfer::spool::exists(url)? {
                return Err(Error::usage(format!(
                    "{}: already exists; pass --force to replace it",
                    crate::location::redact(url)
                )));
            }
            let name = url
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .unwrap_or("output");
            let dir = crate::cleanup::scratch_dir("out")?;
            let local = dir.path().join(name);
            let mut local_req = req.clone();
            local_req.dest = Destination::Path(local.clone());
            let result = write(frame, &local_req).and_then(|mut s| {
                s.files = crate::transfer::spool::upload(&local, url)?
                    .into_iter()
                    .map(PathBuf::from)
                    .collect();
                s.elapsed = started.elapsed();
                Ok(s)
            });
            drop(dir);
            result
        }
        Destination::Path(target) => {
            if target.exists() && !req.force {
                return Err(Error::usage(format!(
                    "{}: already exists; pass --force to replace it",
                    target.display()
                )));
            }
            if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::from(e).context(parent.display()))?;
            }
            let tmp = TempOutput::beside(target);
            let (rows, files) = match req.split {
                Some(n) => write_split(frame, &tmp.path, n, &req.options)?,
                None => (write_file(frame, &tmp.path, &req.options)?, Vec::new()),
            };
            let bytes = size_of(&tmp.path);
            tmp.commit(target)
                .map_err(|e| Error::from(e).context(target.display()))?;
            let files = if files.is_empty() {
                vec![target.clone()]
            } else {
                files.iter().map(|f| target.join(f)).collect()
            };
            Ok(WriteSummary {
                rows,
                bytes,
                files,
                elapsed: started.elapsed(),
            })
        }
    }
}

fn size_of(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| size_of(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// Writes one file at `path` (which must not exist yet).
pub fn write_file(frame: Frame, path: &Path, opts: &WriteOptions) -> Result<u64> {
    let mut frame = frame;
    if opts.format == Format::Orc {
        let schema = frame.schema()?;
        let casts = crate::format::orc::orc_casts(&schema)?;
        if !casts.is_empty() {
            frame = frame.map_keep_rows(move |lf| lf.with_columns(casts.clone()))?;
        }
    }
    let native = matches!(opts.format, Format::Parquet | Format::Ipc)
        && matches!(frame.data, FrameData::Lazy(_));
    if native {
        let explainers = frame.explainers.clone();
        let _temps = frame.temps.clone();
        let FrameData::Lazy(lf) = frame.data else {
            unreachable!()
        };
        let format = match opts.format {
            Format::Parquet => FileWriteFormat::Parquet(parquet::write_options(opts)),
            _ => FileWriteFormat::Ipc(IpcWriterOptions {
                compression: match opts.codec {
                    crate::format::Codec::Lz4 => Some(IpcCompression::LZ4),
                    crate::format::Codec::Zstd => Some(IpcCompression::ZSTD(Default::default())),
                    _ => None,
                },
                compat_level: CompatLevel::newest(),
                record_batch_size: None,
                record_batch_statistics: false,
            }),
        };
        let target = SinkTarget::Path(PlRefPath::new(path.to_string_lossy().as_ref()));
        let run = lf
            .sink(
                SinkDestination::File { target },
                format,
                UnifiedSinkArgs::default(),
            )
            .and_then(|lf| lf.collect_with_engine(Engine::Streaming));
        if let Err(e) = run {
            let err = Error::from(e);
            return Err(explainers.iter().find_map(|x| x(&err)).unwrap_or(err));
        }
        return written_rows(path, opts.format);
    }
    let file = std::fs::File::create(path).map_err(|e| Error::from(e).context(path.display()))?;
    let out: Out = Box::new(BufWriter::with_capacity(1 << 20, file));
    write_batches(frame, out, opts, false)
}

fn written_rows(path: &Path, format: Format) -> Result<u64> {
    Ok(match format {
        Format::Parquet => parquet::row_count(path)? as u64,
        _ => {
            let df = crate::format::ipc::scan_file(path)?
                .select([len()])
                .collect()?;
            df.column("len")?.get(0)?.extract::<u64>().unwrap_or(0)
        }
    })
}

/// Streams the frame's batches through a format writer into `out`.
pub fn write_batches(frame: Frame, out: Out, opts: &WriteOptions, flush_each: bool) -> Result<u64> {
    let (stream, guard) = frame.into_batches()?;
    let mut writer = writers::open(out, &stream.schema, opts, flush_each)?;
    let mut rows = 0u64;
    for batch in stream.batches {
        let mut df = batch.map_err(|e| guard.explain(e))?;
        rows += df.height() as u64;
        writer.write(&mut df)?;
        crate::progress::rows(rows);
    }
    writer.finish()?;
    Ok(rows)
}

/// Writes `n` part files of about equal size into the new folder `dir`, as
/// Spark's `coalesce(n)` does, plus a `_SUCCESS` marker.
fn write_split(
    frame: Frame,
    dir: &Path,
    n: usize,
    opts: &WriteOptions,
) -> Result<(u64, Vec<PathBuf>)> {
    if n == 0 {
        return Err(Error::usage("--split needs at least 1 part"));
    }
    std::fs::create_dir(dir)?;
    let spool = frame.spool()?;
    let total = spool.rows;
    let suffix = opts.codec.file_suffix();
    let suffix = if matches!(opts.format, Format::Csv | Format::Json | Format::Ndjson) {
        suffix
    } else {
        ""
    };
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let start = total * i as u64 / n as u64;
        let end = total * (i as u64 + 1) / n as u64;
        let lf = spool.scan()?.slice(start as i64, (end - start) as IdxSize);
        let name = PathBuf::from(format!("part-{i:05}.{}{suffix}", opts.format.extension()));
        write_file(spool.frame(lf), &dir.join(&name), opts)?;
        files.push(name);
    }
    std::fs::File::create(dir.join("_SUCCESS"))?;
    Ok((total, files))
}
