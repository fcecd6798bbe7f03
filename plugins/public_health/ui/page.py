"""The page's figures, gathered in one short read-only visit to the warehouse, and the page's HTML.

:func:`gather` opens the warehouse read only (``warehouse.status.read_only_engine``), runs the page's
queries on one connection and closes it before anything is rendered, so a DuckDB file is held for as
little time as possible (a load that wants to write waits for no page). :func:`render` turns the result
into HTML with the templates beside this module; times are shown in the schedules' time zone.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import DBAPIError

from public_health.config import Settings
from public_health.periods import FinancialQuarter
from public_health.warehouse import status
from public_health.warehouse.engine import redacted

TEMPLATES = Path(__file__).parent / "templates"

#: mart.return_status statuses in the order the page counts them, with the words it uses.
RETURN_STATUSES: dict[str, str] = {
    "received_valid": "received",
    "received_with_warnings": "received with warnings",
    "late": "late",
    "quarantined": "quarantined",
    "missing": "missing",
    "not_yet_due": "not yet due",
}
#: How long a page waits for a DuckDB file another process is writing before it says the warehouse is busy.
BUSY_WAIT_S = 3.0


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read now: no file yet, not migrated, busy, or unreachable (says which)."""


@dataclass(frozen=True)
class QuarterReturns:
    """The return tracker for one quarter: a row per service, and how many services have each status."""

    quarter: FinancialQuarter
    rows: tuple[status.TrackedReturn, ...]
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SourceSection:
    """One source's latest load (None: never loaded) and the checks run on it (None: none recorded)."""

    source: str
    name: str
    load: status.SourceLoad | None
    checks: status.CheckTotals | None


@dataclass(frozen=True)
class StatusPage:
    """Everything the page shows."""

    warehouse: str
    quarters: tuple[QuarterReturns, ...]          # the tracker's current quarter, then the one before
    expected: tuple[FinancialQuarter, ...]        # every quarter the tracker expects returns for
    sources: tuple[SourceSection, ...]
    held: tuple[status.HeldIndicator, ...]
    quarantined: tuple[status.QuarantinedFile, ...]
    failed_checks: tuple[status.FailedExpectation, ...]
    chosen: bool = False                          # the first quarter was asked for, not the tracker's current


def _counts(rows: list[status.TrackedReturn]) -> tuple[tuple[str, int], ...]:
    seen = Counter(r.status for r in rows)
    known = [(s, seen[s]) for s in RETURN_STATUSES if seen[s]]
    return tuple(known + sorted((s, n) for s, n in seen.items() if s not in RETURN_STATUSES))


def _read(conn: Any, quarter: FinancialQuarter | None, url: str) -> StatusPage:
    expected = status.expected_quarters(conn)
    # The tracker's current quarter is the latest it expects returns for (the provider returns DAG sets it
    # from returns.track_until or the last quarter ended before its run); a quarter asked for replaces it.
    current = quarter or (expected[-1] if expected else None)
    quarters = () if current is None else tuple(
        QuarterReturns(q, tuple(rows), _counts(rows))
        for q in (current, current.previous())
        for rows in [status.tracked_returns(conn, q)]
    )
    loads = status.latest_loads(conn)
    checks = status.check_totals(conn)
    return StatusPage(
        warehouse=redacted(url),
        quarters=quarters,
        expected=tuple(expected),
        sources=tuple(SourceSection(s, name, loads.get(s), checks.get(s)) for s, name in status.SOURCES.items()),
        held=tuple(status.held_indicators(conn)),
        quarantined=tuple(status.quarantined_files(conn)),
        failed_checks=tuple(status.failed_expectations(conn)),
        chosen=quarter is not None,
    )


def _visit(url: str, work: Callable[[Any], Any]) -> Any:
    """Run ``work`` on one read-only connection, closed (and the engine disposed) before returning. A DuckDB
    file another process is writing is tried again for up to BUSY_WAIT_S; then WarehouseUnavailable."""
    missing = status.missing_duckdb_file(url)
    if missing is not None:
        raise WarehouseUnavailable(f"there is no warehouse at {missing} yet: `make init` creates it, `make demo` "
                                   "fills it")
    deadline = time.monotonic() + BUSY_WAIT_S
    while True:
        engine = status.read_only_engine(url)
        try:
            with engine.connect() as conn:
                return work(conn)
        except DBAPIError as exc:
            message = str(exc.orig)
            if "lock" in message.lower() and time.monotonic() < deadline:
                time.sleep(0.25)
                continue
            if "lock" in message.lower():
                raise WarehouseUnavailable("the warehouse is busy: a load is writing to it. Reload in a moment."
                                           ) from exc
            if "does not exist" in message.lower():
                raise WarehouseUnavailable(f"the warehouse at {redacted(url)} has no tables yet: run `make init` "
                                           f"(or any DAG) to create them ({message.splitlines()[0]})") from exc
            raise WarehouseUnavailable(f"cannot read the warehouse at {redacted(url)}: {message.splitlines()[0]}"
                                       ) from exc
        finally:
            engine.dispose()


def gather(settings: Settings, quarter: FinancialQuarter | None = None) -> StatusPage:
    """The page's figures (``quarter``: the tracker's quarter to show instead of its current one)."""
    url = settings.warehouse_url
    return _visit(url, lambda conn: _read(conn, quarter, url))


def report_file(settings: Settings, batch_id: int) -> Path | None:
    """The quarantine report of a load batch, when audit.load_batch names one that is a file under the
    quarantine folder (a path anywhere else is never served)."""
    path_text = _visit(settings.warehouse_url, lambda conn: status.quarantine_report_path(conn, batch_id))
    if not path_text:
        return None
    path = Path(path_text).resolve()
    root = settings.quarantine_dir.resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


# HTML ---------------------------------------------------------------------------------------------


def run_href(dag_id: str | None, run_id: str | None) -> str | None:
    """The Airflow UI page of a DAG run, relative to this page (served at ``<plugin prefix>/``)."""
    if not dag_id or not run_id:
        return None
    return f"../dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _environment(zone: ZoneInfo) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def when(value: datetime | None) -> str:
        if value is None:
            return "–"
        if value.tzinfo is None:          # stored as UTC without a zone
            value = value.replace(tzinfo=ZoneInfo("UTC"))
        return value.astimezone(zone).strftime("%d %b %Y %H:%M %Z")

    env.filters["when"] = when
    env.filters["count"] = lambda n: "–" if n is None else f"{n:,}"
    env.globals["run_href"] = run_href
    env.globals["status_words"] = RETURN_STATUSES
    env.globals["source_names"] = status.SOURCES
    return env


def render(page: StatusPage, settings: Settings, shown_at: datetime) -> str:
    """The page as HTML (``shown_at``: when it was read, for its footer)."""
    zone = ZoneInfo(settings.schedules.timezone)
    return _environment(zone).get_template("status.html").render(page=page, shown_at=shown_at, zone=zone.key)


def render_problem(message: str, settings: Settings) -> str:
    """A page that says why the warehouse cannot be shown."""
    zone = ZoneInfo(settings.schedules.timezone)
    return _environment(zone).get_template("problem.html").render(message=message)
