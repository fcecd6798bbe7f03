"""What a task needs at run time: settings, the warehouse engine and who is running; and, when a task fails,
the one line its log ends with (what failed, for which file, indicator or quarter, and what to do)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from public_health.config import Settings, load_settings
from public_health.periods import FinancialQuarter, PeriodParseError
from public_health.warehouse.audit import RunContext

log = logging.getLogger(__name__)


def task_settings() -> Settings:
    """Settings read afresh for each task, so environment overrides apply to every run."""
    return load_settings()


def run_context(context: dict[str, Any]) -> RunContext:
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", None)
    map_index = getattr(ti, "map_index", -1)
    if task_id and map_index is not None and map_index >= 0:
        task_id = f"{task_id}[{map_index}]"
    dag_run = context.get("dag_run")
    return RunContext(
        dag_id=getattr(context.get("dag"), "dag_id", None) or getattr(dag_run, "dag_id", None),
        run_id=getattr(dag_run, "run_id", None) or context.get("run_id"),
        task_id=task_id,
    )


def run_date(context: dict[str, Any], settings: Settings) -> date:
    """The day a run stands for, in the schedules' time zone: the end of its data interval, else its logical
    date, else when it was due to run (a manual run in Airflow 3 may have neither). Library code gets this
    date from the DAG and never reads the clock itself."""
    dag_run = context.get("dag_run")
    when = (
        context.get("data_interval_end")
        or context.get("logical_date")
        or getattr(dag_run, "data_interval_end", None)
        or getattr(dag_run, "logical_date", None)
        or getattr(dag_run, "run_after", None)
    )
    if when is None:
        raise RuntimeError("this task's context has no data interval, logical date or run_after to date the run by")
    return when.astimezone(ZoneInfo(settings.schedules.timezone)).date()


def quarter_of_run(context: dict[str, Any], settings: Settings) -> FinancialQuarter:
    """The quarter a report run builds: its ``quarter`` param when given, else the last quarter that ended
    before the run's date. This is where a DAG turns text into a FinancialQuarter; a param that is not a
    quarter fails the task at once (a retry cannot fix it)."""
    text = (context.get("params") or {}).get("quarter") or ""
    if not text:
        return FinancialQuarter.last_ended(run_date(context, settings))
    try:
        return FinancialQuarter.parse(text)
    except PeriodParseError as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"param quarter: {exc}") from exc


def warehouse_engine(settings: Settings):  # noqa: ANN201 - sqlalchemy Engine
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    return engine


@contextmanager
def warehouse() -> Iterator[tuple[Settings, Any]]:
    """Settings and a migrated warehouse engine for one task; the engine is disposed afterwards
    (on DuckDB that releases the file for the next writer)."""
    settings = task_settings()
    engine = warehouse_engine(settings)
    try:
        yield settings, engine
    finally:
        engine.dispose()



def sync_services_config(context: dict[str, Any]) -> dict[str, Any]:
    """The ``sync_config`` task of the provider returns and KPI history DAGs: services, providers, KPIs and the
    returns expected up to the run's date, from ``config/services/`` into the warehouse."""
    from public_health.pipelines.provider_returns import sync_config

    with warehouse() as (settings, engine):
        return sync_config(settings, engine, run_date(context, settings))

@contextmanager
def no_retry_when_permanent() -> Iterator[None]:
    """Re-raise an error that says it is ``permanent`` (an HTTP 4xx from Fingertips, a configuration problem) as
    Airflow's AirflowFailException, so the task fails at once instead of retrying what cannot change.

    A DuckDB lock conflict (another process holds the warehouse file) is never made permanent, even when an
    error that calls itself permanent carries it: the same task succeeds once that connection is closed."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, "permanent", False) and warehouse_lock(exc) is None:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{exc} (a permanent error: not retried)") from exc
        raise


def fail_if_problems(problems: list[dict[str, Any]], what: str, notes: list[str] | None = None) -> None:
    """Fail the task (no retry) naming every batch that did not load and its report; ``notes`` (e.g. indicators
    still held from earlier runs) are added to the message, and never fail the task on their own."""
    if not problems:
        return
    from airflow.sdk.exceptions import AirflowFailException

    lines = [
        f"{p['source_ref']} {p['status']}: {p['error_summary']}"
        + (f" (report: {p['report_path']})" if p.get("report_path") else "")
        for p in problems
    ]
    error = AirflowFailException(f"Some {what} did not load:\n" + "\n".join(lines + list(notes or [])))
    error.problems = list(problems)   # the run's digest (airflow_support.alerts) lists them: no second alert
    raise error


# The last line of a failed task's log ------------------------------------------------------------------------

#: DuckDB's message when another process holds the warehouse file (DuckDB 1.x and 2.x; "by user" is not always
#: there): ``Could not set lock on file "<file>": Conflicting lock is held in <program> (PID <n>) by user <u>``.
_LOCK_ERROR = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)": Conflicting lock is held in (?P<program>.+?) '
    r"\(PID (?P<pid>\d+)\)(?: by user (?P<user>\S+?)\.?(?=\s|$))?"
)
_QUARTER_LABEL = re.compile(r"\b\d{4}-\d{2}-Q[1-4]\b")
_INDICATOR_IN_TEXT = re.compile(r"\bindicator (\d+)\b")
_INDICATOR_IDS_IN_URL = re.compile(r"indicator_ids=([0-9,%C]+)")
#: Exceptions a task raises to say something other than "failed" (skip, defer, reschedule...): no failure line.
_NOT_FAILURES = frozenset({
    "AirflowSkipException", "TaskDeferred", "AirflowRescheduleException", "DownstreamTasksSkipped",
    "DagRunTriggerException", "TaskAwaitingInput",
})
_FAIL_NOW = frozenset({"AirflowFailException", "AirflowSensorTimeout"})
_LINE_ATTR, _SUBJECT_ATTR = "_public_health_failure_line", "_public_health_failure_subject"


@dataclass(frozen=True)
class WarehouseLock:
    """DuckDB refused the warehouse file because another process holds it: the file, and who holds it."""

    file: str
    program: str
    pid: int
    user: str | None = None

    @property
    def holder(self) -> str:
        return f"{self.program} (PID {self.pid}" + (f", user {self.user})" if self.user else ")")


@dataclass(frozen=True)
class TaskWhere:
    """The task instance a failure line or alert is about. ``label`` is its rendered map index (the batch or
    file label) when it is mapped; ``params`` the run's params."""

    dag_id: str | None
    task_id: str | None
    run_id: str | None = None
    map_index: int = -1
    label: str | None = None
    try_number: int | None = None
    max_tries: int | None = None
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        name = f"{self.dag_id or '?'}.{self.task_id or '?'}"
        if self.label:
            return f"{name} [{self.label}]"
        return f"{name} [map index {self.map_index}]" if self.map_index >= 0 else name

    @property
    def retries_left(self) -> bool:
        """Whether Airflow will try the task again after this attempt (unless the error fails it at once)."""
        return self.try_number is not None and self.max_tries is not None and self.try_number <= self.max_tries

    def param(self, key: str) -> Any:
        return dict(self.params).get(key)


def error_chain(exc: BaseException) -> list[BaseException]:
    """``exc``, then the errors behind it: the driver error a SQLAlchemy error wraps (``orig``), what it was
    raised from (``__cause__``) and during (``__context__``), each once, nearest first."""
    out: list[BaseException] = []
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return out


def _text(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:  # an exception whose __str__ fails still has a type
        return ""


def warehouse_lock(exc: BaseException) -> WarehouseLock | None:
    """The DuckDB lock conflict behind ``exc`` (in it or any error behind it), if there is one. A lock conflict is
    transient: the same task succeeds once the other connection is closed."""
    for e in error_chain(exc):
        m = _LOCK_ERROR.search(_text(e))
        if m:
            return WarehouseLock(m["file"], m["program"].strip(), int(m["pid"]), m["user"])
    return None


def _names(e: BaseException) -> set[str]:
    return {k.__name__ for k in type(e).__mro__}


def _context_now() -> Mapping[str, Any]:
    try:
        from airflow.sdk import get_current_context

        return get_current_context()
    except Exception:  # not inside a running task (a unit test, the CLI)
        return {}


def _map_label(context: Mapping[str, Any], ti: Any) -> str | None:
    label = getattr(ti, "rendered_map_index", None)
    if label:
        return str(label)
    template, map_index = context.get("map_index_template"), getattr(ti, "map_index", None)
    if not template or not isinstance(map_index, int) or map_index < 0:
        return None
    try:   # what Airflow will show once the task ends, rendered now (the task may have set its variables)
        env = ti.task.dag.get_template_env()
        return env.from_string(template).render(context) or None
    except Exception:
        return None


def _params(context: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    params = context.get("params") or {}
    try:
        raw = params.dump() if hasattr(params, "dump") else dict(params)
    except Exception:
        return ()
    return tuple(sorted(raw.items()))


def task_where(context: Mapping[str, Any] | None) -> TaskWhere:
    """The task instance of an Airflow context (the running task's when ``context`` is None)."""
    context = _context_now() if context is None else context
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    map_index = getattr(ti, "map_index", -1)
    return TaskWhere(
        dag_id=getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None),
        task_id=getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", None),
        run_id=getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None) or context.get("run_id"),
        map_index=map_index if isinstance(map_index, int) else -1,
        label=_map_label(context, ti),
        try_number=getattr(ti, "try_number", None),
        max_tries=getattr(ti, "max_tries", None),
        params=_params(context),
    )


def _place(e: BaseException) -> str | None:
    """Where in a file an error is (a ReturnParseError's file, sheet, cell or line and column), if it says."""
    file, sheet, cell = getattr(e, "file", None), getattr(e, "sheet", None), getattr(e, "cell", None)
    line, column = getattr(e, "line", None), getattr(e, "column", None)
    if not any(isinstance(v, (str, int)) or hasattr(v, "name") for v in (file, sheet, cell, line)):
        return None
    bits = [f"file {getattr(file, 'name', None) or file}"] if file else []
    if sheet:
        bits.append(f"sheet {sheet}")
    if cell:
        row = re.search(r"(\d+)$", str(cell))
        bits.append(f"cell {cell}" + (f" (row {row.group(1)})" if row else ""))
    if line is not None:
        bits.append(f"line {line}")
    if column is not None:
        bits.append(f"column {column}")
    return ", ".join(bits) or None


def _problem_name(problem: Mapping[str, Any]) -> str:
    m = _INDICATOR_IN_TEXT.search(str(problem.get("error_summary") or ""))
    return f"indicator {m.group(1)}" if m else str(problem.get("source_ref"))


def failure_subject(exc: BaseException, where: TaskWhere, subject: str | None = None) -> str:
    """For which file, indicator or quarter a task failed: the task's own ``subject``, its map label, the place an
    error names (file, sheet, cell or line), the indicators of a request, the run's params and the quarters the
    error's text names; "the run as a whole" when none applies."""
    parts: list[str] = []

    def add(part: str | None) -> None:   # the map label is in the task's name already
        if part and not any(part in p for p in parts) and part != where.label:
            parts.append(part)

    add(subject)
    chain = error_chain(exc)
    add(next((p for p in map(_place, chain) if p), None))
    problems = next((e.problems for e in chain if getattr(e, "problems", None)), None)
    if problems:   # fail_if_problems: the files or indicators that did not load
        names = [_problem_name(p) for p in problems]
        add(", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else ""))
    for e in chain:
        m = _INDICATOR_IDS_IN_URL.search(str(getattr(e, "url", "") or ""))
        if m and not where.label:
            add("indicators " + m.group(1).replace("%2C", ",").replace("%2c", ","))
            break
    if where.param("file"):
        add(f"file {where.param('file')}")
    for key in ("quarter", "as_of"):
        if where.param(key):
            add(f"quarter {where.param(key)}")
    if where.param("indicator_ids") and not where.label:
        add("indicators " + ", ".join(str(i) for i in where.param("indicator_ids")))
    text = " ".join(_text(e) for e in chain)
    said = " ".join(parts)
    for quarter in dict.fromkeys(_QUARTER_LABEL.findall(text)):
        if quarter not in said:
            add(f"quarter {quarter}")
    if "indicator" not in said:
        for number in list(dict.fromkeys(_INDICATOR_IN_TEXT.findall(text)))[:3]:
            add(f"indicator {number}")
    return ", ".join(parts) or where.label or "the run as a whole"


def _one_line(text: str, limit: int = 400) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("(Background on")]
    if not lines:
        return ""
    line = lines[0]
    if len(lines) > 1 and line.endswith(":"):   # "Some returns did not load:" then one line each
        line = f"{line} {lines[1]}" + (f" (and {len(lines) - 2} more)" if len(lines) > 2 else "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def error_summary(exc: BaseException) -> str:
    """The error in one line, with its type: the original error behind a fail-now wrapper."""
    e = exc.__cause__ if "AirflowFailException" in _names(exc) and exc.__cause__ is not None else exc
    return f"{type(e).__name__}: {_one_line(_text(e))}".rstrip(": ")


def fails_now(exc: BaseException) -> bool:
    """Whether Airflow fails the task at once for ``exc`` (no retry)."""
    return bool(_names(exc) & _FAIL_NOW)


def _advice(exc: BaseException, where: TaskWhere) -> str:
    from public_health.airflow_support.watcher import WATCHER_TASK_ID

    if where.task_id == WATCHER_TASK_ID:
        return ("see the alert and log of the task that failed; once it succeeds (clear it after removing the cause), "
                "clear this watcher too and the run can end green")
    for e in error_chain(exc):
        names = _names(e)
        if getattr(e, "problems", None):
            return ("open each report named above and correct the file (or ask the provider or publisher for a "
                    "corrected one); a corrected file or new content loads on a later run")
        if "ReturnParseError" in names:
            return ("correct the cell named above (or ask the provider for a corrected file) and save the file to "
                    "the shared drive again; the next run picks it up")
        if "HistoryImportError" in names:
            return "check the run's file param (a .csv or .xlsx the scheduler can read) and trigger the DAG again"
        if "PeriodParseError" in names:
            return "give the quarter as a label such as 2017-18-Q2 and trigger the DAG again"
        if "ConfigError" in names:
            return "correct the setting named above in config/ (or its environment override), then clear the task"
        if "MigrationError" in names:
            return ("do what the migration error says (an applied migration is never edited: add a new one), "
                    "then clear the task")
        if "SuiteError" in names:
            return "correct the expectation suite named above in include/expectations/, then clear the task"
        if "ReportError" in names:
            return ("load what the report lacks for this quarter (or choose another quarter), then clear the task "
                    "or trigger the DAG again")
        if "FingertipsError" in names:
            if getattr(e, "permanent", False):
                return ("check the request named above (indicator ids, area types, base URL): Fingertips will not "
                        "serve it as asked, so correct it, then clear the task")
            return ("the Fingertips API did not answer properly (network, timeout, 429 or 5xx); if it keeps "
                    "failing, check the API is up, then clear the task")
        if "RefreshError" in names:
            return "remove the cause the message names, then clear the task (a retry cannot help)"
        if "OperationalError" in names:
            return ("check that the warehouse database is up and its URL (WAREHOUSE_URL) is right, then clear "
                    "the task")
    if fails_now(exc):
        return "remove the cause named above, then clear the task to run it again (a retry cannot help)"
    return "remove the cause named above, then clear the task to run it again"


@dataclass(frozen=True)
class FailureReport:
    """A task's failure told for people: which task, for what (file, indicator, quarter), the error in one line,
    what to do, and all of it as the one ``line`` the task's log ends with."""

    where: TaskWhere
    subject: str
    error: str
    what_to_do: str
    line: str


def describe_failure(exc: BaseException, where: TaskWhere, subject: str | None = None) -> FailureReport:
    """What failed, for which file, indicator or quarter, why, and what to do. A DuckDB lock conflict says who
    holds the warehouse file, that the load succeeds when re-run once that connection is closed, and how to read
    the warehouse without blocking loads. ``subject`` defaults to the one given to :func:`explain_failure`."""
    subject = subject or next((getattr(e, _SUBJECT_ATTR) for e in error_chain(exc) if hasattr(e, _SUBJECT_ATTR)),
                              None)
    what = failure_subject(exc, where, subject)
    head = f"FAILED {where.name} for {what}"
    retry = where.retries_left and not fails_now(exc)
    tries = f"try {where.try_number} of {(where.max_tries or 0) + 1}"
    lock = warehouse_lock(exc)
    if lock is not None:
        error = f"the warehouse file {lock.file} is held by {lock.holder}, so this task could not open it"
        again = (f" (Airflow retries it: this was {tries})" if retry
                 else ": close it, then clear this task in the Airflow UI")
        todo = (
            f"The load will succeed when re-run after that connection is closed{again}. To read the warehouse "
            f"without blocking loads, open a copy: cp {lock.file} /tmp/wh.duckdb && duckdb -readonly "
            f"/tmp/wh.duckdb (or use PostgreSQL's analyst role)."
        )
        return FailureReport(where, what, error, todo, f"{head}: {error}. {todo}")
    error = error_summary(exc)
    todo = _advice(exc, where)
    if retry:
        todo += f" (Airflow retries it first: this was {tries})"
    elif fails_now(exc):
        todo += " (failed at once: not retried)"
    return FailureReport(where, what, error, todo, f"{head}: {error}. What to do: {todo}.")


def failure_line(exc: BaseException, where: TaskWhere, subject: str | None = None) -> str:
    """The one line a failed task's log ends with (:func:`describe_failure`)."""
    return describe_failure(exc, where, subject).line


def _remember(exc: BaseException, line: str, subject: str | None) -> None:
    try:
        if not hasattr(exc, _LINE_ATTR):
            exc.add_note(line)   # shown after the traceback wherever it is printed
        setattr(exc, _LINE_ATTR, line)
        if subject:
            setattr(exc, _SUBJECT_ATTR, subject)
    except (AttributeError, TypeError):  # an exception type that takes no attributes: the log line is enough
        pass


@contextmanager
def explain_failure(subject: str | None = None, context: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Wrap a task's body: when it raises, log at ERROR the one line saying what failed, for which file,
    indicator or quarter (``subject``, e.g. ``"file returns/x.xlsx"``; else what the task's map label, params
    and the error name), and what to do; then re-raise the same error, so Airflow decides retry or fail-now as
    before. Put it outside ``no_retry_when_permanent``:
    ``with explain_failure(), no_retry_when_permanent(), warehouse() as (settings, engine): ...``.
    Skips, deferrals and reschedules pass through without a line. ``airflow_support.alerts.failure_notifier``
    logs the same line again after Airflow's traceback, as the log's last line."""
    try:
        yield
    except Exception as exc:
        if _names(exc) & _NOT_FAILURES:
            raise
        line = failure_line(exc, task_where(context), subject)
        log.error("%s", line)
        _remember(exc, line, subject)
        raise
