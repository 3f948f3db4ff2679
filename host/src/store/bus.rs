//! The bus's outbox and the ingest pipeline's queue (migration 0006).
//!
//! A message is written in the transaction that finishes its source: a pushed
//! event's state change, or a call's quarantine rows. `(source_id, source_index)` is
//! unique and an event is finished only while it is still `received`, so a source
//! is published once whatever crashes or retries happen. On PostgreSQL an advisory
//! lock orders writers, so `seq` order is commit order and a reader that resumes
//! after a `seq` never skips a message committed later with a smaller one.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, QuarantineRow, Rows, Store, StoreError};

/// One message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// Its position in the log (assigned on insert; ignored when writing).
    pub seq: i64,
    /// Its id (a UUID).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// `<prefix>.<tenant_id>.<event_type>` as published.
    pub topic: String,
    /// The last token of the topic.
    pub event_type: String,
    /// The connector that produced it.
    pub connector_id: String,
    /// `event` (a pushed event) or `call` (an invoke).
    pub source_kind: String,
    /// The event's or call's id.
    pub source_id: String,
    /// The output's position among its source's outputs.
    pub source_index: i64,
    /// The standard it was validated against (`json` when none).
    pub standard: String,
    /// Its media type.
    pub media_type: String,
    /// Its body.
    pub body: Vec<u8>,
    /// When, ms since the epoch.
    pub published_ms: i64,
}

/// A stored event still waiting for the pipeline.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// Its id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The connector that pushed it.
    pub connector_id: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// The body as received.
    pub body: Vec<u8>,
    /// When it was accepted.
    pub received_ms: i64,
    /// How many times processing it failed so far.
    pub attempts: i64,
}

/// A pushed event as it stands: its state and what processing it gave.
#[derive(Debug, Clone)]
pub struct EventStatusRow {
    /// Its id.
    pub id: String,
    /// The connector that pushed it.
    pub connector_id: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// The body's size in bytes.
    pub size: i64,
    /// When it was accepted.
    pub received_ms: i64,
    /// `received` (waiting or to be retried), `processed` or `failed`.
    pub state: String,
    /// How many times processing it failed so far.
    pub attempts: i64,
    /// When processing last finished or failed.
    pub processed_ms: Option<i64>,
    /// What processing gave (JSON), once it ran.
    pub outcome: Option<String>,
}

/// What [`Store::finish_events`] committed: the events it claimed (another node
/// may have finished some) wrote these messages and quarantine rows.
#[derive(Debug, Default)]
pub struct Finished<'a> {
    /// Messages published.
    pub published: usize,
    /// Outputs quarantined.
    pub quarantined: Vec<&'a QuarantineRow>,
}

/// How the pipeline finished with an event.
#[derive(Debug, Clone)]
pub enum Finish {
    /// Transformed and validated: these messages are published, these outputs
    /// quarantined; `outcome` (JSON) summarises it.
    Processed {
        /// Valid outputs.
        messages: Vec<MessageRow>,
        /// Invalid outputs.
        quarantine: Vec<QuarantineRow>,
        /// A JSON summary kept on the event.
        outcome: String,
    },
    /// Look again after `not_before_ms`: a failure worth another try
    /// (`counts`: it spends an attempt), or a wait (a disabled connector).
    Retry {
        /// Not before this time.
        not_before_ms: i64,
        /// What failed, or why it waits (JSON).
        outcome: String,
        /// Whether this spends one of the event's attempts.
        counts: bool,
    },
    /// Given up: the event stays stored, with what failed (JSON).
    Failed {
        /// What failed (JSON).
        outcome: String,
    },
}

/// Which messages to read.
#[derive(Debug, Clone, Copy)]
pub struct MessageFilter<'a> {
    /// The reader's tenant (always applied).
    pub tenant_id: &'a str,
    /// Only this event type.
    pub event_type: Option<&'a str>,
    /// Only this connector's.
    pub connector_id: Option<&'a str>,
    /// Only messages after this `seq`.
    pub after: i64,
    /// At most this many.
    pub limit: i64,
}

/// Event ids per claiming `UPDATE`.
const UPDATE_CHUNK: usize = 32;
/// Messages per `INSERT` (12 parameters each, well under SQLite's limit).
pub(super) const INSERT_CHUNK: usize = 16;

pub(super) const COLUMNS: &str = "seq, id, tenant_id, topic, event_type, connector_id, source_kind, \
                       source_id, source_index, standard, media_type, body, published_ms";

pub(super) fn message(r: &AnyRow) -> Result<MessageRow, sqlx::Error> {
    Ok(MessageRow {
        seq: r.try_get(0)?,
        id: r.try_get(1)?,
        tenant_id: r.try_get(2)?,
        topic: r.try_get(3)?,
        event_type: r.try_get(4)?,
        connector_id: r.try_get(5)?,
        source_kind: r.try_get(6)?,
        source_id: r.try_get(7)?,
        source_index: r.try_get(8)?,
        standard: r.try_get(9)?,
        media_type: r.try_get(10)?,
        body: r.try_get(11)?,
        published_ms: r.try_get(12)?,
    })
}

impl Store {
    /// Takes the outbox's writer lock inside `tx` (PostgreSQL; SQLite's write
    /// transaction already serialises writers).
    pub(super) async fn lock_outbox(&self, tx: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            // Whoever takes the outbox lock publishes: the other nodes' subscribers
            // are woken when this commits (one statement, no extra round trip).
            sqlx::query("SELECT pg_advisory_xact_lock(7302), pg_notify($1, '')")
                .bind(super::BUS_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Publishes calls' valid outputs and quarantines their invalid ones, in one
    /// transaction (rows by reference: the group committer writes many calls'
    /// rows without copying their bodies).
    pub async fn record_outputs(
        &self,
        messages: &[&MessageRow],
        quarantine: &[&QuarantineRow],
    ) -> Result<(), StoreError> {
        if messages.is_empty() && quarantine.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin(Rows::All).await?;
        if !messages.is_empty() {
            self.lock_outbox(&mut tx).await?;
            for chunk in super::statement_chunks(messages, INSERT_CHUNK) {
                Store::insert_message_rows(self.backend, &mut tx, chunk).await?;
            }
        }
        Store::insert_quarantine(&mut tx, quarantine).await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many events wait for the pipeline, and when the oldest was received
    /// (ms): the pipeline's backlog and lag.
    pub async fn pipeline_backlog(&self) -> Result<(i64, Option<i64>), StoreError> {
        let row =
            sqlx::query("SELECT COUNT(*), MIN(received_ms) FROM events WHERE state = 'received'")
                .fetch_one(&mut *self.session(Rows::All).await?)
                .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Events waiting for the pipeline whose time has come, oldest first.
    pub async fn pending_events(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, connector_id, content_type, body, received_ms, attempts \
             FROM events WHERE state = 'received' AND not_before_ms <= $1 \
             ORDER BY received_ms, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut *self.session(Rows::All).await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingEvent {
                    id: r.try_get(0)?,
                    tenant_id: r.try_get(1)?,
                    connector_id: r.try_get(2)?,
                    content_type: r.try_get(3)?,
                    body: r.try_get(4)?,
                    received_ms: r.try_get(5)?,
                    attempts: r.try_get(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Records how the pipeline finished with each event, in one transaction. An
    /// event no longer `received` (another node finished it) is skipped with
    /// everything it would have written. Returns how many messages were published.
    pub async fn finish_events<'a>(
        &self,
        done: &'a [(String, Finish)],
    ) -> Result<Finished<'a>, StoreError> {
        // Events that finish alike (typically all of a batch: processed, one output
        // each) are moved out of `received` by one statement per chunk, which
        // returns the ids it claimed; only those events' rows are then written, many
        // per statement. Statement count, not commit count, is what costs here.
        let now = super::now_ms();
        let mut alike: std::collections::BTreeMap<(&str, i64, &str, i64), Vec<&str>> =
            Default::default();
        for (event_id, finish) in done {
            let key = match finish {
                Finish::Processed { outcome, .. } => ("processed", 0, outcome.as_str(), 0),
                Finish::Retry {
                    not_before_ms,
                    outcome,
                    counts,
                } => (
                    "received",
                    *not_before_ms,
                    outcome.as_str(),
                    i64::from(*counts),
                ),
                Finish::Failed { outcome } => ("failed", 0, outcome.as_str(), 1),
            };
            alike.entry(key).or_default().push(event_id);
        }
        let mut tx = self.begin(Rows::All).await?;
        self.lock_outbox(&mut tx).await?;
        let mut claimed = std::collections::HashSet::new();
        for ((state, not_before, outcome, counts), ids) in &alike {
            for chunk in super::statement_chunks(ids, UPDATE_CHUNK) {
                let list = (6..6 + chunk.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE events SET state = $1, not_before_ms = $2, outcome = $3, \
                     processed_ms = $4, attempts = attempts + $5 \
                     WHERE state = 'received' AND id IN ({list}) RETURNING id"
                )))
                .bind(*state)
                .bind(*not_before)
                .bind(*outcome)
                .bind(now)
                .bind(*counts);
                for id in chunk {
                    q = q.bind(*id);
                }
                for row in q.fetch_all(&mut *tx).await? {
                    claimed.insert(row.try_get::<String, _>(0)?);
                }
            }
        }
        let mut messages = Vec::new();
        let mut quarantine: Vec<&QuarantineRow> = Vec::new();
        for (event_id, finish) in done {
            if let Finish::Processed {
                messages: m,
                quarantine: q,
                ..
            } = finish
                && claimed.contains(event_id)
            {
                messages.extend(m.iter());
                quarantine.extend(q.iter());
            }
        }
        for chunk in super::statement_chunks(&messages, INSERT_CHUNK) {
            Store::insert_message_rows(self.backend, &mut tx, chunk).await?;
        }
        Store::insert_quarantine(&mut tx, &quarantine).await?;
        tx.commit().await?;
        Ok(Finished {
            published: messages.len(),
            quarantined: quarantine,
        })
    }

    /// Inserts `rows` with one statement.
    pub(super) async fn insert_message_rows(
        backend: super::Backend,
        tx: &mut sqlx::AnyConnection,
        rows: &[&MessageRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let values = super::placeholder_rows(backend, rows.len(), 12, "");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO bus_messages (id, tenant_id, topic, event_type, connector_id, \
             source_kind, source_id, source_index, standard, media_type, body, published_ms) \
             VALUES {values} ON CONFLICT (source_id, source_index) DO NOTHING"
        )));
        for m in rows {
            q = q
                .bind(&m.id)
                .bind(&m.tenant_id)
                .bind(&m.topic)
                .bind(&m.event_type)
                .bind(&m.connector_id)
                .bind(&m.source_kind)
                .bind(&m.source_id)
                .bind(m.source_index)
                .bind(&m.standard)
                .bind(&m.media_type)
                .bind(m.body.as_slice())
                .bind(m.published_ms);
        }
        q.execute(&mut *tx).await?;
        Ok(())
    }

    /// Messages of a tenant after `filter.after`, oldest first.
    pub async fn messages(&self, filter: MessageFilter<'_>) -> Result<Vec<MessageRow>, StoreError> {
        let mut sql =
            format!("SELECT {COLUMNS} FROM bus_messages WHERE tenant_id = $1 AND seq > $2");
        let mut n = 2;
        if filter.event_type.is_some() {
            n += 1;
            sql.push_str(&format!(" AND event_type = ${n}"));
        }
        if filter.connector_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND connector_id = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY seq LIMIT ${}", n + 1));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.tenant_id)
            .bind(filter.after);
        if let Some(t) = filter.event_type {
            q = q.bind(t);
        }
        if let Some(c) = filter.connector_id {
            q = q.bind(c);
        }
        let rows = q
            .bind(filter.limit)
            .fetch_all(&mut *self.session(Rows::Tenant(filter.tenant_id)).await?)
            .await?;
        rows.iter()
            .map(message)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The newest message's `seq` in the whole log (0 when empty): where a live
    /// subscription starts.
    pub async fn last_message_seq(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT MAX(seq) FROM bus_messages")
            .fetch_one(&mut *self.session(Rows::All).await?)
            .await?;
        Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
    }

    /// One of a connector's pushed events, without its body.
    pub async fn event_status(
        &self,
        tenant_id: &str,
        connector_id: &str,
        event_id: &str,
    ) -> Result<Option<EventStatusRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, connector_id, content_type, CAST(LENGTH(body) AS BIGINT), received_ms, state, attempts, \
             processed_ms, outcome FROM events \
             WHERE tenant_id = $1 AND connector_id = $2 AND id = $3",
        )
        .bind(tenant_id)
        .bind(connector_id)
        .bind(event_id)
        .fetch_optional(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(EventStatusRow {
            id: r.try_get(0)?,
            connector_id: r.try_get(1)?,
            content_type: r.try_get(2)?,
            size: r.try_get(3)?,
            received_ms: r.try_get(4)?,
            state: r.try_get(5)?,
            attempts: r.try_get(6)?,
            processed_ms: r.try_get(7)?,
            outcome: r.try_get(8)?,
        }))
    }

    /// How many of a connector's events are in each state (for tests and health).
    pub async fn event_states(
        &self,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) FROM events WHERE tenant_id = $1 AND connector_id = $2 \
             GROUP BY state ORDER BY state",
        )
        .bind(tenant_id)
        .bind(connector_id)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
