//! Host keys in an OpenSSH `known_hosts` file, by OpenSSH's rules: host
//! patterns with `*`/`?` wildcards and `!` negation, hashed names
//! (`|1|salt|hash`), `[host]:port` for other ports, `@revoked` keys never
//! accepted, and a host known by any key never silently given another.

use std::io::BufRead;
use std::path::Path;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{self, Algorithm, PublicKey};
use sha1::Sha1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Status {
    /// A line for this host holds this key.
    Known,
    /// An `@revoked` line holds this key (its line number).
    Revoked(usize),
    /// The host is known by other keys: of the same type if any (its line
    /// number), else of another type.
    Changed(usize),
    /// No line names this host.
    Unknown,
}

struct Entry {
    line: usize,
    revoked: bool,
    key: PublicKey,
}

/// The name known_hosts lines use for `host` at `port`.
fn host_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The lines of `file` that name this host (a missing file names none).
fn entries(file: &Path, host: &str, port: u16) -> std::io::Result<Vec<Entry>> {
    let f = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let name = host_name(host, port);
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line?;
        let mut fields = line.split_whitespace();
        let Some(mut first) = fields.next() else {
            continue;
        };
        if first.starts_with('#') {
            continue;
        }
        let mut revoked = false;
        if first.starts_with('@') {
            match first {
                "@revoked" => revoked = true,
                // Host certificates are refused before this; other markers
                // are not OpenSSH's.
                _ => continue,
            }
            let Some(next) = fields.next() else { continue };
            first = next;
        }
        let (Some(_kind), Some(blob)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !hosts_match(&name, first) {
            continue;
        }
        // OpenSSH skips lines it cannot parse.
        if let Ok(key) = keys::parse_public_key_base64(blob) {
            out.push(Entry {
                line: i + 1,
                revoked,
                key,
            });
        }
    }
    Ok(out)
}

/// OpenSSH's `match_hostname`: a negated pattern that matches rules the
/// line out; otherwise any matching pattern rules it in.
fn hosts_match(name: &str, patterns: &str) -> bool {
    let mut matched = false;
    for p in patterns.split(',') {
        let (negated, p) = match p.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, p),
        };
        let hit = match p.strip_prefix("|1|") {
            Some(hashed) => hashed_match(name, hashed),
            None => wildcard_match(name.as_bytes(), p.to_ascii_lowercase().as_bytes()),
        };
        if hit && negated {
            return false;
        }
        matched |= hit;
    }
    matched
}

fn hashed_match(name: &str, hashed: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// `*` is any run of characters, `?` any one.
fn wildcard_match(name: &[u8], pattern: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| wildcard_match(&name[i..], rest)),
        Some((b'?', rest)) => !name.is_empty() && wildcard_match(&name[1..], rest),
        Some((c, rest)) => name.first() == Some(c) && wildcard_match(&name[1..], rest),
    }
}

/// What `file` says of `key` offered by `host` at `port`.
pub(super) fn check(
    file: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
) -> std::io::Result<Status> {
    let entries = entries(file, host, port)?;
    let same = |e: &Entry| e.key.key_data() == key.key_data();
    if let Some(e) = entries.iter().find(|e| e.revoked && same(e)) {
        return Ok(Status::Revoked(e.line));
    }
    let known: Vec<&Entry> = entries.iter().filter(|e| !e.revoked).collect();
    if known.iter().any(|e| same(e)) {
        return Ok(Status::Known);
    }
    let same_type = known.iter().find(|e| e.key.algorithm() == key.algorithm());
    match same_type.or(known.first()) {
        Some(e) => Ok(Status::Changed(e.line)),
        None => Ok(Status::Unknown),
    }
}

/// The host key algorithms to ask the server for: those of the keys
/// `file` knows for this host first (as OpenSSH does), so that a host known
/// by its ECDSA or RSA key presents that key rather than another.
pub(super) fn preferred_algorithms(file: &Path, host: &str, port: u16) -> Vec<Algorithm> {
    let known: Vec<Algorithm> = entries(file, host, port)
        .unwrap_or_default()
        .iter()
        .filter(|e| !e.revoked)
        .map(|e| e.key.algorithm())
        .collect();
    let is_known = |a: &Algorithm| {
        known.iter().any(|k| match (k, a) {
            (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
            (k, a) => k == a,
        })
    };
    let defaults = russh::Preferred::DEFAULT.key;
    let (mut first, rest): (Vec<Algorithm>, Vec<Algorithm>) =
        defaults.iter().cloned().partition(|a| is_known(a));
    first.extend(rest);
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINOwQ0IR2SNmV/UNyZSkhPN/kf0mjct0lR41L0NT8AbL";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHTSIvryRKK4fhTiUUxT0O7dppbBAck+jsfFgkp8NUnE";
    const EC: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAKN37AIs/81r6vdxKyGyUnFksbBlt5HkjlLM63caBiWeCnpQSu7cGMyyalTP7ynQ5Nc/3oDjBYz1C9tre0xOxc=";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC1GiE4av9uIDIgzUw4qjiq5SzeD0ZHlRSStKHE4OCYarcb5T3f+o6MHCxeT9qrW/4kR/c6VDRI7UUGrxjsUVVs2+kbEngvfhWmo+aYH176364c6wlCbfl7gtD2SVHUoSG49VPVYrGMucdlWHWhdZreiufHKJkDt4lGbPTz6if5rQ==";

    fn key(line: &str) -> PublicKey {
        keys::parse_public_key_base64(line.split(' ').nth(1).unwrap()).unwrap()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    fn status(text: &str, offered: &str) -> Status {
        let f = file(text);
        check(f.path(), "127.0.0.1", 2222, &key(offered)).unwrap()
    }

    #[test]
    fn a_key_of_another_type_for_a_known_host_is_a_change() {
        let text = format!("[127.0.0.1]:2222 {EC}\n");
        assert_eq!(status(&text, EC), Status::Known);
        assert_eq!(status(&text, ED), Status::Changed(1));
        assert_eq!(status(&text, RSA), Status::Changed(1));
        let text = format!("[127.0.0.1]:2222 {RSA}\n[127.0.0.1]:2222 {ED}\n");
        assert_eq!(status(&text, ED2), Status::Changed(2));
        assert_eq!(status(&text, RSA), Status::Known);
        assert_eq!(status(&format!("other {ED}\n"), ED), Status::Unknown);
    }

    #[test]
    fn revoked_keys_are_never_accepted() {
        let text = format!("@revoked * {ED}\n[127.0.0.1]:2222 {ED}\n");
        assert_eq!(status(&text, ED), Status::Revoked(1));
        let text = format!("@revoked * {ED2}\n");
        assert_eq!(status(&text, ED), Status::Unknown);
    }

    #[test]
    fn patterns_negation_and_hashed_names() {
        assert_eq!(
            status(&format!("[127.0.0.*]:2222 {ED}\n"), ED),
            Status::Known
        );
        assert_eq!(
            status(&format!("*,![127.0.0.1]:2222 {ED}\n"), ED),
            Status::Unknown
        );
        assert_eq!(
            status(&format!("[127.0.0.1]:22 {ED}\n"), ED),
            Status::Unknown
        );
        let salt = b"0123456789abcdefghij";
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(salt)
            .unwrap()
            .chain_update(b"[127.0.0.1]:2222")
            .finalize()
            .into_bytes();
        let hashed = format!("|1|{}|{}", BASE64.encode(salt), BASE64.encode(&mac));
        assert_eq!(status(&format!("{hashed} {ED}\n"), ED), Status::Known);
        assert_eq!(status(&format!("{hashed} {EC}\n"), ED), Status::Changed(1));
    }

    #[test]
    fn known_key_types_are_asked_for_first() {
        let f = file(&format!("[127.0.0.1]:2222 {RSA}\n[127.0.0.1]:2222 {EC}\n"));
        let order = preferred_algorithms(f.path(), "127.0.0.1", 2222);
        assert_eq!(
            order[0],
            Algorithm::Ecdsa {
                curve: keys::EcdsaCurve::NistP256
            }
        );
        assert!(matches!(order[1], Algorithm::Rsa { .. }), "{order:?}");
        assert!(order.contains(&Algorithm::Ed25519));
        let f = file("");
        assert_eq!(
            preferred_algorithms(f.path(), "h", 22)[0],
            Algorithm::Ed25519
        );
    }
}
