-- Each tenant's own audit sequence, from 1 without gaps: what `GET /api/audit`
-- shows as `seq` and pages by. The chain's `seq` runs across tenants, so its gaps
-- would tell one tenant how much the others did. Derived from the chain's order
-- (`airlock audit verify` checks it), so it is not part of the row's MAC.
ALTER TABLE audit ADD COLUMN tenant_seq BIGINT;
UPDATE audit SET tenant_seq = (
    SELECT COUNT(*) FROM audit AS earlier
    WHERE earlier.tenant_id = audit.tenant_id AND earlier.seq <= audit.seq
);
CREATE UNIQUE INDEX audit_by_tenant_seq ON audit (tenant_id, tenant_seq);
