//! Scheduled polls: claiming due deployments under a lease, and committing a poll's
//! outputs, record and new cursor in one transaction.
//!
//! **Invariants:** a deployment is polled by the holder of its lease only (the lease
//! is taken by one conditional `UPDATE`, so two nodes never both hold it); a poll's
//! messages, quarantine rows, record, kv changes and cursor commit together, and
//! only while the poller still holds the lease and no other poll committed since it
//! started (`poll_seq`) — otherwise nothing of it is written.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::bus::MessageRow;
use super::quarantine::QuarantineRow;
use super::{Rows, Store, StoreError};
use crate::runtime::KvMap;

/// A deployment whose lease a node took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The connector's tenant.
    pub tenant_id: String,
    /// The connector.
    pub connector_id: String,
    /// The deployment's target.
    pub target: String,
    /// When the poll was due, ms (the scheduling lag is measured from it).
    pub due_ms: i64,
}

/// One poll, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRow {
    /// Its id.
    pub id: String,
    /// The connector's tenant.
    pub tenant_id: String,
    /// The connector.
    pub connector_id: String,
    /// The deployment's target.
    pub target: String,
    /// When it started, ms.
    pub started_ms: i64,
    /// When it finished, ms.
    pub finished_ms: i64,
    /// `ok`, `empty`, `failed`, `rate_limited` or `skipped`.
    pub outcome: String,
    /// Outputs the guest produced.
    pub outputs: i64,
    /// Of which published.
    pub published: i64,
    /// Of which quarantined.
    pub quarantined: i64,
    /// The cursor it started from.
    pub cursor_before: Option<String>,
    /// The cursor committed after it.
    pub cursor_after: Option<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// `schedule` or the actor who ran it now.
    pub started_by: String,
    /// The node that ran it.
    pub node: String,
}

/// What a finished poll writes besides its record.
#[derive(Debug, Clone, Default)]
pub struct PollFinish {
    /// Valid outputs to publish (deterministic ids: a repeated poll of the same
    /// cursor publishes nothing twice).
    pub messages: Vec<MessageRow>,
    /// Invalid outputs to quarantine.
    pub quarantine: Vec<QuarantineRow>,
    /// The deployment's cursor after the poll.
    pub cursor_after: Option<String>,
    /// When the next scheduled poll is due (`None`: keep what is stored).
    pub next_poll_ms: Option<i64>,
    /// The failure streak after the poll.
    pub consecutive_failures: i64,
    /// Stop the schedule with this reason.
    pub paused_reason: Option<String>,
    /// The poll produced data (freshness).
    pub data: bool,
    /// Keep the lease until then (more pages follow); `None` releases it.
    pub keep_lease_until_ms: Option<i64>,
    /// The connector's kv state before and after the poll, saved with it.
    pub kv: Option<(KvMap, KvMap)>,
}

/// Poll records kept per deployment (older ones are deleted as new ones commit).
pub const POLLS_KEPT: i64 = 1000;
/// Pruning runs on every this-many-th committed poll of a deployment.
const PRUNE_EVERY: i64 = 100;

const POLL_COLUMNS: &str = "id, tenant_id, connector_id, target, started_ms, finished_ms, outcome, \
     outputs, published, quarantined, cursor_before, cursor_after, error, started_by, node";

fn poll(r: &AnyRow) -> Result<PollRow, sqlx::Error> {
    Ok(PollRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        connector_id: r.try_get("connector_id")?,
        target: r.try_get("target")?,
        started_ms: r.try_get("started_ms")?,
        finished_ms: r.try_get("finished_ms")?,
        outcome: r.try_get("outcome")?,
        outputs: r.try_get("outputs")?,
        published: r.try_get("published")?,
        quarantined: r.try_get("quarantined")?,
        cursor_before: r.try_get("cursor_before")?,
        cursor_after: r.try_get("cursor_after")?,
        error: r.try_get("error")?,
        started_by: r.try_get("started_by")?,
        node: r.try_get("node")?,
    })
}

impl Store {
    /// Takes the lease of up to `limit` due deployments (scheduled, not paused, of
    /// enabled connectors, lease free), oldest due first, for `node` until
    /// `lease_until_ms`.
    pub async fn claim_due(
        &self,
        node: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        let rows = sqlx::query(
            "UPDATE deployments SET lease_owner = $1, lease_until_ms = $2 \
             WHERE (connector_id, target) IN ( \
               SELECT d.connector_id, d.target FROM deployments d \
               JOIN connectors c ON c.id = d.connector_id \
               WHERE d.schedule IS NOT NULL AND d.paused_reason IS NULL \
                 AND d.next_poll_ms <= $3 \
                 AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $3) \
                 AND c.disabled_reason IS NULL \
               ORDER BY d.next_poll_ms LIMIT $4) \
             AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
             RETURNING connector_id, target, next_poll_ms, \
               (SELECT tenant_id FROM connectors WHERE id = deployments.connector_id) AS tenant_id",
        )
        .bind(node)
        .bind(lease_until_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut *s)
        .await?;
        s.commit().await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(Claim {
                    tenant_id: r.try_get("tenant_id")?,
                    connector_id: r.try_get("connector_id")?,
                    target: r.try_get("target")?,
                    due_ms: r
                        .try_get::<Option<i64>, _>("next_poll_ms")?
                        .unwrap_or(now_ms),
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Takes the lease of one deployment for `node` (a poll run now); false when
    /// another poll holds it.
    pub async fn take_lease(
        &self,
        connector_id: &str,
        target: &str,
        node: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        let done = sqlx::query(
            "UPDATE deployments SET lease_owner = $1, lease_until_ms = $2 \
             WHERE connector_id = $3 AND target = $4 \
             AND (lease_until_ms IS NULL OR lease_until_ms <= $5)",
        )
        .bind(node)
        .bind(lease_until_ms)
        .bind(connector_id)
        .bind(target)
        .bind(now_ms)
        .execute(&mut *s)
        .await?;
        s.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets `node`'s lease of a deployment to end at `lease_until_ms` (longer or
    /// shorter than the claim's); false when it no longer holds it.
    pub async fn extend_lease(
        &self,
        connector_id: &str,
        target: &str,
        node: &str,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        let done = sqlx::query(
            "UPDATE deployments SET lease_until_ms = $1 \
             WHERE connector_id = $2 AND target = $3 AND lease_owner = $4",
        )
        .bind(lease_until_ms)
        .bind(connector_id)
        .bind(target)
        .bind(node)
        .execute(&mut *s)
        .await?;
        s.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up `node`'s lease of a deployment without recording anything.
    pub async fn release_lease(
        &self,
        connector_id: &str,
        target: &str,
        node: &str,
    ) -> Result<(), StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        sqlx::query(
            "UPDATE deployments SET lease_owner = NULL, lease_until_ms = NULL \
             WHERE connector_id = $1 AND target = $2 AND lease_owner = $3",
        )
        .bind(connector_id)
        .bind(target)
        .bind(node)
        .execute(&mut *s)
        .await?;
        s.commit().await?;
        Ok(())
    }

    /// Releases every lease `node` holds (it restarted: none of its polls runs).
    pub async fn release_leases_of(&self, node: &str) -> Result<u64, StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        let done = sqlx::query(
            "UPDATE deployments SET lease_owner = NULL, lease_until_ms = NULL \
             WHERE lease_owner = $1",
        )
        .bind(node)
        .execute(&mut *s)
        .await?;
        s.commit().await?;
        Ok(done.rows_affected())
    }

    /// The earliest time a claimable scheduled deployment is due, ms (leased ones
    /// left out: their poll is running).
    pub async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(d.next_poll_ms) FROM deployments d JOIN connectors c \
             ON c.id = d.connector_id WHERE d.schedule IS NOT NULL \
             AND d.paused_reason IS NULL AND c.disabled_reason IS NULL \
             AND (d.lease_until_ms IS NULL OR d.lease_until_ms <= $1)",
        )
        .bind(now_ms)
        .fetch_one(&mut *self.session(Rows::All).await?)
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// Commits a poll: its messages and quarantine rows, its record, the
    /// connector's kv changes, and the deployment's new cursor and schedule — only
    /// if `node` still holds the lease and `seq` polls were committed before (no
    /// other poll committed since this one started). Returns false (and writes
    /// nothing) otherwise.
    pub async fn finish_poll(
        &self,
        node: &str,
        seq: i64,
        record: &PollRow,
        finish: &PollFinish,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Rows::All).await?;
        let updated = sqlx::query(
            "UPDATE deployments SET poll_cursor = $1, \
             next_poll_ms = COALESCE($2, next_poll_ms), consecutive_failures = $3, \
             paused_reason = $4, last_data_ms = CASE WHEN $5 = 1 THEN $6 ELSE last_data_ms END, \
             lease_owner = CASE WHEN $7 IS NULL THEN NULL ELSE lease_owner END, \
             lease_until_ms = $7, poll_seq = poll_seq + 1, last_poll_id = $12 \
             WHERE connector_id = $8 AND target = $9 AND lease_owner = $10 \
             AND poll_seq = $11",
        )
        .persistent(false)
        .bind(finish.cursor_after.as_deref())
        .bind(finish.next_poll_ms)
        .bind(finish.consecutive_failures)
        .bind(finish.paused_reason.as_deref())
        .bind(i64::from(finish.data))
        .bind(record.finished_ms)
        .bind(finish.keep_lease_until_ms)
        .bind(&record.connector_id)
        .bind(&record.target)
        .bind(node)
        .bind(seq)
        .bind(&record.id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if !finish.messages.is_empty() {
            self.lock_outbox(&mut tx).await?;
            let rows: Vec<&MessageRow> = finish.messages.iter().collect();
            for chunk in super::statement_chunks(&rows, super::bus::INSERT_CHUNK) {
                Store::insert_message_rows(self.backend, &mut tx, chunk).await?;
            }
        }
        Store::insert_quarantine(&mut tx, &finish.quarantine.iter().collect::<Vec<_>>()).await?;
        Store::insert_poll(&mut tx, record).await?;
        if let Some((before, after)) = &finish.kv {
            Store::kv_save_in(
                &mut tx,
                &record.tenant_id,
                &record.connector_id,
                before,
                after,
            )
            .await?;
        }
        if (seq + 1) % PRUNE_EVERY == 0 {
            Store::prune_polls(&mut tx, &record.connector_id, &record.target).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records a poll that changed nothing (skipped).
    pub async fn record_poll(&self, record: &PollRow) -> Result<(), StoreError> {
        let mut tx = self.begin(Rows::All).await?;
        Store::insert_poll(&mut tx, record).await?;
        sqlx::query(
            "UPDATE deployments SET last_poll_id = $1 WHERE connector_id = $2 AND target = $3",
        )
        .bind(&record.id)
        .bind(&record.connector_id)
        .bind(&record.target)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a deployment's polls but the newest [`POLLS_KEPT`].
    async fn prune_polls(
        tx: &mut sqlx::AnyConnection,
        connector_id: &str,
        target: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM polls WHERE connector_id = $1 AND target = $2 AND started_ms < ( \
               SELECT started_ms FROM polls WHERE connector_id = $1 AND target = $2 \
               ORDER BY started_ms DESC LIMIT 1 OFFSET $3)",
        )
        .bind(connector_id)
        .bind(target)
        .bind(POLLS_KEPT - 1)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    async fn insert_poll(tx: &mut sqlx::AnyConnection, p: &PollRow) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO polls ({POLL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        )))
        .persistent(false)
        .bind(&p.id)
        .bind(&p.tenant_id)
        .bind(&p.connector_id)
        .bind(&p.target)
        .bind(p.started_ms)
        .bind(p.finished_ms)
        .bind(&p.outcome)
        .bind(p.outputs)
        .bind(p.published)
        .bind(p.quarantined)
        .bind(p.cursor_before.as_deref())
        .bind(p.cursor_after.as_deref())
        .bind(p.error.as_deref())
        .bind(&p.started_by)
        .bind(&p.node)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Polls started since `since_ms` on every deployment: how many, and their mean
    /// duration in ms (operators' and benchmarks' view of the scheduler's work).
    pub async fn poll_totals(&self, since_ms: i64) -> Result<(i64, f64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(AVG(CAST(finished_ms - started_ms AS DOUBLE PRECISION)), CAST(0 AS DOUBLE PRECISION)) \
             FROM polls WHERE started_ms >= $1",
        )
        .bind(since_ms)
        .fetch_one(&mut *self.session(Rows::All).await?)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// A deployment's polls, newest first (tenant-scoped).
    pub async fn polls(
        &self,
        tenant_id: &str,
        connector_id: &str,
        target: &str,
        limit: i64,
    ) -> Result<Vec<PollRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {POLL_COLUMNS} FROM polls WHERE tenant_id = $1 AND connector_id = $2 \
             AND target = $3 ORDER BY started_ms DESC, id DESC LIMIT $4"
        )))
        .bind(tenant_id)
        .bind(connector_id)
        .bind(target)
        .bind(limit)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        Ok(rows.iter().map(poll).collect::<Result<_, _>>()?)
    }

    /// The newest poll of each deployment of a connector (tenant-scoped), by target.
    pub async fn last_polls(
        &self,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<Vec<PollRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {POLL_COLUMNS} FROM polls WHERE tenant_id = $1 AND id IN \
             (SELECT last_poll_id FROM deployments WHERE connector_id = $2)"
        )))
        .bind(tenant_id)
        .bind(connector_id)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        Ok(rows.iter().map(poll).collect::<Result<_, _>>()?)
    }

    /// The newest poll of each deployment of the connectors `ids` (tenant-scoped),
    /// in one query: what a page of the catalogue shows without a query per
    /// connector.
    pub async fn last_polls_of(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<Vec<PollRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {POLL_COLUMNS} FROM polls WHERE tenant_id = $1 AND id IN \
             (SELECT last_poll_id FROM deployments WHERE connector_id IN ({}))",
            super::placeholders(2, ids.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query
            .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(rows.iter().map(poll).collect::<Result<_, _>>()?)
    }
}
