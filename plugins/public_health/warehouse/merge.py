"""Merge a staged batch into a fact table, keeping every superseded version in its history table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.engine import Connection

from .bulk import ColumnSpec, stage_table


@dataclass(frozen=True)
class FactTable:
    """A fact table that keeps history: its name, its history table, its columns (``spec``, without
    ``batch_id``) and the columns that identify a row."""

    table: str
    history_table: str
    spec: ColumnSpec
    key_columns: Sequence[str]


def merge_with_history(conn: Connection, target: FactTable, batch_id: int, data: pa.Table) -> tuple[int, int]:
    """Upsert ``data`` into ``target.table`` (columns ``target.spec`` plus ``batch_id``); returns (inserted, updated).

    Rows whose values differ from what the table holds are first copied to ``target.history_table`` with
    ``superseded_by_batch_id``; identical rows are left alone (so a rerun changes nothing). Runs in
    the caller's transaction.
    """
    table, history_table, spec, key_columns = target.table, target.history_table, target.spec, target.key_columns
    stage = "stg_" + table.split(".")[-1]
    stage_table(conn, stage, spec, data)
    value_columns = [c for c, _ in spec if c not in key_columns]
    cols = ", ".join(c for c, _ in spec)
    join = " AND ".join(f"f.{k} = s.{k}" for k in key_columns)
    changed = "(" + " OR ".join(f"f.{c} IS DISTINCT FROM s.{c}" for c in value_columns) + ")"
    params = {"batch": batch_id}
    conn.execute(
        text(
            f"INSERT INTO {history_table} ({cols}, batch_id, superseded_by_batch_id)"
            f" SELECT {', '.join('f.' + c for c, _ in spec)}, f.batch_id, :batch FROM {table} f"
            f" JOIN {stage} s ON {join} WHERE {changed}"
        ),
        params,
    )
    updated = int(
        conn.execute(
            text(f"SELECT count(*) FROM {history_table} WHERE superseded_by_batch_id = :batch"), params
        ).scalar_one()
    )
    if updated:
        sets = ", ".join(f"{c} = s.{c}" for c in value_columns)
        conn.execute(
            text(f"UPDATE {table} AS f SET {sets}, batch_id = :batch FROM {stage} s WHERE {join} AND {changed}"),
            params,
        )
    conn.execute(
        text(
            f"INSERT INTO {table} ({cols}, batch_id) SELECT {', '.join('s.' + c for c, _ in spec)}, :batch"
            f" FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM {table} f WHERE {join})"
        ),
        params,
    )
    touched = int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE batch_id = :batch"), params).scalar_one())
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage}")
    return touched - updated, updated
