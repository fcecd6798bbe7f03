-- Read-only access for analysts, set up once when the warehouse volume is first initialised.
-- psql variables (set by 01-roles.sh): owner, db, analyst (the analysts' login), analyst_password.
--
-- The access itself belongs to the group role analyst, which the warehouse migrations create and grant
-- wherever the warehouse lives (include/sql/migrations/V009__analyst_role.postgresql.sql: USAGE on mart,
-- core and audit, SELECT on every table and view there, default privileges for later ones). This script
-- creates the same group and grants ahead of the first migration, so the stack's analysts' login can
-- join the group now; the migration finds them in place and repeats the grants. People log in as
-- themselves: add one with CREATE ROLE jo LOGIN IN ROLE analyst (README, "Analysts' access").

-- The group: holds the read access, cannot log in.
SELECT 'CREATE ROLE analyst NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst')\gexec

-- The stack's analysts' login (WAREHOUSE_ANALYST_USER), a member of the group and read-only by default.
-- When WAREHOUSE_ANALYST_USER is analyst itself, the group is given the login and password instead.
SELECT format('CREATE ROLE %I NOSUPERUSER NOCREATEDB NOCREATEROLE', :'analyst')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'analyst')\gexec
ALTER ROLE :"analyst" LOGIN PASSWORD :'analyst_password';
ALTER ROLE :"analyst" SET default_transaction_read_only = on;
SELECT format('GRANT analyst TO %I', :'analyst') WHERE :'analyst' <> 'analyst'\gexec

-- Nobody but the owner may create objects in the public schema; only the owner and analysts connect.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"owner";
GRANT CONNECT ON DATABASE :"db" TO analyst;

-- The migrations create these schemas with IF NOT EXISTS; creating them here, owned by the loader,
-- lets the grants below be made before the first migration runs.
CREATE SCHEMA IF NOT EXISTS mart AUTHORIZATION :"owner";
CREATE SCHEMA IF NOT EXISTS core AUTHORIZATION :"owner";
CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION :"owner";

GRANT USAGE ON SCHEMA mart TO analyst;
GRANT USAGE ON SCHEMA core TO analyst;
GRANT USAGE ON SCHEMA audit TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO analyst;   -- tables and views alike
GRANT SELECT ON ALL TABLES IN SCHEMA core TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA audit TO analyst;

-- Tables and views the loader creates later are readable too.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA mart GRANT SELECT ON TABLES TO analyst;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA core GRANT SELECT ON TABLES TO analyst;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA audit GRANT SELECT ON TABLES TO analyst;
