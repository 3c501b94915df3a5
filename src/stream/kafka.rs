//! Kafka through librdkafka (the `rdkafka` crate, bundled C library, no
//! OpenSSL): a consumer that reads assigned partitions from given offsets
//! up to the high watermarks seen when the batch starts and commits to its
//! consumer group only when told; an idempotent producer that returns once
//! every message is acknowledged by all in-sync replicas.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::ingest::position_key;
use super::kafka_config::{config, ConsumerErrors, LastError};
use super::options::StreamOptions;
use super::{shown, topic_of, Consumer, Limits, Message, Positions, Producer};
use crate::error::{Error, Result};
use crate::location::RemoteUrl;

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

fn prefetch_kb(opts: &StreamOptions) -> u64 {
    let bytes = opts.max_bytes.unwrap_or(super::ingest::DEFAULT_MAX_BYTES);
    (bytes / 1024 / 2).clamp(8192, 65536)
}

fn remote(url: &RemoteUrl, what: &str, e: KafkaError) -> Error {
    Error::io(format!("{}: {what} ({e})", shown(url)))
}

/// Polls a client for a moment: librdkafka queues its log lines (why a
/// connection failed) until the client is polled.
fn serve_queue(mut poll: impl FnMut(Duration)) {
    let end = Instant::now() + Duration::from_millis(300);
    while Instant::now() < end {
        poll(Duration::from_millis(50));
    }
}

/// The bad-settings error of librdkafka: names the property, never its value.
fn bad_settings(url: &RemoteUrl, e: KafkaError) -> Error {
    Error::usage(format!(
        "{}: bad Kafka settings ({})",
        shown(url),
        crate::location::redact(&e.to_string())
    ))
}

pub struct KafkaConsumer {
    url: RemoteUrl,
    topic: String,
    consumer: BaseConsumer<ConsumerErrors>,
    partitions: Vec<i32>,
    /// The group's committed offsets, read once.
    committed: Option<BTreeMap<i32, i64>>,
}

impl KafkaConsumer {
    pub fn connect(url: &RemoteUrl, opts: &StreamOptions) -> Result<KafkaConsumer> {
        let topic = topic_of(url)?;
        let mut c = config(url, opts)?;
        c.set("group.id", &opts.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "true")
            // librdkafka prefetches up to 64 MB per partition by default: keep
            // its queue within the batch bound, so memory follows --max-bytes.
            .set("queued.max.messages.kbytes", prefetch_kb(opts).to_string());
        let consumer: BaseConsumer<ConsumerErrors> = c
            .create_with_context(ConsumerErrors::default())
            .map_err(|e| bad_settings(url, e))?;
        let meta = consumer
            .fetch_metadata(Some(&topic), METADATA_TIMEOUT)
            .map_err(|e| {
                serve_queue(|t| drop(consumer.poll(t)));
                consumer.context().0.explain(url, "broker unreachable", &e)
            })?;
        let t = meta
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| {
                Error::io(format!(
                    "{}: the broker does not know topic '{topic}'",
                    shown(url)
                ))
            })?;
        if let Some(err) = t.error() {
            return Err(Error::io(format!(
                "{}: topic '{topic}': {}",
                shown(url),
                RDKafkaErrorCode::from(err)
            )));
        }
        let mut partitions: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        partitions.sort();
        if partitions.is_empty() {
            return Err(Error::io(format!(
                "{}: topic '{topic}' has no partitions",
                shown(url)
            )));
        }
        Ok(KafkaConsumer {
            url: url.clone(),
            topic,
            consumer,
            partitions,
            committed: None,
        })
    }

    fn committed(&mut self) -> Result<&BTreeMap<i32, i64>> {
        if self.committed.is_none() {
            let mut tpl = TopicPartitionList::new();
            for p in &self.partitions {
                tpl.add_partition(&self.topic, *p);
            }
            let got = self
                .consumer
                .committed_offsets(tpl, METADATA_TIMEOUT)
                .map_err(|e| {
                    serve_queue(|t| drop(self.consumer.poll(t)));
                    self.consumer.context().0.explain(
                        &self.url,
                        "cannot read the group's offsets",
                        &e,
                    )
                })?;
            let map = got
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((e.partition(), o)),
                    _ => None,
                })
                .collect();
            self.committed = Some(map);
        }
        Ok(self.committed.as_ref().expect("just set"))
    }
}

impl Consumer for KafkaConsumer {
    fn next_batch(&mut self, from: &Positions, limits: &Limits) -> Result<(Vec<Message>, bool)> {
        // Where each partition starts and ends for this batch.
        // Every partition is read up to its end-of-partition event. High
        // watermarks are not used: some brokers (tansu among them) report
        // one below the last offset.
        let mut next: BTreeMap<i32, Offset> = BTreeMap::new();
        for p in self.partitions.clone() {
            let start = match from.get(&position_key(&self.topic, p)) {
                Some(o) => Offset::Offset(*o),
                None => match self.committed()?.get(&p) {
                    Some(o) => Offset::Offset(*o),
                    None => Offset::Beginning,
                },
            };
            next.insert(p, start);
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in &next {
            tpl.add_partition_offset(&self.topic, *p, *o)
                .map_err(|e| remote(&self.url, "cannot assign", e))?;
        }
        self.consumer
            .assign(&tpl)
            .map_err(|e| remote(&self.url, "cannot assign", e))?;
        let deadline = Instant::now() + limits.max_wait;
        let mut out = Vec::new();
        let mut bytes = 0u64;
        let mut at_end: BTreeSet<i32> = BTreeSet::new();
        while at_end.len() < next.len() {
            if limits.max_messages.is_some_and(|m| out.len() as u64 >= m)
                || limits.max_bytes.is_some_and(|m| bytes >= m)
            {
                return Ok((out, false));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if out.is_empty() {
                    return Err(Error::io(format!(
                        "{}: the broker sent neither messages nor the end of every partition within {:?} (raise --max-wait)",
                        shown(&self.url),
                        limits.max_wait
                    )));
                }
                return Ok((out, false));
            }
            let Some(polled) = self.consumer.poll(left.min(Duration::from_millis(200))) else {
                continue;
            };
            let m = match polled {
                Ok(m) => m,
                Err(KafkaError::PartitionEOF(p)) => {
                    at_end.insert(p);
                    continue;
                }
                Err(e) => {
                    return Err(self
                        .consumer
                        .context()
                        .0
                        .explain(&self.url, "read failed", &e))
                }
            };
            let p = m.partition();
            let Some(expected) = next.get_mut(&p) else {
                continue;
            };
            if matches!(expected, Offset::Offset(o) if m.offset() < *o) {
                continue;
            }
            *expected = Offset::Offset(m.offset() + 1);
            let message = Message {
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                topic: self.topic.clone(),
                partition: p,
                offset: m.offset(),
                timestamp: m.timestamp().to_millis(),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            bytes += message.size();
            out.push(message);
        }
        Ok((out, true))
    }

    fn commit(&mut self, positions: &Positions, _batch: &[Message]) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for p in &self.partitions {
            if let Some(o) = positions.get(&position_key(&self.topic, *p)) {
                tpl.add_partition_offset(&self.topic, *p, Offset::Offset(*o))
                    .map_err(|e| remote(&self.url, "commit failed", e))?;
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(|e| {
            remote(
                &self.url,
                "the batch is stored and checkpointed, but the consumer-group commit failed",
                e,
            )
        })
    }
}

/// Counts what the broker confirmed, and the first failure.
#[derive(Default)]
struct Deliveries {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    errors: LastError,
}

impl ClientContext for Deliveries {
    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.record(&error, reason);
    }
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.errors.log(level, facility, message);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

pub struct KafkaProducer {
    url: RemoteUrl,
    topic: String,
    producer: BaseProducer<Deliveries>,
    sent: u64,
}

impl KafkaProducer {
    pub fn connect(url: &RemoteUrl, opts: &StreamOptions) -> Result<KafkaProducer> {
        let topic = topic_of(url)?;
        let mut c = config(url, opts)?;
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "5");
        let producer: BaseProducer<Deliveries> = c
            .create_with_context(Deliveries::default())
            .map_err(|e| bad_settings(url, e))?;
        producer
            .client()
            .fetch_metadata(Some(&topic), METADATA_TIMEOUT)
            .map_err(|e| {
                serve_queue(|t| producer.poll(t));
                producer
                    .context()
                    .errors
                    .explain(url, "broker unreachable", &e)
            })?;
        Ok(KafkaProducer {
            url: url.clone(),
            topic,
            producer,
            sent: 0,
        })
    }
}

impl Producer for KafkaProducer {
    fn send(&mut self, key: Option<&[u8]>, value: &[u8], headers: &[(&str, &[u8])]) -> Result<()> {
        loop {
            let mut record = BaseRecord::<[u8], [u8]>::to(&self.topic).payload(value);
            if let Some(k) = key {
                record = record.key(k);
            }
            if !headers.is_empty() {
                let mut h = OwnedHeaders::new_with_capacity(headers.len());
                for &(name, v) in headers {
                    h = h.insert(Header {
                        key: name,
                        value: Some(v),
                    });
                }
                record = record.headers(h);
            }
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(remote(&self.url, "send failed", e)),
            }
        }
        self.sent += 1;
        if self.sent.is_multiple_of(1024) {
            self.producer.poll(Duration::ZERO);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<u64> {
        self.producer
            .flush(Duration::from_secs(60))
            .map_err(|e| remote(&self.url, "messages not confirmed", e))?;
        let d = self.producer.context();
        let failed = d.failed.load(Ordering::Relaxed);
        let ok = d.ok.load(Ordering::Relaxed);
        if failed > 0 || ok != self.sent {
            let first = d
                .first_error
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .unwrap_or_else(|| "no confirmation".into());
            return Err(Error::io(format!(
                "{}: {failed} of {} messages not delivered ({first})",
                shown(&self.url),
                self.sent
            )));
        }
        Ok(ok)
    }
}
