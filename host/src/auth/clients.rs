//! Whether an OAuth client may still act: a revoked client's tokens stop working
//! although their signatures stay valid.
//!
//! **Invariants:** every request authenticated by an access token asks
//! [`ClientStatus::is_active`] after the signature and claims check out. The
//! answer is remembered for at most [`CLIENT_STATUS_TTL`], so a revocation —
//! made by `airlock client revoke` on any node, or by deleting a push connector —
//! takes effect on every node within that time, at the cost of one indexed
//! query per client per second, never one per request.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::store::{Store, StoreError};

/// How long a client's status is trusted from memory.
pub const CLIENT_STATUS_TTL: Duration = Duration::from_secs(1);

/// Clients remembered at most (the memory is cleared when full).
const ENTRIES: usize = 10_000;

/// The clients' statuses, read from the store and remembered briefly.
#[derive(Debug)]
pub struct ClientStatus {
    store: Store,
    /// Read by every request (a shared lock), written once per client per TTL.
    seen: RwLock<HashMap<String, (bool, Instant)>>,
}

impl ClientStatus {
    /// Statuses read from `store`.
    pub fn new(store: Store) -> ClientStatus {
        ClientStatus {
            store,
            seen: RwLock::new(HashMap::new()),
        }
    }

    /// Whether `client_id` exists and is not revoked (as of at most
    /// [`CLIENT_STATUS_TTL`] ago).
    pub async fn is_active(&self, client_id: &str) -> Result<bool, StoreError> {
        if let Ok(seen) = self.seen.read()
            && let Some((active, at)) = seen.get(client_id)
            && at.elapsed() < CLIENT_STATUS_TTL
        {
            return Ok(*active);
        }
        let at = Instant::now();
        let active = self.store.client_is_active(client_id).await?;
        if let Ok(mut seen) = self.seen.write() {
            if seen.len() >= ENTRIES {
                seen.clear();
            }
            seen.insert(client_id.to_string(), (active, at));
        }
        Ok(active)
    }

    /// Forgets what is remembered of `client_id` (it was revoked on this node).
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut seen) = self.seen.write() {
            seen.remove(client_id);
        }
    }
}
