//! Format detection: the extension says what a file should be, the first
//! bytes say what it is. Magic bytes of a binary format win over a lying
//! extension; a text file named like a binary format is an error.

use std::io::Read;
use std::path::Path;

use super::{Codec, Format};
use crate::error::{Error, Result};

/// What the first bytes of a file show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Format(Format),
    Compressed(Codec),
    /// A zip container: xlsx, xlsm, xlsb or ods.
    Zip,
    Empty,
    Text,
}

pub fn magic(head: &[u8]) -> Magic {
    if head.is_empty() {
        return Magic::Empty;
    }
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"PAR1") {
        Magic::Format(Format::Parquet)
    } else if starts(b"ORC") {
        Magic::Format(Format::Orc)
    } else if starts(b"Obj\x01") {
        Magic::Format(Format::Avro)
    } else if starts(b"ARROW1") {
        Magic::Format(Format::Ipc)
    } else if starts(&[0xFF, 0xFF, 0xFF, 0xFF]) {
        Magic::Format(Format::IpcStream)
    } else if starts(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Magic::Format(Format::Excel)
    } else if starts(b"PK\x03\x04") {
        Magic::Zip
    } else if starts(&[0x1F, 0x8B]) {
        Magic::Compressed(Codec::Gzip)
    } else if starts(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Magic::Compressed(Codec::Zstd)
    } else if starts(b"BZh") {
        Magic::Compressed(Codec::Bzip2)
    } else if starts(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        Magic::Compressed(Codec::Xz)
    } else {
        Magic::Text
    }
}

/// The format of a text document by its first non-blank character.
pub fn text_format(head: &[u8]) -> Format {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Format::Json,
        Some(b'{') => Format::Ndjson,
        _ => Format::Csv,
    }
}

/// A `.json` file may hold JSON lines (as Spark writes them) and a `.ndjson`
/// file an array: the first character decides.
fn json_flavour(by_name: Format, head: &[u8]) -> Format {
    match (by_name, text_format(head)) {
        (Format::Json | Format::Ndjson, found @ (Format::Json | Format::Ndjson)) => found,
        _ => by_name,
    }
}

fn is_binary_format(f: Format) -> bool {
    !matches!(f, Format::Csv | Format::Json | Format::Ndjson)
}

/// Decides the format and whole-file compression of a local file.
pub fn detect(path: &Path, forced: Option<Format>) -> Result<(Format, Codec)> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(4096)
        .read_to_end(&mut head)?;
    let by_name = Format::from_path(path);
    let shown = path.display();
    match magic(&head) {
        Magic::Format(found) => {
            if let Some(f) = forced {
                if f != found && !(f == Format::Ipc && found == Format::IpcStream) {
                    return Err(Error::usage(format!(
                        "{shown}: --from {f} given, but the file is {found} (by its first bytes)"
                    )));
                }
            }
            Ok((found, Codec::None))
        }
        Magic::Zip => Ok((forced.unwrap_or(Format::Excel), Codec::None)),
        Magic::Compressed(codec) => {
            if let Some(f) = forced {
                return Ok((f, codec));
            }
            let json_by_name = matches!(by_name, Some((Format::Json | Format::Ndjson, _)));
            match by_name {
                Some((f, _)) if !is_binary_format(f) && !json_by_name => Ok((f, codec)),
                _ => {
                    let mut inner = Vec::with_capacity(4096);
                    super::text_input::decoder(std::fs::File::open(path)?, codec)?
                        .take(4096)
                        .read_to_end(&mut inner)
                        .map_err(|e| Error::data(format!("{shown}: corrupt {codec} data ({e})")))?;
                    match by_name {
                        Some((f, _)) if json_by_name => Ok((json_flavour(f, &inner), codec)),
                        _ => Ok((text_format(&inner), codec)),
                    }
                }
            }
        }
        Magic::Empty => {
            let f = forced.or(by_name.map(|(f, _)| f)).unwrap_or(Format::Csv);
            Err(Error::data(format!(
                "{shown}: the file is empty (0 bytes), expected {f} data"
            )))
        }
        Magic::Text => {
            if let Some(f) = forced {
                if is_binary_format(f) {
                    return Err(not_a(path, f));
                }
                return Ok((f, Codec::None));
            }
            match by_name {
                Some((f, _)) if is_binary_format(f) => Err(not_a(path, f)),
                Some((f, codec)) if codec == Codec::None => Ok((json_flavour(f, &head), codec)),
                // Named .gz but not compressed: believe the bytes.
                Some((f, _)) => Ok((json_flavour(f, &head), Codec::None)),
                None => Ok((text_format(&head), Codec::None)),
            }
        }
    }
}

fn not_a(path: &Path, f: Format) -> Error {
    let expected = match f {
        Format::Parquet => "it does not start with the PAR1 magic bytes",
        Format::Orc => "it does not start with the ORC magic bytes",
        Format::Avro => "it does not start with the Avro magic bytes 'Obj\\x01'",
        Format::Excel => "it is neither a zip (xlsx, xlsm, xlsb, ods) nor an OLE (xls) document",
        Format::Ipc | Format::IpcStream => "it does not start with Arrow IPC magic bytes",
        _ => "its bytes do not match",
    };
    let name = match f {
        Format::Excel => "an Excel",
        Format::Orc => "an ORC",
        Format::Avro => "an Avro",
        Format::Ipc | Format::IpcStream => "an Arrow IPC",
        Format::Parquet => "a Parquet",
        _ => "a valid",
    };
    Error::data(format!(
        "{}: not {name} file ({expected}); use --from FORMAT if the name is wrong",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_identify_binary_formats() {
        assert_eq!(magic(b"PAR1xxxx"), Magic::Format(Format::Parquet));
        assert_eq!(magic(b"ORC\x0a"), Magic::Format(Format::Orc));
        assert_eq!(magic(b"Obj\x01"), Magic::Format(Format::Avro));
        assert_eq!(magic(b"ARROW1\0\0"), Magic::Format(Format::Ipc));
        assert_eq!(magic(&[0x1f, 0x8b, 8]), Magic::Compressed(Codec::Gzip));
        assert_eq!(magic(b"id,name\n"), Magic::Text);
        assert_eq!(magic(b""), Magic::Empty);
    }

    #[test]
    fn text_format_by_first_character() {
        assert_eq!(text_format(b"  [{\"a\":1}]"), Format::Json);
        assert_eq!(text_format(b"{\"a\":1}\n"), Format::Ndjson);
        assert_eq!(text_format(b"\xEF\xBB\xBFa,b\n"), Format::Csv);
    }

    #[test]
    fn json_names_follow_the_content() {
        assert_eq!(json_flavour(Format::Json, b"{\"a\":1}\n"), Format::Ndjson);
        assert_eq!(json_flavour(Format::Ndjson, b"[{\"a\":1}]"), Format::Json);
        assert_eq!(json_flavour(Format::Csv, b"{\"a\":1}"), Format::Csv);
    }
}
