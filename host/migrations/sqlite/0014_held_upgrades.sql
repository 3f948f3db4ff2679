-- An upgrade held for an admin's approval: the deployment keeps running its
-- version; `held` is the requested change (JSON: the new version, its config,
-- sealed secrets, grants, limits, schedule, what it asks for beyond the running
-- version, who asked and when) until `POST …/deployments/{target}/approve`
-- applies it or another deployment to the target replaces it.
ALTER TABLE deployments ADD COLUMN held TEXT;
