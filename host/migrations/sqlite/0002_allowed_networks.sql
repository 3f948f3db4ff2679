-- Non-public networks (CIDR, JSON array text) a deployment may reach over HTTP.
ALTER TABLE deployments ADD COLUMN allowed_networks TEXT NOT NULL DEFAULT '[]';
