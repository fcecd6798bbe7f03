"""Loading PHOF dimensions and facts (from Fingertips) into core, with revision history.

``load_indicator_values`` is one transaction: bulk-stage the batch (an Arrow table), copy every row it changes
to ``core.fact_indicator_value_history``, update changed rows, insert new ones (an indicator core holds nothing
of yet goes straight in by bulk insert), record the audit row. Running the same batch again changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine, String, bindparam, text
from sqlalchemy.engine import Connection

from public_health.periods import parse_period

from .audit import BatchCounts, BatchEnd, finish_batch, now
from .merge import FactTable, merge_with_history

log = logging.getLogger(__name__)

KEY_COLUMNS = ("indicator_id", "area_code", "sex", "age", "category_type", "category", "period_label")
FACT_SPEC: list[tuple[str, str]] = [
    ("indicator_id", "INTEGER"),
    ("area_code", "VARCHAR"),
    ("sex", "VARCHAR"),
    ("age", "VARCHAR"),
    ("category_type", "VARCHAR"),
    ("category", "VARCHAR"),
    ("period_label", "VARCHAR"),
    ("value", "DOUBLE PRECISION"),
    ("lower_ci_95", "DOUBLE PRECISION"),
    ("upper_ci_95", "DOUBLE PRECISION"),
    ("lower_ci_99_8", "DOUBLE PRECISION"),
    ("upper_ci_99_8", "DOUBLE PRECISION"),
    ("count", "DOUBLE PRECISION"),
    ("denominator", "DOUBLE PRECISION"),
    ("value_note", "VARCHAR"),
    ("recent_trend", "VARCHAR"),
    ("compared_to_england", "VARCHAR"),
    ("compared_to_parent", "VARCHAR"),
    ("compared_to_parent_label", "VARCHAR"),
    ("compared_to_goal", "VARCHAR"),
    ("time_period_sortable", "BIGINT"),
]
INDICATOR_VALUES = FactTable(
    "core.fact_indicator_value", "core.fact_indicator_value_history", FACT_SPEC, KEY_COLUMNS, scope="indicator_id"
)


@dataclass(frozen=True)
class LoadCounts:
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    seconds: float

    @property
    def status(self) -> str:
        return "loaded" if self.inserted or self.updated else "unchanged"


_KEY_TEXT_COLUMNS = ("category_type", "category", "sex", "age")   # part of the key: missing is ""


def facts_table(frame: pd.DataFrame | pa.Table) -> pa.Table:
    """The staged Fingertips batch (a pandas frame or an Arrow table, e.g. the staged parquet) as an
    Arrow table of fact columns (period label = time period)."""
    import pyarrow.compute as pc

    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    table = table.rename_columns(["period_label" if c == "time_period" else c for c in table.column_names])
    for col in _KEY_TEXT_COLUMNS:
        i = table.schema.get_field_index(col)
        table = table.set_column(i, col, pc.fill_null(table.column(col).cast(pa.string()), ""))
    return table.select([c for c, _ in FACT_SPEC])


def _distinct(table: pa.Table, column: str) -> list[Any]:
    import pyarrow.compute as pc

    return [v for v in pc.unique(table.column(column)).to_pylist() if v is not None]


def upsert_periods(conn: Connection, labels: Iterable[str]) -> int:
    """Add the periods core.dim_period lacks (one statement); returns how many ``labels`` there are."""
    wanted = sorted(set(labels))
    if not wanted:
        return 0
    known = {
        r[0]
        for r in conn.execute(
            text("SELECT period_label FROM core.dim_period WHERE period_label IN :labels").bindparams(
                bindparam("labels", expanding=True, type_=String())
            ),
            {"labels": wanted},
        )
    }
    params: dict[str, Any] = {}
    values = []
    for n, label in enumerate(label for label in wanted if label not in known):
        p = parse_period(label)
        params.update({f"l{n}": label, f"k{n}": p.sort_key, f"s{n}": p.start, f"e{n}": p.end,
                       f"g{n}": p.granularity, f"y{n}": p.years})
        values.append(f"(:l{n}, :k{n}, :s{n}, :e{n}, :g{n}, :y{n})")
    if values:
        conn.execute(
            text(
                "INSERT INTO core.dim_period (period_label, sort_key, start_date, end_date, granularity, years)"
                f" VALUES {', '.join(values)} ON CONFLICT (period_label) DO NOTHING"
            ),
            params,
        )
    return len(wanted)


def merge_facts(conn: Connection, batch_id: int, facts: pa.Table) -> tuple[int, int]:
    """Merge staged facts into core; returns (inserted, updated). Runs in the caller's transaction."""
    return merge_with_history(conn, INDICATOR_VALUES, batch_id, facts)


def load_indicator_values(
    engine: Engine,
    batch_id: int,
    frame: pd.DataFrame | pa.Table,
    *,
    indicator_upload_dates: Mapping[int, datetime | None],
    timings: Mapping[str, float] | None = None,
) -> LoadCounts:
    """Load one validated batch (pandas frame or Arrow table) in one transaction and mark its audit
    row loaded or unchanged."""
    started = time.perf_counter()
    facts = facts_table(frame)
    del frame   # the Arrow table is all the load needs
    rows = facts.num_rows
    with engine.begin() as conn:
        upsert_periods(conn, _distinct(facts, "period_label"))
        inserted, updated = merge_facts(conn, batch_id, facts)
        ids = sorted(int(i) for i in _distinct(facts, "indicator_id"))
        for indicator_id in ids:
            conn.execute(
                text("UPDATE core.dim_indicator SET loaded_data_upload = :u, updated_at = :t WHERE indicator_id = :i"),
                {"u": indicator_upload_dates.get(indicator_id), "t": now(), "i": indicator_id},
            )
        counts = LoadCounts(rows, inserted, updated, rows - inserted - updated, time.perf_counter() - started)
        finish_batch(
            conn,
            batch_id,
            BatchEnd(
                counts.status,
                BatchCounts(read=counts.rows_read, inserted=inserted, updated=updated, unchanged=counts.unchanged),
                timings={**(timings or {}), "load_s": counts.seconds},
            ),
        )
    log.info(
        "batch %s: %s rows read, %s inserted, %s updated, %s unchanged in %.2fs",
        batch_id,
        counts.rows_read,
        inserted,
        updated,
        counts.unchanged,
        counts.seconds,
    )
    return counts


def record_loaded_upload(conn: Connection, indicator_id: int, upload: datetime | None) -> None:
    """Core holds ``indicator_id``'s data as of Fingertips upload ``upload`` (its content was found already
    loaded). Only ever called for an indicator whose data is in core: a quarantined or failed indicator keeps
    its older date, so it stays due."""
    conn.execute(
        text(
            "UPDATE core.dim_indicator SET loaded_data_upload = :u, updated_at = :t WHERE indicator_id = :i"
            " AND loaded_data_upload IS DISTINCT FROM :u"
        ),
        {"u": upload, "t": now(), "i": indicator_id},
    )


def loaded_uploads(conn: Connection, indicator_ids: Sequence[int]) -> dict[int, datetime | None]:
    """``loaded_data_upload`` of each of ``indicator_ids`` that core.dim_indicator knows."""
    rows = conn.execute(
        text("SELECT indicator_id, loaded_data_upload FROM core.dim_indicator WHERE indicator_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": [int(i) for i in indicator_ids]},
    ).all()
    return {int(r.indicator_id): r.loaded_data_upload for r in rows}


# Dimensions -------------------------------------------------------------------------------------


def upsert_areas(conn: Connection, areas: Sequence[Mapping[str, Any]]) -> int:
    """areas: dicts with area_code, area_name, short_name, area_type_id, area_type, parent_area_code."""
    if not areas:
        return 0
    t = now()
    conn.execute(
        text(
            "INSERT INTO core.dim_area (area_code, area_name, short_name, area_type_id, area_type, parent_area_code,"
            " updated_at)"
            " VALUES (:area_code, :area_name, :short_name, :area_type_id, :area_type, :parent_area_code, :t)"
            " ON CONFLICT (area_code) DO UPDATE SET area_name = excluded.area_name, short_name = excluded.short_name,"
            " area_type_id = excluded.area_type_id, area_type = excluded.area_type,"
            " parent_area_code = COALESCE(excluded.parent_area_code, core.dim_area.parent_area_code),"
            " updated_at = excluded.updated_at"
            " WHERE core.dim_area.area_name IS DISTINCT FROM excluded.area_name"
            " OR core.dim_area.short_name IS DISTINCT FROM excluded.short_name"
            " OR core.dim_area.area_type_id IS DISTINCT FROM excluded.area_type_id"
            " OR core.dim_area.area_type IS DISTINCT FROM excluded.area_type"
            " OR (excluded.parent_area_code IS NOT NULL"
            "     AND core.dim_area.parent_area_code IS DISTINCT FROM excluded.parent_area_code)"
        ),
        [{**a, "t": t} for a in areas],
    )
    return len(areas)


def replace_comparators(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """rows: dicts with area_code, comparator_code, kind, rank, source. Replaces each area's set per kind."""
    pairs = sorted({(r["area_code"], r["kind"]) for r in rows})
    for area, kind in pairs:
        conn.execute(
            text("DELETE FROM core.area_comparator WHERE area_code = :a AND kind = :k"), {"a": area, "k": kind}
        )
    if rows:
        conn.execute(
            text(
                "INSERT INTO core.area_comparator (area_code, comparator_code, kind, rank, source)"
                " VALUES (:area_code, :comparator_code, :kind, :rank, :source)"
            ),
            list(rows),
        )
    return len(rows)


def upsert_indicators(conn: Connection, indicators: Sequence[Mapping[str, Any]]) -> int:
    """indicators: dicts with the dim_indicator columns except loaded_data_upload and updated_at."""
    if not indicators:
        return 0
    t = now()
    cols = [
        "phof_code",
        "name",
        "definition",
        "unit",
        "value_type",
        "polarity",
        "polarity_code",
        "source",
        "last_data_upload",
        "indicator_sets",
    ]
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
    changed = " OR ".join(f"core.dim_indicator.{c} IS DISTINCT FROM excluded.{c}" for c in cols)
    conn.execute(
        text(
            f"INSERT INTO core.dim_indicator (indicator_id, {', '.join(cols)}, updated_at)"
            f" VALUES (:indicator_id, {', '.join(':' + c for c in cols)}, :t)"
            f" ON CONFLICT (indicator_id) DO UPDATE SET {sets}, updated_at = excluded.updated_at WHERE {changed}"
        ),
        [{**{c: i.get(c) for c in cols}, "indicator_id": i["indicator_id"], "t": t} for i in indicators],
    )
    return len(indicators)


# Queries ----------------------------------------------------------------------------------------


class TrackedIndicator(NamedTuple):
    """An indicator of the configured sets: when Fingertips last uploaded its data, and the upload now in core."""

    indicator_id: int
    last_data_upload: datetime | None
    loaded_data_upload: datetime | None


def tracked_indicators(conn: Connection) -> list[TrackedIndicator]:
    """Indicators in a configured indicator set (``indicator_sets`` not empty), by id."""
    rows = conn.execute(
        text(
            "SELECT indicator_id, last_data_upload, loaded_data_upload FROM core.dim_indicator"
            " WHERE indicator_sets IS NOT NULL AND indicator_sets <> '' ORDER BY indicator_id"
        )
    ).all()
    return [TrackedIndicator(int(r.indicator_id), r.last_data_upload, r.loaded_data_upload) for r in rows]


def known_area_codes(conn: Connection) -> list[str]:
    """Every area code in core.dim_area (the gate checks a batch's area codes against them)."""
    return [r[0] for r in conn.execute(text("SELECT area_code FROM core.dim_area"))]


class AreaValueCount(NamedTuple):
    """How many PHOF values (and distinct indicators) the warehouse holds for one area."""

    area_code: str
    area_name: str
    values: int
    indicators: int


def area_value_counts(conn: Connection, area_codes: Sequence[str]) -> list[AreaValueCount]:
    """PHOF value and indicator counts for each of ``area_codes`` that core.dim_area knows."""
    rows = conn.execute(
        text(
            "SELECT a.area_code, coalesce(a.area_name, '') AS area_name, count(f.indicator_id) AS n,"
            " count(DISTINCT f.indicator_id) AS n_ind FROM core.dim_area a"
            " LEFT JOIN core.fact_indicator_value f ON f.area_code = a.area_code"
            " WHERE a.area_code IN :codes GROUP BY a.area_code, a.area_name ORDER BY a.area_code DESC"
        ).bindparams(bindparam("codes", expanding=True, type_=String())),
        {"codes": list(area_codes)},
    ).all()
    return [AreaValueCount(r.area_code, r.area_name, int(r.n), int(r.n_ind)) for r in rows]
