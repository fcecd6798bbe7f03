"""The provider returns DAG, run whole with dag.test() on the sample shared drive, into DuckDB and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from public_health.config import CONFIG_DIR
from public_health.demo.shared_drive import build_sample_drive
from public_health.warehouse.engine import make_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def drive(tmp_path):
    root = tmp_path / "shared_drive"
    samples = build_sample_drive(root, clock=time.time())
    return root, samples


@pytest.fixture
def env(tmp_path, drive, warehouse_url, monkeypatch, airflow_db):
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    settings = yaml.safe_load((cfg / "settings.yaml").read_text())
    settings["returns"]["settle_seconds"] = 60
    (cfg / "settings.yaml").write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("PH_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PH_SHARED_DRIVE", str(drive[0]))
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    engine = make_engine(warehouse_url)
    yield {"engine": engine, "root": drive[0], "samples": drive[1], "data": tmp_path / "data"}
    engine.dispose()


@pytest.fixture(scope="module")
def dag():
    from public_health.cli import load_dag

    return load_dag("provider_returns.py", "provider_returns_dag")


def q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def snapshot(engine):
    return {
        t: q(engine, f"SELECT * FROM {t} ORDER BY 1, 2, 3")
        for t in ("core.fact_kpi_value", "core.fact_kpi_value_history", "core.fact_service_comment",
                  "core.dim_kpi", "core.return_expected")
    }


def by_file(engine):
    return {r.file_path: r for r in q(engine, "SELECT * FROM core.return_received")}


def sample(env, file_name):
    [s] = [s for s in env["samples"] if s.path.name == file_name]
    return s.path.relative_to(env["root"]).as_posix()


def test_sample_drive_loads_quarantines_and_tracks(dag, env):
    engine = env["engine"]
    run = dag.test()
    assert str(run.state).endswith("failed")   # bad samples were quarantined: the run says so

    files = by_file(engine)
    expect = {s.path.relative_to(env["root"]).as_posix(): s.expect for s in env["samples"]}
    for rel, what in expect.items():
        if what in ("ignore", "unsettled"):
            assert rel not in files, f"{rel} should not have been read ({what})"
        elif what == "quarantine":
            assert files[rel].status == "quarantined", rel
        elif what == "load":
            assert files[rel].status in ("loaded", "loaded_with_warnings", "superseded"), (rel, files[rel].status)
        elif what == "supersede":
            assert files[rel].status in ("loaded", "loaded_with_warnings") and files[rel].is_resubmission
        elif what == "unchanged":
            assert files[rel].status == "unchanged"

    # The reference report's own slip loads as published, with the warning naming sheet and cell.
    ht = files[sample(env, "healthy_together_2017-18-Q2.xlsx")]
    assert ht.status == "loaded_with_warnings", ht.status
    warned = q(engine, "SELECT description, unexpected_examples FROM audit.dq_result WHERE batch_id = :b"
                       " AND success = false", b=ht.batch_id)
    over = [w for w in warned if w.description == "A percentage is over 100"]
    assert over and "KPIs!" in over[0].unexpected_examples and "123" in over[0].unexpected_examples
    text_in_number = files[sample(env, "hiv_prevention_positive_2017-18-Q2_draft.xlsx")]
    assert "sheet KPIs, cell I5" in text_in_number.error_summary and "about 30" in text_in_number.error_summary
    unknown = files[sample(env, "weight_watchers_2017-18-Q2.xlsx")]
    assert "sheet Cover, cell B3" in unknown.error_summary

    # Healthy Together: the published Q2 return loaded, 123% included (flagged, never hidden).
    rows = dict(q(engine, "SELECT period_label || ':' || kpi_code || ':' || measure, value FROM core.fact_kpi_value"
                          " WHERE service_code = 'healthy_together'"))
    assert rows["2017-18-Q2:ht_nbr_10_14d_num:actual"] == 1232
    assert rows["2017-18-Q2:ht_nbr_denom:actual"] == 1284
    assert rows["2017-18-Q2:ht_new_birth_visit_10_14d:actual"] == 96
    assert rows["2017-18-Q1:ht_nbr_10_14d_num:actual"] == 1081      # typed as '1,081' in a text cell
    assert rows["2017-18-Q2:ht_bf_status_68w_pct:actual"] == 123     # as published; a warning beside it
    kpi = q(engine, "SELECT target, actual, derived_percentage FROM mart.kpi_quarterly WHERE service_code ="
                    " 'healthy_together' AND period_label = '2017-18-Q2' AND kpi_code = 'ht_new_birth_visit_10_14d'")
    assert (kpi[0].target, kpi[0].actual, float(kpi[0].derived_percentage)) == (90, 96, 96.0)

    # The resubmission superseded the first figures, which are in history.
    hist = q(engine, "SELECT kpi_code, value, superseded_by_batch_id FROM core.fact_kpi_value_history"
                     " WHERE service_code = 'nhs_health_checks' AND period_label = '2017-18-Q2'")
    assert any(h.value == 1086 for h in hist)
    current = q(engine, "SELECT value FROM core.fact_kpi_value WHERE service_code = 'nhs_health_checks'"
                        " AND period_label = '2017-18-Q2' AND kpi_code = 'nhc_checks' AND measure = 'actual'")
    assert current[0].value == 1806

    status = {r.service_code: r for r in q(engine, "SELECT * FROM mart.return_status WHERE period_label = '2017-18-Q2'")}
    # The draft with text in a number cell was quarantined; the published return sent after it loaded.
    assert status["hiv_prevention_positive"].status in ("received_valid", "received_with_warnings", "late")
    assert status["hiv_prevention_positive"].files_received == 2
    received = ("received_valid", "received_with_warnings", "late")
    for code in ("healthy_together", "smoking_cessation", "substance_misuse_woodlands", "active_lifestyle"):
        assert status[code].status in received, (code, status[code].status)
    assert "substance_misuse_turning_point" not in status                # redacted: no return expected
    kpi = q(engine, "SELECT target, actual, derived_percentage FROM mart.kpi_quarterly"
                    " WHERE service_code = 'nhs_health_checks' AND period_label = '2017-18-Q2' AND kpi_code = 'nhc_checks'")
    assert kpi[0].actual == 1806

    # Nothing on the shared drive was modified; every file read is kept in landing.
    for s in env["samples"]:
        assert s.path.exists()
    for r in files.values():
        assert Path(r.landing_path).exists()
        assert hashlib.sha256(Path(r.landing_path).read_bytes()).hexdigest() == r.sha256

    # Rerunning changes nothing and is a quick no-op.
    before = snapshot(engine)
    again = dag.test()
    assert str(again.state).endswith("success")
    assert snapshot(engine) == before
    assert len(by_file(engine)) == len(files)


def test_unsettled_file_waits_then_quarantines_and_corrected_file_loads(dag, env, monkeypatch):
    engine = env["engine"]
    dag.test()
    rel = sample(env, "substance_misuse_woodlands_2017-18-Q1 (1).xlsx")
    assert rel not in by_file(engine)            # still being written when the first run looked
    path = env["root"] / rel
    old = time.time() - 3600
    os.utime(path, (old, old))                   # it settles (but it is a half-written workbook)
    dag.test()
    files = by_file(engine)
    assert files[rel].status == "quarantined" and "not a readable workbook" in files[rel].error_summary

    # The provider corrects the text typed in a number cell: the new file is picked up and loads.
    from public_health.demo.shared_drive import return_figures
    from public_health.periods import FinancialQuarter
    from public_health.returns.services import load_services
    from public_health.returns.template import Prefill, write_template

    service = load_services()["hiv_prevention_positive"]
    bad_rel = sample(env, "hiv_prevention_positive_2017-18-Q2_draft.xlsx")
    corrected = env["root"] / Path(bad_rel).parent / "hiv_prevention_positive_2017-18-Q2 corrected.xlsx"
    write_template(service, FinancialQuarter.parse("2017-18-Q2"), corrected, Prefill(return_figures(service, "2017-18-Q2")))
    os.utime(corrected, (old + 60, old + 60))
    run = dag.test()
    files = by_file(engine)
    rel_corrected = corrected.relative_to(env["root"]).as_posix()
    assert files[rel_corrected].status in ("loaded", "loaded_with_warnings"), files[rel_corrected].error_summary
    assert files[bad_rel].status == "quarantined"          # the bad file stays on record, quarantined
    status = q(engine, "SELECT status FROM mart.return_status WHERE service_code = 'hiv_prevention_positive'"
                       " AND period_label = '2017-18-Q2'")
    assert status[0].status in ("received_valid", "received_with_warnings", "late")
    assert str(run.state).endswith("success")
