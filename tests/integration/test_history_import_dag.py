"""The KPI history import DAG, run whole with dag.test() on a small history file of the published report's
NHS Health Checks figures (config/services/nhs_health_checks.yaml ``reference_figures``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from public_health.warehouse.engine import make_engine

pytestmark = pytest.mark.integration

HEADER = ["service", "kpi", "period", "measure", "value", "note"]
#: As a team's spreadsheet holds them: the report's words, printed numbers, any period form.
ROWS = [
    ["nhs_health_checks", "nhc_checks", "2015/16", "Target", "16,798", ""],
    ["nhs_health_checks", "nhc_checks", "2015-16", "Actual", "10,580", ""],
    ["nhs_health_checks", "nhc_checks", "2016-17-Q4", "Actual", "1,967", ""],
    ["nhs_health_checks", "nhc_checks", "Q1 2017-18", "Actual", "1,695", ""],
    ["nhs_health_checks", "nhc_checks", "2017/18 Q2", "Actual", "1,806", "Q2 figure from the report"],
    ["nhs_health_checks", "nhc_checks", "2017-18-Q4", "Target", "16,090", "targets may run ahead"],
    ["nhs_health_checks", "nhc_coverage_pct", "2017-18-Q2", "Actual to date", "67%", ""],
    ["nhs_health_checks", "nhc_management_plans", "2017-18-Q2", "Actual", "279", ""],
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


@pytest.fixture
def env(tmp_path, duckdb_url, monkeypatch, airflow_db):
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WAREHOUSE_URL", duckdb_url)
    engine = make_engine(duckdb_url)
    yield {"engine": engine, "tmp": tmp_path}
    engine.dispose()


@pytest.fixture(scope="module")
def dag():
    from public_health.cli import load_dag

    return load_dag("kpi_history_import.py", "kpi_history_import_dag")


def q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_a_history_file_loads_and_again_is_unchanged(dag, env):
    engine = env["engine"]
    path = write_csv(env["tmp"] / "nhc_history.csv", ROWS)
    run = dag.test(run_conf={"file": str(path), "as_of": "2017-18-Q2"})
    assert str(run.state).endswith("success")

    facts = {(r.kpi_code, r.period_label, r.measure): r for r in q(engine, "SELECT * FROM core.fact_kpi_value")}
    assert len(facts) == len(ROWS)
    assert facts[("nhc_checks", "2017-18-Q2", "actual")].value == 1806
    assert facts[("nhc_checks", "2017-18-Q2", "actual")].note == "Q2 figure from the report"
    assert facts[("nhc_checks", "2015-16", "actual")].source_cell == "line 3"
    assert facts[("nhc_coverage_pct", "2017-18-Q2", "actual_to_date")].value == 67
    [batch] = q(engine, "SELECT * FROM audit.load_batch WHERE source = 'kpi_history_import'")
    assert (batch.status, batch.rows_read, batch.rows_inserted) == ("loaded", len(ROWS), len(ROWS))
    assert (batch.dag_id, batch.run_id, batch.task_id) == ("kpi_history_import", run.run_id, "check_and_load.import_file")
    assert Path(batch.landing_path).is_file() and "landing/history" in batch.landing_path
    # the services and KPIs are in the dimensions, so the mart shows the figures
    assert q(engine, "SELECT target, actual FROM mart.kpi_quarterly WHERE kpi_code = 'nhc_checks'"
                     " AND period_label = '2015-16'")[0] == (16798, 10580)

    again = dag.test(run_conf={"file": str(path), "as_of": "2017-18-Q2"})
    assert str(again.state).endswith("success")
    statuses = [r.status for r in q(engine, "SELECT status FROM audit.load_batch WHERE source = 'kpi_history_import'"
                                            " ORDER BY batch_id")]
    assert statuses == ["loaded", "unchanged"]


def test_a_quarantined_file_fails_the_run_naming_file_and_report(dag, env, capfd):
    engine = env["engine"]
    rows = [*ROWS, ["nhs_health_checks", "nhc_checks_offered", "2017-18-Q2", "Actual", "2,400", ""]]
    path = write_csv(env["tmp"] / "nhc_history_bad.csv", rows)
    run = dag.test(run_conf={"file": str(path), "as_of": "2017-18-Q2"})
    assert str(run.state).endswith("failed")
    [batch] = q(engine, "SELECT * FROM audit.load_batch WHERE source = 'kpi_history_import'")
    assert batch.status == "quarantined" and "line 10" in batch.error_summary
    assert Path(batch.report_path).is_file() and "nhc_checks_offered" in Path(batch.report_path).read_text()
    assert q(engine, "SELECT count(*) FROM core.fact_kpi_value")[0][0] == 0
    message = f"{path} quarantined, nothing loaded: see {batch.report_path}"
    output = capfd.readouterr()
    assert f"AirflowFailException: {message}\n" in output.err + output.out   # one line, as the task failed
