-- Each tenant's own audit sequence, from 1 without gaps: what `GET /api/audit`
-- shows as `seq` and pages by. The chain's `seq` runs across tenants, so its gaps
-- would tell one tenant how much the others did. Derived from the chain's order
-- (`airlock audit verify` checks it), so it is not part of the row's MAC.
-- Nodes of an older version write no `tenant_seq`: stop them all before the
-- first node of this version starts (their rows would be left out of the API).
ALTER TABLE audit ADD COLUMN tenant_seq BIGINT;
UPDATE audit SET tenant_seq = numbered.n
FROM (
    SELECT seq, ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY seq) AS n FROM audit
) AS numbered
WHERE numbered.seq = audit.seq;
CREATE UNIQUE INDEX audit_by_tenant_seq ON audit (tenant_id, tenant_seq);
