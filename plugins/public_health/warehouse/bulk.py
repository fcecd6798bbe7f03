"""Bulk staging of a frame into a temporary table: COPY on PostgreSQL, Arrow on DuckDB."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy.engine import Connection

from .engine import dialect_name

# Column name -> SQL type, written once for both dialects.
ColumnSpec = Sequence[tuple[str, str]]

_COPY_CHUNK_ROWS = 200_000


def stage_table(conn: Connection, name: str, columns: ColumnSpec, data: pa.Table) -> int:
    """Create temp table ``name`` with ``columns`` and fill it from ``data`` (same column names).

    Returns the number of rows staged. Runs inside the caller's transaction.
    """
    data = data.select([c for c, _ in columns])
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns)
    dialect = dialect_name(conn)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    if dialect == "postgresql":
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({ddl}) ON COMMIT DROP")
        col_list = ", ".join(f'"{c}"' for c, _ in columns)
        cursor = conn.connection.cursor()
        with cursor.copy(f"COPY {name} ({col_list}) FROM STDIN (FORMAT CSV)") as copy:
            for offset in range(0, data.num_rows, _COPY_CHUNK_ROWS):
                buf = io.BytesIO()
                pacsv.write_csv(
                    data.slice(offset, _COPY_CHUNK_ROWS),
                    buf,
                    write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"),
                )
                copy.write(buf.getvalue())
    else:
        duck = conn.connection.driver_connection
        view = f"{name}_arrow"
        duck.register(view, data)
        try:
            casts = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns)
            conn.exec_driver_sql(f"CREATE TEMP TABLE {name} AS SELECT {casts} FROM {view}")
        finally:
            duck.unregister(view)
    return data.num_rows
