//! MQTT 3.1.1 through `rumqttc` (pure Rust, no TLS built in): QoS 1 with a
//! persistent session (clean session off, the client id is the group), and
//! acknowledgements sent only once the batch is committed, so the broker
//! redelivers whatever a crashed run did not store. A redelivery of a
//! message the last run did store (it crashed between the commit and the
//! acknowledgement) is recognised by its packet id, duplicate flag and a
//! digest of its payload, and dropped.
//!
//! MQTT has no offsets: `offset` is a sequence number kept in the
//! checkpoint, `timestamp` is the time of receipt, `key` is empty. Writing
//! with a key column publishes to TOPIC/KEY.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rumqttc::{Client, Connection, Event, Incoming, MqttOptions, Outgoing, Publish, QoS};

use super::ingest::position_key;
use super::options::StreamOptions;
use super::{shown, Consumer, Limits, Message, Positions, Producer};
use crate::error::{Error, Result};
use crate::location::RemoteUrl;

/// No message for this long: the batch has what was available.
const IDLE: Duration = Duration::from_millis(1000);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn host_port(url: &RemoteUrl) -> Result<(String, u16)> {
    let host = url.url.host_str().ok_or_else(|| {
        Error::usage(format!(
            "{}: no host: write mqtt://HOST[:PORT]/TOPIC",
            shown(url)
        ))
    })?;
    Ok((host.to_string(), url.url.port().unwrap_or(1883)))
}

/// The topic filter: the URL's path; `#` arrives as the URL's (empty) fragment.
fn filter_of(url: &RemoteUrl) -> Result<String> {
    let mut t = super::topic_of(url).or_else(|e| match url.url.fragment() {
        Some(_) => Ok(String::new()),
        None => Err(e),
    })?;
    if url.url.fragment().is_some() {
        t.push('#');
    }
    Ok(t)
}

fn options(url: &RemoteUrl, id: &str, clean: bool) -> Result<MqttOptions> {
    let (host, port) = host_port(url)?;
    let mut o = MqttOptions::new(id, host, port);
    o.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(clean)
        .set_max_packet_size(256 << 20, 256 << 20);
    if !url.url.username().is_empty() {
        o.set_credentials(url.url.username(), url.url.password().unwrap_or_default());
    }
    Ok(o)
}

/// Waits for the broker's CONNACK: a refused or failed connection is an I/O error.
fn await_connack(conn: &mut Connection, url: &RemoteUrl) -> Result<bool> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match conn.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Incoming::ConnAck(ack)))) => return Ok(ack.session_present),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err(Error::io(format!(
                    "{}: broker unreachable ({e})",
                    shown(url)
                )))
            }
            Err(_) => {
                return Err(Error::io(format!(
                    "{}: broker unreachable (no answer within {CONNECT_TIMEOUT:?})",
                    shown(url)
                )))
            }
        }
    }
}

pub struct MqttConsumer {
    url: RemoteUrl,
    filter: String,
    client: Client,
    conn: Connection,
    /// Received but not yet in a batch.
    backlog: VecDeque<Publish>,
    /// In the last batch, to acknowledge on commit.
    unacked: Vec<Publish>,
    /// Ids the last committed batch stored (see the module docs).
    stored_ids: Vec<String>,
    subscribed: bool,
}

impl MqttConsumer {
    pub fn connect(url: &RemoteUrl, opts: &StreamOptions) -> Result<MqttConsumer> {
        let filter = filter_of(url)?;
        let mut o = options(url, &opts.group, false)?;
        o.set_manual_acks(true);
        let (client, mut conn) = Client::new(o, 1024);
        await_connack(&mut conn, url)?;
        client
            .subscribe(filter.as_str(), QoS::AtLeastOnce)
            .map_err(|e| Error::io(format!("{}: subscribe failed ({e})", shown(url))))?;
        Ok(MqttConsumer {
            url: url.clone(),
            filter,
            client,
            conn,
            backlog: VecDeque::new(),
            unacked: Vec::new(),
            stored_ids: Vec::new(),
            subscribed: false,
        })
    }

    fn ack_all(&mut self, publishes: Vec<Publish>) -> Result<()> {
        let mut waiting: Vec<u16> = Vec::new();
        for p in publishes {
            self.client.ack(&p).map_err(|e| {
                Error::io(format!(
                    "{}: acknowledgement failed ({e})",
                    shown(&self.url)
                ))
            })?;
            waiting.push(p.pkid);
        }
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while !waiting.is_empty() && Instant::now() < deadline {
            match self.conn.recv_timeout(Duration::from_millis(200)) {
                Ok(Ok(Event::Outgoing(Outgoing::PubAck(id)))) => waiting.retain(|w| *w != id),
                Ok(Ok(Event::Incoming(Incoming::Publish(p)))) => self.backlog.push_back(p),
                Ok(Err(e)) => {
                    return Err(Error::io(format!(
                        "{}: the batch is stored and checkpointed, but acknowledging failed ({e})",
                        shown(&self.url)
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn id_of(p: &Publish) -> String {
    format!("{}:{:08x}", p.pkid, crc32fast::hash(&p.payload))
}

impl Consumer for MqttConsumer {
    fn resume(&mut self, last_ids: &[String]) {
        self.stored_ids = last_ids.to_vec();
    }

    fn next_batch(&mut self, from: &Positions, limits: &Limits) -> Result<(Vec<Message>, bool)> {
        let key = position_key(&self.filter, 0);
        let mut seq = from.get(&key).copied().unwrap_or(0);
        let deadline = Instant::now() + limits.max_wait;
        let mut last_seen = Instant::now();
        let mut out = Vec::new();
        let mut bytes = 0u64;
        loop {
            if limits.max_messages.is_some_and(|m| out.len() as u64 >= m)
                || limits.max_bytes.is_some_and(|m| bytes >= m)
            {
                break;
            }
            let p = match self.backlog.pop_front() {
                Some(p) => p,
                None => {
                    let now = Instant::now();
                    let idle_end = last_seen + IDLE;
                    if (self.subscribed && now >= idle_end) || now >= deadline {
                        break;
                    }
                    let wait = idle_end.min(deadline).saturating_duration_since(now);
                    match self.conn.recv_timeout(wait.max(Duration::from_millis(10))) {
                        Ok(Ok(Event::Incoming(Incoming::Publish(p)))) => p,
                        Ok(Ok(Event::Incoming(Incoming::SubAck(_)))) => {
                            self.subscribed = true;
                            last_seen = Instant::now();
                            continue;
                        }
                        Ok(Ok(_)) | Err(_) => continue,
                        Ok(Err(e)) => {
                            return Err(Error::io(format!(
                                "{}: connection lost ({e})",
                                shown(&self.url)
                            )))
                        }
                    }
                }
            };
            last_seen = Instant::now();
            if p.dup && self.stored_ids.contains(&id_of(&p)) {
                // Stored by the last run, which crashed before acknowledging it.
                self.ack_all(vec![p])?;
                continue;
            }
            let m = Message {
                key: None,
                value: Some(p.payload.to_vec()),
                topic: p.topic.clone(),
                partition: 0,
                offset: seq,
                timestamp: Some(chrono::Utc::now().timestamp_millis()),
                headers: Vec::new(),
            };
            seq += 1;
            bytes += m.size();
            out.push(m);
            self.unacked.push(p);
        }
        let done = out.is_empty();
        Ok((out, done))
    }

    fn position_of(&self, _m: &Message) -> String {
        position_key(&self.filter, 0)
    }

    fn batch_ids(&self) -> Vec<String> {
        self.unacked.iter().map(id_of).collect()
    }

    fn commit(&mut self, _positions: &Positions, _batch: &[Message]) -> Result<()> {
        let batch = std::mem::take(&mut self.unacked);
        self.ack_all(batch)
    }
}

impl Drop for MqttConsumer {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
        let _ = self.conn.recv_timeout(Duration::from_millis(200));
    }
}

/// Headers need MQTT 5 user properties; this client speaks MQTT 3.1.1.
pub fn headers_unsupported() -> Error {
    Error::unsupported(
        "message headers over MQTT (they need MQTT 5 user properties; etl's MQTT client speaks MQTT 3.1.1): put the columns in the payload",
    )
}

pub struct MqttProducer {
    url: RemoteUrl,
    topic: String,
    client: Client,
    acks: mpsc::Receiver<std::result::Result<(), String>>,
    pump: Option<std::thread::JoinHandle<()>>,
    sent: u64,
}

impl MqttProducer {
    pub fn connect(url: &RemoteUrl, opts: &StreamOptions) -> Result<MqttProducer> {
        let topic = super::topic_of(url)?;
        if !opts.headers.is_empty() {
            return Err(headers_unsupported());
        }
        if topic.contains(['#', '+']) || url.url.fragment().is_some() {
            return Err(Error::usage(format!(
                "{}: a topic to publish to cannot hold the wildcards # or +",
                shown(url)
            )));
        }
        let id = format!("etl-producer-{}", std::process::id());
        let o = options(url, &id, true)?;
        let (client, mut conn) = Client::new(o, 1024);
        await_connack(&mut conn, url)?;
        let (tx, acks) = mpsc::channel();
        let pump = std::thread::spawn(move || {
            for event in conn.iter() {
                let msg = match event {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => Ok(()),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                    Ok(_) => continue,
                    Err(e) => Err(e.to_string()),
                };
                let failed = msg.is_err();
                if tx.send(msg).is_err() || failed {
                    break;
                }
            }
        });
        Ok(MqttProducer {
            url: url.clone(),
            topic,
            client,
            acks,
            pump: Some(pump),
            sent: 0,
        })
    }
}

impl Producer for MqttProducer {
    fn send(&mut self, key: Option<&[u8]>, value: &[u8], headers: &[(&str, &[u8])]) -> Result<()> {
        if !headers.is_empty() {
            return Err(headers_unsupported());
        }
        let topic = match key {
            Some(k) => format!("{}/{}", self.topic, String::from_utf8_lossy(k)),
            None => self.topic.clone(),
        };
        self.client
            .publish(topic, QoS::AtLeastOnce, false, value.to_vec())
            .map_err(|e| Error::io(format!("{}: publish failed ({e})", shown(&self.url))))?;
        self.sent += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<u64> {
        let mut acked = 0u64;
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked < self.sent {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.acks.recv_timeout(left) {
                Ok(Ok(())) => acked += 1,
                Ok(Err(e)) => {
                    return Err(Error::io(format!(
                        "{}: {acked} of {} messages confirmed ({e})",
                        shown(&self.url),
                        self.sent
                    )))
                }
                Err(_) => {
                    return Err(Error::io(format!(
                        "{}: {acked} of {} messages confirmed before the timeout",
                        shown(&self.url),
                        self.sent
                    )))
                }
            }
        }
        let _ = self.client.disconnect();
        if let Some(p) = self.pump.take() {
            let _ = p.join();
        }
        Ok(acked)
    }
}
