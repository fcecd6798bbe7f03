"""The warehouse's catalogue, read from the database itself: every table and view, its kind, its comment
(whose first clause is its grain, "One row per ..."), and its columns with their types and comments.

:func:`describe` reads it from a migrated warehouse (DuckDB or PostgreSQL); :func:`problems` lists every
object or column without a comment, and every table or view comment that does not state its grain;
:func:`render` writes the catalogue as Markdown. ``python -m public_health.warehouse.catalogue``
(``make docs``) migrates a fresh temporary DuckDB file and writes ``docs/warehouse.md`` from it;
``--check`` only compares, exiting 1 when the file is out of date.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from public_health.config import PROJECT_ROOT

from .engine import dialect_name, make_engine
from .migrations import SQL_DIR, migrate

DOC_PATH = PROJECT_ROOT / "docs" / "warehouse.md"
#: Schemas in the order the document shows them; any other schema holding objects follows, by name.
SCHEMA_ORDER = ("mart", "core", "audit", "staging")
#: What each schema is for. (DuckDB cannot comment on a schema, so these few lines live here.)
SCHEMA_NOTES = {
    "mart": "Views for analysts: start here. They join the facts to their dimensions and put comparators "
            "and related figures side by side.",
    "core": "Conformed dimensions and facts, each fact with a history table keeping every superseded version.",
    "audit": "Every load attempt and its data-quality results, every report build, and the migrations applied.",
    "staging": "Reserved for loads; holds nothing analysts read.",
}
GRAIN_OPENING = "One row per "

_OBJECTS = {
    "duckdb": text(
        "SELECT schema_name, table_name AS object_name, 'table' AS kind, comment FROM duckdb_tables()"
        " WHERE database_name = current_database() AND NOT internal AND NOT temporary"
        " UNION ALL"
        " SELECT schema_name, view_name, 'view', comment FROM duckdb_views()"
        " WHERE database_name = current_database() AND NOT internal AND NOT temporary"
    ),
    "postgresql": text(
        "SELECT n.nspname AS schema_name, c.relname AS object_name,"
        " CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END AS kind,"
        " obj_description(c.oid, 'pg_class') AS comment"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname <> 'information_schema'"
        " AND left(n.nspname, 3) <> 'pg_'"
    ),
}
_COLUMNS = {
    "duckdb": text(
        "SELECT schema_name, table_name AS object_name, column_name, data_type, comment,"
        " is_nullable = false AS not_null FROM duckdb_columns()"
        " WHERE database_name = current_database() AND NOT internal"
        " ORDER BY schema_name, table_name, column_index"
    ),
    "postgresql": text(
        "SELECT n.nspname AS schema_name, c.relname AS object_name, a.attname AS column_name,"
        " format_type(a.atttypid, a.atttypmod) AS data_type, col_description(c.oid, a.attnum) AS comment,"
        " a.attnotnull AS not_null"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')"
        " AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'"
        " ORDER BY n.nspname, c.relname, a.attnum"
    ),
}
_PRIMARY_KEYS = {
    "duckdb": text(
        "SELECT schema_name, table_name AS object_name, unnest(constraint_column_names) AS column_name"
        " FROM duckdb_constraints() WHERE database_name = current_database() AND constraint_type = 'PRIMARY KEY'"
    ),
    "postgresql": text(
        "SELECT n.nspname AS schema_name, c.relname AS object_name, a.attname AS column_name"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indisprimary AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'"
    ),
}


@dataclass(frozen=True)
class Column:
    """A column: its name, its type as the database names it, its comment, and whether it is part of the
    primary key or may not be NULL."""

    name: str
    data_type: str
    comment: str | None
    key: bool = False
    not_null: bool = False


@dataclass(frozen=True)
class WarehouseObject:
    """A table or view with its comment and columns (in table order)."""

    schema: str
    name: str
    kind: str   # "table" or "view"
    comment: str | None
    columns: tuple[Column, ...]

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def grain(self) -> str | None:
        """The comment's opening clause when it states the grain ("One row per ..."), else None."""
        return split_grain(self.comment)[0]

    @property
    def description(self) -> str:
        """The comment after the grain clause (the whole comment when it states no grain)."""
        return split_grain(self.comment)[1]


def split_grain(comment: str | None) -> tuple[str | None, str]:
    """``("One row per X", "the rest")`` from a comment opening with its grain: the grain runs to the first
    colon or full stop outside parentheses. ``(None, comment)`` when it does not open with one."""
    comment = (comment or "").strip()
    if not comment.startswith(GRAIN_OPENING):
        return None, comment
    depth = 0
    for i, ch in enumerate(comment):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch in ":." and depth == 0 and (i + 1 == len(comment) or comment[i + 1] == " "):
            if comment[max(0, i - 3): i + 1] in ("e.g.", "i.e."):
                continue
            return comment[:i], comment[i + 1:].strip()
    return comment, ""


def _schema_rank(schema: str) -> tuple[int, str]:
    return (SCHEMA_ORDER.index(schema) if schema in SCHEMA_ORDER else len(SCHEMA_ORDER), schema)


def describe(engine: Engine) -> list[WarehouseObject]:
    """Every table and view outside the system schemas, with its columns, ordered by schema (mart, core,
    audit, staging, then any other) and name."""
    dialect = dialect_name(engine)
    with engine.connect() as conn:
        objects = conn.execute(_OBJECTS[dialect]).all()
        columns = conn.execute(_COLUMNS[dialect]).all()
        keys = {(r.schema_name, r.object_name, r.column_name) for r in conn.execute(_PRIMARY_KEYS[dialect])}
    by_object: dict[tuple[str, str], list[Column]] = {}
    for c in columns:
        where = (c.schema_name, c.object_name)
        by_object.setdefault(where, []).append(
            Column(c.column_name, str(c.data_type), c.comment, (*where, c.column_name) in keys, bool(c.not_null))
        )
    found = [
        WarehouseObject(o.schema_name, o.object_name, o.kind, o.comment,
                        tuple(by_object.get((o.schema_name, o.object_name), ())))
        for o in objects
    ]
    return sorted(found, key=lambda o: (_schema_rank(o.schema), o.name))


def problems(objects: Iterable[WarehouseObject]) -> list[str]:
    """One line per table, view or column without a comment, and per table or view comment that does not
    open with its grain ("One row per ...")."""
    out = []
    for o in objects:
        if not (o.comment or "").strip():
            out.append(f"{o.kind} {o.qualified_name}: no comment")
        elif o.grain is None:
            out.append(f"{o.kind} {o.qualified_name}: comment does not open with its grain ({GRAIN_OPENING}...)")
        out.extend(f"column {o.qualified_name}.{c.name}: no comment"
                   for c in o.columns if not (c.comment or "").strip())
    return out


def _cell(value: str | None) -> str:
    """Text for a Markdown table cell: one line, pipes escaped, and < > as entities (``V<nnn>`` is no tag)."""
    return " ".join((value or "").split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _anchor(o: WarehouseObject) -> str:
    return f"{o.schema}{o.name}"   # GitHub drops the dot from the heading "schema.name"


def render(objects: Sequence[WarehouseObject]) -> str:
    """The catalogue as Markdown: a contents table, then each object with its kind, grain, description and
    columns (type, key, comment)."""
    lines = [
        "# The warehouse, object by object",
        "",
        "<!-- Generated by `make docs` (python -m public_health.warehouse.catalogue) from the schema itself: a fresh",
        "     DuckDB warehouse migrated with include/sql. Do not edit by hand: change the comments in include/sql",
        "     and run `make docs`; tests/unit/test_warehouse_catalogue.py fails when this file is out of date. -->",
        "",
        "Every table, view and column below carries a comment in the warehouse itself (on DuckDB and",
        "PostgreSQL alike), so the same text shows in any client that reads comments (DBeaver, psql `\\d+`,",
        "DuckDB's `duckdb_columns()`). The grain of each object is the opening clause of its comment.",
        "Types are as DuckDB names them; on PostgreSQL `VARCHAR` is `character varying`, `DOUBLE` is",
        "`double precision` and `TIMESTAMP WITH TIME ZONE` is `timestamptz` (times are UTC). *key* marks",
        "the primary key's columns, *not null* the other columns that are never NULL.",
        "Example questions, in SQL that runs on both, are in [docs/queries/](queries/).",
        "",
        "| object | kind | grain |",
        "| --- | --- | --- |",
    ]
    lines += [f"| [{o.qualified_name}](#{_anchor(o)}) | {o.kind} | {_cell(o.grain)} |" for o in objects]
    schema = None
    for o in objects:
        if o.schema != schema:
            schema = o.schema
            lines += ["", f"## {schema}"]
            if schema in SCHEMA_NOTES:
                lines += ["", SCHEMA_NOTES[schema]]
        lines += ["", f"### {o.qualified_name}", "", f"*{o.kind}* · **Grain:** {_cell(o.grain) or '(not stated)'}", ""]
        if o.description:
            lines += [_cell(o.description[:1].upper() + o.description[1:]), ""]
        lines += ["| column | type | description |", "| --- | --- | --- |"]
        for c in o.columns:
            marks = ", ".join(m for m, on in (("key", c.key), ("not null", c.not_null and not c.key)) if on)
            kind = f"{c.data_type}" + (f", *{marks}*" if marks else "")
            lines.append(f"| `{c.name}` | {kind} | {_cell(c.comment)} |")
    return "\n".join(lines) + "\n"


def reference_catalogue(sql_dir: Path = SQL_DIR) -> list[WarehouseObject]:
    """The catalogue of a fresh DuckDB warehouse migrated with ``sql_dir`` (in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="ph-catalogue-") as folder:
        engine = make_engine(f"duckdb:///{Path(folder) / 'warehouse.duckdb'}")
        try:
            migrate(engine, sql_dir)
            return describe(engine)
        finally:
            engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m public_health.warehouse.catalogue",
        description="Write docs/warehouse.md from a freshly migrated DuckDB warehouse (make docs).",
    )
    parser.add_argument("--output", type=Path, default=DOC_PATH, help=f"file to write (default {DOC_PATH})")
    parser.add_argument("--check", action="store_true", help="only compare: exit 1 when the file is out of date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    objects = reference_catalogue()
    missing = problems(objects)
    if missing:
        print("the warehouse has objects without comments (add them in include/sql):", file=sys.stderr)
        print("\n".join(f"  {m}" for m in missing), file=sys.stderr)
        return 1
    document = render(objects)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != document:
            print(f"{args.output} is out of date with the schema: run make docs", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    if current != document:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(document, encoding="utf-8")
    columns = sum(len(o.columns) for o in objects)
    kinds = {k: sum(o.kind == k for o in objects) for k in ("table", "view")}
    print(f"{args.output}: {kinds['table']} tables, {kinds['view']} views, {columns} columns"
          + ("" if current != document else " (unchanged)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
