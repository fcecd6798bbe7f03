"""A run's state is the truth: the "watcher" pattern from Airflow's documentation.

Tasks that report on a run (``publish``, ``summarise``) run with ``trigger_rule="all_done"`` so they report
even after a failure; as the DAG's leaves they would then decide the run's state, and a green summary would
hide a failed load. ``watch`` adds a task downstream of every other task with ``trigger_rule="one_failed"``
that fails: when any task failed (or could not run because an upstream failed), the watcher fails and so does
the run; when nothing failed it is skipped and does not affect the run.
"""

from __future__ import annotations

from typing import Any

WATCHER_TASK_ID = "watcher"


def watch(dag: Any) -> Any:
    """Add the watcher task to ``dag`` (downstream of every task already in it) and return ``dag``."""
    from airflow.sdk import task
    from airflow.sdk.exceptions import AirflowFailException

    with dag:

        @task(task_id=WATCHER_TASK_ID, trigger_rule="one_failed", retries=0)
        def watcher() -> None:
            raise AirflowFailException(
                "a task of this run failed (see the tasks in state failed or upstream_failed), so the run fails; "
                "the summary tasks report it but never turn the run green"
            )

        watching = watcher()
        for other in list(dag.tasks):
            if other.task_id != WATCHER_TASK_ID:
                other >> watching
    return dag
