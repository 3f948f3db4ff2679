-- The audit entries about one target (a connector's page in the console, `GET /api/audit?target=`).
CREATE INDEX audit_by_target ON audit (tenant_id, target, tenant_seq);
