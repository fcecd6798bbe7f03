"""The end of ``make bench``: one table of every benchmark's summary rows, and docs/performance.md.

Reads the JSON lines file named by $BENCH_RESULTS (one row a line, written by ``_common.record``), prints
the table (benchmark, figure, baseline, ratio, target, met) and writes docs/performance.md with that table,
the machine it came from (CPU model and count, memory, OS, Python, DuckDB and PostgreSQL versions, date)
and "Where the time goes": each row's stage shares, where its benchmark recorded them.

    BENCH_RESULTS=results.jsonl python tests/benchmarks/summary.py [--failed script.py ...] [--doc PATH]

``--failed`` names the benchmark scripts that exited with an error in this run (listed under the table).
Exit status 0 when the table was written; 1 when there were no rows (docs/performance.md is then left as
it was); 2 when $BENCH_RESULTS is not set or names no file. A missed target is not an error here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_ENV, postgres_server_url, report, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance.md"
COLUMNS = ("benchmark", "figure", "baseline", "ratio", "target", "met")


def read_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows in ``path`` in the order written, and a note for each line that is not a row."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name} line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(row, dict) or "benchmark" not in row:
            problems.append(f"{path.name} line {number}: not a summary row")
            continue
        rows.append(row)
    return rows, problems


def cells(row: dict[str, Any]) -> list[str]:
    """A row's cells in :data:`COLUMNS` order: the ratio to two places (``–`` when none), met as yes / NO."""
    ratio = row.get("ratio")
    return [
        str(row.get("benchmark", "")),
        str(row.get("figure", "")),
        str(row.get("baseline", "")),
        f"{float(ratio):.2f}" if isinstance(ratio, int | float) and not isinstance(ratio, bool) else "–",
        str(row.get("target", "")),
        "yes" if row.get("met") else "NO",
    ]


def summary_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The plain text table ``make bench`` ends with."""
    return table(COLUMNS, [cells(r) for r in rows])


def _field(path: Path, key: str, separator: str) -> str | None:
    """The value of the first ``key<separator>value`` line of ``path`` (None when absent or unreadable)."""
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition(separator)
            if sep and name.strip() == key:
                return value.strip().strip('"')
    except OSError:
        return None
    return None


def _postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect(postgres_server_url(), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0]}" if row else "PostgreSQL (version not reported)"
    except Exception as exc:  # the summary still gets written without a server
        first = (str(exc).strip().splitlines() or [""])[0][:100]
        return f"server not reachable ({type(exc).__name__}{': ' + first if first else ''})"


def machine() -> dict[str, str]:
    """Where the figures came from, each as a line of text."""
    cpu = _field(Path("/proc/cpuinfo"), "model name", ":") or platform.processor() or platform.machine()
    mem_kib = _field(Path("/proc/meminfo"), "MemTotal", ":")
    memory = f"{int(mem_kib.split()[0]) / 1024 ** 2:.1f} GiB" if mem_kib else "unknown"
    os_name = _field(Path("/etc/os-release"), "PRETTY_NAME", "=")
    try:
        import duckdb

        duck = f"DuckDB {duckdb.__version__}"
    except ImportError:
        duck = "not installed"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return {
        "CPU": f"{cpu} × {os.cpu_count()}",
        "Memory": memory,
        "OS": f"{os_name} ({platform.platform()})" if os_name else platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "DuckDB": duck,
        "PostgreSQL": _postgres_version(),
        "Load average (1, 5, 15 min) as the summary was written": load,
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: Sequence[dict[str, Any]], host: dict[str, str], failed: Sequence[str] = ()) -> str:
    """docs/performance.md: the table, the failed scripts, the machine and where the time goes."""
    out = [
        "# Performance",
        "",
        "<!-- Written by `make bench` (tests/benchmarks/summary.py) from the rows the benchmarks recorded with",
        "     tests/benchmarks/_common.record. Do not edit by hand: run `make bench`. -->",
        "",
        f"The rows the benchmarks recorded in the latest run ({host.get('Date', 'date unknown')}), each figure"
        " measured against its baseline in the same run; the targets are issue 13's. Each benchmark's own output"
        " has the detail (its stage timings, profiles and checks).",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---:" if c == "ratio" else "---" for c in COLUMNS) + " |",
    ]
    out += ["| " + " | ".join(_md(c) for c in cells(r)) + " |" for r in rows]
    met = sum(1 for r in rows if r.get("met"))
    out += ["", f"{met} of {len(rows)} targets met."]
    if failed:
        out += ["", "Benchmarks that failed in this run (their rows, if any, are above): "
                + ", ".join(f"`{f}`" for f in failed) + "."]
    out += ["", "## The machine", ""]
    out += [f"- {k}: {v}" for k, v in host.items()]
    out += ["", "## Where the time goes", "",
            "Each row's stages as shares of its measured time, as its benchmark timed them (a share is of that"
            " row's figure, so they need not add up to 100% when a stage is left out)."]
    staged = [r for r in rows if r.get("stages")]
    for r in staged:
        stages = r["stages"]
        out += ["", f"### {_md(str(r['benchmark']))}", "", "| stage | share |", "| --- | ---: |"]
        out += [f"| {_md(str(name))} | {100 * float(share):.1f}% |" for name, share in stages.items()]
    unstaged = [str(r["benchmark"]) for r in rows if not r.get("stages")]
    if unstaged:
        out += ["", "No stage shares recorded for: " + "; ".join(_md(b) for b in unstaged) + "."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failed", nargs="*", default=[], help="benchmark scripts that failed in this run")
    parser.add_argument("--doc", type=Path, default=DOC, help=f"where to write the page (default {DOC})")
    args = parser.parse_args(argv)

    name = os.environ.get(RESULTS_ENV)
    if not name or not Path(name).is_file():
        report(f"summary: ${RESULTS_ENV} names no results file ({name or 'not set'}); `make bench` sets it")
        return 2
    rows, problems = read_rows(Path(name))
    report("", "== summary", *problems)
    if not rows:
        report(f"no summary rows in {name}; {args.doc} left as it was")
        return 1
    report(*summary_table(rows))
    if args.failed:
        report(f"failed in this run: {', '.join(args.failed)}")
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(markdown(rows, machine(), args.failed), encoding="utf-8")
    report(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
