"""Loading a KPI history import into core.fact_kpi_value (with its notes), keeping superseded figures in
core.fact_kpi_value_history, and the queries the import needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow as pa
from sqlalchemy import String, bindparam, text
from sqlalchemy.engine import Connection

from public_health.periods import FinancialQuarter, PeriodParseError

from .merge import merge_with_history
from .phof import upsert_periods
from .returns import KPI_VALUES, kpi_table

FigureKey = tuple[str, str, str, str]  # (service, kpi, period label, measure)

_HELD = text(
    "SELECT service_code, kpi_code, period_label, measure, value FROM core.fact_kpi_value"
    " WHERE value IS NOT NULL AND service_code IN :services AND period_label IN :periods"
).bindparams(
    bindparam("services", expanding=True, type_=String), bindparam("periods", expanding=True, type_=String)
)


def figures_held(
    conn: Connection, service_codes: Iterable[str], period_labels: Iterable[str]
) -> dict[FigureKey, float]:
    """Figures core holds (with a value) for these services in these periods: (service, kpi, label, measure)
    -> value."""
    services, periods = sorted(set(service_codes)), sorted(set(period_labels))
    if not services or not periods:
        return {}
    rows = conn.execute(_HELD, {"services": services, "periods": periods}).all()
    return {(r.service_code, r.kpi_code, r.period_label, r.measure): float(r.value) for r in rows}


def _financial_year(label: str) -> FinancialQuarter | None:
    """Q1 of the financial year a ``2015-16`` label names; None for any other label."""
    try:
        return FinancialQuarter.parse(f"{label}-Q1")
    except PeriodParseError:
        return None


def upsert_kpi_periods(conn: Connection, labels: Iterable[str]) -> int:
    """core.dim_period rows for the import's periods: quarters as :func:`phof.upsert_periods` writes them, and
    financial years labelled ``2015-16`` as financial years (April to March; a label already there is kept)."""
    quarters, years = set(), {}
    for label in set(labels):
        first = _financial_year(label)
        if first is None:
            quarters.add(label)
        else:
            years[label] = first
    count = upsert_periods(conn, quarters)
    rows = [
        {"l": label, "k": int(q.year_quarters()[-1].end.strftime("%Y%m%d")), "s": q.start,
         "e": q.year_quarters()[-1].end}
        for label, q in sorted(years.items())
    ]
    if rows:
        conn.execute(
            text(
                "INSERT INTO core.dim_period (period_label, sort_key, start_date, end_date, granularity, years)"
                " VALUES (:l, :k, :s, :e, 'financial_year', 1) ON CONFLICT (period_label) DO NOTHING"
            ),
            rows,
        )
    return count + len(rows)


def history_table(staged: pd.DataFrame, source_file: str) -> pa.Table:
    """The staged history frame as rows of core.fact_kpi_value: the provider return's columns
    (:func:`returns.kpi_table`: ``source_cell`` is the frame's index, ``line N`` or ``sheet!cell``) and ``note``."""
    table = kpi_table(staged, source_file)
    if "note" not in staged:
        return table
    notes = pa.array(staged["note"].astype("string"), type=pa.string(), from_pandas=True)
    return table.set_column(table.schema.get_field_index("note"), "note", notes)


def load_history(conn: Connection, batch_id: int, staged: pd.DataFrame, source_file: str) -> tuple[int, int]:
    """Merge a checked history frame into core.fact_kpi_value (in the caller's transaction); returns
    (inserted, updated). A figure whose value, reason, source or note differs is copied to
    core.fact_kpi_value_history first; identical figures are left alone, so importing the same file again
    changes nothing."""
    upsert_kpi_periods(conn, staged["period"])
    return merge_with_history(conn, KPI_VALUES, batch_id, history_table(staged, source_file))


def history_rows(conn: Connection, batch_id: int) -> Sequence[tuple[str, str, str, str]]:
    """Keys of the figures one import batch superseded (moved to history), for logs and tests."""
    rows = conn.execute(
        text(
            "SELECT service_code, kpi_code, period_label, measure FROM core.fact_kpi_value_history"
            " WHERE superseded_by_batch_id = :b ORDER BY service_code, kpi_code, period_label, measure"
        ),
        {"b": batch_id},
    ).all()
    return [tuple(r) for r in rows]
