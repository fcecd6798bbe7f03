"""The BCF return built from a real (empty) warehouse: every metric is present, and a missing actual
is a gap note in the workbook and the summary, never a zero."""

from __future__ import annotations

import openpyxl
import pytest
from sqlalchemy import text

from public_health.config import load_settings
from public_health.periods import FinancialQuarter
from public_health.reports.bcf.build import assemble, build_return


def test_missing_actuals_are_gap_notes_not_zeros(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("PH_OUTPUT_DIR", str(tmp_path / "out"))
    settings = load_settings()
    data = assemble(warehouse, settings, FinancialQuarter.parse("2016-17-Q2"))
    assert len(data.metrics) == 6 and len(data.conditions) == 8
    nea = next(m for m in data.metrics if m.code == "non_elective_admissions")
    q2 = next(q for q in nea.quarters if q.quarter == FinancialQuarter.parse("2016-17-Q2"))
    assert q2.plan == 15422 and q2.actual is None and q2.variance is None and nea.on_track is None
    assert any("Actual not available for 2016-17 Q2" in n for n in nea.gap_notes)

    result = build_return(warehouse, settings, FinancialQuarter.parse("2016-17-Q2"))
    book = openpyxl.load_workbook(tmp_path / "out" / "bcf" / "2016-17-Q2" / "bcf-return.xlsx")
    assert {"Cover", "Metrics", "National Conditions", "Narrative"} <= set(book.sheetnames)
    cells = [c.value for row in book["Metrics"].iter_rows() for c in row]
    assert any(isinstance(v, str) and v.startswith("Not available") for v in cells)
    assert not any(c.data_type == "f" for ws in book for row in ws.iter_rows() for c in row)
    html = (tmp_path / "out" / "bcf" / "2016-17-Q2" / "board-summary.html").read_text()
    assert "Actual not available for 2016-17 Q2" in html
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit.report_build WHERE report = 'bcf_return'")).scalar_one() == 1
    assert len(result["outputs"]) == 3


def test_the_return_carries_the_nea_plan_worked_from_its_inputs(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("PH_OUTPUT_DIR", str(tmp_path / "out"))
    settings = load_settings()
    nea = assemble(warehouse, settings, FinancialQuarter.parse("2016-17-Q1")).nea
    # Template section 5.1: the HWB plan, the reduction, the plan after it and the risk share.
    assert nea["HWB planned NEA as the template gives it (unrounded shares)"] == [15387, 15862, 15623, 15620, 62492]
    assert nea["Additional BCF reduction"] == [427, 440, 433, 433, 1733]
    assert nea["HWB NEA plan after reduction"] == [14960, 15422, 15190, 15187, 60759]
    assert nea["Risk-share value, GBP (reduction x 1,490 per admission)"][-1] == 2582170
    # The printed one-decimal shares give the HWB plan to within 0.1%.
    mapped = nea["HWB planned NEA: sum of the mapped CCG plans"]
    assert all(abs(a - b) / b < 0.001 for a, b in zip(mapped, [15387, 15862, 15623, 15620, 62492], strict=True))
    assert nea["NHS West Leicestershire CCG: plan x 96.2% resident in Leicestershire"][0] == round(8294 * 0.962)

    build_return(warehouse, settings, FinancialQuarter.parse("2016-17-Q1"))
    book = openpyxl.load_workbook(tmp_path / "out" / "bcf" / "2016-17-Q1" / "bcf-return.xlsx")
    rows = {r[0]: list(r[1:]) for r in book["NEA plan"].iter_rows(min_row=2, values_only=True)}
    assert rows["HWB NEA plan after reduction"] == [14960, 15422, 15190, 15187, 60759]
    assert assemble(warehouse, settings, FinancialQuarter.parse("2025-26-Q1")).nea is None   # no NEA plan that year


def test_unknown_planning_year_is_named(warehouse):
    from public_health.config import ConfigError

    with pytest.raises(ConfigError, match="bcf/2012-13.yaml"):
        assemble(warehouse, load_settings(), FinancialQuarter.parse("2012-13-Q1"))


# Actuals from the local NHS activity return, loaded by the provider returns pipeline --------------


@pytest.fixture
def activity_loaded(warehouse, tmp_path, monkeypatch):
    """The warehouse after the provider returns pipeline took the BCF activity returns of 2015-16 Q1
    and Q2 (the actuals the BCF planning template of March 2016 printed) from a shared drive."""
    import time
    from datetime import date

    from public_health.demo.shared_drive import BCF_ACTIVITY_RETURNS, return_figures
    from public_health.pipelines.provider_returns import process_files, scan, sync_config
    from public_health.returns.services import load_service
    from public_health.returns.template import Prefill, template_filename, write_template
    from public_health.warehouse.audit import RunContext

    share = tmp_path / "share"
    monkeypatch.setenv("PH_SHARED_DRIVE", str(share))
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PH_OUTPUT_DIR", str(tmp_path / "out"))
    service = load_service("bcf_nhs_activity")
    for quarter, submitted in BCF_ACTIVITY_RETURNS.items():
        fq = FinancialQuarter.parse(quarter)
        write_template(service, fq, share / "csu" / template_filename(service.code, fq),
                       Prefill(figures=return_figures(service, quarter),
                               cover={"submitted_by": "CSU performance team", "submission_date": submitted.date(),
                                      "contact_email": "performance@csu.example.org"}))
    settings = load_settings()
    sync_config(settings, warehouse, date.today())
    found = scan(settings, warehouse, now=time.time() + 3600)
    results = process_files(settings, warehouse, list(found.new), RunContext())
    assert sorted(r.status for r in results) == ["loaded", "loaded"], results
    return settings


def _metric(data, code):
    return next(m for m in data.metrics if m.code == code)


def test_local_return_actuals_give_the_papers_2015_16_figures(warehouse, activity_loaded):
    data = assemble(warehouse, activity_loaded, FinancialQuarter.parse("2015-16-Q2"))
    assert len(data.metrics) == 6 and [c.code for c in data.conditions] == ["1", "2", "3", "4", "5", "6"]
    nea = _metric(data, "non_elective_admissions")
    q1, q2 = nea.quarters[0], nea.quarters[1]
    assert (q1.plan, q1.actual, q1.variance) == (13909, 15463, 1554)
    assert (q2.plan, q2.actual, q2.variance) == (14209, 14792, 583)
    assert round(q1.variance_pct, 1) == 11.2
    # Year to date: 28,118 planned, 30,255 admitted (sheet 5b's '15/16 Actual' total), 2,137 over plan.
    assert (nea.ytd_plan, nea.ytd_actual, nea.ytd_variance, nea.on_track) == (28118, 30255, 2137, False)
    assert not any("2015-16 Q1" in n or "2015-16 Q2" in n for n in nea.gap_notes)
    assert [q.missing_note for q in nea.quarters] == [None, None, None, None]  # Q3, Q4 not yet due

    # Delayed days over the population aged 18+ per 100,000: the template's 716.2 and 701.4, under plan.
    dtoc = _metric(data, "delayed_transfers_of_care")
    assert [round(q.actual, 1) for q in dtoc.quarters[:2]] == [716.2, 701.4]
    assert [q.plan for q in dtoc.quarters[:2]] == [826.8, 768.0]
    assert dtoc.on_track is True and dtoc.ytd_actual is None   # a rate is not summed

    # An annual metric is still there, saying when its actual comes.
    assert "Annual metric: the 2015-16 actual is reported at year end (Q4)" in _metric(
        data, "patient_experience").gap_notes


def test_a_quarter_whose_return_has_not_arrived_is_a_gap_note(warehouse, activity_loaded):
    data = assemble(warehouse, activity_loaded, FinancialQuarter.parse("2015-16-Q3"))
    nea = _metric(data, "non_elective_admissions")
    q3 = nea.quarters[2]
    assert q3.actual is None and q3.variance is None and q3.missing_note == "not available"
    assert nea.ytd_actual is None and nea.on_track is None
    assert ("Actual not available for 2015-16 Q3: no loaded bcf_nhs_activity return for 2015-16 Q3 gives "
            "bcf_nea_admissions") in nea.gap_notes

    build_return(warehouse, activity_loaded, FinancialQuarter.parse("2015-16-Q3"))
    book = openpyxl.load_workbook(tmp := activity_loaded.output_dir / "bcf" / "2015-16-Q3" / "bcf-return.xlsx")
    cells = [c.value for row in book["Metrics"].iter_rows() for c in row]
    assert 15463 in cells and 14792 in cells and 0 not in cells, tmp
    with warehouse.connect() as conn:
        status = conn.execute(text(
            "SELECT status FROM mart.return_status WHERE service_code = 'bcf_nhs_activity'"
            " AND period_label = '2015-16-Q3'")).scalar_one()
    assert status in ("missing", "late", "overdue"), status


def test_a_local_return_source_must_name_a_configured_kpi(warehouse, tmp_path, monkeypatch):
    import shutil

    from public_health.config import CONFIG_DIR, ConfigError

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    path = config / "bcf" / "2015-16.yaml"
    path.write_text(path.read_text().replace("kpi_code: bcf_dtoc_delayed_days", "kpi_code: bcf_dtoc_days"))
    monkeypatch.setenv("PH_CONFIG_DIR", str(config))
    with pytest.raises(ConfigError, match=r"config/bcf/2015-16.yaml: metrics.2.actual_source.kpi_code: "
                                          r"'bcf_dtoc_days' is not a KPI of bcf_nhs_activity"):
        assemble(warehouse, load_settings(), FinancialQuarter.parse("2015-16-Q1"))
