//! NATS JetStream through `async-nats` (pure Rust): a durable pull
//! consumer named after the group, with ack-all. The stream sequence is the
//! offset. When a checkpoint exists, the durable consumer is made to start
//! right after it (recreated if the server's view differs, e.g. after a
//! crash between the commit and the acknowledgement), so the checkpoint
//! decides what is read. Writing publishes with JetStream acknowledgements.
//!
//! `timestamp` is the server's receipt time; `key` is empty; writing with a
//! key column publishes to SUBJECT.KEY. A stream that captures the subject
//! must exist to read; writing creates one (named after the subject) when
//! none does.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, consumer::DeliverPolicy};
use futures::StreamExt;

use super::ingest::position_key;
use super::options::StreamOptions;
use super::{runtime, shown, topic_of, Consumer, Limits, Message, Positions, Producer};
use crate::error::{Error, Result};
use crate::location::RemoteUrl;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn server(url: &RemoteUrl) -> Result<String> {
    let host = url.url.host_str().ok_or_else(|| {
        Error::usage(format!(
            "{}: no host: write nats://HOST[:PORT]/SUBJECT",
            shown(url)
        ))
    })?;
    Ok(format!("{host}:{}", url.url.port().unwrap_or(4222)))
}

async fn connect(url: &RemoteUrl) -> Result<jetstream::Context> {
    let mut o = async_nats::ConnectOptions::new()
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(Some(1));
    if !url.url.username().is_empty() {
        o = o.user_and_password(
            url.url.username().to_string(),
            url.url.password().unwrap_or_default().to_string(),
        );
    }
    let client = o
        .connect(server(url)?)
        .await
        .map_err(|e| Error::io(format!("{}: server unreachable ({e})", shown(url))))?;
    Ok(jetstream::new(client))
}

fn nats_err(url: &RemoteUrl, what: &str, e: impl std::fmt::Display) -> Error {
    Error::io(format!("{}: {what} ({e})", shown(url)))
}

pub struct NatsConsumer {
    url: RemoteUrl,
    subject: String,
    group: String,
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
    stream: String,
    consumer: Option<jetstream::consumer::Consumer<pull::Config>>,
    /// The last message of the batch: acking it acks all before (ack-all).
    last: Option<jetstream::Message>,
}

impl NatsConsumer {
    pub fn connect(url: &RemoteUrl, opts: &StreamOptions) -> Result<NatsConsumer> {
        let subject = topic_of(url)?;
        let rt = runtime()?;
        let (js, stream) = rt.block_on(async {
            let js = connect(url).await?;
            let stream = js.stream_by_subject(subject.clone()).await.map_err(|e| {
                nats_err(
                    url,
                    &format!("no JetStream stream holds subject '{subject}'"),
                    e,
                )
            })?;
            Ok::<_, Error>((js, stream))
        })?;
        Ok(NatsConsumer {
            url: url.clone(),
            subject,
            group: opts.group.clone(),
            rt,
            js,
            stream,
            consumer: None,
            last: None,
        })
    }

    /// The durable consumer, positioned at `start` (a stream sequence) when given.
    async fn durable(
        &self,
        start: Option<u64>,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>> {
        let stream = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(|e| nats_err(&self.url, "stream unavailable", e))?;
        let config = |deliver| pull::Config {
            durable_name: Some(self.group.clone()),
            filter_subject: self.subject.clone(),
            ack_policy: AckPolicy::All,
            deliver_policy: deliver,
            ..Default::default()
        };
        let mut start = start;
        if let Ok(mut existing) = stream.get_consumer::<pull::Config>(&self.group).await {
            let info = existing
                .info()
                .await
                .map_err(|e| nats_err(&self.url, "consumer unavailable", e))?;
            // Without a checkpoint, the group's acknowledged floor is the start.
            // Messages delivered but not acknowledged (a crashed run) must be
            // read again now: acking a later one would ack them too (ack-all).
            let want = start.unwrap_or(info.ack_floor.stream_sequence + 1);
            if info.delivered.stream_sequence + 1 == want && info.num_ack_pending == 0 {
                return Ok(existing);
            }
            stream
                .delete_consumer(&self.group)
                .await
                .map_err(|e| nats_err(&self.url, "cannot reposition the consumer", e))?;
            start = Some(want);
        }
        let deliver = match start {
            Some(s) => DeliverPolicy::ByStartSequence { start_sequence: s },
            None => DeliverPolicy::All,
        };
        stream
            .create_consumer(config(deliver))
            .await
            .map_err(|e| nats_err(&self.url, "cannot create the durable consumer", e))
    }
}

impl Consumer for NatsConsumer {
    fn next_batch(&mut self, from: &Positions, limits: &Limits) -> Result<(Vec<Message>, bool)> {
        let key = position_key(&self.stream, 0);
        let start = from.get(&key).map(|s| *s as u64);
        let url = self.url.clone();
        let consumer = match self.consumer.take() {
            Some(c) => c,
            None => self.rt.block_on(self.durable(start))?,
        };
        let result = self.rt.block_on(async {
            let mut c = consumer.clone();
            let info = c
                .info()
                .await
                .map_err(|e| nats_err(&url, "consumer unavailable", e))?;
            let available = info.num_pending as usize;
            if available == 0 {
                return Ok((Vec::new(), true, None));
            }
            let want = limits
                .max_messages
                .map_or(available, |m| available.min(m as usize));
            let mut batch = consumer
                .fetch()
                .max_messages(want)
                .expires(limits.max_wait)
                .messages()
                .await
                .map_err(|e| nats_err(&url, "fetch failed", e))?;
            let mut out = Vec::new();
            let mut bytes = 0u64;
            let mut last = None;
            while let Some(m) = batch.next().await {
                let m = m.map_err(|e| nats_err(&url, "read failed", e))?;
                let info = m
                    .info()
                    .map_err(|e| nats_err(&url, "bad message metadata", e))?;
                let seq = info.stream_sequence as i64;
                let ts = (info.published.unix_timestamp_nanos() / 1_000_000) as i64;
                if start.is_some_and(|s| (seq as u64) < s) {
                    continue; // stored by an earlier batch
                }
                let message = Message {
                    key: None,
                    value: Some(m.payload.to_vec()),
                    topic: m.subject.to_string(),
                    partition: 0,
                    offset: seq,
                    timestamp: Some(ts),
                    headers: m
                        .headers
                        .iter()
                        .flat_map(|h| h.iter())
                        .flat_map(|(k, vs)| {
                            vs.iter()
                                .map(|v| (k.to_string(), Some(v.as_str().as_bytes().to_vec())))
                                .collect::<Vec<_>>()
                        })
                        .collect(),
                };
                bytes += message.size();
                out.push(message);
                last = Some(m);
                if limits.max_bytes.is_some_and(|b| bytes >= b) {
                    break;
                }
            }
            let caught_up = out.len() >= available;
            Ok::<_, Error>((out, caught_up, last))
        });
        self.consumer = Some(consumer);
        let (out, caught_up, last) = result?;
        self.last = last;
        Ok((out, caught_up))
    }

    fn position_of(&self, _m: &Message) -> String {
        position_key(&self.stream, 0)
    }

    fn commit(&mut self, _positions: &Positions, _batch: &[Message]) -> Result<()> {
        let Some(last) = self.last.take() else {
            return Ok(());
        };
        let url = self.url.clone();
        self.rt.block_on(async {
            last.double_ack().await.map_err(|e| {
                nats_err(
                    &url,
                    "the batch is stored and checkpointed, but the acknowledgement failed",
                    e,
                )
            })
        })
    }
}

pub struct NatsProducer {
    url: RemoteUrl,
    subject: String,
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
    inflight: Vec<jetstream::context::PublishAckFuture>,
    acked: u64,
}

impl NatsProducer {
    pub fn connect(url: &RemoteUrl, _opts: &StreamOptions) -> Result<NatsProducer> {
        let subject = topic_of(url)?;
        if subject.contains(['*', '>']) {
            return Err(Error::usage(format!(
                "{}: a subject to publish to cannot hold the wildcards * or >",
                shown(url)
            )));
        }
        let rt = runtime()?;
        let js = rt.block_on(async {
            let js = connect(url).await?;
            if js.stream_by_subject(subject.clone()).await.is_err() {
                let name: String = subject
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                js.get_or_create_stream(jetstream::stream::Config {
                    name,
                    subjects: vec![subject.clone(), format!("{subject}.>")],
                    ..Default::default()
                })
                .await
                .map_err(|e| nats_err(url, "cannot create a stream for the subject", e))?;
            }
            Ok::<_, Error>(js)
        })?;
        Ok(NatsProducer {
            url: url.clone(),
            subject,
            rt,
            js,
            inflight: Vec::new(),
            acked: 0,
        })
    }

    fn settle(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.inflight);
        let url = self.url.clone();
        let n = self.rt.block_on(async move {
            let mut n = 0u64;
            for f in pending {
                f.await
                    .map_err(|e| nats_err(&url, "message not confirmed", e))?;
                n += 1;
            }
            Ok::<_, Error>(n)
        })?;
        self.acked += n;
        Ok(())
    }
}

impl Producer for NatsProducer {
    fn send(&mut self, key: Option<&[u8]>, value: &[u8], headers: &[(&str, &[u8])]) -> Result<()> {
        let subject = match key {
            Some(k) => format!("{}.{}", self.subject, String::from_utf8_lossy(k)),
            None => self.subject.clone(),
        };
        let payload = bytes::Bytes::copy_from_slice(value);
        let mut map = async_nats::HeaderMap::new();
        for (name, v) in headers {
            let bad =
                |what: &str| Error::data(format!("{}: header '{name}': {what}", shown(&self.url)));
            let n: async_nats::HeaderName = name
                .parse()
                .map_err(|_| bad("not a NATS header name (ASCII, no ':' or control characters)"))?;
            let v: async_nats::HeaderValue = std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad("the value is not one line of UTF-8 text"))?;
            map.append(n, v);
        }
        let js = self.js.clone();
        let url = self.url.clone();
        let ack = self.rt.block_on(async move {
            let sent = if map.is_empty() {
                js.publish(subject, payload).await
            } else {
                js.publish_with_headers(subject, map, payload).await
            };
            sent.map_err(|e| nats_err(&url, "publish failed", e))
        })?;
        self.inflight.push(ack);
        if self.inflight.len() >= 1024 {
            self.settle()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<u64> {
        self.settle()?;
        Ok(self.acked)
    }
}
