-- The JetStream relay's progress and lease (one row): `last_seq` is the newest
-- outbox message JetStream has acknowledged; the node holding the lease (until
-- `lease_until_ms`) is the one relay publishing, in `seq` order.
CREATE TABLE relay_state (
    id BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until_ms BIGINT NOT NULL
);
INSERT INTO relay_state (id, last_seq, lease_owner, lease_until_ms) VALUES (1, 0, NULL, 0);
