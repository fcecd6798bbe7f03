"""KPI history files: years of KPI figures from a team's spreadsheet, read and staged like a provider return.

A history file is long: one figure per row, header ``service, kpi, period, measure, value, note`` (exactly
those columns, in any order, any case, spaces ignored; any other column is an error naming it). It is a
CSV file (UTF-8, with or without a byte-order mark) or a workbook (``.xlsx``/``.xlsm``: the sheet named
``history`` when there is one, else the first sheet; the header is its first non-empty row).

- ``period``: a financial-year quarter in any form a person types one (``2015-16-Q1``, ``2015/16 Q1``,
  ``Q1 2015-16``) or a financial year (``2015-16``, ``2015/16``: a year column of the report, stored with the
  label ``2015-16``).
- ``measure``: target, actual, actual_to_date, numerator or denominator, or the report's words (``Target``,
  ``Actual``, ``Actual to date``, ``Target to date`` read as target).
- ``value``: read by the shared rules of :func:`public_health.returns.cells.parse_value`: numbers as printed
  (``1,188``, ``90%`` for a percent KPI, ``£1,234`` for a currency KPI), or a word the report prints for a
  missing figure (Pending, tbc, Not yet available, n/a, Redacted, -, Data not recorded, blank): no value and
  a missing reason, never 0.

Anything else raises :class:`~public_health.returns.cells.ReturnParseError` naming the file, the line (or
sheet and cell) and the column, and what was expected. A service or KPI code that is not configured is
kept as typed and left to the gate (``known_services``/``known_kpis``), so the quarantine report lists
every such line at once (unless its value cannot be read without the KPI's unit, e.g. ``67%``: then the
reader names the code); so are duplicate figures.

:func:`stage_history` turns the records into the frame the provider returns' suite
(``include/expectations/provider_kpi_values.json``) checks, by calling
:func:`public_health.returns.staging.stage_return` per service and financial year, then setting
the return-period columns (:data:`PERIOD_COLUMNS`) to their history meaning: a figure's period is not after
the import's ``as_of`` quarter (targets excepted; a year counts at its Q4).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from public_health.periods import FinancialQuarter, PeriodParseError
from public_health.returns.cells import (
    ALL_MEASURES,
    KpiValue,
    Location,
    ParsedReturn,
    ReturnParseError,
    clean_text,
    find_service,
    kpis_by_code,
    norm_code,
    parse_value,
    raw_text,
    read_bytes,
)
from public_health.returns.staging import stage_return

HISTORY_COLUMNS = ("service", "kpi", "period", "measure", "value", "note")
HISTORY_SHEET = "history"
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt")
#: the report's words for a measure (normalised: casefolded, spaces and hyphens as ``_``) -> measure
MEASURE_WORDS: dict[str, str] = {
    **{m: m for m in ALL_MEASURES},
    "target_to_date": "target",
}
_HEADER_TEXT = ", ".join(HISTORY_COLUMNS)
_PERIOD_EXPECTED = (
    "expected a financial-year quarter like 2015-16-Q1, 2015/16 Q1 or Q1 2015-16, or a financial year like "
    "2015-16 or 2015/16"
)
_MEASURE_EXPECTED = (
    "expected a measure: target, actual, actual_to_date, numerator or denominator (or the report's Target, "
    "Actual, Actual to date, Target to date)"
)
#: Columns of stage_return that hold a figure against the return's own quarter: for a history, each says
#: whether the figure is in the history as of its ``as_of`` quarter (:func:`in_history`).
PERIOD_COLUMNS = ("period_in_return_year", "period_not_after_return")
_YEAR = re.compile(r"(\d{4})\s*[-/]\s*(\d{2})")


# records ------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class FinancialYear:
    """An April-to-March financial year, as a year column of the report: ``FinancialYear(2015)`` is 2015-16."""

    year: int

    def __post_init__(self) -> None:
        FinancialQuarter(self.year, 1)  # the same range checks as a quarter (PeriodParseError)

    @classmethod
    def parse(cls, text: str) -> FinancialYear:
        """``2015-16`` or ``2015/16`` (spaces around the separator forgiven); PeriodParseError otherwise."""
        m = _YEAR.fullmatch(clean_text(str(text)))
        if m is None:
            raise PeriodParseError(f"{text!r} is not a financial year like 2015-16 or 2015/16")
        first, second = int(m.group(1)), int(m.group(2))
        if (first + 1) % 100 != second:
            raise PeriodParseError(
                f"{text!r} is not a financial year: {m.group(1)} is followed by {m.group(2)}, "
                f"not {(first + 1) % 100:02d}"
            )
        return cls(first)

    @property
    def label(self) -> str:
        """``2015-16``: the warehouse's ``period_label`` of an annual figure."""
        return self.first_quarter.financial_year

    @property
    def first_quarter(self) -> FinancialQuarter:
        return FinancialQuarter(self.year, 1)

    @property
    def last_quarter(self) -> FinancialQuarter:
        return FinancialQuarter(self.year, 4)

    def __str__(self) -> str:
        return self.label


HistoryPeriod = FinancialQuarter | FinancialYear


def parse_history_period(text: str) -> HistoryPeriod:
    """A quarter (any form :meth:`FinancialQuarter.from_typed` accepts) or a financial year; PeriodParseError."""
    try:
        return FinancialQuarter.from_typed(text)
    except PeriodParseError:
        pass
    try:
        return FinancialYear.parse(text)
    except PeriodParseError:
        raise PeriodParseError(f"{_PERIOD_EXPECTED}, found {text!r}") from None


def last_quarter_of(period: HistoryPeriod) -> FinancialQuarter:
    """The quarter a figure for ``period`` is complete at: the quarter itself, or a year's Q4."""
    return period.last_quarter if isinstance(period, FinancialYear) else period


@dataclass(frozen=True)
class RawRow:
    """A history row as typed: the text of each column (cells as :func:`~public_health.returns.cells.raw_text`)."""

    service: str
    kpi: str
    period: str
    measure: str
    value: str
    note: str


@dataclass(frozen=True)
class HistoryRecord:
    """One KPI figure of a history file. ``value`` is None exactly when ``missing_reason`` is set.

    ``service_code`` and ``kpi_code`` are the configured codes, or the codes as typed (``known`` False) for
    the gate to reject. ``sheet`` is None for CSV, where ``cell`` is ``line <n>``; for a workbook ``cell``
    is the value cell (``E7``).
    """

    service_code: str
    kpi_code: str
    period: HistoryPeriod
    measure: str
    value: float | None
    missing_reason: str | None
    note: str | None
    sheet: str | None
    cell: str
    raw: RawRow
    known: bool = True

    @property
    def period_label(self) -> str:
        """``2015-16-Q1`` for a quarter, ``2015-16`` for a year, as the warehouse keys figures."""
        return self.period.label

    @property
    def source_cell(self) -> str:
        """``line 7`` (CSV) or ``history!E7`` (workbook): where the figure was read."""
        return f"{self.sheet}!{self.cell}" if self.sheet else self.cell


@dataclass(frozen=True)
class HistoryFile:
    """A history file read whole: its layout (``csv`` or ``xlsx``), the sheet read, the figures in file
    order and notes on how values were read (e.g. a fraction read as a percentage)."""

    path: Path
    layout: str
    sheet: str | None
    records: tuple[HistoryRecord, ...]
    notes: tuple[str, ...] = ()

    @property
    def service_codes(self) -> tuple[str, ...]:
        return tuple(sorted({r.service_code for r in self.records}))


# reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """One row below the header: where it is and the raw content of each history column (with the number
    format of a workbook's value cell)."""

    where: Location  # file and line (CSV) or file and sheet (workbook)
    cells: Mapping[str, Any]
    coords: Mapping[str, str] | None = None  # column -> cell coordinate (workbook)
    number_format: str | None = None


def _header(names: list[Any], where: Location) -> dict[str, int]:
    """{history column: position} from a header row; ReturnParseError naming what is missing or extra."""
    index: dict[str, int] = {}
    extra: list[str] = []
    for i, name in enumerate(names):
        text = clean_text(raw_text(name))
        if not text:
            continue
        key = norm_code(text)
        if key not in HISTORY_COLUMNS:
            extra.append(text)
        elif key in index:
            raise where.error(f"the header names column {key!r} twice: expected one each of {_HEADER_TEXT}")
        else:
            index[key] = i
    if extra:
        raise where.error(
            f"the header has column(s) {', '.join(repr(e) for e in extra)} that a history file does not have: "
            f"expected exactly {_HEADER_TEXT}"
        )
    missing = [c for c in HISTORY_COLUMNS if c not in index]
    if missing:
        raise where.error(
            f"the header has no {', '.join(repr(m) for m in missing)} column(s): expected exactly {_HEADER_TEXT}"
        )
    return index


def _csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) per CSV record (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def _csv_rows(path: Path) -> tuple[list[_Row], Location]:
    data = read_bytes(path)
    if b"\x00" in data:
        raise Location(path).error("is not a text CSV file (it contains NUL bytes): expected a CSV file in UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Location(path, line=line).error(
            "is not UTF-8 text: expected a CSV file in UTF-8 (in Excel, save as 'CSV UTF-8')"
        ) from None
    try:
        records = [(n, f) for n, f in _csv_records(text) if any(x.strip() for x in f)]
    except csv.Error as exc:
        raise Location(path).error(f"is not a readable CSV file ({exc})") from None
    if not records:
        raise Location(path, line=1).error(f"is empty: expected a header {_HEADER_TEXT}")
    header_line, header = records[0]
    header_at = Location(path, line=header_line)
    index = _header(header, header_at)
    rows = []
    for line, fields in records[1:]:
        where = Location(path, line=line)
        if len(fields) != len(header):
            hint = " (a number with a thousands separator, like 1,188, must be in quotes)" if len(fields) > len(
                header) else ""
            raise where.error(f"expected {len(header)} fields like the header, found {len(fields)}{hint}")
        rows.append(_Row(where, {c: fields[i] for c, i in index.items()}))
    return rows, header_at


def _xlsx_rows(path: Path) -> tuple[list[_Row], Location, str]:
    data = read_bytes(path)
    try:
        from openpyxl import load_workbook

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = load_workbook(io.BytesIO(data), data_only=True)
            formulas = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a corrupt file
        raise Location(path).error(
            f"is not a readable workbook ({type(exc).__name__}: {str(exc)[:200]}): expected an .xlsx workbook "
            "saved from Excel"
        ) from None
    from openpyxl.utils import get_column_letter

    names = {norm_code(n): n for n in values.sheetnames}
    sheet = names.get(HISTORY_SHEET) or values.sheetnames[0]
    ws, wf = values[sheet], formulas[sheet]
    header_row = None
    rows: list[_Row] = []
    index: dict[str, int] = {}
    header_at = Location(path, sheet=sheet)
    for r, cells in enumerate(ws.iter_rows(values_only=False), 1):
        content = [c.value for c in cells]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in content):
            continue
        if header_row is None:
            header_row = r
            header_at = Location(path, sheet=sheet, cell=f"A{r}")
            index = _header(content, header_at)
            continue
        extra = [i for i, v in enumerate(content) if i not in index.values() and v is not None and str(v).strip()]
        if extra:
            raise Location(path, sheet=sheet, cell=f"{get_column_letter(extra[0] + 1)}{r}").error(
                f"a value in a column with no header, found {raw_text(content[extra[0]])!r}: expected the columns "
                f"{_HEADER_TEXT} only"
            )
        coords = {c: f"{get_column_letter(i + 1)}{r}" for c, i in index.items()}
        got: dict[str, Any] = {}
        for column, i in index.items():
            value = content[i] if i < len(content) else None
            formula = wf.cell(row=r, column=i + 1)
            if value is None and getattr(formula, "data_type", None) == "f":
                raise Location(path, sheet=sheet, cell=coords[column], column=column).error(
                    f"formula {formula.value} has no saved value: open the file in Excel, let it calculate, "
                    "save it again"
                )
            got[column] = value
        fmt = cells[index["value"]].number_format if index["value"] < len(cells) else None
        rows.append(_Row(Location(path, sheet=sheet), got, coords, fmt))
    if header_row is None:
        raise Location(path, sheet=sheet).error(f"is empty: expected a header row {_HEADER_TEXT}")
    return rows, header_at, sheet


def _text_cell(row: _Row, column: str) -> tuple[str, Location]:
    """The cell's text (cleaned) and its place (line and column, or sheet, cell and column)."""
    where = row.where.at(column=column)
    if row.coords is not None:
        where = where.at(cell=row.coords[column])
    return clean_text(raw_text(row.cells[column])), where


class _Reader:
    """Reads rows into records against the configured services."""

    def __init__(self, services: Mapping[str, Any]) -> None:
        self.services = dict(services)
        self.notes: list[str] = []

    def record(self, row: _Row) -> HistoryRecord:
        service_text, service_at = _text_cell(row, "service")
        kpi_text, kpi_at = _text_cell(row, "kpi")
        period_text, period_at = _text_cell(row, "period")
        measure_text, measure_at = _text_cell(row, "measure")
        note_text, _ = _text_cell(row, "note")
        if not service_text:
            raise service_at.error("expected a service code (config/services), found a blank")
        if not kpi_text:
            raise kpi_at.error("expected a KPI code of the service, found a blank")
        service = find_service(service_text, self.services)
        kpi = kpis_by_code(service).get(norm_code(kpi_text)) if service is not None else None
        try:
            period = parse_history_period(period_text)
        except PeriodParseError:
            raise period_at.error(f"{_PERIOD_EXPECTED}, found {period_text!r}", value=period_text,
                                  expected=_PERIOD_EXPECTED) from None
        measure = MEASURE_WORDS.get(re.sub(r"[\s_-]+", "_", measure_text.casefold()))
        if measure is None:
            raise measure_at.error(f"{_MEASURE_EXPECTED}, found {measure_text!r}", value=measure_text,
                                   expected=_MEASURE_EXPECTED)
        raw_value = row.cells["value"]
        value_text, value_at = _text_cell(row, "value")
        try:
            value, reason, note = parse_value(raw_value, kpi, number_format=row.number_format, measure=measure)
        except ValueError as exc:
            if kpi is None:   # the code is the problem: without the KPI its unit, and so the value, is unknown
                raise (service_at if service is None else kpi_at).error(
                    f"{_unknown_text(service, service_text, kpi_text)}, so its value {value_text!r} cannot be read "
                    "(the KPI's unit decides how)", value=kpi_text,
                ) from None
            raise value_at.error(f"{exc} for KPI {kpi.code} ({kpi.unit}), found {value_text!r}", value=raw_value,
                                 expected=str(exc)) from None
        cell = value_at.cell if value_at.cell is not None else f"line {value_at.line}"
        if note:
            self.notes.append(f"{value_at.sheet + '!' if value_at.sheet else ''}{cell}: {note}")
        raw = RawRow(service_text, kpi_text, period_text, measure_text, raw_text(raw_value), note_text)
        return HistoryRecord(
            service_code=service.code if service is not None else norm_code(service_text),
            kpi_code=kpi.code if kpi is not None else norm_code(kpi_text),
            period=period,
            measure=measure,
            value=value,
            missing_reason=reason,
            note=note_text or None,
            sheet=value_at.sheet,
            cell=cell,
            raw=raw,
            known=kpi is not None,
        )


def _unknown_text(service: Any, service_text: str, kpi_text: str) -> str:
    if service is None:
        return f"unknown service code {service_text!r} (see config/services)"
    known = ", ".join(k.code for k in getattr(service, "kpis", None) or []) or "none configured"
    return f"unknown KPI code {kpi_text!r} for service {service.code} (known: {known})"


def read_history(path: Path, services: Mapping[str, Any]) -> HistoryFile:
    """Read a history file (CSV or workbook, by its suffix); ReturnParseError naming file, line (or sheet and
    cell) and column. ``services``: the configured services by code (:func:`returns.services.load_services`)."""
    suffix = path.suffix.casefold()
    if suffix in XLSX_SUFFIXES:
        rows, header_at, sheet = _xlsx_rows(path)
        layout = "xlsx"
    elif suffix in CSV_SUFFIXES:
        (rows, header_at), sheet = _csv_rows(path), None
        layout = "csv"
    else:
        raise Location(path).error(f"is a {path.suffix or 'suffix-less'} file: expected a .csv or .xlsx history file")
    if not rows:
        raise header_at.error("has a header but no rows: expected one row per KPI figure")
    reader = _Reader(services)
    records = tuple(reader.record(row) for row in rows)
    return HistoryFile(path, layout, sheet, records, tuple(reader.notes))


# staging ------------------------------------------------------------------------------------------

#: (service, kpi, period label, measure): how the warehouse keys a figure
FigureKey = tuple[str, str, str, str]


def in_history(record: HistoryRecord, as_of: FinancialQuarter) -> bool:
    """A figure belongs in a history imported as of ``as_of`` when its period is complete by then (a year at
    its Q4); targets may run ahead."""
    return record.measure == "target" or last_quarter_of(record.period) <= as_of


def _value(record: HistoryRecord) -> KpiValue:
    # An annual figure is staged in a space of its own where each year stands in as its Q1: lookups by
    # period (numerator and denominator of the same year) work, and the within-year checks of quarters
    # (a cumulative count's to-date, change on the previous quarter) do not apply to years.
    quarter = record.period.first_quarter if isinstance(record.period, FinancialYear) else record.period
    return KpiValue(record.kpi_code, quarter, record.measure, record.value, record.missing_reason, record.sheet,
                    record.cell, record.raw.value)


def _stand_in_label(label: str, annual: bool) -> str:
    return FinancialYear.parse(label).first_quarter.label if annual else label


def stage_history(
    history: HistoryFile,
    services: Mapping[str, Any],
    as_of: FinancialQuarter,
    held: Mapping[FigureKey, float | None] | None = None,
) -> pd.DataFrame:
    """The history's records as the frame ``provider_kpi_values`` checks: one row per record in file order,
    indexed by ``line N`` or ``sheet!cell``, the derived columns of :func:`stage_return`, ``note``, and
    ``period_in_return_year`` meaning "not after ``as_of``" (targets excepted). ``held``: figures the
    warehouse already holds for the file's services (the file's own figures win over them)."""
    groups: dict[tuple[str, int, bool], list[HistoryRecord]] = {}
    for r in history.records:
        annual = isinstance(r.period, FinancialYear)
        groups.setdefault((r.service_code, r.period.year, annual), []).append(r)

    # Every figure known for each service, in the label space of quarters or of years' stand-ins.
    known: dict[tuple[str, bool], dict[tuple[str, str, str], float | None]] = {}
    for (service, kpi, label, measure), value in (held or {}).items():
        annual = _YEAR.fullmatch(label) is not None
        known.setdefault((service, annual), {})[(kpi, _stand_in_label(label, annual), measure)] = value
    for r in history.records:
        annual = isinstance(r.period, FinancialYear)
        known.setdefault((r.service_code, annual), {})[(r.kpi_code, _value(r).period.label, r.measure)] = r.value

    frames = []
    for (service, _year, annual), records in groups.items():
        values = [_value(r) for r in records]
        parsed = ParsedReturn(history.path, service, max(v.period for v in values), history.layout, values)
        staged = stage_return(parsed, services, known.get((service, annual), {}))
        staged["period"] = [r.period_label for r in records]
        staged["note"] = pd.array([r.note for r in records], dtype="string")
        # The checks of a return's own period, in their history meaning (see in_history).
        fits = [in_history(r, as_of) for r in records]
        for column in PERIOD_COLUMNS:
            staged[column] = fits
        frames.append(staged)
    frame = pd.concat(frames)
    order = {r.source_cell: i for i, r in enumerate(history.records)}
    frame = frame.iloc[sorted(range(len(frame)), key=lambda i: order[frame.index[i]])]
    frame["return_period"] = as_of.label
    frame.index.name = "location"
    return frame


__all__ = [
    "HISTORY_COLUMNS",
    "FinancialYear",
    "HistoryFile",
    "HistoryRecord",
    "RawRow",
    "ReturnParseError",
    "in_history",
    "parse_history_period",
    "read_history",
    "stage_history",
]
