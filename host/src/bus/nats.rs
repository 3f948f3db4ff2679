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
//! - **Exactly once, in order.** Each message is published with `Nats-Msg-Id` =
//!   its id and `Nats-Expected-Last-Msg-Id` = the message before it, so JetStream
//!   stores the relay's messages gap-free and in `seq` order and refuses the rest
//!   of a round after a failure. The relay's position (`relay_state.last_seq`)
//!   moves only past acknowledged messages, and when a node takes the lease, or
//!   after any failure, it reads the stream's last message (`Airlock-Seq`) and
//!   goes on after it — so a message stored but whose acknowledgement was lost is
//!   not published again, however long NATS or the database was away. The
//!   duplicate window ([`DUPLICATE_WINDOW`], 10 minutes) is a second guard.
//!   The stream is Airlock's: nothing else may publish into `<prefix>.>`.
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
/// Body bytes read per round at most (at least one message): outputs may be large.
const ROUND_BYTES: i64 = 16 * 1024 * 1024;
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
    relay: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    store: Store,
    node: String,
}

/// A connection to NATS with the stream checked.
struct Link {
    js: jetstream::Context,
    stream: String,
    max_payload: usize,
}

/// Connects to NATS and creates or checks the stream over `<prefix>.>`. A stream
/// of that name capturing other subjects is an error no retry can fix
/// (`Ok(Err(_))`); an unreachable NATS one a retry may (`Err(_)`).
async fn link(url: &str, prefix: &str, node: &str) -> Result<Result<Link, RelayError>, RelayError> {
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
        return Ok(Err(RelayError::Stream {
            name,
            why: format!(
                "it exists and captures {subjects:?}, not `{subject}`: remove it or choose \
                 another --bus-prefix"
            ),
        }));
    }
    tracing::info!(url, stream = %name, %subject, "relaying the outbox to NATS JetStream");
    Ok(Ok(Link {
        js,
        stream: name,
        max_payload,
    }))
}

impl NatsBus {
    /// Connects to NATS at `url`, creates or checks the stream over `<prefix>.>`,
    /// and starts this node's relay loop (as `node` in the lease). A stream that
    /// captures other subjects refuses the start; an unreachable NATS does not —
    /// the node serves, acknowledging into the outbox, and the relay connects
    /// when NATS is back.
    pub async fn start(
        store: Store,
        url: &str,
        prefix: &str,
        node: String,
    ) -> Result<NatsBus, RelayError> {
        let first = match link(url, prefix, &node).await {
            Ok(Ok(link)) => Some(link),
            Ok(Err(fatal)) => return Err(fatal),
            Err(e) => {
                tracing::warn!(error = %e, "NATS is not reachable; relaying when it is");
                None
            }
        };
        let wake = Arc::new(Notify::new());
        let relay = tokio::spawn(relay_loop(
            store.clone(),
            (url.to_string(), prefix.to_string()),
            first,
            node.clone(),
            wake.clone(),
        ));
        Ok(NatsBus {
            outbox: EmbeddedBus::new(store.clone()),
            wake,
            relay: std::sync::Mutex::new(Some(relay)),
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
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.outbox.close();
            let relay = self.relay.lock().ok().and_then(|mut r| r.take());
            if let Some(relay) = relay {
                relay.abort();
                let _ = relay.await;
            }
            // Another node takes over at once rather than after the lease.
            if let Err(e) = self.store.release_relay(&self.node).await {
                tracing::warn!(error = %e, "could not give up the relay lease");
            }
        })
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

/// Where the relay stands in the stream, read from it when it takes the lease
/// and after any failure: the newest relayed `seq` there and its message id.
#[derive(Default)]
struct Position {
    /// False until read from the stream (again after a failure).
    synced: bool,
    /// The `Nats-Msg-Id` of the stream's last message: the next publish expects it.
    last_id: Option<String>,
}

async fn relay_loop(
    store: Store,
    (url, prefix): (String, String),
    mut link_state: Option<Link>,
    node: String,
    wake: Arc<Notify>,
) {
    let mut backoff = Duration::ZERO;
    let mut position = Position::default();
    loop {
        if backoff.is_zero() {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE) => {}
            }
        } else {
            tokio::time::sleep(backoff).await;
        }
        let Some(l) = &link_state else {
            match link(&url, &prefix, &node).await {
                Ok(Ok(l)) => {
                    link_state = Some(l);
                    backoff = Duration::ZERO;
                }
                Ok(Err(e)) | Err(e) => {
                    backoff = (backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    tracing::warn!(error = %e, retry_in_s = backoff.as_secs(), "the JetStream relay cannot start yet");
                }
            }
            continue;
        };
        // Full rounds follow each other at once: a backlog drains without waits.
        loop {
            match relay_round(&store, l, &node, &mut position).await {
                Ok(n) if n > 0 => {}
                Ok(_) => {
                    backoff = Duration::ZERO;
                    break;
                }
                Err(why) => {
                    position.synced = false;
                    backoff = (backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    tracing::warn!(error = %why, retry_in_s = backoff.as_secs(), "the JetStream relay failed a round");
                    break;
                }
            }
        }
    }
}

/// The stream's last message: its `Airlock-Seq` and `Nats-Msg-Id`.
async fn stream_tail(l: &Link) -> Result<(Option<i64>, Option<String>), String> {
    let mut stream =
        l.js.get_stream(&l.stream)
            .await
            .map_err(|e| e.to_string())?;
    let state = stream
        .info()
        .await
        .map_err(|e| e.to_string())?
        .state
        .clone();
    if state.messages == 0 {
        return Ok((None, None));
    }
    let last = stream
        .get_raw_message(state.last_sequence)
        .await
        .map_err(|e| e.to_string())?;
    let header = |name: &str| last.headers.get(name).map(|v| v.as_str().to_string());
    Ok((
        header("Airlock-Seq").and_then(|s| s.parse().ok()),
        header("Nats-Msg-Id"),
    ))
}

/// One round: if this node holds the lease, publishes the next messages and
/// records how far JetStream acknowledged them. Returns how many it read.
///
/// Each publish names the message it expects to follow
/// (`Nats-Expected-Last-Msg-Id`), so JetStream stores the relay's messages
/// gap-free and in order, and refuses the rest of a round after a failure. When
/// it takes the lease, or after a failure, the relay reads the stream's last
/// message and goes on after it: a message JetStream stored but whose
/// acknowledgement was lost is never published twice, however long the outage.
async fn relay_round(
    store: &Store,
    l: &Link,
    node: &str,
    position: &mut Position,
) -> Result<usize, String> {
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    if !store
        .claim_relay(node, crate::time::now_ms(), lease_ms)
        .await
        .map_err(|e| e.to_string())?
    {
        position.synced = false;
        return Ok(0);
    }
    if !position.synced {
        let (seq, id) = stream_tail(l).await?;
        if let Some(seq) = seq {
            store
                .advance_relay(node, seq)
                .await
                .map_err(|e| e.to_string())?;
        }
        position.last_id = id;
        position.synced = true;
    }
    let after = store.relayed_seq().await.map_err(|e| e.to_string())?;
    let rows = store
        .outbox_after(after, BATCH, ROUND_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    let mut acks = Vec::with_capacity(rows.len());
    let mut failure = None;
    for m in &rows {
        // Headers take a few hundred bytes of the server's limit.
        if m.body.len().saturating_add(1024) > l.max_payload {
            tracing::error!(seq = m.seq, id = %m.id, size = m.body.len(), max_payload = l.max_payload,
                "a message is larger than NATS accepts: not relayed (raise the server's max_payload)");
            acks.push((m.seq, None));
            continue;
        }
        let mut h = headers(m);
        if let Some(last) = &position.last_id {
            h.insert("Nats-Expected-Last-Msg-Id", last.as_str());
        }
        match l
            .js
            .publish_with_headers(m.topic.clone(), h, m.body.clone().into())
            .await
        {
            Ok(ack) => {
                position.last_id = Some(m.id.clone());
                acks.push((m.seq, Some(ack)));
            }
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
