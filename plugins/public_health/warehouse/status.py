"""The queries behind the "Public health data" page of the Airflow UI (``public_health.ui``): read only.

Where each source stands: the return tracker for a quarter with the load behind each service's latest
file, the latest load of each source with its row counts, the indicators and files held in quarantine,
and the checks that failed in each source's latest load. Every row that came from an Airflow run
carries its ``dag_id`` and ``run_id`` so the page can link to the run.

The page opens the warehouse with :func:`read_only_engine` (DuckDB: a read-only connection, so it can
never write, released as soon as the page's queries are done).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine, String, bindparam, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from public_health.periods import FinancialQuarter

from .engine import make_engine

#: audit.load_batch sources, in the order the page shows them, with their names on the page.
SOURCES: dict[str, str] = {
    "fingertips": "Fingertips (PHOF indicators)",
    "provider_return": "Provider returns",
    "kpi_history_import": "KPI history",
}
#: audit.load_batch sources whose unit is a file (a return, a history spreadsheet).
FILE_SOURCES = ("provider_return", "kpi_history_import")


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: DuckDB opened ``read_only`` (no pooling, so the file is released when
    the connection closes); any other warehouse through :func:`make_engine`, every transaction read only."""
    if make_url(url).get_backend_name() == "duckdb":
        return create_engine(url, poolclass=NullPool, connect_args={"read_only": True})
    engine = make_engine(url)
    return engine.execution_options(postgresql_readonly=True)


def missing_duckdb_file(url: str) -> Path | None:
    """The DuckDB file the URL names when it does not exist (read only, DuckDB will not create it); else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "duckdb" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


# The return tracker -------------------------------------------------------------------------------


class TrackedReturn(NamedTuple):
    """One service's return for a quarter (mart.return_status) and the Airflow run that read its latest file."""

    service_code: str
    service_name: str | None
    provider_name: str | None
    status: str
    due_date: date | None
    received_at: datetime | None
    files_received: int
    file_path: str | None
    error_summary: str | None
    batch_id: int | None
    report_path: str | None
    dag_id: str | None
    run_id: str | None


_EXPECTED_QUARTERS = text("SELECT DISTINCT period_label FROM core.return_expected")


def expected_quarters(conn: Connection) -> list[FinancialQuarter]:
    """Every quarter the return tracker expects returns for (core.return_expected), oldest first."""
    return sorted(FinancialQuarter.parse(r[0]) for r in conn.execute(_EXPECTED_QUARTERS))


# The batch of a service's latest file is the one mart.return_status ranks first (latest modification
# time, then highest batch) among the files that were not 'unchanged'.
_TRACKED_RETURNS = text(
    "SELECT s.service_code, s.service_name, s.provider_name, s.status, s.due_date, s.received_at,"
    " s.files_received, s.file_path, s.error_summary, b.batch_id, s.report_path, b.dag_id, b.run_id"
    " FROM mart.return_status s"
    " LEFT JOIN audit.load_batch b ON b.batch_id = ("
    "   SELECT r.batch_id FROM core.return_received r WHERE r.service_code = s.service_code"
    "   AND r.period_label = s.period_label AND r.status <> 'unchanged'"
    "   ORDER BY r.file_modified_at DESC, r.batch_id DESC LIMIT 1)"
    " WHERE s.period_label = :quarter ORDER BY s.service_code"
)


def tracked_returns(conn: Connection, quarter: FinancialQuarter) -> list[TrackedReturn]:
    """The return tracker for one quarter, by service, each with the load of its latest file (if any)."""
    rows = conn.execute(_TRACKED_RETURNS, {"quarter": quarter.label})
    return [
        TrackedReturn(
            r.service_code, r.service_name, r.provider_name, r.status, r.due_date, r.received_at,
            int(r.files_received or 0), r.file_path, r.error_summary,
            None if r.batch_id is None else int(r.batch_id), r.report_path, r.dag_id, r.run_id,
        )
        for r in rows
    ]


# The latest load of each source --------------------------------------------------------------------

# A source's latest load is the Airflow run of its newest batch (every batch of that run), or that batch
# alone when it was loaded outside Airflow (no run id).
_LATEST_RUN = (
    "latest AS (SELECT source, max(batch_id) AS batch_id FROM audit.load_batch WHERE source IN :sources"
    " GROUP BY source),"
    " picked AS (SELECT b.source, b.batch_id, b.dag_id, b.run_id FROM audit.load_batch b"
    " JOIN latest l ON l.batch_id = b.batch_id),"
    " run_batches AS (SELECT b.* FROM picked p"
    " JOIN audit.load_batch b ON b.source = p.source"
    " AND (b.batch_id = p.batch_id OR (p.run_id IS NOT NULL AND b.run_id = p.run_id)))"
)


class SourceLoad(NamedTuple):
    """The latest load of one source: its run, its batches by outcome and the rows they read and changed."""

    source: str
    dag_id: str | None
    run_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    batches: int
    loaded: int
    unchanged: int
    held: int
    quarantined: int
    failed: int
    running: int
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int


_LATEST_LOADS = text(
    "WITH " + _LATEST_RUN + " SELECT source, max(dag_id) AS dag_id, max(run_id) AS run_id,"
    " min(started_at) AS started_at, max(finished_at) AS finished_at, count(*) AS batches,"
    " sum(CASE WHEN status = 'loaded' THEN 1 ELSE 0 END) AS loaded,"
    " sum(CASE WHEN status = 'unchanged' THEN 1 ELSE 0 END) AS unchanged,"
    " sum(CASE WHEN status = 'quarantined' AND held_since IS NOT NULL THEN 1 ELSE 0 END) AS held,"
    " sum(CASE WHEN status = 'quarantined' AND held_since IS NULL THEN 1 ELSE 0 END) AS quarantined,"
    " sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,"
    " sum(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,"
    " coalesce(sum(rows_read), 0) AS rows_read, coalesce(sum(rows_inserted), 0) AS rows_inserted,"
    " coalesce(sum(rows_updated), 0) AS rows_updated, coalesce(sum(rows_unchanged), 0) AS rows_unchanged"
    " FROM run_batches GROUP BY source"
).bindparams(bindparam("sources", expanding=True, type_=String))


def latest_loads(conn: Connection, sources: Sequence[str] = tuple(SOURCES)) -> dict[str, SourceLoad]:
    """Each source's latest load (see above), keyed by source; a source never loaded is left out."""
    out = {}
    for r in conn.execute(_LATEST_LOADS, {"sources": list(sources)}):
        counts = [int(getattr(r, c)) for c in SourceLoad._fields[5:]]
        out[r.source] = SourceLoad(r.source, r.dag_id, r.run_id, r.started_at, r.finished_at, *counts)
    return out


# Quarantine ---------------------------------------------------------------------------------------


class HeldIndicator(NamedTuple):
    """A Fingertips indicator whose latest decisive attempt was a quarantine: held until its content changes."""

    indicator_id: int
    indicator_name: str | None
    source_ref: str
    since: datetime
    batch_id: int
    error_summary: str | None
    report_path: str | None
    dag_id: str | None
    run_id: str | None


# As audit.held_indicators: the latest attempt of each unit that loaded, was unchanged or was quarantined.
_HELD_INDICATORS = text(
    "SELECT h.indicator_id, i.name AS indicator_name, h.source_ref, h.since, h.batch_id, h.error_summary,"
    " h.report_path, h.dag_id, h.run_id FROM ("
    " SELECT indicator_id, source_ref, batch_id, status, coalesce(held_since, started_at) AS since, error_summary,"
    " report_path, dag_id, run_id, row_number() OVER (PARTITION BY source_ref ORDER BY batch_id DESC) AS rn"
    " FROM audit.load_batch WHERE source = 'fingertips' AND indicator_id IS NOT NULL"
    " AND status IN ('loaded', 'unchanged', 'quarantined') AND content_sha256 IS NOT NULL) h"
    " LEFT JOIN core.dim_indicator i ON i.indicator_id = h.indicator_id"
    " WHERE h.rn = 1 AND h.status = 'quarantined' ORDER BY h.indicator_id, h.source_ref"
)


def held_indicators(conn: Connection) -> list[HeldIndicator]:
    """Fingertips indicators held in quarantine, by indicator id, with the run that last found them held."""
    return [
        HeldIndicator(int(r.indicator_id), r.indicator_name, r.source_ref, r.since, int(r.batch_id), r.error_summary,
                      r.report_path, r.dag_id, r.run_id)
        for r in conn.execute(_HELD_INDICATORS)
    ]


class QuarantinedFile(NamedTuple):
    """A provider return or KPI history file stopped by its checks, and whether a later file for the same
    service and quarter has loaded since (``superseded``; never for a history file)."""

    batch_id: int
    source: str
    file_path: str
    service_code: str | None
    period_label: str | None
    quarantined_at: datetime
    error_summary: str | None
    report_path: str | None
    superseded: bool
    dag_id: str | None
    run_id: str | None


_QUARANTINED_FILES = text(
    "SELECT b.batch_id, b.source, b.source_ref, r.service_code, r.period_label, b.started_at, b.error_summary,"
    " b.report_path, b.dag_id, b.run_id,"
    " CASE WHEN r.batch_id IS NOT NULL AND EXISTS (SELECT 1 FROM core.return_received n"
    "   WHERE n.service_code = r.service_code AND n.period_label = r.period_label"
    "   AND n.status IN ('loaded', 'loaded_with_warnings', 'superseded')"
    "   AND (n.file_modified_at > r.file_modified_at"
    "        OR (n.file_modified_at = r.file_modified_at AND n.batch_id > r.batch_id)))"
    " THEN 1 ELSE 0 END AS superseded"
    " FROM audit.load_batch b LEFT JOIN core.return_received r ON r.batch_id = b.batch_id"
    " WHERE b.source IN :sources AND b.status = 'quarantined'"
    " ORDER BY b.batch_id DESC LIMIT :limit"
).bindparams(bindparam("sources", expanding=True, type_=String))


def quarantined_files(conn: Connection, limit: int = 100) -> list[QuarantinedFile]:
    """The most recent ``limit`` quarantined files (provider returns and KPI history), newest first."""
    rows = conn.execute(_QUARANTINED_FILES, {"sources": list(FILE_SOURCES), "limit": int(limit)})
    return [
        QuarantinedFile(int(r.batch_id), r.source, r.source_ref, r.service_code, r.period_label, r.started_at,
                        r.error_summary, r.report_path, bool(r.superseded), r.dag_id, r.run_id)
        for r in rows
    ]


_REPORT_PATH = text("SELECT report_path FROM audit.load_batch WHERE batch_id = :b")


def quarantine_report_path(conn: Connection, batch_id: int) -> str | None:
    """The quarantine report audit.load_batch names for a batch (None: no such batch, or no report)."""
    row = conn.execute(_REPORT_PATH, {"b": int(batch_id)}).first()
    return None if row is None else row[0]


# Data quality -------------------------------------------------------------------------------------


class FailedExpectation(NamedTuple):
    """A check that failed on a batch of a source's latest load (audit.dq_result)."""

    source: str
    batch_id: int
    source_ref: str
    indicator_id: int | None
    suite: str
    expectation: str
    column_name: str | None
    severity: str
    unexpected_count: int | None
    description: str | None
    dag_id: str | None
    run_id: str | None


class CheckTotals(NamedTuple):
    """Checks evaluated on one source's latest load: how many passed and failed, by severity."""

    source: str
    passed: int
    failed_errors: int
    failed_warnings: int


_CHECK_TOTALS = text(
    "WITH " + _LATEST_RUN + " SELECT b.source,"
    " sum(CASE WHEN d.success THEN 1 ELSE 0 END) AS passed,"
    " sum(CASE WHEN NOT d.success AND d.severity = 'error' THEN 1 ELSE 0 END) AS failed_errors,"
    " sum(CASE WHEN NOT d.success AND d.severity = 'warning' THEN 1 ELSE 0 END) AS failed_warnings"
    " FROM run_batches b JOIN audit.dq_result d ON d.batch_id = b.batch_id GROUP BY b.source"
).bindparams(bindparam("sources", expanding=True, type_=String))

_FAILED_EXPECTATIONS = text(
    "WITH " + _LATEST_RUN + ", failed AS (SELECT b.source, b.batch_id, b.source_ref, b.indicator_id, d.suite,"
    " d.expectation, d.expectation_index, d.column_name, d.severity, d.unexpected_count, d.description, b.dag_id,"
    " b.run_id, row_number() OVER (PARTITION BY b.source ORDER BY CASE WHEN d.severity = 'error' THEN 0 ELSE 1 END,"
    " b.batch_id, d.expectation_index) AS n"
    " FROM run_batches b JOIN audit.dq_result d ON d.batch_id = b.batch_id WHERE NOT d.success)"
    " SELECT * FROM failed WHERE n <= :limit ORDER BY source, n"
).bindparams(bindparam("sources", expanding=True, type_=String))


def check_totals(conn: Connection, sources: Sequence[str] = tuple(SOURCES)) -> dict[str, CheckTotals]:
    """Checks evaluated on each source's latest load, passed and failed; a source with none is left out."""
    rows = conn.execute(_CHECK_TOTALS, {"sources": list(sources)})
    return {r.source: CheckTotals(r.source, int(r.passed), int(r.failed_errors), int(r.failed_warnings)) for r in rows}


def failed_expectations(
    conn: Connection, sources: Sequence[str] = tuple(SOURCES), limit: int = 200
) -> list[FailedExpectation]:
    """The checks that failed in each source's latest load (errors first), at most ``limit`` for each source."""
    rows = conn.execute(_FAILED_EXPECTATIONS, {"sources": list(sources), "limit": int(limit)})
    return [
        FailedExpectation(r.source, int(r.batch_id), r.source_ref,
                          None if r.indicator_id is None else int(r.indicator_id), r.suite, r.expectation,
                          r.column_name, r.severity, None if r.unexpected_count is None else int(r.unexpected_count),
                          r.description, r.dag_id, r.run_id)
        for r in rows
    ]
