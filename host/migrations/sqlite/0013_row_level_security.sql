-- PostgreSQL's migration 0013 turns on row-level security. SQLite has none: an
-- embedded database serves one node, and every statement's tenant filter is the
-- isolation. Nothing to change here.
SELECT 1;
