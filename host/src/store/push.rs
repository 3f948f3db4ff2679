//! Push connectors' credentials and the events they push (migration 0004).

use sqlx::Row;

use super::{Rows, Store, StoreError};

/// A push credential as stored: never the secret itself in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushCredentialRow {
    /// Its id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The connector it authenticates.
    pub connector_id: String,
    /// `hmac-sha256` or `api-key`.
    pub method: String,
    /// HMAC: the secret, sealed with the node's secrets key (base64).
    pub secret_sealed: Option<String>,
    /// API key: its SHA-256, hex.
    pub secret_hash: Option<String>,
    /// When it was issued, ms since the epoch.
    pub created_ms: i64,
    /// `None` while current; after a rotation, the end of its grace window.
    pub valid_until_ms: Option<i64>,
    /// OAuth2: the client whose tokens push for the connector.
    pub client_id: Option<String>,
    /// RSA: the sender's public key, PEM.
    pub public_key: Option<String>,
    /// RSA: the key id signatures name.
    pub key_id: Option<String>,
}

/// An event to store.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Its id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The connector that pushed it.
    pub connector_id: String,
    /// Unique per connector: a redelivery carries the same.
    pub idempotency_key: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// The body, as received.
    pub body: Vec<u8>,
    /// The body's SHA-256 (hex): a redelivery has the same.
    pub body_sha256: String,
    /// When, ms since the epoch.
    pub received_ms: i64,
}

/// What storing one event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    /// The id to acknowledge: this event's, or the first one's with its key.
    pub id: String,
    /// Whether this event was stored (false: its key was already taken).
    pub stored: bool,
    /// Whether the stored event with this key has this body (always true when
    /// `stored`): false means the key was reused for another event.
    pub same_body: bool,
}

/// Events per `INSERT` (8 parameters each).
const EVENT_CHUNK: usize = 16;

const CREDENTIAL_COLUMNS: &str = "id, tenant_id, connector_id, method, secret_sealed, \
                                  secret_hash, created_ms, valid_until_ms, client_id, \
                                  public_key, key_id";

impl Store {
    /// Stores a credential inside the caller's transaction (the registration's).
    pub async fn insert_push_credential(
        tx: &mut crate::store::WriteTx,
        c: &PushCredentialRow,
    ) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO push_credentials ({CREDENTIAL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(&c.id)
        .bind(&c.tenant_id)
        .bind(&c.connector_id)
        .bind(&c.method)
        .bind(c.secret_sealed.as_deref())
        .bind(c.secret_hash.as_deref())
        .bind(c.created_ms)
        .bind(c.valid_until_ms)
        .bind(c.client_id.as_deref())
        .bind(c.public_key.as_deref())
        .bind(c.key_id.as_deref())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Ends a connector's current credentials at `until_ms` (a rotation's grace),
    /// inside the caller's transaction; returns how many there were.
    pub async fn retire_push_credentials(
        tx: &mut crate::store::WriteTx,
        connector_id: &str,
        until_ms: i64,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE push_credentials SET valid_until_ms = $2 \
             WHERE connector_id = $1 AND valid_until_ms IS NULL",
        )
        .bind(connector_id)
        .bind(until_ms)
        .execute(&mut **tx)
        .await?
        .rows_affected())
    }

    /// A connector's credentials that are valid at `now_ms` (the current one, and
    /// any still inside a rotation's grace window).
    pub async fn valid_push_credentials(
        &self,
        connector_id: &str,
        now_ms: i64,
    ) -> Result<Vec<PushCredentialRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM push_credentials WHERE connector_id = $1 \
             AND (valid_until_ms IS NULL OR valid_until_ms > $2) ORDER BY created_ms DESC"
        )))
        .bind(connector_id)
        .bind(now_ms)
        .fetch_all(&mut *self.session(Rows::All).await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PushCredentialRow {
                    id: r.try_get(0)?,
                    tenant_id: r.try_get(1)?,
                    connector_id: r.try_get(2)?,
                    method: r.try_get(3)?,
                    secret_sealed: r.try_get(4)?,
                    secret_hash: r.try_get(5)?,
                    created_ms: r.try_get(6)?,
                    valid_until_ms: r.try_get(7)?,
                    client_id: r.try_get(8)?,
                    public_key: r.try_get(9)?,
                    key_id: r.try_get(10)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Stores events in one transaction, committed before this returns (group
    /// commit: one transaction for many concurrent pushes). For each, in order: the
    /// id to acknowledge and whether it was stored — an event whose connector and
    /// idempotency key are already stored (or earlier in the batch) is not stored
    /// again, and its answer is the first one's id.
    pub async fn insert_events(
        &self,
        events: &[NewEvent],
    ) -> Result<Vec<EventOutcome>, StoreError> {
        let mut tx = self.begin(Rows::All).await?;
        // Many rows per statement (statements, not commits, are what costs); the
        // ids returned are the events stored, the rest met an earlier event with
        // their key (stored before, or earlier in this batch).
        let mut stored = std::collections::HashSet::new();
        for chunk in super::statement_chunks(events, EVENT_CHUNK) {
            let values = super::placeholder_rows(self.backend, chunk.len(), 8, ", 'received'");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO events (id, tenant_id, connector_id, idempotency_key, content_type, \
                 body, body_sha256, received_ms, state) VALUES {values} \
                 ON CONFLICT (connector_id, idempotency_key) DO NOTHING RETURNING id"
            )));
            for e in chunk {
                q = q
                    .bind(&e.id)
                    .bind(&e.tenant_id)
                    .bind(&e.connector_id)
                    .bind(&e.idempotency_key)
                    .bind(&e.content_type)
                    .bind(e.body.as_slice())
                    .bind(&e.body_sha256)
                    .bind(e.received_ms);
            }
            for row in q.fetch_all(&mut *tx).await? {
                stored.insert(row.try_get::<String, _>(0)?);
            }
        }
        let mut answers = Vec::with_capacity(events.len());
        for e in events {
            answers.push(if stored.contains(&e.id) {
                EventOutcome {
                    id: e.id.clone(),
                    stored: true,
                    same_body: true,
                }
            } else {
                let first = sqlx::query(
                    "SELECT id, body_sha256 FROM events \
                     WHERE connector_id = $1 AND idempotency_key = $2",
                )
                .bind(&e.connector_id)
                .bind(&e.idempotency_key)
                .fetch_one(&mut *tx)
                .await?;
                let hash: String = first.try_get(1)?;
                EventOutcome {
                    id: first.try_get(0)?,
                    stored: false,
                    same_body: hash == e.body_sha256,
                }
            });
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// How many events a connector has stored (for tests and health).
    pub async fn count_events(&self, connector_id: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM events WHERE connector_id = $1")
                .bind(connector_id)
                .fetch_one(&mut *self.session(Rows::All).await?)
                .await?
                .try_get(0)?,
        )
    }
}
