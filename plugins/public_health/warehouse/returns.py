"""Loading services, KPIs and provider returns into core, with history of superseded figures."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.engine import Connection

from public_health.periods import FinancialQuarter

from .audit import now
from .merge import FactTable, merge_with_history
from .phof import upsert_periods

KPI_KEY = ("service_code", "kpi_code", "period_label", "measure")
KPI_SPEC: list[tuple[str, str]] = [
    ("service_code", "VARCHAR"),
    ("kpi_code", "VARCHAR"),
    ("period_label", "VARCHAR"),
    ("measure", "VARCHAR"),
    ("value", "DOUBLE PRECISION"),
    ("missing_reason", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_cell", "VARCHAR"),
    ("raw_value", "VARCHAR"),
    ("note", "VARCHAR"),   # from a KPI history import; a return's figures have none
]
KPI_VALUES = FactTable("core.fact_kpi_value", "core.fact_kpi_value_history", KPI_SPEC, KPI_KEY)


def provider_code(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or "unknown"


def sync_services(
    conn: Connection, services: Mapping[str, Any], track_from: FinancialQuarter, track_until: FinancialQuarter
) -> dict[str, int]:
    """Providers, services, KPIs and the returns expected of them, from configuration: a return per
    quarter from ``track_from`` (or the service's own start) to ``track_until`` (never later)."""
    t = now()
    providers = {provider_code(s.provider): s.provider for s in services.values() if s.provider}
    if providers:
        conn.execute(
            text(
                "INSERT INTO core.dim_provider (provider_code, provider_name, updated_at) VALUES (:c, :n, :t)"
                " ON CONFLICT (provider_code) DO UPDATE SET provider_name = excluded.provider_name,"
                " updated_at = excluded.updated_at WHERE core.dim_provider.provider_name <> excluded.provider_name"
            ),
            [{"c": c, "n": n, "t": t} for c, n in sorted(providers.items())],
        )
    service_rows = [
        {
            "service_code": s.code,
            "service_name": s.name,
            "provider_code": provider_code(s.provider) if s.provider else None,
            "purpose": s.purpose,
            "redacted": bool(s.redacted),
            "return_due_days": int(s.return_due_days),
            "phof_indicator_ids": ",".join(str(i) for i in s.phof_indicator_ids) or None,
        }
        for s in services.values()
    ]
    cols = ["service_name", "provider_code", "purpose", "redacted", "return_due_days", "phof_indicator_ids"]
    conn.execute(
        text(
            f"INSERT INTO core.dim_service (service_code, {', '.join(cols)}, updated_at)"
            f" VALUES (:service_code, {', '.join(':' + c for c in cols)}, :t)"
            f" ON CONFLICT (service_code) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols)},"
            " updated_at = excluded.updated_at WHERE "
            + " OR ".join(f"core.dim_service.{c} IS DISTINCT FROM excluded.{c}" for c in cols)
        ),
        [{**r, "t": t} for r in service_rows],
    )
    kpi_rows = []
    for s in services.values():
        for order, k in enumerate(s.kpis):
            kpi_rows.append(
                {
                    "service_code": s.code,
                    "kpi_code": k.code,
                    "kpi_name": k.name,
                    "section": getattr(k, "section", None),
                    "unit": k.unit,
                    "polarity": k.polarity,
                    "target_kind": k.target_kind,
                    "frequency": k.frequency,
                    "is_cumulative": k.target_kind == "cumulative",
                    "numerator_kpi": k.numerator_kpi,
                    "denominator_kpi": k.denominator_kpi,
                    "decimals": k.decimals,
                    "information_only": bool(getattr(k, "information_only", False)),
                    "sort_order": order,
                }
            )
    kcols = [c for c in kpi_rows[0] if c not in ("service_code", "kpi_code")] if kpi_rows else []
    if kpi_rows:
        conn.execute(
            text(
                f"INSERT INTO core.dim_kpi (service_code, kpi_code, {', '.join(kcols)}, updated_at)"
                f" VALUES (:service_code, :kpi_code, {', '.join(':' + c for c in kcols)}, :t)"
                f" ON CONFLICT (service_code, kpi_code) DO UPDATE SET"
                f" {', '.join(f'{c} = excluded.{c}' for c in kcols)}, updated_at = excluded.updated_at WHERE "
                + " OR ".join(f"core.dim_kpi.{c} IS DISTINCT FROM excluded.{c}" for c in kcols)
            ),
            [{**r, "t": t} for r in kpi_rows],
        )
    expected = []
    all_quarters: set[FinancialQuarter] = set()
    for s in services.values():
        if s.redacted:
            continue
        # A service's own window replaces the start; its end never runs past the global end (the
        # last ended quarter), so no return is expected for a quarter still under way.
        quarters = FinancialQuarter.range(s.track_from or track_from, min(s.track_until or track_until, track_until))
        all_quarters.update(quarters)
        for q in quarters:
            end = q.end
            expected.append({"s": s.code, "p": q.label, "e": end, "d": end + timedelta(days=int(s.return_due_days))})
    upsert_periods(conn, [q.label for q in sorted(all_quarters)])
    if expected:
        conn.execute(
            text(
                "INSERT INTO core.return_expected (service_code, period_label, quarter_end, due_date)"
                " VALUES (:s, :p, :e, :d) ON CONFLICT (service_code, period_label) DO UPDATE SET"
                " due_date = excluded.due_date WHERE core.return_expected.due_date <> excluded.due_date"
            ),
            expected,
        )
    return {"providers": len(providers), "services": len(service_rows), "kpis": len(kpi_rows),
            "expected_returns": len(expected)}


def previous_figures(
    conn: Connection, service_code: str, quarters: Sequence[FinancialQuarter]
) -> dict[tuple[str, str, str], float]:
    """Figures core holds for a service in the given quarters: (kpi, period label, measure) -> value."""
    if not quarters:
        return {}
    rows = conn.execute(
        text(
            "SELECT kpi_code, period_label, measure, value FROM core.fact_kpi_value"
            " WHERE service_code = :s AND value IS NOT NULL AND period_label IN ("
            + ", ".join(f":p{i}" for i in range(len(quarters)))
            + ")"
        ),
        {"s": service_code, **{f"p{i}": q.label for i, q in enumerate(quarters)}},
    ).all()
    return {(r.kpi_code, r.period_label, r.measure): float(r.value) for r in rows}


@dataclass(frozen=True)
class Received:
    """A return file as taken from the shared drive: its load batch, path on the share, modification time
    there, sha256 and landing copy."""

    batch_id: int
    file_path: str
    file_modified_at: datetime
    sha256: str
    landing_path: str


@dataclass(frozen=True)
class ReceivedAs:
    """What became of a received file: status, the service and quarter it is for (when known), and its
    error and warning counts, error summary and quarantine report."""

    status: str
    service_code: str | None = None
    period: FinancialQuarter | None = None
    error_count: int = 0
    warning_count: int = 0
    error_summary: str | None = None
    report_path: str | None = None


def record_received(conn: Connection, received: Received, outcome: ReceivedAs) -> bool:
    """A row in core.return_received. A loaded return supersedes earlier loaded ones for the same
    service and quarter; returns True when it did (a resubmission)."""
    resubmission = False
    service_code = outcome.service_code
    period_label = outcome.period.label if outcome.period is not None else None
    if outcome.status in ("loaded", "loaded_with_warnings") and service_code and period_label:
        earlier = conn.execute(
            text(
                "SELECT count(*) FROM core.return_received WHERE service_code = :s AND period_label = :p"
                " AND status IN ('loaded', 'loaded_with_warnings')"
            ),
            {"s": service_code, "p": period_label},
        ).scalar_one()
        resubmission = int(earlier) > 0
        if resubmission:
            conn.execute(
                text(
                    "UPDATE core.return_received SET status = 'superseded' WHERE service_code = :s"
                    " AND period_label = :p AND status IN ('loaded', 'loaded_with_warnings')"
                ),
                {"s": service_code, "p": period_label},
            )
    conn.execute(
        text(
            "INSERT INTO core.return_received (batch_id, service_code, period_label, file_path, file_modified_at,"
            " sha256, landing_path, received_at, status, is_resubmission, error_count, warning_count,"
            " error_summary, report_path) VALUES (:b, :s, :p, :f, :m, :sha, :l, :r, :st, :re, :ec, :wc, :es, :rp)"
        ),
        {
            "b": received.batch_id, "s": service_code, "p": period_label, "f": received.file_path,
            "m": received.file_modified_at, "sha": received.sha256, "l": received.landing_path,
            "r": datetime.now(UTC), "st": outcome.status, "re": resubmission, "ec": outcome.error_count,
            "wc": outcome.warning_count, "es": outcome.error_summary, "rp": outcome.report_path,
        },
    )
    return resubmission


def kpi_table(frame: pd.DataFrame, source_file: str) -> pa.Table:
    """The staged return frame as rows of core.fact_kpi_value."""
    out = pd.DataFrame(
        {
            "service_code": frame["service_code"].astype("string"),
            "kpi_code": frame["kpi_code"].astype("string"),
            "period_label": frame["period"].astype("string"),
            "measure": frame["measure"].astype("string"),
            "value": frame["value"].astype("Float64"),
            "missing_reason": frame["missing_reason"].astype("string"),
            "source_file": pd.array([source_file] * len(frame), dtype="string"),
            "source_cell": pd.array(list(frame.index), dtype="string"),
            "raw_value": frame["raw"].astype("string"),
            "note": pd.array([None] * len(frame), dtype="string"),
        }
    )
    return pa.Table.from_pandas(out, preserve_index=False)


def load_return(
    conn: Connection,
    *,
    batch_id: int,
    parsed: Any,
    staged: pd.DataFrame,
    source_file: str,
) -> tuple[int, int]:
    """Merge a checked return's figures, comments and actions (in the caller's transaction). ``parsed`` is a
    ParsedReturn: its ``period`` (a FinancialQuarter) keys the comments and actions by label."""
    period_label = parsed.period.label
    upsert_periods(conn, sorted(set(staged["period"]) | {period_label}))
    inserted, updated = merge_with_history(conn, KPI_VALUES, batch_id, kpi_table(staged, source_file))
    key = {"s": parsed.service_code, "p": period_label}
    conn.execute(text("DELETE FROM core.fact_service_comment WHERE service_code = :s AND period_label = :p"), key)
    conn.execute(text("DELETE FROM core.fact_service_action WHERE service_code = :s AND period_label = :p"), key)
    comments = [
        {**key, "n": i, "c": c["comment"], "l": c.get("lead"), "d": c.get("date"), "b": batch_id}
        for i, c in enumerate(parsed.comments, 1)
    ]
    if comments:
        conn.execute(
            text(
                "INSERT INTO core.fact_service_comment (service_code, period_label, seq, comment, lead, comment_date,"
                " batch_id) VALUES (:s, :p, :n, :c, :l, :d, :b)"
            ),
            comments,
        )
    actions = [
        {**key, "n": i, "a": a["action"], "d": a.get("action_by"), "b": batch_id}
        for i, a in enumerate(parsed.actions, 1)
    ]
    if actions:
        conn.execute(
            text(
                "INSERT INTO core.fact_service_action (service_code, period_label, seq, action, action_by, batch_id)"
                " VALUES (:s, :p, :n, :a, :d, :b)"
            ),
            actions,
        )
    return inserted, updated


# Queries ----------------------------------------------------------------------------------------

class TakenFile(NamedTuple):
    """A shared-drive file already taken: its path on the share and its modification time then."""

    file_path: str
    file_modified_at: datetime


class ReturnFor(NamedTuple):
    """The service and quarter a received return is for (None when it could not be told)."""

    service_code: str | None
    period: FinancialQuarter | None


class ReturnStatusRow(NamedTuple):
    """One service's line of mart.return_status for a quarter."""

    service_code: str
    service_name: str | None
    provider_name: str | None
    status: str
    due_date: date | None
    received_at: datetime | None
    files_received: int | None
    error_summary: str | None
    report_path: str | None


class FileStatusCount(NamedTuple):
    """Return files of one Airflow run with one core.return_received status."""

    status: str
    files: int


def _quarter(label: str | None) -> FinancialQuarter | None:
    return FinancialQuarter.parse(label) if label else None


def taken_files(conn: Connection) -> list[TakenFile]:
    """Every file core.return_received holds (whatever became of it)."""
    rows = conn.execute(text("SELECT file_path, file_modified_at FROM core.return_received"))
    return [TakenFile(r.file_path, r.file_modified_at) for r in rows]


def return_with_content(conn: Connection, sha256: str) -> ReturnFor | None:
    """The service and quarter of a return already loaded (or found unchanged) with this content, if any."""
    row = conn.execute(
        text("SELECT service_code, period_label FROM core.return_received WHERE sha256 = :sha"
             " AND status IN ('loaded', 'loaded_with_warnings', 'superseded', 'unchanged') LIMIT 1"),
        {"sha": sha256},
    ).first()
    return None if row is None else ReturnFor(row.service_code, _quarter(row.period_label))


def newer_loaded_file(
    conn: Connection, service_code: str, period: FinancialQuarter, modified_at: datetime
) -> str | None:
    """The path of a return for the service and quarter that is loaded and was modified after ``modified_at``."""
    row = conn.execute(
        text("SELECT file_path FROM core.return_received WHERE service_code = :s AND period_label = :p"
             " AND status IN ('loaded', 'loaded_with_warnings') AND file_modified_at > :m"),
        {"s": service_code, "p": period.label, "m": modified_at},
    ).first()
    return None if row is None else row.file_path


def return_status(conn: Connection, period: FinancialQuarter) -> list[ReturnStatusRow]:
    """mart.return_status for one quarter, by service."""
    rows = conn.execute(
        text(
            "SELECT service_code, service_name, provider_name, status, due_date, received_at, files_received,"
            " error_summary, report_path FROM mart.return_status WHERE period_label = :p ORDER BY service_code"
        ),
        {"p": period.label},
    ).all()
    return [ReturnStatusRow(*r) for r in rows]


def files_by_status(conn: Connection, run_id: str | None) -> list[FileStatusCount]:
    """Return files taken in one Airflow run (None: outside Airflow), counted by core.return_received status."""
    rows = conn.execute(
        text(
            "SELECT r.status, count(*) AS n FROM core.return_received r JOIN audit.load_batch b"
            " ON b.batch_id = r.batch_id WHERE b.run_id IS NOT DISTINCT FROM :r GROUP BY r.status"
        ),
        {"r": run_id},
    ).all()
    return [FileStatusCount(r.status, int(r.n)) for r in rows]
