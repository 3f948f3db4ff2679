//! Telling the other nodes on a shared PostgreSQL what changed, at once.
//!
//! A transaction that publishes bus messages or changes a connector also sends a
//! PostgreSQL notification (`NOTIFY`, delivered only if and when it commits); every
//! node listens on its own connection and wakes its bus subscribers or drops what
//! its caches hold of that connector. On SQLite there is one node and nothing to
//! tell: both ends are no-ops there.
//!
//! **Invariants:** a notification is an optimisation of latency, never of
//! correctness — readers still look again on their own timers, and caches still
//! expire — so a lost notification (a listener reconnecting) delays, never breaks.

use std::time::Duration;

use super::{Backend, Store, StoreError};

/// A bus message was committed (no payload).
pub const BUS_CHANNEL: &str = "airlock_bus";
/// A connector changed (payload: its id).
pub const CHANGED_CHANNEL: &str = "airlock_changed";

impl Store {
    /// Sends `payload` on `channel` when `tx` commits (PostgreSQL; nothing on SQLite).
    pub async fn notify_on_commit(
        &self,
        tx: &mut sqlx::AnyConnection,
        channel: &str,
        payload: &str,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// On PostgreSQL, listens on `channels` on a connection of its own for as long
    /// as the task runs, calling `on(channel, payload)` for each notification and
    /// reconnecting (after a second) when the connection drops. `None` on SQLite.
    pub fn listen(
        &self,
        channels: &'static [&'static str],
        on: impl Fn(&str, &str) + Send + Sync + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let url = self.url.clone();
        Some(tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen_all(channels.iter().copied()).await {
                            tracing::warn!(error = %e, "cannot listen for other nodes' changes");
                        } else {
                            loop {
                                match listener.recv().await {
                                    Ok(n) => on(n.channel(), n.payload()),
                                    Err(e) => {
                                        tracing::warn!(error = %e, "lost the notification connection; reconnecting");
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open the notification connection; retrying");
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }
}
