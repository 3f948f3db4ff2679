-- Deleting versions and revoking clients.
-- A deleted version's number stays taken by its digest: re-uploading the same
-- component restores it, another component under that number is refused. So a
-- (connector, version) pair always names one component, and every node may keep
-- that mapping in memory for good.
CREATE TABLE deleted_versions (
    connector_id TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    deleted_ms BIGINT NOT NULL,
    PRIMARY KEY (connector_id, version)
);
-- A revoked client gets no new token, and the tokens it holds stop working.
ALTER TABLE clients ADD COLUMN revoked_ms BIGINT;
-- What one call or pushed event had quarantined (`GET …/events/{event_id}`).
CREATE INDEX quarantine_by_call ON quarantine (tenant_id, connector_id, call_id);
