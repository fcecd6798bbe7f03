"""Bulk loading of Arrow tables: binary COPY on PostgreSQL, the Arrow table read in place on DuckDB.

``stage_table`` / ``staged`` give a batch a name for set-based statements (a temporary table; on DuckDB a view of
the Arrow table), ``bulk_insert`` appends a batch to a table. PostgreSQL gets ``COPY ... FROM STDIN (FORMAT
BINARY)``: each row's fields are encoded from the Arrow columns with numpy and Arrow kernels (lengths and
big-endian numbers, joined per row), so no value is ever turned into a Python object or into CSV text. DuckDB
reads the Arrow table in place (``register``). ``kept_open`` keeps a DuckDB file open across one step's many
short transactions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from .engine import dialect_name

# Column name -> SQL type, written once for both dialects.
ColumnSpec = Sequence[tuple[str, str]]

#: Rows encoded per COPY message (a few MB): the server takes in one while the next is encoded.
_COPY_CHUNK_ROWS = 10_000
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_BINARY_TRAILER = (-1).to_bytes(2, "big", signed=True)
#: SQL type -> (Arrow type, numpy big-endian dtype) of the fixed-width binary COPY encodings.
_FIXED = {
    "SMALLINT": (pa.int16(), ">i2"),
    "INTEGER": (pa.int32(), ">i4"),
    "INT": (pa.int32(), ">i4"),
    "BIGINT": (pa.int64(), ">i8"),
    "REAL": (pa.float32(), ">f4"),
    "DOUBLE PRECISION": (pa.float64(), ">f8"),
    "BOOLEAN": (pa.uint8(), "u1"),
}
_TEXT = ("VARCHAR", "TEXT")


def stage_table(conn: Connection, name: str, columns: ColumnSpec, data: pa.Table) -> int:
    """Create temp table ``name`` with ``columns`` and fill it from ``data`` (same column names).

    Returns the number of rows staged. Runs inside the caller's transaction.
    """
    data = data.select([c for c, _ in columns])
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    if dialect_name(conn) == "postgresql":
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({ddl}) ON COMMIT DROP")
        _copy_binary(conn, name, columns, data)
    else:
        with _registered(conn, f"{name}_arrow", data) as arrow:
            conn.exec_driver_sql(f"CREATE TEMP TABLE {name} AS SELECT {_casts(columns)} FROM {arrow}")
    return data.num_rows


@contextmanager
def staged(conn: Connection, name: str, columns: ColumnSpec, data: pa.Table) -> Iterator[str]:
    """``data`` under ``name`` (with ``columns``' types) for the statements run inside the block, in the caller's
    transaction: on PostgreSQL a temporary table filled by binary COPY; on DuckDB a temporary view casting the
    Arrow table, which DuckDB reads in place (nothing is copied before the statements read it). After an error
    nothing is cleaned up: the transaction is lost and takes them with it."""
    data = data.select([c for c, _ in columns])
    if dialect_name(conn) == "postgresql":
        stage_table(conn, name, columns, data)
        yield name
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        return
    with _registered(conn, f"{name}_arrow", data) as arrow:
        conn.exec_driver_sql(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {_casts(columns)} FROM {arrow}")
        yield name
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")


def bulk_insert(conn: Connection, table: str, columns: ColumnSpec, data: pa.Table) -> int:
    """Append ``data`` to ``table`` (its ``columns``) in one bulk operation, in the caller's transaction: binary
    COPY straight into the table on PostgreSQL, one INSERT reading the Arrow table in place on DuckDB. The
    table's constraints apply as to any insert. Returns the number of rows inserted."""
    data = data.select([c for c, _ in columns])
    if dialect_name(conn) == "postgresql":
        _copy_binary(conn, table, columns, data)
        return data.num_rows
    col_list = ", ".join(f'"{c}"' for c, _ in columns)
    with _registered(conn, "bulk_insert_arrow", data) as arrow:
        return int(conn.exec_driver_sql(
            f"INSERT INTO {table} ({col_list}) SELECT {_casts(columns)} FROM {arrow}"
        ).rowcount)


@contextmanager
def _registered(conn: Connection, name: str, data: pa.Table) -> Iterator[str]:
    """``data`` readable by DuckDB as ``name`` on the connection for the block."""
    duck = conn.connection.driver_connection
    duck.register(name, data)
    try:
        yield name
    except BaseException:
        with suppress(Exception):   # an aborted transaction may refuse even this: the error that aborted it counts
            duck.unregister(name)
        raise
    duck.unregister(name)


def _casts(columns: ColumnSpec) -> str:
    return ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns)


def _copy_binary(conn: Connection, name: str, columns: ColumnSpec, data: pa.Table) -> None:
    from psycopg.copy import QueuedLibpqWriter

    col_list = ", ".join(f'"{c}"' for c, _ in columns)
    cursor = conn.connection.cursor()
    # Queued: the connection's thread sends one chunk while the next is encoded.
    with cursor.copy(f"COPY {name} ({col_list}) FROM STDIN (FORMAT BINARY)", writer=QueuedLibpqWriter(cursor)) as copy:
        copy.write(_BINARY_HEADER)
        for offset in range(0, data.num_rows, _COPY_CHUNK_ROWS):
            copy.write(binary_copy_rows(data.slice(offset, _COPY_CHUNK_ROWS), columns))
        copy.write(_BINARY_TRAILER)


def _binary(data: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """A binary array whose values are ``data`` (bytes) cut at ``lengths``."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _fields(column: pa.Array, sql_type: str) -> list[pa.Array]:
    """``column`` as binary COPY fields of ``sql_type``, in one or two binary arrays to be joined row by row:
    the value's length in 4 bytes, then its bytes (a null is the length -1 and no bytes)."""
    kind = sql_type.strip().upper()
    n = len(column)
    valid = None if not column.null_count else np.asarray(column.is_valid().to_numpy(zero_copy_only=False), bool)
    if kind in _FIXED:
        target, dtype = _FIXED[kind]
        values = np.asarray(pc.fill_null(column.cast(target), 0).to_numpy(zero_copy_only=False)).astype(dtype)
        width = values.dtype.itemsize
        block = np.empty((n, 4 + width), dtype=np.uint8)
        block[:, :4] = np.frombuffer(width.to_bytes(4, "big"), dtype=np.uint8)
        block[:, 4:] = values.view(np.uint8).reshape(n, width)
        if valid is None:
            return [_binary(block.reshape(-1), np.full(n, 4 + width, dtype=np.int32))]
        block[~valid, :4] = 0xFF                       # the length -1 ...
        keep = np.ones(block.shape, dtype=bool)
        keep[~valid, 4:] = False                       # ... and no value bytes
        return [_binary(block[keep], np.where(valid, 4 + width, 4).astype(np.int32))]
    if kind in _TEXT or kind.startswith("VARCHAR("):
        text = column.cast(pa.string())
        lengths = np.asarray(pc.fill_null(pc.binary_length(text), -1).to_numpy(zero_copy_only=False))
        prefix = _binary(lengths.astype(">i4").view(np.uint8), np.full(n, 4, dtype=np.int32))
        body = pc.fill_null(text, "") if valid is not None else text
        return [prefix, body.cast(pa.binary())]
    raise ValueError(f"stage_table: no binary COPY encoding for SQL type {sql_type!r} (add it to bulk._FIXED)")


def binary_copy_rows(data: pa.Table, columns: ColumnSpec) -> memoryview:
    """The rows of ``data`` in PostgreSQL's binary COPY format (without the file header and trailer)."""
    count = pa.scalar(len(columns).to_bytes(2, "big"), pa.binary())
    parts = [part for c, t in columns for part in _fields(data.column(c).combine_chunks(), t)]
    rows = pc.binary_join_element_wise(count, *parts, b"")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=4 * rows.offset)
    return memoryview(rows.buffers()[2])[int(offsets[0]):int(offsets[-1])]


@contextmanager
def kept_open(engine: Engine) -> Iterator[None]:
    """Keep the warehouse open across the many short transactions of one step (a task).

    A DuckDB engine does not pool: each transaction opens the file and closing it may checkpoint it. One idle
    connection held meanwhile keeps the database open, so each transaction reuses it; the file is released when
    the step ends, as before (the warehouse pool lets one writing task run at a time). A pooled engine
    (PostgreSQL) needs nothing."""
    if dialect_name(engine) != "duckdb":
        yield
        return
    with engine.connect():
        yield


#: Rows written by one multi-row INSERT (parameters stay well under PostgreSQL's 65,535 a statement).
ROWS_PER_STATEMENT = 500


def insert_rows(conn: Connection, into: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str],
                 then: str = "") -> None:
    """``INSERT INTO <into> (<the rows' keys>) VALUES (...), (...) <then>`` in as few statements as
    :data:`ROWS_PER_STATEMENT` allows: one round trip, not one a row (DuckDB runs an executemany row by row).
    Rows repeating a ``key`` are written once, the last (one statement may not change a row twice; row by row,
    the last would have won). Every row has the same keys, in the same order."""
    unique = list({tuple(r[k] for k in key): r for r in rows}.values())
    if not unique:
        return
    columns = list(unique[0])
    for start in range(0, len(unique), ROWS_PER_STATEMENT):
        chunk = unique[start: start + ROWS_PER_STATEMENT]
        params = {f"{c}_{i}": r[c] for i, r in enumerate(chunk) for c in columns}
        groups = ", ".join("(" + ", ".join(f":{c}_{i}" for c in columns) + ")" for i in range(len(chunk)))
        conn.execute(text(f"INSERT INTO {into} ({', '.join(columns)}) VALUES {groups} {then}".rstrip()), params)
