"""Read a long CSV return into checked KPI figures.

Header ``service,kpi,period,measure,value`` (any case, spaces trimmed, extra columns ignored, ``,``
or ``;`` delimited, UTF-8 with or without BOM, or Windows-1252). One return holds one service and
one financial year; its period is the latest quarter of its rows (or the file name's). Each row's
period (``2017-18-Q2``, ``2017/18 Q2``) is read once, as its line is, into a FinancialQuarter. Values
follow :func:`public_health.returns.cells.parse_value`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from public_health.periods import FinancialQuarter
from public_health.returns.cells import (
    ALL_MEASURES,
    Location,
    NameCheck,
    ParsedReturn,
    RawFigure,
    check_file_name,
    kpis_by_code,
    norm_code,
    norm_label,
    read_bytes,
    read_figure,
    read_quarter,
    service_for,
)

CSV_COLUMNS = ("service", "kpi", "period", "measure", "value")


def _decode(path: Path, data: bytes, notes: list[str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise Location(path).error("is not UTF-8 or Windows-1252 text: save it as CSV UTF-8") from None
    notes.append("read as Windows-1252 text (not UTF-8)")
    return text


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for fields in reader:
        yield start, [f.strip() for f in fields]
        start = reader.line_num + 1


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(first line number, trimmed fields) per record, ``;`` or ``,`` as the header line has more of."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        return list(_csv_rows(text, delimiter))
    except csv.Error as exc:
        raise Location(path).error(f"is not a readable CSV file ({exc})") from None


def _header_index(path: Path, rows: list[tuple[int, list[str]]]) -> dict[str, int]:
    """{column: field index} for :data:`CSV_COLUMNS`, from the header (the first record)."""
    if not rows:
        raise Location(path, line=1).error("is empty: expected a header service,kpi,period,measure,value")
    header_line, header = rows[0]
    names = [norm_label(h) for h in header]
    index: dict[str, int] = {}
    for col in CSV_COLUMNS:
        if col not in names:
            raise Location(path, line=header_line).error(
                f"the header has no {col!r} column (found {', '.join(repr(h) for h in header)}): expected "
                "service,kpi,period,measure,value"
            )
        index[col] = names.index(col)
    return index


def _measure(text: str, where: Location) -> str:
    measure = re.sub(r"[\s-]+", "_", norm_label(text))
    if measure not in ALL_MEASURES:
        raise where.error(f"expected a measure of {', '.join(ALL_MEASURES)}, found {text!r}", value=text)
    return measure


class _Figures:
    """The rows below the header, checked as they come: one service, one financial year, each figure once."""

    def __init__(self, path: Path, services: dict[str, Any], width: int, index: dict[str, int]) -> None:
        self.path = path
        self.services = services
        self.width = width
        self.index = index
        self.service: Any = None
        self.service_line = 0
        self.first: FinancialQuarter | None = None  # the first row's quarter: its financial year is the return's
        self.seen: dict[tuple[str, FinancialQuarter, str], int] = {}
        self.found: list[RawFigure] = []

    def add(self, line: int, fields: list[str]) -> None:
        if not any(f.strip() for f in fields):
            return
        where = Location(self.path, line=line)
        if len(fields) < self.width:
            raise where.error(f"expected {self.width} fields like the header, found {len(fields)}")
        get = {col: fields[i] for col, i in self.index.items()}
        service = self._service(get["service"], where.at(column="service"))
        kpi = kpis_by_code(service).get(norm_code(get["kpi"]))
        if kpi is None:
            raise where.at(column="kpi").error(
                f"unknown KPI code {get['kpi']!r} for service {service.code}", value=get["kpi"]
            )
        period = self._period(get["period"], where.at(column="period"))
        measure = _measure(get["measure"], where.at(column="measure"))
        key = (kpi.code, period, measure)
        if key in self.seen:
            raise where.at(column="kpi").error(
                f"{kpi.code} {period.label} {measure} is given twice (lines {self.seen[key]} and {line})",
                value=get["kpi"],
            )
        self.seen[key] = line
        self.found.append(RawFigure(kpi, period, measure, get["value"], where.at(column="value")))

    def _service(self, code: str, where: Location) -> Any:
        service = service_for(code, self.services, where)
        if self.service is None:
            self.service, self.service_line = service, where.line
        elif service is not self.service:
            raise where.error(
                f"service {service.code!r} differs from {self.service.code!r} on line {self.service_line}: one "
                "return holds one service",
                value=code,
            )
        return self.service

    def _period(self, text: str, where: Location) -> FinancialQuarter:
        period = read_quarter(text, where)
        if self.first is None:
            self.first = period
        elif period.year != self.first.year:
            raise where.error(
                f"period {period.label} is not in financial year {self.first.financial_year} like the earlier rows: "
                "one return holds one quarter (and earlier quarters of its year)",
                value=text,
            )
        return period


def read_csv_return(path: Path, services: dict[str, Any]) -> ParsedReturn:
    """Read a long CSV return; ReturnParseError naming the line and column."""
    notes: list[str] = []
    data = read_bytes(path)
    if b"\x00" in data:
        raise Location(path).error("is not a text CSV file (it contains NUL bytes)")
    rows = _rows(path, _decode(path, data, notes))
    index = _header_index(path, rows)
    header_line, header = rows[0]
    figures = _Figures(path, services, len(header), index)
    for line, fields in rows[1:]:
        figures.add(line, fields)
    service = figures.service
    if service is None:
        raise Location(path, line=header_line + 1).error("has a header but no rows")

    latest = max(f.period for f in figures.found)
    latest_line = next(f.at.line for f in figures.found if f.period == latest)
    return_period = check_file_name(
        NameCheck(
            service.code,
            latest,
            Location(path, line=figures.service_line, column="service"),
            Location(path, line=latest_line, column="period"),
            rows=True,
        )
    )
    values = [read_figure(found, notes) for found in figures.found]
    return ParsedReturn(path, service.code, return_period, "csv", values, [], [], notes)
