"""The BCF return's view model: figures and quarters formatted for people, why an actual is
missing, and the per-metric view the board summary shows (``html.py``); the return workbook
(``xlsx.py``) uses the same words."""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup

from public_health.periods import FinancialQuarter
from public_health.reports.bcf.model import BcfReturn, MetricLine, MetricQuarter

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


def _not_yet_due(q: MetricQuarter, reporting_quarter: FinancialQuarter) -> bool:
    return q.quarter > reporting_quarter


def missing_reason(q: MetricQuarter, reporting_quarter: FinancialQuarter) -> str:
    """Why the actual for ``q`` is missing."""
    if q.missing_note:
        return q.missing_note
    if _not_yet_due(q, reporting_quarter):
        return f"not yet due (return is for {quarter_words(reporting_quarter)})"
    return "reason not recorded"


def gap_notes(line: MetricLine, reporting_quarter: FinancialQuarter) -> list[str]:
    """One note per missing actual up to the reporting quarter, then the line's own notes."""
    notes = [
        f"Actual not available for {quarter_words(q.quarter)}: {missing_reason(q, reporting_quarter)}"
        for q in line.quarters
        if q.actual is None and not _not_yet_due(q, reporting_quarter)
    ]
    for note in line.gap_notes:
        if note not in notes:
            notes.append(note)
    return notes


def quarters_of(data: BcfReturn) -> list[FinancialQuarter]:
    """Every quarter any metric has, in order."""
    return sorted({q.quarter for line in data.metrics for q in line.quarters})


def metric_quarter(line: MetricLine, quarter: FinancialQuarter) -> MetricQuarter | None:
    return next((q for q in line.quarters if q.quarter == quarter), None)


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
    symbol, words, css = STATUS[line.on_track]
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
        "chart": Markup(chart) if chart else None,
        "source": line.actual_source,
        "notes": gap_notes(line, reporting_quarter),
    }
