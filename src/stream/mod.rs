//! Streams as locations: Kafka topics, MQTT topic filters, NATS JetStream
//! subjects, and local topic folders (the embedded stand-in for a broker).
//!
//! Reading is a micro-batch: what is available when the batch starts,
//! bounded by message count, bytes and time, becomes one table. The
//! offsets of a batch are committed in a checkpoint together with the
//! batch's output ([`checkpoint`]) and only then to the broker, so a crash
//! at any point leaves neither a gap nor a duplicate ([`ingest`]). Writing
//! sends one message per row and returns once every message is confirmed
//! ([`produce`]).

pub mod checkpoint;
mod folder;
pub mod ingest;
mod kafka;
mod kafka_config;
pub mod message;
mod mqtt;
mod nats;
pub mod options;
pub mod produce;
pub mod tables;
mod values;

use std::collections::BTreeMap;

use crate::error::Result;
use crate::location::{Location, RemoteUrl, Scheme};

pub use ingest::{ingest, IngestRequest, IngestSummary, StreamOutput};
pub use message::Message;
pub use options::{StreamOptions, ValueFormat};
pub use produce::produce;

/// Next position to read, per `topic/partition` (Kafka offsets, NATS
/// stream sequences, topic-folder offsets).
pub type Positions = BTreeMap<String, i64>;

/// Whether a location is a stream: kafka://, mqtt://, nats:// or topic://.
pub fn is_stream(location: &Location) -> bool {
    location.is_stream()
}

pub fn is_stream_scheme(scheme: Scheme) -> bool {
    matches!(
        scheme,
        Scheme::Kafka | Scheme::Mqtt | Scheme::Nats | Scheme::TopicFolder
    )
}

/// Limits of one batch.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_messages: Option<u64>,
    pub max_bytes: Option<u64>,
    pub max_wait: std::time::Duration,
}

/// A source of messages that reads from given positions and commits
/// positions back to the broker only when told to.
pub trait Consumer {
    /// Reads the next batch: what is available now, within the limits,
    /// starting at `from` (partitions not in it start at the group's
    /// committed position, else at the beginning). The flag says whether
    /// the batch reached the end of what was available (not cut by a limit).
    fn next_batch(&mut self, from: &Positions, limits: &Limits) -> Result<(Vec<Message>, bool)>;
    /// The checkpoint key a message's position is kept under.
    fn position_of(&self, m: &Message) -> String {
        ingest::position_key(&m.topic, m.partition)
    }
    /// Ids of the messages the last committed batch stored, for brokers
    /// that redeliver without offsets (MQTT).
    fn resume(&mut self, _last_ids: &[String]) {}
    /// Ids of the current batch's messages, saved in the checkpoint.
    fn batch_ids(&self) -> Vec<String> {
        Vec::new()
    }
    /// Tells the broker the batch is safely stored (consumer-group commit,
    /// acknowledgements).
    fn commit(&mut self, positions: &Positions, batch: &[Message]) -> Result<()>;
}

/// A sink of messages: `send` queues, `finish` returns once the broker
/// confirmed every message.
pub trait Producer {
    /// Queues one message; `headers` are (name, value) pairs.
    fn send(&mut self, key: Option<&[u8]>, value: &[u8], headers: &[(&str, &[u8])]) -> Result<()>;
    fn finish(&mut self) -> Result<u64>;
}

/// The stream behind a location, for reading.
pub fn open_consumer(url: &RemoteUrl, opts: &StreamOptions) -> Result<Box<dyn Consumer>> {
    Ok(match url.scheme {
        Scheme::Kafka => Box::new(kafka::KafkaConsumer::connect(url, opts)?),
        Scheme::Mqtt => Box::new(mqtt::MqttConsumer::connect(url, opts)?),
        Scheme::Nats => Box::new(nats::NatsConsumer::connect(url, opts)?),
        Scheme::TopicFolder => Box::new(folder::FolderConsumer::open(url, opts)?),
        _ => unreachable!("is_stream() guards every caller"),
    })
}

/// The stream behind a location, for writing.
pub fn open_producer(url: &RemoteUrl, opts: &StreamOptions) -> Result<Box<dyn Producer>> {
    Ok(match url.scheme {
        Scheme::Kafka => Box::new(kafka::KafkaProducer::connect(url, opts)?),
        Scheme::Mqtt => Box::new(mqtt::MqttProducer::connect(url, opts)?),
        Scheme::Nats => Box::new(nats::NatsProducer::connect(url, opts)?),
        Scheme::TopicFolder => Box::new(folder::FolderProducer::open(url)?),
        _ => unreachable!("is_stream() guards every caller"),
    })
}

/// The stream's name as users wrote it, password hidden.
pub fn shown(url: &RemoteUrl) -> String {
    crate::location::redact(url.url.as_str())
}

/// The topic, subject or folder part of a stream URL (its path, without
/// the leading slash), percent-decoded.
pub fn topic_of(url: &RemoteUrl) -> Result<String> {
    let path = url.url.path().trim_start_matches('/');
    let topic = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    if topic.is_empty() {
        return Err(crate::error::Error::usage(format!(
            "{}: no topic: write {}://HOST[:PORT]/TOPIC",
            shown(url),
            url.url.scheme()
        )));
    }
    Ok(topic)
}

/// A multi-threaded tokio runtime for the async clients (MQTT, NATS).
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::io(format!("cannot start the network runtime: {e}")))
}
