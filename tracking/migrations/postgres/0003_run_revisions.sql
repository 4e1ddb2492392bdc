-- Run revisions exist on SQLite only (see sqlite/0003_run_revisions.sql):
-- the cache they validate sits beside the direct SQLite connections, and on
-- PostgreSQL, shared by many servers, a per-write update of the run's row
-- would only add row-lock contention.
SELECT 1;
