"""Benchmark: build the full quarterly performance report (every configured service) and time the
HTML, PDF and XLSX outputs separately, with each one's share of the total.

The warehouse is loaded first by the pipelines' own steps (offline Fingertips stub, sample returns);
that loading is not part of the timings. Run: ``make bench`` or ``python tests/benchmarks/performance_report.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins"))
QUARTER = "2017-18-Q2"
REPEATS = 3


def report(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    from public_health.demo.fingertips_stub import StubServer, default_demo_dataset

    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
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
    from public_health.reports.performance.build import build_report
    from public_health.warehouse.audit import RunContext
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    settings = load_settings()
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    run = RunContext("bench", "bench", "bench")
    t = time.perf_counter()
    try:
        ft.sync_metadata(settings, engine)
        for batch in ft.select_batches(settings, engine, run):
            items = ft.validate_batch(settings, engine, ft.download_batch(settings, engine, batch, run), run)
            ft.load_indicators(settings, engine, items)
    finally:
        stub.stop()
    build_sample_drive(settings.shared_drive)
    pr.sync_config(settings, engine)
    pr.process_files(settings, engine, pr.scan(settings, engine)["new"], run)
    report(f"warehouse loaded in {time.perf_counter() - t:.1f}s (not timed below)")

    runs = []
    for i in range(REPEATS):
        started = time.perf_counter()
        result = build_report(engine, settings, FinancialQuarter.parse(QUARTER), run)
        result["total_s"] = time.perf_counter() - started
        runs.append(result)
        report(f"build {i + 1}: {result['timings']} total {result['total_s']:.2f}s")
    engine.dispose()

    best = min(runs, key=lambda r: r["total_s"])
    timings = best["timings"]
    outputs_total = timings["html_s"] + timings["pdf_s"] + timings["xlsx_s"]
    report()
    report(f"performance report {QUARTER}: {best['services']} services, best of {REPEATS} builds")
    report(f"  {'part':<10} {'seconds':>8} {'share of total':>15}")
    for part in ("assemble_s", "html_s", "pdf_s", "xlsx_s"):
        report(f"  {part[:-2]:<10} {timings[part]:>8.3f} {100 * timings[part] / best['total_s']:>14.1f}%")
    report(f"  {'total':<10} {best['total_s']:>8.3f}")
    report(f"  baseline: HTML alone; PDF / HTML = {timings['pdf_s'] / max(timings['html_s'], 1e-9):.1f}x, "
           f"XLSX / HTML = {timings['xlsx_s'] / max(timings['html_s'], 1e-9):.1f}x; outputs are "
           f"{100 * outputs_total / best['total_s']:.0f}% of the build")
    report(f"  identical content across builds: {len({r['content_sha256'] for r in runs}) == 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
