#!/bin/bash
# Runs once, when the warehouse-db volume is first initialised (/docker-entrypoint-initdb.d).
# POSTGRES_USER owns the warehouse database and is the loader the pipelines connect as (it runs the
# migrations, so it owns every schema, table and view). This adds the read-only group role analyst (which
# the migrations also create and grant: include/sql/migrations/V009__analyst_role.postgresql.sql) and the
# analysts' login WAREHOUSE_ANALYST_USER as a member of it.
set -euo pipefail

: "${WAREHOUSE_ANALYST_USER:?set WAREHOUSE_ANALYST_USER in .env}"
: "${WAREHOUSE_ANALYST_PASSWORD:?set WAREHOUSE_ANALYST_PASSWORD in .env}"

psql -v ON_ERROR_STOP=1 \
     --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" \
     -v analyst="$WAREHOUSE_ANALYST_USER" -v analyst_password="$WAREHOUSE_ANALYST_PASSWORD" \
     -f /docker-entrypoint-initdb.d/sql/analyst_role.sql
