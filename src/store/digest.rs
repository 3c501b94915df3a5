//! Checksums of file contents: SHA-256 (what etl stores as object metadata
//! and writes into manifests) and the S3 ETag (MD5 of the bytes, or for a
//! multipart upload the MD5 of the parts' MD5s followed by `-N`).

use sha2::{Digest as _, Sha256};

/// The metadata key under which etl stores an object's SHA-256 (hex).
/// (letters only: Azure metadata names must be C# identifiers).
pub const SHA256_KEY: &str = "etlsha256";

/// The part size of multipart uploads (and of the ETags etl computes):
/// 8 MiB like the AWS CLI, doubled until the file fits in 10,000 parts.
pub fn part_size(size: u64) -> u64 {
    let mut p: u64 = 8 << 20;
    while size.div_ceil(p) > 10_000 {
        p *= 2;
    }
    p
}

/// A checksum a store can give cheaply or etl can compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Digest {
    Sha256(String),
    /// An S3 ETag in its usual form (lower-case hex, `-N` for multipart).
    Etag(String),
}

impl Digest {
    pub fn kind(&self) -> DigestKind {
        match self {
            Digest::Sha256(_) => DigestKind::Sha256,
            Digest::Etag(_) => DigestKind::Etag,
        }
    }
    /// How manifests show it: `sha256:…` or `etag:…`.
    pub fn label(&self) -> String {
        match self {
            Digest::Sha256(h) => format!("sha256:{h}"),
            Digest::Etag(e) => format!("etag:{e}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    Sha256,
    Etag,
}

/// An S3 ETag when it is one etl can reproduce (MD5 hex, optionally `-N`).
pub fn s3_etag(raw: &str) -> Option<String> {
    let e = raw.trim().trim_matches('"').to_ascii_lowercase();
    let (hex, parts) = match e.split_once('-') {
        Some((h, n)) => (h, Some(n)),
        None => (e.as_str(), None),
    };
    let hex_ok = hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let parts_ok = parts.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    (hex_ok && parts_ok).then_some(e)
}

/// Computes the digests asked for while bytes stream past.
pub struct Hasher {
    sha: Option<Sha256>,
    etag: Option<EtagHasher>,
}

impl Hasher {
    pub fn new(kinds: &[DigestKind], size: u64) -> Hasher {
        Hasher {
            sha: kinds.contains(&DigestKind::Sha256).then(Sha256::new),
            etag: kinds
                .contains(&DigestKind::Etag)
                .then(|| EtagHasher::new(part_size(size))),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        if let Some(s) = &mut self.sha {
            s.update(data);
        }
        if let Some(e) = &mut self.etag {
            e.update(data);
        }
    }

    /// Like `update` for a whole upload part whose MD5 is already known
    /// (SHA-256, when asked for, still reads the bytes).
    pub fn update_part(&mut self, data: &[u8], md5: [u8; 16]) {
        if let Some(s) = &mut self.sha {
            s.update(data);
        }
        if let Some(e) = &mut self.etag {
            if e.in_part == 0 && data.len() as u64 <= e.part {
                e.parts.push(md5);
                if data.len() as u64 == e.part {
                    return;
                }
                // A short part is the last one: nothing follows it.
                e.closed = true;
            } else {
                e.update(data);
            }
        }
    }

    pub fn finish(self) -> Vec<Digest> {
        let mut out = Vec::new();
        if let Some(s) = self.sha {
            out.push(Digest::Sha256(hex::encode(s.finalize())));
        }
        if let Some(e) = self.etag {
            out.push(Digest::Etag(e.finish()));
        }
        out
    }
}

/// The S3 ETag of a byte stream uploaded in parts of `part` bytes (a
/// single PUT when it fits in one part).
pub struct EtagHasher {
    part: u64,
    in_part: u64,
    current: md5::Context,
    parts: Vec<[u8; 16]>,
    /// The last (short) part was given whole.
    closed: bool,
}

impl EtagHasher {
    pub fn new(part: u64) -> EtagHasher {
        EtagHasher {
            part,
            in_part: 0,
            current: md5::Context::new(),
            parts: Vec::new(),
            closed: false,
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = (self.part - self.in_part) as usize;
            let take = room.min(data.len());
            self.current.consume(&data[..take]);
            self.in_part += take as u64;
            data = &data[take..];
            if self.in_part == self.part {
                let done = std::mem::replace(&mut self.current, md5::Context::new());
                self.parts.push(done.finalize().0);
                self.in_part = 0;
            }
        }
    }

    pub fn finish(mut self) -> String {
        if !self.closed && (self.in_part > 0 || self.parts.is_empty()) {
            self.parts.push(self.current.finalize().0);
        }
        combine_etag(&self.parts)
    }
}

/// The ETag of an upload whose parts had these MD5s.
pub fn combine_etag(parts: &[[u8; 16]]) -> String {
    if parts.len() == 1 {
        return hex::encode(parts[0]);
    }
    let mut all = md5::Context::new();
    for p in parts {
        all.consume(p);
    }
    format!("{}-{}", hex::encode(all.finalize().0), parts.len())
}

pub fn md5_of(data: &[u8]) -> [u8; 16] {
    md5::compute(data).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_of_one_part_is_the_md5() {
        let mut h = EtagHasher::new(8);
        h.update(b"hello");
        assert_eq!(h.finish(), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn multipart_etag_combines_part_md5s() {
        let mut h = EtagHasher::new(4);
        h.update(b"abcdef");
        h.update(b"gh");
        let want = combine_etag(&[md5_of(b"abcd"), md5_of(b"efgh")]);
        assert_eq!(h.finish(), want);
        assert!(want.ends_with("-2"));
    }

    #[test]
    fn known_part_md5s_give_the_same_etag() {
        let mut a = Hasher::new(&[DigestKind::Etag], 10);
        a.update(b"0123456789");
        let mut h = EtagHasher::new(4);
        h.update(b"0123456789");
        let want = h.finish();
        let mut b = Hasher {
            sha: None,
            etag: Some(EtagHasher::new(4)),
        };
        for part in [&b"0123"[..], b"4567", b"89"] {
            b.update_part(part, md5_of(part));
        }
        assert_eq!(b.finish(), vec![Digest::Etag(want)]);
        drop(a);
    }

    #[test]
    fn etags_are_recognised() {
        assert_eq!(
            s3_etag("\"A5C0286156801570FA6C16B23D5731F4-3\"").as_deref(),
            Some("a5c0286156801570fa6c16b23d5731f4-3")
        );
        assert_eq!(s3_etag("0x8DC1234"), None);
    }

    #[test]
    fn part_size_keeps_under_ten_thousand_parts() {
        assert_eq!(part_size(1 << 30), 8 << 20);
        assert!((200u64 << 30).div_ceil(part_size(200 << 30)) <= 10_000);
    }
}
