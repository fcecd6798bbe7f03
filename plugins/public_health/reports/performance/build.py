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

from sqlalchemy import Engine, text

from public_health.config import Settings
from public_health.warehouse.audit import RunContext

from .data import assemble, output_dir
from .model import ReportData

log = logging.getLogger(__name__)

REPORT = "performance_report"


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value))


def content_hash(data: ReportData) -> str:
    """sha256 of everything the report shows except when it was generated."""
    payload = dataclasses.asdict(data)
    payload.pop("generated_at", None)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=_plain).encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_report(
    engine: Engine, settings: Settings, quarter: str, run: RunContext | None = None, *,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """Write report.html, report.pdf and report-data.xlsx for ``quarter`` and record the build."""
    from .render import render_html, write_pdf, write_xlsx

    timings: dict[str, float] = {}
    t = time.perf_counter()
    data = assemble(engine, settings, quarter, generated_at=generated_at)
    timings["assemble_s"] = time.perf_counter() - t
    folder = output_dir(settings, quarter)
    folder.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    html = render_html(data)
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
    with engine.begin() as conn:
        build_id = conn.execute(
            text(
                "INSERT INTO audit.report_build (report, period_label, built_at, batch_ids, outputs, content_sha256,"
                " dag_id, run_id, task_id) VALUES (:r, :q, :t, :b, :o, :c, :dag, :run, :task) RETURNING build_id"
            ),
            {
                "r": REPORT, "q": quarter, "t": datetime.now(UTC), "b": ",".join(str(b) for b in data.batches),
                "o": json.dumps(outputs, sort_keys=True), "c": digest,
                "dag": run.dag_id, "run": run.run_id, "task": run.task_id,
            },
        ).scalar_one()
    ratings: dict[str, int] = {}
    for page in data.services:
        ratings[page.rating.final] = ratings.get(page.rating.final, 0) + 1
    log.info("performance report %s built (build %s): %s; ratings %s", quarter, build_id, folder, ratings)
    return {
        "build_id": int(build_id),
        "quarter": quarter,
        "folder": str(folder),
        "outputs": outputs,
        "content_sha256": digest,
        "ratings": ratings,
        "services": len(data.services),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
