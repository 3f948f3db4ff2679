//! Heartbeats (written in batches) and each connector's derived health.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Rows, Store, StoreError};

/// One heartbeat: a guest call's outcome, or an external system's report.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatRow {
    /// Its tenant.
    pub tenant_id: String,
    /// The connector.
    pub connector_id: String,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// How long the call took, if known.
    pub latency_ms: Option<f64>,
    /// Whether it succeeded.
    pub ok: bool,
    /// The kind of failure (`timeout`, `upstream`…), if it failed.
    pub error_kind: Option<String>,
    /// A sentence about it.
    pub detail: Option<String>,
    /// `call` (a guest call) or `external` (the heartbeat endpoint).
    pub source: String,
}

/// Heartbeats of one connector counted together instead of one by one (written
/// while the heartbeat writer was behind).
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatRollup {
    /// Its tenant.
    pub tenant_id: String,
    /// The connector.
    pub connector_id: String,
    /// The oldest heartbeat's time, ms since the epoch.
    pub from_ms: i64,
    /// The newest heartbeat's time.
    pub to_ms: i64,
    /// How many.
    pub count: i64,
    /// Of which failed.
    pub failed: i64,
    /// The latency histogram, JSON (`{"le_ms": […], "counts": […], "none": n}`).
    pub latency_histogram: String,
}

/// A connector's derived status and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    /// The connector.
    pub connector_id: String,
    /// `active`, `degraded` or `error` (`registered` has no row; `disabled` is a flag
    /// on the connector).
    pub status: String,
    /// A sentence explaining the status.
    pub reason: String,
    /// The newest heartbeat's time, ms.
    pub last_at_ms: i64,
    /// Whether an external system sends this connector's heartbeats (then silence
    /// counts against it).
    pub external: bool,
}

fn heartbeat(r: &AnyRow) -> Result<HeartbeatRow, sqlx::Error> {
    let ok: i64 = r.try_get(4)?;
    Ok(HeartbeatRow {
        tenant_id: r.try_get(0)?,
        connector_id: r.try_get(1)?,
        at_ms: r.try_get(2)?,
        latency_ms: r.try_get(3)?,
        ok: ok != 0,
        error_kind: r.try_get(5)?,
        detail: r.try_get(6)?,
        source: r.try_get(7)?,
    })
}

fn health(r: &AnyRow) -> Result<HealthRow, sqlx::Error> {
    let external: i64 = r.try_get(4)?;
    Ok(HealthRow {
        connector_id: r.try_get(0)?,
        status: r.try_get(1)?,
        reason: r.try_get(2)?,
        last_at_ms: r.try_get(3)?,
        external: external != 0,
    })
}

impl Store {
    /// Inserts heartbeats in one transaction, in multi-row statements.
    pub async fn insert_heartbeats(&self, batch: &[HeartbeatRow]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin(Rows::All).await?;
        // 8 parameters a row; 100 rows stay under every driver's parameter limit.
        for chunk in batch.chunks(100) {
            let mut sql = String::from(
                "INSERT INTO heartbeats (tenant_id, connector_id, at_ms, latency_ms, ok, \
                 error_kind, detail, source) VALUES ",
            );
            sql.push_str(&super::placeholder_rows(self.backend, chunk.len(), 8, ""));
            // Not a cached prepared statement: through the Any driver a cached
            // PostgreSQL statement first prepared with a NULL latency refused a later
            // float bound to the same parameter ("incorrect binary data format").
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
            for h in chunk {
                q = q
                    .bind(&h.tenant_id)
                    .bind(&h.connector_id)
                    .bind(h.at_ms)
                    .bind(h.latency_ms)
                    .bind(i64::from(h.ok))
                    .bind(h.error_kind.as_deref())
                    .bind(h.detail.as_deref())
                    .bind(&h.source);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes summaries of heartbeats that were not kept one by one.
    pub async fn insert_heartbeat_rollups(
        &self,
        rollups: &[HeartbeatRollup],
    ) -> Result<(), StoreError> {
        if rollups.is_empty() {
            return Ok(());
        }
        let now = crate::time::now_ms();
        let mut tx = self.begin(Rows::All).await?;
        for r in rollups {
            sqlx::query(
                "INSERT INTO heartbeat_rollups (tenant_id, connector_id, from_ms, to_ms, count, \
                 failed, latency_histogram, written_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&r.tenant_id)
            .bind(&r.connector_id)
            .bind(r.from_ms)
            .bind(r.to_ms)
            .bind(r.count)
            .bind(r.failed)
            .bind(&r.latency_histogram)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many heartbeats of a connector were summarised (total, failed).
    pub async fn summarised_heartbeats(
        &self,
        connector_id: &str,
    ) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(failed), 0) FROM heartbeat_rollups \
             WHERE connector_id = $1",
        )
        .bind(connector_id)
        .fetch_one(&mut *self.session(Rows::All).await?)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// The newest `limit` heartbeats that count towards a connector's health (those
    /// since it was last enabled), newest first, read inside `tx`.
    async fn health_window_in(
        tx: &mut AnyConnection,
        connector_id: &str,
        limit: i64,
    ) -> Result<Vec<HeartbeatRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.tenant_id, h.connector_id, h.at_ms, h.latency_ms, h.ok, h.error_kind, \
             h.detail, h.source FROM heartbeats h JOIN connectors c ON c.id = h.connector_id \
             WHERE h.connector_id = $1 AND h.at_ms >= c.health_since_ms \
             ORDER BY h.id DESC LIMIT $2",
        )
        .bind(connector_id)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows.iter().map(heartbeat).collect::<Result<_, _>>()?)
    }

    /// Takes a connector's health lock inside `tx` until it ends (PostgreSQL: an
    /// advisory lock; SQLite's write transactions are serial already): held by
    /// [`Store::rederive_health`] and by an enable, which resets the health, so a
    /// derivation from before the reset never lands after it.
    pub async fn lock_health(
        &self,
        tx: &mut AnyConnection,
        connector_id: &str,
    ) -> Result<(), StoreError> {
        if self.backend == super::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7303, hashtext($1))")
                .bind(connector_id)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Re-derives the health of a connector of `tenant_id` from its newest `limit`
    /// heartbeats: `derive` is given its previous health and that window (newest
    /// first) and answers the new health, if any. Several nodes write heartbeats
    /// of one connector, so the read, the derivation and the write are one
    /// transaction under a per-connector lock (PostgreSQL: an advisory lock until
    /// commit; SQLite: the write lock): nodes deriving at once take turns, and the
    /// last to write has read every heartbeat committed before it — a stale
    /// derivation never overwrites a newer one.
    pub async fn rederive_health(
        &self,
        tenant_id: &str,
        connector_id: &str,
        limit: i64,
        derive: impl FnOnce(Option<&HealthRow>, &[HeartbeatRow]) -> Option<HealthRow>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Rows::Tenant(tenant_id)).await?;
        self.lock_health(&mut tx, connector_id).await?;
        let window = Store::health_window_in(&mut tx, connector_id, limit).await?;
        let previous = Store::health_in(&mut tx, tenant_id, connector_id).await?;
        // Ended here rather than dropped: a dropped transaction's rollback runs on
        // its connection a moment after the turn to write is handed on.
        let Some(next) = derive(previous.as_ref(), &window) else {
            tx.rollback().await?;
            return Ok(());
        };
        if Store::put_health_in(&mut tx, tenant_id, &next).await? {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(())
    }

    /// The newest `limit` heartbeats of a connector of `tenant_id`, newest first.
    pub async fn recent_heartbeats(
        &self,
        tenant_id: &str,
        connector_id: &str,
        limit: i64,
    ) -> Result<Vec<HeartbeatRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT tenant_id, connector_id, at_ms, latency_ms, ok, error_kind, detail, source \
             FROM heartbeats WHERE tenant_id = $1 AND connector_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(connector_id)
        .bind(limit)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        Ok(rows.iter().map(heartbeat).collect::<Result<_, _>>()?)
    }

    /// The health row of a connector of `tenant_id`.
    pub async fn health(
        &self,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<Option<HealthRow>, StoreError> {
        let mut s = self.session(Rows::Tenant(tenant_id)).await?;
        Store::health_in(&mut s, tenant_id, connector_id).await
    }

    /// [`Store::health`] inside `tx`.
    async fn health_in(
        tx: &mut AnyConnection,
        tenant_id: &str,
        connector_id: &str,
    ) -> Result<Option<HealthRow>, StoreError> {
        let row = sqlx::query(
            "SELECT connector_id, status, reason, last_at_ms, external FROM health \
             WHERE tenant_id = $1 AND connector_id = $2",
        )
        .bind(tenant_id)
        .bind(connector_id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(row.as_ref().map(health).transpose()?)
    }

    /// Every health row of a tenant.
    pub async fn tenant_health(&self, tenant_id: &str) -> Result<Vec<HealthRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT connector_id, status, reason, last_at_ms, external FROM health \
             WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
        .await?;
        Ok(rows.iter().map(health).collect::<Result<_, _>>()?)
    }

    /// Writes a connector's health inside `tx`; false, writing nothing, when the
    /// connector no longer exists (deleted while its last heartbeats waited), so a
    /// late heartbeat never fails the batch it came in (then `tx` is of no further
    /// use: PostgreSQL aborted it).
    async fn put_health_in(
        tx: &mut AnyConnection,
        tenant_id: &str,
        h: &HealthRow,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO health (connector_id, tenant_id, status, reason, last_at_ms, external) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM connectors WHERE id = $1) \
             ON CONFLICT (connector_id) DO UPDATE SET \
             status = excluded.status, reason = excluded.reason, \
             last_at_ms = excluded.last_at_ms, external = excluded.external",
        )
        .bind(&h.connector_id)
        .bind(tenant_id)
        .bind(&h.status)
        .bind(&h.reason)
        .bind(h.last_at_ms)
        .bind(i64::from(h.external))
        .execute(&mut *tx)
        .await;
        match done {
            Ok(_) => Ok(true),
            // PostgreSQL: the connector was deleted by a transaction that committed
            // after this statement's snapshot; nothing to write, as above.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
