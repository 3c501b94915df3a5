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

/// A text encoding by its WHATWG label (`utf-8`, `latin1`, `windows-1252`,
/// `utf-16le`, ...) or by the spellings Python, Java and iconv use for the
/// same encodings (`latin-1`, `ISO8859_1`, `cp1252`, `utf_16_le`, `Cp1250`,
/// `mac_roman`, `sjis`, ...): case, `-`, `_`, `.` and spaces do not matter.
pub fn encoding(label: &str) -> Result<&'static encoding_rs::Encoding> {
    let trimmed = label.trim();
    let found = encoding_rs::Encoding::for_label(trimmed.as_bytes())
        .or_else(|| encoding_alias(&squash(trimmed)));
    match found {
        // WHATWG maps some labels (iso-2022-kr, hz-gb-2312, ...) to an
        // encoding that decodes every input to U+FFFD: refuse those.
        Some(e) if e != encoding_rs::REPLACEMENT => Ok(e),
        _ => Err(Error::usage(format!(
            "unknown --encoding '{label}' (examples: utf-8, utf-16le, utf-16be, latin-1, \
             iso-8859-15, cp1252, windows-1250, koi8-r, mac_roman, shift_jis, euc-kr, gbk, big5)"
        ))),
    }
}

/// Lower case letters and digits only: `ISO_8859-1` → `iso88591`.
fn squash(label: &str) -> String {
    label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Encodings by their squashed non-WHATWG names.
fn encoding_alias(squashed: &str) -> Option<&'static encoding_rs::Encoding> {
    use encoding_rs::Encoding;
    let label = |l: &str| Encoding::for_label(l.as_bytes());
    let named = match squashed {
        "utf8" | "u8" | "utf" | "cp65001" => Some("utf-8"),
        "utf16" | "utf16le" | "u16" | "unicodelittleunmarked" | "xutf16lebom" | "ucs2" => {
            Some("utf-16le")
        }
        "utf16be" | "unicodebigunmarked" => Some("utf-16be"),
        "latin" | "latin1" | "l1" | "iso88591" | "88591" | "iso885911987" | "cp819" => {
            Some("windows-1252")
        }
        "latin2" | "l2" => Some("iso-8859-2"),
        "latin3" | "l3" => Some("iso-8859-3"),
        "latin4" | "l4" => Some("iso-8859-4"),
        "latin5" | "l5" => Some("windows-1254"),
        "latin6" | "l6" => Some("iso-8859-10"),
        "latin7" | "l7" => Some("iso-8859-13"),
        "latin8" | "l8" => Some("iso-8859-14"),
        "latin9" | "l9" => Some("iso-8859-15"),
        "latin10" | "l10" => Some("iso-8859-16"),
        "cyrillic" => Some("iso-8859-5"),
        "macroman" | "xmacroman" | "mac" | "macintosh" => Some("macintosh"),
        "maccyrillic" | "xmaccyrillic" => Some("x-mac-cyrillic"),
        "shiftjis" | "sjis" | "mskanji" | "cp932" | "ms932" | "windows31j" | "xsjis" => {
            Some("shift_jis")
        }
        "eucjp" | "ujis" => Some("euc-jp"),
        "iso2022jp" | "csiso2022jp" => Some("iso-2022-jp"),
        "euckr" | "cp949" | "ms949" | "uhc" | "ksc5601" => Some("euc-kr"),
        "gbk" | "cp936" | "ms936" | "gb2312" | "euccn" | "xgbk" => Some("gbk"),
        "gb18030" => Some("gb18030"),
        "big5" | "cp950" | "ms950" | "big5hkscs" | "big5tw" => Some("big5"),
        "koi8r" | "koi8" => Some("koi8-r"),
        "koi8u" | "koi8ru" => Some("koi8-u"),
        "cp866" | "ibm866" | "866" => Some("ibm866"),
        "ascii" | "usascii" | "ansix341968" | "us" | "646" => Some("windows-1252"),
        _ => None,
    };
    if let Some(n) = named {
        return label(n);
    }
    // Families with a number: cp1250, Cp1252, windows_1251, win1256, ms874,
    // iso8859_15, ISO-8859-2, 8859_5.
    let number = |prefixes: &[&str]| {
        prefixes.iter().find_map(|p| {
            squashed
                .strip_prefix(p)
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    if let Some(n) = number(&["windows", "win", "cp", "ms", "xcp"]) {
        return label(&format!("windows-{n}"));
    }
    if let Some(n) = number(&["iso8859", "8859"]) {
        return label(&format!("iso-8859-{n}"));
    }
    None
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

/// How much of an input a row limit needs read, in records (the header
/// included).
#[derive(Debug, Clone, Copy)]
pub struct Enough {
    /// Records checked when the file is used as it is.
    pub checked: u64,
    /// Records a copy holds (`None`: all); at least `checked`.
    pub copied: Option<u64>,
}

/// Reads the whole input once: decodes it, checks every record's shape and
/// writes a normalised copy only when the bytes must change.
/// With `enough`, only the start is read: a plain UTF-8 file is checked
/// until `checked` records are seen, and a copy (decompressed, transcoded)
/// holds `copied` records: `etl head` of a multi-GB file, or of a small gzip
/// that expands to one, reads only its start.
/// Blank lines are not records: a file holding some is copied without them
/// (polars would read each as a row of nulls).
pub fn prepare_csv(
    src: &TextSource<'_>,
    dialect: &Dialect,
    header: &[String],
    enough: Option<Enough>,
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
    enough: Option<Enough>,
    force_copy: bool,
) -> Result<Prepared> {
    let shown = src.path.display().to_string();
    let file = File::open(src.path).map_err(|e| Error::from(e).context(&shown))?;
    let bytes = file.metadata()?.len();
    let mut scanner = Scanner::new(dialect.clone(), false);
    let utf8 = src.encoding == encoding_rs::UTF_8;
    let copy = force_copy || src.codec != Codec::None || !utf8 || scanner.rewrites();
    let mut reader = decoder(Counting::new(file), src.codec)?;
    let mut transcoder = (!utf8).then(|| src.encoding.new_decoder_with_bom_removal());
    let (mut out, temp) = if copy {
        let p = crate::cleanup::scratch_file("text", ".csv")?.into_temp_path();
        let f = File::create(&p)?;
        (Some(BufWriter::with_capacity(CHUNK, f)), Some(p))
    } else {
        (None, None)
    };
    let mut buf = vec![0u8; CHUNK];
    let mut utf8_buf = Vec::with_capacity(CHUNK * 3);
    let mut first = true;
    crate::progress::start(&format!("checking {shown}"), Some(bytes));
    // Stops the pass once `enough` records are checked; a copy then holds
    // only those (`etl head` on a gzip reads its start, not all of it).
    let stop_after = enough.and_then(|e| if copy { e.copied } else { Some(e.checked) });
    let mut seen = 0u64;
    let mut complete = true;
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
            complete = false;
            break;
        }
    }
    let records = if complete {
        scanner.finish(&mut skip).map_err(fail)?
    } else {
        scanner.records()
    };
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
        complete,
        bytes,
    }))
}

/// Reads until `buf` is full or the input ends (decoders return short reads).
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
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

/// Decompresses JSON lines into a temporary file; with `max_lines`, only
/// that many lines (a prefix is all `etl head` needs).
pub fn decompress_lines_to_temp(
    path: &Path,
    codec: Codec,
    max_lines: Option<u64>,
) -> Result<tempfile::TempPath> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::from(e).context(&shown))?;
    let size = file.metadata().map(|m| m.len()).ok();
    let mut reader = decoder(Counting::new(file), codec)?;
    let p = crate::cleanup::scratch_file("text", ".ndjson")?.into_temp_path();
    let mut w = BufWriter::with_capacity(CHUNK, File::create(&p)?);
    let mut buf = vec![0u8; CHUNK];
    let mut lines = 0u64;
    crate::progress::start(&format!("reading {shown}"), size);
    loop {
        let n = read_full(&mut reader, &mut buf).map_err(|e| {
            crate::progress::finish();
            Error::data(format!(
                "{shown}: cannot decompress {codec} data ({})",
                crate::error::io_message(&e)
            ))
        })?;
        if n == 0 {
            break;
        }
        let mut take = n;
        if let Some(max) = max_lines {
            for at in memchr::memchr_iter(b'\n', &buf[..n]) {
                lines += 1;
                if lines >= max {
                    take = at + 1;
                    break;
                }
            }
        }
        w.write_all(&buf[..take])?;
        if take < n || max_lines.is_some_and(|m| lines >= m) {
            break;
        }
    }
    crate::progress::finish();
    w.flush()?;
    Ok(p)
}

/// Reports the bytes read through it as progress (of the file on disk,
/// before decompression).
pub struct Counting<R> {
    inner: R,
    done: u64,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Counting { inner, done: 0 }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        crate::progress::bytes(self.done);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::encoding;

    #[test]
    fn common_spellings_of_each_encoding_resolve() {
        let cases: &[(&str, &[&str])] = &[
            (
                "UTF-8",
                &["utf-8", "UTF8", "utf_8", "u8", "Utf-8 ", "cp65001"],
            ),
            (
                "UTF-16LE",
                &[
                    "utf-16le",
                    "utf-16-le",
                    "UTF_16LE",
                    "utf_16_le",
                    "utf-16",
                    "UnicodeLittleUnmarked",
                ],
            ),
            ("UTF-16BE", &["utf-16be", "UTF_16_BE", "utf-16-be"]),
            (
                "windows-1252",
                &[
                    "latin1",
                    "latin-1",
                    "Latin_1",
                    "ISO-8859-1",
                    "iso8859-1",
                    "ISO8859_1",
                    "8859_1",
                    "l1",
                    "cp1252",
                    "Cp1252",
                    "windows_1252",
                    "ascii",
                    "us-ascii",
                ],
            ),
            (
                "ISO-8859-15",
                &[
                    "iso-8859-15",
                    "ISO8859_15",
                    "latin-9",
                    "latin9",
                    "iso_8859_15",
                ],
            ),
            ("ISO-8859-2", &["latin2", "latin-2", "iso8859_2"]),
            (
                "windows-1250",
                &["cp1250", "Cp1250", "windows-1250", "win1250", "ms-1250"],
            ),
            ("windows-1251", &["cp1251", "windows_1251"]),
            (
                "macintosh",
                &["mac_roman", "MacRoman", "x-MacRoman", "macintosh"],
            ),
            (
                "Shift_JIS",
                &[
                    "shift_jis",
                    "shift-jis",
                    "sjis",
                    "cp932",
                    "MS932",
                    "windows-31j",
                ],
            ),
            ("EUC-KR", &["euc-kr", "euc_kr", "cp949"]),
            ("GBK", &["gbk", "GB2312", "cp936", "gb_2312"]),
            ("Big5", &["big5", "big5-hkscs", "cp950"]),
            ("KOI8-R", &["koi8-r", "koi8_r", "KOI8R"]),
        ];
        for (name, spellings) in cases {
            for s in *spellings {
                match encoding(s) {
                    Ok(e) => assert_eq!(e.name(), *name, "{s}"),
                    Err(e) => panic!("{s}: {}", e.message),
                }
            }
        }
    }

    #[test]
    fn unknown_or_replacement_encodings_are_refused_with_examples() {
        for s in ["utf-32", "cp437", "latin99", "iso-2022-kr", "", "ebcdic"] {
            let e = encoding(s).expect_err(s);
            assert!(e.message.contains(&format!("'{s}'")), "{}", e.message);
            assert!(e.message.contains("latin-1, "), "{}", e.message);
        }
    }
}
