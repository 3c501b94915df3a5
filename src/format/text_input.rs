//! Text inputs before parsing: whole-file decompression, transcoding to
//! UTF-8, and the CSV validation pass. The result is a plain UTF-8 file that
//! polars can memory-map and stream: the original when it already is one,
//! otherwise a temporary copy.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::csv_scan::{Dialect, Scanner};
use super::Codec;
use crate::error::{Error, Result};

/// A reader that decompresses `codec`.
pub fn decoder<R: Read + Send + 'static>(inner: R, codec: Codec) -> Result<Box<dyn Read + Send>> {
    Ok(match codec {
        Codec::None => Box::new(inner),
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            inner,
        ))),
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(inner)?),
        Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(inner)),
        Codec::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(inner)),
        other => {
            return Err(Error::usage(format!(
                "{other} is not a whole-file compression for text inputs"
            )))
        }
    })
}

/// A writer that compresses with `codec`; `finish` must be called.
pub enum Encoder<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Bzip2(bzip2::write::BzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
}

impl<W: Write> Encoder<W> {
    pub fn new(inner: W, codec: Codec) -> Result<Self> {
        Ok(match codec {
            Codec::None => Encoder::Plain(inner),
            Codec::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::default(),
            )),
            Codec::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(inner, 3)?),
            Codec::Bzip2 => Encoder::Bzip2(bzip2::write::BzEncoder::new(
                inner,
                bzip2::Compression::default(),
            )),
            Codec::Xz => Encoder::Xz(liblzma::write::XzEncoder::new(inner, 6)),
            other => {
                return Err(Error::usage(format!(
                    "{other} is not a whole-file compression for text outputs"
                )))
            }
        })
    }

    pub fn finish(self) -> Result<W> {
        Ok(match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(e) => e.finish()?,
            Encoder::Zstd(e) => e.finish()?,
            Encoder::Bzip2(e) => e.finish()?,
            Encoder::Xz(e) => e.finish()?,
        })
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Bzip2(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
            Encoder::Bzip2(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
        }
    }
}

/// A text encoding by its WHATWG label (`utf-8`, `latin1`, `windows-1252`, `utf-16le`, ...).
pub fn encoding(label: &str) -> Result<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        Error::usage(format!(
            "unknown --encoding '{label}' (examples: utf-8, latin1, windows-1252, iso-8859-15, utf-16le, shift_jis)"
        ))
    })
}

/// A CSV file ready for polars: UTF-8, uncompressed, validated.
pub struct PreparedText {
    pub path: PathBuf,
    /// Holds the temporary copy alive; `None` when `path` is the original.
    pub temp: Option<tempfile::TempPath>,
    /// Records in the file, the header included when there is one; a lower
    /// bound when the pass stopped early (`complete` false).
    pub records: u64,
    /// Whether every record was read and checked.
    pub complete: bool,
    /// Bytes read from the original file.
    pub bytes: u64,
}

pub struct TextSource<'a> {
    pub path: &'a Path,
    pub codec: Codec,
    pub encoding: &'static encoding_rs::Encoding,
}

const CHUNK: usize = 1 << 20;

/// Reads the whole input once: decodes it, checks every record's shape and
/// writes a normalised copy only when the bytes must change.
/// With `enough`, a plain UTF-8 file is checked only until that many records
/// are seen: `etl head` on a multi-GB file reads only its start.
/// Blank lines are not records: a file holding some is copied without them
/// (polars would read each as a row of nulls).
pub fn prepare_csv(
    src: &TextSource<'_>,
    dialect: &Dialect,
    header: &[String],
    enough: Option<u64>,
) -> Result<PreparedText> {
    match prepare(src, dialect, header, enough, false)? {
        Prepared::Done(p) => Ok(p),
        Prepared::HasBlankLines => match prepare(src, dialect, header, enough, true)? {
            Prepared::Done(p) => Ok(p),
            Prepared::HasBlankLines => unreachable!("a copy never asks for another"),
        },
    }
}

enum Prepared {
    Done(PreparedText),
    /// The file is used as it is unless it holds blank lines: then it must
    /// be copied without them.
    HasBlankLines,
}

fn prepare(
    src: &TextSource<'_>,
    dialect: &Dialect,
    header: &[String],
    enough: Option<u64>,
    force_copy: bool,
) -> Result<Prepared> {
    let shown = src.path.display().to_string();
    let file = File::open(src.path).map_err(|e| Error::from(e).context(&shown))?;
    let bytes = file.metadata()?.len();
    let mut scanner = Scanner::new(dialect.clone(), false);
    let utf8 = src.encoding == encoding_rs::UTF_8;
    let copy = force_copy || src.codec != Codec::None || !utf8 || scanner.rewrites();
    let mut reader = decoder(file, src.codec)?;
    let mut transcoder = (!utf8).then(|| src.encoding.new_decoder_with_bom_removal());
    let (mut out, temp) = if copy {
        let tmp = tempfile::Builder::new()
            .prefix("etl-text-")
            .suffix(".csv")
            .tempfile()?;
        let (f, p) = tmp.into_parts();
        (Some(BufWriter::with_capacity(CHUNK, f)), Some(p))
    } else {
        (None, None)
    };
    let mut buf = vec![0u8; CHUNK];
    let mut utf8_buf = Vec::with_capacity(CHUNK * 3);
    let mut first = true;
    let mut done = 0u64;
    crate::progress::start(&format!("reading {shown}"), Some(bytes));
    // Stops the pass once `enough` records are checked (never when copying:
    // the copy must be whole).
    let stop_after = if copy { None } else { enough };
    let mut seen = 0u64;
    let mut skip = |_: u64, _: &[Vec<u8>]| {
        seen += 1;
        stop_after.is_none_or(|n| seen < n)
    };
    let fail =
        |p: super::csv_scan::ScanProblem| Error::data(format!("{shown}: {}", p.describe(header)));
    loop {
        let n = read_full(&mut reader, &mut buf).map_err(|e| {
            Error::data(format!(
                "{shown}: cannot decompress {} data ({})",
                src.codec,
                crate::error::io_message(&e)
            ))
        })?;
        let last = n == 0;
        done += n as u64;
        crate::progress::bytes(done.min(bytes));
        let mut chunk: &[u8] = &buf[..n];
        if let Some(dec) = transcoder.as_mut() {
            utf8_buf.clear();
            utf8_buf.resize(dec.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16), 0);
            let (_, _, written, _) = dec.decode_to_utf8(chunk, &mut utf8_buf, last);
            utf8_buf.truncate(written);
            chunk = &utf8_buf;
        } else if first && chunk.starts_with(b"\xEF\xBB\xBF") {
            chunk = &chunk[3..];
        }
        first = false;
        let sink: Option<&mut dyn Write> = out.as_mut().map(|w| w as &mut dyn Write);
        let go_on = scanner.feed(chunk, sink, &mut skip).map_err(fail)?;
        if last {
            break;
        }
        if !go_on {
            crate::progress::finish();
            if scanner.blank_lines() > 0 {
                return Ok(Prepared::HasBlankLines);
            }
            let records = scanner.records();
            let path = src.path.to_path_buf();
            return Ok(Prepared::Done(PreparedText {
                path,
                temp: None,
                records,
                complete: false,
                bytes,
            }));
        }
    }
    let records = scanner.finish(&mut skip).map_err(fail)?;
    crate::progress::finish();
    if !copy && scanner.blank_lines() > 0 {
        return Ok(Prepared::HasBlankLines);
    }
    if let Some(w) = out {
        w.into_inner()
            .map_err(|e| Error::io(e.to_string()))?
            .sync_all()
            .ok();
    }
    let path = temp
        .as_ref()
        .map(|t| t.to_path_buf())
        .unwrap_or_else(|| src.path.to_path_buf());
    Ok(Prepared::Done(PreparedText {
        path,
        temp,
        records,
        complete: true,
        bytes,
    }))
}

/// Reads until `buf` is full or the input ends (decoders return short reads).
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Decodes a whole (small) text input into a UTF-8 temporary file, for
/// formats parsed without the CSV scanner (JSON with compression).
pub fn decompress_to_temp(path: &Path, codec: Codec) -> Result<tempfile::TempPath> {
    let file = File::open(path)?;
    let mut reader = decoder(file, codec)?;
    let tmp = tempfile::Builder::new().prefix("etl-text-").tempfile()?;
    let (f, p) = tmp.into_parts();
    let mut w = BufWriter::new(f);
    std::io::copy(&mut reader, &mut w).map_err(|e| {
        Error::data(format!(
            "{}: cannot decompress {codec} data ({e})",
            path.display()
        ))
    })?;
    w.flush()?;
    Ok(p)
}
