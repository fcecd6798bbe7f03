"""docs/warehouse.md is the catalogue of the schema itself (make docs): up to date, covering every table
and view with its kind, grain and columns, and true of PostgreSQL as well as of the DuckDB it is written from."""

from __future__ import annotations

import re

import pytest

from public_health.warehouse import catalogue
from public_health.warehouse.catalogue import DOC_PATH, describe, reference_catalogue, render, split_grain
from public_health.warehouse.engine import make_engine
from public_health.warehouse.migrations import migrate


@pytest.fixture(scope="module")
def reference():
    return reference_catalogue()


@pytest.fixture(scope="module")
def document() -> str:
    assert DOC_PATH.exists(), f"{DOC_PATH} is missing: run make docs"
    return DOC_PATH.read_text(encoding="utf-8")


def _section(document: str, name: str) -> str:
    start = document.index(f"\n### {name}\n")
    end = document.find("\n### ", start + 1)
    return document[start: end if end > 0 else len(document)]


def test_the_document_is_what_make_docs_writes_now(reference, document):
    assert render(reference) == document, (
        "docs/warehouse.md is out of date with include/sql: run `make docs` and commit the result"
    )


def test_every_table_and_view_is_in_the_document_with_kind_grain_and_columns(reference, document):
    assert {o.schema for o in reference} >= {"mart", "core", "audit"}
    for o in reference:
        section = _section(document, o.qualified_name)
        assert f"*{o.kind}* · **Grain:** {o.grain}" in section, o.qualified_name
        assert o.grain and o.grain.startswith("One row per "), o.qualified_name
        documented = re.findall(r"^\| `([^`]+)` \| ", section, flags=re.M)
        assert documented == [c.name for c in o.columns], o.qualified_name
        for c in o.columns:
            assert f"| `{c.name}` | {c.data_type}" in section, f"{o.qualified_name}.{c.name}"
    headings = re.findall(r"^### (\S+)$", document, flags=re.M)
    assert sorted(headings) == sorted(o.qualified_name for o in reference)


def test_postgresql_has_the_same_objects_columns_and_comments(reference, postgres_url):
    engine = make_engine(postgres_url)
    try:
        migrate(engine)
        on_postgres = {o.qualified_name: o for o in describe(engine)}
    finally:
        engine.dispose()
    on_duckdb = {o.qualified_name: o for o in reference}
    assert sorted(on_postgres) == sorted(on_duckdb)
    for name, duck in on_duckdb.items():
        pg = on_postgres[name]
        assert (pg.kind, pg.comment) == (duck.kind, duck.comment), name
        assert [(c.name, c.comment, c.key) for c in pg.columns] == [(c.name, c.comment, c.key) for c in duck.columns], name


def test_make_docs_writes_then_check_passes_and_an_edit_fails(reference, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(catalogue, "reference_catalogue", lambda: reference)
    out = tmp_path / "warehouse.md"
    assert catalogue.main(["--output", str(out), "--check"]) == 1          # no file yet
    assert catalogue.main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render(reference)
    assert catalogue.main(["--output", str(out), "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("One row per", "One row for", 1), encoding="utf-8")
    assert catalogue.main(["--output", str(out), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_make_docs_refuses_a_schema_with_an_uncommented_column(reference, tmp_path, monkeypatch, capsys):
    first = reference[0]
    bare = catalogue.WarehouseObject(first.schema, first.name, first.kind, first.comment,
                                     (*first.columns, catalogue.Column("new_column", "VARCHAR", None)))
    monkeypatch.setattr(catalogue, "reference_catalogue", lambda: [bare, *reference[1:]])
    out = tmp_path / "warehouse.md"
    assert catalogue.main(["--output", str(out)]) == 1
    assert not out.exists()
    assert f"column {first.qualified_name}.new_column: no comment" in capsys.readouterr().err


@pytest.mark.parametrize(("comment", "grain", "rest"), [
    ("One row per load attempt: where it came from.", "One row per load attempt", "where it came from."),
    ("One row per KPI and period (a quarter, or a year: imported). Target beside actual.",
     "One row per KPI and period (a quarter, or a year: imported)", "Target beside actual."),
    ("One row per area, e.g. a county. More.", "One row per area, e.g. a county", "More."),
    ("One row per thing", "One row per thing", ""),
    ("Rows of things.", None, "Rows of things."),
    (None, None, ""),
])
def test_the_grain_is_the_comments_opening_clause(comment, grain, rest):
    assert split_grain(comment) == (grain, rest)
