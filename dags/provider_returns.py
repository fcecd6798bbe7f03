"""Provider quarterly returns from the shared drive into the warehouse, every 30 minutes and on demand."""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, TaskGroup, dag, get_current_context, task

from public_health.airflow_support import DEFAULT_OWNER, KPI_FACTS, WAREHOUSE_POOL
from public_health.airflow_support.alerts import alert_default_args
from public_health.airflow_support.watcher import watch
from public_health.config import settings as _settings

DOC = """
### Provider returns

**Schedule:** every 30 minutes (`schedules.provider_returns`, Europe/London), and on demand. A run with
nothing new on the share is a quick no-op.

**Inputs:** the quarterly returns commissioned providers drop on the shared drive (`PH_SHARED_DRIVE`,
`returns.shared_drive`): the XLSX template (`make templates QUARTER=...`) or a long CSV export; the services,
KPIs and targets of `config/services/`.

**Outputs:** `core.fact_kpi_value` (revisions in `core.fact_kpi_value_history`), the return tracker
`mart.return_status` (received, late, missing, rejected), `mart.return_files`, the `provider_kpi_values`
asset, every original in `data/landing/returns/<sha>/`, quarantine reports in
`data/quarantine/provider_return/<sha>/report.md`, blank templates in `output/templates/<quarter>/`.

**Tasks, by stage** (task groups):

1. **extract.sync_config**: services, providers, KPIs and the returns expected of them.
   **extract.write_templates** writes blank return workbooks for the latest expected quarter (once).
   **extract.scan**: new or changed files on the share. Lock files (`~$*.xlsx`), temporary and hidden files
   are ignored; a file still being written (changed within `returns.settle_seconds`) waits for the next run;
   files already taken are not read again.
2. **check_and_load.process_files** (pool `warehouse`): one file after another, oldest first, so a
   resubmission always lands after what it replaces: copy to landing (the share is never modified), parse,
   the checks (`include/expectations/provider_kpi_values.json`), then load in one transaction. Checking and
   loading are one task because each file's checks compare it with what the earlier files of the run loaded.
   A file that fails is **quarantined**: its `report.md` lists each failure with sheet, cell, value, rule and
   fix; nothing of it loads. A corrected file is picked up automatically. New content for a service and
   quarter already loaded is a resubmission: it supersedes the earlier figures, which go to history.
3. **publish.emit_asset**: emits `provider_kpi_values` when any return loaded.
   **publish.summarise**: fails the run, naming each quarantined file and its report, and sends one digest
   of the run's quarantined files and late or missing returns (not one message per file).
4. **watcher**: fails the run whenever any task failed, so the summary never turns a failed run green.

**When it fails:** the failed task's log ends with one line naming the file (and sheet, row, column where
known) and what to do; the same is emailed, or logged with no SMTP connection. Typical cases:
- *quarantined file*: send the provider its `report.md`; their corrected file is taken on the next run;
- *unknown service or quarter*: the file name or cover sheet does not match `config/services/`: fix the
  file's name or add the service;
- *warehouse locked* (DuckDB): the log names the process holding the file; close it and clear the task.

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
    default_args={"owner": DEFAULT_OWNER, "retries": 0, **alert_default_args()},
)
def provider_returns():
    @task(pool=WAREHOUSE_POOL)
    def sync_config() -> dict:
        from public_health.airflow_support.runtime import sync_services_config

        return sync_services_config(get_current_context())

    @task
    def write_templates(_synced: dict) -> list[str]:
        """Blank return workbooks for the latest quarter expected (kept once written)."""
        from public_health.airflow_support.runtime import run_date, task_settings
        from public_health.pipelines.provider_returns import track_until
        from public_health.pipelines.provider_returns import write_templates as run

        settings = task_settings()
        quarter = track_until(settings, run_date(get_current_context(), settings))
        return [str(p) for p in run(settings, quarter)]

    @task(pool=WAREHOUSE_POOL)
    def scan(_synced: dict) -> list[dict]:
        from public_health.airflow_support.runtime import warehouse
        from public_health.pipelines.provider_returns import scan as run

        with warehouse() as (settings, engine):
            return [c.to_dict() for c in run(settings, engine).new]

    @task(pool=WAREHOUSE_POOL)
    def process_files(candidates: list[dict]) -> list[dict]:
        """One file after another, oldest first: a resubmission must land after what it replaces."""
        from public_health.airflow_support.runtime import run_context, warehouse
        from public_health.pipelines.provider_returns import process_files as run
        from public_health.returns.discovery import Candidate

        files = [Candidate.from_dict(c) for c in candidates]
        with warehouse() as (settings, engine):
            outcomes = run(settings, engine, files, run_context(get_current_context()))
        return [o.to_dict() for o in outcomes]

    @task(outlets=[KPI_FACTS], trigger_rule="all_done", pool=WAREHOUSE_POOL)
    def emit_asset() -> dict:
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

    @task(trigger_rule="all_done", pool=WAREHOUSE_POOL)
    def summarise() -> dict:
        from public_health.airflow_support.alerts import return_tracker, send_run_digest
        from public_health.airflow_support.runtime import fail_if_problems, run_context, warehouse
        from public_health.pipelines.provider_returns import run_summary

        context = get_current_context()
        with warehouse() as (settings, engine):
            summary = run_summary(engine, run_context(context).run_id)
            tracker = return_tracker(settings, engine, context)
        send_run_digest(summary, tracker, context)   # one message for the run's quarantined, late and missing returns
        fail_if_problems(summary["problems"], "returns")
        return summary

    with TaskGroup("extract", tooltip="Services and expected returns, blank templates, new files on the share"):
        synced = sync_config()
        write_templates(synced)
        found = scan(synced)
    with TaskGroup("check_and_load", tooltip="Each file in order: land, parse, check, load or quarantine"):
        processed = process_files(found)
    with TaskGroup("publish", tooltip="The provider_kpi_values asset and the run's summary"):
        processed >> [emit_asset(), summarise()]


provider_returns_dag = watch(provider_returns())
