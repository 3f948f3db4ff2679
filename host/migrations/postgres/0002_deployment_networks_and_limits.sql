-- Non-public networks (CIDR, JSON array text) a deployment may reach over HTTP.
ALTER TABLE deployments ADD COLUMN allowed_networks TEXT NOT NULL DEFAULT '[]';
-- The deployment's changes to the default call limits (JSON object text).
ALTER TABLE deployments ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
