//! `topic://DIR`: a local folder that stands in for a broker topic, so a
//! streaming pipeline runs on a machine with no server. Messages are lines
//! of segment files named by their first offset
//! (`00000000000000000000.ndjson`: `{"key", "value", "timestamp",
//! "headers"}`); a produce appends one segment atomically (written hidden,
//! then renamed under a lock); consumer groups keep their next offset in
//! `_groups/GROUP.json`. One partition, 0.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::checkpoint::{sync_dir, sync_file};
use super::ingest::position_key;
use super::options::StreamOptions;
use super::{Consumer, Limits, Message, Positions, Producer};
use crate::error::{Error, ErrorKind, Result};
use crate::location::RemoteUrl;

#[derive(Serialize, Deserialize)]
struct Line {
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// Payloads that are not UTF-8 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_base64: Option<String>,
    timestamp: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    headers: Vec<(String, Option<String>)>,
}

/// The folder of a `topic://` location: everything after `topic://`.
pub fn folder_of(url: &RemoteUrl) -> Result<PathBuf> {
    let text = url.url.as_str();
    let rest = text.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = percent_encoding::percent_decode_str(rest)
        .decode_utf8_lossy()
        .into_owned();
    if path.trim_end_matches('/').is_empty() {
        return Err(Error::usage(format!(
            "{text}: no folder: write topic://DIR (a relative path) or topic:///ABSOLUTE/DIR"
        )));
    }
    Ok(PathBuf::from(path.trim_end_matches('/')))
}

fn topic_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "topic".into())
}

/// Segments (first offset, path), in order.
fn segments(dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!(
                "{}: topic folder not readable ({})",
                dir.display(),
                crate::error::io_message(&e)
            ),
        )
    })?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(base) = name
            .strip_suffix(".ndjson")
            .and_then(|b| b.parse::<i64>().ok())
        {
            out.push((base, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn group_file(dir: &Path, group: &str) -> PathBuf {
    dir.join("_groups").join(format!("{group}.json"))
}

pub struct FolderConsumer {
    dir: PathBuf,
    topic: String,
    group: String,
}

impl FolderConsumer {
    pub fn open(url: &RemoteUrl, opts: &StreamOptions) -> Result<FolderConsumer> {
        let dir = folder_of(url)?;
        if !dir.is_dir() {
            return Err(Error::io(format!(
                "{}: no such topic folder (a produce to topic://{} creates it)",
                dir.display(),
                dir.display()
            )));
        }
        Ok(FolderConsumer {
            topic: topic_name(&dir),
            dir,
            group: opts.group.clone(),
        })
    }

    fn committed(&self) -> Result<i64> {
        match std::fs::read(group_file(&self.dir, &self.group)) {
            Ok(b) => Ok(serde_json::from_slice::<serde_json::Value>(&b)
                .ok()
                .and_then(|v| v["next"].as_i64())
                .unwrap_or(0)),
            Err(_) => Ok(0),
        }
    }
}

impl Consumer for FolderConsumer {
    fn next_batch(&mut self, from: &Positions, limits: &Limits) -> Result<(Vec<Message>, bool)> {
        let start = match from.get(&position_key(&self.topic, 0)) {
            Some(p) => *p,
            None => self.committed()?,
        };
        let mut out = Vec::new();
        let mut bytes = 0u64;
        let segs = segments(&self.dir)?;
        for (i, (base, path)) in segs.iter().enumerate() {
            let end = segs.get(i + 1).map(|s| s.0).unwrap_or(i64::MAX);
            if end <= start {
                continue;
            }
            let file = File::open(path).map_err(|e| Error::from(e).context(path.display()))?;
            for (n, line) in BufReader::new(file).lines().enumerate() {
                let offset = base + n as i64;
                let line = line.map_err(|e| Error::from(e).context(path.display()))?;
                if offset < start {
                    continue;
                }
                let full = limits.max_messages.is_some_and(|m| out.len() as u64 >= m)
                    || limits.max_bytes.is_some_and(|m| bytes >= m);
                if full {
                    return Ok((out, false));
                }
                let l: Line = serde_json::from_str(&line).map_err(|e| {
                    Error::data(format!(
                        "{}: line {}: not a message ({e})",
                        path.display(),
                        n + 1
                    ))
                })?;
                let value = match (l.value, l.value_base64) {
                    (Some(v), _) => Some(v.into_bytes()),
                    (None, Some(b)) => Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(b)
                            .map_err(|e| {
                                Error::data(format!("{}: line {}: {e}", path.display(), n + 1))
                            })?,
                    ),
                    (None, None) => None,
                };
                let m = Message {
                    key: l.key.map(String::into_bytes),
                    value,
                    topic: self.topic.clone(),
                    partition: 0,
                    offset,
                    timestamp: Some(l.timestamp),
                    headers: l
                        .headers
                        .into_iter()
                        .map(|(k, v)| (k, v.map(String::into_bytes)))
                        .collect(),
                };
                bytes += m.size();
                out.push(m);
            }
        }
        Ok((out, true))
    }

    fn commit(&mut self, positions: &Positions, _batch: &[Message]) -> Result<()> {
        let Some(next) = positions.get(&position_key(&self.topic, 0)) else {
            return Ok(());
        };
        let path = group_file(&self.dir, &self.group);
        let dir = path.parent().expect("group file has a folder");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", self.group));
        std::fs::write(&tmp, serde_json::json!({ "next": next }).to_string())?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::from(e).context(path.display()))?;
        Ok(())
    }
}

pub struct FolderProducer {
    dir: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
    sent: u64,
}

impl FolderProducer {
    pub fn open(url: &RemoteUrl) -> Result<FolderProducer> {
        let dir = folder_of(url)?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::from(e).context(dir.display()))?;
        let tmp = dir.join(format!(".produce-{}.tmp", std::process::id()));
        crate::cleanup::track(&tmp);
        let file = File::create(&tmp).map_err(|e| Error::from(e).context(tmp.display()))?;
        Ok(FolderProducer {
            dir,
            tmp,
            out: Some(BufWriter::new(file)),
            sent: 0,
        })
    }
}

impl Producer for FolderProducer {
    fn send(&mut self, key: Option<&[u8]>, value: &[u8], headers: &[(&str, &[u8])]) -> Result<()> {
        let (text, b64) = match std::str::from_utf8(value) {
            Ok(t) => (Some(t.to_string()), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(value)),
            ),
        };
        let line = Line {
            key: key.map(|k| String::from_utf8_lossy(k).into_owned()),
            value: text,
            value_base64: b64,
            timestamp: chrono::Utc::now().timestamp_millis(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), Some(String::from_utf8_lossy(v).into_owned())))
                .collect(),
        };
        let out = self.out.as_mut().expect("send before finish");
        serde_json::to_writer(&mut *out, &line).map_err(|e| Error::io(e.to_string()))?;
        out.write_all(b"\n")?;
        self.sent += 1;
        Ok(())
    }

    /// Appends the messages as one segment, atomically.
    fn finish(&mut self) -> Result<u64> {
        let Some(out) = self.out.take() else {
            return Ok(self.sent);
        };
        out.into_inner().map_err(|e| Error::from(e.into_error()))?;
        sync_file(&self.tmp)?;
        if self.sent == 0 {
            let _ = std::fs::remove_file(&self.tmp);
            crate::cleanup::untrack(&self.tmp);
            return Ok(0);
        }
        let lock = File::create(self.dir.join(".lock"))?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we own; released when it closes.
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        let next = match segments(&self.dir)?.last() {
            Some((base, path)) => {
                let f = File::open(path)?;
                base + BufReader::new(f).lines().count() as i64
            }
            None => 0,
        };
        let target = self.dir.join(format!("{next:020}.ndjson"));
        std::fs::rename(&self.tmp, &target)
            .map_err(|e| Error::from(e).context(target.display()))?;
        crate::cleanup::untrack(&self.tmp);
        sync_dir(&self.dir)?;
        drop(lock);
        Ok(self.sent)
    }
}

impl Drop for FolderProducer {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
            crate::cleanup::untrack(&self.tmp);
        }
    }
}
