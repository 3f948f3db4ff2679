//! NATS JetStream: the outbox relayed to a stream, for downstream consumers and
//! for several nodes (`airlock serve --bus nats://HOST:PORT`).
//!
//! The outbox (`bus_messages`) stays the source of truth, and Airlock's own
//! readers (`GET /api/events`, the SSE stream) keep reading it, so their shapes,
//! tenant rules and `Last-Event-ID` resume are the same with or without NATS. A
//! relay copies committed messages to JetStream, in `seq` order:
//!
//! - **One relay at a time.** Every node runs the loop; the one holding the lease
//!   in `relay_state` ([`LEASE`], renewed each round) publishes, the others wait.
//!   A node that dies is replaced when its lease runs out; one that stops gives the
//!   lease up at once.
//! - **At least once, then de-duplicated.** Each message is published with
//!   `Nats-Msg-Id` = its id and the relay's position (`relay_state.last_seq`)
//!   moves only past messages JetStream acknowledged. After a crash, a NATS outage
//!   or a change of relay, whatever was not acknowledged is published again, and
//!   JetStream drops the repeats: its duplicate window ([`DUPLICATE_WINDOW`], 10
//!   minutes) is far longer than the longest a message waits to be re-published
//!   (a lease of 10 s plus retries backing off to 30 s).
//! - **Ingest does not depend on NATS.** Events are acknowledged once they are in
//!   the database; while NATS is down the relay retries with backoff and catches
//!   up after.
//!
//! The stream ([`stream_name`], e.g. `AIRLOCK` for the prefix `airlock`) captures
//! `<prefix>.>`: subject = the message's topic, `<prefix>.<tenant>.<event type>`;
//! payload = the body as validated; headers `Nats-Msg-Id` (the message id),
//! `Airlock-Seq`, `Airlock-Tenant`, `Airlock-Connector`, `Airlock-Standard`,
//! `Airlock-Source` (`<kind>:<id>:<index>`), `Content-Type`. It keeps messages
//! [`MAX_AGE`] (7 days) on file storage (limits retention); a stream that already
//! exists under that name must capture the same subjects, or the node refuses to
//! start. A message larger than the server's `max_payload` (1 MiB by default;
//! outputs may reach 8 MiB) cannot be published: it is logged as an error and
//! skipped, so raise `max_payload` where outputs are large.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use tokio::sync::Notify;

use super::{Bus, BusError, EmbeddedBus, Selection};
use crate::store::{MessageRow, Store};

/// How long a relay's lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(10);
/// JetStream's de-duplication window for `Nats-Msg-Id`.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);
/// How long the stream keeps a message.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Messages published per round (their acknowledgements awaited together).
const BATCH: i64 = 512;
/// How often an idle relay looks for messages it was not woken for (other nodes'
/// commits) and renews or takes the lease.
const IDLE: Duration = Duration::from_millis(500);
/// The longest wait between failed rounds.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// NATS did not answer.
    #[error("cannot connect to NATS at {url}: {why}")]
    Connect {
        /// Where.
        url: String,
        /// Why.
        why: String,
    },
    /// The stream could not be created or is not the one this node needs.
    #[error("JetStream stream `{name}`: {why}")]
    Stream {
        /// The stream.
        name: String,
        /// What is wrong.
        why: String,
    },
}

/// The JetStream stream name for a topic prefix: upper-cased, every character
/// other than a letter, digit, `-` or `_` replaced by `_`.
pub fn stream_name(prefix: &str) -> String {
    prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The embedded bus with a JetStream relay behind it: reads as [`EmbeddedBus`]; a
/// publishing commit also wakes the relay.
#[derive(Debug)]
pub struct NatsBus {
    outbox: EmbeddedBus,
    wake: Arc<Notify>,
    relay: tokio::task::JoinHandle<()>,
    store: Store,
    node: String,
}

impl NatsBus {
    /// Connects to NATS at `url`, creates or checks the stream over `<prefix>.>`,
    /// and starts this node's relay loop (as `node` in the lease).
    pub async fn start(
        store: Store,
        url: &str,
        prefix: &str,
        node: String,
    ) -> Result<NatsBus, RelayError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .name(format!("airlock {node}"))
            .connect(url)
            .await
            .map_err(|e| RelayError::Connect {
                url: url.to_string(),
                why: e.to_string(),
            })?;
        // Larger messages cannot be published at all (nats-server's `max_payload`,
        // 1 MiB unless configured; outputs may be up to 8 MiB).
        let max_payload = client.server_info().max_payload;
        let js = jetstream::new(client);
        let name = stream_name(prefix);
        let subject = format!("{prefix}.>");
        let stream = js
            .get_or_create_stream(jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![subject.clone()],
                retention: jetstream::stream::RetentionPolicy::Limits,
                storage: jetstream::stream::StorageType::File,
                max_age: MAX_AGE,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| RelayError::Stream {
                name: name.clone(),
                why: e.to_string(),
            })?;
        let subjects = &stream.cached_info().config.subjects;
        if !subjects.contains(&subject) {
            return Err(RelayError::Stream {
                name,
                why: format!(
                    "it exists and captures {subjects:?}, not `{subject}`: remove it or choose \
                     another --bus-prefix"
                ),
            });
        }
        tracing::info!(url, stream = %name, %subject, "relaying the outbox to NATS JetStream");
        let wake = Arc::new(Notify::new());
        let relay = tokio::spawn(relay_loop(
            store.clone(),
            js,
            node.clone(),
            wake.clone(),
            max_payload,
        ));
        Ok(NatsBus {
            outbox: EmbeddedBus::new(store.clone()),
            wake,
            relay,
            store,
            node,
        })
    }
}

impl Bus for NatsBus {
    fn published(&self) {
        self.outbox.published();
        self.wake.notify_one();
    }

    fn close(&self) {
        self.outbox.close();
        self.relay.abort();
        // Let another node take over at once rather than after the lease.
        let (store, node) = (self.store.clone(), self.node.clone());
        tokio::spawn(async move {
            let _ = store.release_relay(&node).await;
        });
    }

    fn history<'a>(
        &'a self,
        selection: &'a Selection,
        after: i64,
        limit: i64,
    ) -> BoxFuture<'a, Result<Vec<MessageRow>, BusError>> {
        self.outbox.history(selection, after, limit)
    }

    fn subscribe(
        &self,
        selection: Selection,
        after: Option<i64>,
    ) -> BoxFuture<'_, Result<BoxStream<'static, Result<MessageRow, BusError>>, BusError>> {
        self.outbox.subscribe(selection, after)
    }
}

async fn relay_loop(
    store: Store,
    js: jetstream::Context,
    node: String,
    wake: Arc<Notify>,
    max_payload: usize,
) {
    let mut backoff = Duration::ZERO;
    loop {
        if backoff.is_zero() {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE) => {}
            }
        } else {
            tokio::time::sleep(backoff).await;
        }
        // Full rounds follow each other at once: a backlog drains without waits.
        loop {
            match relay_round(&store, &js, &node, max_payload).await {
                Ok(n) if n == BATCH as usize => {}
                Ok(_) => {
                    backoff = Duration::ZERO;
                    break;
                }
                Err(why) => {
                    backoff = (backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    tracing::warn!(error = %why, retry_in_s = backoff.as_secs(), "the JetStream relay failed a round");
                    break;
                }
            }
        }
    }
}

/// One round: if this node holds the lease, publishes the next messages and
/// records how far JetStream acknowledged them. Returns how many it read.
async fn relay_round(
    store: &Store,
    js: &jetstream::Context,
    node: &str,
    max_payload: usize,
) -> Result<usize, String> {
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    if !store
        .claim_relay(node, crate::time::now_ms(), lease_ms)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(0);
    }
    let after = store.relayed_seq().await.map_err(|e| e.to_string())?;
    let rows = store
        .outbox_after(after, BATCH)
        .await
        .map_err(|e| e.to_string())?;
    let mut acks = Vec::with_capacity(rows.len());
    let mut failure = None;
    for m in &rows {
        // Headers take a few hundred bytes of the server's limit.
        if m.body.len().saturating_add(1024) > max_payload {
            tracing::error!(seq = m.seq, id = %m.id, size = m.body.len(), max_payload,
                "a message is larger than NATS accepts: not relayed (raise the server's max_payload)");
            acks.push((m.seq, None));
            continue;
        }
        match js
            .publish_with_headers(m.topic.clone(), headers(m), m.body.clone().into())
            .await
        {
            Ok(ack) => acks.push((m.seq, Some(ack))),
            Err(e) => {
                failure = Some(format!("publishing message {}: {e}", m.seq));
                break;
            }
        }
    }
    // In order: the position moves only past an unbroken run of acknowledgements.
    let mut acknowledged = after;
    for (seq, ack) in acks {
        let Some(ack) = ack else {
            acknowledged = seq; // skipped (too large), logged above
            continue;
        };
        match ack.await {
            Ok(_) => acknowledged = seq,
            Err(e) => {
                failure.get_or_insert_with(|| format!("JetStream did not acknowledge {seq}: {e}"));
                break;
            }
        }
    }
    if acknowledged > after {
        store
            .advance_relay(node, acknowledged)
            .await
            .map_err(|e| e.to_string())?;
    }
    match failure {
        Some(why) => Err(why),
        None => Ok(rows.len()),
    }
}

/// The headers of a relayed message (see the module's docs).
fn headers(m: &MessageRow) -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    h.insert("Nats-Msg-Id", m.id.as_str());
    h.insert("Airlock-Seq", m.seq.to_string().as_str());
    h.insert("Airlock-Tenant", m.tenant_id.as_str());
    h.insert("Airlock-Connector", m.connector_id.as_str());
    h.insert("Airlock-Standard", m.standard.as_str());
    h.insert(
        "Airlock-Source",
        format!("{}:{}:{}", m.source_kind, m.source_id, m.source_index).as_str(),
    );
    h.insert("Content-Type", m.media_type.as_str());
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stream_is_named_after_the_prefix() {
        assert_eq!(super::stream_name("airlock"), "AIRLOCK");
        assert_eq!(super::stream_name("acme.prod"), "ACME_PROD");
        assert_eq!(super::stream_name("a-b_c"), "A-B_C");
    }
}
