"""Test-only DAGs for tests/unit/test_alerts.py (not in dags/: the scheduler never sees them). Each wraps its
tasks as the product DAGs do (explain_failure, the failure notifier, the watcher, the summary's digest).
tests/unit/test_alerts.py registers this folder as a DAG bundle so that dag.test() can run them; what they read
(the returns to read, the warehouse, the shared drive) comes from the environment at run time."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, get_current_context, task

from public_health.airflow_support.alerts import alert_default_args, failure_notifier
from public_health.airflow_support.watcher import watch

#: The files alerts_bad_return reads, separated by os.pathsep.
RETURNS_ENV = "ALERTS_TEST_RETURNS"
START = pendulum.datetime(2026, 1, 1, tz="UTC")


with DAG("alerts_bad_return", schedule=None, start_date=START, catchup=False,
         default_args={"owner": "test", "retries": 0, "on_failure_callback": failure_notifier()}) as bad_return_dag:

    @task
    def list_returns() -> list[str]:
        return [p for p in os.environ.get(RETURNS_ENV, "").split(os.pathsep) if p]

    @task(map_index_template="{{ file_label }}")
    def read_return(file: str) -> str:
        """Read one return with the real parser, as provider_returns' tasks are wrapped."""
        from pathlib import Path

        from public_health.airflow_support.runtime import explain_failure
        from public_health.returns.parse import parse_return
        from public_health.returns.services import load_services

        get_current_context()["file_label"] = Path(file).name
        with explain_failure():
            return parse_return(Path(file), load_services()).service_code

    read_return.expand(file=list_returns())

watch(bad_return_dag)


with DAG("alerts_returns_digest", schedule=None, start_date=START, catchup=False,
         default_args={"owner": "test", "retries": 0, "on_failure_callback": failure_notifier()}) as digest_dag:

    @task
    def process_files() -> list[dict]:
        from public_health.airflow_support.runtime import explain_failure, run_context, run_date, warehouse
        from public_health.pipelines import provider_returns as steps

        context = get_current_context()
        with explain_failure(), warehouse() as (settings, engine):
            steps.sync_config(settings, engine, run_date(context, settings))
            found = steps.scan(settings, engine)
            done = steps.process_files(settings, engine, list(found.new), run_context(context))
        return [o.to_dict() for o in done]

    @task(trigger_rule="all_done")
    def summarise() -> dict:
        """As provider_returns' summary: the run's digest, then fail naming the problems."""
        from public_health.airflow_support.alerts import return_tracker, send_run_digest
        from public_health.airflow_support.runtime import fail_if_problems, run_context, warehouse
        from public_health.pipelines.provider_returns import run_summary

        context = get_current_context()
        with warehouse() as (settings, engine):
            summary = run_summary(engine, run_context(context).run_id)
            tracker = return_tracker(settings, engine, context)
        send_run_digest(summary, tracker, context)
        fail_if_problems(summary["problems"], "returns")
        return summary

    process_files() >> summarise()


with DAG("alerts_locked_warehouse", schedule=None, start_date=START, catchup=False,
         default_args={"owner": "test", "retries": 1, "retry_delay": pendulum.duration(seconds=0),
                       **alert_default_args()}) as locked_dag:

    @task
    def load() -> None:
        """Open the warehouse as every loading task does, with one retry."""
        from public_health.airflow_support.runtime import explain_failure, no_retry_when_permanent, warehouse

        with explain_failure("quarter 2017-18-Q2"), no_retry_when_permanent(), warehouse():
            pass

    load()
