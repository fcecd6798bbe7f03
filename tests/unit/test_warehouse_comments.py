"""Every table, view and column of the warehouse carries a comment an analyst can use, on DuckDB and on
PostgreSQL: after a fresh migration, and still after any repeatable view file is applied again.

DuckDB drops a view's comments (the view's and its columns') when CREATE OR REPLACE VIEW replaces it;
PostgreSQL keeps them. So a view's comments must be applied with the view, in the same file: a comment
put anywhere else survives a fresh migration but is lost, on DuckDB, the next time the view's file
changes. The second test changes each view file in turn and migrates again to catch exactly that.
"""

from __future__ import annotations

import shutil

from public_health.warehouse.catalogue import describe, problems
from public_health.warehouse.engine import make_engine
from public_health.warehouse.migrations import SQL_DIR, migrate

SCHEMAS = {"mart", "core", "audit"}


def _report(missing: list[str]) -> str:
    return f"{len(missing)} object(s) or column(s) without a usable comment (add them in include/sql):\n" + "\n".join(
        f"  {m}" for m in missing
    )


def test_every_table_view_and_column_has_a_comment(warehouse):
    objects = describe(warehouse)
    schemas = {o.schema for o in objects}
    assert SCHEMAS <= schemas, f"expected objects in {sorted(SCHEMAS)}, found schemas {sorted(schemas)}"
    assert {o.kind for o in objects if o.schema == "mart"} == {"view"}
    assert sum(len(o.columns) for o in objects if o.schema == "mart") >= 100   # the views were read, columns too
    missing = problems(objects)
    assert not missing, _report(missing)


def test_a_view_file_applied_again_keeps_every_comment(warehouse_url, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    engine = make_engine(warehouse_url)
    try:
        migrate(engine, sql_dir)
        view_files = sorted((sql_dir / "marts").glob("R__*.sql"))
        assert view_files
        for path in view_files:
            # Any change re-applies the file (its checksum differs): every view in it is replaced.
            path.write_text(path.read_text(encoding="utf-8") + "\n-- changed, so applied again\n", encoding="utf-8")
            assert migrate(engine, sql_dir) == [path.name]
            missing = problems(describe(engine))
            assert not missing, f"after {path.name} was applied again: " + _report(missing)
    finally:
        engine.dispose()


def test_problems_names_each_missing_comment():
    from public_health.warehouse.catalogue import Column, WarehouseObject

    objects = [
        WarehouseObject("core", "t", "table", "Rows of something.", (Column("a", "INTEGER", "An a."),
                                                                      Column("b", "VARCHAR", " "))),
        WarehouseObject("mart", "v", "view", None, (Column("c", "DOUBLE", None),)),
        WarehouseObject("mart", "w", "view", "One row per w: fine.", (Column("d", "DATE", "A day."),)),
    ]
    assert problems(objects) == [
        "table core.t: comment does not open with its grain (One row per ...)",
        "column core.t.b: no comment",
        "view mart.v: no comment",
        "column mart.v.c: no comment",
    ]

