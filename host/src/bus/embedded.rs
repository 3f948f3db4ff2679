//! The embedded backend: the outbox table is the log; a watch channel wakes this
//! node's subscribers when a commit publishes, and a one-second timer catches
//! other nodes' commits on a shared PostgreSQL.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt as _};
use tokio::sync::watch;

use super::{Bus, BusError, Selection};
use crate::store::{MessageFilter, MessageRow, Store};

/// Messages read from the store per query.
const PAGE: i64 = 256;
/// How often an idle subscriber looks for commits it was not woken for.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// The database-backed bus.
#[derive(Debug)]
pub struct EmbeddedBus {
    store: Store,
    /// Bumped on each publishing commit; [`CLOSED`] once closed.
    wake: watch::Sender<u64>,
}

/// The wake counter's value after [`Bus::close`].
const CLOSED: u64 = u64::MAX;

impl EmbeddedBus {
    /// A bus over `store`'s outbox.
    pub fn new(store: Store) -> EmbeddedBus {
        EmbeddedBus {
            store,
            wake: watch::channel(0).0,
        }
    }
}

struct Tail {
    store: Store,
    selection: Selection,
    cursor: i64,
    buffer: VecDeque<MessageRow>,
    wake: watch::Receiver<u64>,
    failed: bool,
}

impl Tail {
    async fn next(mut self) -> Option<(Result<MessageRow, BusError>, Tail)> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(m) = self.buffer.pop_front() {
                self.cursor = m.seq;
                return Some((Ok(m), self));
            }
            // Mark what has been seen before reading, so a commit during the read
            // still wakes the next wait.
            if *self.wake.borrow_and_update() == CLOSED {
                return None;
            }
            let page = self
                .store
                .messages(MessageFilter {
                    tenant_id: &self.selection.tenant_id,
                    event_type: self.selection.event_type.as_deref(),
                    connector_id: self.selection.connector_id.as_deref(),
                    after: self.cursor,
                    limit: PAGE,
                })
                .await;
            match page {
                Ok(rows) if rows.is_empty() => {
                    tokio::select! {
                        changed = self.wake.changed() => if changed.is_err() { return None },
                        () = tokio::time::sleep(IDLE_POLL) => {}
                    }
                }
                Ok(rows) => self.buffer.extend(rows),
                Err(e) => {
                    self.failed = true;
                    return Some((Err(e.into()), self));
                }
            }
        }
    }
}

impl Bus for EmbeddedBus {
    fn published(&self) {
        self.wake.send_modify(|n| {
            if *n != CLOSED {
                *n = (*n + 1) % CLOSED;
            }
        });
    }

    fn close(&self) {
        self.wake.send_replace(CLOSED);
    }

    fn history<'a>(
        &'a self,
        selection: &'a Selection,
        after: i64,
        limit: i64,
    ) -> BoxFuture<'a, Result<Vec<MessageRow>, BusError>> {
        Box::pin(async move {
            Ok(self
                .store
                .messages(MessageFilter {
                    tenant_id: &selection.tenant_id,
                    event_type: selection.event_type.as_deref(),
                    connector_id: selection.connector_id.as_deref(),
                    after,
                    limit,
                })
                .await?)
        })
    }

    fn subscribe(
        &self,
        selection: Selection,
        after: Option<i64>,
    ) -> BoxFuture<'_, Result<BoxStream<'static, Result<MessageRow, BusError>>, BusError>> {
        Box::pin(async move {
            let cursor = match after {
                Some(a) => a,
                None => self.store.last_message_seq().await?,
            };
            let tail = Tail {
                store: self.store.clone(),
                selection,
                cursor,
                buffer: VecDeque::new(),
                wake: self.wake.subscribe(),
                failed: false,
            };
            Ok(stream::unfold(tail, Tail::next).boxed())
        })
    }
}
