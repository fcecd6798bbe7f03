"""Build the quarterly performance report: assemble, render HTML, PDF and XLSX, record the build."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from public_health.config import Settings
from public_health.periods import FinancialQuarter
from public_health.warehouse.audit import RunContext
from public_health.warehouse.reports import ReportBuild, record_report_build

from .data import assemble, output_dir
from .model import ReportData

log = logging.getLogger(__name__)

REPORT = "performance_report"


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data: a quarter as its label (also as a dict key), dataclasses as dicts of
    their fields, lists and tuples as lists, sets as sorted lists, dates and times in ISO form."""
    if isinstance(value, FinancialQuarter):
        return value.label
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def content_hash(data: ReportData) -> str:
    """sha256 of everything the report shows except when it was generated.

    Quarters are hashed as their labels, and the cover line as the field ``quarter_label`` the model
    once had (``quarter.title`` now). The PHOF rows' data source and extraction time and the report's
    ``phof_source`` (profile, as-of date, extraction time, demonstration flag) are part of what it shows,
    so builds recorded before they were added hash differently from a rebuild of the same quarter."""
    payload = _plain(data)
    payload.pop("generated_at", None)
    payload["quarter_label"] = data.quarter.title
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_report(
    engine: Engine, settings: Settings, quarter: FinancialQuarter, run: RunContext | None = None, *,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """Write report.html, report.pdf and report-data.xlsx for ``quarter`` and record the build.

    The result's ``timings`` are seconds by stage: ``assemble_s`` (warehouse reads and checks), ``charts_s``
    (the KPI charts, cached by content), ``html_s``, ``pdf_s`` and ``xlsx_s``."""
    from .charts import report_charts
    from .html import render_html, write_pdf
    from .xlsx import write_xlsx

    timings: dict[str, float] = {}
    t = time.perf_counter()
    data = assemble(engine, settings, quarter, generated_at=generated_at)
    timings["assemble_s"] = time.perf_counter() - t
    folder = output_dir(settings, quarter)
    folder.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    charts = report_charts(data)
    timings["charts_s"] = time.perf_counter() - t
    t = time.perf_counter()
    html = render_html(data, charts)
    html_path = folder / "report.html"
    html_path.write_text(html, encoding="utf-8")
    timings["html_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pdf_path = write_pdf(data, folder / "report.pdf", html=html)
    timings["pdf_s"] = time.perf_counter() - t
    t = time.perf_counter()
    xlsx_path = write_xlsx(data, folder / "report-data.xlsx")
    timings["xlsx_s"] = time.perf_counter() - t

    outputs = {str(p): _sha256(p) for p in (html_path, pdf_path, xlsx_path)}
    digest = content_hash(data)
    run = run or RunContext()
    build = ReportBuild(report=REPORT, quarter=quarter, built_at=datetime.now(UTC), outputs=outputs, run=run,
                        batch_ids=tuple(data.batches), content_sha256=digest)
    with engine.begin() as conn:
        build_id = record_report_build(conn, build)
    ratings: dict[str, int] = {}
    for page in data.services:
        ratings[page.rating.final] = ratings.get(page.rating.final, 0) + 1
    log.info("performance report %s built (build %s): %s; ratings %s", quarter.label, build_id, folder, ratings)
    return {
        "build_id": build_id,
        "quarter": quarter.label,
        "folder": str(folder),
        "outputs": outputs,
        "content_sha256": digest,
        "ratings": ratings,
        "services": len(data.services),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
