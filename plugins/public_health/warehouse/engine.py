"""SQLAlchemy engines for the warehouse (PostgreSQL in production, DuckDB embedded)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine for ``url``. DuckDB files get their folder created and no connection pooling,
    so the file is released (one writer at a time) as soon as a unit of work ends."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "duckdb":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, poolclass=NullPool)
    engine = create_engine(url, pool_pre_ping=True)
    if parsed.get_backend_name() == "postgresql":

        @event.listens_for(engine, "connect")
        def _set_timezone(dbapi_conn, _record):  # noqa: ANN001 - DBAPI types
            with dbapi_conn.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
            dbapi_conn.commit()

    return engine


def dialect_name(bind: Engine | Connection) -> str:
    """'duckdb' or 'postgresql'."""
    name = bind.dialect.name
    if name not in ("duckdb", "postgresql"):
        raise ValueError(f"unsupported warehouse dialect {name!r}: use DuckDB or PostgreSQL")
    return name


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction: commits whole on success, rolls back whole on any exception."""
    with engine.begin() as conn:
        yield conn


def redacted(url: str) -> str:
    """The URL with any password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)
