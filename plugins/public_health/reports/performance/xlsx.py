"""The tables behind every page of the performance report as an XLSX workbook: Summary, KPIs,
PHOF, Comments, Actions and Data quality, one row per record with its service.

Provider text that looks like a formula is stored as a string with Excel's quote prefix, never as
a formula (:mod:`public_health.reports.xlsx`). Output is deterministic: the workbook's ``created``
property is the data's generation time.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from public_health.periods import FinancialQuarter
from public_health.reports.performance.model import KpiCell, PhofSource, ReportData, ServicePage
from public_health.reports.performance.view import (
    ASSESSMENT,
    MEASURES,
    PHOF_PUBLISHER,
    REPORT_TITLE,
    RETURN_STATUS,
    demonstration_text,
    is_number,
    missing_words,
)
from public_health.reports.xlsx import DATE_FORMAT, DATETIME_FORMAT, SheetWriter, Workbook

log = logging.getLogger(__name__)

STYLES: dict[str, dict[str, Any]] = {
    "header": {"bold": True, "bg_color": "#D9E2F3", "text_wrap": True, "valign": "top"},
    "text": {"valign": "top"},
}

#: (heading, width) per sheet, in sheet order.
_SERVICE = [("Service code", 16), ("Service", 40)]
COLUMNS: dict[str, list[tuple[str, int]]] = {
    "Summary": [
        ("Quarter", 11),
        *_SERVICE,
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
    "KPIs": [
        *_SERVICE,
        ("Section", 24),
        ("KPI code", 16),
        ("KPI", 50),
        ("Unit", 9),
        ("Target kind", 12),
        ("Information only", 10),
        ("Period", 11),
        ("Measure", 14),
        ("Value", 10),
        ("Missing reason", 18),
        ("Assessment", 12),
        ("Assessment note", 30),
        ("Data-quality findings", 30),
    ],
    "PHOF": [
        *_SERVICE,
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
        ("Data source", 40),
        ("Published by", 40),
        ("Extracted", 17),
        ("Data status", 36),
    ],
    "Comments": [*_SERVICE, ("Comment", 80), ("Lead", 14), ("Date", 12)],
    "Actions": [*_SERVICE, ("Action", 80), ("Action by", 12)],
    "Data quality": [
        *_SERVICE,
        ("Return status", 24),
        ("Return file", 30),
        ("Severity", 9),
        ("Rule", 22),
        ("KPI", 40),
        ("Periods", 22),
        ("Message", 80),
        ("Where", 24),
    ],
    "Return tracker": [
        *_SERVICE,
        ("Quarter", 11),
        ("Return status", 24),
        ("Return file", 30),
        ("Findings", 9),
        ("Finding rules", 40),
        ("Findings in words", 80),
    ],
}


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


def _summary_row(quarter: FinancialQuarter, page: ServicePage) -> tuple[Any, ...]:
    ids = (page.code, page.name)
    if page.redacted:
        return (quarter.label, *ids, "Redacted", *_final_for_sheet(page), "Redacted", None, None, None)
    errors = sum(1 for w in page.warnings if w.severity == "error") + sum(
        1 for f in page.findings if f.severity == "error")
    return (
        quarter.label,
        *ids,
        page.provider,
        *_final_for_sheet(page),
        RETURN_STATUS.get(page.return_status, page.return_status),
        page.return_file,
        errors,
        len(page.warnings) + len(page.findings) - errors,
    )


def _findings_at(page: ServicePage) -> dict[tuple[str, str, str], list[str]]:
    """(KPI code, period, measure) -> the rules of the findings about that figure."""
    at: dict[tuple[str, str, str], list[str]] = {}
    for f in page.findings:
        if f.kpi_code:
            for period in f.periods:
                at.setdefault((f.kpi_code, period, f.measure or "actual"), []).append(f.rule)
    return at


def _kpi_rows(page: ServicePage) -> list[tuple[Any, ...]]:
    """One row per KPI × quarter × measure with a cell: its value, or no value and why, and the rules of
    any data-quality findings about it."""
    findings = _findings_at(page)
    rows = []
    for row in page.kpis:
        head = (page.code, page.name, row.section, row.code, row.name, row.unit, row.target_kind, row.information_only)
        assessment = (
            "Information only" if row.information_only else ASSESSMENT.get(row.assessment, ("", "", row.assessment))[2]
        )
        periods: list[tuple[str, Any]] = [(y, None) for y in page.years] + [(q.label, q) for q in page.quarters]
        for period, q in periods:
            for attr, label in MEASURES:
                cell: KpiCell | None = getattr(row, attr).get(q) if q else row.years.get(period, {}).get(attr)
                if cell is None:
                    continue
                if is_number(cell.value):
                    value, reason = cell.value, None
                else:
                    value, reason = None, missing_words(cell.missing_reason)
                rules = ", ".join(findings.get((row.code, period, attr), [])) or None
                rows.append((*head, period, label, value, reason, assessment, row.assessment_note, rules))
    return rows


def _phof_rows(page: ServicePage, source: PhofSource) -> list[tuple[Any, ...]]:
    """One row per indicator, each saying where it comes from, when it was extracted and whether the
    figures are published ones (the demonstration notice otherwise)."""
    publisher = PHOF_PUBLISHER + (f": {source.profile}" if source.profile else "")
    status = demonstration_text(source) or "Published figures"
    return [
        (
            page.code,
            page.name,
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
            p.source,
            publisher,
            p.extracted_at.astimezone(UTC) if p.extracted_at and p.extracted_at.tzinfo else p.extracted_at,
            status,
        )
        for p in page.phof
    ]


def _page_rows(page: ServicePage, source: PhofSource) -> dict[str, list[tuple[Any, ...]]]:
    """A service page's rows on every sheet but the Summary (none for a redacted page)."""
    if page.redacted:
        return {}
    ids = (page.code, page.name)
    status = RETURN_STATUS.get(page.return_status, page.return_status)
    names = {k.code: k.name for k in page.kpis}
    return {
        "KPIs": _kpi_rows(page),
        "PHOF": _phof_rows(page, source),
        "Comments": [(*ids, c.text, c.lead, c.on) for c in page.comments],
        "Actions": [(*ids, a.text, a.action_by) for a in page.actions],
        "Data quality": [
            (*ids, status, page.return_file, "Error" if w.severity == "error" else "Warning", None, None, None,
             w.message, w.where)
            for w in page.warnings
        ] + [
            (*ids, status, page.return_file, "Error" if f.severity == "error" else "Warning", f.rule,
             names.get(f.kpi_code), ", ".join(f.periods), f.message, None)
            for f in page.findings
        ],
        "Return tracker": _tracker_rows(page),
    }


def _tracker_rows(page: ServicePage) -> list[tuple[Any, ...]]:
    """Each quarter's return of the year to date, with the findings about that quarter's figures."""
    rows = []
    for quarter, status, file in page.returns:
        about = [f for f in page.findings if quarter.label in f.periods]
        rows.append((
            page.code, page.name, quarter.label, RETURN_STATUS.get(status, status), file, len(about),
            ", ".join(sorted({f.rule for f in about})) or None, " | ".join(f.message for f in about) or None,
        ))
    return rows


def _table(book: Workbook, name: str) -> SheetWriter:
    """A sheet with a frozen heading row, filled by :meth:`SheetWriter.add`."""
    columns = COLUMNS[name]
    sheet = book.sheet(name, [width for _, width in columns])
    sheet.header([heading for heading, _ in columns])
    sheet.ws.freeze_panes(1, 0)
    return sheet


def write_xlsx(data: ReportData, path: Path) -> Path:
    """The tables behind every page: Summary, KPIs, PHOF, Comments, Actions, Data quality, Return tracker."""
    started = time.perf_counter()
    path = Path(path)
    created = data.generated_at
    if created.tzinfo is not None:
        created = created.astimezone(UTC)
    properties = {
        "title": f"{REPORT_TITLE}: {data.quarter.title}",
        "subject": data.area_name,
        "author": "Division of Public Health",
        "created": created.replace(tzinfo=None),
    }
    book = Workbook(path, properties, STYLES)
    try:
        # Every format made up front, in this order, so the styles part is the same whatever the data.
        book.format("header")
        book.format("text")
        book.format("text", quoted=True)
        book.format("text", DATE_FORMAT)
        book.format("text", DATETIME_FORMAT)
        sheets = {name: _table(book, name) for name in COLUMNS}
        for page in data.services:
            sheets["Summary"].add(_summary_row(data.quarter, page))
            for name, rows in _page_rows(page, data.phof_source).items():
                for row in rows:
                    sheets[name].add(row)
        for sheet in sheets.values():
            sheet.autofilter(max(sheet.row, 1))
    finally:
        book.close()
    log.info("Wrote %s in %.2fs", path, time.perf_counter() - started)
    return path
