//! The JetStream relay's state: which outbox messages JetStream has acknowledged,
//! and which node relays (one at a time, under a lease, so messages go out in
//! `seq` order).

use sqlx::Row;

use super::bus::{COLUMNS, message};
use super::{MessageRow, Rows, Store, StoreError};

impl Store {
    /// Takes or renews the relay lease for `node` until `now_ms + lease_ms`;
    /// false when another node holds it.
    pub async fn claim_relay(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        let done = sqlx::query(
            "UPDATE relay_state SET lease_owner = $1, lease_until_ms = $2 \
             WHERE id = 1 AND (lease_owner = $1 OR lease_owner IS NULL OR lease_until_ms < $3)",
        )
        .bind(node)
        .bind(now_ms.saturating_add(lease_ms))
        .bind(now_ms)
        .execute(&mut *s)
        .await?;
        s.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the relay lease up (a node stopping), so another takes over at once.
    pub async fn release_relay(&self, node: &str) -> Result<(), StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        sqlx::query(
            "UPDATE relay_state SET lease_owner = NULL, lease_until_ms = 0 \
             WHERE id = 1 AND lease_owner = $1",
        )
        .bind(node)
        .execute(&mut *s)
        .await?;
        s.commit().await?;
        Ok(())
    }

    /// The newest `seq` JetStream has acknowledged.
    pub async fn relayed_seq(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT last_seq FROM relay_state WHERE id = 1")
            .fetch_one(&mut *self.session(Rows::All).await?)
            .await?;
        Ok(r.try_get(0)?)
    }

    /// Records that every message up to `seq` was acknowledged, if `node` still
    /// holds the lease (a node that lost it moves nothing) and it is progress.
    pub async fn advance_relay(&self, node: &str, seq: i64) -> Result<bool, StoreError> {
        let mut s = self.write_session(Rows::All).await?;
        let done = sqlx::query(
            "UPDATE relay_state SET last_seq = $1 \
             WHERE id = 1 AND lease_owner = $2 AND last_seq < $1",
        )
        .bind(seq)
        .bind(node)
        .execute(&mut *s)
        .await?;
        s.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The messages of every tenant after `after`, oldest first: at most `limit`,
    /// and no more than `max_bytes` of bodies (but at least one).
    pub async fn outbox_after(
        &self,
        after: i64,
        limit: i64,
        max_bytes: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let sizes = sqlx::query(
            "SELECT CAST(LENGTH(body) AS BIGINT) FROM bus_messages WHERE seq > $1 \
             ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.session(Rows::All).await?)
        .await?;
        let mut total = 0i64;
        let mut take = 0i64;
        for r in &sizes {
            let size: i64 = r.try_get(0)?;
            if take > 0 && total.saturating_add(size) > max_bytes {
                break;
            }
            total = total.saturating_add(size);
            take += 1;
        }
        if take == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bus_messages WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(take)
        .fetch_all(&mut *self.session(Rows::All).await?)
        .await?;
        rows.iter()
            .map(message)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
