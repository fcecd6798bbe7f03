"""Read a provider's quarterly return (the XLSX template, or a long CSV) into checked KPI figures.

Two layouts:

``xlsx`` (``.xlsx``/``.xlsm``)
    the workbook from :mod:`public_health.returns.template`. Service code and period come from the
    Cover sheet; KPI rows are found by the KPI code in column A below the header row, which is
    found by its text (a provider may insert rows above it); value columns are found by their
    header text (``Q2 Actual``). Formulas are read as their saved results; a formula with no saved
    result is an error naming the cell.
``csv`` (long)
    header ``service,kpi,period,measure,value`` (any case, spaces trimmed, extra columns ignored,
    ``,`` or ``;`` delimited, UTF-8 with or without BOM, or Windows-1252).

Values (:func:`parse_value`): numbers; text numbers with thousands separators (``1,232``), stray and
non-breaking spaces; percentages as ``90%`` (text), 0.9 in a percentage-formatted cell, a bare
fraction ≤ 1 for a percent KPI (read as ×100, with a note) or 90; the missing words (any case)
blank, ``-``/``–``/``—`` (dash), ``n/a``/``na``/``#N/A`` (not_applicable), ``tbc``,
``not yet available``, ``redacted``, ``pending``, ``not recorded``/``data not recorded``: these give
no value and a missing reason, never 0. Anything else raises :class:`ReturnParseError` naming the
file, sheet and cell (or line and column) and the value found.

:func:`parse_return` never returns a half-parsed result: a :class:`ParsedReturn` or an exception.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from public_health.returns.template import (
    ACTIONS_SHEET,
    COMMENTS_SHEET,
    COVER_CELLS,
    COVER_LABELS,
    COVER_SHEET,
    KPI_HEADER_ROW,
    KPI_SHEET,
    MEASURES,
    normalise_quarter,
    split_quarter,
)

log = logging.getLogger(__name__)

XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)
CSV_COLUMNS = ("service", "kpi", "period", "measure", "value")
ALL_MEASURES = ("target", "actual", "actual_to_date", "numerator", "denominator")
FRAME_COLUMNS = (
    "service_code",
    "return_period",
    "kpi_code",
    "period",
    "measure",
    "value",
    "missing_reason",
    "sheet",
    "cell",
    "raw",
)
MISSING_REASONS = (
    "blank",
    "dash",
    "not_applicable",
    "tbc",
    "not_yet_available",
    "redacted",
    "pending",
    "not_recorded",
)
#: normalised text (casefolded, spaces collapsed) -> missing reason
MISSING_WORDS: dict[str, str] = {
    "": "blank",
    "-": "dash",
    "\u2013": "dash",
    "\u2014": "dash",
    "n/a": "not_applicable",
    "na": "not_applicable",
    "#n/a": "not_applicable",
    "tbc": "tbc",
    "not yet available": "not_yet_available",
    "redacted": "redacted",
    "pending": "pending",
    "not recorded": "not_recorded",
    "data not recorded": "not_recorded",
}
ACCEPTED_WORDS_TEXT = "(blank, -, n/a, tbc, Not yet available, Redacted)"
_EXCEL_ERRORS = ("#div/0!", "#name?", "#null!", "#num!", "#ref!", "#value!", "#getting_data", "#spill!", "#calc!")

_SPACES = re.compile(r"[\s\u00a0\u2007\u202f\u2009\u200a\u2002\u2003]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:([, ])\d{3})(?:\1\d{3})*(?:\.\d+)?$", re.ASCII)
_FILE_NAME = re.compile(
    r"^\s*(?P<code>[a-z0-9_ ]+?)\s*_\s*(?P<period>\d{4}\s*[-/]\s*\d{2}\s*-?\s*q\s*[1-4])(?:[\s_.()-].*)?$",
    re.IGNORECASE | re.ASCII,
)
_HEADER_SEARCH_ROWS = 30


class ReturnParseError(ValueError):
    """A return that cannot be read. ``str()`` names the file, sheet, cell (or line, column) and value."""

    def __init__(
        self,
        problem: str,
        *,
        file: Path | str | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = Path(file) if file is not None else None
        self.sheet = sheet
        self.cell = cell
        self.line = line
        self.column = column
        self.value = value
        self.expected = expected
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file.name)
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        if self.cell is not None:
            parts.append(f"cell {self.cell}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        where = ", ".join(parts)
        return f"{where}: {self.problem}" if where else self.problem


@dataclass
class KpiValue:
    """One figure: KPI × period × measure. ``value`` is None exactly when ``missing_reason`` is set.

    For the CSV layout ``sheet`` is None and ``cell`` is ``line <n>``.
    """

    kpi_code: str
    period: str
    measure: str
    value: float | None
    missing_reason: str | None
    sheet: str | None
    cell: str
    raw: str


@dataclass
class ParsedReturn:
    file: Path
    service_code: str
    period: str
    layout: str
    values: list[KpiValue] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cover: dict[str, Any] = field(default_factory=dict)  # submitted_by, submission_date, contact_email (xlsx)

    def frame(self) -> pd.DataFrame:
        """One row per :class:`KpiValue`, columns :data:`FRAME_COLUMNS`."""
        rows = [
            (
                self.service_code,
                self.period,
                v.kpi_code,
                v.period,
                v.measure,
                v.value,
                v.missing_reason,
                v.sheet,
                v.cell,
                v.raw,
            )
            for v in self.values
        ]
        df = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        df["value"] = df["value"].astype("float64")
        return df


# values -------------------------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    text = _INVISIBLE.sub("", text).replace("\u2212", "-")
    return _SPACES.sub(" ", text).strip()


def _is_percent_format(number_format: str | None) -> bool:
    if not number_format:
        return False
    unquoted = re.sub(r'"[^"]*"', "", number_format)
    unquoted = re.sub(r"\\.", "", unquoted)
    return "%" in unquoted


def _expected(kpi: Any) -> str:
    what = "a number, a percentage" if getattr(kpi, "unit", None) == "percent" else "a number"
    return f"expected {what} or one of {ACCEPTED_WORDS_TEXT}"


_NOT_FINITE = "expected a finite number (not NaN or infinity)"


def _finite(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(_NOT_FINITE)
    return value


def raw_text(raw: Any) -> str:
    """The original content as text (for ``KpiValue.raw`` and messages)."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, datetime | date | time):
        return raw.isoformat()
    return str(raw)


def parse_value(
    raw: Any, kpi: Any, *, number_format: str | None = None, measure: str | None = None
) -> tuple[float | None, str | None, str | None]:
    """Read one KPI figure: ``(value, missing_reason, note)``; ValueError saying what was expected.

    ``number_format`` is the cell's Excel number format: a number in a percentage format (``0%``)
    is a fraction (0.9 -> 90). For a percent KPI, a bare number between 0 and 1 is read as a
    fraction too, with a note. Counts must be whole numbers, except targets (a quarter's share of
    an annual target may be 18.75) and KPIs configured with ``decimals`` (monthly averages).
    """
    unit = getattr(kpi, "unit", None)
    note: str | None = None
    percent_sign = False
    if raw is None:
        return None, "blank", None
    if isinstance(raw, bool):
        raise ValueError(f"{_expected(kpi)}, not TRUE/FALSE")
    if isinstance(raw, datetime | date | time | timedelta):
        raise ValueError(f"{_expected(kpi)}, not a date or time")
    if isinstance(raw, int | float | Decimal):
        try:
            value = _finite(float(raw))
        except (OverflowError, ValueError, ArithmeticError):  # huge ints, Decimal('sNaN')
            raise ValueError(_NOT_FINITE) from None
        from_format = _is_percent_format(number_format)
    elif isinstance(raw, str):
        text = _clean_text(raw)
        key = text.casefold()
        if key in MISSING_WORDS:
            return None, MISSING_WORDS[key], None
        if key in _EXCEL_ERRORS:
            raise ValueError(f"{_expected(kpi)}, not the Excel error {text} (fix the formula)")
        number = text
        if number.endswith("%"):
            percent_sign = True
            number = number[:-1].rstrip()
        if unit == "currency" and number.lstrip("+-").startswith("£"):
            sign = "-" if number.startswith("-") else ""
            number = sign + number.lstrip("+-")[1:].lstrip()
        if _GROUPED.match(number):
            number = number.replace(",", "").replace(" ", "")
        if not _NUMBER.match(number):
            raise ValueError(_expected(kpi))
        try:
            value = _finite(float(number))
        except OverflowError:  # pragma: no cover - float() of text gives inf, not OverflowError
            raise ValueError(_NOT_FINITE) from None
        from_format = False
    else:
        raise ValueError(f"{_expected(kpi)}, not a {type(raw).__name__}")

    if percent_sign and unit != "percent":
        raise ValueError(f"expected a number without a % sign (this KPI's unit is {unit})")
    if unit == "percent":
        if from_format:
            value = round(_finite(value * 100), 9)
        elif not percent_sign and 0 < value <= 1:
            scaled = round(value * 100, 9)
            note = f"{raw_text(raw).strip()} read as {scaled:g}% (fraction for a percent KPI)"
            value = scaled
    elif from_format:
        note = f"{raw_text(raw)} is formatted as a percentage but the KPI's unit is {unit}: read as {value:g}"
    whole = unit == "count" and measure != "target" and not (getattr(kpi, "decimals", 0) or 0)
    if whole and not float(value).is_integer():
        raise ValueError("expected a whole number (a count cannot have decimals)")
    return float(value), None, note


_DATE_FORMATS = (
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %y",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
)
_MONTH_FORMATS = ("%b-%y", "%b %Y", "%B %Y", "%b-%Y", "%b %y")


def parse_date(raw: Any) -> tuple[date | None, str | None]:
    """A date cell or text (``12/10/2017``, ``12 Oct 2017``, ``Nov-17``) -> (date, note); ValueError."""
    if raw is None:
        return None, None
    if isinstance(raw, datetime):
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, bool):
        raise ValueError("expected a date like 12/10/2017, not TRUE/FALSE")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if math.isfinite(raw) and 20000 <= raw <= 80000:
            day = date(1899, 12, 30) + timedelta(days=int(raw))
            return day, f"{raw} read as the Excel date {day:%d/%m/%Y}"
        raise ValueError("expected a date like 12/10/2017")
    if not isinstance(raw, str):
        raise ValueError("expected a date like 12/10/2017")
    text = _clean_text(raw)
    if not text:
        return None, None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date(), None
        except ValueError:
            continue
    for fmt in _MONTH_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return day, f"{text!r} has no day: read as {day:%d/%m/%Y}"
    raise ValueError("expected a date like 12/10/2017 or 12 Oct 2017")


# shared checks ------------------------------------------------------------------------------------


def _norm_code(text: Any) -> str:
    return re.sub(r"\s+", "", _clean_text(str(text))).casefold() if text is not None else ""


def _norm_label(text: Any) -> str:
    return _clean_text(str(text)).casefold() if text is not None else ""


def _file_name_parts(path: Path) -> tuple[str, str] | None:
    """``sexual_health_2017-18-Q2_v2.xlsx`` -> (``sexual_health``, ``2017-18-Q2``), else None."""
    m = _FILE_NAME.match(path.stem)
    if not m:
        return None
    try:
        period = normalise_quarter(m.group("period"))
    except ValueError:
        return None
    return re.sub(r"\s+", "", m.group("code")).casefold(), period


def _find_service(code: Any, services: dict[str, Any]) -> Any | None:
    key = _norm_code(code)
    for svc_code, service in services.items():
        if _norm_code(svc_code) == key:
            return service
    return None


def _kpis_by_code(service: Any) -> dict[str, Any]:
    return {_norm_code(k.code): k for k in (getattr(service, "kpis", None) or [])}


def _expects_blank_record(kpi: Any, quarter_number: int, measure: str) -> bool:
    """Whether a blank cell of the return's own quarter is recorded as a missing figure."""
    frequency = getattr(kpi, "frequency", "quarterly") or "quarterly"
    if frequency == "half_yearly" and quarter_number not in (2, 4):
        return False
    if frequency == "annual" and quarter_number != 4:
        return False
    if measure == "target":
        return getattr(kpi, "target_kind", "none") != "none"
    if measure == "actual_to_date":
        return getattr(kpi, "target_kind", None) == "cumulative"
    return True


# xlsx ---------------------------------------------------------------------------------------------


class _Book:
    """Both views of a workbook: saved values and formulas."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: list[str] = []
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReturnParseError(f"cannot be read ({exc.strerror or exc})", file=path) from None
        try:
            from openpyxl import load_workbook

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.values = load_workbook(io.BytesIO(data), data_only=True)
                self.formulas = load_workbook(io.BytesIO(data), data_only=False)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a corrupt file
            log.info("%s is not a readable workbook: %s: %s", path, type(exc).__name__, exc)
            raise ReturnParseError(
                f"is not a readable workbook ({type(exc).__name__}: {str(exc)[:200]}): it may be corrupt, "
                "truncated or still being written; save it again from Excel as .xlsx",
                file=path,
            ) from None
        self._sheet_names = {self._norm_sheet(n): n for n in self.values.sheetnames}

    @staticmethod
    def _norm_sheet(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", name.casefold())

    def sheet(self, name: str) -> str:
        actual = self._sheet_names.get(self._norm_sheet(name))
        if actual is None:
            raise ReturnParseError(
                f"sheet {name!r} not found (the workbook has {', '.join(self.values.sheetnames) or 'no sheets'}): "
                "use the return template without renaming or deleting sheets",
                file=self.path,
            )
        if actual != name:
            self.notes.append(f"sheet {actual!r} read as {name!r}")
        return actual

    def max_row(self, sheet: str) -> int:
        return self.values[sheet].max_row

    def max_column(self, sheet: str) -> int:
        return self.values[sheet].max_column

    def read(self, sheet: str, row: int, col: int) -> tuple[Any, str | None, str]:
        """(saved value, number format, coordinate); a formula without a saved value raises."""
        cell = self.values[sheet].cell(row=row, column=col)
        coord = f"{_col_letter(col)}{row}"
        value = cell.value
        fcell = self.formulas[sheet].cell(row=row, column=col)
        formula = fcell.value
        is_formula = getattr(fcell, "data_type", None) == "f" or (
            formula is not None and not isinstance(formula, str | int | float | bool | datetime | date | time)
        )
        if is_formula:
            text = formula if isinstance(formula, str) else getattr(formula, "text", None) or str(formula)
            if value is None:
                raise ReturnParseError(
                    f"formula {text} has no saved value: open the file in Excel, let it calculate, save it again",
                    file=self.path,
                    sheet=sheet,
                    cell=coord,
                    value=text,
                )
            self.notes.append(f"{sheet}!{coord}: formula {text} read as its saved value {raw_text(value)}")
        number_format = getattr(cell, "number_format", None)
        if isinstance(value, str) and value.strip() == "" and is_formula:
            value = None
        return value, number_format, coord


def _col_letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


def _read_cover(book: _Book, services: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    sheet = book.sheet(COVER_SHEET)
    label_rows: dict[str, int] = {}
    for row in range(1, min(book.max_row(sheet), _HEADER_SEARCH_ROWS) + 1):
        label = _norm_label(book.read(sheet, row, 1)[0])
        for key, text in COVER_LABELS.items():
            if label == text.casefold() and key not in label_rows:
                label_rows[key] = row
    cover: dict[str, tuple[Any, str]] = {}
    for key, ref in COVER_CELLS.items():
        row = label_rows.get(key, int(ref[1:]))
        value, _fmt, coord = book.read(sheet, row, 2)
        cover[key] = (value, coord)

    code_raw, code_cell = cover["service_code"]
    if code_raw is None or not _clean_text(raw_text(code_raw)):
        raise ReturnParseError("the service code is blank", file=book.path, sheet=sheet, cell=code_cell)
    service = _find_service(code_raw, services)
    if service is None:
        known = ", ".join(sorted(services)) or "none configured"
        raise ReturnParseError(
            f"unknown service code {raw_text(code_raw)!r} (known: {known})",
            file=book.path,
            sheet=sheet,
            cell=code_cell,
            value=code_raw,
            expected="a configured service code",
        )
    period_raw, period_cell = cover["period"]
    try:
        period = normalise_quarter(raw_text(period_raw))
    except ValueError:
        raise ReturnParseError(
            f"expected a financial-year quarter like 2017-18-Q2, found {raw_text(period_raw)!r}",
            file=book.path,
            sheet=sheet,
            cell=period_cell,
            value=period_raw,
            expected="a quarter like 2017-18-Q2",
        ) from None
    _check_file_name(book.path, service.code, period, sheet=sheet, code_cell=code_cell, period_cell=period_cell)

    extra: dict[str, Any] = {}
    for key in ("submitted_by", "contact_email"):
        value, _coord = cover[key]
        extra[key] = _clean_text(raw_text(value)) or None
    value, coord = cover["submission_date"]
    try:
        extra["submission_date"], note = parse_date(value)
    except ValueError as exc:
        raise ReturnParseError(
            f"{exc}, found {raw_text(value)!r}",
            file=book.path,
            sheet=sheet,
            cell=coord,
            value=value,
            expected="a date",
        ) from None
    if note:
        book.notes.append(f"{sheet}!{coord}: {note}")
    return service, period, extra


def _check_file_name(
    path: Path,
    code: str,
    period: str,
    *,
    sheet: str | None,
    code_cell: str | None,
    period_cell: str | None,
) -> None:
    parts = _file_name_parts(path)
    if parts is None:
        return
    name_code, name_period = parts
    if name_code != _norm_code(code):
        raise ReturnParseError(
            f"the file name says service {name_code!r} but the return is for {code!r}: rename the file or fix the "
            "service code",
            file=path,
            sheet=sheet,
            cell=code_cell,
            value=code,
        )
    if name_period != period:
        raise ReturnParseError(
            f"the file name says period {name_period} but the return is for {period}: rename the file or fix the "
            "period",
            file=path,
            sheet=sheet,
            cell=period_cell,
            value=period,
        )


_HEADER_RE = re.compile(r"^q([1-4])(?:\s+\d{4}\s*[-/]\s*\d{2})?\s+(target|actual to date|actual ytd|actual)$")


def _find_kpi_header(book: _Book, sheet: str) -> tuple[int, dict[tuple[int, str], int]]:
    """(header row, {(quarter, measure): column}), header found by its text."""
    candidates = [KPI_HEADER_ROW] + [
        r for r in range(1, min(book.max_row(sheet), _HEADER_SEARCH_ROWS) + 1) if r != KPI_HEADER_ROW
    ]
    for row in candidates:
        if _norm_label(book.read(sheet, row, 1)[0]) not in ("kpi code", "kpi", "code"):
            continue
        columns: dict[tuple[int, str], int] = {}
        for col in range(2, book.max_column(sheet) + 1):
            label = _norm_label(book.read(sheet, row, col)[0])
            m = _HEADER_RE.match(label)
            if m:
                measure = {"target": "target", "actual": "actual"}.get(m.group(2), "actual_to_date")
                columns.setdefault((int(m.group(1)), measure), col)
        missing = [f"Q{q} {m.replace('_', ' ')}" for q in range(1, 5) for m in MEASURES if (q, m) not in columns]
        if missing:
            raise ReturnParseError(
                f"header row {row} lacks the column(s) {', '.join(missing)}: use the return template's columns",
                file=book.path,
                sheet=sheet,
                cell=f"A{row}",
            )
        return row, columns
    raise ReturnParseError(
        f"no header row with 'KPI code' in column A in the first {_HEADER_SEARCH_ROWS} rows: use the return template",
        file=book.path,
        sheet=sheet,
    )


def _read_kpis(book: _Book, service: Any, period: str) -> list[KpiValue]:
    sheet = book.sheet(KPI_SHEET)
    header_row, columns = _find_kpi_header(book, sheet)
    fy, return_q = split_quarter(period)
    kpis = _kpis_by_code(service)
    rows: dict[str, int] = {}
    for row in range(header_row + 1, book.max_row(sheet) + 1):
        raw, _fmt, coord = book.read(sheet, row, 1)
        key = _norm_code(raw_text(raw))
        if not key:
            continue
        if key not in kpis:
            raise ReturnParseError(
                f"unknown KPI code {raw_text(raw)!r} for service {service.code} (known: "
                f"{', '.join(k.code for k in kpis.values())})",
                file=book.path,
                sheet=sheet,
                cell=coord,
                value=raw,
                expected="a KPI code of the service",
            )
        if key in rows:
            raise ReturnParseError(
                f"KPI {kpis[key].code} appears twice (rows {rows[key]} and {row})",
                file=book.path,
                sheet=sheet,
                cell=coord,
                value=raw,
            )
        rows[key] = row
    absent = [k.code for key, k in kpis.items() if key not in rows]
    if absent:
        raise ReturnParseError(
            f"no row for KPI(s) {', '.join(absent)}: put the KPI code back in column A (use the return template)",
            file=book.path,
            sheet=sheet,
        )

    values: list[KpiValue] = []
    for key, row in rows.items():
        kpi = kpis[key]
        for q in range(1, 5):
            for measure in MEASURES:
                raw, fmt, coord = book.read(sheet, row, columns[(q, measure)])
                try:
                    value, reason, note = parse_value(raw, kpi, number_format=fmt, measure=measure)
                except ValueError as exc:
                    raise ReturnParseError(
                        f"{exc} for KPI {kpi.code} ({kpi.unit}), found {raw_text(raw)!r}",
                        file=book.path,
                        sheet=sheet,
                        cell=coord,
                        value=raw,
                        expected=str(exc),
                    ) from None
                if reason == "blank":
                    if q != return_q or not _expects_blank_record(kpi, q, measure):
                        continue
                elif q > return_q and measure != "target":
                    raise ReturnParseError(
                        f"a figure for Q{q} ({measure.replace('_', ' ')}) in a return for {period}: "
                        f"figures for later quarters are not accepted, found {raw_text(raw)!r}",
                        file=book.path,
                        sheet=sheet,
                        cell=coord,
                        value=raw,
                    )
                if note:
                    book.notes.append(f"{coord}: {note}")
                if measure == "actual_to_date" and reason is None and getattr(kpi, "target_kind", None) != "cumulative":
                    book.notes.append(f"{coord}: actual to date given for {kpi.code}, whose target is not cumulative")
                values.append(KpiValue(kpi.code, f"{fy}-Q{q}", measure, value, reason, sheet, coord, raw_text(raw)))
    return values


def _find_list_header(book: _Book, sheet: str, first: str) -> tuple[int, dict[str, int]]:
    for row in range(1, min(book.max_row(sheet), _HEADER_SEARCH_ROWS) + 1):
        if _norm_label(book.read(sheet, row, 1)[0]) == first:
            labels = {_norm_label(book.read(sheet, row, col)[0]): col for col in range(1, book.max_column(sheet) + 1)}
            return row, labels
    raise ReturnParseError(
        f"no header row with {first.capitalize()!r} in column A: use the return template",
        file=book.path,
        sheet=sheet,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    text = _clean_text(value.isoformat() if isinstance(value, date) else raw_text(value))
    return text or None


def _read_list(
    book: _Book, sheet_name: str, text_key: str, fields: list[tuple[str, tuple[str, ...], bool]]
) -> list[dict[str, Any]]:
    """Rows below the header; ``fields``: (key, header labels, is_date), the first being the text."""
    sheet = book.sheet(sheet_name)
    header_row, labels = _find_list_header(book, sheet, fields[0][1][0])
    columns: dict[str, int] = {}
    for key, names, _is_date in fields:
        col = next((labels[n] for n in names if n in labels), None)
        if col is None:
            raise ReturnParseError(
                f"header row {header_row} has no {names[0].capitalize()!r} column",
                file=book.path,
                sheet=sheet,
                cell=f"A{header_row}",
            )
        columns[key] = col
    items = []
    for row in range(header_row + 1, book.max_row(sheet) + 1):
        item: dict[str, Any] = {}
        for key, _names, is_date in fields:
            raw, _fmt, coord = book.read(sheet, row, columns[key])
            if is_date:
                try:
                    item[key], note = parse_date(raw)
                except ValueError as exc:
                    raise ReturnParseError(
                        f"{exc}, found {raw_text(raw)!r}",
                        file=book.path,
                        sheet=sheet,
                        cell=coord,
                        value=raw,
                        expected="a date",
                    ) from None
                if note:
                    book.notes.append(f"{sheet}!{coord}: {note}")
            else:
                item[key] = _text(raw)
        if all(v is None for v in item.values()):
            continue
        if item[text_key] is None:
            coord = f"{_col_letter(columns[text_key])}{row}"
            raise ReturnParseError(
                f"row {row} has a {' and '.join(k.replace('_', ' ') for k, v in item.items() if v is not None)} "
                f"but no {text_key}: fill in the {text_key} or clear the row",
                file=book.path,
                sheet=sheet,
                cell=coord,
            )
        item["sheet"] = sheet
        item["row"] = row
        items.append(item)
    return items


def _parse_xlsx(path: Path, services: dict[str, Any]) -> ParsedReturn:
    book = _Book(path)
    service, period, cover = _read_cover(book, services)
    values = _read_kpis(book, service, period)
    comments = _read_list(
        book,
        COMMENTS_SHEET,
        "comment",
        [("comment", ("comment", "comments"), False), ("lead", ("lead",), False), ("date", ("date",), True)],
    )
    actions = _read_list(
        book,
        ACTIONS_SHEET,
        "action",
        [("action", ("action", "actions"), False), ("action_by", ("action by (date)", "action by"), True)],
    )
    return ParsedReturn(path, service.code, period, "xlsx", values, comments, actions, book.notes, cover)


# csv ----------------------------------------------------------------------------------------------


def _decode(path: Path, data: bytes, notes: list[str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ReturnParseError("is not UTF-8 or Windows-1252 text: save it as CSV UTF-8", file=path) from None
    notes.append("read as Windows-1252 text (not UTF-8)")
    return text


def _parse_csv(path: Path, services: dict[str, Any]) -> ParsedReturn:
    notes: list[str] = []
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReturnParseError(f"cannot be read ({exc.strerror or exc})", file=path) from None
    if b"\x00" in data:
        raise ReturnParseError("is not a text CSV file (it contains NUL bytes)", file=path)
    text = _decode(path, data, notes)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        rows = list(_csv_rows(text, delimiter))
    except csv.Error as exc:
        raise ReturnParseError(f"is not a readable CSV file ({exc})", file=path) from None
    if not rows:
        raise ReturnParseError("is empty: expected a header service,kpi,period,measure,value", file=path, line=1)
    header_line, header = rows[0]
    names = [_norm_label(h) for h in header]
    index: dict[str, int] = {}
    for col in CSV_COLUMNS:
        if col not in names:
            raise ReturnParseError(
                f"the header has no {col!r} column (found {', '.join(repr(h) for h in header)}): expected "
                "service,kpi,period,measure,value",
                file=path,
                line=header_line,
            )
        index[col] = names.index(col)

    parsed: list[tuple[int, Any, str, str, str, Any]] = []  # line, kpi, period, measure, raw
    service: Any = None
    service_line = 0
    fy: str | None = None
    seen: dict[tuple[str, str, str], int] = {}
    for line, fields in rows[1:]:
        if not any(f.strip() for f in fields):
            continue
        if len(fields) < len(header):
            raise ReturnParseError(
                f"expected {len(header)} fields like the header, found {len(fields)}",
                file=path,
                line=line,
            )
        get = {col: fields[i] for col, i in index.items()}
        svc = _find_service(get["service"], services)
        if svc is None:
            known = ", ".join(sorted(services)) or "none configured"
            raise ReturnParseError(
                f"unknown service code {get['service']!r} (known: {known})",
                file=path,
                line=line,
                column="service",
                value=get["service"],
            )
        if service is None:
            service, service_line = svc, line
        elif svc is not service:
            raise ReturnParseError(
                f"service {svc.code!r} differs from {service.code!r} on line {service_line}: one return holds one "
                "service",
                file=path,
                line=line,
                column="service",
                value=get["service"],
            )
        kpi = _kpis_by_code(service).get(_norm_code(get["kpi"]))
        if kpi is None:
            raise ReturnParseError(
                f"unknown KPI code {get['kpi']!r} for service {service.code}",
                file=path,
                line=line,
                column="kpi",
                value=get["kpi"],
            )
        try:
            period = normalise_quarter(get["period"])
        except ValueError:
            raise ReturnParseError(
                f"expected a financial-year quarter like 2017-18-Q2, found {get['period']!r}",
                file=path,
                line=line,
                column="period",
                value=get["period"],
            ) from None
        if fy is None:
            fy = period[:7]
        elif period[:7] != fy:
            raise ReturnParseError(
                f"period {period} is not in financial year {fy} like the earlier rows: one return holds one quarter "
                "(and earlier quarters of its year)",
                file=path,
                line=line,
                column="period",
                value=get["period"],
            )
        measure = re.sub(r"[\s-]+", "_", _norm_label(get["measure"]))
        if measure not in ALL_MEASURES:
            raise ReturnParseError(
                f"expected a measure of {', '.join(ALL_MEASURES)}, found {get['measure']!r}",
                file=path,
                line=line,
                column="measure",
                value=get["measure"],
            )
        key = (kpi.code, period, measure)
        if key in seen:
            raise ReturnParseError(
                f"{kpi.code} {period} {measure} is given twice (lines {seen[key]} and {line})",
                file=path,
                line=line,
                column="kpi",
                value=get["kpi"],
            )
        seen[key] = line
        parsed.append((line, kpi, period, measure, get["value"]))
    if service is None:
        raise ReturnParseError("has a header but no rows", file=path, line=header_line + 1)

    return_period = max(p for _l, _k, p, _m, _r in parsed)
    name_parts = _file_name_parts(path)
    if name_parts is not None:
        name_code, name_period = name_parts
        if name_code != _norm_code(service.code):
            raise ReturnParseError(
                f"the file name says service {name_code!r} but the rows are for {service.code!r}: rename the file "
                "or fix the service column",
                file=path,
                line=service_line,
                column="service",
                value=service.code,
            )
        if name_period[:7] != fy or return_period > name_period:
            line = next(ln for ln, _k, p, _m, _r in parsed if p == return_period)
            raise ReturnParseError(
                f"the file name says period {name_period} but the rows run to {return_period}: rename the file or "
                "fix the period column",
                file=path,
                line=line,
                column="period",
                value=return_period,
            )
        return_period = name_period

    values: list[KpiValue] = []
    for line, kpi, period, measure, raw in parsed:
        try:
            value, reason, note = parse_value(raw, kpi, measure=measure)
        except ValueError as exc:
            raise ReturnParseError(
                f"{exc} for KPI {kpi.code} ({kpi.unit}), found {raw!r}",
                file=path,
                line=line,
                column="value",
                value=raw,
                expected=str(exc),
            ) from None
        if note:
            notes.append(f"line {line}: {note}")
        values.append(KpiValue(kpi.code, period, measure, value, reason, None, f"line {line}", raw))
    return ParsedReturn(path, service.code, return_period, "csv", values, [], [], notes)


def _csv_rows(text: str, delimiter: str) -> Any:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for fields in reader:
        yield start, [f.strip() for f in fields]
        start = reader.line_num + 1


# entry point --------------------------------------------------------------------------------------


def parse_return(path: Path, services: dict[str, Any]) -> ParsedReturn:
    """Parse one return file (``.xlsx``/``.xlsm`` template, or long ``.csv``) against the configured services.

    Raises :class:`ReturnParseError` naming the file and, where known, the sheet and cell (or line
    and column) and the value; never returns a partial result.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        result = _parse_xlsx(path, services)
    elif suffix in CSV_SUFFIXES:
        result = _parse_csv(path, services)
    elif suffix == ".xls":
        raise ReturnParseError("is an old-style .xls workbook: open it in Excel and save it as .xlsx", file=path)
    else:
        raise ReturnParseError(
            f"has an unsupported file type {suffix or '(none)'!r}: expected .xlsx, .xlsm or .csv", file=path
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
