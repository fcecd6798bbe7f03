"""Issue 10, whole DAG runs with dag.test() against the stub (behind a small rewriting proxy), on DuckDB and
PostgreSQL: one indicator is the unit of quarantine, real publications' conventions are warnings, held
indicators do not fail later nights, and a run's state is the truth (a failed task fails the run; a permanent
4xx is asked once)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from public_health.config import CONFIG_DIR
from public_health.demo.fingertips_stub import StubServer, generate_dataset
from public_health.pipelines.fingertips_refresh import run_summary
from public_health.warehouse.engine import make_engine
from tests.integration._publisher_proxy import PublisherProxy, empty_body, header_only, like_a_real_publication

pytestmark = pytest.mark.integration

# batch_size 2: [20401, 41001] [90362, 92441] [93014]
CATEGORY, CLEAN_A, DUPLICATE, CLEAN_B, CLEAN_C = 20401, 41001, 90362, 92441, 93014
INDICATORS = [CATEGORY, CLEAN_A, DUPLICATE, CLEAN_B, CLEAN_C]


@pytest.fixture
def dataset():
    return generate_dataset(indicators=INDICATORS, n_areas=12, n_periods=3, seed=11)


@pytest.fixture
def proxy(dataset):
    stub = StubServer(dataset).start()
    front = PublisherProxy(stub.base_url).start()
    front.stub = stub
    yield front
    front.stop()
    stub.stop()


@pytest.fixture
def env(tmp_path, proxy, warehouse_url, monkeypatch, airflow_db):
    cfg = tmp_path / "config"
    (cfg / "indicator_sets").mkdir(parents=True)
    settings = yaml.safe_load((CONFIG_DIR / "settings.yaml").read_text())
    settings["indicator_sets"] = ["test_set"]
    settings["fingertips"].update(batch_size=2, read_timeout_s=5, connect_timeout_s=2)
    settings["fingertips"]["retry"].update(max_attempts=2, backoff_initial_s=0.05, backoff_max_s=0.1)
    (cfg / "settings.yaml").write_text(yaml.safe_dump(settings))
    (cfg / "indicator_sets" / "test_set.yaml").write_text(yaml.safe_dump({
        "name": "test_set", "title": "Test set", "source": "integration test",
        "indicators": [{"id": i, "name": f"indicator {i}"} for i in INDICATORS],
    }))
    monkeypatch.setenv("PH_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("FINGERTIPS_BASE_URL", proxy.base_url)
    monkeypatch.setenv("FINGERTIPS_OFFLINE", "0")
    engine = make_engine(warehouse_url)
    yield {"engine": engine, "proxy": proxy, "stub": proxy.stub}
    engine.dispose()


def _load(retry_delay_zero: bool):
    from public_health.cli import load_dag

    dag = load_dag("fingertips_refresh.py", "fingertips_refresh_dag")
    for task in dag.tasks:
        if retry_delay_zero:   # keep the DAG's own retries, but don't wait between them
            task.retry_delay = timedelta(0)
            task.retry_exponential_backoff = False
        else:
            task.retries = 0
    return dag


@pytest.fixture(scope="module")
def dag():
    return _load(retry_delay_zero=False)


@pytest.fixture(scope="module")
def dag_with_retries():
    return _load(retry_delay_zero=True)


def q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def states(dag_run):
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}


def task_states(dag_run, task_id):
    return {str(ti.state) for ti in dag_run.get_task_instances() if ti.task_id == task_id}


def by_indicator(engine, run_id):
    rows = q(engine, "SELECT indicator_id, status, held_since, error_summary, report_path, batch_id, started_at"
                     " FROM audit.load_batch WHERE run_id = :r AND indicator_id IS NOT NULL ORDER BY batch_id", r=run_id)
    return {r.indicator_id: r for r in rows}


def loaded_uploads(engine):
    return dict(q(engine, "SELECT indicator_id, loaded_data_upload FROM core.dim_indicator"))


def test_one_bad_indicator_is_quarantined_alone_and_held_without_failing_later_nights(dag, env):
    engine, proxy = env["engine"], env["proxy"]
    proxy.rewrite = like_a_real_publication(CATEGORY, DUPLICATE)

    first = dag.test()
    assert str(first.state).endswith("failed"), states(first)      # something new was quarantined
    assert task_states(first, "publish.summarise") == {"failed"}
    assert task_states(first, "load.load_indicators") == {"success"}               # the others loaded in the same run
    rows = by_indicator(engine, first.run_id)
    assert {i: r.status for i, r in rows.items()} == {
        CATEGORY: "loaded", CLEAN_A: "loaded", DUPLICATE: "quarantined", CLEAN_B: "loaded", CLEAN_C: "loaded"}
    loaded_ids = {r[0] for r in q(engine, "SELECT DISTINCT indicator_id FROM core.fact_indicator_value")}
    assert loaded_ids == set(INDICATORS) - {DUPLICATE}
    # The category rows loaded with their own intervals; the publisher's conventions are warnings with examples.
    deciles = q(engine, "SELECT count(*) FROM core.fact_indicator_value WHERE indicator_id = :i"
                        " AND category_type <> ''", i=CATEGORY)[0][0]
    assert deciles == 3
    warnings = {r.column_name: r for r in q(
        engine, "SELECT column_name, unexpected_count, unexpected_examples FROM audit.dq_result"
                " WHERE batch_id = :b AND success = false AND severity = 'warning'", b=rows[CATEGORY].batch_id)}
    assert warnings["category_value_outside_ci"].unexpected_count == 3
    assert warnings["value_outside_ci_by_rounding"].unexpected_count >= 1
    assert "within rounding" in warnings["value_outside_ci_by_rounding"].unexpected_examples

    # The failing run names the indicator; its report says why and what a person can do.
    summary = run_summary(engine, first.run_id)
    [problem] = summary["problems"]
    assert f"indicator {DUPLICATE}" in problem["error_summary"]
    assert "One row per indicator, area, sex, age, category and period" in problem["error_summary"]
    report = Path(problem["report_path"]).read_text()
    assert "What to do" in report and "Wait for the publisher's correction" in report
    assert "exceptions" in report and "report it to the Fingertips team" in report
    assert "Correct the source and send it again" not in report
    kept = list(Path(problem["report_path"]).parent.glob("*.csv"))
    assert kept and all(line.startswith(f"{DUPLICATE},") for line in kept[0].read_text().splitlines()[1:])
    uploads = loaded_uploads(engine)
    assert uploads[DUPLICATE] is None and all(uploads[i] is not None for i in set(INDICATORS) - {DUPLICATE})
    assert [h["indicator_id"] for h in summary["held"]] == [DUPLICATE]
    since = summary["held"][0]["since"]

    # The next night, nothing new: green, and the summary says the indicator is still held, and since when.
    second = dag.test()
    assert str(second.state).endswith("success"), states(second)
    assert task_states(second, "publish.summarise") == {"success"}
    again = by_indicator(engine, second.run_id)
    assert again[DUPLICATE].status == "quarantined" and again[DUPLICATE].held_since is not None
    later = run_summary(engine, second.run_id)
    assert later["problems"] == [] and later["batches"].get("held") == 1
    assert [(h["indicator_id"], h["since"]) for h in later["held"]] == [(DUPLICATE, since)]
    assert "still held in quarantine since" in again[DUPLICATE].error_summary
    assert loaded_uploads(engine) == uploads

    # The publisher corrects it: the content changes, the indicator loads and is no longer held.
    proxy.rewrite = like_a_real_publication(CATEGORY, duplicate_id=-1)
    third = dag.test()
    assert str(third.state).endswith("success"), states(third)
    assert by_indicator(engine, third.run_id)[DUPLICATE].status == "loaded"
    assert run_summary(engine, third.run_id)["held"] == []
    assert loaded_uploads(engine)[DUPLICATE] is not None


def test_failed_metadata_sync_fails_the_run_and_a_permanent_404_is_asked_once(dag_with_retries, env):
    stub = env["stub"]
    assert dag_with_retries.get_task("extract.sync_metadata").retries == 2   # Airflow would retry a transient error
    stub.inject("status", path_contains="area_types", times=1000, status=404)
    stub.requests_log.clear()
    dag_run = dag_with_retries.test()
    assert str(dag_run.state).endswith("failed"), states(dag_run)
    assert task_states(dag_run, "extract.sync_metadata") == {"failed"}
    assert task_states(dag_run, "watcher") == {"failed"}
    assert task_states(dag_run, "publish.summarise") == {"success"}   # the summary ran, and did not turn the run green
    assert len([p for p in stub.requests_log if "area_types" in p]) == 1


@pytest.mark.parametrize("answer", [empty_body, header_only], ids=["empty-200", "header-only-200"])
def test_empty_or_header_only_download_fails_naming_the_url(dag, env, dataset, answer):
    engine, proxy = env["engine"], env["proxy"]
    first = dag.test()
    assert str(first.state).endswith("success"), states(first)
    period = dataset.periods(CLEAN_C)[-1][0]
    dataset.revise(CLEAN_C, "E10000018", period, 12.5)     # a new upload: indicator CLEAN_C is due
    before = loaded_uploads(engine)
    proxy.rewrite = answer

    broken = dag.test()
    assert str(broken.state).endswith("failed"), states(broken)
    failed = by_indicator(engine, broken.run_id)[CLEAN_C]
    assert failed.status == "failed"
    details = json.loads(q(engine, "SELECT details FROM audit.load_batch WHERE batch_id = :b",
                           b=failed.batch_id)[0][0])
    assert details["batch_url"] in failed.error_summary and "all_data/csv/by_indicator_id" in failed.error_summary
    assert ("empty body" if answer is empty_body else "only the CSV header") in failed.error_summary
    assert loaded_uploads(engine) == before      # the indicator's last-upload date did not advance
