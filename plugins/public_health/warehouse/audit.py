"""Rows in audit.load_batch and audit.dq_result."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from public_health.quality.gate import ValidationOutcome
from public_health.warehouse.bulk import insert_rows


@dataclass(frozen=True)
class RunContext:
    """Who is loading: the Airflow dag, run and task ids (None outside Airflow)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BatchSource:
    """What a load attempt reads: the pipeline (``source``), the URL or file path it came from, the sha256 and
    landing copy of the raw file when there is one, and anything else worth keeping (``details``, as JSON)."""

    source: str
    source_ref: str
    sha256: str | None = None
    landing_path: str | None = None
    details: Mapping[str, Any] | None = None
    indicator_id: int | None = None
    content_sha256: str | None = None


@dataclass(frozen=True)
class BatchCounts:
    """Rows of one load attempt: read from the source, then inserted, updated and left unchanged in core."""

    read: int | None = None
    inserted: int | None = None
    updated: int | None = None
    unchanged: int | None = None


#: An attempt that read nothing and changed nothing (content already loaded).
NO_ROWS = BatchCounts(read=0, inserted=0, updated=0, unchanged=0)


@dataclass(frozen=True)
class BatchEnd:
    """How a load attempt ended: its status, row counts, error summary and report, and step timings."""

    status: str
    counts: BatchCounts = BatchCounts()
    error_summary: str | None = None
    report_path: str | None = None
    timings: Mapping[str, float] | None = None
    held_since: datetime | None = None


def start_batch(engine: Engine, batch: BatchSource, run: RunContext) -> int:
    """Record a load attempt as running (committed at once, so a crash still leaves a trace)."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "INSERT INTO audit.load_batch (source, source_ref, sha256, landing_path, status, started_at,"
                " dag_id, run_id, task_id, details, indicator_id, content_sha256)"
                " VALUES (:source, :ref, :sha, :landing, 'running', :t, :dag, :run, :task, :details, :ind, :csha)"
                " RETURNING batch_id"
            ),
            {
                "source": batch.source,
                "ref": batch.source_ref,
                "sha": batch.sha256,
                "landing": batch.landing_path,
                "t": now(),
                "dag": run.dag_id,
                "run": run.run_id,
                "task": run.task_id,
                "details": json.dumps(dict(batch.details or {}), default=str, sort_keys=True),
                "ind": batch.indicator_id,
                "csha": batch.content_sha256,
            },
        ).one()
    return int(row[0])


def finish_batch(conn: Connection, batch_id: int, end: BatchEnd) -> None:
    timings = end.timings or {}
    counts = end.counts
    loaded = None if counts.inserted is None else counts.inserted + (counts.updated or 0)
    conn.execute(
        text(
            "UPDATE audit.load_batch SET status = :status, rows_read = :read, rows_loaded = :loaded,"
            " rows_inserted = :ins, rows_updated = :upd, rows_unchanged = :unch, error_summary = :err,"
            " report_path = :report, finished_at = :t, download_s = :dl, parse_s = :ps, validate_s = :vs,"
            " load_s = :ls, held_since = :held WHERE batch_id = :id"
        ),
        {
            "status": end.status,
            "read": counts.read,
            "loaded": loaded,
            "ins": counts.inserted,
            "upd": counts.updated,
            "unch": counts.unchanged,
            "err": end.error_summary,
            "report": end.report_path,
            "t": now(),
            "dl": timings.get("download_s"),
            "ps": timings.get("parse_s"),
            "vs": timings.get("validate_s"),
            "ls": timings.get("load_s"),
            "held": end.held_since,
            "id": batch_id,
        },
    )


def record_dq(conn: Connection, batch_id: int, outcome: ValidationOutcome) -> None:
    conn.execute(
        text("DELETE FROM audit.dq_result WHERE batch_id = :b AND suite = :s"), {"b": batch_id, "s": outcome.suite}
    )
    rows = [
        {
            "batch_id": batch_id,
            "suite": outcome.suite,
            "expectation_index": o.index,
            "expectation": o.expectation,
            "column_name": o.column,
            "severity": o.severity,
            "success": o.success,
            "element_count": o.element_count,
            "unexpected_count": o.unexpected_count,
            "observed_value": None if o.observed_value is None else json.dumps(o.observed_value, default=str),
            "unexpected_examples": json.dumps(o.unexpected_examples, default=str) if o.unexpected_examples else None,
            "description": o.description,
        }
        for o in outcome.outcomes
    ]
    # One multi-row INSERT: DuckDB runs an executemany row by row (about 1 ms a row, 21 rows an indicator).
    insert_rows(conn, "audit.dq_result", rows, ["expectation_index"])


def fail_batch(engine: Engine, batch_id: int, error: str, timings: Mapping[str, float] | None = None) -> None:
    """Mark a batch failed in its own transaction (the load's own transaction has rolled back)."""
    with engine.begin() as conn:
        finish_batch(conn, batch_id, BatchEnd("failed", error_summary=error[:4000], timings=timings))


def latest_content(engine: Engine, source: str, source_ref: str) -> str | None:
    """sha256 of the content that last loaded (or was found unchanged) for this source reference."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT sha256 FROM audit.load_batch WHERE source = :s AND source_ref = :r"
                " AND status IN ('loaded', 'unchanged') AND sha256 IS NOT NULL"
                " ORDER BY batch_id DESC LIMIT 1"
            ),
            {"s": source, "r": source_ref},
        ).first()
    return None if row is None else row[0]


# Run summaries ----------------------------------------------------------------------------------


class StatusTotal(NamedTuple):
    """Batches of one source and Airflow run with one status, and the fact rows they inserted and updated."""

    status: str
    batches: int
    inserted: int
    updated: int


class ProblemBatch(NamedTuple):
    """A batch that did not load (quarantined or failed), with its error summary and report."""

    batch_id: int
    status: str
    source_ref: str
    error_summary: str | None
    report_path: str | None


def status_totals(conn: Connection, source: str, run_id: str | None) -> list[StatusTotal]:
    """Batches of ``source`` in one Airflow run (None: outside Airflow) by status, with rows inserted/updated.
    A quarantined row that only confirms an earlier quarantine (same content) counts as ``held``."""
    rows = conn.execute(
        text(
            "SELECT CASE WHEN held_since IS NULL THEN status ELSE 'held' END AS status, count(*) AS n,"
            " coalesce(sum(rows_inserted), 0) AS ins, coalesce(sum(rows_updated), 0) AS upd FROM audit.load_batch"
            " WHERE source = :s AND run_id IS NOT DISTINCT FROM :r"
            " GROUP BY CASE WHEN held_since IS NULL THEN status ELSE 'held' END"
        ),
        {"s": source, "r": run_id},
    ).all()
    return [StatusTotal(r.status, int(r.n), int(r.ins), int(r.upd)) for r in rows]


def problem_batches(conn: Connection, source: str, run_id: str | None) -> list[ProblemBatch]:
    """Batches of ``source`` in one Airflow run that were newly quarantined or failed, in batch order (an
    indicator still held in quarantine from an earlier run, its content unchanged, is not a new problem)."""
    rows = conn.execute(
        text(
            "SELECT batch_id, status, source_ref, error_summary, report_path FROM audit.load_batch"
            " WHERE source = :s AND run_id IS NOT DISTINCT FROM :r AND status IN ('quarantined', 'failed')"
            " AND held_since IS NULL ORDER BY batch_id"
        ),
        {"s": source, "r": run_id},
    ).all()
    return [ProblemBatch(r.batch_id, r.status, r.source_ref, r.error_summary, r.report_path) for r in rows]


class IndicatorState(NamedTuple):
    """Where one Fingertips unit (indicator x area type x parent, named by its own all_data URL) stands: the
    content hash now in core (None if never loaded) and, when its latest decisive attempt was a quarantine,
    that attempt (the indicator is held until its content changes)."""

    loaded_content: str | None
    held: HeldIndicator | None


class HeldIndicator(NamedTuple):
    """An indicator held in quarantine: since when, the content that was quarantined, why and the report."""

    indicator_id: int | None
    source_ref: str
    batch_id: int
    since: datetime
    content_sha256: str | None
    error_summary: str | None
    report_path: str | None


_DECISIVE = "status IN ('loaded', 'unchanged', 'quarantined') AND content_sha256 IS NOT NULL"


def _held(row: Any) -> HeldIndicator:
    return HeldIndicator(
        None if row.indicator_id is None else int(row.indicator_id),
        row.source_ref,
        int(row.batch_id),
        row.since,
        row.content_sha256,
        row.error_summary,
        row.report_path,
    )


def indicator_state(conn: Connection, source: str, source_ref: str) -> IndicatorState:
    """The content of ``source_ref`` now loaded, and whether its latest decisive attempt left it quarantined."""
    loaded = conn.execute(
        text(
            "SELECT content_sha256 FROM audit.load_batch WHERE source = :s AND source_ref = :r"
            " AND status IN ('loaded', 'unchanged') AND content_sha256 IS NOT NULL ORDER BY batch_id DESC LIMIT 1"
        ),
        {"s": source, "r": source_ref},
    ).first()
    latest = conn.execute(
        text(
            "SELECT indicator_id, source_ref, batch_id, status, coalesce(held_since, started_at) AS since,"
            " content_sha256, error_summary, report_path FROM audit.load_batch"
            f" WHERE source = :s AND source_ref = :r AND {_DECISIVE} ORDER BY batch_id DESC LIMIT 1"
        ),
        {"s": source, "r": source_ref},
    ).first()
    held = _held(latest) if latest is not None and latest.status == "quarantined" else None
    return IndicatorState(None if loaded is None else loaded[0], held)


def held_indicators(conn: Connection, source: str) -> list[HeldIndicator]:
    """Every unit of ``source`` whose latest decisive attempt was a quarantine, by indicator id."""
    rows = conn.execute(
        text(
            "SELECT indicator_id, source_ref, batch_id, since, content_sha256, error_summary, report_path FROM ("
            " SELECT indicator_id, source_ref, batch_id, status, coalesce(held_since, started_at) AS since,"
            " content_sha256, error_summary, report_path,"
            " row_number() OVER (PARTITION BY source_ref ORDER BY batch_id DESC) AS rn"
            f" FROM audit.load_batch WHERE source = :s AND indicator_id IS NOT NULL AND {_DECISIVE}) latest"
            " WHERE rn = 1 AND status = 'quarantined' ORDER BY indicator_id, source_ref"
        ),
        {"s": source},
    ).all()
    return [_held(r) for r in rows]


#: The tables whose sizes say what a run left in the warehouse.
WAREHOUSE_TOTALS = (
    "core.dim_indicator",
    "core.dim_area",
    "core.area_comparator",
    "core.dim_period",
    "core.fact_indicator_value",
    "core.fact_indicator_value_history",
    "audit.load_batch",
)
_TABLE_NAME = re.compile(r"^[a-z_]+\.[a-z_]+$")


def table_row_counts(conn: Connection, tables: Sequence[str] = WAREHOUSE_TOTALS) -> dict[str, int]:
    """Row count of each named table (``schema.table``; names are checked, never taken from input)."""
    bad = [t for t in tables if not _TABLE_NAME.match(t)]
    if bad:
        raise ValueError(f"not schema.table names: {bad}")
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}
