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
    # Each gap note is printed once, in the summary and in the workbook.
    from public_health.reports.bcf.view import gap_notes

    for line in data.metrics:
        row = html.split(f'id="metric-{line.code}"', 1)[1].split('<tr id="metric-', 1)[0].split("</tbody>")[0]
        for note in gap_notes(line, data.quarter):
            assert row.count(f"{note}.") == 1, (line.code, note)
        for q in line.quarters:   # one note per missing quarter, whatever its wording
            assert row.count(f"Actual not available for {q.quarter.financial_year} Q{q.quarter.number}:") == (
                1 if q.actual is None and q.quarter <= data.quarter else 0), (line.code, q.quarter)
    notes = {r[0]: r for r in book["Metrics"].iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in book["Metrics"][1]]
    nea_notes = notes["non_elective_admissions"][header.index("Notes")].split("\n")
    assert len(nea_notes) == len(set(nea_notes)) == 2
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit.report_build WHERE report = 'bcf_return'")).scalar_one() == 1
    assert len(result["outputs"]) == 3


def test_the_return_carries_the_nea_plan_as_printed_with_its_rounding_note(warehouse, tmp_path, monkeypatch):
    from public_health.reports.bcf.sections import AFTER_REDUCTION, HWB_PLAN, REDUCTION, SUM_OF_CCG_ROWS

    monkeypatch.setenv("PH_OUTPUT_DIR", str(tmp_path / "out"))
    settings = load_settings()
    nea = assemble(warehouse, settings, FinancialQuarter.parse("2016-17-Q1")).nea
    # Template section 5.1 as printed: the HWB plan, the reduction and (worked) the plan after it.
    assert nea.row(HWB_PLAN).values == [15387, 15862, 15623, 15620, 62492]
    assert nea.row(HWB_PLAN).source == "Item 5 template, lines 2058, 2062, 2066, 2070, 2074"
    assert nea.row(REDUCTION).values == [427, 440, 433, 433, 1733]
    assert nea.row(AFTER_REDUCTION).values == [14960, 15422, 15190, 15187, 60759]
    # The CCG rows as printed, and what they add up to: one more than the printed total in three quarters.
    west = nea.row("NHS West Leicestershire CCG (96.2% / 52.7%)")
    assert west.values == [7981, 8233, 8106, 8107, 32426] and west.source == "Item 5 template, lines 2039-2050"
    assert nea.row(SUM_OF_CCG_ROWS).values == [15388, 15862, 15624, 15621, 62492]
    rounding = next(n for n in nea.notes if n.startswith("Rounding"))
    assert "15,388 / 15,862 / 15,624 / 15,621 (62,495 over the quarters)" in rounding
    assert "15,387 / 15,862 / 15,623 / 15,620 (62,492" in rounding
    assert not any("disagree" in n for n in nea.notes)

    build_return(warehouse, settings, FinancialQuarter.parse("2016-17-Q1"))
    book = openpyxl.load_workbook(tmp_path / "out" / "bcf" / "2016-17-Q1" / "bcf-return.xlsx")
    rows = {r[0]: list(r[1:]) for r in book["NEA plan"].iter_rows(min_row=3, values_only=True) if r[0]}
    assert rows[AFTER_REDUCTION][:5] == [14960, 15422, 15190, 15187, 60759]
    assert rows["NHS Corby CCG: CCG total NEA plan"][:6] == [1793, 1914, 1988, 1899, 7594,
                                                             "Item 5 template, lines 1955-1966"]
    assert any(str(k).startswith("Rounding: the printed CCG rows") for k in rows)
    finance = [c.value for row in book["P4P and risk share"].iter_rows() for c in row]
    assert 2582170 in finance and "Local risk pool recommended" in finance
    assert assemble(warehouse, settings, FinancialQuarter.parse("2025-26-Q1")).nea is None   # no NEA plan that year


def test_conditions_are_answered_as_the_papers_answer_them(warehouse):
    data = assemble(warehouse, load_settings(), FinancialQuarter.parse("2016-17-Q2"))
    answers = {c.code: (c.answer, c.source) for c in data.conditions}
    assert answers["1"] == ("No - in development", "Item 5 template, lines 2614, 2616")
    assert answers["3"] == ("No - in development", "Item 5 template, lines 2624, 2628-2629")
    assert answers["6"] == ("No - in development", "Item 5 template, lines 2640, 2645")
    assert {c: a for c, (a, _) in answers.items() if a == "Yes"}.keys() == {"2", "4", "5", "7", "8"}
    assert data.conditions_unanswered is None
    earlier = assemble(warehouse, load_settings(), FinancialQuarter.parse("2015-16-Q2"))
    assert [c.answer for c in earlier.conditions] == [None] * 6
    assert "no 2015-16 answers" in earlier.conditions_unanswered


def test_2016_17_metrics_have_a_status_or_say_why_not(warehouse):
    from public_health.reports.bcf.view import status_of

    data = assemble(warehouse, load_settings(), FinancialQuarter.parse("2016-17-Q2"))
    statuses = {m.code: status_of(m) for m in data.metrics}
    for code, (_symbol, words, _css, why) in statuses.items():
        assert why, code
        assert words != "Not assessed" or "data will be released in July 2017" in why, (code, why)
    assert statuses["non_elective_admissions"][1] == "Not on track (reported)"
    assert "(Item 13, line 11256)" in statuses["non_elective_admissions"][3]
    assert statuses["delayed_transfers_of_care"][1] == "On track (reported)"
    nea = _metric(data, "non_elective_admissions")
    assert nea.status.basis == "reported" and nea.status.period == "January to December 2015"
    # Metric 4 holds counts, and its name no longer says "per 100,000".
    assert nea.unit == "admissions (count)" and "per 100,000" not in nea.name


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
    assert (dtoc.status.basis, dtoc.status.on_track) == ("computed", True)
    assert (nea.status.basis, nea.status.on_track) == ("computed", False)

    # An annual metric is still there, saying when its actual comes.
    assert "Annual metric: the 2015-16 actual is reported at year end (Q4)" in _metric(
        data, "patient_experience").gap_notes


def test_a_quarter_whose_return_has_not_arrived_is_a_gap_note(warehouse, activity_loaded):
    data = assemble(warehouse, activity_loaded, FinancialQuarter.parse("2015-16-Q3"))
    nea = _metric(data, "non_elective_admissions")
    q3 = nea.quarters[2]
    why = "no loaded bcf_nhs_activity return for 2015-16 Q3 gives bcf_nea_admissions"
    assert q3.actual is None and q3.variance is None and q3.missing_note == why
    assert nea.ytd_actual is None and nea.on_track is None
    assert f"Actual not available for 2015-16 Q3: {why}" in nea.gap_notes
    # No computed status without the quarter's actual: the papers' own status, with its line.
    assert (nea.status.basis, nea.status.on_track, nea.status.source) == ("reported", False, "Item 13, line 11256")

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
