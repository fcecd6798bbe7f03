"""The BCF quarterly return's one-page board summary as HTML and PDF.

:func:`render_summary_html` is a self-contained, escaped, one-A4-page summary for the board: each
metric with plan, actual, variance and status (in words and a symbol, computed or as the papers
report it, with its basis), a small inline SVG trend chart of plan against actual, notes on missing
actuals, pay for performance and the risk share, the NEA plan's CCG rows as printed, the national
conditions as answered, the commentary, and every figure's source line in the papers.
:func:`write_summary_pdf` prints it with WeasyPrint.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from public_health.reports.bcf.charts import trend_chart_svg
from public_health.reports.bcf.model import BcfReturn
from public_health.reports.bcf.view import (
    finance_view,
    metric_view,
    narrative_label,
    quarter_words,
    shorten,
    table_view,
)
from public_health.reports.html import print_pdf, render_template, write_text

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUMMARY_TITLE = "Better Care Fund Quarterly Summary"


def render_summary_html(data: BcfReturn) -> str:
    """The one-page board summary as one self-contained, HTML-escaped document."""
    started = time.perf_counter()
    context = {
        "title": SUMMARY_TITLE,
        "data": data,
        "quarter": quarter_words(data.quarter),
        "generated": data.generated_at.strftime("%d %B %Y %H:%M"),
        "generated_iso": data.generated_at.isoformat(timespec="seconds"),
        "metrics": [metric_view(m, data.quarter, trend_chart_svg(m, data.quarter)) for m in data.metrics],
        "conditions_met": sum(1 for c in data.conditions if c.confirmed),
        "finance": [finance_view(f) for f in data.finance],
        "nea": table_view(data.nea) if data.nea else None,
        "narrative": [(narrative_label(k), shorten(v)) for k, v in data.narrative.items() if v.strip()],
        "css": (TEMPLATES / "summary.css").read_text(encoding="utf-8"),
    }
    html = render_template(TEMPLATES, "summary.html.j2", context)
    log.info(
        "Rendered BCF summary HTML for %s %s: %d metrics in %.2fs",
        data.hwb_name,
        data.quarter,
        len(data.metrics),
        time.perf_counter() - started,
    )
    return html


def write_summary_html(data: BcfReturn, path: Path | str) -> Path:
    return write_text(path, render_summary_html(data))


def write_summary_pdf(data: BcfReturn, path: Path | str, html: str | None = None) -> Path:
    """Print the summary (``html`` if given) to PDF with WeasyPrint; warns if it is not one page."""
    started = time.perf_counter()
    pages = print_pdf(html if html is not None else render_summary_html(data), path)
    if pages != 1:
        log.warning("BCF summary for %s runs to %d pages, not 1", data.quarter, pages)
    log.info("Wrote %s: %d page(s) in %.2fs", path, pages, time.perf_counter() - started)
    return Path(path)
