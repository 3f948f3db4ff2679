-- Scheduled polls. A deployment with a schedule keeps its cursor (committed with
-- each poll's outputs), when it is due, who holds its lease (one poll at a time,
-- one node per period), its failure streak, why its schedule stopped (a connector
-- refusing its config) and when a poll last produced data (freshness).
ALTER TABLE deployments ADD COLUMN poll_cursor TEXT;
ALTER TABLE deployments ADD COLUMN next_poll_ms BIGINT;
ALTER TABLE deployments ADD COLUMN lease_owner TEXT;
ALTER TABLE deployments ADD COLUMN lease_until_ms BIGINT;
ALTER TABLE deployments ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN paused_reason TEXT;
ALTER TABLE deployments ADD COLUMN stale_after_ms BIGINT;
ALTER TABLE deployments ADD COLUMN last_data_ms BIGINT;
-- Polls committed so far: a poll commits only from the count it started at, and
-- its outputs' ids derive from it, so a poll repeated after a crash publishes
-- nothing twice even when it keeps its cursor.
ALTER TABLE deployments ADD COLUMN poll_seq BIGINT NOT NULL DEFAULT 0;
-- The newest poll record (scheduled, run now or skipped).
ALTER TABLE deployments ADD COLUMN last_poll_id TEXT;
CREATE INDEX deployments_due ON deployments (next_poll_ms);

-- One row per poll (scheduled or run now), newest read first.
CREATE TABLE polls (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    connector_id TEXT NOT NULL,
    target TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    finished_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    outputs BIGINT NOT NULL,
    published BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    cursor_before TEXT,
    cursor_after TEXT,
    error TEXT,
    started_by TEXT NOT NULL,
    node TEXT NOT NULL
);
CREATE INDEX polls_by_deployment ON polls (connector_id, target, started_ms);

-- Deployments scheduled before this migration are due at once.
UPDATE deployments SET next_poll_ms = 0 WHERE schedule IS NOT NULL;
