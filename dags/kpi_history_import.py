"""KPI history from a team's spreadsheet into the warehouse, on demand, through the provider returns' checks."""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, TaskGroup, dag, get_current_context, task

from public_health.airflow_support import DEFAULT_OWNER, WAREHOUSE_POOL
from public_health.airflow_support.alerts import alert_default_args
from public_health.airflow_support.watcher import watch
from public_health.config import settings as _settings

DOC = """
### KPI history import

**Schedule:** none: on demand only (Trigger DAG w/ config, with the file's path).

**Inputs:** one KPI history file (param `file`, described below) and `config/services/`.

**Outputs:** figures in `core.fact_kpi_value` (superseded ones in `core.fact_kpi_value_history`, each row's
note kept), the original in `data/landing/history/<sha>/`, a quarantine report when the file fails, one row in
`audit.load_batch` (source `kpi_history_import`).

Teams arrive with years of KPI history in spreadsheets. Trigger this DAG with the path of one history
file to load it into `core.fact_kpi_value` like a provider return: the same checks, the same quarantine,
the same revision history.

The file is long, one figure per row, with exactly the columns `service, kpi, period, measure, value,
note` (any order and case): a CSV in UTF-8 (with or without BOM) or a workbook (the sheet named `history`,
else the first). `period` is a financial-year quarter (`2015-16-Q1`, `2015/16 Q1`, `Q1 2015-16`) or a
financial year (`2015-16`, `2015/16`, stored as `2015-16`); `measure` is target, actual, actual to date,
numerator or denominator (the report's "Target to date" is a target); `value` is a number as printed
(`1,188`, `90%`, `£1,234`) or the report's word for a missing figure (Pending, tbc, n/a, ...), kept as a
reason, never 0.

Params: **file** (required; an absolute path, or one relative to the project folder) and **as_of**
(a quarter like `2017-18-Q2`; empty: the last quarter that ended before the run's date). No figure but a
target may be for a period after `as_of`.

**Tasks, by stage** (task groups):

1. **extract.sync_config**: services, providers and KPIs from `config/services/` (as the provider returns DAG).
   **extract.choose_as_of**: the `as_of` quarter (a param that is not a quarter fails the run at once).
2. **check_and_load.import_file** (pool `warehouse`): copy to `data/landing/history/<sha>/`, read, stage and check with
   `include/expectations/provider_kpi_values.json`, then load in one transaction (figures merged, superseded
   ones kept in `core.fact_kpi_value_history`, each row's note kept), recorded in `audit.load_batch` with
   source `kpi_history_import`. The same file again is `unchanged`; a changed file updates only what changed.
   A file that fails is **quarantined whole** (`data/quarantine/kpi_history_import/<sha>/report.md` names
   each line and what to fix) and the run fails with a one-line message naming the file and the report.
3. **watcher**: fails the run whenever any task failed.

**When it fails:** the failed task's log ends with one line naming the file and its report, and the same is
emailed (or logged). Fix the lines the report names (or the file's path or `as_of` param) and trigger again;
the quarantined file is kept as received.

The same import runs from the command line:
`python -m public_health.pipelines.history_import FILE --as-of 2017-18-Q2`.
"""

_cfg = _settings()


@dag(
    dag_id="kpi_history_import",
    description="Import a KPI history file (CSV/XLSX) through the provider returns' checks, on demand",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz=_cfg.schedules.timezone),
    catchup=False,
    max_active_runs=1,
    tags=["provider-returns", "kpi", "history", "warehouse"],
    doc_md=DOC,
    default_args={"owner": DEFAULT_OWNER, "retries": 0, **alert_default_args()},
    params={
        "file": Param(type="string", minLength=1,
                      description="Path of the history file (.csv or .xlsx): absolute, or relative to the project"),
        "as_of": Param("", type="string", pattern=r"^(\d{4}-\d{2}-Q[1-4])?$",
                       description="The quarter the history runs to, e.g. 2017-18-Q2 (empty: the last ended)"),
    },
)
def kpi_history_import():
    @task(pool=WAREHOUSE_POOL)
    def sync_config() -> dict:
        from public_health.airflow_support.runtime import sync_services_config

        return sync_services_config(get_current_context())

    @task
    def choose_as_of() -> str:
        from public_health.airflow_support.runtime import quarter_of_run, task_settings

        context = get_current_context()
        as_of = (context.get("params") or {}).get("as_of") or ""
        # quarter_of_run reads a "quarter" param: give it this DAG's as_of (empty: the last quarter ended)
        return quarter_of_run({**context, "params": {"quarter": as_of}}, task_settings()).label

    @task(pool=WAREHOUSE_POOL)
    def import_file(as_of: str, _synced: dict) -> dict:
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowFailException

        from public_health.airflow_support.runtime import no_retry_when_permanent, run_context, warehouse
        from public_health.config import PROJECT_ROOT
        from public_health.periods import FinancialQuarter
        from public_health.pipelines.history_import import import_history

        context = get_current_context()
        path = Path(context["params"]["file"]).expanduser()
        path = path if path.is_absolute() else PROJECT_ROOT / path
        with no_retry_when_permanent(), warehouse() as (settings, engine):
            result = import_history(settings, engine, path, FinancialQuarter.parse(as_of), run_context(context))
        if result.status == "quarantined":
            raise AirflowFailException(f"{path} quarantined, nothing loaded: see {result.report}")
        return result.to_dict()

    with TaskGroup("extract", tooltip="Services and KPIs, and the quarter the history runs to"):
        as_of, synced = choose_as_of(), sync_config()
    with TaskGroup("check_and_load", tooltip="Read, stage, check and load the file in one transaction, or quarantine"):
        import_file(as_of, synced)


kpi_history_import_dag = watch(kpi_history_import())
