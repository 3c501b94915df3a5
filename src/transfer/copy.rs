//! Copying one file: skip it when the destination already has it, else
//! stream it, verify it (size plus a checksum), and retry transient
//! failures with exponential backoff and jitter.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::plan::Item;
use super::FileRecord;
use crate::error::Error;
use crate::store::digest::{Digest, DigestKind, Hasher};
use crate::store::{Fail, FailResult, Place, Stat};

/// Why a copy stopped without failing itself: another file's copy failed.
#[derive(Debug, thiserror::Error)]
#[error("cancelled after another file failed")]
pub struct Cancelled;

fn cancelled() -> Error {
    Error::io(Cancelled.to_string()).with_source(Cancelled)
}

pub struct Shared {
    pub done_bytes: AtomicU64,
    pub done_files: AtomicU64,
    pub files: u64,
    pub stop: AtomicBool,
    pub checksum: bool,
    pub retries: u32,
}

impl Shared {
    fn file_done(&self) {
        let n = self.done_files.fetch_add(1, Ordering::SeqCst) + 1;
        crate::progress::message(&format!("transfer {n}/{} files", self.files));
    }
}

/// Waits before attempt `n + 1`: 0.5 s, 1 s, 2 s, ... up to 30 s, each
/// between half and the full amount (jitter).
fn backoff(n: u32) -> Duration {
    let base = (500u64 << n.min(10)).min(30_000);
    let jitter = 0.5 + fastrand::f64() * 0.5;
    Duration::from_millis((base as f64 * jitter) as u64)
}

pub async fn copy_with_retries(
    src: &Place,
    item: &Item,
    dst: &Place,
    shared: &Shared,
) -> Result<FileRecord, Error> {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Err(cancelled());
        }
        let mut counted = 0u64;
        let result = if attempt > 0 {
            // A dropped SFTP connection comes back for the next attempt.
            match (src.reconnect().await, dst.reconnect().await) {
                (Err(e), _) | (_, Err(e)) => Err(Fail::transient(e)),
                _ => copy_once(src, item, dst, shared, &mut counted).await,
            }
        } else {
            copy_once(src, item, dst, shared, &mut counted).await
        };
        match result {
            Ok((action, checksum)) => {
                if action == "skipped" {
                    shared
                        .done_bytes
                        .fetch_add(item.src_stat.size, Ordering::SeqCst);
                }
                shared.file_done();
                return Ok(FileRecord {
                    source: src.show(&item.src_path),
                    destination: dst.show(&item.dst_path),
                    size: item.src_stat.size,
                    checksum: checksum.map(|d| d.label()),
                    action: action.into(),
                    time: super::now(),
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
            Err(f) => {
                // Bytes of the failed attempt no longer count as done.
                shared.done_bytes.fetch_sub(counted, Ordering::SeqCst);
                if f.transient && attempt < shared.retries && !shared.stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
                let mut e = f.error;
                if f.transient && attempt > 0 {
                    e.message = format!("{} (after {} attempts)", e.message, attempt + 1);
                }
                return Err(e);
            }
        }
    }
}

/// Reads a whole file and computes the digests asked for.
async fn digest_of(place: &Place, path: &str, size: u64, kind: DigestKind) -> FailResult<Digest> {
    let mut r = place.reader(path, size).await?;
    let mut h = Hasher::new(&[kind], size);
    while let Some(chunk) = r.next().await? {
        h.update(&chunk);
    }
    h.finish()
        .into_iter()
        .next()
        .ok_or_else(|| Fail::permanent(Error::io("no digest")))
}

/// A digest from the stat, or computed by reading the file.
async fn digest(place: &Place, path: &str, stat: &Stat, kind: DigestKind) -> FailResult<Digest> {
    match stat.digest(kind) {
        Some(d) => Ok(d.clone()),
        None => digest_of(place, path, stat.size, kind).await,
    }
}

/// Whether the destination already holds the same bytes.
async fn same_content(src: &Place, item: &Item, dst: &Place) -> FailResult<Option<Digest>> {
    let Some(dstat) = &item.dst_stat else {
        return Ok(None);
    };
    if dstat.size != item.src_stat.size {
        return Ok(None);
    }
    // A listing does not carry object metadata: ask for it.
    let dstat = if dst.wants_sha256_metadata() && dstat.digest(DigestKind::Sha256).is_none() {
        match dst.stat(&item.dst_path).await? {
            Some(s) => s,
            None => return Ok(None),
        }
    } else {
        dstat.clone()
    };
    let sstat = &item.src_stat;
    let kind = if dstat.digest(DigestKind::Sha256).is_some() {
        DigestKind::Sha256
    } else if dstat.digest(DigestKind::Etag).is_some() {
        DigestKind::Etag
    } else if sstat.digest(DigestKind::Sha256).is_some() {
        DigestKind::Sha256
    } else if sstat.digest(DigestKind::Etag).is_some() {
        DigestKind::Etag
    } else {
        DigestKind::Sha256
    };
    let a = digest(src, &item.src_path, sstat, kind).await?;
    let b = digest(dst, &item.dst_path, &dstat, kind).await?;
    Ok((a == b).then_some(a))
}

fn mismatch(dst: &Place, item: &Item, what: String) -> Fail {
    // Retried: a corrupted transfer may well succeed the next time.
    Fail::transient(Error::io(format!(
        "{}: verification failed after upload: {what}; the copy was removed",
        dst.show(&item.dst_path)
    )))
}

async fn copy_once(
    src: &Place,
    item: &Item,
    dst: &Place,
    shared: &Shared,
    counted: &mut u64,
) -> FailResult<(&'static str, Option<Digest>)> {
    if let Some(d) = same_content(src, item, dst).await? {
        return Ok(("skipped", Some(d)));
    }
    let size = item.src_stat.size;
    let src_sha = item.src_stat.digest(DigestKind::Sha256).cloned();
    let src_etag = item.src_stat.digest(DigestKind::Etag).cloned();
    // SHA-256 stored as metadata must be known before the upload starts.
    let meta_sha = if dst.wants_sha256_metadata() {
        Some(digest(src, &item.src_path, &item.src_stat, DigestKind::Sha256).await?)
    } else {
        None
    };
    let mut kinds = Vec::new();
    if shared.checksum || src_sha.is_some() || meta_sha.is_some() {
        kinds.push(DigestKind::Sha256);
    }
    if src_etag.is_some() && !dst.has_md5_etag() {
        kinds.push(DigestKind::Etag);
    }
    let meta_hex = match &meta_sha {
        Some(Digest::Sha256(h)) => Some(h.as_str()),
        _ => None,
    };
    let mut reader = src.reader(&item.src_path, size).await?;
    let mut writer = dst.writer(&item.dst_path, size, meta_hex).await?;
    let mut hasher = Hasher::new(&kinds, size);
    let mut read = 0u64;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            writer.abort().await;
            return Err(Fail::permanent(cancelled()));
        }
        let (chunk, md5) = match reader.next_part().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        };
        read += chunk.len() as u64;
        if !kinds.is_empty() {
            match md5 {
                Some(m) => hasher.update_part(&chunk, m),
                None => hasher.update(&chunk),
            }
        }
        if let Err(e) = writer.write(chunk).await {
            writer.abort().await;
            return Err(e);
        }
        let n = read - *counted;
        *counted = read;
        crate::progress::bytes(shared.done_bytes.fetch_add(n, Ordering::SeqCst) + n);
    }
    if read != size {
        writer.abort().await;
        return Err(Fail::transient(Error::io(format!(
            "{}: read {read} bytes, expected {size} (did the file change during the copy?)",
            src.show(&item.src_path)
        ))));
    }
    let (written, pending) = writer.finish(dst).await?;
    let computed = hasher.finish();
    let find = |v: &[Digest], k: DigestKind| v.iter().find(|d| d.kind() == k).cloned();
    let sha = find(&computed, DigestKind::Sha256);
    let mut problem = None;
    if written.size != size {
        problem = Some(format!(
            "{} bytes at the destination, {size} sent",
            written.size
        ));
    }
    if let (Some(exp), Some(Digest::Etag(got))) = (
        written.expected_etag.as_ref(),
        find(&written.digests, DigestKind::Etag),
    ) {
        if *exp != got {
            problem = Some(format!(
                "the store's ETag {got} is not the MD5 of the bytes sent ({exp})"
            ));
        }
    }
    if let (Some(Digest::Etag(want)), Some(sent)) = (&src_etag, written.expected_etag.as_ref()) {
        // S3 to S3: the bytes sent must be the source's (same part layout).
        let parts = |e: &str| e.split_once('-').map(|(_, n)| n.to_string());
        if parts(want) == parts(sent) && want != sent {
            problem = Some(format!(
                "the bytes read (ETag {sent}) differ from the source's ({want})"
            ));
        }
    }
    if let (Some(want), Some(got)) = (&src_sha, &sha) {
        if want != got {
            problem = Some(format!(
                "SHA-256 {} differs from the source's {}",
                got.label(),
                want.label()
            ));
        }
    }
    if let (Some(Digest::Etag(want)), Some(Digest::Etag(got))) =
        (&src_etag, find(&computed, DigestKind::Etag))
    {
        // Comparable only when the source was uploaded with etl's part size.
        let parts = |e: &str| e.split_once('-').map(|(_, n)| n.to_string());
        if parts(want) == parts(&got) && *want != got {
            problem = Some(format!(
                "ETag of the bytes read {got} differs from the source's {want}"
            ));
        }
    }
    if let Some(m) = &meta_sha {
        if sha.as_ref() != Some(m) {
            problem = Some("the source changed during the copy (SHA-256 differs)".into());
        } else if find(&written.digests, DigestKind::Sha256).as_ref() != Some(m) {
            problem =
                Some("the store did not keep the SHA-256 metadata sent with the object".into());
        }
    }
    if problem.is_none() && shared.checksum {
        match digest_of(dst, pending.current(), size, DigestKind::Sha256).await {
            Ok(back) if Some(&back) == sha.as_ref() => {}
            Ok(back) => {
                problem = Some(format!(
                    "read-back {} differs from the bytes sent",
                    back.label()
                ))
            }
            Err(e) => {
                pending.discard().await;
                return Err(e);
            }
        }
    }
    if let Some(p) = problem {
        pending.discard().await;
        return Err(mismatch(dst, item, p));
    }
    pending.commit().await?;
    let label = sha.or_else(|| find(&written.digests, DigestKind::Etag));
    Ok(("copied", label))
}
