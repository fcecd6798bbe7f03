"""Provider quarterly returns from the shared drive, step by step.

sync_config -> scan -> process_files (the run's new files, over one warehouse connection) -> summary

A file is taken once per (path, modification time): a no-op run reads nothing. Each file is copied to
the landing area (sha256) and parsed; then every file of the run is staged (compared with the figures the
warehouse holds and with the run's earlier files that load) and checked in one pass of the gate; then, oldest
first, each is loaded in its own transaction or quarantined with a report naming sheet, cell, value, rule and
fix. A corrected file (new content) is processed afresh; a resubmission for a service and quarter already
loaded supersedes the earlier figures, which go to history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from public_health.config import Settings, config_dir
from public_health.periods import FinancialQuarter, PeriodParseError
from public_health.pipelines.records import ReturnOutcome, ScanResult
from public_health.returns.discovery import Candidate
from public_health.warehouse import audit
from public_health.warehouse.audit import NO_ROWS, BatchCounts, BatchEnd, BatchSource, RunContext

if TYPE_CHECKING:   # warehouse.returns, the gate and the readers bring pandas: imported where they are used
    from public_health.quality.gate import ValidationOutcome
    from public_health.returns.cells import ParsedReturn
    from public_health.warehouse.returns import Received, ReturnFor

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
    """Process files oldest first, over one warehouse connection for the run: each file is landed and read; then
    all of them are checked in one pass of the gate, each staged against the figures the warehouse held and those
    of the run's earlier files that load; then, in order, each is loaded in its own transaction or quarantined.
    One file's unexpected error is recorded and does not stop the rest."""
    if not candidates:
        return []
    ordered = sorted(candidates, key=lambda c: (c.mtime, c.relative))
    with engine.connect() as conn:
        returns = _RunOfReturns(settings, _RunConnection(conn), _services(), run)
        files = [returns.take(c) for c in ordered]
        returns.read()
        returns.check()
        return [returns.finish(f) for f in files]


class _RunConnection:
    """The run's one warehouse connection, handed to the audit steps that take an engine: ``begin()`` is one
    transaction on it, committed on success, rolled back on error."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.conn.begin():
            yield self.conn


@dataclass(eq=False)   # a file is itself: compared by identity
class _File:
    """One file of the run as it goes through: landed and recorded as a batch (``received``), read (``parsed``,
    or ``unreadable`` with the reader's error), staged against ``previous`` and checked; ``outcome`` once
    decided."""

    candidate: Candidate
    position: int
    outcome: ReturnOutcome | None = None
    received: Received | None = None
    parsed: ParsedReturn | None = None
    unreadable: str | None = None
    previous: dict[tuple[str, str, str], float] | None = None
    staged: Any = None
    checked: ValidationOutcome | None = None


class _RunOfReturns:
    """The steps of :func:`process_files` over one run's files, and what the run knows as it goes: the contents
    already taken, the figures the warehouse held for the services when the run began, the files loaded so far."""

    def __init__(self, settings: Settings, warehouse: _RunConnection, services: dict[str, Any],
                 run: RunContext) -> None:
        self.settings, self.services, self.run = settings, services, run
        self.warehouse: Any = warehouse   # audit's steps take it as their engine: one transaction on the connection
        self.parameters = _gate_parameters(settings, services)
        self.content: dict[str, ReturnFor] = {}          # sha256 -> the return taken with that content
        self.held: dict[str, dict[tuple[str, str, str], float]] = {}
        self.files: list[_File] = []                     # oldest first
        self.loaded: set[int] = set()                   # positions of the files loaded so far
        self.periods: set[str] = set()                  # period labels the run's loads have written

    def _failed(self, f: _File, exc: Exception) -> ReturnOutcome:
        """Record an unexpected error (the batch marked failed) and go on with the next file."""
        c = f.candidate
        log.error("%s failed", c.relative, exc_info=exc)
        if f.received is not None:
            audit.fail_batch(self.warehouse, f.received.batch_id, f"{c.relative}: {type(exc).__name__}: {exc}")
        f.outcome = ReturnOutcome(c.relative, "failed", error=str(exc))
        return f.outcome

    # 1. land and record --------------------------------------------------------------------------------
    def take(self, c: Candidate) -> _File:
        """Copy the file to landing (sha256) and record its load batch."""
        from public_health.returns.discovery import land
        from public_health.warehouse.returns import Received

        f = _File(c, len(self.files))
        self.files.append(f)
        try:
            landed = land(c, self.settings.landing_dir / "returns")
            if landed is None:
                f.outcome = ReturnOutcome(c.relative, "unsettled")
                return f
            landing_path, sha = landed
            source = BatchSource(SOURCE, c.relative, sha, str(landing_path), {"size_bytes": c.size})
            batch_id = audit.start_batch(self.warehouse, source, self.run)
            f.received = Received(batch_id, c.relative, datetime.fromtimestamp(c.mtime, UTC), sha, str(landing_path))
        except Exception as exc:  # recorded; the next file still gets its turn
            self._failed(f, exc)
        return f

    # 2. read ------------------------------------------------------------------------------------------
    def read(self) -> None:
        """Parse every file whose content was not taken before (one query for the run's contents)."""
        from public_health.returns.parse import ReturnParseError, parse_return
        from public_health.warehouse.returns import returns_with_content

        with self.warehouse.begin() as conn:
            self.content = returns_with_content(conn, [f.received.sha256 for f in self.files if f.received])
        for f in self.files:
            if f.outcome is not None or f.received is None or f.received.sha256 in self.content:
                continue
            landing_path = Path(f.received.landing_path)
            try:
                f.parsed = parse_return(landing_path, self.services)
            except ReturnParseError as exc:
                f.unreadable = str(exc).replace(landing_path.name, f.candidate.relative, 1)
            except Exception as exc:
                self._failed(f, exc)

    # 3. stage and check -------------------------------------------------------------------------------
    def check(self) -> None:
        """Stage every readable file and check them all in one pass of the gate.

        A file's comparisons with earlier figures depend on which of the run's earlier files load, which the gate
        decides: the first pass takes every earlier file to load (unless it repeats an earlier file's content);
        files whose previous figures change once the gate has spoken are staged and checked again, until nothing
        changes. :meth:`finish` still checks each file against what did load."""
        from public_health.returns.staging import comparison_quarters
        from public_health.warehouse.returns import figures_held

        readable = [f for f in self.files if f.parsed is not None and f.outcome is None]
        if not readable:
            return
        wanted: dict[str, set[FinancialQuarter]] = {}
        for f in readable:
            wanted.setdefault(f.parsed.service_code, set()).update(comparison_quarters(f.parsed.period))
        with self.warehouse.begin() as conn:
            self.held = figures_held(conn, wanted)
        for _ in range(len(readable) + 1):
            loading = _predicted_loads(readable)
            changed = [f for f in readable if f.outcome is None and self._stage(f, loading)]
            if not changed:
                break
            self._check([f for f in changed if f.outcome is None])

    def _stage(self, f: _File, loads: Callable[[_File], bool]) -> bool:
        """Stage ``f`` against the figures held and the earlier files for which ``loads``; False when that is
        what it was already staged against."""
        from public_health.returns.staging import figures_before, stage_return

        parsed = f.parsed
        earlier = []
        for g in self.files[: f.position]:
            if g.parsed is not None and g.parsed.service_code == parsed.service_code and loads(g):
                earlier.append(g.parsed)
        previous = figures_before(parsed, self.held.get(parsed.service_code, {}), earlier)
        if f.staged is not None and previous == f.previous:
            return False
        try:
            f.previous, f.staged, f.checked = previous, stage_return(parsed, self.services, previous), None
        except Exception as exc:
            self._failed(f, exc)
        return True

    def _check(self, files: list[_File]) -> None:
        """The gate over ``files`` in one pass; if the pass itself breaks, file by file (a file whose checks
        break is failed)."""
        from public_health.quality.gate import validate_frames

        if not files:
            return
        try:
            outcomes = validate_frames(SUITE, [f.staged for f in files], self.parameters, row_label="cell")
        except Exception:
            log.warning("the checks of %d files in one pass broke: checking them one by one", len(files),
                        exc_info=True)
            outcomes = []
            for f in files:
                try:
                    [checked] = validate_frames(SUITE, [f.staged], self.parameters, row_label="cell")
                    outcomes.append(checked)
                except Exception as exc:
                    self._failed(f, exc)
                    outcomes.append(None)
        for f, checked in zip(files, outcomes, strict=True):
            if checked is not None:
                f.checked = checked

    # 4. load or quarantine, in order ------------------------------------------------------------------
    def finish(self, f: _File) -> ReturnOutcome:
        """Record what became of the file, in its own transaction: unchanged, quarantined, superseded or
        loaded."""
        if f.outcome is not None:
            return f.outcome
        try:
            f.outcome = self._finish(f)
        except Exception as exc:
            return self._failed(f, exc)
        return f.outcome

    def _finish(self, f: _File) -> ReturnOutcome:
        from public_health.warehouse.returns import ReceivedAs, ReturnFor, newer_loaded_file, record_received

        c, received = f.candidate, f.received
        assert received is not None
        before = self.content.get(received.sha256)
        if before is not None:
            with self.warehouse.begin() as conn:
                record_received(conn, received, ReceivedAs("unchanged", before.service_code, before.period))
                audit.finish_batch(conn, received.batch_id, BatchEnd("unchanged", NO_ROWS))
            log.info("%s: same content as a return already loaded: unchanged", c.relative)
            return ReturnOutcome(c.relative, "unchanged", received.batch_id, received.sha256, before.service_code,
                                 before.period)
        if f.parsed is None:
            guess = _guess_from_name(c.path.name)
            return self._quarantine(f, guess, f.unreadable)

        parsed, quarter = f.parsed, f.parsed.period
        # Staged again when an earlier file's fate was not the one the gate pass took (then checked again).
        if self._stage(f, lambda g: g.position in self.loaded):
            if f.outcome is not None:
                return f.outcome
            self._check([f])
        if f.outcome is not None:
            return f.outcome
        outcome = f.checked
        assert outcome is not None
        if not outcome.passed:
            return self._quarantine(f, (parsed.service_code, quarter), None)

        with self.warehouse.begin() as conn:   # one transaction: whether a newer file is loaded, and the outcome
            newer = newer_loaded_file(conn, parsed.service_code, quarter, received.file_modified_at)
            done = self._load(conn, f) if newer is None else self._superseded(conn, f, newer)
        # committed: what the rest of the run compares with
        self.content.setdefault(received.sha256, ReturnFor(parsed.service_code, quarter))
        if done.status in ("loaded", "loaded_with_warnings"):
            self.loaded.add(f.position)
            self.periods.update(f.staged["period"])
            self.periods.add(quarter.label)
        return done

    def _superseded(self, conn: Connection, f: _File, newer: str) -> ReturnOutcome:
        """An older version turned up after its replacement: keep it on record only."""
        from public_health.warehouse.returns import ReceivedAs, record_received

        c, received, parsed, staged, outcome = f.candidate, f.received, f.parsed, f.staged, f.checked
        audit.record_dq(conn, received.batch_id, outcome)
        record_received(conn, received, ReceivedAs(
            "superseded", parsed.service_code, parsed.period,
            error_summary=f"older than {newer}, which is already loaded",
        ))
        audit.finish_batch(conn, received.batch_id, BatchEnd(
            "unchanged", BatchCounts(read=len(staged), inserted=0, updated=0, unchanged=len(staged)),
        ))
        log.info("%s is older than %s, already loaded: recorded as superseded", c.relative, newer)
        return ReturnOutcome(c.relative, "superseded", received.batch_id, received.sha256, parsed.service_code,
                             parsed.period)

    def _load(self, conn: Connection, f: _File) -> ReturnOutcome:
        """Load a checked file's figures (in the caller's transaction), with its audit and tracker rows."""
        from public_health.warehouse.returns import ReceivedAs, load_return, record_received

        c, received, parsed, staged, outcome = f.candidate, f.received, f.parsed, f.staged, f.checked
        quarter = parsed.period
        status = "loaded_with_warnings" if outcome.warnings else "loaded"
        audit.record_dq(conn, received.batch_id, outcome)
        inserted, updated = load_return(conn, batch_id=received.batch_id, parsed=parsed, staged=staged,
                                        source_file=c.relative, periods_held=self.periods)
        resubmission = record_received(conn, received, ReceivedAs(
            status, parsed.service_code, quarter, warning_count=len(outcome.warnings),
            error_summary=outcome.summary() if outcome.warnings else None,
        ))
        audit.finish_batch(conn, received.batch_id, BatchEnd(
            "loaded" if inserted or updated else "unchanged",
            BatchCounts(read=len(staged), inserted=inserted, updated=updated,
                        unchanged=len(staged) - inserted - updated),
        ))
        log.info("%s: %s %s loaded (%d new, %d revised figures%s%s)", c.relative, parsed.service_code, quarter.label,
                 inserted, updated, ", resubmission" if resubmission else "",
                 f", {len(outcome.warnings)} warning(s)" if outcome.warnings else "")
        return ReturnOutcome(c.relative, status, received.batch_id, received.sha256, parsed.service_code, quarter,
                             inserted=inserted, updated=updated, resubmission=resubmission,
                             warnings=tuple(w.description for w in outcome.warnings))

    def _quarantine(self, f: _File, where: tuple[str | None, FinancialQuarter | None],
                    error: str | None) -> ReturnOutcome:
        """Keep the file and its report in quarantine; nothing of it loads."""
        from public_health.quality.quarantine import QuarantineSource, quarantine
        from public_health.warehouse.returns import ReceivedAs, record_received

        c, received, outcome = f.candidate, f.received, f.checked if error is None else None
        service_code, period = where
        report = quarantine(Path(received.landing_path), self.settings.quarantine_dir,
                            QuarantineSource(SOURCE, c.relative, received.sha256, received.batch_id),
                            outcome=outcome, error=error,
                            extra={"service_code": service_code, "period": period.label if period else None})
        summary = error or outcome.summary()
        with self.warehouse.begin() as conn:
            if outcome is not None:
                audit.record_dq(conn, received.batch_id, outcome)
            record_received(conn, received, ReceivedAs(
                "quarantined", service_code, period,
                error_count=len(outcome.errors) if outcome else 1,
                warning_count=len(outcome.warnings) if outcome else 0,
                error_summary=summary[:4000], report_path=str(report),
            ))
            audit.finish_batch(conn, received.batch_id, BatchEnd(
                "quarantined", BatchCounts(read=outcome.rows if outcome else None),
                error_summary=summary[:4000], report_path=str(report),
            ))
        log.error("%s quarantined: %s (report: %s)", c.relative, summary, report)
        return ReturnOutcome(c.relative, "quarantined", received.batch_id, received.sha256, service_code, period,
                             error=summary, report=str(report))


def _predicted_loads(readable: list[_File]) -> Callable[[_File], bool]:
    """Which files the gate's verdicts say will load: those that passed (or are not checked yet), unless an
    earlier such file had the same content (the later one is then recorded unchanged)."""
    loads: set[int] = set()
    contents: set[str] = set()
    for f in readable:
        sha = f.received.sha256 if f.received else None
        if f.outcome is None and (f.checked is None or f.checked.passed) and sha not in contents:
            loads.add(id(f))
            contents.add(sha)
    return lambda g: id(g) in loads


def _gate_parameters(settings: Settings, services: dict[str, Any]) -> dict[str, Any]:
    from public_health.returns.staging import gate_parameters

    return gate_parameters(services, settings.returns.percent_tolerance_points, settings.returns.change_warning_pct)


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
