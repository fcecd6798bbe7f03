"""KPI history imports: years of KPI figures from a team's spreadsheet, loaded like a provider return.

import_history: land (copy + sha256 to ``data/landing/history/<sha16>/``) -> audit.load_batch (source
``kpi_history_import``) -> read (:func:`returns.history.read_history`) -> stage
(:func:`returns.history.stage_history`) -> the provider returns' gate (``provider_kpi_values``) -> load in one
transaction (:func:`warehouse.history.load_history`), or quarantine the whole file with a report naming
each line. Importing the same file again changes nothing and is recorded ``unchanged``; a changed file
updates only the figures that changed, the earlier ones kept in core.fact_kpi_value_history.

Run it from the DAG ``kpi_history_import`` or the command line::

    python -m public_health.pipelines.history_import FILE [--as-of 2017-18-Q2]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from public_health.config import Settings, config_dir
from public_health.periods import FinancialQuarter, PeriodParseError
from public_health.warehouse import audit
from public_health.warehouse.audit import BatchCounts, BatchEnd, BatchSource, RunContext

log = logging.getLogger(__name__)

SOURCE = "kpi_history_import"
SUITE = "provider_kpi_values"
LANDING = "history"


class HistoryImportError(RuntimeError):
    """A history file that cannot be imported at all (missing, not a file). ``permanent``: a retry cannot help."""

    permanent = True


@dataclass(frozen=True)
class HistoryImportResult:
    """What became of one history import: ``status`` loaded, unchanged or quarantined (an import that failed
    raises, its audit row marked ``failed``), the load batch, the file's sha256, the ``as_of`` quarter it was
    checked against, row counts, warnings and notes, and for a quarantine the error and the report."""

    file: str
    status: str
    batch_id: int
    as_of: FinancialQuarter
    sha256: str | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: tuple[str, ...] = ()
    error: str | None = None
    report: str | None = None

    @property
    def loaded(self) -> bool:
        return self.status in ("loaded", "unchanged")

    def summary(self) -> str:
        """One line for people: what was loaded, or why nothing was and where the report is."""
        if self.status == "quarantined":
            return f"{self.file} quarantined: {self.error} (report: {self.report})"
        return (f"{self.file} {self.status} as of {self.as_of.label}: {self.rows_read} figures read, "
                f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
                + (f", {len(self.warnings)} warning(s)" if self.warnings else ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "status": self.status, "batch_id": self.batch_id, "as_of": self.as_of.label,
            "sha256": self.sha256, "rows_read": self.rows_read, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "warnings": list(self.warnings), "error": self.error, "report": self.report,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryImportResult:
        return cls(
            file=data["file"], status=data["status"], batch_id=int(data["batch_id"]),
            as_of=FinancialQuarter.parse(data["as_of"]), sha256=data.get("sha256"),
            rows_read=int(data.get("rows_read") or 0), inserted=int(data.get("inserted") or 0),
            updated=int(data.get("updated") or 0), unchanged=int(data.get("unchanged") or 0),
            warnings=tuple(data.get("warnings") or ()), error=data.get("error"), report=data.get("report"),
        )


@dataclass(frozen=True)
class _Batch:
    """The import under way: the file as named, its landing copy, sha256, audit batch and as-of quarter."""

    path: Path
    landing_path: Path
    sha256: str
    batch_id: int
    as_of: FinancialQuarter


def _services() -> dict[str, Any]:
    from public_health.returns.services import load_services

    return load_services(config_dir())


def _land(path: Path, landing_root: Path) -> tuple[Path, str]:
    """Copy the file to ``landing_root/<sha16>/<name>``; (landing path, sha256). Raises when it changed while
    being copied (still being written)."""
    from public_health.returns.discovery import Candidate, land

    st = path.stat()
    landed = land(Candidate(path, path.name, st.st_size, st.st_mtime), landing_root)
    if landed is None:
        raise HistoryImportError(f"{path} changed while it was being copied: import it once it is saved")
    return landed


def import_history(
    settings: Settings,
    engine: Engine,
    path: Path,
    as_of: FinancialQuarter,
    run: RunContext | None = None,
) -> HistoryImportResult:
    """Import one KPI history file (CSV or XLSX) checked as of the quarter ``as_of`` (no figure but a target
    may be for a later period). Loaded in one transaction, or quarantined whole; recorded in audit.load_batch.
    Raises HistoryImportError for a file that does not exist (recorded ``failed``); any other unexpected error
    is recorded ``failed`` and raised."""
    run = run or RunContext()
    path = Path(path)
    if not path.is_file():
        batch_id = audit.start_batch(engine, BatchSource(SOURCE, str(path), details={"as_of": as_of.label}), run)
        message = f"{path}: no such file (give the path of a .csv or .xlsx KPI history file)"
        audit.fail_batch(engine, batch_id, message)
        raise HistoryImportError(message)
    landing_path, sha = _land(path, settings.landing_dir / LANDING)
    batch_id = audit.start_batch(
        engine,
        BatchSource(SOURCE, str(path), sha, str(landing_path),
                    {"as_of": as_of.label, "size_bytes": landing_path.stat().st_size}),
        run,
    )
    batch = _Batch(path, landing_path, sha, batch_id, as_of)
    try:
        return _check_and_load(settings, engine, batch)
    except Exception as exc:
        audit.fail_batch(engine, batch_id, f"{path.name}: {type(exc).__name__}: {exc}")
        raise


def _quarantine(settings: Settings, engine: Engine, batch: _Batch, problem: Any) -> HistoryImportResult:
    """Quarantine the whole file: ``problem`` is the reader's error text or the gate's ValidationOutcome."""
    from public_health.quality.quarantine import QuarantineSource, quarantine

    outcome = None if isinstance(problem, str) else problem
    error = problem if isinstance(problem, str) else None
    report = quarantine(
        batch.landing_path, settings.quarantine_dir,
        QuarantineSource(SOURCE, str(batch.path), batch.sha256, batch.batch_id,
                         default_fix="Correct the line(s) named in the history file and import it again."),
        outcome=outcome, error=error, extra={"as_of": batch.as_of.label},
    )
    summary = error or _gate_summary(outcome)
    with engine.begin() as conn:
        if outcome is not None:
            audit.record_dq(conn, batch.batch_id, outcome)
        audit.finish_batch(conn, batch.batch_id, BatchEnd(
            "quarantined", BatchCounts(read=outcome.rows if outcome else None),
            error_summary=summary[:4000], report_path=str(report),
        ))
    log.error("%s quarantined: %s (report: %s)", batch.path.name, summary, report)
    return HistoryImportResult(batch.path.name, "quarantined", batch.batch_id, batch.as_of, batch.sha256,
                               rows_read=outcome.rows if outcome else 0, error=summary, report=str(report))


def _gate_summary(outcome: Any) -> str:
    """The failed checks with their first failing places (``line 7``, ``history!E7``)."""
    parts = []
    for o in outcome.errors:
        places = [str(ex.get("at")) for ex in o.unexpected_examples[:5] if ex.get("at")]
        more = (o.unexpected_count or 0) - len(places)
        where = f" at {', '.join(places)}" + (f" and {more} more" if more > 0 else "") if places else ""
        parts.append(f"{o.description}{where}")
    return "; ".join(parts) or outcome.summary()


def _check_and_load(settings: Settings, engine: Engine, batch: _Batch) -> HistoryImportResult:
    from public_health.quality.gate import validate_frame
    from public_health.returns.history import ReturnParseError, read_history, stage_history
    from public_health.returns.staging import gate_parameters
    from public_health.warehouse.history import figures_held, load_history

    services = _services()
    try:
        history = read_history(batch.landing_path, services)
    except ReturnParseError as exc:
        return _quarantine(settings, engine, batch, str(exc))

    labels = {r.period_label for r in history.records}
    labels |= {r.period.previous().label for r in history.records if isinstance(r.period, FinancialQuarter)}
    with engine.connect() as conn:
        held = figures_held(conn, history.service_codes, labels)
    staged = stage_history(history, services, batch.as_of, held)
    outcome = validate_frame(
        SUITE, staged,
        gate_parameters(services, settings.returns.percent_tolerance_points, settings.returns.change_warning_pct),
        row_label="at",
    )
    if not outcome.passed:
        return _quarantine(settings, engine, batch, outcome)

    rows = len(staged)
    with engine.begin() as conn:
        audit.record_dq(conn, batch.batch_id, outcome)
        inserted, updated = load_history(conn, batch.batch_id, staged, batch.path.name)
        status = "loaded" if inserted or updated else "unchanged"
        audit.finish_batch(conn, batch.batch_id, BatchEnd(
            status, BatchCounts(read=rows, inserted=inserted, updated=updated, unchanged=rows - inserted - updated),
            error_summary=outcome.summary() if outcome.warnings else None,
        ))
    warnings = tuple(w.description for w in outcome.warnings) + history.notes
    result = HistoryImportResult(batch.path.name, status, batch.batch_id, batch.as_of, batch.sha256, rows_read=rows,
                                 inserted=inserted, updated=updated, unchanged=rows - inserted - updated,
                                 warnings=warnings)
    log.info("%s", result.summary())
    return result


# command line -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m public_health.pipelines.history_import",
        description="Import a KPI history file (CSV or XLSX: service, kpi, period, measure, value, note) into the "
                    "warehouse, through the provider returns' checks; a file that fails is quarantined whole.",
    )
    parser.add_argument("file", type=Path, help="the history file (.csv in UTF-8, or .xlsx)")
    parser.add_argument("--as-of", dest="as_of", default="",
                        help="the quarter the history runs to, e.g. 2017-18-Q2: no figure but a target may be "
                             "for a later period (default: the last quarter that has ended)")
    return parser


def main(argv: Sequence[str] | None = None, *, today: date | None = None) -> int:
    """``import-history FILE [--as-of QUARTER]``: prints what was loaded, or the quarantine report; 1 on
    quarantine (or a file that cannot be imported), 2 on a bad argument. Without ``--as-of`` the history runs
    to the last quarter that ended before ``today`` (the command line is a boundary like a DAG: when the
    caller gives no ``today`` it is the date in the schedules' time zone)."""
    from public_health.config import load_settings
    from public_health.pipelines.provider_returns import sync_config
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    args = _parser().parse_args(argv)
    settings = load_settings()
    try:
        as_of = FinancialQuarter.parse(args.as_of) if args.as_of else FinancialQuarter.last_ended(
            today or datetime.now(ZoneInfo(settings.schedules.timezone)).date())
    except PeriodParseError as exc:
        print(f"--as-of: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.warehouse_url)
    try:
        migrate(engine)
        # Services and KPIs as configured (the marts join them); returns expected up to as_of.
        sync_config(settings, engine, as_of.next().start)
        result = import_history(settings, engine, args.file.resolve(), as_of, RunContext())
    except HistoryImportError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(result.summary())
    for warning in result.warnings:
        print(f"  warning: {warning}")
    return 1 if result.status == "quarantined" else 0


if __name__ == "__main__":  # pragma: no cover - the command line
    raise SystemExit(main())
