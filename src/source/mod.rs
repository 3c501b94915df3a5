//! Reading tables: locations expand to files ([`expand`]), each file opens
//! in its format, and several inputs are concatenated by column name
//! ([`concat_by_name`]).

mod expand;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

pub use crate::frame::concat_by_name;
pub use expand::{expand, partitions_of, visible, InputFile};

use crate::error::{Error, Result};
use crate::format::{self, sniff, Format, ReadOptions};
use crate::frame::{Frame, FrameData};
use crate::location::Location;

/// Extra columns added to every row.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Column holding the file each row came from.
    pub source_column: Option<String>,
}

/// Opens every input as one table. No input, or `-`, reads stdin.
pub fn open(locations: &[Location], opts: &ReadOptions, prov: &Provenance) -> Result<Frame> {
    if locations.is_empty() || (locations.len() == 1 && locations[0].is_stdio()) {
        let frame = open_stdin(opts)?;
        return add_source_column(frame, prov, "-");
    }
    if let Some(s) = locations.iter().find(|l| l.is_stream()) {
        return Err(Error::usage(format!(
            "{s}: read a stream with `etl ingest` (or an ingest stage), which commits its offsets with the output"
        )));
    }
    if let Some(db) = locations.iter().find(|l| l.is_database()) {
        return Err(Error::usage(format!(
            "{db}: reading a database needs --query SQL or --table NAME (one database input at a time)"
        )));
    }
    let mut files = Vec::new();
    // Remote files are downloaded first (transfer::spool); they keep their URL as name.
    let mut spooled = std::collections::HashMap::new();
    for loc in locations {
        if loc.is_file_store() {
            for s in crate::transfer::spool::fetch(loc, &visible)? {
                let path = s.temp.to_path_buf();
                files.push(InputFile {
                    path: path.clone(),
                    partitions: partitions_of(&s.relative),
                });
                spooled.insert(path, (s.shown, s.temp));
            }
        } else {
            files.extend(expand(loc)?);
        }
    }
    let partition_types = partition_types(&files);
    let mut frames = Vec::with_capacity(files.len());
    for file in &files {
        let spool = spooled.remove(&file.path);
        let shown = match &spool {
            Some((name, _)) => name.clone(),
            None => file.path.display().to_string(),
        };
        let mut frame = match open_file(&file.path, opts) {
            Ok(f) => f,
            Err(e) if spool.is_some() => return Err(rename(e, &file.path, &shown)),
            Err(e) => return Err(e),
        };
        if let Some((_, temp)) = spool {
            frame = frame.with_temp(temp);
        }
        if !file.partitions.is_empty() {
            let cols: Vec<Expr> = file
                .partitions
                .iter()
                .map(|(k, v)| {
                    partition_value(v, partition_types.get(k).copied().unwrap_or(false))
                        .alias(k.as_str())
                })
                .collect();
            frame = frame.map_keep_rows(move |lf| lf.with_columns(cols.clone()))?;
        }
        frame = add_source_column(frame, prov, &shown)?;
        frames.push((shown, frame));
    }
    // The plan reads the files when it runs, later: until then, the bytes
    // the process reads stand for its progress.
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let label = match frames.as_slice() {
        [(shown, _)] => format!("reading {shown}"),
        many => format!("reading {} files", many.len()),
    };
    crate::progress::start_reads(&label, total);
    if frames.len() == 1 {
        return Ok(frames.pop().unwrap().1);
    }
    concat_by_name(frames)
}

/// A partition key is an integer when every value of it, at whatever
/// folder level, parses as one; Hive's null marker says nothing either way.
fn partition_types(files: &[InputFile]) -> std::collections::HashMap<String, bool> {
    let mut ints = std::collections::HashMap::new();
    for f in files {
        for (k, v) in &f.partitions {
            if v == HIVE_NULL {
                ints.entry(k.clone()).or_insert(true);
                continue;
            }
            let is_int = v.parse::<i64>().is_ok();
            ints.entry(k.clone())
                .and_modify(|all: &mut bool| *all &= is_int)
                .or_insert(is_int);
        }
    }
    ints
}

const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// A partition column's value: Int64 for integer keys (as polars types the
/// Hive columns it finds itself), else String.
fn partition_value(v: &str, int: bool) -> Expr {
    let dtype = if int {
        DataType::Int64
    } else {
        DataType::String
    };
    if v == HIVE_NULL {
        return lit(NULL).cast(dtype);
    }
    match (int, v.parse::<i64>()) {
        (true, Ok(i)) => lit(i).cast(dtype),
        _ => lit(v.to_string()),
    }
}

fn add_source_column(frame: Frame, prov: &Provenance, shown: &str) -> Result<Frame> {
    match &prov.source_column {
        None => Ok(frame),
        Some(name) => {
            let (name, value) = (name.clone(), shown.to_string());
            frame.map_keep_rows(move |lf| lf.with_column(lit(value.clone()).alias(name.as_str())))
        }
    }
}

/// Opens the rows of a query or table in a database (postgres://,
/// mysql://, sqlite://) as a frame of batches.
pub fn open_database(location: &Location, what: &crate::db::DbRead) -> Result<Frame> {
    crate::db::open(location, what)
}

/// Opens one local file in its detected (or forced) format.
pub fn open_file(path: &Path, opts: &ReadOptions) -> Result<Frame> {
    if is_stream(path) {
        return open_stream(path, opts);
    }
    let (fmt, codec) = sniff::detect(path, opts.format).map_err(|e| {
        if e.kind == crate::error::ErrorKind::Io {
            e.context(path.display())
        } else {
            e
        }
    })?;
    let shown = path.display().to_string();
    let schema = opts.schema.as_ref();
    let frame = match fmt {
        Format::Csv => {
            let scan = format::csv::scan(
                path,
                codec,
                &opts.csv,
                schema,
                opts.infer_rows,
                opts.row_limit,
                opts.reader,
            )?;
            let data_rows = scan
                .prepared
                .records
                .saturating_sub(u64::from(opts.csv.has_header));
            let complete = scan.prepared.complete;
            let explain_path = scan.prepared.path.clone();
            let dialect = scan.dialect.clone();
            let has_header = opts.csv.has_header;
            let shown2 = shown.clone();
            let mut frame = Frame::lazy(scan.lf).with_explainer(Arc::new(move |e: &Error| {
                format::csv::explain_parse_error(
                    &explain_path,
                    &shown2,
                    &dialect,
                    has_header,
                    &e.message,
                )
            }));
            if let Some(t) = scan.prepared.temp {
                frame = frame.with_temp(t);
            }
            if complete {
                frame = frame.with_rows(data_rows);
            }
            frame
        }
        Format::Parquet => {
            let rows = format::parquet::row_count(path).ok().map(|r| r as u64);
            let mut f = Frame::lazy(format::parquet::scan(path, opts.reader)?);
            f.rows = rows;
            f
        }
        Format::Ipc => {
            let mut lf = format::ipc::scan_file(path)?;
            lf.collect_schema().map_err(|e| {
                Error::data(format!(
                    "{shown}: not a readable Arrow IPC file ({})",
                    crate::error::polars_message(&e)
                ))
            })?;
            Frame::lazy(lf)
        }
        Format::IpcStream => {
            let file = std::fs::File::open(path)?;
            Frame::batches(format::ipc::read_stream(
                std::io::BufReader::new(file),
                shown.clone(),
            )?)
        }
        Format::Json => {
            let (lf, temp, rows) =
                format::json::read_array(path, codec, schema, opts.infer_rows, opts.row_limit)?;
            let frame = Frame::lazy(lf).with_temp(temp);
            match rows {
                Some(n) => frame.with_rows(n),
                None => frame,
            }
        }
        Format::Ndjson => {
            let (read_path, temp) = if codec == format::Codec::None {
                (path.to_path_buf(), None)
            } else {
                let enough = format::json::rows_needed(opts.row_limit, opts.infer_rows);
                let t = format::text_input::decompress_lines_to_temp(path, codec, enough)?;
                (t.to_path_buf(), Some(t))
            };
            let mut frame = Frame::lazy(
                format::json::scan_lines(&read_path, schema, opts.infer_rows)
                    .map_err(|e| rename(e, &read_path, &shown))?,
            );
            if let Some(t) = temp {
                frame = frame.with_temp(t);
            }
            frame
        }
        Format::Avro => Frame::batches(format::avro::read(path)?),
        Format::Orc => {
            let rows = format::orc::row_count(path).ok();
            let mut f = Frame::batches(format::orc::read(path)?);
            f.rows = rows;
            f
        }
        Format::Excel => Frame::from_df(format::excel::read(path, opts.sheet.as_deref())?),
    };
    let mut frame = frame;
    if frame.rows.is_none() {
        if let FrameData::Lazy(lf) = &frame.data {
            if fmt != Format::Ndjson {
                frame.rows = lf
                    .clone()
                    .select([len()])
                    .collect()
                    .ok()
                    .and_then(|df| df.column("len").ok()?.get(0).ok()?.extract::<u64>());
            }
        }
    }
    Ok(frame)
}

/// A named pipe, `/dev/stdin` or a process substitution (`<(zcat x.gz)`):
/// its bytes can be read only once, and reading a table takes several
/// passes (sniffing, the CSV check, parsing).
fn is_stream(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Reads a non-seekable input once into a scratch file (keeping its name
/// for format detection) and opens that; messages name the original.
fn open_stream(path: &Path, opts: &ReadOptions) -> Result<Frame> {
    let shown = path.display().to_string();
    let temp = spool_stream(path)?;
    let frame = open_file(&temp, opts).map_err(|e| rename(e, &temp, &shown))?;
    Ok(frame.with_temp(temp))
}

/// A named pipe or process substitution read once into a scratch file that
/// keeps its name (for format detection by extension); `None` for a file.
pub fn spool_if_stream(path: &Path) -> Result<Option<tempfile::TempPath>> {
    if is_stream(path) {
        spool_stream(path).map(Some)
    } else {
        Ok(None)
    }
}

fn spool_stream(path: &Path) -> Result<tempfile::TempPath> {
    let shown = path.display().to_string();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let scratch = crate::cleanup::scratch_file("stream", &format!("-{name}"))?;
    let mut input = std::fs::File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(&*scratch)?);
    std::io::copy(&mut input, &mut w).map_err(|e| Error::from(e).context(&shown))?;
    std::io::Write::flush(&mut w)?;
    Ok(scratch.into_temp_path())
}

/// `e` with the scratch path `temp` replaced by the name the user gave.
pub(crate) fn rename(e: Error, temp: &Path, shown: &str) -> Error {
    Error::new(
        e.kind,
        e.message.replace(&temp.display().to_string(), shown),
    )
}

/// Stdin: an Arrow IPC stream (by its first bytes) or text, which is
/// spooled to a temporary file and read like any file.
fn open_stdin(opts: &ReadOptions) -> Result<Frame> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::usage(
            "no input: give a file, folder, glob or URL, or pipe data into etl",
        ));
    }
    let mut head = Vec::with_capacity(8);
    stdin.lock().take(8).read_to_end(&mut head)?;
    let rest = std::io::Cursor::new(head.clone()).chain(std::io::stdin());
    if matches!(sniff::magic(&head), sniff::Magic::Format(Format::IpcStream))
        && opts
            .format
            .is_none_or(|f| f == Format::IpcStream || f == Format::Ipc)
    {
        return Ok(Frame::batches(format::ipc::read_stream(
            rest,
            "stdin".into(),
        )?));
    }
    if head.is_empty() {
        return Err(Error::data(
            "stdin: no data arrived (the upstream command wrote nothing)",
        ));
    }
    let fmt = opts.format.unwrap_or_else(|| match sniff::magic(&head) {
        sniff::Magic::Format(f) => f,
        _ => sniff::text_format(&head),
    });
    let path =
        crate::cleanup::scratch_file("stdin", &format!(".{}", fmt.extension()))?.into_temp_path();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
    std::io::copy(&mut { rest }, &mut w)?;
    std::io::Write::flush(&mut w)?;
    drop(w);
    let mut forced = opts.clone();
    forced.format = Some(fmt);
    let frame = open_file(&path, &forced).map_err(|e| rename(e, &path, "stdin"))?;
    Ok(frame.with_temp(path))
}
