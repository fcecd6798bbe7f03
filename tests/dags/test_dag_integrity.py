"""Every DAG imports cleanly, is documented and owned, retries, runs on a time-zone-aware schedule,
and the dags/ folder parses quickly (heavy imports belong inside tasks)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_IDS = {"fingertips_refresh", "provider_returns", "performance_report", "bcf_return", "kpi_history_import"}
DAG_FILES = sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
PARSE_BOUND_S = 2.0
HEAVY = ("pandas", "great_expectations", "weasyprint", "matplotlib", "openpyxl", "pyarrow", "duckdb", "sqlalchemy",
         "psycopg", "requests", "numpy")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dag_files_exist():
    assert DAG_FILES, "no DAG files in dags/"


def test_every_dag_imports_without_error(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors
    assert len(dagbag.dags) >= len(DAG_FILES)


def test_dags_are_documented_owned_and_retry(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id} has no doc_md worth reading"
        assert dag.default_args.get("owner") not in (None, "airflow"), f"{dag_id} has no owner"
        assert "retries" in dag.default_args, f"{dag_id} sets no retries policy"
        for task in dag.tasks:
            assert task.owner not in (None, "airflow"), f"{dag_id}.{task.task_id} has no owner"
            assert task.retries is not None


def _cron(timetable):
    """The cron timetable of a DAG (asset-or-time schedules wrap one), or None."""
    if getattr(timetable, "expression", None):
        return timetable
    inner = getattr(timetable, "timetable", None)
    return inner if getattr(inner, "expression", None) else None


#: DAGs that only run when someone triggers them (schedule=None): no time-based schedule to check.
ON_DEMAND = {"kpi_history_import"}


def test_schedules_are_time_zone_aware(dagbag):
    for dag_id, dag in dagbag.dags.items():
        if dag_id in ON_DEMAND:
            assert type(dag.timetable).__name__ == "NullTimetable", f"{dag_id} is on demand but has a schedule"
            assert dag.start_date.tzinfo is not None
            continue
        cron = _cron(dag.timetable)
        assert cron is not None, f"{dag_id} has no time-based schedule"
        assert str(cron.timezone) == "Europe/London", f"{dag_id}: {cron.timezone!r}"
        assert dag.start_date.tzinfo is not None


def test_nightly_fingertips_dag_shape(dagbag):
    dag = dagbag.dags["fingertips_refresh"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.timetable.expression == "0 2 * * *"
    assert set(dag.params.keys()) == {"full_refresh", "indicator_ids"}
    assert {"extract.sync_metadata", "extract.select_batches", "extract.download", "validate.check_indicators",
            "load.load_indicators", "publish.emit_asset", "publish.summarise", "watcher"} == set(dag.task_ids)
    for mapped in ("extract.download", "validate.check_indicators", "load.load_indicators"):
        # Issue 12: a mapped task shows its batch (its indicator ids) in the UI, not "1/2".
        assert dag.get_task(mapped).map_index_template == "{{ batch_label }}", mapped


def test_provider_returns_dag_shape(dagbag):
    dag = dagbag.dags["provider_returns"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.timetable.expression == "*/30 * * * *"
    assert {"extract.sync_config", "extract.write_templates", "extract.scan", "check_and_load.process_files",
            "publish.emit_asset", "publish.summarise", "watcher"} == set(dag.task_ids)
    assert dag.get_task("check_and_load.process_files").pool == "warehouse"


def test_dag_folder_parses_fast_and_without_heavy_imports():
    """Parse the folder in a fresh interpreter (as the DAG processor would) and time it."""
    code = f"""
import json, sys, time
import airflow.sdk  # the processor has Airflow loaded already
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
t = time.perf_counter()
bag = DagBag(dag_folder={str(ROOT / 'dags')!r})
elapsed = time.perf_counter() - t
print(json.dumps({{"seconds": elapsed, "dags": len(bag.dags), "errors": len(bag.import_errors),
                  "loaded": sorted(set(sys.modules) - before)}}))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\ndags/ parsed in {result['seconds']:.3f}s ({result['dags']} DAGs); bound {PARSE_BOUND_S}s")
    assert result["errors"] == 0 and result["dags"] >= len(DAG_FILES)
    assert result["seconds"] < PARSE_BOUND_S
    heavy = sorted({m.split(".")[0] for m in result["loaded"]} & set(HEAVY))
    assert not heavy, f"DAG files import heavy modules at parse time: {heavy}"


def test_performance_report_dag_shape(dagbag):
    dag = dagbag.dags["performance_report"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert _cron(dag.timetable).expression == "0 6 12 2,5,8,11 *"   # six weeks after each quarter ends
    assert "quarter" in dag.params
    assert {"choose_quarter", "build"} <= set(dag.task_ids)


def test_bcf_return_dag_shape(dagbag):
    dag = dagbag.dags["bcf_return"]
    assert dag.max_active_runs == 1 and dag.catchup is False and "quarter" in dag.params
    # settings.yaml schedules.bcf_return: after the local activity return (due 45 days on) is in.
    assert _cron(dag.timetable).expression == "0 7 20 2,5,8,11 *"


def test_kpi_history_import_dag_shape(dagbag):
    dag = dagbag.dags["kpi_history_import"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert set(dag.params.keys()) == {"file", "as_of"}
    assert {"extract.sync_config", "extract.choose_as_of", "check_and_load.import_file", "watcher"} == set(dag.task_ids)
    assert dag.get_task("check_and_load.import_file").pool == "warehouse"


@pytest.mark.parametrize("dag_id", ["fingertips_refresh", "provider_returns", "kpi_history_import"])
def test_a_failed_task_fails_the_run(dagbag, dag_id):
    """Issue 10: the watcher (trigger_rule one_failed, raising) is downstream of every other task, so a summary
    that runs with all_done can never turn a failed run green."""
    dag = dagbag.dags[dag_id]
    watcher = dag.get_task("watcher")
    assert watcher.trigger_rule == "one_failed"
    assert watcher.upstream_task_ids == set(dag.task_ids) - {"watcher"}
    assert [t.task_id for t in dag.leaves] == ["watcher"]


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_dag_documentation_says_schedule_inputs_outputs_and_what_to_do_on_failure(dagbag, dag_id):
    """Issue 12: a data engineer reads the DAG's docs in the UI: the schedule in words, its inputs and outputs,
    and what to do when it fails."""
    doc = dagbag.dags[dag_id].doc_md or ""
    for heading in ("**Schedule:**", "**Inputs:**", "**Outputs", "**When it fails:**"):
        assert heading in doc, f"{dag_id}: the DAG's doc_md has no {heading} section"
    # Every task it names exists (the docs follow the task groups).
    named = set(re.findall(r"\*\*((?:[a-z_]+\.)?[a-z_]+)\*\*", doc))
    tasks = set(dagbag.dags[dag_id].task_ids)
    stale = sorted(n for n in named if "_" in n and "." in n and n not in tasks)
    assert not stale, f"{dag_id}: the docs name tasks the DAG does not have: {stale}"
    assert named & tasks, f"{dag_id}: the docs name none of its tasks"


@pytest.mark.parametrize("dag_id", ["fingertips_refresh", "provider_returns", "kpi_history_import"])
def test_load_dags_group_their_tasks_by_stage(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    groups = {t.task_id.split(".")[0] for t in dag.tasks if "." in t.task_id}
    assert "extract" in groups and ({"validate", "load"} <= groups or "check_and_load" in groups), groups
    assert all("." in t.task_id for t in dag.tasks if t.task_id != "watcher"), "a task outside the stage groups"


def test_report_dags_show_their_dependence_on_the_loads_as_assets(dagbag):
    """The asset graph joins the loads to the reports: the performance report is scheduled on both assets,
    the BCF build names them as inlets."""
    from airflow.sdk import Asset

    def names(objs):
        return {o.name for o in objs if isinstance(o, Asset)}

    fingertips = dagbag.dags["fingertips_refresh"].get_task("publish.emit_asset")
    returns = dagbag.dags["provider_returns"].get_task("publish.emit_asset")
    assert names(fingertips.outlets) == {"phof_indicator_values"}
    assert names(returns.outlets) == {"provider_kpi_values"}
    assert names(dagbag.dags["bcf_return"].get_task("build").inlets) == {"phof_indicator_values", "provider_kpi_values"}
    condition = dagbag.dags["performance_report"].timetable.asset_condition
    assert type(condition).__name__ == "AssetAll"   # both loads, not either
    assert names(condition.objects) == {"phof_indicator_values", "provider_kpi_values"}


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_every_task_that_opens_the_warehouse_is_in_the_warehouse_pool(dagbag, dag_id):
    """The embedded warehouse is a DuckDB file: one writer at a time. Every task that opens it (``warehouse()``)
    takes a slot of the `warehouse` pool (one slot on DuckDB), so in a real scheduler no two of them collide on
    the file's lock (a download, which records its batch, as much as a load)."""
    import inspect

    outside = []
    for task in dagbag.dags[dag_id].tasks:
        callable_ = getattr(task, "python_callable", None)
        if callable_ is not None and "warehouse()" in inspect.getsource(callable_) and task.pool != "warehouse":
            outside.append(task.task_id)
    assert not outside, f"{dag_id}: tasks open the warehouse outside the warehouse pool: {outside}"
