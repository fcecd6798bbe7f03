"""Nightly Fingertips refresh: PHOF indicators into the warehouse."""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from public_health.airflow_support import DEFAULT_OWNER, PHOF_FACTS, WAREHOUSE_POOL
from public_health.airflow_support.watcher import watch
from public_health.config import settings as _settings

DOC = """
### Fingertips refresh (nightly, 02:00 Europe/London)

Keeps the warehouse's Public Health Outcomes Framework indicators up to date for every upper-tier
local authority (Leicestershire, Leicester and Rutland among them), their regions, England, and
the CIPFA nearest neighbours.

1. **sync_metadata**: areas, comparators (England, region, nearest neighbours) and indicator
   metadata (unit, value type, polarity, last data upload date) into `core`.
2. **select_batches**: indicators whose Fingertips upload is newer than what the warehouse holds
   (all of them with `full_refresh`; `indicator_ids` narrows a manual run). Batches with nothing new
   are recorded in `audit.load_batch` as `unchanged` and not downloaded.
3. **download** (one task per batch): `all_data/csv/by_indicator_id` streamed to `data/landing/fingertips/`
   with its sha256, kept as received. Network errors, 429 and 5xx are retried with backoff; a permanent
   answer (4xx) fails the task at once, without Airflow retries.
4. **validate**: parse once, then **each indicator on its own** (the unit of quarantine is one indicator x
   area type x parent): staged with derived columns, hashed (sha256 of its rows) and put through the Great
   Expectations gate (`include/expectations/fingertips_indicator_values.json`). Errors (missing keys,
   unparseable values, unknown areas, duplicate keys, inverted intervals) **quarantine that indicator
   alone**: `data/quarantine/fingertips/<sha>/indicator-<id>/report.md` says what failed, why, and what to
   do; the others go on. Publisher conventions (limits rounded apart from values, category rows, suppressed
   values) are warnings with examples. A quarantined indicator stays **held** while its content is the same;
   later runs report it (and since when) without failing again. An empty or header-only download for an
   indicator that has data fails, naming the URL.
5. **load** (pool `warehouse`): one transaction per indicator; changed rows go to
   `core.fact_indicator_value_history` first. An indicator's last-upload date advances only when its data is in core.
6. **publish**: emits the `phof_indicator_values` asset when anything changed.
7. **summarise**: lists indicators held in quarantine and since when; fails, naming indicators and reports, if
   anything was newly quarantined or failed.
8. **watcher**: fails the run whenever any task failed, so a summary never turns a failed run green.

Query the results in `mart.phof_latest` and `mart.phof_trend`; every attempt is in `audit.load_batch`.
"""

_cfg = _settings()


@dag(
    dag_id="fingertips_refresh",
    description="Nightly PHOF indicators from the Fingertips API into the warehouse",
    schedule=CronTriggerTimetable(_cfg.schedules.fingertips_refresh, timezone=_cfg.schedules.timezone),
    start_date=pendulum.datetime(2026, 1, 1, tz=_cfg.schedules.timezone),
    catchup=False,
    max_active_runs=1,
    tags=["fingertips", "phof", "nightly", "warehouse"],
    doc_md=DOC,
    default_args={
        "owner": DEFAULT_OWNER,
        "retries": 0,
        "retry_delay": pendulum.duration(minutes=5),
    },
    params={
        "full_refresh": Param(False, type="boolean", description="Download every tracked indicator, changed or not"),
        "indicator_ids": Param(
            [],
            type="array",
            items={"type": "integer"},
            description="Only these Fingertips indicator ids (empty: all tracked)",
        ),
    },
)
def fingertips_refresh():
    @task(retries=2, pool=WAREHOUSE_POOL)
    def sync_metadata() -> dict:
        from public_health.airflow_support.runtime import no_retry_when_permanent, warehouse
        from public_health.pipelines.fingertips_refresh import sync_metadata as run

        with no_retry_when_permanent(), warehouse() as (settings, engine):
            return run(settings, engine)

    @task(pool=WAREHOUSE_POOL)
    def select_batches(_synced: dict) -> list[dict]:
        from public_health.airflow_support.runtime import no_retry_when_permanent, run_context, warehouse
        from public_health.pipelines.fingertips_refresh import select_batches as run

        context = get_current_context()
        params = context["params"]
        with no_retry_when_permanent(), warehouse() as (settings, engine):
            batches = run(
                settings,
                engine,
                run_context(context),
                full_refresh=bool(params["full_refresh"]),
                indicator_ids=[int(i) for i in params["indicator_ids"] or []],
            )
        return [b.to_dict() for b in batches]

    @task(retries=2, retry_exponential_backoff=True, map_index_template="{{ batch_label }}")
    def download(batch: dict) -> dict:
        from public_health.airflow_support.runtime import no_retry_when_permanent, run_context, warehouse
        from public_health.pipelines.fingertips_refresh import download_batch
        from public_health.pipelines.records import FingertipsBatch

        context = get_current_context()
        todo = FingertipsBatch.from_dict(batch)
        context["batch_label"] = todo.label
        with no_retry_when_permanent(), warehouse() as (settings, engine):
            return download_batch(settings, engine, todo, run_context(context)).to_dict()

    @task(pool=WAREHOUSE_POOL)
    def validate(landed: dict) -> list[dict]:
        """One result per indicator of the batch: validated, unchanged, held, quarantined or failed."""
        from public_health.airflow_support.runtime import run_context, warehouse
        from public_health.pipelines.fingertips_refresh import validate_batch
        from public_health.pipelines.records import LandedFile

        file = LandedFile.from_dict(landed)
        with warehouse() as (settings, engine):
            results = validate_batch(settings, engine, file, run_context(get_current_context()))
        return [r.to_dict() for r in results]

    @task(pool=WAREHOUSE_POOL)
    def load(items: list[dict]) -> list[dict]:
        """Each validated indicator of the batch in its own transaction; fails (after loading the others) if
        any indicator's load failed."""
        from public_health.airflow_support.runtime import warehouse
        from public_health.pipelines.fingertips_refresh import RefreshError, load_indicators
        from public_health.pipelines.records import ValidatedBatch

        with warehouse() as (settings, engine):
            results = load_indicators(settings, engine, [ValidatedBatch.from_dict(i) for i in items])
        failed = [r.error for r in results if r.status == "failed"]
        if failed:
            raise RefreshError("indicator loads failed (recorded in audit.load_batch): " + "; ".join(failed))
        return [r.to_dict() for r in results]

    @task(outlets=[PHOF_FACTS], trigger_rule="all_done")
    def publish() -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from public_health.airflow_support.runtime import run_context, warehouse
        from public_health.pipelines.fingertips_refresh import run_summary

        context = get_current_context()
        with warehouse() as (settings, engine):
            summary = run_summary(engine, run_context(context).run_id)
        if not summary["inserted"] and not summary["updated"]:
            raise AirflowSkipException(f"no PHOF fact changed in this run: {summary['batches']}")
        context["outlet_events"][PHOF_FACTS].extra = {
            "inserted": summary["inserted"],
            "updated": summary["updated"],
            "batches": summary["batches"],
        }
        return summary

    @task(trigger_rule="all_done")
    def summarise() -> dict:
        import logging

        from public_health.airflow_support.runtime import fail_if_problems, run_context, warehouse
        from public_health.pipelines.fingertips_refresh import held_lines, run_summary

        with warehouse() as (_settings, engine):
            summary = run_summary(engine, run_context(get_current_context()).run_id)
        held = held_lines(summary)
        for line in held:
            logging.getLogger(__name__).warning("%s", line)
        fail_if_problems(summary["problems"], "indicators", held)
        return summary

    loaded = load.expand(items=validate.expand(landed=download.expand(batch=select_batches(sync_metadata()))))
    loaded >> [publish(), summarise()]


fingertips_refresh_dag = watch(fingertips_refresh())
