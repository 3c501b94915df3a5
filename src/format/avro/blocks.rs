//! The container's framing, checked before any row is read: every block
//! must end with the header's 16-byte sync marker and lie within the file.
//! arrow-avro does not compare sync markers, and a block whose marker is
//! wrong may hold garbage that still decodes; the Avro spec (and fastavro
//! and the Java reader) treat it as corruption. Only block headers are
//! read: the data is skipped with seeks.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Why the framing is wrong, for "not a readable Avro file (…)".
pub fn check(path: &Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut r = BufReader::new(file);
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic)
        .map_err(|_| "no header".to_string())?;
    if &magic != b"Obj\x01" {
        return Err("no Avro header (magic bytes Obj\\x01)".into());
    }
    skip_metadata(&mut r)?;
    let mut sync = [0u8; 16];
    r.read_exact(&mut sync)
        .map_err(|_| "the header ends before its sync marker".to_string())?;
    let mut block = 0u64;
    while !r.fill_buf().map_err(|e| e.to_string())?.is_empty() {
        block += 1;
        let at = r.stream_position().map_err(|e| e.to_string())?;
        let corrupt = |what: &str| format!("corrupt block {block} at byte {at}: {what}");
        let count = long(&mut r).map_err(|_| corrupt("cut short"))?;
        let size = long(&mut r).map_err(|_| corrupt("cut short"))?;
        if count < 0 || size < 0 {
            return Err(corrupt("negative count or size"));
        }
        let here = r.stream_position().map_err(|e| e.to_string())?;
        if here + size as u64 + 16 > len {
            return Err(corrupt("the file ends inside it (truncated?)"));
        }
        r.seek(SeekFrom::Current(size)).map_err(|e| e.to_string())?;
        let mut marker = [0u8; 16];
        r.read_exact(&mut marker)
            .map_err(|_| corrupt("cut short"))?;
        if marker != sync {
            return Err(corrupt("its sync marker differs from the header's"));
        }
    }
    Ok(())
}

/// The header's metadata map: blocks of (count, entries), ending with 0.
fn skip_metadata(r: &mut impl Read) -> Result<(), String> {
    let bad = |_| "corrupt header metadata".to_string();
    loop {
        let mut count = long(r).map_err(bad)?;
        if count == 0 {
            return Ok(());
        }
        if count < 0 {
            count = -count;
            long(r).map_err(bad)?; // the block's size in bytes
        }
        for _ in 0..count * 2 {
            let n = long(r).map_err(bad)?;
            if !(0..=1 << 24).contains(&n) {
                return Err("corrupt header metadata".into());
            }
            std::io::copy(&mut r.take(n as u64), &mut std::io::sink())
                .map_err(|e| e.to_string())?;
        }
    }
}

/// A zig-zag varint long.
fn long(r: &mut impl Read) -> std::io::Result<i64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        value |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
        }
        shift += 7;
        if shift > 63 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn zigzag_longs_decode() {
        for (bytes, want) in [
            (&[0u8][..], 0i64),
            (&[1], -1),
            (&[2], 1),
            (&[0x80, 0x01], 64),
            (&[0x7f], -64),
        ] {
            assert_eq!(super::long(&mut &bytes[..]).unwrap(), want);
        }
    }
}
