-- Run the API as a role that can only INSERT and SELECT on the access log.
--
-- Migrations run as the database owner (the role in DATABASE_URL when you run
-- `samhandling migrate`); the API and the worker connect as :app_role, which may read and write
-- the records but may only add to the log: no UPDATE, DELETE or TRUNCATE there, on top of the
-- triggers that refuse them. Run after every migration (new tables need their grants):
--
--   psql "$OWNER_DATABASE_URL" -v app_role=samhandling_app -f deploy/postgres-least-privilege.sql
--
-- and create the role once beforehand: CREATE ROLE samhandling_app LOGIN PASSWORD '…';

GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_role";

-- The log, its chain, its checkpoints, its Merkle tree and its reviews: append and read, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE ON access_log, access_log_chain, access_log_checkpoints,
    access_log_tree_nodes, access_log_tree_heads, access_log_reviews FROM :"app_role";
-- The sequencer chains entries once every transaction before them in this database has
-- finished; to see other sessions' transactions it needs this predefined read-only role
-- (without it, it falls back to a server-wide horizon that other databases can hold back).
GRANT pg_read_all_stats TO :"app_role";
-- The schema's history belongs to the owner.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM :"app_role";
