"""Render a Better Care Fund quarterly return: the XLSX return and a one-page board summary.

* :func:`write_return_xlsx` lays the return out like the national BCF quarterly template: a
  ``Cover`` sheet (HWB, planning year, quarter and blank sign-off inputs), ``Metrics`` (plan,
  actual, variance per quarter, year to date and on-track per metric), ``National Conditions``
  (a Yes/No input per condition, with a drop-down list), ``Narrative`` (commentary inputs) and,
  when there is one, the ``NEA plan``. Input cells are yellow and unlocked; calculated cells are
  grey and locked; every sheet is protected without a password so only the inputs can be edited.
  A missing figure is written as ``"Not available: <reason>"``, never left blank or 0. Free text
  is always written as a string (``strings_to_formulas`` off), and text that a spreadsheet could
  read as a formula (leading ``= + - @``) gets Excel's quote prefix.
* :func:`render_summary_html` is a self-contained, escaped, one-A4-page summary for the board:
  each metric with plan, actual, variance and on-track status (in words and a symbol), a small
  inline SVG trend chart of plan against actual, notes on missing actuals and the commentary.
  :func:`write_summary_pdf` prints it with WeasyPrint.
"""

from __future__ import annotations

import io
import logging
import math
import re
import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from public_health.reports.bcf.model import BcfReturn, MetricLine, MetricQuarter

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
RETURN_TITLE = "Better Care Fund Quarterly Return"
SUMMARY_TITLE = "Better Care Fund Quarterly Summary"

SHEET_COVER = "Cover"
SHEET_METRICS = "Metrics"
SHEET_CONDITIONS = "National Conditions"
SHEET_NARRATIVE = "Narrative"
SHEET_NEA = "NEA plan"

#: Choices offered for each national condition (as in the national template).
CONDITION_CHOICES = ["Yes", "No", "No - in development"]

#: Friendly labels for the usual narrative keys; other keys are shown from the key itself.
NARRATIVE_LABELS = {
    "progress": "Progress against the plan this quarter",
    "challenges": "Challenges and risks",
    "plans_next_quarter": "Plans for the next quarter",
}

#: Text starting with one of these could be read as a formula (or DDE) by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Longest narrative text shown on the one-page summary (the workbook always has it in full).
SUMMARY_NARRATIVE_CHARS = 600

STATUS = {
    True: ("\u2713", "On track", "on-track"),
    False: ("\u2717", "Not on track", "off-track"),
    None: ("\u2013", "Not assessed", "not-assessed"),
}


# --------------------------------------------------------------------------------------------
# Shared formatting
# --------------------------------------------------------------------------------------------


def quarter_heading(quarter: str) -> str:
    """``'2016-17-Q2'`` -> ``'2016-17 Q2'``."""
    return re.sub(r"-(Q[1-4])$", r" \1", quarter)


def narrative_label(key: str) -> str:
    return NARRATIVE_LABELS.get(key, key.replace("_", " ").strip().capitalize() or key)


def _is_number(value: float | None) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_count(unit: str) -> bool:
    """Counts (admissions) are whole numbers and add up over the year; rates and percentages do not."""
    return "count" in unit.lower()


def format_value(value: float | None, unit: str = "", signed: bool = False) -> str:
    """A figure for people: thousands separators, one decimal place (none for counts), ``%`` for percentages."""
    if not _is_number(value):
        return "Not available"
    assert value is not None
    text = f"{abs(value):,.0f}" if is_count(unit) else f"{abs(value):,.1f}"
    if signed:
        text = ("+" if value > 0 else "\u2212" if value < 0 else "") + text
    elif value < 0:
        text = "\u2212" + text
    return text + ("%" if unit.strip() == "%" else "")


def _not_yet_due(q: MetricQuarter, reporting_quarter: str) -> bool:
    return q.quarter > reporting_quarter


def missing_reason(q: MetricQuarter, reporting_quarter: str) -> str:
    """Why the actual for ``q`` is missing."""
    if q.missing_note:
        return q.missing_note
    if _not_yet_due(q, reporting_quarter):
        return f"not yet due (return is for {quarter_heading(reporting_quarter)})"
    return "reason not recorded"


def gap_notes(line: MetricLine, reporting_quarter: str) -> list[str]:
    """One note per missing actual up to the reporting quarter, then the line's own notes."""
    notes = [
        f"Actual not available for {quarter_heading(q.quarter)}: {missing_reason(q, reporting_quarter)}"
        for q in line.quarters
        if q.actual is None and not _not_yet_due(q, reporting_quarter)
    ]
    for note in line.gap_notes:
        if note not in notes:
            notes.append(note)
    return notes


def _quarters(data: BcfReturn) -> list[str]:
    """Every quarter any metric has, in order."""
    return sorted({q.quarter for line in data.metrics for q in line.quarters})


def _quarter(line: MetricLine, quarter: str) -> MetricQuarter | None:
    return next((q for q in line.quarters if q.quarter == quarter), None)


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------


class _Formats:
    """xlsxwriter formats by (kind, number format, quoted), made once each."""

    BASE: dict[str, dict[str, Any]] = {
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

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self.cache: dict[tuple[str, str | None, bool], Any] = {}

    def get(self, kind: str, num_format: str | None = None, quoted: bool = False) -> Any:
        key = (kind, num_format, quoted)
        if key not in self.cache:
            props = dict(self.BASE[kind])
            if num_format:
                props["num_format"] = num_format
            if quoted:
                props["quote_prefix"] = True
            self.cache[key] = self.workbook.add_format(props)
        return self.cache[key]


class _Sheet:
    """One worksheet; text is only ever written with ``write_string``."""

    def __init__(self, workbook: Any, formats: _Formats, name: str, widths: list[int]) -> None:
        self.ws = workbook.add_worksheet(name)
        self.f = formats
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)

    def text(self, row: int, col: int, value: str, kind: str = "calc") -> None:
        text = str(value)
        self.ws.write_string(row, col, text, self.f.get(kind, quoted=text.startswith(FORMULA_PREFIXES)))

    def number(
        self, row: int, col: int, value: float | None, num_format: str, missing: str, kind: str = "calc"
    ) -> None:
        if _is_number(value):
            self.ws.write_number(row, col, value, self.f.get(kind, num_format))
        else:
            self.text(row, col, missing, "missing")

    def blank_input(self, row: int, col: int) -> None:
        self.ws.write_blank(row, col, None, self.f.get("input"))

    def protect(self) -> None:
        self.ws.protect(
            "",
            {"format_columns": True, "format_rows": True, "select_locked_cells": True, "select_unlocked_cells": True},
        )


def _num_format(unit: str) -> str:
    return "0.0" if unit.strip() == "%" else "#,##0" if is_count(unit) else "#,##0.0"


def _cover(sheet: _Sheet, data: BcfReturn) -> None:
    sheet.text(0, 0, RETURN_TITLE, "title")
    rows = [
        ("Health and Wellbeing Board", data.hwb_name),
        ("HWB code", data.hwb_code),
        ("Planning year", data.planning_year),
        ("Quarter", quarter_heading(data.quarter)),
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
        sheet.blank_input(row, 1)
        row += 1
    row += 1
    sheet.text(row, 0, "Yellow cells are for input; grey cells are calculated and locked.", "note")


def _metrics_columns(quarters: list[str]) -> list[str]:
    cols = ["Code", "Metric", "Unit", "Frequency", "Better when"]
    for q in quarters:
        h = quarter_heading(q)
        cols += [f"{h} plan", f"{h} actual", f"{h} variance", f"{h} variance %"]
    cols += [
        "YTD plan",
        "YTD actual",
        "YTD variance",
        "Annual plan",
        "On track",
        "Actual source",
        "Notes",
        "Commentary",
    ]
    return cols


def _metrics(sheet: _Sheet, data: BcfReturn) -> None:
    quarters = _quarters(data)
    headers = _metrics_columns(quarters)
    for col, header in enumerate(headers):
        sheet.text(0, col, header, "header")
    sheet.ws.set_row(0, 30)
    sheet.ws.freeze_panes(1, 2)
    for row, line in enumerate(data.metrics, start=1):
        fmt = _num_format(line.unit)
        for col, value in enumerate(
            [
                line.code,
                line.name,
                line.unit,
                line.frequency,
                "lower" if line.polarity.lower().startswith("l") else "higher",
            ]
        ):
            sheet.text(row, col, value)
        col = 5
        for quarter in quarters:
            q = _quarter(line, quarter)
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
        symbol, words, _css = STATUS[line.on_track]
        sheet.text(row, col + 4, words, "calc" if line.on_track is not None else "missing")
        sheet.text(row, col + 5, line.actual_source or "Not recorded")
        sheet.text(row, col + 6, "\n".join(gap_notes(line, data.quarter)))
        sheet.blank_input(row, col + 7)
    sheet.ws.autofilter(0, 0, len(data.metrics), len(headers) - 1)


def _conditions(sheet: _Sheet, data: BcfReturn) -> None:
    for col, header in enumerate(["Code", "National condition", "Confirmed (Yes/No)", "Comments"]):
        sheet.text(0, col, header, "header")
    for row, cond in enumerate(data.conditions, start=1):
        sheet.text(row, 0, cond.code)
        sheet.text(row, 1, cond.text)
        if cond.confirmed is None:
            sheet.blank_input(row, 2)
        else:
            sheet.text(row, 2, "Yes" if cond.confirmed else "No", "input")
        if cond.note:
            sheet.text(row, 3, cond.note, "input")
        else:
            sheet.blank_input(row, 3)
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


def _narrative(sheet: _Sheet, data: BcfReturn) -> None:
    sheet.text(0, 0, "Commentary", "header")
    sheet.text(0, 1, "Text (edit in the yellow cells)", "header")
    keys = list(data.narrative) or list(NARRATIVE_LABELS)
    for row, key in enumerate(keys, start=1):
        sheet.text(row, 0, narrative_label(key), "label")
        text = data.narrative.get(key, "")
        if text:
            sheet.text(row, 1, text, "input")
        else:
            sheet.blank_input(row, 1)
        sheet.ws.set_row(row, 90)


def _nea(sheet: _Sheet, data: BcfReturn) -> None:
    assert data.nea is not None
    year = data.planning_year
    headers = ["Non-elective admissions", f"{year} Q1", f"{year} Q2", f"{year} Q3", f"{year} Q4", "Total"]
    for col, header in enumerate(headers):
        sheet.text(0, col, header, "header")
    for row, (label, values) in enumerate(data.nea.items(), start=1):
        sheet.text(row, 0, label, "label")
        cells = list(values) + [None] * (5 - len(values))
        for col, value in enumerate(cells[:5], start=1):
            sheet.number(row, col, value, "#,##0", "Not available: not in the NEA plan")


def write_return_xlsx(data: BcfReturn, path: Path | str) -> Path:
    """Write the quarterly return workbook to ``path`` and return the path."""
    import xlsxwriter

    started = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    workbook.set_properties(
        {
            "title": f"{RETURN_TITLE}: {data.hwb_name} {quarter_heading(data.quarter)}",
            "created": data.generated_at.replace(tzinfo=None),
        }
    )
    formats = _Formats(workbook)
    quarters = _quarters(data)
    sheets = [
        (SHEET_COVER, [34, 48], _cover),
        (SHEET_METRICS, [8, 44, 12, 12, 10] + [11] * (4 * len(quarters)) + [11, 11, 11, 11, 13, 24, 48, 40], _metrics),
        (SHEET_CONDITIONS, [8, 70, 20, 60], _conditions),
        (SHEET_NARRATIVE, [34, 100], _narrative),
    ]
    if data.nea:
        sheets.append((SHEET_NEA, [44, 12, 12, 12, 12, 12], _nea))
    for name, widths, fill in sheets:
        sheet = _Sheet(workbook, formats, name, widths)
        fill(sheet, data)
        sheet.protect()
    workbook.close()
    log.info("Wrote BCF return %s for %s %s in %.2fs", path, data.hwb_name, data.quarter, time.perf_counter() - started)
    return path


# --------------------------------------------------------------------------------------------
# Trend chart (inline SVG)
# --------------------------------------------------------------------------------------------


def chart_description(line: MetricLine, reporting_quarter: str) -> str:
    parts = []
    for q in line.quarters:
        actual = format_value(q.actual, line.unit) if q.actual is not None else "not available"
        parts.append(f"{quarter_heading(q.quarter)} plan {format_value(q.plan, line.unit)}, actual {actual}")
    return f"{line.name}: plan against actual by quarter. " + "; ".join(parts) + "."


def _inline_svg(document: str, prefix: str, description: str) -> str:
    """A matplotlib SVG fit to inline in HTML: no prolog/metadata/style block, prefixed ids,
    ``role="img"`` and a ``<title>`` text alternative."""
    svg = document[document.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'((?:xlink:)?href)="#([^"]+)"', rf'\1="#{prefix}-\2"', svg)
    head_end = svg.index(">") + 1
    opening = svg[4 : head_end - 1].rstrip()
    return f'<svg role="img" class="trend"{opening}><title>{escape(description)}</title>' + svg[head_end:]


def trend_chart_svg(line: MetricLine, reporting_quarter: str) -> str | None:
    """A small plan (dashed, squares) against actual (solid, circles) line chart by quarter."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    plan = [q.plan for q in line.quarters]
    actual = [q.actual for q in line.quarters]
    values = [v for v in plan + actual if _is_number(v)]
    if not values:
        return None

    def nan(series: list[float | None]) -> list[float]:
        return [v if _is_number(v) else math.nan for v in series]  # type: ignore[misc]

    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", line.code).strip("-") or "m"
    rc = {"svg.fonttype": "none", "svg.hashsalt": f"bcf-{slug}", "font.family": "DejaVu Sans", "font.size": 6}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(1.9, 0.75), layout="constrained")
        ax = fig.add_subplot()
        xs = list(range(len(line.quarters)))
        ax.plot(xs, nan(plan), linestyle="--", marker="s", markersize=2.5, linewidth=0.9, color="#8a4b00")
        ax.plot(xs, nan(actual), linestyle="-", marker="o", markersize=3, linewidth=1.2, color="#1f4e79")
        ax.set_xticks(xs)
        ax.set_xticklabels([q.quarter.rsplit("-", 1)[-1] for q in line.quarters])
        ax.set_xlim(-0.4, len(xs) - 0.6)
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.25 or abs(hi) * 0.1 or 1
        ax.set_ylim(lo - pad, hi + pad)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
        ax.tick_params(length=2, pad=1)
        ax.spines[["top", "right"]].set_visible(False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return _inline_svg(buf.getvalue(), f"bcf-{slug}", chart_description(line, reporting_quarter))


# --------------------------------------------------------------------------------------------
# HTML / PDF summary
# --------------------------------------------------------------------------------------------


def _shorten(text: str, limit: int = SUMMARY_NARRATIVE_CHARS) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip() + "\u2026 (full text in the return workbook)"


def _metric_view(line: MetricLine, reporting_quarter: str) -> dict[str, Any]:
    q = _quarter(line, reporting_quarter) or MetricQuarter(reporting_quarter, None, None)
    symbol, words, css = STATUS[line.on_track]
    percent = line.unit.strip() == "%"
    variance = format_value(q.variance, "" if percent else line.unit, signed=True)
    if percent and _is_number(q.variance):
        variance += " pp"  # percentage points
    if _is_number(q.variance_pct):
        variance += f" ({format_value(q.variance_pct, signed=True)}%)"
    chart = trend_chart_svg(line, reporting_quarter)
    return {
        "code": line.code,
        "name": line.name,
        "unit": line.unit,
        "frequency": line.frequency,
        "better": "lower" if line.polarity.lower().startswith("l") else "higher",
        "plan": (format_value(line.annual_plan, line.unit) + " (year)"
                 if q.plan is None and line.frequency == "annual" and _is_number(line.annual_plan)
                 else format_value(q.plan, line.unit)),
        "actual": format_value(q.actual, line.unit),
        "actual_missing": not _is_number(q.actual),
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


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_summary_html(data: BcfReturn) -> str:
    """The one-page board summary as one self-contained, HTML-escaped document."""
    started = time.perf_counter()
    conditions_met = sum(1 for c in data.conditions if c.confirmed)
    html = (
        _environment()
        .get_template("summary.html.j2")
        .render(
            title=SUMMARY_TITLE,
            data=data,
            quarter=quarter_heading(data.quarter),
            generated=data.generated_at.strftime("%d %B %Y %H:%M"),
            generated_iso=data.generated_at.isoformat(timespec="seconds"),
            metrics=[_metric_view(line, data.quarter) for line in data.metrics],
            conditions_met=conditions_met,
            conditions_open=[c for c in data.conditions if not c.confirmed],
            narrative=[(narrative_label(k), _shorten(v)) for k, v in data.narrative.items() if v.strip()],
            css=(TEMPLATES / "summary.css").read_text(encoding="utf-8"),
        )
    )
    log.info(
        "Rendered BCF summary HTML for %s %s: %d metrics in %.2fs",
        data.hwb_name,
        data.quarter,
        len(data.metrics),
        time.perf_counter() - started,
    )
    return html


def write_summary_html(data: BcfReturn, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_summary_html(data), encoding="utf-8")
    return path


def write_summary_pdf(data: BcfReturn, path: Path | str, html: str | None = None) -> Path:
    """Print the summary (``html`` if given) to PDF with WeasyPrint; warns if it is not one page."""
    from weasyprint import HTML

    started = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = HTML(string=html if html is not None else render_summary_html(data)).render()
    if len(document.pages) != 1:
        log.warning("BCF summary for %s runs to %d pages, not 1", data.quarter, len(document.pages))
    document.write_pdf(path)
    log.info("Wrote %s: %d page(s) in %.2fs", path, len(document.pages), time.perf_counter() - started)
    return path


__all__ = [
    "RETURN_TITLE",
    "SUMMARY_TITLE",
    "format_value",
    "gap_notes",
    "render_summary_html",
    "trend_chart_svg",
    "write_return_xlsx",
    "write_summary_html",
    "write_summary_pdf",
]
