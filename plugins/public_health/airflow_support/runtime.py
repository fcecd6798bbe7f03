"""What a task needs at run time: settings, the warehouse engine and who is running."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from public_health.config import Settings, load_settings
from public_health.periods import FinancialQuarter, PeriodParseError
from public_health.warehouse.audit import RunContext


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


@contextmanager
def no_retry_when_permanent() -> Iterator[None]:
    """Re-raise an error that says it is ``permanent`` (an HTTP 4xx from Fingertips, a configuration problem) as
    Airflow's AirflowFailException, so the task fails at once instead of retrying what cannot change."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, "permanent", False):
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
    raise AirflowFailException(f"Some {what} did not load:\n" + "\n".join(lines + list(notes or [])))
