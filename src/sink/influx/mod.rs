//! InfluxDB as a persist target: every row a point of `--measurement`,
//! `--tags` columns as tags, `--time` as its timestamp, the other columns as
//! fields. Lines go in gzip batches of [`BATCH_POINTS`], one request in
//! flight while the next batch is encoded; a server busy or failing (429,
//! 5xx) is tried again with backoff, a rejected point (400) is a data error
//! naming the line. The summary counts only points the server accepted.

mod line;
mod target;

use std::io::Write;
use std::time::Instant;

use crate::db::load::{LoadMode, LoadSpec, LoadSummary};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::Frame;
use crate::location::{redact, RemoteUrl};

use super::backoff::Backoff;
use line::Lines;
pub use target::{Api, Target};

/// Points per write request (InfluxDB's advice: 5,000 to 10,000).
pub const BATCH_POINTS: usize = 5_000;

/// Checks the spec before any I/O.
pub fn validate(req: &LoadSpec, url: &RemoteUrl) -> Result<()> {
    let shown = redact(url.url.as_str());
    if req.mode != LoadMode::Append {
        return Err(Error::usage(format!(
            "{shown}: InfluxDB takes --mode append only: it has no table to replace or empty, and a point already overwrites the one with the same measurement, tags and time ({} does not apply)",
            req.mode.name()
        )));
    }
    if !req.table.is_empty() {
        return Err(Error::usage(format!(
            "{shown}: InfluxDB writes to --measurement NAME, not --table"
        )));
    }
    if !req.primary_key.is_empty() || !req.partition_by.is_empty() || req.evolve {
        return Err(Error::usage(format!(
            "{shown}: --primary-key, --partition-by and --evolve do not apply to InfluxDB (use --tags and --time)"
        )));
    }
    if req.series.force_recreate {
        return Err(Error::usage(format!(
            "{shown}: --force-recreate applies to dynamodb:// targets only"
        )));
    }
    if req.series.measurement.as_deref().unwrap_or("").is_empty() {
        return Err(Error::usage(format!(
            "{shown}: InfluxDB needs --measurement NAME"
        )));
    }
    if req.series.time.is_none() {
        return Err(Error::usage(format!(
            "{shown}: InfluxDB needs --time COL (the points' timestamps; points of a series with the same time overwrite each other)"
        )));
    }
    Target::from_url(url)?;
    Ok(())
}

/// Writes every row of `frame` as a point.
pub fn load(frame: Frame, url: &RemoteUrl, req: &LoadSpec) -> Result<LoadSummary> {
    validate(req, url)?;
    let started = Instant::now();
    let target = Target::from_url(url)?;
    let mut frame = frame;
    let schema = frame.schema()?;
    let layout = line::plan(&schema, &req.series)?;
    let client = client()?;
    crate::runtime::block_on(ping(&client, &target))?;
    let (stream, guard) = frame.into_batches()?;
    let mut sent = Sent::default();
    let mut in_flight: Option<tokio::task::JoinHandle<Result<usize>>> = None;
    let mut rows = 0u64;
    let mut skipped = 0u64;
    let send_all = || -> Result<()> {
        for batch in stream.batches {
            let df = batch.map_err(|e| guard.explain(e))?;
            let mut at = 0;
            while at < df.height() {
                let slice = df.slice(at as i64, BATCH_POINTS.min(df.height() - at));
                at += slice.height();
                let lines = line::encode(&layout, &slice, rows)?;
                rows += slice.height() as u64;
                skipped += lines.skipped as u64;
                if lines.points == 0 {
                    continue;
                }
                let body = gzip(&lines.text)?;
                if let Some(h) = in_flight.take() {
                    sent.settle(h, &target)?;
                }
                sent.batches += 1;
                let (client, target, url) = (
                    client.clone(),
                    target.clone(),
                    target.write_url(layout.precision),
                );
                let batch_no = sent.batches;
                let landed_before = sent.points;
                in_flight = Some(crate::runtime::get().spawn(async move {
                    write(&client, &target, url, body, &lines, batch_no, landed_before).await
                }));
            }
        }
        if let Some(h) = in_flight.take() {
            sent.settle(h, &target)?;
        }
        Ok(())
    };
    if let Err(e) = send_all() {
        // A bad row or input: the batch on the wire still counts, and the
        // message says what landed.
        let landed = match in_flight.take() {
            Some(h) => sent.settle(h, &target).map(|_| sent.points),
            None => Ok(sent.points),
        };
        if e.message.contains(" points were written") {
            return Err(e);
        }
        let note = match landed {
            Ok(n) => format!("{n} points were written to {} before it", target.shown),
            Err(_) => format!(
                "{} points were written to {} before it (and the batch in flight failed)",
                sent.points, target.shown
            ),
        };
        let message = format!("{}; {note}", e.message);
        return Err(Error { message, ..e });
    }
    Ok(LoadSummary {
        target: target.shown.clone(),
        mode: LoadMode::Append.name().into(),
        rows: sent.points as u64,
        partitions: 0,
        files: 0,
        seconds: started.elapsed().as_secs_f64(),
        skipped,
    })
}

#[derive(Default)]
struct Sent {
    batches: usize,
    points: usize,
}

impl Sent {
    fn settle(&mut self, h: tokio::task::JoinHandle<Result<usize>>, target: &Target) -> Result<()> {
        let landed = crate::runtime::block_on(h)
            .map_err(|e| Error::io(format!("{}: the write task failed: {e}", target.shown)))??;
        self.points += landed;
        Ok(())
    }
}

fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| Error::io(format!("cannot start an HTTP client: {e}")))
}

fn gzip(text: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 4),
        flate2::Compression::fast(),
    );
    gz.write_all(text)?;
    Ok(gz.finish()?)
}

/// Whether the server answers at all, before any row is read.
async fn ping(client: &reqwest::Client, target: &Target) -> Result<()> {
    let mut url = target.base.clone();
    url.set_path("/ping");
    let mut backoff = Backoff::new(
        3,
        std::time::Duration::from_millis(200),
        std::time::Duration::from_secs(1),
    );
    loop {
        match client.get(url.clone()).send().await {
            Ok(_) => return Ok(()),
            Err(e) => match backoff.next_delay() {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    return Err(Error::io(format!(
                        "{}: InfluxDB does not answer at {} ({}); nothing was written",
                        target.shown,
                        target.base,
                        cause(&e)
                    )))
                }
            },
        }
    }
}

/// Sends one batch, trying again on 429, 5xx and lost connections; returns
/// the points the server accepted.
async fn write(
    client: &reqwest::Client,
    target: &Target,
    url: url::Url,
    body: Vec<u8>,
    lines: &Lines,
    batch_no: usize,
    landed_before: usize,
) -> Result<usize> {
    let mut backoff = Backoff::for_writes();
    let body = bytes::Bytes::from(body);
    let before = || {
        format!(
            "{landed_before} points were written before batch {batch_no} ({} points)",
            lines.points
        )
    };
    loop {
        let mut rb = client
            .post(url.clone())
            .header("Content-Encoding", "gzip")
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body.clone());
        if let Some(a) = target.authorization() {
            rb = rb.header("Authorization", a);
        }
        let (retry, why) = match rb.send().await {
            Ok(resp) => {
                let status = resp.status();
                if status.is_success() {
                    return Ok(lines.points);
                }
                let text = resp.text().await.unwrap_or_default();
                let message = server_message(&text);
                match status.as_u16() {
                    429 | 500..=599 => (true, format!("the server answered {status}: {message}")),
                    400 => return Err(rejected(target, &message, lines, batch_no, landed_before)),
                    401 | 403 => {
                        let hint = match target.api {
                            Api::V1 { .. } => {
                                "user and password in the URL or INFLUX_USERNAME/INFLUX_PASSWORD"
                            }
                            Api::V2 { .. } => "a token with write access in INFLUX_TOKEN",
                        };
                        return Err(Error::io(format!(
                            "{}: the server refused the write ({status}: {message}); give {hint}; {}",
                            target.shown,
                            before()
                        )));
                    }
                    404 => {
                        let why = match &target.api {
                            Api::V1 { db, .. } if message.contains("database not found") => format!(
                                "no database '{db}' on the server: create it first (influx -execute 'CREATE DATABASE \"{db}\"')"
                            ),
                            Api::V1 { .. } => format!("the server has no /write endpoint ({message})"),
                            Api::V2 { .. } => format!(
                                "the server has no such bucket or organization, or no /api/v2/write endpoint (InfluxDB 2.x or 1.8 and later have it): {message}"
                            ),
                        };
                        return Err(Error::io(format!("{}: {why}; {}", target.shown, before())));
                    }
                    _ => {
                        return Err(Error::io(format!(
                            "{}: the server answered {status}: {message}; {}",
                            target.shown,
                            before()
                        )))
                    }
                }
            }
            Err(e) => (true, format!("the request failed: {}", cause(&e))),
        };
        debug_assert!(retry);
        match backoff.next_delay() {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                return Err(Error::io(format!(
                    "{}: {why} (tried {} times); {}",
                    target.shown,
                    backoff.tries(),
                    before()
                )))
            }
        }
    }
}

/// A 400: which point the server refused, and what the server may have kept.
fn rejected(
    target: &Target,
    message: &str,
    lines: &Lines,
    batch_no: usize,
    landed_before: usize,
) -> Error {
    // "unable to parse '<line>': why" names the line itself; a type
    // conflict names the field ("input field \"f\" on measurement ...").
    let quoted_line = message
        .split_once("unable to parse '")
        .and_then(|(_, rest)| rest.split_once("': ").map(|(l, _)| l.to_string()));
    let field = message
        .split_once("input field \"")
        .and_then(|(_, rest)| rest.split_once('"').map(|(f, _)| f.to_string()));
    let first = quoted_line.or_else(|| {
        field
            .and_then(|f| lines.first_line_with_field(&f))
            .map(|i| lines.line(i).to_string())
    });
    let dropped = message
        .rsplit_once("dropped=")
        .and_then(|(_, n)| n.trim().parse::<usize>().ok());
    let kept = match dropped {
        Some(d) if message.contains("partial write") && !message.contains("unable to parse") => {
            format!(
                "the server kept {} of this batch's {} points",
                lines.points.saturating_sub(d),
                lines.points
            )
        }
        _ if message.contains("partial write") => format!(
            "the server may have kept some of this batch's {} points (a partial write)",
            lines.points
        ),
        _ => format!("none of this batch's {} points were written", lines.points),
    };
    let mut text = format!(
        "{}: the server rejected points of batch {batch_no}: {message}",
        target.shown
    );
    if let Some(l) = first {
        let l: String = l.chars().take(300).collect();
        text.push_str(&format!("; first rejected line: {l}"));
    }
    text.push_str(&format!(
        "; {landed_before} points were written before this batch, {kept}"
    ));
    Error::new(ErrorKind::Data, text)
}

/// The error text of an InfluxDB answer (`{"error": …}` in 1.x,
/// `{"message": …}` in 2.x), on one line.
fn server_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let text = parsed
        .as_ref()
        .and_then(|v| v.get("error").or_else(|| v.get("message")))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| body.trim().to_string());
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    redact(&one_line.chars().take(500).collect::<String>())
}

/// The innermost cause of a request error, which says what went wrong
/// ("Connection refused"), without the URL.
fn cause(e: &reqwest::Error) -> String {
    let mut s: &dyn std::error::Error = e;
    while let Some(next) = s.source() {
        s = next;
    }
    let text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        s.to_string()
    };
    redact(&text)
}
