"""The read-only analyst role (include/sql/migrations/V009__analyst_role.postgresql.sql) on PostgreSQL:
it can read the mart views, core and audit, and later tables too; it can write nothing and create nothing.
Roles belong to the whole server, so migrating a second warehouse on the same server must work as well.
DuckDB has no roles and skips the migration."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import text
from sqlalchemy.engine import make_url

from public_health.warehouse.engine import make_engine
from public_health.warehouse.migrations import discover, migrate

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def migrated(postgres_server):
    """A migrated warehouse shared by this module's tests (libpq URL); analysts' statements roll back."""
    name = f"ph_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        migrate(engine)
    finally:
        engine.dispose()
    yield url
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_analyst(url: str, sql: str) -> list[tuple]:
    """Run ``sql`` after SET ROLE analyst (in its own transaction, rolled back) and return its rows."""
    with psycopg.connect(url) as conn:
        conn.execute("SET ROLE analyst")
        cur = conn.execute(sql)
        rows = cur.fetchall() if cur.description else []
        conn.rollback()
        return rows


def test_analyst_reads_the_mart_views_core_and_audit(migrated):
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO core.dim_provider (provider_code, provider_name, updated_at)"
                     " VALUES ('lpt', 'Leicestershire Partnership Trust', now())")
    assert _as_analyst(migrated, "SELECT count(*) FROM mart.return_status") == [(0,)]
    assert _as_analyst(migrated, "SELECT count(*) FROM mart.phof_latest") == [(0,)]
    assert _as_analyst(migrated, "SELECT provider_name FROM core.dim_provider") == [("Leicestershire Partnership Trust",)]
    assert _as_analyst(migrated, "SELECT count(*) FROM audit.load_batch") == [(0,)]
    assert _as_analyst(migrated, "SELECT current_user") == [("analyst",)]


@pytest.mark.parametrize("statement", [
    "INSERT INTO core.dim_provider (provider_code, provider_name, updated_at) VALUES ('x', 'X', now())",
    "UPDATE core.dim_provider SET provider_name = 'X'",
    "DELETE FROM audit.load_batch",
    "TRUNCATE core.fact_kpi_value",
    "INSERT INTO audit.schema_migration VALUES (99, 'x', 'x', 'x', now())",
    "CREATE TABLE mart.scratch (x integer)",
    "CREATE VIEW mart.scratch AS SELECT 1 AS one",
    "CREATE TABLE core.scratch (x integer)",
    "CREATE TABLE audit.scratch (x integer)",
    "CREATE TABLE staging.scratch (x integer)",
    "CREATE TABLE public.scratch (x integer)",
    "CREATE SCHEMA scratch",
])
def test_analyst_can_write_and_create_nothing(migrated, statement):
    with pytest.raises(errors.InsufficientPrivilege):
        _as_analyst(migrated, statement)


def test_tables_created_later_by_the_loader_are_readable(migrated):
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("CREATE TABLE core.added_later (x integer)")
        conn.execute("INSERT INTO core.added_later VALUES (1)")
        conn.execute("CREATE VIEW mart.added_later AS SELECT x FROM core.added_later")
    assert _as_analyst(migrated, "SELECT x FROM mart.added_later") == [(1,)]
    assert _as_analyst(migrated, "SELECT x FROM core.added_later") == [(1,)]


def test_the_role_is_read_only_by_its_attributes_too(migrated):
    with psycopg.connect(migrated) as conn:
        row = conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles"
                           " WHERE rolname = 'analyst'").fetchone()
    assert row == (False, False, False, False)


def test_a_second_warehouse_on_the_same_server_migrates_and_grants_its_own(migrated, postgres_server):
    """The role already exists (the first warehouse made sure of it): the second migration leaves it and
    grants access to its own database."""
    name = f"ph_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        second = make_url(migrated).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(second.replace("postgresql://", "postgresql+psycopg://", 1))
        applied = migrate(engine)
        with engine.connect() as conn:
            recorded = conn.execute(text("SELECT file_name FROM audit.schema_migration WHERE version = 9")).scalar_one()
        engine.dispose()
        assert "V009__analyst_role.postgresql.sql" in applied
        assert recorded == "V009__analyst_role.postgresql.sql"
        assert _as_analyst(second, "SELECT count(*) FROM mart.kpi_quarterly") == [(0,)]
        assert _as_analyst(migrated, "SELECT count(*) FROM mart.kpi_quarterly") == [(0,)]   # the first still works
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_duckdb_has_no_role_migration(duckdb_url):
    versions = [m.version for m in discover("duckdb")[0]]
    assert 9 not in versions and 8 in versions
    engine = make_engine(duckdb_url)
    try:
        applied = migrate(engine)
    finally:
        engine.dispose()
    assert not [name for name in applied if "analyst_role" in name]
