"""The nightly Fingertips DAG, run whole with dag.test() against the stub server, into DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from public_health.config import CONFIG_DIR
from public_health.demo.fingertips_stub import StubServer, generate_dataset
from public_health.warehouse.engine import make_engine

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FOCUS = ["E10000018", "E06000016", "E06000017"]
INDICATORS = [20401, 92441, 93014, 41001]  # a small tracked set keeps each run quick


@pytest.fixture
def dataset():
    return generate_dataset(indicators=INDICATORS, n_periods=4, sexes=("Persons", "Female"), seed=7)


@pytest.fixture
def stub(dataset):
    server = StubServer(dataset).start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path, stub, warehouse_url, monkeypatch, airflow_db):
    """A small configuration (two batches of two indicators) pointed at the stub and a fresh warehouse."""
    cfg = tmp_path / "config"
    (cfg / "indicator_sets").mkdir(parents=True)
    settings = yaml.safe_load((CONFIG_DIR / "settings.yaml").read_text())
    settings["indicator_sets"] = ["test_set"]
    settings["fingertips"].update(batch_size=2, read_timeout_s=2, connect_timeout_s=2)
    settings["fingertips"]["retry"].update(max_attempts=3, backoff_initial_s=0.05, backoff_max_s=0.2)
    (cfg / "settings.yaml").write_text(yaml.safe_dump(settings))
    (cfg / "indicator_sets" / "test_set.yaml").write_text(yaml.safe_dump({
        "name": "test_set", "title": "Test set", "source": "integration test",
        "indicators": [{"id": i, "name": f"indicator {i}"} for i in INDICATORS],
    }))
    monkeypatch.setenv("PH_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("FINGERTIPS_BASE_URL", stub.base_url)
    monkeypatch.setenv("FINGERTIPS_OFFLINE", "0")
    engine = make_engine(warehouse_url)
    yield {"url": warehouse_url, "engine": engine, "data": tmp_path / "data", "stub": stub}
    engine.dispose()


@pytest.fixture(scope="module")
def dag():
    from public_health.cli import load_dag

    dag = load_dag("fingertips_refresh.py", "fingertips_refresh_dag")
    for task in dag.tasks:   # the client retries inside a task; Airflow-level retries would only add waiting
        task.retries = 0
    return dag


def run(dag, **conf):
    dag_run = dag.test(run_conf=conf)
    return dag_run


def q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def facts(engine):
    return q(engine, "SELECT indicator_id, area_code, sex, age, category_type, category, period_label, value,"
                     " lower_ci_95, upper_ci_95, count, denominator, value_note, batch_id"
                     " FROM core.fact_indicator_value ORDER BY 1, 2, 3, 4, 5, 6, 7")


def batches(engine, run_id):
    return q(engine, "SELECT batch_id, status, rows_read, rows_inserted, rows_updated, error_summary, report_path,"
                     " landing_path, source_ref FROM audit.load_batch WHERE run_id = :r ORDER BY batch_id", r=run_id)


def states(dag_run):
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}


def test_nightly_run_loads_then_a_second_run_changes_nothing(dag, env):
    engine = env["engine"]
    first = run(dag)
    assert str(first.state).endswith("success"), states(first)
    counts = dict(q(engine, "SELECT area_code, count(*) FROM core.fact_indicator_value GROUP BY area_code"))
    for code in FOCUS + ["E92000001", "E12000004"]:
        assert counts.get(code, 0) > 0, f"no values for {code}"
    loaded = batches(engine, first.run_id)
    # Issue 10: one audit row per indicator (the unit of load and quarantine), no longer one per download batch.
    assert [b.status for b in loaded] == ["loaded"] * len(INDICATORS)
    assert all(Path(b.landing_path).exists() for b in loaded)

    latest = q(engine, "SELECT value, england_value, region_code, region_value, nearest_neighbour_average,"
                       " nearest_neighbour_count FROM mart.phof_latest WHERE area_code = 'E10000018'"
                       " AND indicator_id = :i AND sex = 'Persons'", i=INDICATORS[0])
    assert len(latest) == 1
    row = latest[0]
    assert row.england_value is not None and row.region_code == "E12000004" and row.region_value is not None
    assert row.nearest_neighbour_count and row.nearest_neighbour_count > 5
    trend = q(engine, "SELECT count(DISTINCT period_label) FROM mart.phof_trend WHERE area_code = 'E10000018'"
                      " AND indicator_id = :i", i=INDICATORS[0])
    assert trend[0][0] == 4

    before = facts(engine)
    second = run(dag)
    assert str(second.state).endswith("success"), states(second)
    again = batches(engine, second.run_id)
    assert again and {b.status for b in again} == {"unchanged"}
    assert all(not b.rows_inserted and not b.rows_updated for b in again)
    assert facts(engine) == before
    assert q(engine, "SELECT count(*) FROM core.fact_indicator_value_history")[0][0] == 0

    # A full refresh downloads everything again; identical content is recognised and rewrites nothing.
    third = run(dag, full_refresh=True)
    assert str(third.state).endswith("success"), states(third)
    refetched = batches(engine, third.run_id)
    assert [b.status for b in refetched] == ["unchanged"] * len(INDICATORS)   # per indicator, as above
    assert all(b.landing_path for b in refetched)
    assert facts(engine) == before


def test_revised_upstream_value_updates_fact_and_keeps_history(dag, env, dataset):
    engine = env["engine"]
    first = run(dag)
    assert str(first.state).endswith("success"), states(first)
    ind = INDICATORS[1]
    period = q(engine, "SELECT max(period_label) FROM core.fact_indicator_value WHERE indicator_id = :i", i=ind)[0][0]
    old = q(engine, "SELECT value, batch_id FROM core.fact_indicator_value WHERE indicator_id = :i"
                    " AND area_code = 'E10000018' AND sex = 'Persons' AND period_label = :p", i=ind, p=period)[0]
    dataset.revise(ind, "E10000018", period, round(old.value * 1.1 + 1, 1), sex="Persons")

    second = run(dag)
    assert str(second.state).endswith("success"), states(second)
    new = q(engine, "SELECT value, batch_id FROM core.fact_indicator_value WHERE indicator_id = :i"
                    " AND area_code = 'E10000018' AND sex = 'Persons' AND period_label = :p", i=ind, p=period)[0]
    assert new.value == pytest.approx(round(old.value * 1.1 + 1, 1))
    hist = q(engine, "SELECT value, batch_id, superseded_by_batch_id FROM core.fact_indicator_value_history"
                     " WHERE indicator_id = :i AND area_code = 'E10000018' AND period_label = :p", i=ind, p=period)
    assert [(h.value, h.batch_id, h.superseded_by_batch_id) for h in hist] == [(old.value, old.batch_id, new.batch_id)]
    statuses = {b.status for b in batches(engine, second.run_id)}
    assert statuses == {"loaded", "unchanged"}  # only the revised indicator's batch was fetched and changed


@pytest.mark.parametrize("fault", [{"fault": "status", "status": 500}, {"fault": "slow", "delay": 4}])
def test_upstream_errors_are_retried_then_fail_naming_the_url(dag, env, fault):
    engine, stub = env["engine"], env["stub"]
    first = run(dag)   # load once so metadata exists; then break the data endpoint
    assert str(first.state).endswith("success")
    stub.inject(path_contains="all_data", times=1000, **fault)
    stub.requests_log.clear()
    broken = run(dag, full_refresh=True)
    assert str(broken.state).endswith("failed")
    failed = [b for b in batches(engine, broken.run_id) if b.status == "failed"]
    assert len(failed) == 2
    for b in failed:
        assert "all_data/csv/by_indicator_id" in b.error_summary and b.source_ref in b.error_summary
    attempts = [p for p in stub.requests_log if "all_data" in p]
    assert len(attempts) == 2 * 3   # two batches, three attempts each
    download_states = {k: v for k, v in states(broken).items() if k[0] == "extract.download"}
    assert set(download_states.values()) == {"failed"}
    assert q(engine, "SELECT count(*) FROM core.fact_indicator_value_history")[0][0] == 0


def test_gate_failure_quarantines_and_loads_nothing(dag, env, dataset):
    engine = env["engine"]
    ind = INDICATORS[0]
    period = dataset.periods(ind)[-1][0]
    dataset.revise(ind, "E10000018", period, 50.0, sex="Persons", lower_ci_95=60.0, upper_ci_95=70.0)
    dag_run = run(dag)
    assert str(dag_run.state).endswith("failed")
    rows = batches(engine, dag_run.run_id)
    bad = [b for b in rows if b.status == "quarantined"]
    assert len(bad) == 1 and "Lower 95% confidence limit is not above the value" in bad[0].error_summary
    report = Path(bad[0].report_path)
    assert report.exists() and "Lower 95% confidence limit" in report.read_text()
    assert (report.parent / "report.json").exists()
    assert Path(bad[0].landing_path).exists()   # the raw file is kept
    loaded_ids = {r[0] for r in q(engine, "SELECT DISTINCT indicator_id FROM core.fact_indicator_value")}
    first_batch, second_batch = sorted(INDICATORS)[:2], sorted(INDICATORS)[2:]   # batches are sorted slices
    assert ind in first_batch
    # Issue 10: the unit of quarantine is one indicator, no longer the download batch: the bad indicator stays
    # out alone and its batch mate loads in the same run.
    assert ind not in loaded_ids
    assert set(first_batch) - {ind} <= loaded_ids
    assert set(second_batch) <= loaded_ids       # the good batch loaded
    assert f"indicator_ids={ind}&" in bad[0].source_ref   # recorded against the indicator's own URL
    dq = q(engine, "SELECT expectation, success, unexpected_examples FROM audit.dq_result WHERE batch_id = :b"
                   " AND success = false", b=bad[0].batch_id)
    assert dq and "line" in dq[0].unexpected_examples


def test_truncated_csv_never_half_loads(dag, env):
    engine, stub = env["engine"], env["stub"]
    stub.inject(fault="truncate", path_contains="all_data", times=1000)
    dag_run = run(dag)
    assert str(dag_run.state).endswith("failed")
    assert q(engine, "SELECT count(*) FROM core.fact_indicator_value")[0][0] == 0
    assert {b.status for b in batches(engine, dag_run.run_id)} == {"failed"}
    landing = env["data"] / "landing" / "fingertips"
    assert not landing.exists() or not any(p.suffix == ".csv" for p in landing.iterdir())


def test_missing_column_quarantines_naming_it(dag, env):
    engine, stub = env["engine"], env["stub"]
    stub.inject(fault="drop_column", path_contains="all_data", times=1000, column="Lower CI 95.0 limit")
    dag_run = run(dag)
    assert str(dag_run.state).endswith("failed")
    rows = batches(engine, dag_run.run_id)
    assert {b.status for b in rows} == {"quarantined"}
    assert all("Lower CI 95.0 limit" in b.error_summary for b in rows)
    assert q(engine, "SELECT count(*) FROM core.fact_indicator_value")[0][0] == 0
