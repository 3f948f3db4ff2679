-- Heartbeats summarised while the heartbeat writer was behind: the newest of each
-- connector are still written one by one (so status and the heartbeat statistics
-- stay exact); older ones are counted here instead of being dropped.
CREATE TABLE heartbeat_rollups (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    from_ms BIGINT NOT NULL,
    to_ms BIGINT NOT NULL,
    count BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    -- JSON: {"le_ms": [upper bounds], "counts": [per bucket], "none": without a latency}
    latency_histogram TEXT NOT NULL,
    written_at_ms BIGINT NOT NULL
);
CREATE INDEX heartbeat_rollups_by_connector ON heartbeat_rollups (connector_id, id);
