"""Rows in audit.load_batch and audit.dq_result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from public_health.quality.gate import ValidationOutcome


@dataclass(frozen=True)
class RunContext:
    """Who is loading: the Airflow dag, run and task ids (None outside Airflow)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def start_batch(
    engine: Engine,
    *,
    source: str,
    source_ref: str,
    sha256: str | None,
    landing_path: str | None,
    run: RunContext,
    details: dict[str, Any] | None = None,
) -> int:
    """Record a load attempt as running (committed at once, so a crash still leaves a trace)."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "INSERT INTO audit.load_batch (source, source_ref, sha256, landing_path, status, started_at,"
                " dag_id, run_id, task_id, details)"
                " VALUES (:source, :ref, :sha, :landing, 'running', :t, :dag, :run, :task, :details)"
                " RETURNING batch_id"
            ),
            {
                "source": source,
                "ref": source_ref,
                "sha": sha256,
                "landing": landing_path,
                "t": now(),
                "dag": run.dag_id,
                "run": run.run_id,
                "task": run.task_id,
                "details": json.dumps(details or {}, default=str, sort_keys=True),
            },
        ).one()
    return int(row[0])


def finish_batch(
    conn: Connection,
    batch_id: int,
    *,
    status: str,
    rows_read: int | None = None,
    rows_inserted: int | None = None,
    rows_updated: int | None = None,
    rows_unchanged: int | None = None,
    error_summary: str | None = None,
    report_path: str | None = None,
    timings: dict[str, float] | None = None,
) -> None:
    timings = timings or {}
    loaded = None if rows_inserted is None else rows_inserted + (rows_updated or 0)
    conn.execute(
        text(
            "UPDATE audit.load_batch SET status = :status, rows_read = :read, rows_loaded = :loaded,"
            " rows_inserted = :ins, rows_updated = :upd, rows_unchanged = :unch, error_summary = :err,"
            " report_path = :report, finished_at = :t, download_s = :dl, parse_s = :ps, validate_s = :vs,"
            " load_s = :ls WHERE batch_id = :id"
        ),
        {
            "status": status,
            "read": rows_read,
            "loaded": loaded,
            "ins": rows_inserted,
            "upd": rows_updated,
            "unch": rows_unchanged,
            "err": error_summary,
            "report": report_path,
            "t": now(),
            "dl": timings.get("download_s"),
            "ps": timings.get("parse_s"),
            "vs": timings.get("validate_s"),
            "ls": timings.get("load_s"),
            "id": batch_id,
        },
    )


def record_dq(conn: Connection, batch_id: int, outcome: ValidationOutcome) -> None:
    conn.execute(
        text("DELETE FROM audit.dq_result WHERE batch_id = :b AND suite = :s"), {"b": batch_id, "s": outcome.suite}
    )
    rows = [
        {
            "b": batch_id,
            "s": outcome.suite,
            "i": o.index,
            "e": o.expectation,
            "c": o.column,
            "sev": o.severity,
            "ok": o.success,
            "n": o.element_count,
            "u": o.unexpected_count,
            "obs": None if o.observed_value is None else json.dumps(o.observed_value, default=str),
            "ex": json.dumps(o.unexpected_examples, default=str) if o.unexpected_examples else None,
            "d": o.description,
        }
        for o in outcome.outcomes
    ]
    if rows:
        conn.execute(
            text(
                "INSERT INTO audit.dq_result (batch_id, suite, expectation_index, expectation, column_name, severity,"
                " success, element_count, unexpected_count, observed_value, unexpected_examples, description)"
                " VALUES (:b, :s, :i, :e, :c, :sev, :ok, :n, :u, :obs, :ex, :d)"
            ),
            rows,
        )


def fail_batch(engine: Engine, batch_id: int, error: str, **kw: Any) -> None:
    """Mark a batch failed in its own transaction (the load's own transaction has rolled back)."""
    with engine.begin() as conn:
        finish_batch(conn, batch_id, status="failed", error_summary=error[:4000], **kw)


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
