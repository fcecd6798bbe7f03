"""Benchmark: the nightly Fingertips refresh at national volume into PostgreSQL and DuckDB, then a night with nothing changed.

The stub serves the whole PHOF profile at national volume (``public_health.demo.fingertips_stub.national``: every
indicator × England, regions, counties and UAs, districts × every period). The refresh is the project's own
pipeline, configured for each child area type Fingertips publishes these areas under, one after the other
(``fingertips.child_area_type_id`` 502, counties and UAs; then 501, districts and UAs; parent 6, regions):
for each, the nightly DAG's own steps of ``public_health.pipelines.fingertips_refresh`` (``sync_metadata``,
``select_batches`` with ``full_refresh``, then per batch ``download_batch``, ``validate_batch``,
``load_indicators``), into a throwaway warehouse and data folder. Both passes of the first night use
``full_refresh``: the pipeline keeps one loaded-upload date per indicator, not per area type, so once the 502
pass has loaded an indicator the 501 pass would find it not due. Each warehouse's refresh runs in its own
fresh subprocess (this script re-invoked with ``--child``) so its peak memory (ru_maxrss) is its own; the
stub runs in this process and the child downloads from it over HTTP.

Then the night with nothing changed, in another fresh subprocess on the same warehouse: the same steps
without ``full_refresh``; the select step compares Fingertips' last upload dates with what was loaded, so no
batch should be downloaded. Counted here: the requests the stub received, rows inserted or updated, wall time.

Baselines, in the same run on the same landed files: PostgreSQL ``COPY ... FROM STDIN (FORMAT CSV)`` and
DuckDB ``read_csv`` into a table of the same 27 columns; a bare streaming download (urllib to a file) of the
same URLs. Ratio = the pipeline's work from the landed files (``validate_batch`` = parse + per-indicator
staging and gate + staged parquet, and ``load_indicators``) / the database's bulk load of those files; the
download is compared with the bare download on its own line; the refresh's wall time (everything, metadata
included) is printed beside them.

Targets: each ratio at most 3 and each refresh's peak memory under 2 GiB; the no-change night under 30 s
with zero data downloads. A missed target is printed, never an error: the script exits non-zero only when
something fails (a step raised, an indicator did not load, rows went missing).

    PYTHONPATH=plugins python tests/benchmarks/national_refresh.py               # national volume
    PYTHONPATH=plugins python tests/benchmarks/national_refresh.py --scale 0.05  # 5% of the indicators
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
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

RATIO_TARGET = 3.0
MEMORY_TARGET_MIB = 2 * 1024
NIGHT_TARGET_S = 30.0
SEED = 19
# Child area types, in the order the refresh runs them (each with the configured parent type, regions).
PASSES: tuple[tuple[int, str], ...] = ((502, "counties & UAs"), (501, "districts & UAs"))
BACKENDS = ("postgresql", "duckdb")
BACKEND_LABEL = {"postgresql": "PostgreSQL", "duckdb": "DuckDB"}

# The all_data CSV's 27 columns with the types the pipeline gives them (public_health.fingertips.parse).


def build_dataset(scale: float):  # noqa: ANN201 - NationalDataset
    from public_health.demo.fingertips_stub.national import national_dataset

    return national_dataset(scale=scale, seed=SEED)


# Child: one night on one warehouse, in a fresh process ------------------------------------------------


def _settings_for(settings: Any, child_area_type_id: int) -> Any:
    fs = settings.fingertips.model_copy(update={"child_area_type_id": child_area_type_id})
    return settings.model_copy(update={"fingertips": fs})


def _night(settings: Any, engine: Any, backend: str, night: str, full_refresh: bool) -> dict[str, Any]:
    """Every pass of one night: the DAG's steps in order, timed; what each batch and indicator became."""
    from public_health.pipelines.fingertips_refresh import (
        download_batch,
        load_indicators,
        run_summary,
        select_batches,
        sync_metadata,
        validate_batch,
    )
    from public_health.warehouse.audit import RunContext
    from public_health.warehouse.phof import tracked_indicators

    passes = []
    for child_type, _label in PASSES:
        s = _settings_for(settings, child_type)
        run = RunContext(dag_id="benchmark_national_refresh", run_id=f"{backend}-{night}-c{child_type}", task_id=None)
        t: dict[str, float] = Counter()
        started = time.perf_counter()
        with Stopwatch() as sw:
            synced = sync_metadata(s, engine)
        t["sync_s"] = sw.seconds
        with Stopwatch() as sw:
            batches = select_batches(s, engine, run, full_refresh=full_refresh)
        t["select_s"] = sw.seconds
        with engine.connect() as conn:   # after the select: why each downloaded indicator was due (not timed)
            tracked = {r.indicator_id: r for r in tracked_indicators(conn)}
        due = {}
        for batch in batches:
            for i in batch.indicator_ids:
                r = tracked.get(i)
                if r is None or r.loaded_data_upload is None:
                    published = getattr(r, "last_data_upload", None)
                    due[i] = ("no upload date from Fingertips (no data uploaded), so never marked loaded"
                              if published is None else f"uploaded {published}, never loaded")
                elif r.last_data_upload is not None and r.last_data_upload > r.loaded_data_upload:
                    due[i] = f"uploaded {r.last_data_upload}, loaded {r.loaded_data_upload}"
        statuses: Counter[str] = Counter()
        not_loaded: dict[str, list[int | None]] = {}
        rows = 0
        landed_files = []
        for batch in batches:
            with Stopwatch() as sw:
                landed = download_batch(s, engine, batch, run)
            t["download_s"] += sw.seconds
            landed_files.append({"path": str(landed.landing_path), "url": landed.batch.url,
                                 "size_bytes": landed.size_bytes})
            with Stopwatch() as sw:
                validated = validate_batch(s, engine, landed, run)
            t["validate_s"] += sw.seconds
            # The file is parsed once per batch; its parse time is recorded with each indicator's timings.
            t["parse_s"] += max((v.timings.get("parse_s") or 0.0) for v in validated) if validated else 0.0
            t["gate_s"] += sum((v.timings.get("validate_s") or 0.0) for v in validated)
            rows += sum(v.rows or 0 for v in validated if v.status == "validated")
            with Stopwatch() as sw:
                loaded = load_indicators(s, engine, validated)
            t["load_s"] += sw.seconds
            statuses.update(r.status for r in loaded)
            for r in loaded:
                if r.status != "loaded":
                    not_loaded.setdefault(r.status, []).append(r.validated.indicator_id)
        with Stopwatch() as sw:
            summary = run_summary(engine, run.run_id)
        t["summary_s"] = sw.seconds
        t["wall_s"] = time.perf_counter() - started
        passes.append({
            "child_area_type_id": child_type,
            "timings": dict(t),
            "synced": synced,
            "batches_selected": len(batches),
            "due": {} if full_refresh else due,
            "statuses": dict(statuses),
            "not_loaded": not_loaded,
            "rows_validated": rows,
            "landed": landed_files,
            "summary": {k: summary[k] for k in ("batches", "inserted", "updated")},
            "problems": [f"{p['status']} {p['source_ref']}: {p['error_summary']}" for p in summary["problems"]],
            "peak_rss_mib_after": peak_rss_mib(),
        })
    return {"passes": passes}


def child_main(mode: str, backend: str, base_url: str, warehouse_url: str, data_dir: str, out_path: str) -> int:
    logging.basicConfig(level=logging.WARNING, format="child %(levelname)s %(name)s: %(message)s")
    from public_health.config import load_settings
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    settings = load_settings(env={"WAREHOUSE_URL": warehouse_url, "PH_DATA_DIR": data_dir,
                                  "FINGERTIPS_BASE_URL": base_url, "FINGERTIPS_OFFLINE": "0"})
    engine = make_engine(settings.warehouse_url)
    result: dict[str, Any] = {"backend": backend, "mode": mode}
    if mode == "full":
        with Stopwatch() as sw:
            migrate(engine)
        result["migrate_s"] = sw.seconds
        # The gate's library is imported before timing (an Airflow task pays it once per process; reported apart).
        with Stopwatch() as sw:
            import great_expectations  # noqa: F401
        result["gx_import_s"] = sw.seconds
    result["rss_before_mib"] = peak_rss_mib()
    with Stopwatch() as sw:
        result.update(_night(settings, engine, backend, mode, full_refresh=(mode == "full")))
    result["night_s"] = sw.seconds
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    Path(out_path).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


class ChildFailed(RuntimeError):
    pass


def run_child(mode: str, backend: str, urls: tuple[str, str], data_dir: Path, work: Path,
              timeout_s: float) -> dict[str, Any]:
    base_url, warehouse_url = urls
    out = work / f"child-{backend}-{mode}.json"
    cmd = [sys.executable, __file__, "--child", mode, backend, base_url, warehouse_url, str(data_dir), str(out)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"{backend} {mode} run did not finish in {timeout_s:.0f}s (--timeout);"
                          f" stderr tail:\n{(exc.stderr or b'')[-3000:]!r}") from exc
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or not out.exists():
        raise ChildFailed(f"{backend} {mode} run failed (exit {proc.returncode}) after {elapsed:.0f}s:\n"
                          f"{proc.stdout[-2000:]}\n{proc.stderr[-6000:]}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["process_s"] = elapsed
    result["stderr_tail"] = proc.stderr[-1500:]
    return result


# Baselines ---------------------------------------------------------------------------------------------


# Report ------------------------------------------------------------------------------------------------


def _sum(passes: list[dict[str, Any]], key: str) -> float:
    return sum(p["timings"].get(key, 0.0) for p in passes)


def _requests(log: list[str]) -> tuple[int, int]:
    return len(log), sum("/all_data/" in p for p in log)


def _gib(mib: float) -> str:
    return f"{mib / 1024:.2f} GiB"


class Outcome:
    """What the run found: report lines, summary rows, and whether anything failed (not: missed a target)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.failed = False
        self.targets: list[str] = []
        self.rows: list[list[Any]] = []

    def name(self, what: str) -> str:
        scope = "national volume" if self.scale >= 1 else f"national volume at scale {self.scale:g}"
        return f"Fingertips {what} ({scope})"


def report_full(o: Outcome, backend: str, r: dict[str, Any], bases: dict[str, tuple[float, int]],
                expected: dict[int, int]) -> None:
    """The refresh's figures against the bulk load (``bases[backend]``) and the bare download (``bases["download"]``)."""
    base = bases.get(backend)
    label = BACKEND_LABEL[backend]
    passes = r["passes"]
    rows = sum(p["rows_validated"] for p in passes)
    statuses: Counter[str] = Counter()
    for p in passes:
        statuses.update(p["statuses"])
    work_s = _sum(passes, "validate_s") + _sum(passes, "load_s")
    wall_s = r["night_s"]
    peak = r["peak_rss_mib"]
    lines = [f"{label}: full refresh (fresh process; migrate {r['migrate_s']:.1f}s and great_expectations import"
             f" {r['gx_import_s']:.1f}s before timing; process {r['process_s']:.0f}s)"]
    for p in passes:
        t, s = p["timings"], p["summary"]
        lines.append(
            f"  c{p['child_area_type_id']}: {p['batches_selected']} batches, {p['rows_validated']:,} rows"
            f" (stub serves {expected[p['child_area_type_id']]:,}); loads {dict(p['statuses'])};"
            f" inserted {s['inserted']:,}, updated {s['updated']:,}"
        )
        lines.append(
            f"     sync_metadata {t['sync_s']:.1f}s | select {t['select_s']:.2f}s | download {t.get('download_s', 0):.1f}s"
            f" | validate_batch {t.get('validate_s', 0):.1f}s (parse {t.get('parse_s', 0):.1f}s, gate"
            f" {t.get('gate_s', 0):.1f}s) | load {t.get('load_s', 0):.1f}s | wall {t['wall_s']:.1f}s;"
            f" peak RSS so far {p['peak_rss_mib_after']:,.0f} MiB"
        )
        if p["not_loaded"]:
            lines.append("     not loaded (by status, indicator ids): " + "; ".join(
                f"{k} {sorted(v, key=str)}" for k, v in sorted(p["not_loaded"].items())))
        for problem in p["problems"][:10]:
            lines.append(f"     PROBLEM: {problem[:400]}")
        if p["rows_validated"] != expected[p["child_area_type_id"]] or p["problems"]:
            o.failed = True
    if set(statuses) & {"quarantined", "held", "failed"}:
        o.failed = True
    share = {k: _sum(passes, k) / wall_s for k in ("sync_s", "download_s", "validate_s", "load_s")}
    lines.append(
        f"  total: {rows:,} rows in {wall_s:.1f}s wall ({rows / wall_s:,.0f} rows/s); shares of the wall time:"
        f" metadata {share['sync_s']:.0%}, download {share['download_s']:.0%}, validate_batch"
        f" {share['validate_s']:.0%}, load {share['load_s']:.0%}; peak RSS {peak:,.0f} MiB"
        f" (before the night {r['rss_before_mib']:,.0f} MiB)"
    )
    ratio = None
    dl_s, dl_base = _sum(passes, "download_s"), bases.get("download")
    if dl_base and dl_base[0] > 0:
        lines.append(f"  download: {dl_s:.1f}s through download_batch vs {dl_base[0]:.1f}s bare"
                     f" ({dl_base[1] / 2**20:,.0f} MiB; both include the stub rendering the CSV): ratio"
                     f" {dl_s / dl_base[0]:.2f}; {r['requests'][0]} requests to the stub in the refresh")
    if base is not None and base[0] > 0:
        base_s, base_rows = base
        ratio = work_s / base_s
        tool = "COPY" if backend == "postgresql" else "read_csv"
        lines.append(
            f"  baseline: {tool} of the same {sum(len(p['landed']) for p in passes)} landed files {base_s:.1f}s"
            f" ({base_rows:,} rows, {base_rows / base_s:,.0f} rows/s); parse+gate+load {work_s:.1f}s:"
            f" ratio {ratio:.2f} (whole refresh wall / baseline: {wall_s / base_s:.2f})"
        )
        if base_rows != rows:
            lines.append(f"  ERROR: the baseline loaded {base_rows:,} rows, the pipeline {rows:,}")
            o.failed = True
    report(*lines)
    met = ratio is not None and ratio <= RATIO_TARGET and peak < MEMORY_TARGET_MIB
    o.rows.append([label, rows, dl_s, _sum(passes, "validate_s"), _sum(passes, "load_s"),
                   wall_s, rows / wall_s, peak, base[0] if base else "-", f"{ratio:.2f}" if ratio else "-",
                   "yes" if met else "NO"])
    if ratio is not None:
        o.targets.append(target_line(f"{label} ratio", ratio, RATIO_TARGET))
    o.targets.append(target_line(f"{label} peak memory", peak, MEMORY_TARGET_MIB, " MiB", strict=True))
    tool = "COPY" if backend == "postgresql" else "read_csv"
    record(o.name(f"refresh → {label}"),
           f"{rows:,} rows; {wall_s:.1f} s wall ({rows / wall_s:,.0f} rows/s); parse+gate+load {work_s:.1f} s;"
           f" peak {_gib(peak)}",
           f"{tool} {base[0]:.1f} s" if base else "not measured", ratio, f"ratio ≤ {RATIO_TARGET:g}; peak < 2 GiB", met)
    report("")


def report_night(o: Outcome, backend: str, r: dict[str, Any], requests: list[str]) -> None:
    label = BACKEND_LABEL[backend]
    passes = r["passes"]
    n_req, n_data = _requests(requests)
    kinds = Counter(p.split("?")[0].removeprefix("/api/") for p in requests)
    inserted = sum(p["summary"]["inserted"] for p in passes)
    updated = sum(p["summary"]["updated"] for p in passes)
    batches: Counter[str] = Counter()
    for p in passes:
        batches.update(p["summary"]["batches"])
    meta = Counter()
    for p in passes:
        meta.update({k: v for k, v in p["synced"].items() if k in ("areas", "comparators", "indicators")})
    wall = r["night_s"]
    lines = [
        f"{label}: the night with nothing changed (fresh process {r['process_s']:.1f}s; the night's steps {wall:.1f}s)",
        f"  requests to the stub: {n_req} ({n_data} data downloads): "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
        f"  batches selected: {sum(p['batches_selected'] for p in passes)}; recorded in audit: {dict(batches)};"
        f" fact rows inserted {inserted}, updated {updated}; metadata rows upserted {dict(meta)}",
    ]
    for p in passes:
        t = p["timings"]
        lines.append(f"  c{p['child_area_type_id']}: sync_metadata {t['sync_s']:.2f}s, select {t['select_s']:.2f}s,"
                     f" download {t.get('download_s', 0):.2f}s, validate {t.get('validate_s', 0):.2f}s,"
                     f" load {t.get('load_s', 0):.2f}s, summary {t['summary_s']:.2f}s")
        if p["due"]:
            lines.append(f"     {p['batches_selected']} batches downloaded because of: "
                         + "; ".join(f"{i}: {why}" for i, why in sorted(p["due"].items(), key=lambda kv: str(kv[0]))))
        if p["not_loaded"]:
            lines.append("     by status (indicator ids): " + "; ".join(
                f"{k} {len(v)}" for k, v in sorted(p["not_loaded"].items())))
        if p["problems"]:
            o.failed = True
    report(*lines)
    met = wall < NIGHT_TARGET_S and n_data == 0
    o.targets.append(target_line(f"{label} no-change night", wall, NIGHT_TARGET_S, " s", strict=True))
    o.targets.append(f"  {label} no-change night data downloads: {n_data} (target 0): {'met' if n_data == 0 else 'MISSED'}")
    record(o.name(f"no-change night → {label}"),
           f"{wall:.1f} s; {n_req} requests, {n_data} data downloads; {inserted + updated} fact rows touched",
           "-", None, f"< {NIGHT_TARGET_S:g} s; 0 data downloads", met)
    report("")


# Parent ------------------------------------------------------------------------------------------------


def main(scale: float, timeout_s: float, backends: tuple[str, ...]) -> int:
    from public_health.demo.fingertips_stub import StubServer

    logging.basicConfig(level=logging.WARNING)
    with Stopwatch() as sw_build:
        dataset = build_dataset(scale)
    served = dataset.served_row_counts()
    n_served = sum(served.values())
    distinct = dataset.distinct_row_count()
    geo = dataset.geography
    report(
        "Fingertips national refresh benchmark",
        f"dataset: national_dataset(scale={scale:g}, seed={SEED}) in {sw_build.seconds:.1f}s:"
        f" {len(dataset.indicators)} indicators x {len(geo.codes)} areas (England, {geo.n_regions} regions,"
        f" {len(dataset.child_codes)} counties & UAs, {len(geo.county_of)} districts) x every period 2010-2025",
        f"rows: {n_served:,} ({n_served / 1e6:.2f} million) served per full refresh = "
        + " + ".join(f"{n:,} with child area type {t}" for t, n in served.items())
        + f"; {distinct:,} ({distinct / 1e6:.2f} million) distinct (England and the regions come with both area"
          " types, UAs are in both)",
        "",
    )
    work = Path(tempfile.mkdtemp(prefix="bench_national_"))
    stub = StubServer(dataset).start()
    o = Outcome(scale)
    fulls: dict[str, dict[str, Any]] = {}
    nights: dict[str, tuple[dict[str, Any], list[str]]] = {}
    errors: dict[str, str] = {}
    baselines: dict[str, tuple[float, int]] = {}
    try:
        with throwaway_postgres_database("bench_national") as (pg_sqlalchemy_url, pg_libpq_url):
            urls = {"postgresql": pg_sqlalchemy_url, "duckdb": f"duckdb:///{work / 'warehouse.duckdb'}"}
            for backend in backends:
                report(f"{BACKEND_LABEL[backend]}: full refresh (fresh subprocess)...")
                n0 = len(stub.requests_log)
                try:
                    fulls[backend] = run_child("full", backend, (stub.base_url, urls[backend]), work / f"data-{backend}",
                                               work, timeout_s)
                    fulls[backend]["requests"] = _requests(stub.requests_log[n0:])
                except ChildFailed as exc:
                    errors[backend] = str(exc)
                    report(f"ERROR: {exc}", "")
                    continue
                report(f"{BACKEND_LABEL[backend]}: the night with nothing changed (fresh subprocess)...")
                n0 = len(stub.requests_log)
                try:
                    night = run_child("nochange", backend, (stub.base_url, urls[backend]), work / f"data-{backend}",
                                      work, timeout_s)
                    nights[backend] = (night, list(stub.requests_log[n0:]))
                except ChildFailed as exc:
                    errors[f"{backend} no-change night"] = str(exc)
                    report(f"ERROR: {exc}", "")
            stub_peak = peak_rss_mib()

            landed = {b: [Path(f["path"]) for p in r["passes"] for f in p["landed"]] for b, r in fulls.items()}
            if landed:
                first = next(iter(fulls.values()))
                data_urls = [f["url"] for p in first["passes"] for f in p["landed"]]
                report("baseline: bare streaming download of the same URLs...")
                bare = [bare_download(url, work / "bare-download.csv") for url in data_urls]
                baselines["download"] = (sum(s for s, _ in bare), sum(n for _, n in bare))
            if "postgresql" in landed:
                report("baseline: PostgreSQL COPY of the same landed files...")
                baselines["postgresql"] = baseline_postgres(pg_libpq_url, landed["postgresql"])
            if "duckdb" in landed:
                report("baseline: DuckDB read_csv of the same landed files...")
                baselines["duckdb"] = baseline_duckdb(work / "baseline.duckdb", landed["duckdb"])
            report("")
    finally:
        stub.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(f"stub process (this one): peak RSS {stub_peak:,.0f} MiB after serving every request above", "")
    for backend in backends:
        if backend in fulls:
            report_full(o, backend, fulls[backend], baselines, served)
        else:
            o.failed = True
            label = BACKEND_LABEL[backend]
            record(o.name(f"refresh → {label}"), "failed: " + errors.get(backend, "?").splitlines()[0][:200],
                   "-", None, f"ratio ≤ {RATIO_TARGET:g}; peak < 2 GiB", False)
        if backend in nights:
            report_night(o, backend, *nights[backend])
        elif backend in fulls:
            o.failed = True
            record(o.name(f"no-change night → {BACKEND_LABEL[backend]}"),
                   "failed: " + errors.get(f"{backend} no-change night", "?").splitlines()[0][:200], "-", None,
                   f"< {NIGHT_TARGET_S:g} s; 0 data downloads", False)
    report(
        *table(["backend", "rows", "download s", "validate s", "load s", "wall s", "rows/s", "peak MiB",
                "baseline s", "ratio", "target met?"], o.rows),
        "",
        "targets:",
        *o.targets,
    )
    if o.failed:
        report("ERROR: a step failed, an indicator did not load, or rows went missing (see above)")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="share of the profile's indicators to serve (0 < scale <= 1; default 1: national volume)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: postgresql,duckdb")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds one subprocess may take")
    parser.add_argument("--child", nargs=6, metavar=("MODE", "BACKEND", "BASE_URL", "WAREHOUSE_URL", "DATA_DIR", "OUT"),
                        help="internal: one night in this process")
    args = parser.parse_args()
    if args.child:
        sys.exit(child_main(*args.child))
    chosen = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    unknown = set(chosen) - set(BACKENDS)
    if unknown or not chosen:
        parser.error(f"--backends: expected some of {BACKENDS}, got {args.backends!r}")
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale}")
    started = time.perf_counter()
    code = main(args.scale, args.timeout, chosen)
    report(f"(benchmark wall time {time.perf_counter() - started:.0f}s)")
    sys.exit(code)
