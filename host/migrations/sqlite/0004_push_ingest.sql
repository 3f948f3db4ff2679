-- Credentials of push connectors (shown once at registration): an HMAC signing
-- secret sealed with the node's secrets key (the server recomputes signatures), or
-- an API key's SHA-256. `valid_until_ms` is NULL while a credential is current.
CREATE TABLE push_credentials (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    connector_id TEXT NOT NULL,
    method TEXT NOT NULL,
    secret_sealed TEXT,
    secret_hash TEXT,
    created_ms BIGINT NOT NULL,
    valid_until_ms BIGINT
);
CREATE INDEX push_credentials_by_connector ON push_credentials (connector_id);
CREATE UNIQUE INDEX push_credentials_by_hash ON push_credentials (secret_hash);

-- Pushed events, committed before they are acknowledged. The idempotency key (the
-- sender's webhook-id or Idempotency-Key, else one the server assigns) is unique
-- per connector: a redelivery finds the first and is not stored twice (the body's
-- SHA-256 tells a redelivery from a different event reusing the key).
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    connector_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    body_sha256 TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE UNIQUE INDEX events_idempotency ON events (connector_id, idempotency_key);
