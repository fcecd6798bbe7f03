"""The performance report's view model: every figure, date, rating and symbol formatted the way
the report shows it, and the per-page views the HTML templates render (see ``html.py``).

Missing figures are shown by their reason in words, never as 0; nothing here depends on the
locale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from public_health.config import LIVE_FINGERTIPS_HOST
from public_health.periods import FinancialQuarter
from public_health.reports.performance.model import (
    KpiCell,
    KpiRow,
    PhofRow,
    PhofSource,
    Rating,
    ReportData,
    ServicePage,
)

REPORT_TITLE = "Division of Public Health Performance Report"

#: Who publishes the PHOF figures: named on every PHOF table, with the indicator's own data source.
PHOF_PUBLISHER = "Fingertips, Public Health England/OHID"
#: Said in the header and on every PHOF table of a report whose PHOF figures did not come from the live
#: Fingertips API (built from the offline stub, say).
DEMONSTRATION_NOTICE = "Demonstration data, not published figures"

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


def column_heading(quarter: FinancialQuarter) -> str:
    """``Q2 2017-18``: a quarter as the reference report heads its KPI table columns and chart points
    (with a hyphen, unlike ``FinancialQuarter.heading``'s ``Q2 2017/18``)."""
    return f"Q{quarter.number} {quarter.financial_year}"


def missing_words(reason: str | None) -> str:
    """A missing figure's reason in words ('blank' or no reason -> 'Not provided')."""
    if not reason or not reason.strip():
        return "Not provided"
    key = reason.strip().casefold().replace(" ", "_")
    if key in MISSING_WORDS:
        return MISSING_WORDS[key]
    return reason.strip().replace("_", " ").capitalize()


def is_number(value: float | None) -> bool:
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
    if is_number(cell.value):
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


def w3c_datetime(value: datetime) -> str:
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
# Page views: everything the templates show, already formatted
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measure:
    label: str
    cells: list[dict[str, Any]]


Flags = dict[tuple[str, str, str], list[int]]   # (kpi_code, period label, measure) -> finding numbers


def findings_view(findings: list[Any]) -> tuple[list[dict[str, Any]], Flags]:
    """The page's consistency findings numbered 1, 2, ... and, for each figure a finding is about, the
    numbers to mark beside it (a finding that names no measure marks the KPI's actual)."""
    shown: list[dict[str, Any]] = []
    flags: Flags = {}
    for n, f in enumerate(findings, start=1):
        shown.append({
            "n": n,
            "severity": "Error" if f.severity == "error" else "Warning",
            "css": f.severity,
            "message": f.message,
            "rule": f.rule,
        })
        if f.kpi_code:
            for period in f.periods:
                flags.setdefault((f.kpi_code, period, f.measure or "actual"), []).append(n)
    return shown, flags


def year_heading(year: str) -> str:
    """``2016/17``: a financial-year column as the reference report heads it."""
    return year.replace("-", "/")


def _kpi_view(
    row: KpiRow, quarters: list[FinancialQuarter], flags: Flags | None = None, years: list[str] | None = None
) -> dict[str, Any]:
    measures: list[_Measure] = []
    for attr, label in MEASURES:
        cells: dict[FinancialQuarter, KpiCell] = getattr(row, attr)
        in_years = any(attr in row.years.get(y, {}) for y in years or [])
        wanted = bool(cells) or in_years or (attr == "actual") or (attr == "target" and row.target_kind != "none")
        wanted = wanted or (attr == "actual_to_date" and row.target_kind in ("cumulative", "running"))
        if not wanted:
            continue
        shown = []
        for year in years or []:
            text, missing = cell_text(row.years.get(year, {}).get(attr), row.unit)
            marks = (flags or {}).get((row.code, year, attr), [])
            shown.append({"text": text, "missing": missing, "flags": marks})
        for q in quarters:
            text, missing = cell_text(cells.get(q), row.unit)
            marks = (flags or {}).get((row.code, q.label, attr), [])
            shown.append({"text": text, "missing": missing, "flags": marks})
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


def _kpi_groups(page: ServicePage, flags: Flags) -> list[dict[str, Any]]:
    """KPIs in order, grouped by consecutive section (the reference's sub-headings)."""
    groups: list[dict[str, Any]] = []
    for row in page.kpis:
        if not groups or groups[-1]["section"] != row.section:
            groups.append({"section": row.section, "kpis": []})
        groups[-1]["kpis"].append(_kpi_view(row, page.quarters, flags, page.years))
    return groups


def _phof_number(value: float | None) -> str:
    """PHOF values to one decimal place, as Fingertips shows them."""
    return f"{value:,.1f}" if is_number(value) else "Not available"


def _phof_view(row: PhofRow) -> dict[str, Any]:
    value = _phof_number(row.area_value)
    ci = ""
    if is_number(row.area_lower) and is_number(row.area_upper):
        ci = f"{_phof_number(row.area_lower)} – {_phof_number(row.area_upper)}"
    england = _phof_number(row.england_value)
    previous = ""
    if row.previous_period and is_number(row.previous_value):
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
        "source": row.source or "",
        "extracted": format_datetime(row.extracted_at) if row.extracted_at else "",
    }


def demonstration_text(source: PhofSource) -> str:
    """Why the figures are not published ones: '' when they are."""
    if not source.demonstration:
        return ""
    where = ", ".join(source.hosts) if source.hosts else "a source with no load record"
    return (f"{DEMONSTRATION_NOTICE}: the PHOF values were loaded from {where}, not from the live Fingertips "
            f"API ({LIVE_FINGERTIPS_HOST}).")


def phof_source_view(rows: list[PhofRow], source: PhofSource) -> dict[str, Any]:
    """The source note under a PHOF table: publisher and framework, the indicators' own data sources,
    the periods shown, when the figures were extracted, and the demonstration notice where it applies."""
    sources = sorted({r.source.strip() for r in rows if r.source and r.source.strip()})
    times = [r.extracted_at for r in rows if r.extracted_at is not None]
    extracted = max(times) if times else source.extracted_at
    return {
        "publisher": PHOF_PUBLISHER + (f": {source.profile}" if source.profile else ""),
        "sources": "; ".join(sources),
        "as_of": format_date(source.as_of) if source.as_of else "",
        "extracted": format_datetime(extracted) if extracted else "not recorded",
        "demonstration": demonstration_text(source),
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


def service_view(
    page: ServicePage, report_quarter: FinancialQuarter, charts: list[dict[str, Any]],
    phof_source: PhofSource | None = None,
) -> dict[str, Any]:
    """One service page; ``charts`` are its KPI charts (``charts.service_charts``); ``phof_source``
    where the report's PHOF figures come from (for the note on its PHOF table)."""
    grey = "Grey" in (page.rating.final, page.rating.computed)
    findings, flags = findings_view(page.findings)
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
        "quarters": [{"label": column_heading(q), "current": q == report_quarter} for q in page.quarters],
        "columns": [{"label": year_heading(y), "current": False, "year": True} for y in page.years]
        + [{"label": column_heading(q), "current": q == report_quarter, "year": False} for q in page.quarters],
        "phof": [_phof_view(r) for r in page.phof],
        "phof_source": phof_source_view(page.phof, phof_source or PhofSource()),
        "kpi_groups": _kpi_groups(page, flags),
        "findings": findings,
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


def summary_rows(data: ReportData) -> list[dict[str, Any]]:
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
                "warnings": sum(1 for w in page.warnings if w.severity != "error")
                + sum(1 for f in page.findings if f.severity != "error"),
                "errors": sum(1 for w in page.warnings if w.severity == "error")
                + sum(1 for f in page.findings if f.severity == "error"),
            }
        )
    return rows

