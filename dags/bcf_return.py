"""The Better Care Fund quarterly return and board summary."""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from public_health.airflow_support import DEFAULT_OWNER, KPI_FACTS, PHOF_FACTS, WAREHOUSE_POOL
from public_health.airflow_support.alerts import alert_default_args
from public_health.config import settings as _settings

DOC = """
### BCF return

**Schedule:** quarterly, once each quarter's return window has closed (`schedules.bcf_return`,
Europe/London), and on demand. Param `quarter` (e.g. `2016-17-Q2`; empty: the last quarter that has ended).

**Inputs:** the warehouse (Fingertips indicators and local returns: the `phof_indicator_values` and
`provider_kpi_values` assets, shown as the build's inlets in the asset graph) and the planning year's
`config/bcf/<year>.yaml` with the HWB papers' figures.


Builds the Health and Wellbeing Board's **Better Care Fund** quarterly return for the planning year's
metric set (`config/bcf/<year>.yaml`, one file per planning year): plan against actual by quarter and
year to date, variance, and whether each metric is on track; the national conditions to confirm; the
narrative and sign-off fields. Actuals come from the warehouse (a Fingertips indicator or a local
return); a metric whose actual is missing carries a visible gap note saying why, never a blank or 0.

**Outputs** under `output/bcf/<YYYY-YY>-Q<n>/`: `bcf-return.xlsx` (Cover with sign-off, Metrics, National
Conditions, Narrative, and where the year's papers give them NEA plan (the CCG rows as printed) and P4P and
risk share; input cells yellow and unlocked, calculated cells locked), `board-summary.html` and
`board-summary.pdf` (one page; every figure from the HWB papers cites its paper and line, per
`config/bcf/papers.yaml`). Each build is recorded in `audit.report_build`.

**Tasks:** one, **build** (pool `warehouse`): assemble, check, write the files, record the build.

**When it fails:** the log ends with one line naming the quarter and what is wrong: usually a quarter with no
`config/bcf/<year>.yaml` (add the planning year's metrics from its papers) or no data in the warehouse yet.
"""

_cfg = _settings()


@dag(
    dag_id="bcf_return",
    description="Better Care Fund quarterly return (XLSX) and board summary (HTML, PDF)",
    # settings.yaml schedules.bcf_return: once each quarter's return window has closed.
    schedule=CronTriggerTimetable(_cfg.schedules.bcf_return, timezone=_cfg.schedules.timezone),
    start_date=pendulum.datetime(2026, 1, 1, tz=_cfg.schedules.timezone),
    catchup=False,
    max_active_runs=1,
    tags=["report", "bcf", "quarterly"],
    doc_md=DOC,
    default_args={"owner": DEFAULT_OWNER, "retries": 0, **alert_default_args()},
    params={"quarter": Param("", type="string", pattern=r"^(\d{4}-\d{2}-Q[1-4])?$",
                             description="Financial-year quarter, e.g. 2016-17-Q2 (empty: the last ended)")},
)
def bcf_return():
    @task(pool=WAREHOUSE_POOL, inlets=[PHOF_FACTS, KPI_FACTS])
    def build() -> dict:
        from public_health.airflow_support.runtime import quarter_of_run, run_context, warehouse
        from public_health.reports.bcf.build import build_return

        context = get_current_context()
        with warehouse() as (settings, engine):
            return build_return(engine, settings, quarter_of_run(context, settings), run_context(context))

    build()


bcf_return_dag = bcf_return()
