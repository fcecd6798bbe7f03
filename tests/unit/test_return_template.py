"""The provider return template: layout, validation, protection, and a prefilled round trip."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from public_health.periods import FinancialQuarter
from public_health.returns.parse import parse_return
from public_health.returns.template import (
    ACTIONS_SHEET,
    COMMENTS_HEADER_ROW,
    COMMENTS_SHEET,
    COVER_CELLS,
    COVER_NAMES,
    GREY_FILL,
    INPUT_FILL,
    KPI_FIRST_ROW,
    KPI_HEADER_ROW,
    KPI_SHEET,
    SHEETS,
    Prefill,
    template_filename,
    value_column,
    write_template,
)
from tests.unit.return_standins import Kpi, Service

ROOT = Path(__file__).resolve().parents[2]
Q2 = FinancialQuarter.parse("2017-18-Q2")




def health_visiting() -> Service:
    return Service(
        code="healthy_together",
        name="Healthy Together (0-19 public health nursing)",
        provider="Leicestershire Partnership NHS Trust",
        kpis=[
            Kpi("ht_new_birth_visits", "Number of new birth visits within 14 days", "count", target_kind="none"),
            Kpi("ht_new_birth_visits_pct", "% of new birth visits within 14 days", "percent", target=90),
            Kpi("ht_smoking_quitters", "Number of 4-week smoking quitters", "count", target_kind="cumulative"),
            Kpi("ht_cost_per_case", "Cost per case", "currency", target_kind="annual", frequency="annual"),
        ],
    )


@pytest.fixture
def template(tmp_path: Path) -> Path:
    svc = health_visiting()
    return write_template(svc, Q2, tmp_path / template_filename(svc.code, Q2))


def test_filename_convention():
    assert template_filename("sexual_health", FinancialQuarter.parse("2017-18-Q2")) == "sexual_health_2017-18-Q2.xlsx"
    assert template_filename("sexual_health", FinancialQuarter.from_typed("2017/18 q2")) == "sexual_health_2017-18-Q2.xlsx"
    with pytest.raises(ValueError, match="2017-18-Q2"):
        template_filename("sexual_health", FinancialQuarter.from_typed("2017-19-Q2"))


def test_sheets_and_cover_cells(template: Path):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == list(SHEETS)
    cover = wb["Cover"]
    assert cover[COVER_CELLS["service_code"]].value == "healthy_together"
    assert cover["B3"].value == "healthy_together"
    assert cover["B4"].value.startswith("Healthy Together")
    assert cover["B5"].value == "Leicestershire Partnership NHS Trust"
    assert cover["B6"].value == "2017-18-Q2"
    assert cover["B7"].value.date() == date(2017, 10, 30)  # 30 Sep + 30 days
    assert [cover[f"A{r}"].value for r in (3, 6, 9, 10, 11)] == [
        "Service code",
        "Period",
        "Submitted by",
        "Submission date",
        "Contact email",
    ]
    for key, name in COVER_NAMES.items():
        dn = wb.defined_names[name]
        assert dn.attr_text == f"Cover!$B${COVER_CELLS[key][1:]}"


def test_due_date_blank_when_unknown(tmp_path: Path):
    svc = health_visiting()
    svc.return_due_days = None
    wb = openpyxl.load_workbook(write_template(svc, FinancialQuarter.parse("2017-18-Q4"), tmp_path / "x.xlsx"))
    assert wb["Cover"]["B7"].value is None


def test_kpi_rows_and_header(template: Path):
    ws = openpyxl.load_workbook(template)[KPI_SHEET]
    header = [c.value for c in ws[KPI_HEADER_ROW]]
    assert header[:4] == ["KPI code", "KPI name", "Unit", "Target kind"]
    assert header[4:10] == [
        "Q1 Target",
        "Q1 Actual",
        "Q1 Actual to date",
        "Q2 Target",
        "Q2 Actual",
        "Q2 Actual to date",
    ]
    assert header[-1] == "Q4 Actual to date"
    codes = [ws.cell(row=KPI_FIRST_ROW + i, column=1).value for i in range(4)]
    assert codes == ["ht_new_birth_visits", "ht_new_birth_visits_pct", "ht_smoking_quitters", "ht_cost_per_case"]
    assert ws.cell(row=KPI_FIRST_ROW + 1, column=3).value == "percent"
    assert ws.cell(row=KPI_FIRST_ROW + 2, column=4).value == "cumulative"


def test_input_cells_unlocked_yellow_and_others_grey_locked(template: Path):
    ws = openpyxl.load_workbook(template)[KPI_SHEET]
    row_count, row_cum = KPI_FIRST_ROW, KPI_FIRST_ROW + 2
    q2_actual = ws.cell(row=row_count, column=value_column(2, "actual"))
    assert q2_actual.protection.locked is False
    assert q2_actual.fill.start_color.rgb == INPUT_FILL.start_color.rgb
    # actual to date is only for cumulative KPIs
    atd = ws.cell(row=row_count, column=value_column(2, "actual_to_date"))
    assert atd.protection.locked is True and atd.fill.start_color.rgb == GREY_FILL.start_color.rgb
    assert ws.cell(row=row_cum, column=value_column(2, "actual_to_date")).protection.locked is False
    # no target for target_kind none; actuals of later quarters locked
    assert ws.cell(row=row_count, column=value_column(2, "target")).protection.locked is True
    assert ws.cell(row=row_cum, column=value_column(3, "actual")).protection.locked is True
    assert ws.cell(row=row_cum, column=value_column(3, "target")).protection.locked is False
    # labels locked
    assert ws.cell(row=row_count, column=1).protection.locked is True
    cover = openpyxl.load_workbook(template)["Cover"]
    assert cover["B3"].protection.locked is True
    for ref in ("B9", "B10", "B11"):
        assert cover[ref].protection.locked is False
        assert cover[ref].fill.start_color.rgb == INPUT_FILL.start_color.rgb


def test_sheets_and_structure_protected(template: Path):
    wb = openpyxl.load_workbook(template)
    for ws in wb.worksheets:
        assert ws.protection.sheet is True, ws.title
        assert not ws.protection.password, ws.title
    assert wb.security is not None and wb.security.lockStructure


def _covers(ws, ref: str) -> list:
    return [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]


def test_data_validations_on_input_cells(template: Path):
    wb = openpyxl.load_workbook(template)
    ws = wb[KPI_SHEET]
    for q in range(1, 5):
        for measure in ("target", "actual", "actual_to_date"):
            col = value_column(q, measure)
            ref = ws.cell(row=KPI_FIRST_ROW + 2, column=col).coordinate
            dvs = _covers(ws, ref)
            assert len(dvs) == 1, ref
            assert dvs[0].type == "custom"
            assert "ISNUMBER" in dvs[0].formula1 and "not yet available" in dvs[0].formula1
            assert len(dvs[0].formula1) < 255  # Excel's limit
            assert dvs[0].prompt and "90%" in dvs[0].prompt
    cover = wb["Cover"]
    assert [dv.type for dv in _covers(cover, "B10")] == ["date"]
    assert [dv.type for dv in _covers(cover, "B11")] == ["custom"]
    comments = wb[COMMENTS_SHEET]
    assert [dv.type for dv in _covers(comments, f"C{COMMENTS_HEADER_ROW + 1}")] == ["date"]
    assert [dv.type for dv in _covers(wb[ACTIONS_SHEET], "B10")] == ["date"]


def test_comments_and_actions_sheets(template: Path):
    wb = openpyxl.load_workbook(template)
    assert [c.value for c in wb[COMMENTS_SHEET][COMMENTS_HEADER_ROW]] == ["Comment", "Lead", "Date"]
    assert [c.value for c in wb[ACTIONS_SHEET][3]] == ["Action", "Action by (date)"]
    assert wb[COMMENTS_SHEET].cell(row=COMMENTS_HEADER_ROW + 20, column=1).protection.locked is False


def test_instructions_cover_the_essentials(template: Path):
    ws = openpyxl.load_workbook(template)["Instructions"]
    text = "\n".join(str(c.value) for c in ws["A"] if c.value)
    for needle in (
        "Not yet available",
        "tbc",
        "n/a",
        "Redacted",
        "90%, 0.9 or 90",
        "never as zero",
        "healthy_together_2017-18-Q2.xlsx",
        "30 October 2017",
        "Do not add",
    ):
        assert needle in text, needle


def test_prefilled_template_round_trips(tmp_path: Path):
    svc = health_visiting()
    prefill = {
        ("ht_new_birth_visits", "2017-18-Q1", "actual"): 1175,
        ("ht_new_birth_visits", "2017-18-Q2", "actual"): 1284,
        ("ht_new_birth_visits_pct", "2017-18-Q1", "target"): 90,
        ("ht_new_birth_visits_pct", "2017-18-Q2", "target"): 90,
        ("ht_new_birth_visits_pct", "2017-18-Q2", "actual"): 96.3,
        ("ht_new_birth_visits_pct", "2017-18-Q1", "actual"): 0.5,
        ("ht_new_birth_visits_pct", "2017-18-Q3", "target"): 92.5,
        ("ht_smoking_quitters", "2017-18-Q2", "target"): 200,
        ("ht_smoking_quitters", "2017-18-Q2", "actual"): 61,
        ("ht_smoking_quitters", "2017-18-Q2", "actual_to_date"): 123,
        ("ht_cost_per_case", "2017-18-Q2", "actual"): "Not yet available",
    }
    comments = [{"comment": "Performance improved", "lead": "J Smith", "date": date(2017, 10, 12)}]
    actions = [("Recruit two health visitors", date(2018, 1, 31))]
    path = write_template(
        svc,
        Q2,
        tmp_path / "healthy_together_2017-18-Q2.xlsx",
        Prefill(
            figures=prefill,
            comments=comments,
            actions=actions,
            cover={"submitted_by": "J Smith", "submission_date": date(2017, 10, 20), "contact_email": "j@nhs.net"},
        ),
    )
    parsed = parse_return(path, {svc.code: svc})
    assert (parsed.service_code, parsed.period.label, parsed.layout) == ("healthy_together", "2017-18-Q2", "xlsx")
    got = {
        (v.kpi_code, v.period.label, v.measure): v.value if v.value is not None else v.missing_reason
        for v in parsed.values
        if v.missing_reason != "blank"
    }
    expected = dict(prefill)
    expected[("ht_cost_per_case", "2017-18-Q2", "actual")] = "not_yet_available"
    assert got == expected
    # every expected cell of the return quarter is filled; the annual KPI expects nothing before Q4
    assert [v for v in parsed.values if v.missing_reason == "blank"] == []
    assert [(c["comment"], c["lead"], c["date"]) for c in parsed.comments] == [
        ("Performance improved", "J Smith", date(2017, 10, 12))
    ]
    assert [(a["action"], a["action_by"]) for a in parsed.actions] == [
        ("Recruit two health visitors", date(2018, 1, 31))
    ]
    assert parsed.cover == {
        "submitted_by": "J Smith",
        "submission_date": date(2017, 10, 20),
        "contact_email": "j@nhs.net",
    }
    frame = parsed.frame()
    assert len(frame) == len(parsed.values)


def test_blank_template_records_return_quarter_blanks(template: Path):
    svc = health_visiting()
    parsed = parse_return(template, {svc.code: svc})
    assert {(v.kpi_code, v.period.label, v.measure) for v in parsed.values} == {
        ("ht_new_birth_visits", "2017-18-Q2", "actual"),
        ("ht_new_birth_visits_pct", "2017-18-Q2", "target"),
        ("ht_new_birth_visits_pct", "2017-18-Q2", "actual"),
        ("ht_smoking_quitters", "2017-18-Q2", "target"),
        ("ht_smoking_quitters", "2017-18-Q2", "actual"),
        ("ht_smoking_quitters", "2017-18-Q2", "actual_to_date"),
        # ht_cost_per_case is annual: nothing expected before Q4
    }
    assert all(v.value is None and v.missing_reason == "blank" for v in parsed.values)
    assert parsed.comments == [] and parsed.actions == []


def test_prefill_rejects_unknown_keys(tmp_path: Path):
    svc = health_visiting()
    with pytest.raises(ValueError, match="not a KPI"):
        write_template(svc, Q2, tmp_path / "a.xlsx", Prefill({("nope", "2017-18-Q2", "actual"): 1}))
    with pytest.raises(ValueError, match="not a quarter of 2017-18"):
        write_template(svc, Q2, tmp_path / "a.xlsx", Prefill({("ht_smoking_quitters", "2016-17-Q2", "actual"): 1}))


def _configured_services() -> dict:
    folder = ROOT / "config" / "services"
    if not any(p.name != "_defaults.yaml" for p in folder.glob("*.yaml")):
        return {}
    from public_health.returns.services import load_services

    return load_services()


_WORDS = {
    "not_yet_available": "Not yet available",
    "pending": "Pending",
    "tbc": "tbc",
    "redacted": "Redacted",
    "not_applicable": "n/a",
    "not_recorded": "Data not recorded",
    "dash": "-",
}


def test_every_configured_service_round_trips_its_reference_figures(tmp_path: Path):
    """The published 2017/18 Q1-Q2 figures of each configured service, prefilled, parse back unchanged."""
    services = _configured_services()
    assert services, "no services configured under config/services"
    for code, svc in services.items():
        prefill = {
            (f.kpi, f.period, f.measure): f.value if f.value is not None else _WORDS[f.missing_reason]
            for f in svc.reference_figures
            if f.period in ("2017-18-Q1", "2017-18-Q2") and f.measure in ("target", "actual", "actual_to_date")
        }
        path = write_template(svc, Q2, tmp_path / template_filename(code, Q2), Prefill(prefill))
        parsed = parse_return(path, services)
        assert (parsed.service_code, parsed.period.label) == (code, "2017-18-Q2")
        got = {
            (v.kpi_code, v.period.label, v.measure): v.value if v.value is not None else v.missing_reason
            for v in parsed.values
            if v.missing_reason != "blank"
        }
        want = {
            k: v if not isinstance(v, str) else next(r for r, w in _WORDS.items() if w == v) for k, v in prefill.items()
        }
        assert got == pytest.approx(want), code
