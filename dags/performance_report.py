"""The quarterly Division of Public Health Performance Report, built from the warehouse."""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from public_health.airflow_support import DEFAULT_OWNER, KPI_FACTS, PHOF_FACTS, WAREHOUSE_POOL
from public_health.airflow_support.alerts import alert_default_args
from public_health.config import settings as _settings

DOC = """
### Performance report

**Schedule:** quarterly, six weeks after each quarter ends, when returns are due
(`schedules.performance_report`, Europe/London), and whenever both the `phof_indicator_values` and
`provider_kpi_values` assets have been updated (then only once every expected return for the quarter is in).

**Inputs:** the warehouse (`core.fact_kpi_value`, `core.fact_indicator_value`, the return tracker),
`config/services/` (pages, KPIs, targets, comments), `config/overrides/<quarter>.yaml`.
Param `quarter` (e.g. `2017-18-Q2`; empty: the last quarter that has ended).

**Outputs:** `output/reports/performance/<YYYY-YY>-Q<n>/report.html`, `report.pdf`, `report-data.xlsx`, and a
row in `audit.report_build` with the load batches used and each file's sha256.


Builds the quarterly **Division of Public Health Performance Report** from the warehouse: a summary of
every commissioned service with its overall RAG rating, then a page per service with its provider
and purpose, relevant PHOF indicators (latest value, England value, significance and direction of
travel computed from the confidence intervals), the KPI table (Target / Actual / Actual to date by
financial-year quarter), a chart of actual against target, comments on performance, key actions, and
every data-quality warning about the service's return. A service whose return is missing or
quarantined is rated **Grey**, as the report's own legend defines it. Manual overrides come from
`config/overrides/<quarter>.yaml` and are shown beside the computed rating with their reason.

Runs six weeks after each quarter ends (when returns are due), and whenever both the PHOF and KPI
assets have been updated — then only once every expected return for the quarter is in. The
`quarter` param (e.g. `2017-18-Q2`) builds any past quarter on demand; empty means the last quarter
that has ended. A quarter with no data at all is refused rather than rendered empty.

**Tasks:** **choose_quarter** (the param, or the last quarter ended; on an asset trigger, waits until every
expected return is in), then **build** (pool `warehouse`).

**When it fails:** the log ends with one line naming the quarter and what is wrong. "No provider returns ... refusing
to build an empty report" means the quarter has no data yet: this is what an unpaused DAG's first scheduled
run does for the current quarter; trigger with `quarter` set to a quarter the warehouse holds. A missing or
quarantined return does not fail the build: that service is rated Grey, as the report's legend defines it.
"""

_cfg = _settings()


@dag(
    dag_id="performance_report",
    description="Quarterly Division of Public Health Performance Report (HTML, PDF, XLSX)",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(_cfg.schedules.performance_report, timezone=_cfg.schedules.timezone),
        assets=(PHOF_FACTS & KPI_FACTS),
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=_cfg.schedules.timezone),
    catchup=False,
    max_active_runs=1,
    tags=["report", "performance", "quarterly"],
    doc_md=DOC,
    default_args={"owner": DEFAULT_OWNER, "retries": 0, **alert_default_args()},
    params={
        "quarter": Param("", type="string", pattern=r"^(\d{4}-\d{2}-Q[1-4])?$",
                         description="Financial-year quarter to build, e.g. 2017-18-Q2 (empty: the last ended)"),
    },
)
def performance_report():
    @task(pool=WAREHOUSE_POOL)
    def choose_quarter() -> str:
        from airflow.sdk.exceptions import AirflowSkipException

        from public_health.airflow_support.runtime import quarter_of_run, task_settings, warehouse

        context = get_current_context()
        quarter = quarter_of_run(context, task_settings())
        dag_run = context.get("dag_run")
        if getattr(dag_run, "run_type", None) == "asset_triggered":
            from public_health.reports.performance.data import outstanding_returns
            from public_health.returns.services import report_services

            with warehouse() as (_settings, engine):
                waiting = outstanding_returns(engine, quarter, report_services())
            if waiting:
                raise AirflowSkipException(
                    f"{len(waiting)} return(s) for {quarter} are not in yet ({', '.join(waiting)}): the report "
                    "waits for all of them (or for its quarterly schedule)"
                )
        return quarter.label

    @task(pool=WAREHOUSE_POOL)
    def build(quarter: str) -> dict:
        from public_health.airflow_support.runtime import run_context, warehouse
        from public_health.periods import FinancialQuarter
        from public_health.reports.performance.build import build_report

        with warehouse() as (settings, engine):
            return build_report(engine, settings, FinancialQuarter.parse(quarter), run_context(get_current_context()))

    build(choose_quarter())


performance_report_dag = performance_report()
