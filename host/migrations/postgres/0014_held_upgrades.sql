-- Upgrades that ask for more wait for an admin's approval.
--
-- `connectors.approved`: what the connector is approved to ask for (JSON: outbound
-- hosts, capabilities, secrets, credential bindings), set by its first deployment
-- and grown only by an approval (a held upgrade approved, or a deploy by a client
-- holding `connectors:approve`). NULL before the first deployment, and for a
-- connector deployed before this migration (then what its deployed versions ask
-- for stands in).
ALTER TABLE connectors ADD COLUMN approved TEXT;

-- `deployments.held`: an upgrade held for approval on that target (JSON: the new
-- version, its config, sealed secrets, grants, limits, schedule, what it asks for
-- beyond the baseline, who asked and when). The deployment keeps running its
-- version until `POST …/deployments/{target}/approve` applies the request or a
-- deploy of another version replaces it.
ALTER TABLE deployments ADD COLUMN held TEXT;
