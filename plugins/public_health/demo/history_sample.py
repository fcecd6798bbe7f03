"""The published report's earlier figures as a KPI history file, for the history import.

Teams arrive with years of KPI history in spreadsheets; the demo's is the published 2017/18 Q2
report's own tables. :func:`write_history` writes, in the long layout the history import reads
(``service, kpi, period, measure, value, note``), every figure ``config/services/*.yaml`` transcribes
from the report (``reference_figures``, each citing the line it is printed on) for the periods before
the returns take over: every quarter before :data:`FIRST_RETURN_QUARTER` and every financial-year
column (with the current year's annual targets). Values are as printed, slips included: a percentage
as ``90%``, a count as a number, a missing figure as the word the report prints (``Pending``).

Run ``python -m public_health.demo.history_sample [path]`` to write it (default
``<data>/samples/published-report-2017-18-q2-history.csv``).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from public_health.demo.shared_drive import MISSING_TEXT
from public_health.periods import FinancialQuarter

#: The first quarter whose figures come from provider returns on the sample drive, not from the history file.
FIRST_RETURN_QUARTER = FinancialQuarter(2017, 1)
FILE_NAME = "published-report-2017-18-q2-history.csv"
COLUMNS = ("service", "kpi", "period", "measure", "value", "note")
SOURCE = "Published Division of Public Health Performance Report 2017/18 Q2"


def _in_history(period: str, measure: str) -> bool:
    """Quarters before the returns take over; a year column before the current year (and its targets)."""
    if "Q" in period:
        return FinancialQuarter.parse(period) < FIRST_RETURN_QUARTER
    start = int(period[:4])
    return start < FIRST_RETURN_QUARTER.year or (start == FIRST_RETURN_QUARTER.year and measure == "target")


def _printed(value: float | None, missing_reason: str | None, unit: str) -> str:
    if value is None:
        return MISSING_TEXT[missing_reason or "pending"]
    text = f"{value:,.10g}" if abs(value) >= 1000 else f"{value:.10g}"
    return f"{text}%" if unit == "percent" else text


def _note(fig: Any) -> str:
    line = getattr(fig, "line", None)
    cited = f"{SOURCE}, line {line}" if line else SOURCE
    return f"{cited}: {fig.note}" if fig.note else cited


def history_rows(services: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """The history file's rows, service by service in code order, figures in their config order."""
    for code in sorted(services):
        service = services[code]
        if service.redacted or not getattr(service, "performance_report", True):
            continue
        units = {k.code: k.unit for k in service.kpis}
        for fig in service.reference_figures:
            if _in_history(fig.period, fig.measure):
                value = _printed(fig.value, fig.missing_reason, units.get(fig.kpi, "count"))
                yield (code, fig.kpi, fig.period, fig.measure, value, _note(fig))


def write_history(path: Path, services: dict[str, Any] | None = None) -> int:
    """Write the history file (UTF-8 CSV) and return how many figures it holds."""
    if services is None:
        from public_health.returns.services import load_services

        services = load_services()
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = list(history_rows(services))
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m public_health.demo.history_sample", description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, help=f"file to write (default <data>/samples/{FILE_NAME})")
    args = parser.parse_args(argv)
    path = args.path
    if path is None:
        from public_health.config import load_settings

        path = load_settings().data_dir / "samples" / FILE_NAME
    count = write_history(path)
    sys.stdout.write(f"{count} published figures written to {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
