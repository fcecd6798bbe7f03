-- The read-only analyst role, on PostgreSQL only (DuckDB has no roles: an analyst opens the warehouse
-- file read-only, so there is no DuckDB variant of this version and the runner skips it there).
--
-- analyst is a NOLOGIN group role that holds read access; people log in as themselves and are made
-- members of it (CREATE ROLE jo LOGIN PASSWORD '...' IN ROLE analyst, or GRANT analyst TO jo). The
-- group has no password to share or rotate, and removing one person (DROP ROLE jo) leaves the team's
-- access alone. docker/warehouse-init creates a login role for the compose stack's analysts.
--
-- What analyst may do in this database: connect; USAGE on the schemas mart, core and audit; SELECT on
-- every table and view in them, now and later (default privileges of the role that runs the migrations,
-- which creates every warehouse object). Nothing else: no INSERT, UPDATE, DELETE or TRUNCATE, no CREATE
-- in any warehouse schema. staging holds nothing for analysts (loads stage in temporary tables).
--
-- Roles belong to the whole server, grants to one database: the role is created only when missing, so
-- many warehouses on one server (a database per test) can each run this; a creation racing another
-- migration's is taken as done. When the loader may not create roles, this stops and says what to run.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analyst') THEN
        BEGIN
            CREATE ROLE analyst NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another warehouse on this server created it a moment ago
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role analyst does not exist and % may not create roles', current_user
                    USING HINT = 'Ask a DBA to run CREATE ROLE analyst NOLOGIN, then migrate again.';
        END;
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO analyst', current_database());
EXCEPTION
    WHEN insufficient_privilege THEN  -- the loader does not own the database: PUBLIC's CONNECT, or a DBA's grant
        RAISE WARNING 'could not grant CONNECT on database % to analyst: ask the database owner to', current_database();
END
$$;

GRANT USAGE ON SCHEMA mart, core, audit TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA mart, core, audit TO analyst;   -- tables and views alike
ALTER DEFAULT PRIVILEGES IN SCHEMA mart, core, audit GRANT SELECT ON TABLES TO analyst;
