"""The cell and value rules both return readers share, and the records they produce.

Values (:func:`parse_value`): numbers; text numbers with thousands separators (``1,232``), stray and
non-breaking spaces; percentages as ``90%`` (text), 0.9 in a percentage-formatted cell, a bare
fraction ≤ 1 for a percent KPI (read as ×100, with a note) or 90; the missing words (any case)
blank, ``-``/``–``/``—`` (dash), ``n/a``/``na``/``#N/A`` (not_applicable), ``tbc``,
``not yet available``, ``redacted``, ``pending``, ``not recorded``/``data not recorded``: these give
no value and a missing reason, never 0. Anything else raises :class:`ReturnParseError` naming the
file, sheet and cell (or line and column) and the value found.

The readers (:mod:`public_health.returns.xlsx_reader`, :mod:`public_health.returns.csv_reader`)
find the figures; the checks they have in common live here, written once: reading a figure into a
:class:`KpiValue` (:func:`read_figure`), the service code (:func:`service_for`), the quarter
(:func:`read_quarter`) and the file name (:func:`check_file_name`).

A quarter a provider typed (the Cover's period cell, a CSV row's period, the file name) is read once,
where it is found, into a :class:`~public_health.periods.FinancialQuarter`; the records carry the object
and :meth:`ParsedReturn.frame` writes its label.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from public_health.periods import FinancialQuarter

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


@dataclass(frozen=True)
class Location:
    """Where in a return something was found: the file, then sheet and cell (XLSX) or line and column (CSV)."""

    file: Path | None = None
    sheet: str | None = None
    cell: str | None = None
    line: int | None = None
    column: str | None = None

    def at(self, **fields: Any) -> Location:
        """The same place, narrowed: ``where.at(column="kpi")``."""
        return replace(self, **fields)

    def error(self, problem: str, *, value: Any = None, expected: str | None = None) -> ReturnParseError:
        """A :class:`ReturnParseError` at this place."""
        return ReturnParseError(problem, self, value=value, expected=expected)


class ReturnParseError(ValueError):
    """A return that cannot be read. ``str()`` names the file, sheet, cell (or line, column) and value."""

    def __init__(
        self, problem: str, where: Location | None = None, *, value: Any = None, expected: str | None = None
    ) -> None:
        where = where if where is not None else Location()
        self.problem = problem
        self.where = where
        self.file = Path(where.file) if where.file is not None else None
        self.sheet = where.sheet
        self.cell = where.cell
        self.line = where.line
        self.column = where.column
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
    """One figure: KPI × quarter × measure. ``value`` is None exactly when ``missing_reason`` is set.

    For the CSV layout ``sheet`` is None and ``cell`` is ``line <n>``.
    """

    kpi_code: str
    period: FinancialQuarter
    measure: str
    value: float | None
    missing_reason: str | None
    sheet: str | None
    cell: str
    raw: str


@dataclass
class ParsedReturn:
    """A return read whole: its service, the quarter it is for (``period``), layout and figures."""

    file: Path
    service_code: str
    period: FinancialQuarter
    layout: str
    values: list[KpiValue] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cover: dict[str, Any] = field(default_factory=dict)  # submitted_by, submission_date, contact_email (xlsx)

    def frame(self) -> pd.DataFrame:
        """One row per :class:`KpiValue` (in order), columns :data:`FRAME_COLUMNS`; ``return_period`` and
        ``period`` hold quarter labels (``2017-18-Q2``), as the warehouse keys them."""
        return_period = self.period.label
        rows = [
            (
                self.service_code,
                return_period,
                v.kpi_code,
                v.period.label,
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


def clean_text(text: str) -> str:
    """Invisible characters dropped, a minus sign read as ``-``, runs of any kind of space as one space, trimmed."""
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
        text = clean_text(raw)
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
    text = clean_text(raw)
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


# codes, labels, file names ------------------------------------------------------------------------


def norm_code(text: Any) -> str:
    """A code for comparing: cleaned, all spaces dropped, casefolded (None -> ``""``)."""
    return re.sub(r"\s+", "", clean_text(str(text))).casefold() if text is not None else ""


def norm_label(text: Any) -> str:
    """A label or header for comparing: cleaned and casefolded (None -> ``""``)."""
    return clean_text(str(text)).casefold() if text is not None else ""


def file_name_parts(path: Path) -> tuple[str, FinancialQuarter] | None:
    """``sexual_health_2017-18-Q2_v2.xlsx`` -> (``sexual_health``, ``FinancialQuarter(2017, 2)``), else None."""
    m = _FILE_NAME.match(path.stem)
    if not m:
        return None
    try:
        quarter = FinancialQuarter.from_typed(m.group("period"))
    except ValueError:  # PeriodParseError: e.g. 2017-19-Q2, no such quarter
        return None
    return re.sub(r"\s+", "", m.group("code")).casefold(), quarter


def find_service(code: Any, services: dict[str, Any]) -> Any | None:
    """The configured service whose code matches ``code`` (any case, spaces ignored), else None."""
    key = norm_code(code)
    for svc_code, service in services.items():
        if norm_code(svc_code) == key:
            return service
    return None


def kpis_by_code(service: Any) -> dict[str, Any]:
    """The service's KPIs by normalised code."""
    return {norm_code(k.code): k for k in (getattr(service, "kpis", None) or [])}


# checks both readers make -------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes:
    """The file's content; ReturnParseError when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReturnParseError(f"cannot be read ({exc.strerror or exc})", Location(path)) from None


def service_for(code: Any, services: dict[str, Any], where: Location, *, expected: str | None = None) -> Any:
    """The configured service ``code`` names; ReturnParseError at ``where`` listing the known codes."""
    service = find_service(code, services)
    if service is None:
        known = ", ".join(sorted(services)) or "none configured"
        raise where.error(f"unknown service code {raw_text(code)!r} (known: {known})", value=code, expected=expected)
    return service


def read_quarter(raw: Any, where: Location, *, expected: str | None = None) -> FinancialQuarter:
    """``raw``, a quarter as a person typed it (``2017-18-Q2``, ``2017/18 q2``), as a FinancialQuarter;
    ReturnParseError at ``where``."""
    try:
        return FinancialQuarter.from_typed(raw_text(raw))
    except ValueError:  # PeriodParseError
        raise where.error(
            f"expected a financial-year quarter like 2017-18-Q2, found {raw_text(raw)!r}", value=raw, expected=expected
        ) from None


@dataclass(frozen=True)
class RawFigure:
    """One figure as found in a return, before it is read: KPI × quarter × measure, content and place."""

    kpi: Any
    period: FinancialQuarter
    measure: str
    raw: Any
    at: Location
    number_format: str | None = None


def read_figure(found: RawFigure, notes: list[str]) -> KpiValue:
    """Read one figure (:func:`parse_value`) into a :class:`KpiValue`; a note goes to ``notes``.

    The value's ``sheet`` and ``cell`` are those of ``found.at``; where there is no cell (CSV),
    ``cell`` is ``line <n>``. ReturnParseError at ``found.at`` for a value that cannot be read.
    """
    kpi, raw, at = found.kpi, found.raw, found.at
    try:
        value, reason, note = parse_value(raw, kpi, number_format=found.number_format, measure=found.measure)
    except ValueError as exc:
        raise at.error(
            f"{exc} for KPI {kpi.code} ({kpi.unit}), found {raw_text(raw)!r}", value=raw, expected=str(exc)
        ) from None
    cell = at.cell if at.cell is not None else f"line {at.line}"
    if note:
        notes.append(f"{cell}: {note}")
    return KpiValue(kpi.code, found.period, found.measure, value, reason, at.sheet, cell, raw_text(raw))


@dataclass(frozen=True)
class NameCheck:
    """What a return says about itself, to hold against its file name (``sexual_health_2017-18-Q2_v2.xlsx``).

    ``rows`` (the CSV layout): ``period`` is the latest quarter of the rows, which may stop before
    the quarter the name gives but not run past it or leave its financial year; otherwise the
    period must be the name's. The file is ``service_at.file``.
    """

    service_code: str
    period: FinancialQuarter
    service_at: Location
    period_at: Location
    rows: bool = False


#: rows? -> (what the service is, the field to fix, what the period is, the field to fix), for the messages
_NAME_WORDS = {
    False: ("the return is for", "service code", "the return is for", "period"),
    True: ("the rows are for", "service column", "the rows run to", "period column"),
}


def check_file_name(claim: NameCheck) -> FinancialQuarter:
    """The return's period: the file name's, once the name agrees with ``claim``; ``claim.period`` when the
    name does not follow ``<service>_<quarter>``. ReturnParseError when service or period disagree."""
    path = claim.service_at.file
    parts = file_name_parts(path) if path is not None else None
    if parts is None:
        return claim.period
    name_code, name_period = parts
    service_is, service_field, period_is, period_field = _NAME_WORDS[claim.rows]
    if name_code != norm_code(claim.service_code):
        raise claim.service_at.error(
            f"the file name says service {name_code!r} but {service_is} {claim.service_code!r}: rename the file or "
            f"fix the {service_field}",
            value=claim.service_code,
        )
    claimed = claim.period
    if claim.rows:
        disagree = claimed.year != name_period.year or claimed > name_period
    else:
        disagree = claimed != name_period
    if disagree:
        raise claim.period_at.error(
            f"the file name says period {name_period.label} but {period_is} {claimed.label}: rename the file or "
            f"fix the {period_field}",
            value=claimed.label,
        )
    return name_period
