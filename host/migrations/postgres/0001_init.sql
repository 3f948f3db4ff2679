-- Airlock's schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    label TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE components (
    digest TEXT PRIMARY KEY,
    bytes BYTEA NOT NULL,
    size BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    webhook_url TEXT,
    auth_method TEXT,
    output_standard TEXT,
    disabled_reason TEXT,
    -- Heartbeats before this time do not count towards health (set on enable).
    health_since_ms BIGINT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX connectors_by_tenant ON connectors (tenant_id, created_ms);
CREATE TABLE versions (
    connector_id TEXT NOT NULL REFERENCES connectors(id),
    version TEXT NOT NULL,
    digest TEXT NOT NULL REFERENCES components(digest),
    manifest TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (connector_id, version)
);
CREATE TABLE deployments (
    connector_id TEXT NOT NULL REFERENCES connectors(id),
    target TEXT NOT NULL,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    secrets BYTEA,
    allowed_hosts TEXT NOT NULL,
    schedule TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (connector_id, target)
);
CREATE TABLE heartbeats (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    latency_ms DOUBLE PRECISION,
    ok BIGINT NOT NULL,
    error_kind TEXT,
    detail TEXT,
    source TEXT NOT NULL
);
CREATE INDEX heartbeats_by_connector ON heartbeats (connector_id, id);
CREATE TABLE health (
    connector_id TEXT PRIMARY KEY REFERENCES connectors(id),
    tenant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    last_at_ms BIGINT NOT NULL,
    external BIGINT NOT NULL
);
CREATE TABLE kv (
    tenant_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, key)
);
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL,
    at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_tenant ON audit (tenant_id, seq);
