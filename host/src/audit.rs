//! The append-only, tamper-evident audit trail.
//!
//! Invariants:
//! - A row is appended inside the transaction that made the change it records, so a
//!   change and its audit row commit or roll back together.
//! - Rows form one chain across tenants: `seq` runs from 1 without gaps, and each
//!   row's `hash` is an HMAC-SHA256 (key in the data directory) over its fields and
//!   the previous row's hash. Editing a row breaks its MAC; deleting one leaves a gap
//!   and breaks the next row's link; inserting one needs the key. Cutting rows off
//!   the end leaves a valid shorter chain: `airlock audit verify` prints the head
//!   (seq and hash) so an operator can compare it with one recorded earlier.
//! - Each row also has its tenant's own number, `tenant_seq`, from 1 without gaps
//!   in chain order: tenants page by it and never see the chain's `seq`, whose gaps
//!   would tell them how much other tenants did. It is derived from the chain, so
//!   verification recomputes it rather than the MAC covering it.

use sqlx::AnyConnection;

use crate::keys::Keys;
use crate::store::{AuditEntry, AuditRow, Store, StoreError};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn mac(keys: &Keys, r: &AuditRow) -> String {
    // A JSON array is an unambiguous encoding of the fields.
    let message = serde_json::json!([
        r.seq,
        r.tenant_id,
        r.actor,
        r.action,
        r.target,
        r.reason,
        r.detail,
        r.at,
        r.prev_hash
    ])
    .to_string();
    keys.audit_mac(message.as_bytes())
}

/// Appends `entry` inside `tx` (which must be the transaction making the change).
pub async fn append(
    store: &Store,
    tx: &mut AnyConnection,
    keys: &Keys,
    entry: AuditEntry,
) -> Result<AuditRow, StoreError> {
    let (seq, prev_hash) = match store.audit_tail(tx).await? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let tenant_seq = Store::audit_tenant_tail(tx, &entry.tenant_id).await? + 1;
    let mut row = AuditRow {
        seq,
        tenant_seq,
        tenant_id: entry.tenant_id,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        reason: entry.reason,
        detail: entry.detail.to_string(),
        at: crate::time::rfc3339(crate::time::now_ms()),
        prev_hash,
        hash: String::new(),
    };
    row.hash = mac(keys, &row);
    Store::insert_audit(tx, &row).await?;
    Ok(row)
}

/// One problem found in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The row concerned (for a gap: the first missing seq).
    pub seq: i64,
    /// What is wrong, as a sentence.
    pub problem: String,
}

/// Checks a whole chain (rows ordered by seq). Empty when intact.
pub fn verify(rows: &[AuditRow], keys: &Keys) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_string();
    // Per tenant: rows counted so far, and how far the numbers were off at the
    // last row (reported when that changes, so one edit or deletion is one finding).
    let mut per_tenant: std::collections::HashMap<&str, (i64, i64)> =
        std::collections::HashMap::new();
    for r in rows {
        if r.seq > expected_seq {
            findings.push(Finding {
                seq: expected_seq,
                problem: if r.seq == expected_seq + 1 {
                    format!("row {expected_seq} was deleted")
                } else {
                    format!("rows {expected_seq} to {} were deleted", r.seq - 1)
                },
            });
        }
        if r.hash != mac(keys, r) {
            findings.push(Finding {
                seq: r.seq,
                problem: format!(
                    "row {} was edited or inserted: its MAC does not match its contents",
                    r.seq
                ),
            });
        } else if r.prev_hash != prev_hash {
            findings.push(Finding {
                seq: r.seq,
                problem: format!(
                    "row {} does not link to the row before it (a row before it was changed, removed or inserted)",
                    r.seq
                ),
            });
        }
        let (counted, last_offset) = per_tenant.entry(r.tenant_id.as_str()).or_insert((0, 0));
        *counted += 1;
        let offset = r.tenant_seq - *counted;
        if offset != 0 && offset != *last_offset {
            findings.push(Finding {
                seq: r.seq,
                problem: format!(
                    "row {} carries tenant number {} but is number {} of its tenant's rows \
                     (a row was edited, removed or inserted)",
                    r.seq, r.tenant_seq, counted
                ),
            });
        }
        *last_offset = offset;
        expected_seq = r.seq + 1;
        prev_hash = r.hash.clone();
    }
    findings
}
