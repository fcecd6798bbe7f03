"""The BCF quarterly return renderer: XLSX laid out like the national template (inputs unlocked,
no formulas from free text, explicit "Not available" for missing actuals) and the one-page summary."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from public_health.periods import FinancialQuarter
from public_health.reports.bcf.html import SUMMARY_TITLE, render_summary_html, write_summary_html, write_summary_pdf
from public_health.reports.bcf.model import (
    BcfReturn,
    MetricLine,
    MetricQuarter,
    NationalCondition,
    SourcedTable,
    TableRow,
)
from public_health.reports.bcf.view import format_value
from public_health.reports.bcf.xlsx import write_return_xlsx

QUARTERS = FinancialQuarter.parse("2016-17-Q1").year_quarters()
INJECTED = ['=HYPERLINK("http://evil.example","click")', "+1", "@SUM(A1)"]
MISSING_REASON = "GP Patient Survey results for 2016/17 are released in July 2017"


def _line(
    code: str,
    name: str,
    unit: str,
    polarity: str,
    plans: list[float],
    actuals: list[float | None],
    on_track: bool | None,
    note: str | None = None,
) -> MetricLine:
    quarters = []
    for i, (q, plan) in enumerate(zip(QUARTERS, plans, strict=True)):
        actual = actuals[i] if i < len(actuals) else None
        variance = None if actual is None else round(actual - plan, 1)
        quarters.append(
            MetricQuarter(
                quarter=q,
                plan=plan,
                actual=actual,
                variance=variance,
                variance_pct=None if variance is None else round(variance / plan * 100, 1),
                missing_note=note if (actual is None and i == 1) else None,
            )
        )
    done = [q for q in quarters[:2] if q.actual is not None]
    ytd_plan = sum(q.plan for q in quarters[:2] if q.plan is not None)
    ytd_actual = sum(q.actual for q in done) if done else None
    if unit == "%":  # a rate over the year to date, not a sum
        ytd_plan = ytd_plan / 2
        ytd_actual = None if ytd_actual is None else ytd_actual / len(done)
    return MetricLine(
        code=code,
        name=name,
        unit=unit,
        frequency="quarterly",
        polarity=polarity,
        quarters=quarters,
        ytd_plan=ytd_plan,
        ytd_actual=ytd_actual,
        ytd_variance=None if ytd_actual is None else round(ytd_actual - ytd_plan, 1),
        on_track=on_track,
        annual_plan=sum(plans),
        actual_source="Arden & GEM CSU",
    )


@pytest.fixture
def bcf() -> BcfReturn:
    metrics = [
        _line(
            "M1",
            "Permanent admissions of older people (65+) to residential and nursing care homes, per 100,000",
            "per 100,000",
            "lower",
            [157.5, 157.5, 157.5, 157.6],
            [150.2, 161.0],
            True,
        ),
        _line(
            "M2",
            "Older people (65+) still at home 91 days after discharge into reablement",
            "%",
            "higher",
            [84.2, 84.2, 84.2, 84.2],
            [81.5, 82.9],
            False,
        ),
        _line(
            "M3",
            "Delayed transfers of care (delayed days) from hospital per 100,000 (18+)",
            "per 100,000",
            "lower",
            [650.0, 640.0, 630.0, 620.0],
            [616.3, 601.8],
            True,
        ),
        _line(
            "M4",
            "Total non-elective admissions (general and acute), per 100,000 per month",
            "per 100,000",
            "lower",
            [750.2, 750.2, 750.2, 750.2],
            [782.4, 771.0],
            False,
        ),
        _line(
            "M5",
            "Patients satisfied with support to manage long-term conditions",
            "%",
            "higher",
            [63.5, 63.5, 63.5, 63.5],
            [61.6],
            None,
            note=MISSING_REASON,
        ),
        _line(
            "M6",
            "Emergency admissions for falls injuries (65+), per 100,000 per month",
            "per 100,000",
            "lower",
            [139.7, 139.7, 139.7, 139.7],
            [135.0, 0.0],
            True,
        ),
    ]
    conditions = [
        NationalCondition("1", "Plans to be jointly agreed", True),
        NationalCondition("2", "Maintain provision of social care services", True),
        NationalCondition(
            "3",
            "7-day services to prevent unnecessary non-elective admissions",
            False,
            '=HYPERLINK("http://evil.example","plan")',
        ),
        NationalCondition("4", "Better data sharing based on the NHS number", None),
    ]
    return BcfReturn(
        planning_year="2016-17",
        quarter=FinancialQuarter.parse("2016-17-Q2"),
        hwb_name="Leicestershire",
        hwb_code="E10000018",
        generated_at=datetime(2016, 11, 18, 9, 30),
        metrics=metrics,
        conditions=conditions,
        narrative={
            "progress": INJECTED[0] + " Integrated crisis response live across the county.",
            "challenges": INJECTED[1],
            "plans_next_quarter": INJECTED[2],
        },
        sign_off_fields=["Completed by", "Email", "Approved by HWB chair", "Date"],
        nea=SourcedTable(
            "NEA plan", [f"2016-17 Q{n}" for n in range(1, 5)] + ["Total"],
            [
                TableRow("CCG operating plan mapped to HWB", [15100.0, 15200.0, 15300.0, 15159.0, 60759.0], "a paper"),
                TableRow("BCF additional reduction", [120.0, 120.0, 120.0, 120.0, 480.0], "a paper"),
            ],
            ["A note on rounding."],
        ),
    )


def _cells(wb: openpyxl.Workbook):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            yield from row


def test_xlsx_layout_and_missing_actuals(bcf: BcfReturn, tmp_path: Path) -> None:
    path = write_return_xlsx(bcf, tmp_path / "bcf.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Cover", "Metrics", "National Conditions", "Narrative", "NEA plan"]

    ws = wb["Metrics"]
    headers = [c.value for c in ws[1]]
    assert len(list(ws.iter_rows(min_row=2))) == 6
    for row in ws.iter_rows(min_row=2, values_only=True):
        record = dict(zip(headers, row, strict=True))
        for q in ("2016-17 Q1", "2016-17 Q2"):
            for kind in ("plan", "actual"):
                value = record[f"{q} {kind}"]
                assert value is not None and value != ""
                assert isinstance(value, float | int) or str(value).startswith("Not available: "), (row[0], q, value)
    m5 = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "M5")
    record = dict(zip(headers, m5, strict=True))
    assert record["2016-17 Q2 actual"] == f"Not available: {MISSING_REASON}"
    assert record["2016-17 Q3 actual"].startswith("Not available: not yet due")
    assert f"Actual not available for 2016-17 Q2: {MISSING_REASON}" in record["Notes"]
    # A real zero is a number, not a gap.
    m6 = dict(zip(headers, next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "M6"), strict=True))
    assert m6["2016-17 Q2 actual"] == 0
    assert [r[2] for r in wb["National Conditions"].iter_rows(min_row=2, values_only=True)] == [
        "Yes",
        "Yes",
        "No",
        None,
    ]


def test_xlsx_inputs_protection_and_validation(bcf: BcfReturn, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_return_xlsx(bcf, tmp_path / "bcf.xlsx"))
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password, ws.title
    cover = wb["Cover"]
    labels = {row[0].value: row[1] for row in cover.iter_rows(min_row=1, max_col=2)}
    assert labels["Health and Wellbeing Board"].value == "Leicestershire"
    assert labels["Health and Wellbeing Board"].protection.locked
    for field in bcf.sign_off_fields:
        cell = labels[field]
        assert cell.value is None
        assert cell.protection.locked is False
        assert cell.fill.fgColor.rgb.endswith("FFFF99")
    conditions = wb["National Conditions"]
    validations = conditions.data_validations.dataValidation
    assert len(validations) == 1 and validations[0].type == "list"
    assert '"Yes,No' in validations[0].formula1
    assert "C2" in str(validations[0].sqref) or "C2:C5" in str(validations[0].sqref)
    assert conditions["C2"].protection.locked is False
    narrative = wb["Narrative"]
    assert narrative["B2"].protection.locked is False
    assert wb["Metrics"]["F2"].protection.locked is True


def test_xlsx_has_no_formulas_and_injected_text_is_string(bcf: BcfReturn, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_return_xlsx(bcf, tmp_path / "bcf.xlsx"))
    formulas = [(c.parent.title, c.coordinate, c.value) for c in _cells(wb) if c.data_type == "f"]
    assert formulas == []
    by_value = {c.value: c for c in _cells(wb) if isinstance(c.value, str)}
    for text in INJECTED[1:]:
        assert by_value[text].data_type == "s"
        assert by_value[text].quotePrefix
    progress = wb["Narrative"]["B2"]
    assert progress.data_type == "s" and progress.value.startswith("=HYPERLINK(")
    assert progress.quotePrefix
    assert wb["National Conditions"]["D4"].value.startswith("=HYPERLINK(")
    assert wb["National Conditions"]["D4"].data_type == "s"


def test_html_summary(bcf: BcfReturn, tmp_path: Path) -> None:
    html = render_summary_html(bcf)
    assert SUMMARY_TITLE in html
    for line in bcf.metrics:
        assert line.name in html
        assert f'id="metric-{line.code}"' in html
    assert f"Actual not available for 2016-17 Q2: {MISSING_REASON}" in html
    cell = re.search(r'<td class="[^"]*actual[^"]*" data-metric="M5">(.*?)</td>', html, re.S)
    assert cell is not None
    assert cell.group(1).strip() == "Not available"
    assert not re.search(r"\b0(\.0)?%?\b", cell.group(1))
    m6 = re.search(r'<td class="[^"]*actual[^"]*" data-metric="M6">(.*?)</td>', html, re.S)
    assert m6 is not None and m6.group(1).strip() == "0.0"
    # On-track status in words as well as symbol; charts inline with a text alternative.
    assert "Not on track" in html and "On track" in html and "Not assessed" in html
    assert html.count('<svg role="img"') == 6 and "<title>" in html
    # Free text escaped, not markup; no external resources.
    assert "<script" not in html and "http://evil.example" in html
    assert 'src="http' not in html and "<link" not in html
    assert "Integrated crisis response" in html
    out = write_summary_html(bcf, tmp_path / "bcf.html")
    assert out.read_text(encoding="utf-8") == html


def test_html_escapes_markup(bcf: BcfReturn) -> None:
    from dataclasses import replace

    html = render_summary_html(replace(bcf, narrative={"progress": "<script>alert(1)</script>"}))
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_format_value() -> None:
    assert format_value(None) == "Not available"
    assert format_value(0.0) == "0.0"
    assert format_value(84.24, "%") == "84.2%"
    assert format_value(-3.0, signed=True) == "\u22123.0"
    # Counts are whole admissions; rates keep one decimal place.
    assert format_value(15463.0, "admissions (count)") == "15,463"
    assert format_value(583.0, "admissions (count)", signed=True) == "+583"
    assert format_value(716.2178, "delayed days per 100,000 population aged 18+") == "716.2"


def test_pdf_one_page(bcf: BcfReturn, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from pypdf import PdfReader

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        path = write_summary_pdf(bcf, tmp_path / "bcf.pdf")
    # Issue 12: the charts' SVG carries presentation attributes, not inline CSS WeasyPrint ignores with a
    # warning per element ("Ignored `fill: #ffffff`"), which buried make demo's output.
    ignored = [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")]
    assert not ignored, ignored[:3]
    reader = PdfReader(str(path))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert SUMMARY_TITLE in text.replace("\n", " ")
    assert "Leicestershire" in text
