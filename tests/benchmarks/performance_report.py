"""Benchmark: build the full quarterly performance report (every configured service) and time each stage
(assemble, charts, HTML, PDF, XLSX) with its share of the build, the previous path against the current one
in the same run.

The warehouse is loaded first by the pipelines' own steps (offline Fingertips stub, sample returns); that
loading is not timed. Then, in each round, three builds of the same quarter with the same generation time:

* **before**: the previous serial path, rebuilt here from the same functions: charts drawn afresh, and the
  PDF printed from the page as written, every chart inline, so WeasyPrint parses each chart's SVG elements
  as HTML and runs the page's style cascade over them (``HTML(string=html).render().write_pdf()``, what
  ``reports.html.print_pdf`` did);
* **after**: ``build_report`` as the DAG runs it, with the chart cache empty (a DAG task's first build): the
  PDF printed with the charts lifted out as images (``reports.charts.charts_as_images``), each parsed once;
* **after, cached**: ``build_report`` again, every chart from the content cache (a rebuild in one process).

Each stage is timed in wall seconds and in this process's CPU seconds, the best of the rounds; the stages
the before and after builds share (assemble, charts drawn afresh, HTML, XLSX) are the best of both, so the
PDF's share before and after differs by the PDF alone. The machine may be shared (the load average is
printed), so the PDF-share target is judged on CPU time, what the code costs; on a quiet machine the two
agree. The before and after PDFs must be the same bytes (else the run fails). The PDF stage is broken down
by WeasyPrint's own steps (its progress log): the profile that says where a PDF's time goes. Summary rows
go to ``_common.record`` (``make bench`` prints them as one table), with the stage shares.

    PYTHONPATH=plugins python tests/benchmarks/performance_report.py [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins"))

from _common import record, report, table  # noqa: E402

QUARTER = "2017-18-Q2"
GENERATED_AT = datetime(2017, 11, 14, 9, 30, tzinfo=UTC)   # one generation time: every build the same report
ROUNDS = 2
STAGES = ("assemble", "charts", "HTML", "PDF", "XLSX")
TOTAL_TARGET_S = 60.0
PDF_SHARE_RATIO_TARGET = 0.5      # the PDF's share of the build halved
#: WeasyPrint's progress steps (``weasyprint.progress`` log, "Step N - ...") as the PDF profile names them.
PDF_STEPS = {1: "parse HTML", 2: "parse CSS", 3: "style cascade", 4: "box tree (incl. images)", 5: "layout",
             6: "draw pages", 7: "PDF metadata"}


def load_warehouse(work: Path) -> tuple[Any, Any]:
    """A DuckDB warehouse under ``work`` loaded by the pipelines (stub Fingertips data, the sample drive's
    returns); returns (settings, engine)."""
    from public_health.demo.fingertips_stub import StubServer, default_demo_dataset

    stub = StubServer(default_demo_dataset()).start()   # the client never starts one itself
    os.environ.update({
        "PH_DATA_DIR": str(work / "data"), "PH_OUTPUT_DIR": str(work / "out"), "PH_SHARED_DRIVE": str(work / "drive"),
        "WAREHOUSE_URL": f"duckdb:///{work / 'warehouse.duckdb'}", "FINGERTIPS_OFFLINE": "1",
        "FINGERTIPS_BASE_URL": stub.base_url,
    })
    from public_health.config import load_settings
    from public_health.demo.shared_drive import build_sample_drive
    from public_health.periods import FinancialQuarter
    from public_health.pipelines import fingertips_refresh as ft
    from public_health.pipelines import provider_returns as pr
    from public_health.warehouse.audit import RunContext
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    settings = load_settings()
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    run = RunContext("bench", "bench", "bench")
    try:
        ft.sync_metadata(settings, engine)
        for batch in ft.select_batches(settings, engine, run):
            items = ft.validate_batch(settings, engine, ft.download_batch(settings, engine, batch, run), run)
            ft.load_indicators(settings, engine, items)
    finally:
        stub.stop()
    build_sample_drive(settings.shared_drive)
    # Returns are expected up to the report's quarter, as on the day after it ended.
    pr.sync_config(settings, engine, FinancialQuarter.parse(QUARTER).next().start)
    pr.process_files(settings, engine, list(pr.scan(settings, engine).new), run)
    return settings, engine


def warm_up(folder: Path) -> None:
    """Import and initialise what every build uses (WeasyPrint and its fonts, matplotlib and its font list,
    openpyxl), so no timed build pays for it."""
    import openpyxl  # noqa: F401
    from weasyprint import HTML

    from public_health.reports.charts import render_svg

    render_svg(lambda ax: ax.plot([0, 1], [1, 0]), salt="warm-up", size=(1.0, 1.0), font_size=6)
    folder.mkdir(parents=True, exist_ok=True)
    HTML(string="<p>warm up <svg width='4' height='4'><text>x</text></svg></p>").render().write_pdf(folder / "w.pdf")


MEASURES = ("wall", "cpu")   # perf_counter and this process's CPU time (process_time)


def _now() -> dict[str, float]:
    return {"wall": time.perf_counter(), "cpu": time.process_time()}


class Stages:
    """Seconds by stage, wall and CPU: ``with stages.timed("PDF"): ...``, or ``stages.wrap(name, fn)``."""

    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = {m: {} for m in MEASURES}

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        t0 = _now()
        try:
            yield
        finally:
            t1 = _now()
            for m in MEASURES:
                self.seconds[m][name] = self.seconds[m].get(name, 0.0) + t1[m] - t0[m]

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timed(name):
                return fn(*args, **kwargs)

        return timed


class PdfSteps(logging.Handler):
    """Collects WeasyPrint's progress log ("Step N - ...") with the wall and CPU time of each message."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.events: list[tuple[dict[str, float], int]] = []

    def emit(self, record_: logging.LogRecord) -> None:
        message = record_.getMessage()
        if message.startswith("Step "):
            self.events.append((_now(), int(message.split()[1])))

    def durations(self, pdf: dict[str, float]) -> dict[str, dict[str, float]]:
        """Seconds by step and measure (a step lasts until the next one starts); "other" is the rest of the PDF
        stage's ``pdf`` seconds: lifting the charts out, the last step (metadata, fonts, writing the file)."""
        firsts: dict[int, dict[str, float]] = {}
        for t, step in self.events:
            firsts.setdefault(step, t)
        order = sorted(firsts)
        out: dict[str, dict[str, float]] = {}
        for m in MEASURES:
            steps = {PDF_STEPS.get(a, f"step {a}"): firsts[b][m] - firsts[a][m]
                     for a, b in zip(order, order[1:], strict=False)}
            steps["other"] = pdf[m] - sum(steps.values())
            out[m] = steps
        return out


@contextlib.contextmanager
def pdf_steps() -> Iterator[PdfSteps]:
    """WeasyPrint's progress log collected while the block runs."""
    from weasyprint.logger import PROGRESS_LOGGER

    handler = PdfSteps()
    level, propagate = PROGRESS_LOGGER.level, PROGRESS_LOGGER.propagate
    PROGRESS_LOGGER.addHandler(handler)
    PROGRESS_LOGGER.setLevel(logging.INFO)
    PROGRESS_LOGGER.propagate = False
    try:
        yield handler
    finally:
        PROGRESS_LOGGER.removeHandler(handler)
        PROGRESS_LOGGER.setLevel(level)
        PROGRESS_LOGGER.propagate = propagate


@dataclass
class Build:
    """One build's stage seconds (measure -> stage -> s), its PDF by WeasyPrint step and, for build_report, its
    wall time end to end and result."""

    seconds: dict[str, dict[str, float]]
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    wall_s: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)


def build_before(engine: Any, settings: Any, quarter: Any, folder: Path) -> Build:
    """The previous serial build (no recording): charts drawn afresh, the PDF printed from the inline-SVG page."""
    from weasyprint import HTML

    from public_health.reports.charts import chart_cache
    from public_health.reports.performance.charts import report_charts
    from public_health.reports.performance.data import assemble
    from public_health.reports.performance.html import render_html
    from public_health.reports.performance.xlsx import write_xlsx

    chart_cache.clear()
    folder.mkdir(parents=True, exist_ok=True)
    stages = Stages()
    with stages.timed("assemble"):
        data = assemble(engine, settings, quarter, generated_at=GENERATED_AT)
    with stages.timed("charts"):
        charts = report_charts(data)
    with stages.timed("HTML"):
        html = render_html(data, charts)
    (folder / "report.html").write_text(html, encoding="utf-8")
    with pdf_steps() as steps, stages.timed("PDF"):
        HTML(string=html).render().write_pdf(folder / "report.pdf")
    with stages.timed("XLSX"):
        write_xlsx(data, folder / "report-data.xlsx")
    pdf = {m: stages.seconds[m]["PDF"] for m in MEASURES}
    return Build(stages.seconds, steps.durations(pdf))


def build_after(engine: Any, settings: Any, quarter: Any, run: Any) -> Build:
    """``build_report`` as the DAG calls it, each stage's function wrapped to time it (the same functions
    build_report times itself, here with CPU time too)."""
    from public_health.reports.performance import build, charts, html, xlsx

    stages = Stages()
    patched = [(build, "assemble", "assemble"), (charts, "report_charts", "charts"), (html, "render_html", "HTML"),
               (html, "write_pdf", "PDF"), (xlsx, "write_xlsx", "XLSX")]
    originals = [(module, attr, getattr(module, attr)) for module, attr, _ in patched]
    for module, attr, stage in patched:
        setattr(module, attr, stages.wrap(stage, getattr(module, attr)))
    try:
        t = time.perf_counter()
        with pdf_steps() as steps:
            result = build.build_report(engine, settings, quarter, run, generated_at=GENERATED_AT)
        wall_s = time.perf_counter() - t
    finally:
        for module, attr, original in originals:
            setattr(module, attr, original)
    pdf = {m: stages.seconds[m]["PDF"] for m in MEASURES}
    return Build(stages.seconds, steps.durations(pdf), wall_s, result)


def shares(seconds: dict[str, float]) -> dict[str, float]:
    total = sum(seconds.values())
    return {k: v / total for k, v in seconds.items()}


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each key's smallest value over ``runs``."""
    return {k: min(r[k] for r in runs) for k in runs[0]}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage_table(before: dict[str, float], after: dict[str, float], cached: dict[str, float]) -> list[str]:
    b, a, c = shares(before), shares(after), shares(cached)
    rows = [[s, before[s], f"{100 * b[s]:.1f}%", after[s], f"{100 * a[s]:.1f}%", cached[s], f"{100 * c[s]:.1f}%"]
            for s in STAGES]
    rows.append(["total", sum(before.values()), "", sum(after.values()), "", sum(cached.values()), ""])
    return ["  " + ln for ln in table(
        ["stage", "before s", "share", "after s", "share", "after, charts cached s", "share"], rows)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds of three builds (default {ROUNDS})")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    t = time.perf_counter()
    settings, engine = load_warehouse(work)
    report(f"warehouse loaded in {time.perf_counter() - t:.1f}s (not timed below); load average "
           f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    from public_health.periods import FinancialQuarter
    from public_health.reports.charts import chart_cache
    from public_health.reports.performance.data import output_dir
    from public_health.warehouse.audit import RunContext

    quarter = FinancialQuarter.parse(QUARTER)
    run = RunContext("bench", "bench", "bench")
    warm_up(work / "warm-up")
    befores: list[Build] = []
    afters: list[Build] = []
    cached: list[Build] = []
    identical = True
    charts_drawn = 0
    for i in range(args.rounds):
        befores.append(build_before(engine, settings, quarter, work / "before"))
        chart_cache.clear()
        afters.append(build_after(engine, settings, quarter, run))
        charts_drawn = chart_cache.misses
        same = sha256(work / "before" / "report.pdf") == sha256(output_dir(settings, quarter) / "report.pdf")
        identical = identical and same
        cached.append(build_after(engine, settings, quarter, run))
        report(f"round {i + 1}: PDF before {befores[-1].seconds['wall']['PDF']:.2f}s wall "
               f"({befores[-1].seconds['cpu']['PDF']:.2f}s CPU), after {afters[-1].seconds['wall']['PDF']:.2f}s "
               f"({afters[-1].seconds['cpu']['PDF']:.2f}s CPU); build_report {afters[-1].wall_s:.2f}s, with the "
               f"charts cached {cached[-1].wall_s:.2f}s; PDFs the same bytes: {same}")
    engine.dispose()

    from pypdf import PdfReader

    pages = len(PdfReader(output_dir(settings, quarter) / "report.pdf").pages)
    services = afters[-1].result["services"]
    report("", f"performance report {QUARTER}: {services} services, {pages} PDF pages, {charts_drawn} charts; each "
               f"stage the best of {args.rounds} round(s); load average now {os.getloadavg()[0]:.1f}",
           "(assemble, charts drawn afresh, HTML and XLSX are the same code before and after: their times are the"
           " best of both builds, so the shares before and after differ by the PDF alone)")
    b: dict[str, dict[str, float]] = {}
    a: dict[str, dict[str, float]] = {}
    c: dict[str, dict[str, float]] = {}
    for m, title in (("wall", "wall seconds"), ("cpu", "CPU seconds of this process (what the code costs when the"
                                                    " machine is shared)")):
        same_code = best([x.seconds[m] for x in befores + afters])
        b[m] = {**same_code, "PDF": best([x.seconds[m] for x in befores])["PDF"]}
        a[m] = {**same_code, "PDF": best([x.seconds[m] for x in afters])["PDF"]}
        c[m] = best([x.seconds[m] for x in cached])
        report("", f"{title}:", *stage_table(b[m], a[m], c[m]))

    steps_b = {m: best([x.steps[m] for x in befores]) for m in MEASURES}
    steps_a = {m: best([x.steps[m] for x in afters]) for m in MEASURES}
    report("", "where the PDF time goes (WeasyPrint's steps from its progress log, best of the rounds):")
    report(*("  " + ln for ln in table(
        ["step", "before wall s", "after wall s", "before CPU s", "after CPU s", "after, share of PDF CPU"],
        [[k, steps_b["wall"].get(k, 0.0), steps_a["wall"][k], steps_b["cpu"].get(k, 0.0), steps_a["cpu"][k],
          f"{100 * steps_a['cpu'][k] / a['cpu']['PDF']:.1f}%"] for k in steps_a["cpu"]])))

    share = {m: (shares(b[m])["PDF"], shares(a[m])["PDF"], shares(c[m])["PDF"]) for m in MEASURES}
    ratio = share["cpu"][1] / share["cpu"][0]
    share_met = ratio <= PDF_SHARE_RATIO_TARGET
    build_s = min(x.wall_s for x in afters)
    total_met = build_s < TOTAL_TARGET_S
    report(
        "",
        f"  PDF: {b['wall']['PDF']:.2f}s -> {a['wall']['PDF']:.2f}s wall, {b['cpu']['PDF']:.2f}s -> "
        f"{a['cpu']['PDF']:.2f}s CPU ({100 * (a['cpu']['PDF'] / b['cpu']['PDF'] - 1):+.0f}%); the same bytes:"
        f" {identical}",
        *(f"  PDF share of the build ({m}): {100 * share[m][0]:.1f}% -> {100 * share[m][1]:.1f}% (ratio "
          f"{share[m][1] / share[m][0]:.2f}); with the charts cached {100 * share[m][2]:.1f}%" for m in MEASURES),
        f"  PDF share halved (CPU ratio {ratio:.2f}; target <= {PDF_SHARE_RATIO_TARGET:g}):"
        f" {'met' if share_met else 'MISSED'}",
        f"  build (build_report, wall, with recording): {build_s:.2f}s (target < {TOTAL_TARGET_S:g}s):"
        f" {'met' if total_met else 'MISSED'}; with the charts cached {min(x.wall_s for x in cached):.2f}s",
    )
    benchmark = f"performance report, {services} services"
    record(f"{benchmark}: build", f"build_report {build_s:.1f} s ({sum(a['cpu'].values()):.1f} s CPU by stage)",
           f"previous path {sum(b['cpu'].values()):.1f} s CPU by stage", sum(a["cpu"].values()) / sum(b["cpu"].values()),
           f"< {TOTAL_TARGET_S:g} s", total_met, stages=shares(a["cpu"]))
    record(f"{benchmark}: PDF share",
           f"PDF {a['cpu']['PDF']:.1f} s CPU, {100 * share['cpu'][1]:.0f}% of the build",
           f"previous path: PDF {b['cpu']['PDF']:.1f} s CPU, {100 * share['cpu'][0]:.0f}%", ratio,
           f"PDF share halved (ratio ≤ {PDF_SHARE_RATIO_TARGET:g})", share_met,
           stages={k: v / a["cpu"]["PDF"] for k, v in steps_a["cpu"].items()})
    shutil.rmtree(work, ignore_errors=True)
    if not identical:
        report("ERROR: the PDF printed with the charts as images is not the same bytes as the inline-SVG print")
        return 1
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    report(f"(benchmark wall time {time.perf_counter() - started:.0f}s)")
    sys.exit(code)
