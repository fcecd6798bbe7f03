"""The README's examples run as pasted: every ```sql block on DuckDB and on PostgreSQL, and every ```python
block from the checkout's folder, each against a warehouse loaded with the sample data
(tests/integration/_analyst_data.py), each returning rows. A Python example must also let go of the
DuckDB file when it is done, as the README tells analysts to (a reader holding it blocks the loads)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from sqlalchemy.engine import make_url

from public_health.warehouse.engine import make_engine
from tests.integration._analyst_data import sample_warehouse

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, text) of every fenced block of ``language`` in README.md."""
    readme = README.read_text(encoding="utf-8")
    return [(readme[: m.start()].count("\n") + 1, m.group(2)) for m in _BLOCK.finditer(readme) if m.group(1) == language]


SQL_BLOCKS = blocks("sql")
PYTHON_BLOCKS = blocks("python")


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def sample(request):
    return sample_warehouse(request, request.param)


def test_the_readme_has_analyst_examples():
    assert len(SQL_BLOCKS) >= 2 and len(PYTHON_BLOCKS) >= 1
    assert all("mart." in sql for _, sql in SQL_BLOCKS)


@pytest.mark.parametrize(("line", "sql"), SQL_BLOCKS, ids=[f"README.md:{line}" for line, _ in SQL_BLOCKS])
def test_sql_example_runs_as_pasted(sample, line, sql):
    engine = make_engine(sample.url)
    try:
        with engine.connect() as conn:
            cursor = conn.connection.cursor()
            cursor.execute(sql)     # as written, trailing semicolon and all, through the driver
            rows = cursor.fetchall()
            cursor.close()
            conn.rollback()
    finally:
        engine.dispose()
    assert rows, f"README.md:{line}: the example returned no rows on {sample.backend}"


@pytest.mark.parametrize(("line", "code"), PYTHON_BLOCKS, ids=[f"README.md:{line}" for line, _ in PYTHON_BLOCKS])
def test_python_example_runs_as_pasted_and_lets_go_of_the_file(request, line, code, tmp_path, monkeypatch, capsys):
    loaded = sample_warehouse(request, "duckdb")
    checkout = tmp_path / "checkout"
    (checkout / "data").mkdir(parents=True)
    warehouse = checkout / "data" / "warehouse.duckdb"
    shutil.copy(make_url(loaded.url).database, warehouse)
    monkeypatch.chdir(checkout)   # the README runs it from the checkout: data/warehouse.duckdb
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__main__"})  # noqa: S102 - the README's own code
    printed = capsys.readouterr().out
    assert "Leicestershire" in printed, f"README.md:{line}: printed no Leicestershire rows:\n{printed}"
    # The file is free again: a writer (the nightly load) can open it.
    duckdb.connect(str(warehouse)).close()
