"""Versioned schema migrations for PostgreSQL and DuckDB.

``include/sql/migrations/V<nnn>__<name>.sql`` are applied once each, in version order, each in its
own transaction, and recorded in ``audit.schema_migration`` with the sha256 of the file. An applied
migration whose file has since changed is refused: write a new version instead. Where a dialect must
differ, ``V<nnn>__<name>.postgresql.sql`` / ``.duckdb.sql`` sit beside each other and the one for the
warehouse's dialect is used (both are checksummed under the same version).

``include/sql/marts/R__<name>.sql`` are repeatable (views): re-applied whenever their checksum
changes, after all versioned migrations.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from public_health.config import PROJECT_ROOT

from .engine import dialect_name

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_ROOT / "include" / "sql"
_VERSIONED = re.compile(r"^V(\d{3,})__([a-z0-9_]+)(?:\.(duckdb|postgresql))?\.sql$")
_REPEATABLE = re.compile(r"^R__([a-z0-9_]+)(?:\.(duckdb|postgresql))?\.sql$")


class MigrationError(RuntimeError):
    """A migration cannot be applied; the message names the file and what to do."""


@dataclass(frozen=True)
class Migration:
    version: int  # 0 for repeatable migrations
    name: str
    path: Path
    checksum: str

    @property
    def repeatable(self) -> bool:
        return self.version == 0

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(dialect: str, sql_dir: Path = SQL_DIR) -> tuple[list[Migration], list[Migration]]:
    """Versioned and repeatable migrations for ``dialect``, in the order they apply."""
    versioned: dict[int, Migration] = {}
    names: dict[int, str] = {}
    for path in sorted((sql_dir / "migrations").glob("*.sql")):
        m = _VERSIONED.match(path.name)
        if not m:
            raise MigrationError(f"{path}: file name must look like V001__short_name.sql[.duckdb|.postgresql]")
        version, name, variant = int(m.group(1)), m.group(2), m.group(3)
        if version in names and names[version] != name:
            raise MigrationError(f"{path}: version {version} is already used by {names[version]!r}")
        names[version] = name
        if variant not in (None, dialect):
            continue
        if version in versioned and variant is None:
            continue  # a dialect-specific variant wins over the generic file
        versioned[version] = Migration(version, name, path, _checksum(path))
    repeatable: dict[str, Migration] = {}
    for path in sorted((sql_dir / "marts").glob("*.sql")):
        m = _REPEATABLE.match(path.name)
        if not m:
            raise MigrationError(f"{path}: file name must look like R__short_name.sql[.duckdb|.postgresql]")
        name, variant = m.group(1), m.group(2)
        if variant not in (None, dialect):
            continue
        if name in repeatable and variant is None:
            continue
        repeatable[name] = Migration(0, name, path, _checksum(path))
    return [versioned[v] for v in sorted(versioned)], [repeatable[n] for n in sorted(repeatable)]


def split_statements(sql: str) -> list[str]:
    """Split SQL text into statements on semicolons outside quotes, comments and $$ bodies."""
    statements: list[str] = []
    buf: list[str] = []
    i, n = 0, len(sql)
    quote: str | None = None
    while i < n:
        ch = sql[i]
        if quote:
            buf.append(ch)
            if sql.startswith(quote, i):
                if quote == "$$":
                    buf.append("$")
                    i += 1
                quote = None
            i += 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end + 1
            buf.append("\n")
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch in ("'", '"'):
            quote = ch
        elif sql.startswith("$$", i):
            quote = "$$"
            buf.append("$")
            i += 1
        if ch == ";" and quote is None:
            stmt = "".join(buf).strip()
            if stmt:
                statements.append(stmt)
            buf = []
        else:
            buf.append(ch)
        i += 1
    tail = "".join(buf).strip()
    if tail:
        statements.append(tail)
    return statements


_BOOTSTRAP = [
    "CREATE SCHEMA IF NOT EXISTS audit",
    """CREATE TABLE IF NOT EXISTS audit.schema_migration (
        version     INTEGER NOT NULL,
        name        VARCHAR NOT NULL,
        file_name   VARCHAR NOT NULL,
        checksum    VARCHAR NOT NULL,
        applied_at  TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (version, name)
    )""",
]


def _applied(conn: Connection) -> dict[tuple[int, str], tuple[str, str]]:
    rows = conn.execute(text("SELECT version, name, checksum, file_name FROM audit.schema_migration"))
    return {(r.version, r.name): (r.checksum, r.file_name) for r in rows}


def _run(conn: Connection, migration: Migration) -> None:
    # The DBAPI cursor runs the text as written: no parameter parsing, so '%' in a comment is fine.
    cursor = conn.connection.cursor()
    for stmt in split_statements(migration.sql()):
        try:
            cursor.execute(stmt)
        except Exception as exc:
            first_line = stmt.strip().splitlines()[0][:120]
            raise MigrationError(f"{migration.path}: statement failed ({first_line} ...): {exc}") from exc


def migrate(engine: Engine, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations; return the file names applied (empty when up to date)."""
    dialect = dialect_name(engine)
    versioned, repeatable = discover(dialect, sql_dir)
    with engine.begin() as conn:
        for stmt in _BOOTSTRAP:
            conn.exec_driver_sql(stmt)
        applied = _applied(conn)

    for m in versioned:
        recorded = applied.get((m.version, m.name))
        if recorded and recorded[0] != m.checksum:
            raise MigrationError(
                f"{m.path}: migration V{m.version:03d} was applied with checksum {recorded[0][:12]}… "
                f"but the file now has {m.checksum[:12]}…; applied migrations must not be edited. "
                "Restore the file and put the change in a new version."
            )
    done: list[str] = []
    for m in versioned:
        if (m.version, m.name) in applied:
            continue
        log.info("applying %s", m.path.name)
        with engine.begin() as conn:
            _run(conn, m)
            _record(conn, m)
        done.append(m.path.name)
    for m in repeatable:
        recorded = applied.get((0, m.name))
        if recorded and recorded[0] == m.checksum:
            continue
        log.info("applying repeatable %s", m.path.name)
        with engine.begin() as conn:
            _run(conn, m)
            conn.execute(text("DELETE FROM audit.schema_migration WHERE version = 0 AND name = :n"), {"n": m.name})
            _record(conn, m)
        done.append(m.path.name)
    return done


def _record(conn: Connection, m: Migration) -> None:
    conn.execute(
        text(
            "INSERT INTO audit.schema_migration (version, name, file_name, checksum, applied_at) "
            "VALUES (:v, :n, :f, :c, :t)"
        ),
        {"v": m.version, "n": m.name, "f": m.path.name, "c": m.checksum, "t": datetime.now(UTC)},
    )
