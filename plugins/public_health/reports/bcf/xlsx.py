"""The Better Care Fund quarterly return as an XLSX workbook, laid out like the national BCF
quarterly template.

:func:`write_return_xlsx` writes a ``Cover`` sheet (HWB, planning year, quarter and blank sign-off
inputs), ``Metrics`` (plan, actual, variance per quarter, year to date and on-track per metric),
``National Conditions`` (the papers' answer per condition, as an input with a drop-down list, and
its source), ``Narrative`` (commentary inputs) and, when there are any, the ``NEA plan`` (the CCG
rows as printed, the HWB totals and the rounding note) and ``P4P and risk share``, every figure
with its source line in the papers. Input cells are yellow and unlocked;
calculated cells are grey and locked; every sheet is protected without a password so only the
inputs can be edited. A missing figure is written as ``"Not available: <reason>"``, never left
blank or 0. Free text is always written as a string, and text that a spreadsheet could read as a
formula gets Excel's quote prefix (:mod:`public_health.reports.xlsx`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from public_health.periods import FinancialQuarter
from public_health.reports.bcf.model import BcfReturn, MetricQuarter, SourcedTable
from public_health.reports.bcf.view import (
    NARRATIVE_LABELS,
    better_when,
    gap_notes,
    is_count,
    metric_quarter,
    missing_reason,
    narrative_label,
    quarter_words,
    quarters_of,
    status_of,
)
from public_health.reports.xlsx import SheetWriter, Workbook

log = logging.getLogger(__name__)

RETURN_TITLE = "Better Care Fund Quarterly Return"

SHEET_COVER = "Cover"
SHEET_METRICS = "Metrics"
SHEET_CONDITIONS = "National Conditions"
SHEET_NARRATIVE = "Narrative"
SHEET_NEA = "NEA plan"
SHEET_FINANCE = "P4P and risk share"

#: Choices offered for each national condition (as in the national template).
CONDITION_CHOICES = ["Yes", "No", "No - in development"]

STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 14},
    "header": {
        "bold": True,
        "bg_color": "#1F4E79",
        "font_color": "#FFFFFF",
        "text_wrap": True,
        "valign": "top",
        "border": 1,
    },
    "label": {"bold": True, "valign": "top", "text_wrap": True},
    "calc": {"bg_color": "#F2F2F2", "border": 1, "valign": "top", "text_wrap": True, "locked": True},
    "missing": {
        "bg_color": "#F2F2F2",
        "border": 1,
        "valign": "top",
        "text_wrap": True,
        "locked": True,
        "italic": True,
        "font_color": "#7F3F00",
    },
    "input": {
        "bg_color": "#FFFF99",
        "border": 1,
        "border_color": "#7F7F00",
        "valign": "top",
        "text_wrap": True,
        "locked": False,
    },
    "note": {"italic": True, "font_color": "#404040", "text_wrap": True, "valign": "top"},
}


def _num_format(unit: str) -> str:
    return "0.0" if unit.strip() == "%" else "#,##0" if is_count(unit) else "#,##0.0"


def _cover(sheet: SheetWriter, data: BcfReturn) -> None:
    sheet.text(0, 0, RETURN_TITLE, "title")
    rows = [
        ("Health and Wellbeing Board", data.hwb_name),
        ("HWB code", data.hwb_code),
        ("Planning year", data.planning_year),
        ("Quarter", quarter_words(data.quarter)),
        ("Generated", data.generated_at.strftime("%d %B %Y %H:%M")),
    ]
    row = 2
    for label, value in rows:
        sheet.text(row, 0, label, "label")
        sheet.text(row, 1, value)
        row += 1
    row += 1
    sheet.text(row, 0, "Sign-off (to be completed)", "label")
    row += 1
    for label in data.sign_off_fields:
        sheet.text(row, 0, label, "label")
        sheet.blank(row, 1, "input")
        row += 1
    row += 1
    sheet.text(row, 0, "Yellow cells are for input; grey cells are calculated and locked.", "note")


def _metrics_columns(quarters: list[FinancialQuarter]) -> list[str]:
    cols = ["Code", "Metric", "Unit", "Frequency", "Better when"]
    for q in quarters:
        h = quarter_words(q)
        cols += [f"{h} plan", f"{h} actual", f"{h} variance", f"{h} variance %"]
    cols += [
        "YTD plan",
        "YTD actual",
        "YTD variance",
        "Annual plan",
        "Status",
        "Status basis and source",
        "Plan source",
        "Actual source",
        "Notes",
        "Commentary",
    ]
    return cols


def _metrics(sheet: SheetWriter, data: BcfReturn) -> None:
    quarters = quarters_of(data)
    headers = _metrics_columns(quarters)
    sheet.header(headers)
    sheet.ws.set_row(0, 30)
    sheet.ws.freeze_panes(1, 2)
    for row, line in enumerate(data.metrics, start=1):
        fmt = _num_format(line.unit)
        for col, value in enumerate([line.code, line.name, line.unit, line.frequency, better_when(line)]):
            sheet.text(row, col, value)
        col = 5
        for quarter in quarters:
            q = metric_quarter(line, quarter)
            if q is None:
                q = MetricQuarter(quarter, None, None, missing_note="not part of this metric's plan")
            plan_reason = q.missing_note or "no plan set for this quarter"
            sheet.number(row, col, q.plan, fmt, f"Not available: {plan_reason}")
            sheet.number(row, col + 1, q.actual, fmt, f"Not available: {missing_reason(q, data.quarter)}")
            no_variance = "Not available: plan or actual missing"
            sheet.number(row, col + 2, q.variance, fmt, no_variance)
            sheet.number(row, col + 3, q.variance_pct, "0.0", no_variance)
            col += 4
        if is_count(line.unit):
            sheet.number(row, col, line.ytd_plan, fmt, "Not available: no plan to date")
            sheet.number(row, col + 1, line.ytd_actual, fmt, "Not available: no actuals to date")
            sheet.number(row, col + 2, line.ytd_variance, fmt, "Not available: plan or actual missing")
        else:
            for offset in range(3):
                sheet.text(row, col + offset, "Not applicable: a rate or percentage is not summed over the year")
        sheet.number(row, col + 3, line.annual_plan, fmt, "Not available: no annual plan set")
        _symbol, words, css, why = status_of(line)
        sheet.text(row, col + 4, words, "missing" if css == "not-assessed" else "calc")
        sheet.text(row, col + 5, why or "Not recorded")
        sheet.text(row, col + 6, line.plan_source or "Not recorded")
        sheet.text(row, col + 7, line.actual_source or "Not recorded")
        sheet.text(row, col + 8, "\n".join(gap_notes(line, data.quarter)))
        sheet.blank(row, col + 9, "input")
    sheet.autofilter(len(data.metrics))


def _conditions(sheet: SheetWriter, data: BcfReturn) -> None:
    sheet.header(["Code", "National condition", "Answer (Yes/No/No - in development)", "Comments", "Source"])
    for row, cond in enumerate(data.conditions, start=1):
        sheet.text(row, 0, cond.code)
        sheet.text(row, 1, cond.text)
        if cond.answer is not None:
            sheet.text(row, 2, cond.answer, "input")
        elif cond.confirmed is None:
            sheet.blank(row, 2, "input")
        else:
            sheet.text(row, 2, "Yes" if cond.confirmed else "No", "input")
        if cond.note:
            sheet.text(row, 3, cond.note, "input")
        else:
            sheet.blank(row, 3, "input")
        sheet.text(row, 4, cond.source or data.conditions_unanswered or "Not answered in the papers")
    if data.conditions_unanswered:
        sheet.text(len(data.conditions) + 2, 1, f"Not answered: {data.conditions_unanswered}", "note")
    if data.conditions:
        sheet.ws.data_validation(
            1,
            2,
            len(data.conditions),
            2,
            {
                "validate": "list",
                "source": CONDITION_CHOICES,
                "input_title": "Condition met?",
                "input_message": "Choose Yes, No or No - in development",
                "error_title": "Not a valid answer",
                "error_message": "Choose Yes, No or No - in development from the list.",
            },
        )


def _narrative(sheet: SheetWriter, data: BcfReturn) -> None:
    sheet.header(["Commentary", "Text (edit in the yellow cells)"])
    keys = list(data.narrative) or list(NARRATIVE_LABELS)
    for row, key in enumerate(keys, start=1):
        sheet.text(row, 0, narrative_label(key), "label")
        text = data.narrative.get(key, "")
        if text:
            sheet.text(row, 1, text, "input")
        else:
            sheet.blank(row, 1, "input")
        sheet.ws.set_row(row, 90)


def _table(sheet: SheetWriter, table: SourcedTable, first_row: int) -> int:
    """Write a table from the papers (title, header, rows with their sources, notes) from
    ``first_row``; the next free row."""
    sheet.text(first_row, 0, table.title, "label")
    row = first_row + 1
    for col, label in enumerate(["", *table.columns, "Source"]):
        sheet.text(row, col, label, "header")
    for r in table.rows:
        row += 1
        sheet.text(row, 0, r.label, "label")
        cells = list(r.values) + [None] * (len(table.columns) - len(r.values))
        for col, value in enumerate(cells[: len(table.columns)], start=1):
            sheet.number(row, col, value, "\u00a3#,##0" if r.money else "#,##0", "Not available: not printed")
        sheet.text(row, len(table.columns) + 1, r.source)
    for note in table.notes:
        row += 1
        sheet.text(row, 0, note, "note")
    return row + 2


def _nea(sheet: SheetWriter, data: BcfReturn) -> None:
    assert data.nea is not None
    _table(sheet, data.nea, 0)


def _finance(sheet: SheetWriter, data: BcfReturn) -> None:
    row = 0
    for section in data.finance:
        sheet.text(row, 0, section.title, "title")
        row += 1
        if section.table is not None:
            row = _table(sheet, section.table, row)
        for col, label in enumerate(["Amount", "GBP", "Working", "Source"]):
            sheet.text(row, col, label, "header")
        for amount in section.amounts:
            row += 1
            sheet.text(row, 0, amount.label, "label")
            sheet.number(row, 1, amount.value, "\u00a3#,##0", "Not available")
            sheet.text(row, 2, amount.working)
            sheet.text(row, 3, amount.source)
        for note in section.notes:
            row += 1
            sheet.text(row, 0, note, "note")
        row += 3


def write_return_xlsx(data: BcfReturn, path: Path | str) -> Path:
    """Write the quarterly return workbook to ``path`` and return the path."""
    started = time.perf_counter()
    path = Path(path)
    properties = {
        "title": f"{RETURN_TITLE}: {data.hwb_name} {quarter_words(data.quarter)}",
        "created": data.generated_at.replace(tzinfo=None),
    }
    book = Workbook(path, properties, STYLES)
    quarters = quarters_of(data)
    sheets = [
        (SHEET_COVER, [34, 48], _cover),
        (SHEET_METRICS,
         [8, 44, 12, 12, 10] + [11] * (4 * len(quarters)) + [11, 11, 11, 11, 16, 40, 24, 24, 48, 40], _metrics),
        (SHEET_CONDITIONS, [8, 70, 20, 60, 30], _conditions),
        (SHEET_NARRATIVE, [34, 100], _narrative),
    ]
    if data.nea:
        sheets.append((SHEET_NEA, [60, 12, 12, 12, 12, 12, 44], _nea))
    if data.finance:
        sheets.append((SHEET_FINANCE, [44, 14, 14, 14, 14, 14, 44], _finance))
    for name, widths, fill in sheets:
        sheet = book.sheet(name, widths, kind="calc")
        fill(sheet, data)
        sheet.protect()
    book.close()
    log.info("Wrote BCF return %s for %s %s in %.2fs", path, data.hwb_name, data.quarter, time.perf_counter() - started)
    return path
