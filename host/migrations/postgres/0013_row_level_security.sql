-- Row-level security: defence in depth under the tenant filter every statement
-- already carries. A transaction sees (and may write) a tenant's rows after
-- `SET LOCAL airlock.tenant_id = '<tenant id>'`, every row after
-- `SET LOCAL airlock.system = 'on'` (the server's own cross-tenant work), and no
-- row when it set neither. FORCE makes the policies bind the tables' owner too;
-- only a superuser or a BYPASSRLS role escapes them (the server warns at start
-- when it connects as one). The server sets these with `set_config(…, true)` at
-- the start of every transaction (`store::Rows`).
--
-- Upgrading: a node of an earlier version sets neither and would see no row; stop
-- every node before starting one of this version. A later migration that rewrites
-- rows must first `SELECT set_config('airlock.system', 'on', true)`, since the
-- policies bind the owner that runs migrations too.

-- Tables with a tenant column.
ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE clients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON clients
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE connectors ENABLE ROW LEVEL SECURITY;
ALTER TABLE connectors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON connectors
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE heartbeats ENABLE ROW LEVEL SECURITY;
ALTER TABLE heartbeats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON heartbeats
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE health ENABLE ROW LEVEL SECURITY;
ALTER TABLE health FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON health
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE kv ENABLE ROW LEVEL SECURITY;
ALTER TABLE kv FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON kv
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON audit
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE quarantine ENABLE ROW LEVEL SECURITY;
ALTER TABLE quarantine FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON quarantine
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE push_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE push_credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON push_credentials
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON events
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE bus_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE bus_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON bus_messages
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE polls ENABLE ROW LEVEL SECURITY;
ALTER TABLE polls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON polls
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

ALTER TABLE heartbeat_rollups ENABLE ROW LEVEL SECURITY;
ALTER TABLE heartbeat_rollups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON heartbeat_rollups
    USING (current_setting('airlock.system', true) = 'on' OR tenant_id = current_setting('airlock.tenant_id', true));

-- A tenant is its own row.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON tenants
    USING (current_setting('airlock.system', true) = 'on' OR id = current_setting('airlock.tenant_id', true));

-- Tables of a connector's rows: visible with their connector (whose own policy
-- applies inside the subquery).
ALTER TABLE versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON versions
    USING (current_setting('airlock.system', true) = 'on' OR EXISTS (SELECT 1 FROM connectors c WHERE c.id = connector_id));

ALTER TABLE deployments ENABLE ROW LEVEL SECURITY;
ALTER TABLE deployments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON deployments
    USING (current_setting('airlock.system', true) = 'on' OR EXISTS (SELECT 1 FROM connectors c WHERE c.id = connector_id));

ALTER TABLE deleted_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE deleted_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON deleted_versions
    USING (current_setting('airlock.system', true) = 'on' OR EXISTS (SELECT 1 FROM connectors c WHERE c.id = connector_id));

-- Tables of no tenant. Component bytes are shared by digest (a version names
-- its digest; the bytes reveal nothing a tenant does not upload itself): any
-- session. The relay's lease and progress: the server's own work only.
ALTER TABLE components ENABLE ROW LEVEL SECURITY;
ALTER TABLE components FORCE ROW LEVEL SECURITY;
CREATE POLICY any_session ON components USING (true);

ALTER TABLE relay_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE relay_state FORCE ROW LEVEL SECURITY;
CREATE POLICY system_only ON relay_state
    USING (current_setting('airlock.system', true) = 'on');

-- The audit chain is one chain over every tenant: an appender of any session
-- needs the last row of all. This function takes the chain's lock (until the
-- transaction ends) and reads the tail with the system setting on for that one
-- statement, then puts the caller's setting back.
CREATE FUNCTION airlock_audit_tail(OUT tail_seq BIGINT, OUT tail_hash TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    was TEXT := coalesce(current_setting('airlock.system', true), '');
BEGIN
    PERFORM pg_advisory_xact_lock(7301);
    PERFORM set_config('airlock.system', 'on', true);
    SELECT a.seq, a.hash INTO tail_seq, tail_hash FROM audit a ORDER BY a.seq DESC LIMIT 1;
    PERFORM set_config('airlock.system', was, true);
END
$$;
