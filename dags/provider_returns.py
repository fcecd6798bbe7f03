"""Provider quarterly returns from the shared drive into the warehouse, every 30 minutes and on demand."""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from public_health.airflow_support import DEFAULT_OWNER, KPI_FACTS, WAREHOUSE_POOL
from public_health.airflow_support.watcher import watch
from public_health.config import settings as _settings

DOC = """
### Provider returns (every 30 minutes, and on demand)

Picks up the quarterly returns commissioned providers drop on the shared drive, reads them however
the provider filled them in, checks them, loads them, keeps every original, and keeps the return
tracker (`mart.return_status`) up to date.

1. **sync_config**: services, providers, KPIs and the returns expected of them (`config/services/`).
   **write_templates** puts blank return workbooks for the latest expected quarter in
   `output/templates/<quarter>/` for providers (once; `make templates QUARTER=...` for any quarter).
2. **scan**: new or changed files on the shared drive (`returns.shared_drive`). Lock files (`~$*.xlsx`),
   temporary and hidden files are ignored; a file still being written (changed within
   `returns.settle_seconds`) waits for the next run. Files already taken are not read again, so a run
   with nothing new is a quick no-op.
3. **process** (pool `warehouse`; one file after another, oldest first, so a resubmission always lands
   after what it replaces): copy to `data/landing/returns/<sha>/` (the share is
   never modified), parse (XLSX template or long CSV), run the checks
   (`include/expectations/provider_kpi_values.json`), then load in one transaction. A file that fails
   is **quarantined**: `data/quarantine/provider_return/<sha>/report.md` lists each failure with sheet,
   cell, value, rule and fix; nothing of it loads. A corrected file is picked up automatically. New
   content for a service and quarter already loaded is a resubmission: it supersedes the earlier
   figures, which go to `core.fact_kpi_value_history`. The same content again is `unchanged`.
4. **publish**: emits the `provider_kpi_values` asset when any return loaded.
5. **summarise**: fails the run, naming each quarantined file and its report, so it shows in the UI.
6. **watcher**: fails the run whenever any task failed (sync_config, scan, process ...), so the summary
   tasks, which run after a failure too, never turn a failed run green.

Analysts query `mart.kpi_quarterly`, `mart.return_status` and `mart.return_files`.
"""

_cfg = _settings()


@dag(
    dag_id="provider_returns",
    description="Provider quarterly returns from the shared drive: land, parse, check, load or quarantine",
    schedule=CronTriggerTimetable(_cfg.schedules.provider_returns, timezone=_cfg.schedules.timezone),
    start_date=pendulum.datetime(2026, 1, 1, tz=_cfg.schedules.timezone),
    catchup=False,
    max_active_runs=1,
    tags=["provider-returns", "kpi", "shared-drive", "warehouse"],
    doc_md=DOC,
    default_args={"owner": DEFAULT_OWNER, "retries": 0},
)
def provider_returns():
    @task(pool=WAREHOUSE_POOL)
    def sync_config() -> dict:
        from public_health.airflow_support.runtime import run_date, warehouse
        from public_health.pipelines.provider_returns import sync_config as run

        context = get_current_context()
        with warehouse() as (settings, engine):
            return run(settings, engine, run_date(context, settings))

    @task
    def write_templates(_synced: dict) -> list[str]:
        """Blank return workbooks for the latest quarter expected (kept once written)."""
        from public_health.airflow_support.runtime import run_date, task_settings
        from public_health.pipelines.provider_returns import track_until
        from public_health.pipelines.provider_returns import write_templates as run

        settings = task_settings()
        quarter = track_until(settings, run_date(get_current_context(), settings))
        return [str(p) for p in run(settings, quarter)]

    @task
    def scan(_synced: dict) -> list[dict]:
        from public_health.airflow_support.runtime import warehouse
        from public_health.pipelines.provider_returns import scan as run

        with warehouse() as (settings, engine):
            return [c.to_dict() for c in run(settings, engine).new]

    @task(pool=WAREHOUSE_POOL)
    def process(candidates: list[dict]) -> list[dict]:
        """One file after another, oldest first: a resubmission must land after what it replaces."""
        from public_health.airflow_support.runtime import run_context, warehouse
        from public_health.pipelines.provider_returns import process_files
        from public_health.returns.discovery import Candidate

        files = [Candidate.from_dict(c) for c in candidates]
        with warehouse() as (settings, engine):
            outcomes = process_files(settings, engine, files, run_context(get_current_context()))
        return [o.to_dict() for o in outcomes]

    @task(outlets=[KPI_FACTS], trigger_rule="all_done")
    def publish() -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from public_health.airflow_support.runtime import run_context, warehouse
        from public_health.pipelines.provider_returns import run_summary

        context = get_current_context()
        with warehouse() as (settings, engine):
            summary = run_summary(engine, run_context(context).run_id)
        loaded = sum(n for status, n in summary["files"].items() if status.startswith("loaded"))
        if not loaded:
            raise AirflowSkipException(f"no return loaded in this run: {summary['files'] or 'nothing new'}")
        context["outlet_events"][KPI_FACTS].extra = {"files": summary["files"]}
        return summary

    @task(trigger_rule="all_done")
    def summarise() -> dict:
        from public_health.airflow_support.runtime import fail_if_problems, run_context, warehouse
        from public_health.pipelines.provider_returns import run_summary

        with warehouse() as (_settings, engine):
            summary = run_summary(engine, run_context(get_current_context()).run_id)
        fail_if_problems(summary["problems"], "returns")
        return summary

    synced = sync_config()
    write_templates(synced)
    processed = process(scan(synced))
    processed >> [publish(), summarise()]


provider_returns_dag = watch(provider_returns())
