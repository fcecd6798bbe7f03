"""The quarterly Division of Public Health Performance Report as HTML and PDF.

The layout follows the Leicester 2017/18 Q2 report: a summary page (every service with its overall
RAG rating and a link to its page, and the legends), then one page per service with provider,
purpose, overall rating, relevant PHOF indicators, the KPI table (KPI × quarter, Target / Actual /
Actual to date), charts of actual against target, comments on performance and key actions, plus
a clearly marked box with every data-quality finding about the service's return.

* :func:`render_html` gives one self-contained HTML document (inline CSS and SVG, no external
  resources); everything from the data is HTML-escaped (Jinja autoescape).
* :func:`write_pdf` prints that same HTML with WeasyPrint (print CSS: A4 landscape, one service per
  page, repeated table headers), its charts lifted out as images (``charts_as_images``) so the printer
  parses each once as SVG rather than as HTML elements under the page's style cascade: the same PDF.

Output is deterministic: the generation time comes from the data and charts have stable ids and
no date. The tables behind the pages are written by :mod:`.xlsx`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from public_health.reports.charts import charts_as_images
from public_health.reports.html import print_pdf, render_template, write_text
from public_health.reports.performance.charts import report_charts
from public_health.reports.performance.model import ReportData
from public_health.reports.performance.view import (
    ASSESSMENT,
    DIRECTION,
    RAG_LEGEND,
    RATINGS,
    REPORT_TITLE,
    SIGNIFICANCE,
    demonstration_text,
    format_datetime,
    service_view,
    summary_rows,
    w3c_datetime,
)

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_html(data: ReportData, charts: Mapping[str, list[dict[str, Any]]] | None = None) -> str:
    """The whole report as one self-contained, HTML-escaped document. ``charts``: each printed service's
    charts by service code (:func:`~.charts.report_charts`, drawn here when not given)."""
    started = time.perf_counter()
    pages = [p for p in data.services if not p.redacted]
    if charts is None:
        charts = report_charts(data)
    context = {
        "title": REPORT_TITLE,
        "data": data,
        "generated": format_datetime(data.generated_at),
        "generated_iso": w3c_datetime(data.generated_at),
        "summary": summary_rows(data),
        "counts": {r: sum(1 for p in pages if p.rating.final == r) for r in RATINGS},
        "redacted_count": len(data.services) - len(pages),
        "services": [service_view(p, data.quarter, charts[p.code], data.phof_source) for p in pages],
        "demonstration": demonstration_text(data.phof_source),
        "rag_legend": RAG_LEGEND,
        "significance_legend": [(k, *v) for k, v in SIGNIFICANCE.items()],
        "direction_legend": [(k, *v) for k, v in DIRECTION.items()],
        "assessment_legend": list(ASSESSMENT.values()),
    }
    html = render_template(TEMPLATES, "report.html.j2", context, keep_trailing_newline=True)
    log.info(
        "Rendered performance report HTML for %s: %d services, %d characters in %.2fs",
        data.quarter,
        len(data.services),
        len(html),
        time.perf_counter() - started,
    )
    return html


def write_html(data: ReportData, path: Path) -> Path:
    path = write_text(path, render_html(data))
    log.info("Wrote %s", path)
    return path


def write_pdf(data: ReportData, path: Path, html: str | None = None) -> Path:
    """Print the report's HTML (``html`` if given, else :func:`render_html`) to PDF with WeasyPrint."""
    started = time.perf_counter()
    printable, images = charts_as_images(html if html is not None else render_html(data))
    pages = print_pdf(printable, path, images=images)
    log.info("Wrote %s: %d pages in %.2fs", path, pages, time.perf_counter() - started)
    return Path(path)
