-- An `rsa` push credential is the sender's public key (PEM; not a secret) and the
-- key id Airlock assigned it, which signatures name in `keyid` (RFC 9421).
ALTER TABLE push_credentials ADD COLUMN public_key TEXT;
ALTER TABLE push_credentials ADD COLUMN key_id TEXT;
