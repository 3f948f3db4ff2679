-- An `oauth2` push credential is an OAuth client (scope events:ingest) of the
-- connector's tenant: the credential row names it.
ALTER TABLE push_credentials ADD COLUMN client_id TEXT;
