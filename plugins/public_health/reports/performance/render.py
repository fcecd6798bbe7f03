"""Render the quarterly Division of Public Health Performance Report to HTML, PDF and XLSX.

The layout follows the Leicester 2017/18 Q2 report: a summary page (every service with its overall
RAG rating and a link to its page, and the legends), then one page per service with provider,
purpose, overall rating, relevant PHOF indicators, the KPI table (KPI × quarter, Target / Actual /
Actual to date), charts of actual against target, comments on performance and key actions, plus
a clearly marked box with every data-quality finding about the service's return.

* :func:`render_html` gives one self-contained HTML document (inline CSS and SVG, no external
  resources); everything from the data is HTML-escaped (Jinja autoescape).
* :func:`write_pdf` prints that same HTML with WeasyPrint (print CSS: A4 landscape, one service per
  page, repeated table headers).
* :func:`write_xlsx` writes the tables behind every page; provider text that looks like a formula
  is stored as a string with Excel's quote prefix, never as a formula.

Output is deterministic: the generation time comes from the data, charts have stable ids and no
date, and the XLSX ``created`` property is the data's generation time.
"""

from __future__ import annotations

import io
import logging
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from public_health.reports.performance.model import (
    KpiCell,
    KpiRow,
    PhofRow,
    Rating,
    ReportData,
    ServicePage,
)

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_TITLE = "Division of Public Health Performance Report"
#: KPIs with targets charted per service page, in table order.
MAX_CHARTS_PER_SERVICE = 6

#: The report's own RAG definitions.
RAG_LEGEND: tuple[tuple[str, str], ...] = (
    ("Green", "no issue identified, no action required"),
    ("Amber", "some concerns to be addressed"),
    ("Red", "serious issues, immediate action required"),
    ("Grey", "problems with data or other technical aspects make a judgement unreliable"),
)

#: Significance against England: (symbol, css class, legend text). The word is always shown too.
SIGNIFICANCE: dict[str, tuple[str, str, str]] = {
    "Better": ("▲", "good", "significantly better than England"),
    "Similar": ("●", "neutral", "not significantly different to England"),
    "Worse": ("▼", "bad", "significantly worse than England"),
    "Higher": ("△", "neutral", "significantly higher than England (no judgement of better or worse)"),
    "Lower": ("▽", "neutral", "significantly lower than England (no judgement of better or worse)"),
    "Not compared": ("○", "none", "not compared with England"),
}
#: Direction of travel from the previous period.
DIRECTION: dict[str, tuple[str, str, str]] = {
    "Improving": ("↑", "good", "improving since the previous period"),
    "Worsening": ("↓", "bad", "worsening since the previous period"),
    "No significant change": ("→", "neutral", "no significant change since the previous period"),
    "Increasing": ("↗", "neutral", "increasing (no judgement of better or worse)"),
    "Decreasing": ("↘", "neutral", "decreasing (no judgement of better or worse)"),
    "Not available": ("–", "none", "direction of travel not available"),
}
ASSESSMENT: dict[str, tuple[str, str, str]] = {
    "met": ("✓", "good", "Met"),
    "near_miss": ("≈", "warn", "Near miss"),
    "missed": ("✗", "bad", "Missed"),
    "no_target": ("", "none", "No target"),
    "no_data": ("", "none", "No data"),
}
#: Missing-figure reasons (``returns.parse.MISSING_REASONS``) in words; never shown as 0.
MISSING_WORDS: dict[str, str] = {
    "blank": "Not provided",
    "dash": "Not provided",
    "not_applicable": "Not applicable",
    "tbc": "tbc",
    "not_yet_available": "Not yet available",
    "redacted": "Redacted",
    "pending": "Pending",
    "not_recorded": "Data not recorded",
}
RETURN_STATUS: dict[str, str] = {
    "received_valid": "Received",
    "received_with_warnings": "Received with warnings",
    "quarantined": "Quarantined: figures not used",
    "late": "Late",
    "missing": "Not received",
    "not_yet_due": "Not yet due",
}
MEASURES: tuple[tuple[str, str], ...] = (
    ("target", "Target"),
    ("actual", "Actual"),
    ("actual_to_date", "Actual to date"),
)
RATINGS = ("Green", "Amber", "Red", "Grey")


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def quarter_heading(quarter: str) -> str:
    """'2017-18-Q2' -> 'Q2 2017-18' (the reference's column heading); anything else unchanged."""
    m = re.fullmatch(r"(\d{4}-\d{2})-(Q[1-4])", quarter)
    return f"{m.group(2)} {m.group(1)}" if m else quarter


def missing_words(reason: str | None) -> str:
    """A missing figure's reason in words ('blank' or no reason -> 'Not provided')."""
    if not reason or not reason.strip():
        return "Not provided"
    key = reason.strip().casefold().replace(" ", "_")
    if key in MISSING_WORDS:
        return MISSING_WORDS[key]
    return reason.strip().replace("_", " ").capitalize()


def _is_number(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def format_number(value: float, unit: str | None = None, decimals: int = 2) -> str:
    """A figure as the report shows it: thousands separators, at most ``decimals`` decimals (no
    trailing zeros: 90, 18.75, 57.3), % and £ for those units."""
    rounded = round(float(value), decimals)
    if rounded == 0:
        rounded = 0.0  # no "-0"
    text = f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{rounded:,.0f}"
    if unit == "currency" and not rounded.is_integer():
        text = f"{rounded:,.2f}"  # pence: £1,234.50
    if unit == "percent":
        return f"{text}%"
    if unit == "currency":
        return f"£{text}" if rounded >= 0 else f"-£{text[1:]}"
    return text


def cell_text(cell: KpiCell | None, unit: str) -> tuple[str, bool]:
    """(text, is_missing) for one KPI cell; an absent cell is ('', False)."""
    if cell is None:
        return "", False
    if _is_number(cell.value):
        return format_number(cell.value, unit), False  # type: ignore[arg-type]
    return missing_words(cell.missing_reason), True


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)  # not strftime's %B: the output must not depend on the locale


def format_date(value: date | None) -> str:
    """'7 Nov 2017'; '' for no date."""
    return f"{value.day} {_MONTHS[value.month - 1][:3]} {value.year}" if value else ""


def format_datetime(value: datetime) -> str:
    """'14 November 2017, 09:30' (with the zone name when the time has one)."""
    text = f"{value.day} {_MONTHS[value.month - 1]} {value.year}, {value:%H:%M}"
    if value.tzinfo is not None:
        text += f" {value.tzname() or value.strftime('%z')}"
    return text


def _w3c_datetime(value: datetime) -> str:
    """For ``<meta name="dcterms.created">`` (the PDF's creation date): a time only with its zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.date().isoformat()
    return value.isoformat(timespec="seconds")


def _symbol(table: dict[str, tuple[str, str, str]], value: str) -> dict[str, str]:
    symbol, css, _ = table.get(value, ("?", "none", value))
    return {"symbol": symbol, "css": css, "text": value or "Not available"}


def _rating_css(rating: str | None) -> str:
    return f"rag-{rating.lower()}" if rating in RATINGS else "rag-unknown"


# --------------------------------------------------------------------------------------------
# Chart
# --------------------------------------------------------------------------------------------


def _series(cells: dict[str, KpiCell], quarters: list[str]) -> list[float | None]:
    out: list[float | None] = []
    for q in quarters:
        cell = cells.get(q)
        out.append(float(cell.value) if cell is not None and _is_number(cell.value) else None)  # type: ignore[arg-type]
    return out


def _chart_actual(row: KpiRow, quarters: list[str]) -> tuple[str, list[float | None]]:
    """Which actual series to plot: actual to date for cumulative KPIs (their targets are to date)."""
    to_date = _series(row.actual_to_date, quarters)
    if row.target_kind == "cumulative" and any(v is not None for v in to_date):
        return "Actual to date", to_date
    return "Actual", _series(row.actual, quarters)


def chart_description(row: KpiRow, quarters: list[str]) -> str:
    """The chart's text alternative: what is plotted and every plotted figure."""
    label, actual = _chart_actual(row, quarters)
    target = _series(row.target, quarters)
    parts = []
    for q, a, t in zip(quarters, actual, target, strict=True):
        if a is None and t is None:
            continue
        bits = []
        if t is not None:
            bits.append(f"target {format_number(t, row.unit)}")
        bits.append(f"{label.lower()} {format_number(a, row.unit) if a is not None else 'not available'}")
        parts.append(f"{quarter_heading(q)}: {', '.join(bits)}")
    return f"{row.name}: {label.lower()} against target by quarter. " + "; ".join(parts) + "."


def kpi_chart_svg(row: KpiRow, quarters: list[str], id_prefix: str | None = None) -> str | None:
    """A small line chart of actual (or actual to date) against target by quarter, as inline SVG.

    None when the KPI has no figures in ``quarters``. The SVG carries ``role="img"`` and a
    ``<title>`` with :func:`chart_description`; its ids start with ``id_prefix`` (default
    ``kpi-<code>``) and are stable across runs, as is everything else in it.
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    label, actual = _chart_actual(row, quarters)
    target = _series(row.target, quarters)
    if all(v is None for v in actual + target):
        return None

    def nan(values: list[float | None]) -> list[float]:
        return [math.nan if v is None else v for v in values]

    rc = {
        "svg.fonttype": "none",
        "svg.hashsalt": f"kpi-{row.code}",
        "font.family": "DejaVu Sans",
        "font.size": 7,
    }
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(4.0, 2.2), layout="constrained")
        ax = fig.add_subplot()
        xs = list(range(len(quarters)))
        if any(v is not None for v in target):
            ax.plot(xs, nan(target), linestyle="--", marker="s", markersize=3.5, color="#8a4b00", label="Target")
        ax.plot(xs, nan(actual), linestyle="-", marker="o", markersize=4, color="#1f4e79", label=label)
        ax.set_xticks(xs)
        ax.set_xticklabels([quarter_heading(q).replace(" ", "\n", 1) for q in quarters], fontsize=6)
        ax.set_xlim(-0.5, len(quarters) - 0.5)
        values = [v for v in actual + target if v is not None]
        if min(values) >= 0:
            ax.set_ylim(bottom=0, top=max(values) * 1.1 if max(values) > 0 else 1)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(v, row.unit)))
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.legend(loc="best", fontsize=6, frameon=False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    prefix = _slug(id_prefix or f"kpi-{row.code}")
    return _inline_svg(buf.getvalue(), prefix, chart_description(row, quarters))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


_STYLE_ATTR = re.compile(r'style="([^"]*)"')
_PRESENTATION = frozenset(
    (
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-opacity",
        "opacity",
        "font-size",
        "font-family",
        "font-weight",
        "font-style",
        "text-anchor",
        "clip-path",
    )
)


def _style_to_attributes(match: re.Match[str]) -> str:
    """matplotlib's ``style="fill: red; stroke: blue"`` as SVG presentation attributes: the same
    drawing, but nothing an HTML/print CSS engine reads as (unknown) CSS."""
    attrs = []
    for decl in match.group(1).split(";"):
        name, _, value = decl.partition(":")
        name, value = name.strip(), value.strip().replace('"', "'")
        if name in _PRESENTATION and value:
            attrs.append(f'{name}="{value}"')
    return " ".join(attrs)


def _inline_svg(document: str, prefix: str, description: str) -> str:
    """A matplotlib SVG document made fit to inline in HTML: no XML prolog, metadata or global
    ``<style>``; ids prefixed so several charts on one page never share one; ``role="img"`` and a
    ``<title>`` holding the text alternative."""
    svg = document[document.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>\s*", "", svg, flags=re.S)
    svg = _STYLE_ATTR.sub(_style_to_attributes, svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'((?:xlink:)?href)="#([^"]+)"', rf'\1="#{prefix}-\2"', svg)
    head_end = svg.index(">") + 1
    title = f"<title>{escape(description)}</title>"
    opening = svg[4 : head_end - 1].rstrip()
    return (
        f'<svg role="img" class="kpi-chart" stroke-linejoin="round" stroke-linecap="butt"{opening}>'
        + title
        + svg[head_end:]
    )


# --------------------------------------------------------------------------------------------
# View model: everything the templates show, already formatted
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measure:
    label: str
    cells: list[dict[str, Any]]


def _kpi_view(row: KpiRow, quarters: list[str]) -> dict[str, Any]:
    measures: list[_Measure] = []
    for attr, label in MEASURES:
        cells: dict[str, KpiCell] = getattr(row, attr)
        wanted = bool(cells) or (attr == "actual") or (attr == "target" and row.target_kind != "none")
        wanted = wanted or (attr == "actual_to_date" and row.target_kind == "cumulative")
        if not wanted:
            continue
        shown = []
        for q in quarters:
            text, missing = cell_text(cells.get(q), row.unit)
            shown.append({"text": text, "missing": missing})
        measures.append(_Measure(label, shown))
    if row.information_only:
        assessment = {"symbol": "", "css": "none", "text": "Information only"}
    else:
        symbol, css, text = ASSESSMENT.get(row.assessment, ("", "none", row.assessment.replace("_", " ").capitalize()))
        assessment = {"symbol": symbol, "css": css, "text": text}
    return {
        "code": row.code,
        "name": row.name,
        "information_only": row.information_only,
        "measures": measures,
        "assessment": assessment,
        "assessment_note": row.assessment_note,
    }


def _kpi_groups(kpis: list[KpiRow], quarters: list[str]) -> list[dict[str, Any]]:
    """KPIs in order, grouped by consecutive section (the reference's sub-headings)."""
    groups: list[dict[str, Any]] = []
    for row in kpis:
        if not groups or groups[-1]["section"] != row.section:
            groups.append({"section": row.section, "kpis": []})
        groups[-1]["kpis"].append(_kpi_view(row, quarters))
    return groups


def _phof_number(value: float | None) -> str:
    """PHOF values to one decimal place, as Fingertips shows them."""
    return f"{value:,.1f}" if _is_number(value) else "Not available"


def _phof_view(row: PhofRow) -> dict[str, Any]:
    value = _phof_number(row.area_value)
    ci = ""
    if _is_number(row.area_lower) and _is_number(row.area_upper):
        ci = f"{_phof_number(row.area_lower)} – {_phof_number(row.area_upper)}"
    england = _phof_number(row.england_value)
    previous = ""
    if row.previous_period and _is_number(row.previous_value):
        previous = f"{_phof_number(row.previous_value)} in {row.previous_period}"
    return {
        "code": row.phof_code or "",
        "indicator_id": row.indicator_id,
        "name": row.name,
        "unit": row.unit or "",
        "period": row.period or "Not available",
        "value": value,
        "ci": ci,
        "england": england,
        "significance": _symbol(SIGNIFICANCE, row.significance),
        "direction": _symbol(DIRECTION, row.direction),
        "previous": previous,
        "note": row.note,
    }


def _rating_view(rating: Rating) -> dict[str, Any]:
    overridden = rating.override_rating is not None
    return {
        "computed": rating.computed,
        "computed_css": _rating_css(rating.computed),
        "final": rating.final,
        "final_css": _rating_css(rating.final),
        "overridden": overridden,
        "differs": rating.final != rating.computed,
        "override_rating": rating.override_rating,
        "override_css": _rating_css(rating.override_rating),
        "override_reason": rating.override_reason,
        "override_by": rating.override_by,
        "override_on": format_date(rating.override_on),
        "reasons": list(rating.reasons),
    }


def _service_view(page: ServicePage, report_quarter: str) -> dict[str, Any]:
    charts = []
    for row in page.kpis:
        if len(charts) >= MAX_CHARTS_PER_SERVICE:
            break
        if row.information_only or not any(_is_number(c.value) for c in row.target.values()):
            continue
        chart_id = f"chart-{page.code}-{row.code}"
        svg = kpi_chart_svg(row, page.quarters, id_prefix=chart_id)
        if svg is not None:
            charts.append(
                {
                    "id": _slug(chart_id),
                    "svg": Markup(svg),
                    "name": row.name,
                    "description": chart_description(row, page.quarters),
                }
            )
    grey = "Grey" in (page.rating.final, page.rating.computed)
    return {
        "code": page.code,
        "anchor": f"service-{page.code}",
        "name": page.name,
        "provider": page.provider or "Not recorded",
        "purpose": page.purpose or "Not recorded",
        "rating": _rating_view(page.rating),
        "return_status": RETURN_STATUS.get(page.return_status, page.return_status.replace("_", " ").capitalize()),
        "return_status_code": page.return_status,
        "return_file": page.return_file,
        "quarters": [{"label": quarter_heading(q), "current": q == report_quarter} for q in page.quarters],
        "phof": [_phof_view(r) for r in page.phof],
        "kpi_groups": _kpi_groups(page.kpis, page.quarters),
        "charts": charts,
        "comments": [{"text": c.text, "lead": c.lead or "", "on": format_date(c.on)} for c in page.comments],
        "actions": [{"text": a.text, "action_by": format_date(a.action_by)} for a in page.actions],
        "warnings": [
            {
                "severity": "Error" if w.severity == "error" else "Warning",
                "css": w.severity,
                "message": w.message,
                "where": w.where,
            }
            for w in page.warnings
        ],
        "grey": grey,
        "return_problem": page.return_status in ("quarantined", "late", "missing"),
    }


def _summary_rows(data: ReportData) -> list[dict[str, Any]]:
    rows = []
    for page in data.services:
        if page.redacted:
            rows.append({"name": page.name, "redacted": True, "provider": "Redacted"})
            continue
        rows.append(
            {
                "name": page.name,
                "redacted": False,
                "anchor": f"service-{page.code}",
                "provider": page.provider or "Not recorded",
                "rating": _rating_view(page.rating),
                "return_status": RETURN_STATUS.get(page.return_status, page.return_status),
                "warnings": sum(1 for w in page.warnings if w.severity != "error"),
                "errors": sum(1 for w in page.warnings if w.severity == "error"),
            }
        )
    return rows


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def render_html(data: ReportData) -> str:
    """The whole report as one self-contained, HTML-escaped document."""
    started = time.perf_counter()
    services = [_service_view(p, data.quarter) for p in data.services if not p.redacted]
    counts = {r: sum(1 for p in data.services if not p.redacted and p.rating.final == r) for r in RATINGS}
    redacted = sum(1 for p in data.services if p.redacted)
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=REPORT_TITLE,
            data=data,
            generated=format_datetime(data.generated_at),
            generated_iso=_w3c_datetime(data.generated_at),
            summary=_summary_rows(data),
            counts=counts,
            redacted_count=redacted,
            services=services,
            rag_legend=RAG_LEGEND,
            significance_legend=[(k, *v) for k, v in SIGNIFICANCE.items()],
            direction_legend=[(k, *v) for k, v in DIRECTION.items()],
            assessment_legend=[v for v in ASSESSMENT.values()],
        )
    )
    log.info(
        "Rendered performance report HTML for %s: %d services, %d characters in %.2fs",
        data.quarter,
        len(data.services),
        len(html),
        time.perf_counter() - started,
    )
    return html


def write_html(data: ReportData, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    log.info("Wrote %s", path)
    return path


def write_pdf(data: ReportData, path: Path, html: str | None = None) -> Path:
    """Print the report's HTML (``html`` if given, else :func:`render_html`) to PDF with WeasyPrint."""
    from weasyprint import HTML

    started = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = HTML(string=html if html is not None else render_html(data)).render()
    document.write_pdf(path)
    log.info("Wrote %s: %d pages in %.2fs", path, len(document.pages), time.perf_counter() - started)
    return path


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

#: Text starting with one of these could be read as a formula (or DDE) by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _SheetWriter:
    """Writes one table: header row, then rows of text/number/date; text is never a formula."""

    def __init__(self, workbook: Any, name: str, columns: list[tuple[str, int]], formats: dict[str, Any]) -> None:
        self.ws = workbook.add_worksheet(name)
        self.formats = formats
        self.row = 0
        self.ncols = len(columns)
        for col, (header, width) in enumerate(columns):
            self.ws.set_column(col, col, width)
            self.ws.write_string(0, col, header, formats["header"])
        self.ws.freeze_panes(1, 0)

    def add(self, values: Iterable[Any]) -> None:
        self.row += 1
        for col, value in enumerate(values):
            self.cell(self.row, col, value)

    def cell(self, row: int, col: int, value: Any) -> None:
        ws, fmt = self.ws, self.formats
        if value is None or value == "":
            ws.write_blank(row, col, None)
        elif isinstance(value, bool):
            ws.write_string(row, col, "Yes" if value else "No")
        elif isinstance(value, int | float):
            if _is_number(float(value)):
                ws.write_number(row, col, value)
            else:
                ws.write_blank(row, col, None)
        elif isinstance(value, datetime):
            ws.write_datetime(row, col, value.replace(tzinfo=None), fmt["datetime"])
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, fmt["date"])
        else:
            text = str(value)
            # Stored as a shared string (write_string), and with Excel's quote prefix so editing
            # the cell in Excel keeps it text rather than turning it into a formula.
            ws.write_string(row, col, text, fmt["quoted"] if text.startswith(FORMULA_PREFIXES) else fmt["text"])

    def finish(self) -> None:
        self.ws.autofilter(0, 0, max(self.row, 1), self.ncols - 1)


def _final_for_sheet(page: ServicePage) -> tuple[Any, ...]:
    if page.redacted:
        return ("Redacted", None, None, None, None, None, "Redacted")
    r = page.rating
    return (
        r.computed,
        r.override_rating,
        r.override_reason,
        r.override_by,
        r.override_on,
        "; ".join(r.reasons),
        r.final,
    )


def write_xlsx(data: ReportData, path: Path) -> Path:
    """The tables behind every page: Summary, KPIs, PHOF, Comments, Actions, Data quality."""
    import xlsxwriter

    started = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    created = data.generated_at
    if created.tzinfo is not None:
        created = created.astimezone(UTC)
    created = created.replace(tzinfo=None)
    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    try:
        workbook.set_properties(
            {
                "title": f"{REPORT_TITLE}: {data.quarter_label}",
                "subject": data.area_name,
                "author": "Division of Public Health",
                "created": created,
            }
        )
        formats = {
            "header": workbook.add_format({"bold": True, "bg_color": "#D9E2F3", "text_wrap": True, "valign": "top"}),
            "text": workbook.add_format({"valign": "top"}),
            "quoted": workbook.add_format({"valign": "top", "quote_prefix": True}),
            "date": workbook.add_format({"num_format": "dd/mm/yyyy", "valign": "top"}),
            "datetime": workbook.add_format({"num_format": "dd/mm/yyyy hh:mm", "valign": "top"}),
        }
        svc = [("Service code", 16), ("Service", 40)]
        summary = _SheetWriter(
            workbook,
            "Summary",
            [
                ("Quarter", 11),
                *svc,
                ("Provider", 32),
                ("Computed rating", 11),
                ("Override rating", 11),
                ("Override reason", 40),
                ("Override by", 18),
                ("Override on", 12),
                ("Rating reasons", 50),
                ("Final rating", 11),
                ("Return status", 24),
                ("Return file", 30),
                ("Errors", 8),
                ("Warnings", 9),
            ],
            formats,
        )
        kpis = _SheetWriter(
            workbook,
            "KPIs",
            [
                *svc,
                ("Section", 24),
                ("KPI code", 16),
                ("KPI", 50),
                ("Unit", 9),
                ("Target kind", 12),
                ("Information only", 10),
                ("Quarter", 11),
                ("Measure", 14),
                ("Value", 10),
                ("Missing reason", 18),
                ("Assessment", 12),
                ("Assessment note", 30),
            ],
            formats,
        )
        phof = _SheetWriter(
            workbook,
            "PHOF",
            [
                *svc,
                ("Indicator ID", 10),
                ("PHOF code", 9),
                ("Indicator", 50),
                ("Unit", 14),
                ("Period", 12),
                ("Area value", 10),
                ("Lower CI", 10),
                ("Upper CI", 10),
                ("England value", 10),
                ("Significance vs England", 16),
                ("Direction of travel", 20),
                ("Previous period", 12),
                ("Previous value", 10),
                ("Note", 30),
            ],
            formats,
        )
        comments = _SheetWriter(workbook, "Comments", [*svc, ("Comment", 80), ("Lead", 14), ("Date", 12)], formats)
        actions = _SheetWriter(workbook, "Actions", [*svc, ("Action", 80), ("Action by", 12)], formats)
        quality = _SheetWriter(
            workbook,
            "Data quality",
            [*svc, ("Return status", 24), ("Return file", 30), ("Severity", 9), ("Message", 80), ("Where", 24)],
            formats,
        )
        for page in data.services:
            ids = (page.code, page.name)
            errors = sum(1 for w in page.warnings if w.severity == "error")
            if page.redacted:
                summary.add((data.quarter, *ids, "Redacted", *_final_for_sheet(page), "Redacted", None, None, None))
                continue
            summary.add(
                (
                    data.quarter,
                    *ids,
                    page.provider,
                    *_final_for_sheet(page),
                    RETURN_STATUS.get(page.return_status, page.return_status),
                    page.return_file,
                    errors,
                    len(page.warnings) - errors,
                )
            )
            for row in page.kpis:
                head = (*ids, row.section, row.code, row.name, row.unit, row.target_kind, row.information_only)
                assessment = (
                    "Information only"
                    if row.information_only
                    else ASSESSMENT.get(row.assessment, ("", "", row.assessment))[2]
                )
                for q in page.quarters:
                    for attr, label in MEASURES:
                        cell: KpiCell | None = getattr(row, attr).get(q)
                        if cell is None:
                            continue
                        if _is_number(cell.value):
                            value, reason = cell.value, None
                        else:
                            value, reason = None, missing_words(cell.missing_reason)
                        kpis.add((*head, q, label, value, reason, assessment, row.assessment_note))
            for p in page.phof:
                phof.add(
                    (
                        *ids,
                        p.indicator_id,
                        p.phof_code,
                        p.name,
                        p.unit,
                        p.period,
                        p.area_value,
                        p.area_lower,
                        p.area_upper,
                        p.england_value,
                        p.significance,
                        p.direction,
                        p.previous_period,
                        p.previous_value,
                        p.note,
                    )
                )
            for c in page.comments:
                comments.add((*ids, c.text, c.lead, c.on))
            for a in page.actions:
                actions.add((*ids, a.text, a.action_by))
            for w in page.warnings:
                quality.add(
                    (
                        *ids,
                        RETURN_STATUS.get(page.return_status, page.return_status),
                        page.return_file,
                        "Error" if w.severity == "error" else "Warning",
                        w.message,
                        w.where,
                    )
                )
        for sheet in (summary, kpis, phof, comments, actions, quality):
            sheet.finish()
    finally:
        workbook.close()
    log.info("Wrote %s in %.2fs", path, time.perf_counter() - started)
    return path
