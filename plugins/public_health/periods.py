"""Time periods: as Fingertips and the returns publish them, and the financial quarter every layer passes.

``Period``: labels kept exactly as published (``2017/18``, ``2015 - 17``, ``2017/18 Q2`` ...), each with
its start and end dates, granularity and a sortable key.

``FinancialQuarter``: the value type for "which quarter" (April to March years). A DAG parses its
``quarter`` param, or derives it from its run's data interval, once; every layer below takes the
object and never re-parses a string or reads today's date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any


class PeriodParseError(ValueError):
    """A period label in none of the known forms."""


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date
    granularity: str
    years: int | None = None

    @property
    def sort_key(self) -> int:
        """Chronological order: by end date, then longer periods after shorter ones."""
        return int(self.end.strftime("%Y%m%d"))


_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


def _full_year(short: str, base: int) -> int:
    """'18' after 2017 -> 2018; '00' after 1999 -> 2000."""
    year = (base // 100) * 100 + int(short)
    return year + 100 if year < base else year


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\d{4})$"), "calendar_year"),
    (re.compile(r"^(\d{4})/(\d{2})$"), "financial_year"),
    (re.compile(r"^(\d{4})/(\d{2}) Q([1-4])$"), "fy_quarter"),
    (re.compile(r"^(\d{4})-(\d{2})-Q([1-4])$"), "fy_quarter"),
    (re.compile(r"^(\d{4}) Q([1-4])$"), "cal_quarter"),
    (re.compile(r"^(\d{4}) ?- ?(\d{2})$"), "rolling_years"),
    (re.compile(r"^(\d{4})/(\d{2}) ?- ?(\d{2})/(\d{2})$"), "rolling_financial_years"),
    (re.compile(r"^([A-Za-z]{3}) (\d{4})$"), "month"),
]


@lru_cache(maxsize=65536)
def parse_period(label: str) -> Period:
    """Parse a published period label, or raise PeriodParseError saying which forms are known."""
    text = " ".join(str(label).split())
    for pattern, kind in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        g = m.groups()
        if kind == "calendar_year":
            y = int(g[0])
            return Period(label, date(y, 1, 1), date(y, 12, 31), "calendar_year", 1)
        if kind == "financial_year":
            y = int(g[0])
            if _full_year(g[1], y) != y + 1:
                break
            return Period(label, date(y, 4, 1), date(y + 1, 3, 31), "financial_year", 1)
        if kind == "fy_quarter":
            y, q = int(g[0]), int(g[2])
            if _full_year(g[1], y) != y + 1:
                break
            first_month = 4 + 3 * (q - 1)
            year = y if first_month <= 12 else y + 1
            first_month = first_month if first_month <= 12 else first_month - 12
            return Period(label, date(year, first_month, 1), _month_end(year, first_month + 2), "quarter")
        if kind == "cal_quarter":
            y, q = int(g[0]), int(g[1])
            return Period(label, date(y, 3 * q - 2, 1), _month_end(y, 3 * q), "quarter")
        if kind == "rolling_years":
            y1 = int(g[0])
            y2 = _full_year(g[1], y1)
            if not 0 < y2 - y1 <= 20:
                break
            return Period(label, date(y1, 1, 1), date(y2, 12, 31), "rolling_years", y2 - y1 + 1)
        if kind == "rolling_financial_years":
            y1 = int(g[0])
            y2 = _full_year(g[2], y1)
            if _full_year(g[1], y1) != y1 + 1 or _full_year(g[3], y2) != y2 + 1 or not 0 < y2 - y1 <= 20:
                break
            return Period(label, date(y1, 4, 1), date(y2 + 1, 3, 31), "rolling_financial_years", y2 - y1 + 1)
        if kind == "month":
            month = _MONTHS.get(g[0].lower())
            if month is None:
                break
            y = int(g[1])
            return Period(label, date(y, month, 1), _month_end(y, month), "month")
    raise PeriodParseError(
        f"period {label!r} is not a known form: expected e.g. 2017 (calendar year), 2017/18 (financial "
        "year), 2017/18 Q2 or 2017-18-Q2 (financial-year quarter), 2017 Q2, 2015 - 17 (rolling years), "
        "2014/15 - 16/17 (rolling financial years) or Jan 2017"
    )


def try_parse_period(label: str) -> Period | None:
    try:
        return parse_period(label)
    except PeriodParseError:
        return None


_FQ_FORMS = (
    re.compile(r"(?P<y1>\d{4})-(?P<y2>\d{2})-Q(?P<q>[1-4])"),  # 2017-18-Q2 (the label)
    re.compile(r"(?P<y1>\d{4})/(?P<y2>\d{2}) Q(?P<q>[1-4])"),  # 2017/18 Q2 (as Fingertips and returns print it)
    re.compile(r"Q(?P<q>[1-4]) (?P<y1>\d{4})[-/](?P<y2>\d{2})"),  # Q2 2017-18, Q2 2017/18 (report headings)
)
_FQ_EXPECTED = "expected a financial-year quarter like 2017-18-Q2, 2017/18 Q2 or Q2 2017-18"
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


@dataclass(frozen=True, order=True)
class FinancialQuarter:
    """A quarter of an April-to-March financial year: ``FinancialQuarter(2017, 2)`` is July-September 2017.

    ``year`` is the financial year's first calendar year; ``number`` is 1-4. Ordering is chronological.
    """

    year: int
    number: int

    def __post_init__(self) -> None:
        if not isinstance(self.year, int) or not isinstance(self.number, int) or isinstance(self.year, bool):
            raise PeriodParseError(f"FinancialQuarter({self.year!r}, {self.number!r}): year and number are integers")
        if not 1 <= self.number <= 4:
            raise PeriodParseError(f"FinancialQuarter({self.year!r}, {self.number!r}): quarter number is 1 to 4")
        if not 1900 <= self.year <= 2998:
            raise PeriodParseError(f"FinancialQuarter({self.year!r}, {self.number!r}): year out of range 1900-2998")

    # -- making one ------------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> FinancialQuarter:
        """``2017-18-Q2``, ``2017/18 Q2`` or ``Q2 2017-18`` exactly; anything else (even a trailing space or
        newline) raises PeriodParseError naming the text and the forms expected."""
        if isinstance(text, FinancialQuarter):
            return text
        if not isinstance(text, str):
            raise PeriodParseError(f"{text!r} is not a financial-year quarter: {_FQ_EXPECTED}")
        for form in _FQ_FORMS:
            m = form.fullmatch(text)
            if m is None:
                continue
            y1 = int(m["y1"])
            if (y1 + 1) % 100 != int(m["y2"]):
                raise PeriodParseError(
                    f"{text!r} is not a financial-year quarter: {m['y1']} is followed by {m['y2']}, "
                    f"not {(y1 + 1) % 100:02d} ({_FQ_EXPECTED})"
                )
            return cls(y1, int(m["q"]))
        raise PeriodParseError(f"{text!r} is not a financial-year quarter: {_FQ_EXPECTED}")

    @classmethod
    def from_typed(cls, text: Any) -> FinancialQuarter:
        """A quarter as a person typed it into a cell or file name: case, spaces and ``/`` or ``-`` are
        forgiven (``2017/18 q2``, ``2017-18 Q2``, ``2017 - 18 - Q2``); the year pair and quarter are not."""
        folded = re.sub(r"\s+", "", str(text)).upper().replace("/", "-")
        m = re.fullmatch(r"(\d{4})-(\d{2})-?Q([1-4])", folded) or re.fullmatch(r"Q([1-4])(\d{4})-(\d{2})", folded)
        if m is None:
            raise PeriodParseError(f"{text!r} is not a financial-year quarter: {_FQ_EXPECTED}")
        y1, y2, q = (m.group(1), m.group(2), m.group(3)) if folded[0] != "Q" else (m.group(2), m.group(3), m.group(1))
        return cls.parse(f"{y1}-{y2}-Q{q}")

    @classmethod
    def containing(cls, day: date) -> FinancialQuarter:
        """The quarter a date falls in."""
        year = day.year if day.month >= 4 else day.year - 1
        return cls(year, (day.month - 4) % 12 // 3 + 1)

    @classmethod
    def last_ended(cls, as_of: date) -> FinancialQuarter:
        """The latest quarter that ended before ``as_of`` (on 2017-10-01 and 2017-12-31 alike: 2017-18-Q2)."""
        return cls.containing(as_of).previous()

    @classmethod
    def range(cls, first: FinancialQuarter, last: FinancialQuarter) -> list[FinancialQuarter]:
        """Every quarter from ``first`` to ``last`` inclusive (empty when ``last`` comes first)."""
        out: list[FinancialQuarter] = []
        q = first
        while q <= last:
            out.append(q)
            q = q.next()
        return out

    # -- reading one -----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """``2017-18-Q2``: the key used in the warehouse, file names and params."""
        return f"{self.financial_year}-Q{self.number}"

    @property
    def heading(self) -> str:
        """``Q2 2017/18``: the column heading of the published report."""
        return f"Q{self.number} {self.year}/{(self.year + 1) % 100:02d}"

    @property
    def financial_year(self) -> str:
        """``2017-18``: the financial year, as config files and output folders name it."""
        return f"{self.year}-{(self.year + 1) % 100:02d}"

    @property
    def title(self) -> str:
        """``2017/18 Quarter 2 (July to September 2017)``: the report's cover line."""
        return (f"{self.year}/{(self.year + 1) % 100:02d} Quarter {self.number} "
                f"({_MONTH_NAMES[self.start.month - 1]} to {_MONTH_NAMES[self.end.month - 1]} {self.end.year})")

    @property
    def start(self) -> date:
        month = 4 + 3 * (self.number - 1)
        return date(self.year + (month > 12), (month - 1) % 12 + 1, 1)

    @property
    def end(self) -> date:
        month = (4 + 3 * (self.number - 1) + 1) % 12 + 1
        year = self.year + (self.number == 4)
        return _month_end(year, month)

    def previous(self) -> FinancialQuarter:
        return FinancialQuarter(self.year, self.number - 1) if self.number > 1 else FinancialQuarter(self.year - 1, 4)

    def next(self) -> FinancialQuarter:
        return FinancialQuarter(self.year, self.number + 1) if self.number < 4 else FinancialQuarter(self.year + 1, 1)

    def quarters_to_date(self) -> list[FinancialQuarter]:
        """Q1 of this financial year up to and including this quarter."""
        return [FinancialQuarter(self.year, n) for n in range(1, self.number + 1)]

    def year_quarters(self) -> list[FinancialQuarter]:
        """All four quarters of this financial year."""
        return [FinancialQuarter(self.year, n) for n in range(1, 5)]

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"FinancialQuarter({self.label!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: Any) -> Any:
        """Config models may declare a ``FinancialQuarter`` field: it is parsed from its label."""
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls.parse, serialization=core_schema.plain_serializer_function_ser_schema(lambda q: q.label)
        )

