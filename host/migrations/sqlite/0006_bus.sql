-- The asynchronous half of ingest: each stored event is transformed, validated and
-- published or quarantined once. `state` goes from 'received' to 'processed' or
-- 'failed' in the transaction that writes its messages, so a restart resumes
-- exactly the events still 'received'.
ALTER TABLE events ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN not_before_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN processed_ms BIGINT;
ALTER TABLE events ADD COLUMN outcome TEXT;
CREATE INDEX events_pending ON events (not_before_ms) WHERE state = 'received';

-- The embedded bus: a transactional outbox that is also the durable log. A message
-- is written in the transaction that finishes its source (an event or a call), and
-- (source_id, source_index) is unique, so nothing is published twice. `seq` orders
-- the log; subscribers resume after the last `seq` they saw.
CREATE TABLE bus_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    topic TEXT NOT NULL,
    event_type TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    source_index BIGINT NOT NULL,
    standard TEXT NOT NULL,
    media_type TEXT NOT NULL,
    body BLOB NOT NULL,
    published_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX bus_messages_by_source ON bus_messages (source_id, source_index);
CREATE INDEX bus_messages_by_tenant ON bus_messages (tenant_id, seq);
CREATE INDEX bus_messages_by_type ON bus_messages (tenant_id, event_type, seq);
CREATE INDEX bus_messages_by_connector ON bus_messages (tenant_id, connector_id, seq);
