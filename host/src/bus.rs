//! The event bus: where validated output goes, partitioned by tenant.
//!
//! Topics are `<prefix>.<tenant_id>.<event_type>` (NATS subject syntax, so the
//! JetStream backend can use them as subjects). The event type is the output's
//! standard as one token: `stix`, `cap`, `ais`, `niem`, `stanag-4607`, `json`.
//!
//! The embedded backend ([`EmbeddedBus`]) is a transactional outbox: messages are
//! rows of `bus_messages`, written by `store` in the transaction that finishes their
//! source (so a message exists if and only if its source is done), read back as
//! history and tailed by subscribers, who are woken in-process when a commit
//! publishes and look again every second for other nodes' commits (on PostgreSQL,
//! a notification wakes them at once, `store::BUS_CHANNEL`). With NATS
//! ([`NatsBus`]), the same outbox is also relayed to a JetStream stream, for
//! downstream consumers.
//!
//! **Invariants:**
//! - Every read is bounded to one tenant; a subscription names its tenant in the
//!   topic and wildcards stand only for the event type, never for the tenant.
//! - A subscriber that resumes after a `seq` gets every later message once, in
//!   order (the store keeps `seq` order equal to commit order).
//! - Only validated output is published (`registry` and `ingest` screen first).

mod embedded;
mod nats;
mod topic;

use std::fmt;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

pub use embedded::EmbeddedBus;
pub use nats::{DUPLICATE_WINDOW, LEASE as RELAY_LEASE, MAX_AGE, NatsBus, RelayError, stream_name};
pub use topic::{TopicError, Topics};

use crate::store::{MessageRow, StoreError};

/// A read of the bus failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The backing store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a reader wants: one tenant, optionally one event type and one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The reader's tenant.
    pub tenant_id: String,
    /// `None`: every event type (the topic ended in a wildcard).
    pub event_type: Option<String>,
    /// `None`: every connector.
    pub connector_id: Option<String>,
}

impl Selection {
    /// Whether `m` is selected.
    pub fn matches(&self, m: &MessageRow) -> bool {
        m.tenant_id == self.tenant_id
            && self.event_type.as_ref().is_none_or(|t| *t == m.event_type)
            && self
                .connector_id
                .as_ref()
                .is_none_or(|c| *c == m.connector_id)
    }
}

/// A message as readers see it (history pages and SSE `data`).
#[derive(Debug, Clone, serde::Serialize, async_graphql::SimpleObject, utoipa::ToSchema)]
#[graphql(name = "Message")]
pub struct MessageView {
    /// Its position in the log: the SSE id, and `after` to resume from.
    pub seq: i64,
    /// Its id (a UUID), stable across redeliveries.
    pub id: String,
    /// `<prefix>.<tenant_id>.<event_type>`.
    pub topic: String,
    /// The last token of the topic.
    pub event_type: String,
    /// The connector that produced it.
    pub connector_id: String,
    /// The call or pushed event it came from.
    pub source: MessageSource,
    /// The standard it was validated against (`json` when none).
    pub standard: String,
    /// Its media type.
    pub media_type: String,
    /// Its body: inline JSON or text when UTF-8, else lowercase hex.
    pub body: serde_json::Value,
    /// When it was published.
    pub published_at: String,
}

/// Where a message came from.
#[derive(Debug, Clone, serde::Serialize, async_graphql::SimpleObject, utoipa::ToSchema)]
pub struct MessageSource {
    /// `event` (a pushed event), `call` (an invoke) or `poll` (a scheduled poll).
    pub kind: String,
    /// The event's or call's id; for a poll, the page's (UUIDv5 of the deployment
    /// and its committed-poll count, the same if the page is polled again).
    pub id: String,
    /// The output's position among its source's outputs.
    pub index: i64,
}

impl MessageView {
    /// The view of a message row.
    pub fn of(m: &MessageRow) -> MessageView {
        MessageView {
            seq: m.seq,
            id: m.id.clone(),
            topic: m.topic.clone(),
            event_type: m.event_type.clone(),
            connector_id: m.connector_id.clone(),
            source: MessageSource {
                kind: m.source_kind.clone(),
                id: m.source_id.clone(),
                index: m.source_index,
            },
            standard: m.standard.clone(),
            media_type: m.media_type.clone(),
            body: crate::runtime::body_json(&m.body),
            published_at: crate::time::rfc3339(m.published_ms),
        }
    }
}

/// A page of history (`GET /api/events`), oldest first.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    /// This page.
    pub items: Vec<MessageView>,
    /// The `seq` to pass as `after` for the next page.
    pub next_after: i64,
}

/// A bus backend. Messages are written by the store inside their source's
/// transaction; a backend tells subscribers about them and serves reads.
pub trait Bus: Send + Sync + fmt::Debug {
    /// Called after a transaction that published messages has committed.
    fn published(&self);

    /// Ends every subscription (the node is shutting down: open streams would
    /// otherwise hold a graceful shutdown forever). Clients resume elsewhere
    /// with their last id.
    fn close(&self);

    /// Stops the backend for good (the node is shutting down): [`Bus::close`],
    /// then whatever the backend runs in the background, awaited.
    fn stop(&self) -> BoxFuture<'_, ()> {
        self.close();
        Box::pin(async {})
    }

    /// Up to `limit` selected messages after `after`, oldest first.
    fn history<'a>(
        &'a self,
        selection: &'a Selection,
        after: i64,
        limit: i64,
    ) -> BoxFuture<'a, Result<Vec<MessageRow>, BusError>>;

    /// A live subscription: every selected message after `after` (`None`: after the
    /// newest one now), in order, then each new one as it is published. The stream
    /// ends with an error if the store fails.
    fn subscribe(
        &self,
        selection: Selection,
        after: Option<i64>,
    ) -> BoxFuture<'_, Result<BoxStream<'static, Result<MessageRow, BusError>>, BusError>>;
}
