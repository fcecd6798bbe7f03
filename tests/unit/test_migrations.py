"""Migrations apply in order on DuckDB and PostgreSQL, are recorded, and refuse edited history."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from public_health.warehouse.engine import make_engine
from public_health.warehouse.migrations import SQL_DIR, MigrationError, migrate, split_statements

EXPECTED_TABLES = {
    ("audit", "load_batch"), ("audit", "dq_result"), ("audit", "schema_migration"),
    ("core", "dim_indicator"), ("core", "dim_area"), ("core", "area_comparator"), ("core", "dim_period"),
    ("core", "fact_indicator_value"), ("core", "fact_indicator_value_history"),
}


def test_schema_is_created_and_recorded(warehouse):
    insp = inspect(warehouse)
    tables = {(s, t) for s in ("audit", "core") for t in insp.get_table_names(schema=s)}
    assert EXPECTED_TABLES <= tables
    views = set(insp.get_view_names(schema="mart"))
    assert {"phof_latest", "phof_trend"} <= views
    with warehouse.connect() as conn:
        applied = conn.execute(text("SELECT file_name, checksum FROM audit.schema_migration ORDER BY version")).all()
    assert [a.file_name for a in applied][:1] == ["R__phof_marts.sql"]  # repeatable ones are version 0
    assert {"V001__audit.sql", "V002__phof_core.sql"} <= {a.file_name for a in applied}
    assert all(len(a.checksum) == 64 for a in applied)


def test_tables_and_columns_carry_comments(warehouse):
    insp = inspect(warehouse)
    for schema, table in EXPECTED_TABLES - {("audit", "schema_migration")}:
        comment = insp.get_table_comment(table, schema=schema)["text"]
        assert comment and len(comment) > 20, f"{schema}.{table} has no comment"
    if warehouse.dialect.name == "duckdb":
        sql = ("SELECT column_name, comment FROM duckdb_columns()"
               " WHERE schema_name = 'core' AND table_name = 'fact_indicator_value'")
    else:
        sql = ("SELECT attname, col_description(attrelid, attnum) FROM pg_attribute"
               " WHERE attrelid = 'core.fact_indicator_value'::regclass AND attnum > 0")
    with warehouse.connect() as conn:
        cols = dict(conn.execute(text(sql)).all())
    assert cols["lower_ci_95"] and "95%" in cols["lower_ci_95"]


def test_second_run_applies_nothing(warehouse):
    assert migrate(warehouse) == []


def _copy_sql(tmp_path: Path) -> Path:
    target = tmp_path / "sql"
    shutil.copytree(SQL_DIR, target)
    return target


def test_edited_applied_migration_is_refused(warehouse_url, tmp_path):
    sql_dir = _copy_sql(tmp_path)
    engine = make_engine(warehouse_url)
    migrate(engine, sql_dir)
    path = sql_dir / "migrations" / "V002__phof_core.sql"
    path.write_text(path.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationError, match=r"V002__phof_core.sql.*must not be edited"):
        migrate(engine, sql_dir)
    engine.dispose()


def test_new_version_and_changed_view_apply(warehouse_url, tmp_path):
    sql_dir = _copy_sql(tmp_path)
    engine = make_engine(warehouse_url)
    migrate(engine, sql_dir)
    (sql_dir / "migrations" / "V900__extra.sql").write_text("CREATE TABLE core.extra (x INTEGER);\n")
    view = sql_dir / "marts" / "R__phof_marts.sql"
    view.write_text(view.read_text() + "\nCREATE OR REPLACE VIEW mart.extra_view AS SELECT 1 AS one;\n")
    assert migrate(engine, sql_dir) == ["V900__extra.sql", "R__phof_marts.sql"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT one FROM mart.extra_view")).scalar_one() == 1
    engine.dispose()


def test_failed_migration_rolls_back_and_names_file(warehouse_url, tmp_path):
    sql_dir = _copy_sql(tmp_path)
    (sql_dir / "migrations" / "V901__broken.sql").write_text(
        "CREATE TABLE core.half_done (x INTEGER);\nCREATE TABLE core.broken (x NOT_A_TYPE);\n"
    )
    engine = make_engine(warehouse_url)
    with pytest.raises(MigrationError, match="V901__broken.sql"):
        migrate(engine, sql_dir)
    assert "half_done" not in inspect(engine).get_table_names(schema="core")
    engine.dispose()


def test_dialect_variant_wins(tmp_path, duckdb_url):
    sql_dir = _copy_sql(tmp_path)
    (sql_dir / "migrations" / "V902__variant.sql").write_text("CREATE TABLE core.generic (x INTEGER);")
    (sql_dir / "migrations" / "V902__variant.duckdb.sql").write_text("CREATE TABLE core.for_duckdb (x INTEGER);")
    engine = make_engine(duckdb_url)
    migrate(engine, sql_dir)
    names = inspect(engine).get_table_names(schema="core")
    assert "for_duckdb" in names and "generic" not in names
    engine.dispose()


def test_split_statements_respects_quotes_and_comments():
    sql = "SELECT 'a;b'; -- comment; here\nSELECT \"x;y\" FROM t; /* c; */ SELECT $$ q; $$;"
    assert split_statements(sql) == ["SELECT 'a;b'", 'SELECT "x;y" FROM t', "SELECT $$ q; $$"]
