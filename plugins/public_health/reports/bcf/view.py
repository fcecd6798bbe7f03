"""The BCF return's view model: figures and quarters formatted for people, why an actual is
missing, and the per-metric view the board summary shows (``html.py``); the return workbook
(``xlsx.py``) uses the same words."""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup

from public_health.periods import FinancialQuarter
from public_health.reports.bcf.model import BcfReturn, FinanceSection, MetricLine, MetricQuarter, SourcedTable

#: Friendly labels for the usual narrative keys; other keys are shown from the key itself.
NARRATIVE_LABELS = {
    "progress": "Progress against the plan this quarter",
    "challenges": "Challenges and risks",
    "plans_next_quarter": "Plans for the next quarter",
}

#: Longest narrative text shown on the one-page summary (the workbook always has it in full).
SUMMARY_NARRATIVE_CHARS = 600

STATUS = {
    True: ("\u2713", "On track", "on-track"),
    False: ("\u2717", "Not on track", "off-track"),
    None: ("\u2013", "Not assessed", "not-assessed"),
}


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def quarter_words(quarter: FinancialQuarter) -> str:
    """``2016-17 Q2``: a quarter as the return, its summary and its gap notes name it."""
    return f"{quarter.financial_year} Q{quarter.number}"


def narrative_label(key: str) -> str:
    return NARRATIVE_LABELS.get(key, key.replace("_", " ").strip().capitalize() or key)


def is_number(value: float | None) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_count(unit: str) -> bool:
    """Counts (admissions) are whole numbers and add up over the year; rates and percentages do not."""
    return "count" in unit.lower()


def format_value(value: float | None, unit: str = "", signed: bool = False) -> str:
    """A figure for people: thousands separators, one decimal place (none for counts), ``%`` for percentages."""
    if not is_number(value):
        return "Not available"
    assert value is not None
    text = f"{abs(value):,.0f}" if is_count(unit) else f"{abs(value):,.1f}"
    if signed:
        text = ("+" if value > 0 else "\u2212" if value < 0 else "") + text
    elif value < 0:
        text = "\u2212" + text
    return text + ("%" if unit.strip() == "%" else "")


def format_count(value: float | None, decimals: int = 0, signed: bool = False) -> str:
    """A plain number with thousands separators (``2,985``, ``3.5``), signed with +/\u2212 if asked."""
    if not is_number(value):
        return "Not available"
    assert value is not None
    text = f"{abs(value):,.{decimals}f}"
    if signed:
        return ("+" if value > 0 else "\u2212" if value < 0 else "") + text
    return ("\u2212" if value < 0 else "") + text


def format_money(value: float | None) -> str:
    """Pounds as the papers print them in full: ``£2,582,170``."""
    if not is_number(value):
        return "Not available"
    assert value is not None
    return ("\u2212" if value < 0 else "") + f"\u00a3{abs(value):,.0f}"


def format_values(values: list[float] | list[float | None]) -> str:
    """Quarterly figures as a list for a sentence: ``15,388 / 15,862 / 15,624 / 15,621``."""
    return " / ".join(format_count(v) for v in values)


def _not_yet_due(q: MetricQuarter, reporting_quarter: FinancialQuarter) -> bool:
    return q.quarter > reporting_quarter


def missing_reason(q: MetricQuarter, reporting_quarter: FinancialQuarter) -> str:
    """Why the actual for ``q`` is missing."""
    if q.missing_note:
        return q.missing_note
    if _not_yet_due(q, reporting_quarter):
        return f"not yet due (return is for {quarter_words(reporting_quarter)})"
    return "reason not recorded"


def missing_actual_note(quarter: FinancialQuarter, reason: str) -> str:
    """The note printed for a quarter whose actual is missing (the build and the view share it)."""
    return f"Actual not available for {quarter_words(quarter)}: {reason}"


def gap_notes(line: MetricLine, reporting_quarter: FinancialQuarter) -> list[str]:
    """The line's notes, each once: one per missing actual up to the reporting quarter, then the
    line's own notes (a note the line already carries is not printed again)."""
    notes: list[str] = []
    for note in [
        missing_actual_note(q.quarter, missing_reason(q, reporting_quarter))
        for q in line.quarters
        if q.actual is None and not _not_yet_due(q, reporting_quarter)
    ] + list(line.gap_notes):
        if note not in notes:
            notes.append(note)
    return notes


def quarters_of(data: BcfReturn) -> list[FinancialQuarter]:
    """Every quarter any metric has, in order."""
    return sorted({q.quarter for line in data.metrics for q in line.quarters})


def metric_quarter(line: MetricLine, quarter: FinancialQuarter) -> MetricQuarter | None:
    return next((q for q in line.quarters if q.quarter == quarter), None)


def status_of(line: MetricLine) -> tuple[str, str, str, str]:
    """(symbol, words, css class, why) for a line's status. A computed status says so; a status the
    papers report says "(reported)" with the period, their words and the line; "Not assessed" always
    says why."""
    status = line.status
    if status is None:
        symbol, words, css = STATUS[line.on_track]
        why = "" if line.on_track is not None else "no actual to judge against the plan yet"
        return symbol, words, css, why
    symbol, words, css = STATUS[status.on_track]
    if status.basis == "reported":
        if status.on_track is not None:
            words = f"{words} (reported)"
        where = f" ({status.source})" if status.source else ""
        period = f"{status.period}: " if status.period else ""
        return symbol, words, css, f"{period}\u201c{status.reason}\u201d{where}"
    return symbol, words, css, status.reason


def status_basis(line: MetricLine) -> str:
    """In words, what the status rests on: the actuals, the papers' report, or nothing yet."""
    status = line.status
    if status is None:
        return "computed from the actuals;" if line.on_track is not None else "not assessed:"
    return {"computed": "computed,", "reported": "as the papers report it,"}.get(status.basis, "not assessed:")


def better_when(line: MetricLine) -> str:
    """'lower' or 'higher': which way the metric improves."""
    return "lower" if line.polarity.lower().startswith("l") else "higher"


# --------------------------------------------------------------------------------------------
# The board summary's view of a metric
# --------------------------------------------------------------------------------------------


def shorten(text: str, limit: int = SUMMARY_NARRATIVE_CHARS) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip() + "\u2026 (full text in the return workbook)"


def metric_view(line: MetricLine, reporting_quarter: FinancialQuarter, chart: str | None) -> dict[str, Any]:
    """One metric on the summary; ``chart`` is its trend chart (``charts.trend_chart_svg``)."""
    q = metric_quarter(line, reporting_quarter) or MetricQuarter(reporting_quarter, None, None)
    symbol, words, css, why = status_of(line)
    percent = line.unit.strip() == "%"
    variance = format_value(q.variance, "" if percent else line.unit, signed=True)
    if percent and is_number(q.variance):
        variance += " pp"  # percentage points
    if is_number(q.variance_pct):
        variance += f" ({format_value(q.variance_pct, signed=True)}%)"
    return {
        "code": line.code,
        "name": line.name,
        "unit": line.unit,
        "frequency": line.frequency,
        "better": better_when(line),
        "plan": (format_value(line.annual_plan, line.unit) + " (year)"
                 if q.plan is None and line.frequency == "annual" and is_number(line.annual_plan)
                 else format_value(q.plan, line.unit)),
        "actual": format_value(q.actual, line.unit),
        "actual_missing": not is_number(q.actual),
        "variance": variance,
        "ytd": (f"{format_value(line.ytd_plan, line.unit)} / {format_value(line.ytd_actual, line.unit)}"
                if is_count(line.unit) else "Not summed (a rate)"),
        "symbol": symbol,
        "status": words,
        "status_css": css,
        "status_why": why,
        "status_basis": status_basis(line),
        "plan_source": line.plan_source,
        "chart": Markup(chart) if chart else None,
        "source": line.actual_source,
        "notes": gap_notes(line, reporting_quarter),
    }


# --------------------------------------------------------------------------------------------
# The board summary's view of the papers' tables
# --------------------------------------------------------------------------------------------


def format_cell(value: float | None, money: bool = False) -> str:
    """A table cell: pounds or a count; a dash where the papers print nothing."""
    if not is_number(value):
        return "\u2013"
    return format_money(value) if money else format_count(value)


def table_view(table: SourcedTable, with_detail: bool = False) -> dict[str, Any]:
    """A table's rows with formatted cells (detail rows only when asked: the summary leaves them out)."""
    rows = [
        {"label": r.label, "cells": [format_cell(v, r.money) for v in r.values], "source": r.source,
         "worked": r.worked}
        for r in table.rows
        if with_detail or not r.detail
    ]
    return {"title": table.title, "columns": table.columns, "rows": rows, "notes": table.notes}


def finance_view(section: FinanceSection) -> dict[str, Any]:
    return {
        "title": section.title,
        "table": table_view(section.table) if section.table else None,
        "amounts": [{"label": a.label, "value": format_money(a.value), "working": a.working, "source": a.source}
                    for a in section.amounts],
        "notes": section.notes,
    }
