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
from typing import Any

from sqlalchemy import Engine, text

from public_health.config import Settings, config_dir
from public_health.warehouse import audit
from public_health.warehouse.audit import RunContext

log = logging.getLogger(__name__)

SOURCE = "provider_return"
SUITE = "provider_kpi_values"


def _services() -> dict[str, Any]:
    from public_health.returns.services import load_services

    return load_services(config_dir())


def track_until(settings: Settings, today: date | None = None) -> str:
    from public_health.warehouse.returns import last_ended_quarter

    return settings.returns.track_until or last_ended_quarter(today or date.today())


def sync_config(settings: Settings, engine: Engine) -> dict[str, int]:
    """Providers, services, KPIs and expected returns from config/services, in one transaction."""
    from public_health.warehouse.returns import sync_services

    services = _services()
    with engine.begin() as conn:
        summary = sync_services(conn, services, settings.returns.track_from, track_until(settings))
    log.info("services synced: %s", summary)
    return summary


def write_templates(settings: Settings, quarter: str, *, overwrite: bool = False) -> list[Path]:
    """Blank return workbooks for every reportable service for ``quarter``, under
    ``output/templates/<quarter>/``. Existing files are kept unless ``overwrite``."""
    from public_health.returns.template import template_filename, write_template

    folder = settings.output_dir / "templates" / quarter
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


def scan(settings: Settings, engine: Engine, now: float | None = None) -> dict[str, Any]:
    """New or changed files on the shared drive that are ready to read."""
    from public_health.returns.discovery import discover

    found = discover(settings.shared_drive, settings.returns.settle_seconds, now=now)
    with engine.connect() as conn:
        seen = {
            (r.file_path, r.file_modified_at.timestamp())
            for r in conn.execute(text("SELECT file_path, file_modified_at FROM core.return_received"))
        }
    taken = {(p, round(m, 6)) for p, m in seen}
    new = [c for c in found.ready if (c.relative, round(c.mtime, 6)) not in taken]
    for rel, why in found.ignored:
        log.info("ignored %s: %s", rel, why)
    for c in found.settling:
        log.info("not yet: %s is still changing (modified %.0fs ago; settle time %ss)", c.relative,
                 time.time() - c.mtime, settings.returns.settle_seconds)
    result = {
        "new": [{"path": str(c.path), "relative": c.relative, "size": c.size, "mtime": c.mtime} for c in new],
        "settling": [c.relative for c in found.settling],
        "ignored": [{"file": rel, "why": why} for rel, why in found.ignored],
        "already_seen": len(found.ready) - len(new),
    }
    log.info("%d new file(s), %d still settling, %d ignored, %d already taken", len(new), len(found.settling),
             len(found.ignored), result["already_seen"])
    return result


def process_files(
    settings: Settings, engine: Engine, candidates: list[dict[str, Any]], run: RunContext
) -> list[dict[str, Any]]:
    """Process files oldest first. One file's unexpected error is recorded and does not stop the rest."""
    results = []
    services = _services() if candidates else {}   # read and validated once per run, not once per file
    for candidate in sorted(candidates, key=lambda c: (c["mtime"], c["relative"])):
        try:
            results.append(process_file(settings, engine, candidate, run, services=services))
        except Exception as exc:  # recorded in audit by process_file; the next file still gets its turn
            log.exception("%s failed", candidate["relative"])
            results.append({"file": candidate["relative"], "status": "failed", "error": str(exc)})
    return results


def process_file(
    settings: Settings, engine: Engine, candidate: dict[str, Any], run: RunContext,
    *, services: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Land, parse, check and load (or quarantine) one return file."""
    from public_health.returns.discovery import Candidate, land
    from public_health.warehouse.returns import record_received

    c = Candidate(Path(candidate["path"]), candidate["relative"], candidate["size"], candidate["mtime"])
    landed = land(c, settings.landing_dir / "returns")
    if landed is None:
        return {"file": c.relative, "status": "unsettled"}
    landing_path, sha = landed
    modified = datetime.fromtimestamp(c.mtime, UTC)
    batch_id = audit.start_batch(engine, source=SOURCE, source_ref=c.relative, sha256=sha,
                                 landing_path=str(landing_path), run=run, details={"size_bytes": c.size})
    base = {"file": c.relative, "batch_id": batch_id, "sha256": sha}
    received = {"batch_id": batch_id, "file_path": c.relative, "file_modified_at": modified, "sha256": sha,
                "landing_path": str(landing_path)}

    with engine.connect() as conn:
        before = conn.execute(
            text("SELECT service_code, period_label FROM core.return_received WHERE sha256 = :sha"
                 " AND status IN ('loaded', 'loaded_with_warnings', 'superseded', 'unchanged') LIMIT 1"),
            {"sha": sha},
        ).first()
    if before is not None:
        with engine.begin() as conn:
            record_received(conn, service_code=before.service_code, period_label=before.period_label,
                            status="unchanged", **received)
            audit.finish_batch(conn, batch_id, status="unchanged", rows_read=0, rows_inserted=0, rows_updated=0,
                               rows_unchanged=0)
        log.info("%s: same content as a return already loaded: unchanged", c.relative)
        return {**base, "status": "unchanged", "service_code": before.service_code, "period": before.period_label}

    try:
        return _check_and_load(settings, engine, c, landing_path, sha, batch_id, base, received,
                               services if services is not None else _services())
    except Exception as exc:
        audit.fail_batch(engine, batch_id, f"{c.relative}: {type(exc).__name__}: {exc}")
        raise


def _check_and_load(settings: Settings, engine: Engine, c: Any, landing_path: Path, sha: str, batch_id: int,
                    base: dict[str, Any], received: dict[str, Any], services: dict[str, Any]) -> dict[str, Any]:
    from public_health.quality.gate import validate_frame
    from public_health.quality.quarantine import quarantine
    from public_health.returns.parse import ReturnParseError, parse_return
    from public_health.returns.staging import gate_parameters, previous_quarter, stage_return
    from public_health.warehouse.returns import load_return, previous_figures, record_received

    def send_to_quarantine(service_code: str | None, period: str | None, error: str | None,
                           outcome: Any = None) -> dict[str, Any]:
        report = quarantine(landing_path, settings.quarantine_dir, source=SOURCE, source_ref=c.relative, sha256=sha,
                            batch_id=batch_id, outcome=outcome, error=error,
                            extra={"service_code": service_code, "period": period})
        summary = error or outcome.summary()
        with engine.begin() as conn:
            if outcome is not None:
                audit.record_dq(conn, batch_id, outcome)
            record_received(conn, service_code=service_code, period_label=period, status="quarantined",
                            error_count=len(outcome.errors) if outcome else 1,
                            warning_count=len(outcome.warnings) if outcome else 0,
                            error_summary=summary[:4000], report_path=str(report), **received)
            audit.finish_batch(conn, batch_id, status="quarantined", rows_read=outcome.rows if outcome else None,
                               error_summary=summary[:4000], report_path=str(report))
        log.error("%s quarantined: %s (report: %s)", c.relative, summary, report)
        return {**base, "status": "quarantined", "service_code": service_code, "period": period,
                "error": summary, "report": str(report)}

    try:
        parsed = parse_return(landing_path, services)
    except ReturnParseError as exc:
        guess = _guess_from_name(c.path.name)
        error = str(exc).replace(landing_path.name, c.relative, 1)
        return send_to_quarantine(guess[0], guess[1], error)

    year, quarter = _fy(parsed.period)
    periods = [previous_quarter(parsed.period)] + [f"{year}-{str(year + 1)[-2:]}-Q{q}" for q in range(1, quarter + 1)]
    with engine.connect() as conn:
        previous = previous_figures(conn, parsed.service_code, periods)
    staged = stage_return(parsed, services, previous)
    outcome = validate_frame(
        SUITE, staged,
        gate_parameters(services, settings.returns.percent_tolerance_points, settings.returns.change_warning_pct),
        row_label="cell",
    )
    if not outcome.passed:
        return send_to_quarantine(parsed.service_code, parsed.period, None, outcome)

    with engine.connect() as conn:
        newer = conn.execute(
            text("SELECT file_path FROM core.return_received WHERE service_code = :s AND period_label = :p"
                 " AND status IN ('loaded', 'loaded_with_warnings') AND file_modified_at > :m"),
            {"s": parsed.service_code, "p": parsed.period, "m": received["file_modified_at"]},
        ).first()
    if newer is not None:   # an older version turned up after its replacement: keep it on record only
        with engine.begin() as conn:
            audit.record_dq(conn, batch_id, outcome)
            record_received(conn, service_code=parsed.service_code, period_label=parsed.period, status="superseded",
                            error_summary=f"older than {newer.file_path}, which is already loaded", **received)
            audit.finish_batch(conn, batch_id, status="unchanged", rows_read=len(staged), rows_inserted=0,
                               rows_updated=0, rows_unchanged=len(staged))
        log.info("%s is older than %s, already loaded: recorded as superseded", c.relative, newer.file_path)
        return {**base, "status": "superseded", "service_code": parsed.service_code, "period": parsed.period}

    status = "loaded_with_warnings" if outcome.warnings else "loaded"
    with engine.begin() as conn:
        audit.record_dq(conn, batch_id, outcome)
        inserted, updated = load_return(conn, batch_id=batch_id, parsed=parsed, staged=staged,
                                        source_file=c.relative)
        resubmission = record_received(
            conn, service_code=parsed.service_code, period_label=parsed.period, status=status,
            warning_count=len(outcome.warnings),
            error_summary=outcome.summary() if outcome.warnings else None, **received,
        )
        audit.finish_batch(conn, batch_id, status="loaded" if inserted or updated else "unchanged",
                           rows_read=len(staged), rows_inserted=inserted, rows_updated=updated,
                           rows_unchanged=len(staged) - inserted - updated)
    log.info("%s: %s %s loaded (%d new, %d revised figures%s%s)", c.relative, parsed.service_code, parsed.period,
             inserted, updated, ", resubmission" if resubmission else "",
             f", {len(outcome.warnings)} warning(s)" if outcome.warnings else "")
    return {**base, "status": status, "service_code": parsed.service_code, "period": parsed.period,
            "inserted": inserted, "updated": updated, "resubmission": resubmission,
            "warnings": [w.description for w in outcome.warnings]}


def _fy(period: str) -> tuple[int, int]:
    from public_health.periods import financial_quarter

    return financial_quarter(period)


def _guess_from_name(name: str) -> tuple[str | None, str | None]:
    """(service code, quarter) from a conventional file name, for filing a return that cannot be read."""
    import re

    m = re.match(r"^\s*([A-Za-z0-9_]+?)[\s_-]+(\d{4}-\d{2}-Q[1-4])", name, re.IGNORECASE)
    if not m:
        return None, None
    return m.group(1).lower(), m.group(2).upper()


def status_table(engine: Engine, period: str) -> list[dict[str, Any]]:
    """mart.return_status for one quarter, for people."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT service_code, service_name, provider_name, status, due_date, received_at, files_received,"
                " error_summary, report_path FROM mart.return_status WHERE period_label = :p ORDER BY service_code"
            ),
            {"p": period},
        ).all()
    return [dict(r._mapping) for r in rows]


def run_summary(engine: Engine, run_id: str | None) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.status, count(*) AS n FROM core.return_received r JOIN audit.load_batch b"
                " ON b.batch_id = r.batch_id WHERE b.run_id IS NOT DISTINCT FROM :r GROUP BY r.status"
            ),
            {"r": run_id},
        ).all()
        problems = conn.execute(
            text(
                "SELECT b.batch_id, b.status, b.source_ref, b.error_summary, b.report_path FROM audit.load_batch b"
                " WHERE b.source = :s AND b.run_id IS NOT DISTINCT FROM :r AND b.status IN ('quarantined', 'failed')"
                " ORDER BY b.batch_id"
            ),
            {"s": SOURCE, "r": run_id},
        ).all()
    return {"files": {r.status: int(r.n) for r in rows}, "problems": [dict(p._mapping) for p in problems]}
