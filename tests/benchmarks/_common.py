"""Helpers shared by the benchmark scripts in this folder (not a benchmark itself: nothing runs on import).

The scripts are command-line reports: they print figures and ratios to stdout through :func:`report`.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def report(*lines: Any) -> None:
    """Print report lines to stdout at once (benchmarks are command-line reports)."""
    for line in lines:
        sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``."""

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A plain text table, columns right-aligned except the first."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    return [line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


# PostgreSQL ---------------------------------------------------------------------------------------


def postgres_server_url() -> str:
    """libpq URL of the maintenance database: TEST_POSTGRES_URL when set, else the local server."""
    url = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlalchemy_url(libpq_url: str, database: str) -> str:
    """The SQLAlchemy (psycopg 3) URL of ``database`` on the server of ``libpq_url``."""
    from sqlalchemy.engine import make_url

    url = make_url(libpq_url.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=database).render_as_string(hide_password=False)


def libpq_url(libpq_server_url: str, database: str) -> str:
    """The libpq URL of ``database`` on the server of ``libpq_server_url`` (for psycopg.connect)."""
    return sqlalchemy_url(libpq_server_url, database).replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def throwaway_postgres_database(prefix: str = "bench") -> Iterator[tuple[str, str]]:
    """Create ``<prefix>_<uuid>`` on the server and drop it afterwards; yields (SQLAlchemy URL, libpq URL)."""
    import psycopg

    server = postgres_server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sqlalchemy_url(server, name), libpq_url(server, name)
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def target_line(name: str, value: float, limit: float, unit: str = "", *, strict: bool = False) -> str:
    """``name: value (target <= limit): met / MISSED`` (``<`` when ``strict``)."""
    met = value < limit if strict else value <= limit
    sign = "<" if strict else "<="
    return f"  {name}: {value:.2f}{unit} (target {sign} {limit:g}{unit}): {'met' if met else 'MISSED'}"


# The summary `make bench` ends with -----------------------------------------------------------------

RESULTS_ENV = "BENCH_RESULTS"


def record(
    benchmark: str, figure: str, baseline: str, ratio: float | None, target: str, met: bool, *,
    stages: dict[str, float] | None = None,
) -> None:
    """Add one row to the run's summary table: ``benchmark`` (e.g. "Fingertips 1M rows → PostgreSQL"), the
    ``figure`` measured ("41.2 s; peak 1.21 GiB"), the ``baseline`` measured in the same run ("COPY 9.8 s"),
    their ``ratio`` (None when the target is not a ratio), the ``target`` ("ratio ≤ 3; peak < 1.5 GiB") and
    whether it was ``met``. Rows go, one JSON object a line, to the file named by $BENCH_RESULTS (``make
    bench`` sets it and prints the table at the end with ``summary.py``); without it they are only printed.

    ``stages`` (optional, keyword only): where the figure's time goes, as each stage's *share* of it, a
    fraction between 0 and 1, in the order to print (``{"parse": 0.31, "gate": 0.52, "load": 0.17}``); the
    shares need not add up to 1 when a stage is left out. ``summary.py`` lists them in docs/performance.md
    under "Where the time goes". A row without ``stages`` is written exactly as before."""
    import json

    row = {"benchmark": benchmark, "figure": figure, "baseline": baseline, "ratio": ratio, "target": target,
           "met": bool(met)}
    if stages is not None:
        row["stages"] = {str(name): round(float(share), 4) for name, share in stages.items()}
    report(f"  summary row: {json.dumps(row, ensure_ascii=False)}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

# Baselines of the Fingertips benchmarks (fingertips_load.py, national_refresh.py) ------------------------

#: The all_data CSV's columns and types, for the databases' own bulk loads.
BASELINE_COLUMNS: list[tuple[str, str]] = [
    ("indicator_id", "INTEGER"), ("indicator_name", "TEXT"), ("parent_code", "TEXT"), ("parent_name", "TEXT"),
    ("area_code", "TEXT"), ("area_name", "TEXT"), ("area_type", "TEXT"), ("sex", "TEXT"), ("age", "TEXT"),
    ("category_type", "TEXT"), ("category", "TEXT"), ("time_period", "TEXT"), ("value", "DOUBLE PRECISION"),
    ("lower_ci_95", "DOUBLE PRECISION"), ("upper_ci_95", "DOUBLE PRECISION"), ("lower_ci_99_8", "DOUBLE PRECISION"),
    ("upper_ci_99_8", "DOUBLE PRECISION"), ("count", "DOUBLE PRECISION"), ("denominator", "DOUBLE PRECISION"),
    ("value_note", "TEXT"), ("recent_trend", "TEXT"), ("compared_to_england", "TEXT"),
    ("compared_to_parent", "TEXT"), ("time_period_sortable", "BIGINT"), ("new_data", "TEXT"),
    ("compared_to_goal", "TEXT"), ("time_period_range", "TEXT"),
]


def bare_download(url: str, dest: Path) -> tuple[float, int]:
    """The floor of a download: one streaming GET written to a file, nothing else."""
    import requests

    with Stopwatch() as sw:
        size = 0
        with requests.get(url, stream=True, timeout=(10, 600)) as resp:
            resp.raise_for_status()
            with open(dest, "wb") as fh:
                for chunk in resp.iter_content(chunk_size=1 << 20):
                    fh.write(chunk)
                    size += len(chunk)
    dest.unlink()
    return sw.seconds, size


def baseline_postgres(libpq_url: str, files: list[Path]) -> tuple[float, int]:
    """PostgreSQL's own bulk load of the same all_data CSV files: COPY into a table of the same columns."""
    import psycopg

    ddl = ", ".join(f'"{c}" {t}' for c, t in BASELINE_COLUMNS)
    with psycopg.connect(libpq_url) as conn:
        conn.execute(f"CREATE TABLE baseline_all_data ({ddl})")
        conn.commit()
        with Stopwatch() as sw:
            with conn.cursor() as cur:
                for path in files:
                    with cur.copy("COPY baseline_all_data FROM STDIN (FORMAT CSV, HEADER true)") as copy:
                        with open(path, "rb") as fh:
                            while chunk := fh.read(1 << 20):
                                copy.write(chunk)
            conn.commit()
        rows = conn.execute("SELECT count(*) FROM baseline_all_data").fetchone()[0]
        conn.execute("DROP TABLE baseline_all_data")
        conn.commit()
    return sw.seconds, int(rows)


def baseline_duckdb(db_path: Path, files: list[Path]) -> tuple[float, int]:
    """DuckDB's own bulk load of the same all_data CSV files: read_csv with the same column types."""
    import duckdb

    types = {"INTEGER": "INTEGER", "BIGINT": "BIGINT", "TEXT": "VARCHAR", "DOUBLE PRECISION": "DOUBLE"}
    columns = "{" + ", ".join(f"'{c}': '{types[t]}'" for c, t in BASELINE_COLUMNS) + "}"
    listed = "[" + ", ".join(f"'{p}'" for p in files) + "]"
    con = duckdb.connect(str(db_path))
    try:
        with Stopwatch() as sw:
            con.execute(
                f"CREATE TABLE baseline_all_data AS SELECT * FROM read_csv({listed}, header = true, delim = ',',"
                f" quote = '\"', columns = {columns})"
            )
        rows = con.execute("SELECT count(*) FROM baseline_all_data").fetchone()[0]
    finally:
        con.close()
    return sw.seconds, int(rows)
