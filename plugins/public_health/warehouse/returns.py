"""Loading services, KPIs and provider returns into core, with history of superseded figures."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.engine import Connection

from public_health.periods import FinancialQuarter

from .audit import now
from .bulk import insert_rows
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


def _changed_upsert(table: str, key: Sequence[str], columns: Sequence[str]) -> str:
    """The ON CONFLICT clause updating ``columns`` (and updated_at) of ``table`` only where one differs."""
    return (
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns)},"
        " updated_at = excluded.updated_at WHERE "
        + " OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in columns)
    )


def sync_services(
    conn: Connection, services: Mapping[str, Any], track_from: FinancialQuarter, track_until: FinancialQuarter
) -> dict[str, int]:
    """Providers, services, KPIs and the returns expected of them, from configuration: a return per
    quarter from ``track_from`` (or the service's own start) to ``track_until`` (never later). One statement a
    table."""
    t = now()
    providers = {provider_code(s.provider): s.provider for s in services.values() if s.provider}
    insert_rows(
        conn, "core.dim_provider",
        [{"provider_code": c, "provider_name": n, "updated_at": t} for c, n in sorted(providers.items())],
        ["provider_code"],
        "ON CONFLICT (provider_code) DO UPDATE SET provider_name = excluded.provider_name,"
        " updated_at = excluded.updated_at WHERE core.dim_provider.provider_name <> excluded.provider_name",
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
    insert_rows(conn, "core.dim_service", [{**r, "updated_at": t} for r in service_rows], ["service_code"],
                 _changed_upsert("core.dim_service", ["service_code"], cols))
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
    insert_rows(conn, "core.dim_kpi", [{**r, "updated_at": t} for r in kpi_rows], ["service_code", "kpi_code"],
                 _changed_upsert("core.dim_kpi", ["service_code", "kpi_code"], kcols))
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
            expected.append({"service_code": s.code, "period_label": q.label, "quarter_end": end,
                             "due_date": end + timedelta(days=int(s.return_due_days))})
    upsert_periods(conn, [q.label for q in sorted(all_quarters)])
    insert_rows(
        conn, "core.return_expected", expected, ["service_code", "period_label"],
        "ON CONFLICT (service_code, period_label) DO UPDATE SET"
        " due_date = excluded.due_date WHERE core.return_expected.due_date <> excluded.due_date",
    )
    return {"providers": len(providers), "services": len(service_rows), "kpis": len(kpi_rows),
            "expected_returns": len(expected)}


def figures_held(
    conn: Connection, quarters_by_service: Mapping[str, Iterable[FinancialQuarter]]
) -> dict[str, dict[tuple[str, str, str], float]]:
    """Figures core holds (value not null) for each service in the quarters given for it, in one query for a whole
    run of returns: service -> {(kpi, period label, measure): value}. A service with none held is absent."""
    wanted = {s: {q.label for q in quarters} for s, quarters in quarters_by_service.items()}
    services = sorted(s for s, labels in wanted.items() if labels)
    labels = sorted(set().union(*wanted.values())) if wanted else []
    if not services:
        return {}
    rows = conn.execute(
        text(
            "SELECT service_code, kpi_code, period_label, measure, value FROM core.fact_kpi_value"
            " WHERE value IS NOT NULL AND service_code IN ("
            + ", ".join(f":s{i}" for i in range(len(services)))
            + ") AND period_label IN ("
            + ", ".join(f":p{i}" for i in range(len(labels)))
            + ")"
        ),
        {**{f"s{i}": s for i, s in enumerate(services)}, **{f"p{i}": p for i, p in enumerate(labels)}},
    ).all()
    held: dict[str, dict[tuple[str, str, str], float]] = {}
    for r in rows:
        if r.period_label in wanted[r.service_code]:
            held.setdefault(r.service_code, {})[(r.kpi_code, r.period_label, r.measure)] = float(r.value)
    return held


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
        superseded = conn.execute(
            text(
                "UPDATE core.return_received SET status = 'superseded' WHERE service_code = :s"
                " AND period_label = :p AND status IN ('loaded', 'loaded_with_warnings') RETURNING batch_id"
            ),
            {"s": service_code, "p": period_label},
        ).all()
        resubmission = len(superseded) > 0
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
    periods_held: AbstractSet[str] = frozenset(),
) -> tuple[int, int]:
    """Merge a checked return's figures, comments and actions (in the caller's transaction). ``parsed`` is a
    ParsedReturn: its ``period`` (a FinancialQuarter) keys the comments and actions by label. ``periods_held``:
    period labels core.dim_period is known to hold already (e.g. loaded earlier in the run), not written again."""
    period_label = parsed.period.label
    upsert_periods(conn, sorted((set(staged["period"]) | {period_label}) - set(periods_held)))
    inserted, updated = merge_with_history(conn, KPI_VALUES, batch_id, kpi_table(staged, source_file))
    key = {"s": parsed.service_code, "p": period_label}
    conn.execute(text("DELETE FROM core.fact_service_comment WHERE service_code = :s AND period_label = :p"), key)
    conn.execute(text("DELETE FROM core.fact_service_action WHERE service_code = :s AND period_label = :p"), key)
    insert_rows(conn, "core.fact_service_comment", [
        {"service_code": parsed.service_code, "period_label": period_label, "seq": i, "comment": c["comment"],
         "lead": c.get("lead"), "comment_date": c.get("date"), "batch_id": batch_id}
        for i, c in enumerate(parsed.comments, 1)
    ], ["seq"])
    insert_rows(conn, "core.fact_service_action", [
        {"service_code": parsed.service_code, "period_label": period_label, "seq": i, "action": a["action"],
         "action_by": a.get("action_by"), "batch_id": batch_id}
        for i, a in enumerate(parsed.actions, 1)
    ], ["seq"])
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


def returns_with_content(conn: Connection, shas: Iterable[str]) -> dict[str, ReturnFor]:
    """For each of ``shas`` that a return already loaded (or found unchanged, or superseded) had: the service and
    quarter of one such return, in one query for a whole run of files. Contents never taken are absent."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    rows = conn.execute(
        text("SELECT sha256, service_code, period_label FROM core.return_received WHERE sha256 IN ("
             + ", ".join(f":h{i}" for i in range(len(wanted)))
             + ") AND status IN ('loaded', 'loaded_with_warnings', 'superseded', 'unchanged')"
             " ORDER BY sha256, batch_id"),
        {f"h{i}": h for i, h in enumerate(wanted)},
    ).all()
    found: dict[str, ReturnFor] = {}
    for r in rows:
        found.setdefault(r.sha256, ReturnFor(r.service_code, _quarter(r.period_label)))
    return found


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
