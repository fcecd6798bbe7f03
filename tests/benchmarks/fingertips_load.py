"""Benchmark: a 1,000,000-row Fingertips all_data CSV, downloaded from the stub, parsed, gated and loaded.

Like is measured with like (issue 13):

* **Load** (from the landed file): the nightly DAG's own step functions ``validate_batch`` and
  ``load_indicators`` against ``COPY ... FROM STDIN (FORMAT CSV)`` of the same landed file into a PostgreSQL table
  of the same 27 columns, and DuckDB ``read_csv`` of it into a table of the same column types. Ratio = pipeline /
  baseline. Each stage's share of the pipeline is printed: parse (the CSV into a typed table), stage (the derived
  columns the suite reads), gate (the expectation suite), load/merge (each indicator's load transaction), other
  (content hashes, audit and check-result rows, staged files, DuckDB's checkpoint when the step lets go of it).
* **Download**: ``download_batch`` (the client: retries, status and length checks, sha256, landing) against a
  bare streaming download of the same URL (``requests``, ``iter_content`` to a file), twice each, alternately,
  in the pipeline's subprocess; ratio of the sums. Both pay the stub's rendering of the CSV in Python (this
  process serves it), which is printed apart.

The warehouse is migrated and its dimensions seeded in this process; each pipeline run (PostgreSQL, DuckDB)
happens in its own fresh subprocess (this script re-invoked with ``--child``), so its peak memory (ru_maxrss) is
the pipeline's own (with the interpreter and its libraries, Great Expectations imported before timing as a task
that uses it pays that once). The child then runs the same batch a second time (same content: recorded as
unchanged, nothing rewritten).

Targets: each load ratio at most 3 and each pipeline's peak memory under 1.5 GiB; the download at most 1.25
times the bare download. A missed target is printed, never an error: the script exits non-zero only when
something fails. The summary rows (with the stage shares) go to ``_common.record`` for ``make bench``.

    PYTHONPATH=plugins python tests/benchmarks/fingertips_load.py [--indicators 5]   # 5 ≈ 100,000 rows
"""

from __future__ import annotations

import argparse
import json
import logging
import numbers
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Stopwatch,
    bare_download,
    baseline_duckdb,
    baseline_postgres,
    peak_rss_mib,
    record,
    report,
    table,
    target_line,
    throwaway_postgres_database,
)

# ≈1,000,000 rows: 50 indicators × 3 sexes × 1 age × 41 periods × 163 areas (England, 9 regions, 153 UTLAs).
DATASET_ARGS: dict[str, Any] = {
    "indicators": 50,
    "sexes": ("Persons", "Male", "Female"),
    "ages": ("All ages",),
    "n_periods": 41,
    "seed": 19,
}
RATIO_TARGET = 3.0
MEMORY_TARGET_MIB = 1.5 * 1024
DOWNLOAD_RATIO_TARGET = 1.25
STAGES = ("parse", "stage", "gate", "load/merge", "other")

# The all_data CSV's 27 columns with the types the pipeline gives them (public_health.fingertips.parse).


def build_dataset():  # noqa: ANN201 - FixtureDataset
    from public_health.demo.fingertips_stub import generate_dataset

    return generate_dataset(**DATASET_ARGS)


def _settings(warehouse_url: str, data_dir: str, base_url: str):  # noqa: ANN202 - Settings
    from public_health.config import load_settings

    return load_settings(
        env={
            "WAREHOUSE_URL": warehouse_url,
            "PH_DATA_DIR": data_dir,
            "FINGERTIPS_BASE_URL": base_url,
            "FINGERTIPS_OFFLINE": "0",
        }
    )


def prepare_warehouse(warehouse_url: str, dataset: Any) -> None:
    """Migrate, then core.dim_area with every stub area (the gate checks area codes) and core.dim_indicator."""
    from public_health.demo.fingertips_stub.fixtures import AREA_TYPE_SHORT
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate
    from public_health.warehouse.phof import upsert_areas, upsert_indicators

    areas = [
        {
            "area_code": a.code,
            "area_name": a.name,
            "short_name": a.short_name,
            "area_type_id": a.area_type_id,
            "area_type": AREA_TYPE_SHORT.get(a.area_type_id),
            "parent_area_code": a.parent_code,
        }
        for a in dataset.areas.values()
    ]
    # Parents first: dim_area.parent_area_code may reference another row.
    areas.sort(key=lambda r: (r["parent_area_code"] is not None, r["area_type_id"] != 6, r["area_code"]))
    indicators = [
        {
            "indicator_id": s.indicator_id,
            "phof_code": s.phof_code,
            "name": s.name,
            "definition": s.definition,
            "unit": s.unit,
            "value_type": s.value_type,
            "polarity": s.polarity,
            "polarity_code": None,
            "source": s.source,
            "last_data_upload": s.last_upload,
            "indicator_sets": "benchmark",
        }
        for s in dataset.indicators.values()
    ]
    engine = make_engine(warehouse_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            upsert_areas(conn, areas)
            upsert_indicators(conn, indicators)
    finally:
        engine.dispose()


# Child: one pipeline run in a fresh process --------------------------------------------------------


def _one_run(settings: Any, engine: Any, batch: Any, run_id: str) -> dict[str, Any]:
    from sqlalchemy import bindparam, text

    from public_health.pipelines.fingertips_refresh import download_batch, load_indicators, validate_batch
    from public_health.warehouse.audit import RunContext

    run = RunContext(dag_id="benchmark_fingertips_load", run_id=run_id, task_id=None)
    with Stopwatch() as sw_dl:
        landed = download_batch(settings, engine, batch, run)
    rss_dl = peak_rss_mib()
    with Stopwatch() as sw_val:
        validated = validate_batch(settings, engine, landed, run)   # one result per indicator
    rss_val = peak_rss_mib()
    with Stopwatch() as sw_load:
        loaded = load_indicators(settings, engine, validated)
    rss_load = peak_rss_mib()

    def total(key: str) -> float:
        return sum((v.timings.get(key) or 0.0) for v in validated)

    with engine.connect() as conn:
        audit = conn.execute(
            text(
                "SELECT min(status) AS status, sum(rows_read) AS rows_read, sum(rows_inserted) AS rows_inserted,"
                " sum(rows_updated) AS rows_updated, sum(rows_unchanged) AS rows_unchanged,"
                " max(download_s) AS download_s, max(parse_s) AS parse_s, sum(validate_s) AS validate_s,"
                " sum(load_s) AS load_s FROM audit.load_batch WHERE batch_id IN :b"
            ).bindparams(bindparam("b", expanding=True)),
            {"b": [v.batch_id for v in validated]},
        ).one()
    audit_row = {k: (float(v) if isinstance(v, numbers.Number) and not isinstance(v, bool) else v)
                 for k, v in audit._mapping.items()}
    # The download is parsed once for the batch; the parse time is recorded with every indicator's timings.
    parse_s = max((v.timings.get("parse_s") or 0.0) for v in validated)
    pipeline_s = sw_val.seconds + sw_load.seconds
    stages = {
        "parse": parse_s,
        "stage": total("stage_s"),          # derived columns (0 on code that does not time them apart)
        "gate": total("validate_s"),         # the expectation suite (with staging where not timed apart)
        "load/merge": audit_row["load_s"] or 0.0,
    }
    stages["other"] = max(pipeline_s - sum(stages.values()), 0.0)   # audit, hashing, staged files, splitting
    return {
        "download_s": sw_dl.seconds,
        "validate_batch_s": sw_val.seconds,
        "load_s": sw_load.seconds,
        "pipeline_s": pipeline_s,
        "stages": stages,
        "status_after_validate": ",".join(sorted({v.status for v in validated})),
        "status": ",".join(sorted({r.status for r in loaded})),
        "error": "; ".join(v.error for v in validated if v.error) or None,
        "rows": sum(v.rows or 0 for v in validated),
        "size_bytes": landed.size_bytes,
        "landing_path": str(landed.landing_path),
        "peak_mib_after": {"download": rss_dl, "validate": rss_val, "load": rss_load},
        "audit": audit_row,
    }


def child_main(backend: str, base_url: str, warehouse_url: str, data_dir: str, batch_json: str,
               out_path: str) -> int:
    import resource

    logging.basicConfig(level=logging.WARNING, format="child %(levelname)s %(name)s: %(message)s")
    from public_health.pipelines.records import FingertipsBatch
    from public_health.warehouse.engine import make_engine

    settings = _settings(warehouse_url, data_dir, base_url)
    engine = make_engine(settings.warehouse_url)
    batch = FingertipsBatch.from_dict(json.loads(Path(batch_json).read_text(encoding="utf-8")))
    # Import the gate's library before timing (an Airflow task pays this once per process; reported apart).
    with Stopwatch() as sw_imp:
        import great_expectations  # noqa: F401
    # A bare download before each run: the download ratio compares the sums (the stub's pace varies).
    bare_first, bare_bytes = bare_download(batch.url, Path(data_dir) / "bare-download.csv")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    first = _one_run(settings, engine, batch, f"{backend}-first")
    bare_second, _ = bare_download(batch.url, Path(data_dir) / "bare-download.csv")
    second = _one_run(settings, engine, batch, f"{backend}-second")
    engine.dispose()
    result = {
        "backend": backend,
        "gx_import_s": sw_imp.seconds,
        "bare_download_s": [bare_first, bare_second],
        "bare_download_bytes": bare_bytes,
        "rss_before_runs_kib": rss_before,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "first": first,
        "second": second,
    }
    Path(out_path).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


def run_child(backend: str, stub_url: str, warehouse_url: str, work: Path, batch_json: Path) -> dict[str, Any]:
    out = work / f"child-{backend}.json"
    data_dir = work / f"data-{backend}"
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", backend, stub_url, warehouse_url, str(data_dir), str(batch_json),
           str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(
            f"{backend} pipeline run failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return json.loads(out.read_text(encoding="utf-8"))


# Baselines ---------------------------------------------------------------------------------------


# Parent ------------------------------------------------------------------------------------------


def _rows_label(n_rows: int) -> str:
    return f"{n_rows / 1e6:.0f}M" if n_rows >= 950_000 else f"{n_rows / 1e3:.0f}k"


def _download_ratio(result: dict[str, Any]) -> float:
    """The pipeline's two downloads over the two bare downloads of the same URL."""
    return (result["first"]["download_s"] + result["second"]["download_s"]) / sum(result["bare_download_s"])


def _stage_lines(first: dict[str, Any]) -> str:
    total = first["pipeline_s"]
    return " | ".join(f"{name} {first['stages'][name]:.2f}s ({100 * first['stages'][name] / total:.0f}%)"
                      for name in STAGES)


def main() -> int:
    from public_health.demo.fingertips_stub import StubServer
    from public_health.pipelines.fingertips_refresh import all_data_url
    from public_health.pipelines.records import FingertipsBatch

    logging.basicConfig(level=logging.WARNING)
    dataset = build_dataset()
    n_rows = dataset.row_count()
    label = _rows_label(n_rows)
    report(
        "Fingertips load benchmark",
        f"dataset: generate_dataset({', '.join(f'{k}={v!r}' for k, v in DATASET_ARGS.items())})"
        f" -> {n_rows:,} rows ({len(dataset.indicators)} indicators, {len(dataset.areas)} areas)",
    )
    work = Path(tempfile.mkdtemp(prefix="bench_fingertips_"))
    stub = StubServer(dataset).start()
    results: dict[str, dict[str, Any]] = {}
    baselines: dict[str, tuple[float, int]] = {}
    try:
        # Stub cost alone (rendering the CSV in Python, no HTTP): part of both downloads below.
        with Stopwatch() as sw_stub:
            stub_bytes = sum(
                len(line) for block in dataset.iter_all_data_lines(sorted(dataset.indicators)) for line in block
            )
        report(f"stub: rendering the CSV body alone takes {sw_stub.seconds:.2f}s ({stub_bytes / 2**20:,.0f} MiB);"
               " both the pipeline's download and the bare download pay it", "")
        ids = sorted(dataset.indicators)
        with throwaway_postgres_database("bench") as (pg_sqlalchemy_url, pg_libpq_url):
            urls = {"postgresql": pg_sqlalchemy_url, "duckdb": f"duckdb:///{work / 'warehouse.duckdb'}"}
            for backend, url in urls.items():
                settings = _settings(url, str(work / f"data-{backend}"), stub.base_url)
                batch = FingertipsBatch(tuple(ids), {i: dataset.indicators[i].last_upload for i in ids},
                                        all_data_url(settings, ids))
                batch_json = work / "batch.json"
                batch_json.write_text(json.dumps(batch.to_dict()), encoding="utf-8")
                prepare_warehouse(url, dataset)
                report(f"running the pipeline on {backend} (fresh subprocess)...")
                results[backend] = run_child(backend, stub.base_url, url, work, batch_json)

            csv_path = Path(results["postgresql"]["first"]["landing_path"])
            report("baseline: PostgreSQL COPY of the same CSV...")
            baselines["postgresql"] = baseline_postgres(pg_libpq_url, [csv_path])
            report("baseline: DuckDB read_csv of the same CSV...", "")
            baselines["duckdb"] = baseline_duckdb(work / "baseline.duckdb", [csv_path])
    finally:
        stub.stop()
        shutil.rmtree(work, ignore_errors=True)

    failed = False
    rows_out = []
    target_lines = []
    summary_rows = []
    for backend in ("postgresql", "duckdb"):
        r = results[backend]
        first, second = r["first"], r["second"]
        base_s, base_rows = baselines[backend]
        peak_mib = r["peak_rss_kib"] / 1024
        ratio = first["pipeline_s"] / base_s
        ok = ratio <= RATIO_TARGET and peak_mib < MEMORY_TARGET_MIB
        if first["status"] != "loaded" or first["rows"] != n_rows or base_rows != n_rows:
            failed = True
        rows_out.append([
            backend, first["rows"], first["validate_batch_s"], first["load_s"], first["pipeline_s"],
            first["rows"] / first["pipeline_s"] if first["rows"] else 0.0, peak_mib, base_s, f"{ratio:.2f}",
            "yes" if ok else "NO",
        ])
        a = first["audit"]
        report(
            f"{backend}: first run: status {first['status']}, {first['rows']:,} rows"
            f" ({first['size_bytes'] / 2**20:,.0f} MiB CSV); audit: read {a['rows_read']:,.0f},"
            f" inserted {a['rows_inserted']:,.0f}, updated {a['rows_updated']:,.0f}, unchanged {a['rows_unchanged']:,.0f}",
            f"  from the landed file: validate_batch {first['validate_batch_s']:.2f}s + load_indicators"
            f" {first['load_s']:.2f}s = {first['pipeline_s']:.2f}s",
            f"  stage shares: {_stage_lines(first)}",
            f"  baseline {base_s:.2f}s for {base_rows:,} rows ({base_rows / base_s:,.0f} rows/s); ratio {ratio:.2f}",
            f"  download {first['download_s']:.2f}s and {second['download_s']:.2f}s (two runs) vs bare streaming"
            f" download {r['bare_download_s'][0]:.2f}s and {r['bare_download_s'][1]:.2f}s"
            f" ({r['bare_download_bytes'] / 2**20:,.0f} MiB): ratio {_download_ratio(r):.2f}",
            f"  great_expectations import (before timing, once per process): {r['gx_import_s']:.2f}s;"
            f" peak RSS {peak_mib:,.0f} MiB (before the runs {r['rss_before_runs_kib'] / 1024:,.0f} MiB; peak so far"
            f" after download {first['peak_mib_after']['download']:,.0f}, after validate_batch"
            f" {first['peak_mib_after']['validate']:,.0f}, after load_indicators {first['peak_mib_after']['load']:,.0f})",
        )
        s = second
        a2 = s["audit"]
        report(
            f"  second run, same CSV: status {s['status']} (audit: status {a2['status']}, rows read"
            f" {a2['rows_read']:.0f}, inserted {a2['rows_inserted']:.0f}, updated {a2['rows_updated']:.0f}):"
            f" download {s['download_s']:.2f}s, validate_batch {s['validate_batch_s']:.2f}s,"
            f" load_indicators {s['load_s']:.3f}s",
            "",
        )
        if s["status"] != "unchanged":
            failed = True
        target_lines.append(target_line(f"{backend} ratio", ratio, RATIO_TARGET))
        target_lines.append(target_line(f"{backend} peak memory", peak_mib, MEMORY_TARGET_MIB, " MiB", strict=True))
        baseline_name = "COPY" if backend == "postgresql" else "read_csv"
        summary_rows.append((
            (f"Fingertips {label} rows → {'PostgreSQL' if backend == 'postgresql' else 'DuckDB'}",
             f"{first['pipeline_s']:.1f} s; peak {peak_mib / 1024:.2f} GiB", f"{baseline_name} {base_s:.1f} s",
             ratio, f"ratio ≤ {RATIO_TARGET:g}; peak < {MEMORY_TARGET_MIB / 1024:g} GiB", ok),
            {name: first["stages"][name] / first["pipeline_s"] for name in STAGES},
        ))

    # The download, measured in the PostgreSQL child (the warehouse plays no part in it): two of each.
    pg = results["postgresql"]
    dl_s, bare_s = pg["first"]["download_s"] + pg["second"]["download_s"], sum(pg["bare_download_s"])
    dl_ratio = _download_ratio(pg)
    target_lines.append(target_line("download ratio", dl_ratio, DOWNLOAD_RATIO_TARGET))
    summary_rows.append((
        (f"Fingertips {label} rows download (stub), 2 runs", f"{dl_s:.1f} s", f"bare streaming GET {bare_s:.1f} s",
         dl_ratio, f"ratio ≤ {DOWNLOAD_RATIO_TARGET:g}", dl_ratio <= DOWNLOAD_RATIO_TARGET),
        None,
    ))

    report(
        *table(
            ["backend", "rows", "validate_batch s", "load s", "pipeline s", "rows/s", "peak MiB", "baseline s",
             "ratio", "target met?"],
            rows_out,
        ),
        "",
        "targets:",
        *target_lines,
        "",
    )
    for row, stages in summary_rows:
        record(*row, stages=stages)
    if failed:
        report("ERROR: a run did not load the expected rows, or the second run was not recorded as unchanged")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indicators", type=int, default=DATASET_ARGS["indicators"],
                        help="indicators in the dataset (50 ≈ 1,000,000 rows; 5 ≈ 100,000 for a quick run)")
    parser.add_argument("--child", nargs=6,
                        metavar=("BACKEND", "BASE_URL", "WAREHOUSE_URL", "DATA_DIR", "BATCH_JSON", "OUT_JSON"),
                        help="internal: one pipeline run in this process")
    args = parser.parse_args()
    if args.child:
        sys.exit(child_main(*args.child))
    DATASET_ARGS["indicators"] = args.indicators
    started = time.perf_counter()
    code = main()
    report(f"(benchmark wall time {time.perf_counter() - started:.0f}s)")
    sys.exit(code)
