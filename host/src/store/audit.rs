//! Rows of the append-only audit trail. Chaining and verification live in `crate::audit`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, Rows, Store, StoreError};

/// What a mutation records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The tenant it concerns.
    pub tenant_id: String,
    /// Who did it: a token's subject, or `operator` for the CLI.
    pub actor: String,
    /// What was done, e.g. `connector.register`.
    pub action: String,
    /// What it was done to, e.g. a connector id.
    pub target: String,
    /// Why, when a reason is required (disable) or given.
    pub reason: Option<String>,
    /// Further facts (never secrets), as JSON.
    pub detail: serde_json::Value,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Position among its tenant's rows, from 1, without gaps (derived from the
    /// chain's order; not covered by the MAC, checked by verification).
    pub tenant_seq: i64,
    /// See [`AuditEntry`].
    pub tenant_id: String,
    /// See [`AuditEntry`].
    pub actor: String,
    /// See [`AuditEntry`].
    pub action: String,
    /// See [`AuditEntry`].
    pub target: String,
    /// See [`AuditEntry`].
    pub reason: Option<String>,
    /// JSON text.
    pub detail: String,
    /// UTC time, RFC 3339 with milliseconds.
    pub at: String,
    /// The previous row's hash (64 zeros for the first).
    pub prev_hash: String,
    /// This row's keyed hash over its fields and `prev_hash`.
    pub hash: String,
}

const COLUMNS: &str =
    "seq, tenant_id, actor, action, target, reason, detail, at, prev_hash, hash, tenant_seq";

fn row(r: &AnyRow) -> Result<AuditRow, sqlx::Error> {
    Ok(AuditRow {
        seq: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        reason: r.try_get(5)?,
        detail: r.try_get(6)?,
        at: r.try_get(7)?,
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
        // Rows written before migration 0010 were numbered by it.
        tenant_seq: r.try_get::<Option<i64>, _>(10)?.unwrap_or(0),
    })
}

impl Store {
    /// The chain's last (seq, hash) as seen inside `tx`, after taking the chain's lock:
    /// on SQLite the transaction already holds the write lock; on PostgreSQL an
    /// advisory lock serialises appenders until the transaction ends. The chain
    /// spans every tenant, so on PostgreSQL the tail is read by
    /// `airlock_audit_tail()` (migration 0013), which sees past the transaction's
    /// row-level security for that one read.
    pub async fn audit_tail(
        &self,
        tx: &mut AnyConnection,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let sql = match self.backend {
            Backend::Postgres => "SELECT tail_seq, tail_hash FROM airlock_audit_tail()",
            Backend::Sqlite => "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        };
        let r = sqlx::query(sql).fetch_optional(&mut *tx).await?;
        let Some(r) = r else { return Ok(None) };
        let seq: Option<i64> = r.try_get(0)?;
        let hash: Option<String> = r.try_get(1)?;
        Ok(seq.zip(hash))
    }

    /// The last `tenant_seq` of `tenant_id` inside `tx` (0 when none); call after
    /// [`Store::audit_tail`], whose lock serialises appenders.
    pub async fn audit_tenant_tail(
        tx: &mut AnyConnection,
        tenant_id: &str,
    ) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT MAX(tenant_seq) FROM audit WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await?;
        Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
    }

    /// Appends a row inside `tx`.
    pub async fn insert_audit(tx: &mut AnyConnection, a: &AuditRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (seq, tenant_id, actor, action, target, reason, detail, at, \
             prev_hash, hash, tenant_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .persistent(false)
        .bind(a.seq)
        .bind(&a.tenant_id)
        .bind(&a.actor)
        .bind(&a.action)
        .bind(&a.target)
        .bind(a.reason.as_deref())
        .bind(&a.detail)
        .bind(&a.at)
        .bind(&a.prev_hash)
        .bind(&a.hash)
        .bind(a.tenant_seq)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// A tenant's rows after its own sequence number `after` in the listing's
    /// order — oldest first, or newest first with `newest_first` (then `after` 0
    /// means from the newest) — at most `limit`; only those about `target` when
    /// given.
    pub async fn audit_rows(
        &self,
        tenant_id: &str,
        after: i64,
        limit: i64,
        target: Option<&str>,
        newest_first: bool,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let about = if target.is_some() {
            " AND target = $4"
        } else {
            ""
        };
        let (beyond, order, after) = match (newest_first, after) {
            (false, after) => (">", "", after),
            (true, 0) => ("<", " DESC", i64::MAX),
            (true, after) => ("<", " DESC", after),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit WHERE tenant_id = $1 AND tenant_seq {beyond} $2{about} \
             ORDER BY tenant_seq{order} LIMIT $3"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(after)
            .bind(limit);
        if let Some(target) = target {
            query = query.bind(target);
        }
        let rows = query
            .fetch_all(&mut *self.session(Rows::Tenant(tenant_id)).await?)
            .await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    /// The whole chain, oldest first (for verification).
    pub async fn all_audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit ORDER BY seq");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *self.session(Rows::All).await?)
            .await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }
}
