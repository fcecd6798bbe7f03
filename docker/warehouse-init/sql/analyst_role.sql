-- Read-only access for analysts: they query the mart views and nothing else.
-- psql variables (set by 01-roles.sh): owner, db, analyst, analyst_password.

CREATE ROLE :"analyst" LOGIN PASSWORD :'analyst_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
ALTER ROLE :"analyst" SET default_transaction_read_only = on;

-- Nobody but the owner may create objects in the public schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"owner";
GRANT CONNECT ON DATABASE :"db" TO :"analyst";

-- The migrations create mart with IF NOT EXISTS; creating it here, owned by the loader, lets the
-- grants below be made before the first migration runs.
CREATE SCHEMA IF NOT EXISTS mart AUTHORIZATION :"owner";

GRANT USAGE ON SCHEMA mart TO :"analyst";
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO :"analyst";   -- tables and views alike

-- Tables and views the loader creates in mart later are readable too.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA mart GRANT SELECT ON TABLES TO :"analyst";
