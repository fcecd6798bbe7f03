"""Nightly Fingertips refresh: PHOF indicators into the warehouse."""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, TaskGroup, dag, get_current_context, task

from public_health.airflow_support import DEFAULT_OWNER, PHOF_FACTS, WAREHOUSE_POOL
from public_health.airflow_support.alerts import alert_default_args
from public_health.airflow_support.watcher import watch
from public_health.config import settings as _settings

DOC = """
### Fingertips refresh

**Schedule:** every night at 02:00 Europe/London (`schedules.fingertips_refresh` in `config/settings.yaml`),
and on demand. No catch-up: a missed night is made good by the next one, which asks for everything newer.

**Inputs:** the Fingertips API (`FINGERTIPS_BASE_URL`; offline, the bundled stub): area and indicator
metadata, and `all_data/csv/by_indicator_id` for the indicators of `config/indicator_sets/`.
Params: `full_refresh` (download every tracked indicator, changed or not) and `indicator_ids` (only these).

**Outputs:** `core.fact_indicator_value` (with `core.fact_indicator_value_history` for revisions), the
`phof_indicator_values` asset (which the performance report waits for), the raw downloads in
`data/landing/fingertips/`, quarantine reports in `data/quarantine/fingertips/`, one row per indicator and
attempt in `audit.load_batch`. Analysts read `mart.phof_latest` and `mart.phof_trend`.

**Tasks, by stage** (each stage is a task group; mapped tasks are labelled with their batch's indicator ids):

1. **extract.sync_metadata**: areas, comparators (England, region, nearest neighbours) and indicator
   metadata (unit, value type, polarity, last data upload date) into `core`.
2. **extract.select_batches**: indicators whose Fingertips upload is newer than what the warehouse holds
   (all of them with `full_refresh`). Batches with nothing new are recorded as `unchanged` and not downloaded.
3. **extract.download** (one per batch): streamed to `data/landing/fingertips/` with its sha256, kept as
   received. Network errors, 429 and 5xx are retried with backoff; a permanent answer (4xx) fails at once.
4. **validate.check_indicators** (one per batch): parse once, then **each indicator on its own** through the
   Great Expectations gate (`include/expectations/fingertips_indicator_values.json`). Errors (missing keys,
   unparseable values, unknown areas, duplicate keys, inverted intervals) **quarantine that indicator alone**
   with a `report.md` saying what failed and what to do; publisher conventions (limits rounded apart from
   values, category rows, suppressed values) are warnings. A quarantined indicator stays **held** while its
   content is the same. An empty or header-only download for an indicator that has data fails, naming the URL.
5. **load.load_indicators** (one per batch, pool `warehouse`): one transaction per indicator; changed rows
   go to history first. An indicator's last-upload date advances only when its data is in `core`.
6. **publish.emit_asset**: emits `phof_indicator_values` when anything changed.
   **publish.summarise**: lists indicators held in quarantine and since when; fails, naming indicators and
   reports, if anything was newly quarantined or failed. It sends one digest of them (see Alerts).
7. **watcher**: fails the run whenever any task failed, so a summary never turns a failed run green.

**When it fails:** the failed task's log ends with one line saying what failed, for which indicator or URL,
and what to do; the same message is emailed (or logged, with no SMTP connection). Typical cases:
- *quarantined indicator*: read its `report.md`; when Fingertips republishes it, the next night takes it
  again; a rule that is wrong for one indicator gets an `exceptions` entry, with a reason, in the suite file;
- *network or 5xx after retries*: clear the failed tasks (or trigger again) once the API answers;
- *a 4xx*: the request is wrong (an indicator id Fingertips no longer has): fix `config/indicator_sets/`;
- *warehouse locked* (DuckDB): the log names the process holding the file; close it and clear the task.
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
        **alert_default_args(),   # a failed task emails (or logs) what failed, for what, and what to do
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

    @task(retries=2, retry_exponential_backoff=True, map_index_template="{{ batch_label }}", pool=WAREHOUSE_POOL)
    def download(batch: dict) -> dict:
        from public_health.airflow_support.runtime import no_retry_when_permanent, run_context, warehouse
        from public_health.pipelines.fingertips_refresh import download_batch
        from public_health.pipelines.records import FingertipsBatch

        context = get_current_context()
        todo = FingertipsBatch.from_dict(batch)
        context["batch_label"] = todo.label
        with no_retry_when_permanent(), warehouse() as (settings, engine):
            return download_batch(settings, engine, todo, run_context(context)).to_dict()

    @task(pool=WAREHOUSE_POOL, map_index_template="{{ batch_label }}")
    def check_indicators(landed: dict) -> list[dict]:
        """One result per indicator of the batch: validated, unchanged, held, quarantined or failed."""
        from public_health.airflow_support.runtime import run_context, warehouse
        from public_health.pipelines.fingertips_refresh import validate_batch
        from public_health.pipelines.records import LandedFile

        file = LandedFile.from_dict(landed)
        get_current_context()["batch_label"] = file.batch.label
        with warehouse() as (settings, engine):
            results = validate_batch(settings, engine, file, run_context(get_current_context()))
        return [r.to_dict() for r in results]

    @task(pool=WAREHOUSE_POOL, map_index_template="{{ batch_label }}")
    def load_indicators(items: list[dict]) -> list[dict]:
        """Each validated indicator of the batch in its own transaction; fails (after loading the others) if
        any indicator's load failed."""
        from public_health.airflow_support.runtime import warehouse
        from public_health.pipelines.fingertips_refresh import RefreshError
        from public_health.pipelines.fingertips_refresh import load_indicators as run
        from public_health.pipelines.records import ValidatedBatch

        checked = [ValidatedBatch.from_dict(i) for i in items]
        get_current_context()["batch_label"] = checked[0].landed.batch.label if checked else "nothing to load"
        with warehouse() as (settings, engine):
            results = run(settings, engine, checked)
        failed = [r.error for r in results if r.status == "failed"]
        if failed:
            raise RefreshError("indicator loads failed (recorded in audit.load_batch): " + "; ".join(failed))
        return [r.to_dict() for r in results]

    @task(outlets=[PHOF_FACTS], trigger_rule="all_done", pool=WAREHOUSE_POOL)
    def emit_asset() -> dict:
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

    @task(trigger_rule="all_done", pool=WAREHOUSE_POOL)
    def summarise() -> dict:
        import logging

        from public_health.airflow_support.alerts import send_run_digest
        from public_health.airflow_support.runtime import fail_if_problems, run_context, warehouse
        from public_health.pipelines.fingertips_refresh import held_lines, run_summary

        context = get_current_context()
        with warehouse() as (_settings, engine):
            summary = run_summary(engine, run_context(context).run_id)
        held = held_lines(summary)
        for line in held:
            logging.getLogger(__name__).warning("%s", line)
        send_run_digest(summary, context=context)   # one message for the run's quarantined and held indicators
        fail_if_problems(summary["problems"], "indicators", held)
        return summary

    with TaskGroup("extract", tooltip="Metadata, what changed since the last load, and the downloads"):
        landed = download.expand(batch=select_batches(sync_metadata()))
    with TaskGroup("validate", tooltip="Each indicator through the Great Expectations gate, or quarantine"):
        checked = check_indicators.expand(landed=landed)
    with TaskGroup("load", tooltip="One transaction per indicator into core, revisions to history"):
        loaded = load_indicators.expand(items=checked)
    with TaskGroup("publish", tooltip="The phof_indicator_values asset and the run's summary"):
        loaded >> [emit_asset(), summarise()]


fingertips_refresh_dag = watch(fingertips_refresh())
