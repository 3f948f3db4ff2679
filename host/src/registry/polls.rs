//! Polling a deployment: one `poll(cursor)` call in the sandbox under the
//! deployment's limits, grants, secrets and kv, its outputs screened, then its
//! messages, quarantine rows, record, kv changes and new cursor committed in one
//! transaction (`Store::finish_poll`). The scheduler (`crate::scheduler`) decides
//! when; this file decides what a poll does and what comes next.
//!
//! **Invariants:**
//! - A poll runs under its deployment's lease (`deployments.lease_owner`), which
//!   outlasts the call's wall clock: while the lease holds, no other poll of the
//!   deployment starts, on this node or another. Should a poll outrun its lease
//!   anyway, at most one of the two commits: a poll commits only from the
//!   committed-poll count it started at (`deployments.poll_seq`), which every
//!   commit — and every change of the deployment — advances.
//! - Nothing of a poll is visible unless all of it commits; a crash before the
//!   commit leaves the old cursor, and the repeated poll's outputs get the same ids
//!   (UUIDv5 of deployment, committed-poll count and position), which the outbox
//!   refuses to publish twice.
//! - Failure policy: `rate-limited` waits for its `retry-after` (capped at
//!   [`MAX_RETRY_AFTER_MS`]); other failures keep the cursor and back off
//!   exponentially from the period (period × 2ⁿ⁻¹, capped at the larger of the period
//!   and [`BACKOFF_CAP_MS`]); a connector refusing its config (`invalid-config`) or
//!   not polling at all (`unsupported`) stops the schedule with the reason until the
//!   deployment changes. `more: true` polls again at once, up to
//!   [`MAX_PAGES_PER_RUN`] pages, each committed on its own.

use std::time::Duration;

use super::calls::Call;
use super::checks::schedule_period_ms;
use super::outputs::{self, Screened};
use super::views::PollRecord;
use super::{Registry, RegistryError};
use crate::runtime::CallError;
use crate::runtime::bindings::airlock::connector::types::ConnectorError;
use crate::store::{Claim, DeploymentRow, PollFinish, PollRow};
use crate::time::now_ms;

/// Pages one scheduled run polls at most before yielding to other deployments
/// (it continues at once on the scheduler's next round).
pub const MAX_PAGES_PER_RUN: usize = 100;
/// The longest wait a connector's `retry-after` can ask for.
pub const MAX_RETRY_AFTER_MS: i64 = 3_600_000;
/// Backoff after failures grows up to this (or the period, when longer).
pub const BACKOFF_CAP_MS: i64 = 3_600_000;

/// What started a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger<'a> {
    /// The schedule (the scheduler holds the lease).
    Schedule,
    /// An admin's "poll now" (`actor`).
    Now(&'a str),
}

impl Trigger<'_> {
    fn name(&self) -> &str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Now(actor) => actor,
        }
    }
}

/// The next time on `period_ms`'s grid (offset by `offset_ms`) strictly after `after_ms`.
pub fn next_on_grid(period_ms: i64, offset_ms: i64, after_ms: i64) -> i64 {
    let period = period_ms.max(1);
    let k = (after_ms - offset_ms).div_euclid(period) + 1;
    k.saturating_mul(period).saturating_add(offset_ms)
}

/// A deployment's fixed offset on its schedule's grid, anywhere in the period, from
/// a hash of its identity (as Prometheus spreads scrape targets over the interval):
/// a thousand deployments on one schedule are spread evenly over each period
/// instead of firing in the same millisecond, and no offset drifts from one period
/// to the next.
pub fn jitter_ms(connector_id: &str, target: &str, period_ms: i64) -> i64 {
    let spread = period_ms.max(1);
    // FNV-1a: stable across nodes and releases, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in connector_id.bytes().chain([0]).chain(target.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    i64::try_from(h % u64::try_from(spread).unwrap_or(1)).unwrap_or(0)
}

/// The wait after the `failures`-th failure in a row.
pub fn backoff_ms(period_ms: i64, failures: i64) -> i64 {
    let doublings = u32::try_from((failures - 1).clamp(0, 20)).unwrap_or(20);
    period_ms
        .saturating_mul(1_i64 << doublings)
        .min(period_ms.max(BACKOFF_CAP_MS))
}

/// The id of the messages source of the `seq`-th committed poll of the deployment
/// of `connector_id` to `target` created at `created_ms` (a deployment removed and
/// made again to the same target is another deployment: its counts start afresh).
fn page_id(connector_id: &str, target: &str, created_ms: i64, seq: i64) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("airlock-poll\0{connector_id}\0{target}\0{created_ms}\0{seq}").as_bytes(),
    )
}

/// How one page ended, before it is written.
struct Page {
    outcome: &'static str,
    screened: Screened,
    cursor_after: Option<String>,
    more: bool,
    error: Option<String>,
    failures: i64,
    next_poll_ms: Option<i64>,
    paused_reason: Option<String>,
    kv: Option<(crate::runtime::KvMap, crate::runtime::KvMap)>,
}

impl Registry {
    /// This node's id in leases (stable across restarts of the same data directory).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// How long a claimed lease lasts: the default wall clock plus the poll lease.
    pub fn default_lease(&self) -> Duration {
        self.runtime.limits().wall_clock + self.poll_lease
    }

    /// How long a poll's lease lasts: its call's wall clock plus the poll lease, ms.
    fn lease_for(&self, d: &DeploymentRow) -> i64 {
        let wall = serde_json::from_str::<crate::runtime::LimitOverrides>(&d.limits)
            .ok()
            .and_then(|o| self.runtime.limits().with_overrides(&o).ok())
            .unwrap_or(*self.runtime.limits())
            .wall_clock;
        i64::try_from((wall + self.poll_lease).as_millis()).unwrap_or(i64::MAX)
    }

    /// Runs one poll of the deployment now (an admin's request), under its lease;
    /// answers the record. A deployment whose lease another poll holds answers a
    /// `skipped` record.
    pub async fn poll_now(
        &self,
        tenant: &str,
        actor: &str,
        connector_id: &str,
        target: &str,
    ) -> Result<PollRecord, RegistryError> {
        let Some((connector, d)) = self
            .store
            .connector_with_deployment(tenant, connector_id, target)
            .await?
        else {
            // Which is missing, without telling another tenant's connectors apart.
            self.connector(tenant, connector_id).await?;
            return Err(RegistryError::NotFound(format!(
                "no deployment to target `{target}`"
            )));
        };
        if let Some(reason) = &connector.disabled_reason {
            return Err(RegistryError::Conflict {
                code: "connector_disabled",
                message: format!("the connector is disabled: {reason}"),
            });
        }
        let now = now_ms();
        let claim = Claim {
            tenant_id: tenant.to_string(),
            connector_id: connector.id.clone(),
            target: target.to_string(),
            due_ms: now,
        };
        if !self
            .store
            .take_lease(
                &connector.id,
                target,
                &self.node,
                now,
                now + self.lease_for(&d),
            )
            .await?
        {
            let record = PollRow {
                id: crate::store::row_id(),
                tenant_id: tenant.to_string(),
                connector_id: connector.id.clone(),
                target: target.to_string(),
                started_ms: now,
                finished_ms: now,
                outcome: "skipped".into(),
                outputs: 0,
                published: 0,
                quarantined: 0,
                cursor_before: d.polling.cursor.clone(),
                cursor_after: d.polling.cursor.clone(),
                error: Some("another poll of this deployment is running".into()),
                started_by: actor.to_string(),
                node: self.node.clone(),
            };
            self.store.record_poll(&record).await?;
            return Ok(PollRecord::of(&record));
        }
        match self.poll_page(&claim, Trigger::Now(actor), false).await {
            Ok((record, _)) => Ok(PollRecord::of(&record)),
            Err(e) => {
                self.release_after_error(&claim).await;
                Err(e)
            }
        }
    }

    /// Runs a claimed deployment's scheduled polls: one page, then more at once
    /// while the connector says `more`, up to [`MAX_PAGES_PER_RUN`]. The lease is
    /// released (or expires) when it returns.
    pub async fn poll_claimed(&self, claim: &Claim) -> Result<Vec<PollRecord>, RegistryError> {
        let mut records = Vec::new();
        for page in 1..=MAX_PAGES_PER_RUN {
            let last = page == MAX_PAGES_PER_RUN;
            let (record, more) = match self.poll_page(claim, Trigger::Schedule, !last).await {
                Ok(done) => done,
                Err(e) => {
                    self.release_after_error(claim).await;
                    return Err(e);
                }
            };
            records.push(PollRecord::of(&record));
            if !more {
                break;
            }
        }
        Ok(records)
    }

    /// One page under the lease `claim` holds. With `continue_after`, a page that
    /// says `more` keeps the lease for the next; otherwise the lease is released and
    /// the next poll scheduled. Returns the record and whether to go on.
    async fn poll_page(
        &self,
        claim: &Claim,
        trigger: Trigger<'_>,
        continue_after: bool,
    ) -> Result<(PollRow, bool), RegistryError> {
        let started = now_ms();
        let found = self
            .store
            .connector_with_deployment(&claim.tenant_id, &claim.connector_id, &claim.target)
            .await?;
        let Some((connector, d)) = found else {
            // Deleted meanwhile: nothing to poll, nothing to release.
            return Ok((
                self.skipped(claim, trigger, started, None, "the deployment was removed"),
                false,
            ));
        };
        if connector.disabled_reason.is_some() {
            self.store
                .release_lease(&claim.connector_id, &claim.target, &self.node)
                .await?;
            let record = self.skipped(
                claim,
                trigger,
                started,
                d.polling.cursor.clone(),
                "the connector is disabled",
            );
            self.store.record_poll(&record).await?;
            return Ok((record, false));
        }
        // The claim leased for the default wall clock: a deployment with its own
        // limits holds its lease for exactly its own (a dead node's then waits no
        // longer than it must, and a long call is not taken over while it runs).
        let needed = self.lease_for(&d);
        if needed != i64::try_from(self.default_lease().as_millis()).unwrap_or(i64::MAX)
            && !self
                .store
                .extend_lease(
                    &claim.connector_id,
                    &claim.target,
                    &self.node,
                    started.saturating_add(needed),
                )
                .await?
        {
            return Ok((
                self.skipped(
                    claim,
                    trigger,
                    started,
                    d.polling.cursor.clone(),
                    "the lease passed to another poll",
                ),
                false,
            ));
        }
        let cursor_before = d.polling.cursor.clone();
        let seq = d.polling.seq;
        let source = page_id(&claim.connector_id, &claim.target, d.created_ms, seq).to_string();
        let page = self.run_page(claim, &d, &source).await;
        let finished = now_ms();
        let period = d
            .schedule
            .as_deref()
            .and_then(schedule_period_ms)
            .unwrap_or(0);
        let scheduled = |after: i64| {
            (period > 0).then(|| {
                next_on_grid(
                    period,
                    jitter_ms(&claim.connector_id, &claim.target, period),
                    after,
                )
            })
        };
        let mut page = page;
        // A connector that says `more` without moving its cursor or producing
        // anything would be polled back to back forever: it waits for its period.
        let moved = page.outcome == "ok" || page.cursor_after != cursor_before;
        let going_on =
            continue_after && page.more && moved && matches!(page.outcome, "ok" | "empty");
        match page.outcome {
            "ok" | "empty" => {
                page.next_poll_ms = if trigger != Trigger::Schedule {
                    // A poll run now leaves the schedule as it is.
                    None
                } else if page.more && moved {
                    // More pages follow (under the kept lease), or the run's page
                    // budget is spent: due at once either way, so a crash mid-run or
                    // the next round goes on without waiting a period.
                    Some(finished)
                } else {
                    scheduled(finished)
                };
            }
            // Its retry-after is already the next time.
            "rate_limited" => {}
            // Failed: back off from the period, unless the schedule stops.
            _ => {
                if page.paused_reason.is_none() && period > 0 {
                    page.next_poll_ms = Some(finished + backoff_ms(period, page.failures));
                }
            }
        }
        let rows = outputs::rows(
            &self.topics,
            outputs::Source {
                kind: "poll",
                id: &source,
                tenant: &claim.tenant_id,
                connector: &claim.connector_id,
            },
            &page.screened,
            finished,
        );
        let mut messages = rows.messages;
        for m in &mut messages {
            // Deterministic: the same page polled again yields the same ids.
            m.id = uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{source}\0{}", m.source_index).as_bytes(),
            )
            .to_string();
        }
        let outputs = page.screened.passed.len() + page.screened.failed.len();
        let record = PollRow {
            id: crate::store::row_id(),
            tenant_id: claim.tenant_id.clone(),
            connector_id: claim.connector_id.clone(),
            target: claim.target.clone(),
            started_ms: started,
            finished_ms: finished,
            outcome: page.outcome.to_string(),
            outputs: i64::try_from(outputs).unwrap_or(i64::MAX),
            published: i64::try_from(messages.len()).unwrap_or(i64::MAX),
            quarantined: i64::try_from(rows.quarantine.len()).unwrap_or(i64::MAX),
            cursor_before: cursor_before.clone(),
            cursor_after: page.cursor_after.clone(),
            error: page.error.clone(),
            started_by: trigger.name().to_string(),
            node: self.node.clone(),
        };
        let keep_lease = going_on.then(|| now_ms() + self.lease_for(&d));
        let published = !messages.is_empty();
        let finish = PollFinish {
            messages,
            quarantine: rows.quarantine,
            cursor_after: page.cursor_after.clone(),
            next_poll_ms: page.next_poll_ms,
            consecutive_failures: page.failures,
            paused_reason: page.paused_reason.clone(),
            data: outputs > 0,
            keep_lease_until_ms: keep_lease,
            kv: page.kv.take(),
        };
        let committed = self
            .store
            .finish_poll(&self.node, seq, &record, &finish)
            .await?;
        if !committed {
            tracing::warn!(connector = %claim.connector_id, target = %claim.target,
                "a poll's results were discarded: its lease passed to another poll meanwhile");
            return Ok((
                self.skipped(
                    claim,
                    trigger,
                    started,
                    cursor_before,
                    "the lease passed to another poll before this one could commit; its results were discarded",
                ),
                false,
            ));
        }
        outputs::count_quarantined(&self.metrics, &rows.shown);
        if published {
            self.metrics
                .published(u64::try_from(record.published).unwrap_or_default());
            self.bus.published();
        }
        Ok((record, going_on))
    }

    /// Calls `poll(cursor)` for the deployment and judges the result.
    async fn run_page(&self, claim: &Claim, d: &DeploymentRow, source: &str) -> Page {
        let failures = d.polling.consecutive_failures;
        let cursor = d.polling.cursor.clone();
        let failed = |error: String, paused: bool| Page {
            outcome: "failed",
            screened: Screened::default(),
            cursor_after: cursor.clone(),
            more: false,
            error: Some(error.clone()),
            failures: failures + 1,
            next_poll_ms: None,
            paused_reason: paused.then_some(error),
            kv: None,
        };
        let component = match self
            .digest(&claim.tenant_id, &claim.connector_id, &d.version)
            .await
        {
            Ok(digest) => match self.component(&digest).await {
                Ok(c) => c,
                Err(e) => return failed(format!("the component could not be loaded: {e}"), false),
            },
            Err(e) => return failed(format!("the version could not be found: {e}"), false),
        };
        let ran = self
            .run(
                &claim.tenant_id,
                &claim.connector_id,
                d,
                component,
                Call::Poll {
                    cursor: cursor.clone(),
                },
                source,
            )
            .await;
        let ran = match ran {
            Ok(ran) => ran,
            Err(e) => return failed(e.to_string(), false),
        };
        match ran.result {
            Ok((done, screened)) => {
                let state = done.poll.clone();
                let (next_cursor, more) = state
                    .map(|p| (p.next_cursor, p.more))
                    .unwrap_or((None, false));
                let outputs = screened.passed.len() + screened.failed.len();
                Page {
                    outcome: if outputs == 0 { "empty" } else { "ok" },
                    screened,
                    cursor_after: next_cursor.or(cursor),
                    more,
                    error: None,
                    failures: 0,
                    next_poll_ms: None,
                    paused_reason: None,
                    kv: done.kv.map(|kv| (kv.before, kv.after)),
                }
            }
            Err(CallError::Connector(ConnectorError::RateLimited(r))) => {
                let wait = i64::try_from(r.retry_after_ms)
                    .unwrap_or(MAX_RETRY_AFTER_MS)
                    .clamp(0, MAX_RETRY_AFTER_MS);
                Page {
                    outcome: "rate_limited",
                    screened: Screened::default(),
                    cursor_after: cursor,
                    more: false,
                    error: Some(format!(
                        "rate limited, retry after {} ms: {}",
                        r.retry_after_ms, r.message
                    )),
                    failures,
                    next_poll_ms: Some(now_ms().saturating_add(wait)),
                    paused_reason: None,
                    kv: None,
                }
            }
            Err(
                e @ CallError::Connector(
                    ConnectorError::InvalidConfig(_) | ConnectorError::Unsupported(_),
                ),
            ) => failed(e.to_string(), true),
            Err(e) => failed(e.to_string(), false),
        }
    }

    /// Gives up the lease after a poll failed outside the guest (the database):
    /// best effort — if this fails too, the lease expires.
    async fn release_after_error(&self, claim: &Claim) {
        if let Err(e) = self
            .store
            .release_lease(&claim.connector_id, &claim.target, &self.node)
            .await
        {
            tracing::warn!(connector = %claim.connector_id, target = %claim.target, error = %e,
                "cannot release a poll's lease; it will expire");
        }
    }

    fn skipped(
        &self,
        claim: &Claim,
        trigger: Trigger<'_>,
        started: i64,
        cursor: Option<String>,
        why: &str,
    ) -> PollRow {
        PollRow {
            id: crate::store::row_id(),
            tenant_id: claim.tenant_id.clone(),
            connector_id: claim.connector_id.clone(),
            target: claim.target.clone(),
            started_ms: started,
            finished_ms: now_ms(),
            outcome: "skipped".into(),
            outputs: 0,
            published: 0,
            quarantined: 0,
            cursor_before: cursor.clone(),
            cursor_after: cursor,
            error: Some(why.to_string()),
            started_by: trigger.name().to_string(),
            node: self.node.clone(),
        }
    }

    /// A deployment's polls, newest first.
    pub async fn polls(
        &self,
        tenant: &str,
        connector_id: &str,
        target: &str,
        limit: i64,
    ) -> Result<super::views::Items<PollRecord>, RegistryError> {
        self.connector(tenant, connector_id).await?;
        let rows = self
            .store
            .polls(tenant, connector_id, target, limit.clamp(1, 1000))
            .await?;
        if rows.is_empty()
            && !self
                .store
                .deployments(tenant, connector_id)
                .await?
                .iter()
                .any(|d| d.target == target)
        {
            return Err(RegistryError::NotFound(format!(
                "no deployment to target `{target}`"
            )));
        }
        Ok(super::views::Items {
            items: rows.iter().map(PollRecord::of).collect(),
        })
    }

    /// Releases the leases an earlier run of this node left (it crashed: none of
    /// its polls is running).
    pub async fn release_stale_leases(&self) -> Result<u64, RegistryError> {
        Ok(self.store.release_leases_of(&self.node).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_fixed_rate_with_a_stable_offset() {
        assert_eq!(next_on_grid(1000, 0, 0), 1000);
        assert_eq!(next_on_grid(1000, 0, 999), 1000);
        assert_eq!(next_on_grid(1000, 250, 999), 1250);
        assert_eq!(next_on_grid(1000, 250, 1250), 2250);
        // A late poll skips the periods it missed instead of catching up in a burst.
        assert_eq!(next_on_grid(1000, 0, 5_500), 6000);
        let j = jitter_ms("c", "default", 2000);
        assert_eq!(j, jitter_ms("c", "default", 2000));
        assert!((0..2000).contains(&j));
        // A thousand deployments spread over the whole period.
        let offsets: Vec<i64> = (0..1000)
            .map(|t| jitter_ms("c", &format!("t{t}"), 1000))
            .collect();
        for tenth in 0..10 {
            let n = offsets.iter().filter(|&&o| o / 100 == tenth).count();
            assert!((50..=150).contains(&n), "{n} offsets in tenth {tenth}");
        }
    }

    #[test]
    fn backoff_doubles_from_the_period_up_to_its_cap() {
        assert_eq!(backoff_ms(2000, 1), 2000);
        assert_eq!(backoff_ms(2000, 2), 4000);
        assert_eq!(backoff_ms(2000, 4), 16000);
        assert_eq!(backoff_ms(2000, 60), BACKOFF_CAP_MS);
        // A period longer than the cap is the cap.
        assert_eq!(backoff_ms(7_200_000, 3), 7_200_000);
    }
}
