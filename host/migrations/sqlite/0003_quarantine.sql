-- Outputs that failed validation against their declared standard: kept with the
-- validator's report, never published.
CREATE TABLE quarantine (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    connector_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    standard TEXT NOT NULL,
    media_type TEXT NOT NULL,
    body BLOB NOT NULL,
    report TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX quarantine_by_connector ON quarantine (tenant_id, connector_id, created_ms);
