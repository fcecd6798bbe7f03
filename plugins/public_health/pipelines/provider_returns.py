"""Provider quarterly returns from the shared drive, step by step.

sync_config -> scan -> process_file (per new file) -> summary

A file is taken once per (path, modification time): a no-op run reads nothing. Each file is copied to
the landing area (sha256), parsed, staged, checked, and then loaded in one transaction or quarantined
with a report naming sheet, cell, value, rule and fix. A corrected file (new content) is processed
afresh; a resubmission for a service and quarter already loaded supersedes the earlier figures,
which go to history.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from public_health.config import Settings, config_dir
from public_health.periods import FinancialQuarter, PeriodParseError
from public_health.pipelines.records import ReturnOutcome, ScanResult
from public_health.returns.discovery import Candidate
from public_health.warehouse import audit
from public_health.warehouse.audit import NO_ROWS, BatchCounts, BatchEnd, BatchSource, RunContext

if TYPE_CHECKING:   # warehouse.returns brings pandas: imported where it is used
    from public_health.warehouse.returns import Received

log = logging.getLogger(__name__)

SOURCE = "provider_return"
SUITE = "provider_kpi_values"


def _services() -> dict[str, Any]:
    from public_health.returns.services import load_services

    return load_services(config_dir())


def track_until(settings: Settings, today: date) -> FinancialQuarter:
    """The last quarter returns are expected for: ``returns.track_until``, or else the last quarter that ended
    before ``today`` (the DAG passes its run's date; nothing here reads the clock)."""
    return settings.returns.track_until or FinancialQuarter.last_ended(today)


def sync_config(settings: Settings, engine: Engine, today: date) -> dict[str, int]:
    """Providers, services, KPIs and expected returns from config/services, in one transaction. Returns are
    expected up to :func:`track_until` ``today``."""
    from public_health.warehouse.returns import sync_services

    services = _services()
    with engine.begin() as conn:
        summary = sync_services(conn, services, settings.returns.track_from, track_until(settings, today))
    log.info("services synced: %s", summary)
    return summary


def write_templates(settings: Settings, quarter: FinancialQuarter, *, overwrite: bool = False) -> list[Path]:
    """Blank return workbooks for every reportable service for ``quarter``, under
    ``output/templates/<quarter>/``. Existing files are kept unless ``overwrite``."""
    from public_health.returns.template import template_filename, write_template

    folder = settings.output_dir / "templates" / quarter.label
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for service in _services().values():
        if service.redacted:
            continue
        path = folder / template_filename(service.code, quarter)
        if path.exists() and not overwrite:
            continue
        write_template(service, quarter, path)
        written.append(path)
    log.info("%d return template(s) written to %s", len(written), folder)
    return written


def scan(settings: Settings, engine: Engine, now: float | None = None) -> ScanResult:
    """New or changed files on the shared drive that are ready to read."""
    from public_health.returns.discovery import discover
    from public_health.warehouse.returns import taken_files

    found = discover(settings.shared_drive, settings.returns.settle_seconds, now=now)
    with engine.connect() as conn:
        seen = {(r.file_path, r.file_modified_at.timestamp()) for r in taken_files(conn)}
    taken = {(p, round(m, 6)) for p, m in seen}
    new = [c for c in found.ready if (c.relative, round(c.mtime, 6)) not in taken]
    for rel, why in found.ignored:
        log.info("ignored %s: %s", rel, why)
    for c in found.settling:
        log.info("not yet: %s is still changing (modified %.0fs ago; settle time %ss)", c.relative,
                 time.time() - c.mtime, settings.returns.settle_seconds)
    result = ScanResult(
        new=tuple(new),
        settling=tuple(c.relative for c in found.settling),
        ignored=tuple(found.ignored),
        already_seen=len(found.ready) - len(new),
    )
    log.info("%d new file(s), %d still settling, %d ignored, %d already taken", len(new), len(found.settling),
             len(found.ignored), result.already_seen)
    return result


def process_files(
    settings: Settings, engine: Engine, candidates: list[Candidate], run: RunContext
) -> list[ReturnOutcome]:
    """Process files oldest first. One file's unexpected error is recorded and does not stop the rest."""
    results = []
    services = _services() if candidates else {}   # read and validated once per run, not once per file
    for candidate in sorted(candidates, key=lambda c: (c.mtime, c.relative)):
        try:
            results.append(process_file(settings, engine, candidate, run, services=services))
        except Exception as exc:  # recorded in audit by process_file; the next file still gets its turn
            log.exception("%s failed", candidate.relative)
            results.append(ReturnOutcome(candidate.relative, "failed", error=str(exc)))
    return results


def process_file(
    settings: Settings, engine: Engine, candidate: Candidate, run: RunContext,
    *, services: dict[str, Any] | None = None,
) -> ReturnOutcome:
    """Land, parse, check and load (or quarantine) one return file."""
    from public_health.returns.discovery import land
    from public_health.warehouse.returns import Received, ReceivedAs, record_received, return_with_content

    c = candidate
    landed = land(c, settings.landing_dir / "returns")
    if landed is None:
        return ReturnOutcome(c.relative, "unsettled")
    landing_path, sha = landed
    modified = datetime.fromtimestamp(c.mtime, UTC)
    batch_id = audit.start_batch(
        engine, BatchSource(SOURCE, c.relative, sha, str(landing_path), {"size_bytes": c.size}), run
    )
    received = Received(batch_id, c.relative, modified, sha, str(landing_path))

    with engine.connect() as conn:
        before = return_with_content(conn, sha)
    if before is not None:
        with engine.begin() as conn:
            record_received(conn, received, ReceivedAs("unchanged", before.service_code, before.period))
            audit.finish_batch(conn, batch_id, BatchEnd("unchanged", NO_ROWS))
        log.info("%s: same content as a return already loaded: unchanged", c.relative)
        return ReturnOutcome(c.relative, "unchanged", batch_id, sha, before.service_code, before.period)

    try:
        return _check_and_load(settings, engine, c, received, services if services is not None else _services())
    except Exception as exc:
        audit.fail_batch(engine, batch_id, f"{c.relative}: {type(exc).__name__}: {exc}")
        raise


def _check_and_load(
    settings: Settings, engine: Engine, c: Candidate, received: Received, services: dict[str, Any]
) -> ReturnOutcome:
    from public_health.quality.gate import validate_frame
    from public_health.quality.quarantine import QuarantineSource, quarantine
    from public_health.returns.parse import ReturnParseError, parse_return
    from public_health.returns.staging import gate_parameters, stage_return
    from public_health.warehouse.returns import (
        ReceivedAs,
        load_return,
        newer_loaded_file,
        previous_figures,
        record_received,
    )

    landing_path, batch_id, sha = Path(received.landing_path), received.batch_id, received.sha256

    def send_to_quarantine(service_code: str | None, period: FinancialQuarter | None, error: str | None,
                           outcome: Any = None) -> ReturnOutcome:
        report = quarantine(landing_path, settings.quarantine_dir,
                            QuarantineSource(SOURCE, c.relative, sha, batch_id), outcome=outcome, error=error,
                            extra={"service_code": service_code, "period": period.label if period else None})
        summary = error or outcome.summary()
        with engine.begin() as conn:
            if outcome is not None:
                audit.record_dq(conn, batch_id, outcome)
            record_received(conn, received, ReceivedAs(
                "quarantined", service_code, period,
                error_count=len(outcome.errors) if outcome else 1,
                warning_count=len(outcome.warnings) if outcome else 0,
                error_summary=summary[:4000], report_path=str(report),
            ))
            audit.finish_batch(conn, batch_id, BatchEnd(
                "quarantined", BatchCounts(read=outcome.rows if outcome else None),
                error_summary=summary[:4000], report_path=str(report),
            ))
        log.error("%s quarantined: %s (report: %s)", c.relative, summary, report)
        return ReturnOutcome(c.relative, "quarantined", batch_id, sha, service_code, period, error=summary,
                             report=str(report))

    try:
        parsed = parse_return(landing_path, services)
    except ReturnParseError as exc:
        guess = _guess_from_name(c.path.name)
        error = str(exc).replace(landing_path.name, c.relative, 1)
        return send_to_quarantine(guess[0], guess[1], error)

    quarter = parsed.period   # read once, by the reader, from the Cover cell or the CSV rows
    with engine.connect() as conn:
        previous = previous_figures(conn, parsed.service_code, [quarter.previous(), *quarter.quarters_to_date()])
    staged = stage_return(parsed, services, previous)
    outcome = validate_frame(
        SUITE, staged,
        gate_parameters(services, settings.returns.percent_tolerance_points, settings.returns.change_warning_pct),
        row_label="cell",
    )
    if not outcome.passed:
        return send_to_quarantine(parsed.service_code, quarter, None, outcome)

    with engine.connect() as conn:
        newer = newer_loaded_file(conn, parsed.service_code, quarter, received.file_modified_at)
    if newer is not None:   # an older version turned up after its replacement: keep it on record only
        with engine.begin() as conn:
            audit.record_dq(conn, batch_id, outcome)
            record_received(conn, received, ReceivedAs(
                "superseded", parsed.service_code, quarter,
                error_summary=f"older than {newer}, which is already loaded",
            ))
            audit.finish_batch(conn, batch_id, BatchEnd(
                "unchanged", BatchCounts(read=len(staged), inserted=0, updated=0, unchanged=len(staged)),
            ))
        log.info("%s is older than %s, already loaded: recorded as superseded", c.relative, newer)
        return ReturnOutcome(c.relative, "superseded", batch_id, sha, parsed.service_code, quarter)

    status = "loaded_with_warnings" if outcome.warnings else "loaded"
    with engine.begin() as conn:
        audit.record_dq(conn, batch_id, outcome)
        inserted, updated = load_return(conn, batch_id=batch_id, parsed=parsed, staged=staged,
                                        source_file=c.relative)
        resubmission = record_received(conn, received, ReceivedAs(
            status, parsed.service_code, quarter, warning_count=len(outcome.warnings),
            error_summary=outcome.summary() if outcome.warnings else None,
        ))
        audit.finish_batch(conn, batch_id, BatchEnd(
            "loaded" if inserted or updated else "unchanged",
            BatchCounts(read=len(staged), inserted=inserted, updated=updated,
                        unchanged=len(staged) - inserted - updated),
        ))
    log.info("%s: %s %s loaded (%d new, %d revised figures%s%s)", c.relative, parsed.service_code, quarter.label,
             inserted, updated, ", resubmission" if resubmission else "",
             f", {len(outcome.warnings)} warning(s)" if outcome.warnings else "")
    return ReturnOutcome(c.relative, status, batch_id, sha, parsed.service_code, quarter, inserted=inserted,
                         updated=updated, resubmission=resubmission,
                         warnings=tuple(w.description for w in outcome.warnings))


def _guess_from_name(name: str) -> tuple[str | None, FinancialQuarter | None]:
    """(service code, quarter) from a conventional file name, for filing a return that cannot be read."""
    import re

    m = re.match(r"^\s*([A-Za-z0-9_]+?)[\s_-]+(\d{4}-\d{2}-Q[1-4])", name, re.IGNORECASE)
    if not m:
        return None, None
    try:
        quarter = FinancialQuarter.from_typed(m.group(2))
    except PeriodParseError:   # e.g. 2017-19-Q2: no such quarter to file it under
        quarter = None
    return m.group(1).lower(), quarter


def status_table(engine: Engine, period: FinancialQuarter) -> list[dict[str, Any]]:
    """mart.return_status for one quarter, for people."""
    from public_health.warehouse.returns import return_status

    with engine.connect() as conn:
        rows = return_status(conn, period)
    return [r._asdict() for r in rows]


def run_summary(engine: Engine, run_id: str | None) -> dict[str, Any]:
    """Return files of one Airflow run by status, and the batches that did not load."""
    from public_health.warehouse.returns import files_by_status

    with engine.connect() as conn:
        files = files_by_status(conn, run_id)
        problems = audit.problem_batches(conn, SOURCE, run_id)
    return {"files": {f.status: f.files for f in files}, "problems": [p._asdict() for p in problems]}
