"""Read a provider's quarterly return (the XLSX template, or a long CSV) into checked KPI figures.

Two layouts, one reader each: ``.xlsx``/``.xlsm`` (:mod:`public_health.returns.xlsx_reader`) and
long ``.csv`` (:mod:`public_health.returns.csv_reader`). The value rules, records and the checks
both share are in :mod:`public_health.returns.cells`.

:func:`parse_return` never returns a half-parsed result: a :class:`~public_health.returns.cells.ParsedReturn`
or a :class:`~public_health.returns.cells.ReturnParseError`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

# ReturnParseError is imported here to raise it, and for callers that still import it from this module
from public_health.returns.cells import Location, ParsedReturn, ReturnParseError
from public_health.returns.csv_reader import read_csv_return
from public_health.returns.xlsx_reader import read_xlsx

log = logging.getLogger(__name__)

XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)


def parse_return(path: Path, services: dict[str, Any]) -> ParsedReturn:
    """Parse one return file (``.xlsx``/``.xlsm`` template, or long ``.csv``) against the configured services.

    Raises :class:`ReturnParseError` naming the file and, where known, the sheet and cell (or line
    and column) and the value; never returns a partial result.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        result = read_xlsx(path, services)
    elif suffix in CSV_SUFFIXES:
        result = read_csv_return(path, services)
    elif suffix == ".xls":
        raise ReturnParseError("is an old-style .xls workbook: open it in Excel and save it as .xlsx", Location(path))
    else:
        raise ReturnParseError(
            f"has an unsupported file type {suffix or '(none)'!r}: expected .xlsx, .xlsm or .csv", Location(path)
        )
    log.info(
        "parsed %s: service %s, period %s, %d figures, %d comments, %d actions",
        path.name,
        result.service_code,
        result.period,
        len(result.values),
        len(result.comments),
        len(result.actions),
    )
    return result
