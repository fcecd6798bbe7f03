"""Merge a staged batch into a fact table, keeping every superseded version in its history table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from .bulk import ColumnSpec, bulk_insert, staged


@dataclass(frozen=True)
class FactTable:
    """A fact table that keeps history: its name, its history table, its columns (``spec``, without
    ``batch_id``) and the columns that identify a row (its primary key). ``scope``: a leading key column
    (e.g. ``indicator_id``) a batch's rows are compared within: only the table's rows with the values the batch
    holds in it are read, through the primary key, instead of the whole table."""

    table: str
    history_table: str
    spec: ColumnSpec
    key_columns: Sequence[str]
    scope: str | None = None


def merge_with_history(conn: Connection, target: FactTable, batch_id: int, data: pa.Table) -> tuple[int, int]:
    """Upsert ``data`` into ``target.table`` (columns ``target.spec`` plus ``batch_id``); returns (inserted, updated).

    One set-based statement per step, over the bulk-staged batch: rows whose values differ from what the table
    holds are copied to ``target.history_table`` with ``superseded_by_batch_id``; those rows are updated; the
    rows the table lacks are inserted. Identical rows are left alone (so a rerun changes nothing). When the table
    holds nothing in the batch's ``scope`` yet (a first load), the batch is bulk-inserted straight into the table
    (binary COPY on PostgreSQL). Runs in the caller's transaction.
    """
    table, history_table, spec, key_columns = target.table, target.history_table, target.spec, target.key_columns
    value_columns = [c for c, _ in spec if c not in key_columns]
    cols = ", ".join(c for c, _ in spec)
    join = " AND ".join(f"f.{k} = s.{k}" for k in key_columns)
    changed = "(" + " OR ".join(f"f.{c} IS DISTINCT FROM s.{c}" for c in value_columns) + ")"
    params: dict[str, object] = {"batch": batch_id}
    binds = []
    present = True
    if target.scope is not None:   # read only the table's rows in the batch's scope (a key prefix: an index range)
        params["scope"] = [v for v in pc.unique(data.column(target.scope)).to_pylist() if v is not None]
        binds = [bindparam("scope", expanding=True)]
        join += f" AND f.{target.scope} IN :scope"
        present = bool(conn.execute(   # all rows fetched: DuckDB then lets the Arrow table be registered
            text(f"SELECT 1 FROM {table} f WHERE f.{target.scope} IN :scope LIMIT 1").bindparams(*binds), params
        ).all())
    if not present:   # nothing to compare with: the batch goes straight into the table
        batch = pa.array(np.full(data.num_rows, batch_id, dtype=np.int64))
        return bulk_insert(conn, table, [*spec, ("batch_id", "BIGINT")], data.append_column("batch_id", batch)), 0
    with staged(conn, "stg_" + table.split(".")[-1], spec, data) as stage:
        updated = conn.execute(
            text(
                f"INSERT INTO {history_table} ({cols}, batch_id, superseded_by_batch_id)"
                f" SELECT {', '.join('f.' + c for c, _ in spec)}, f.batch_id, :batch FROM {table} f"
                f" JOIN {stage} s ON {join} WHERE {changed}"
            ).bindparams(*binds),
            params,
        ).rowcount
        if updated:
            sets = ", ".join(f"{c} = s.{c}" for c in value_columns)
            conn.execute(
                text(f"UPDATE {table} AS f SET {sets}, batch_id = :batch FROM {stage} s WHERE {join} AND {changed}")
                .bindparams(*binds),
                params,
            )
        inserted = conn.execute(
            text(
                f"INSERT INTO {table} ({cols}, batch_id) SELECT {', '.join('s.' + c for c, _ in spec)}, :batch"
                f" FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM {table} f WHERE {join})"
            ).bindparams(*binds),
            params,
        ).rowcount
    return int(inserted), int(updated)
