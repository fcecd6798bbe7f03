"""Time periods as Fingertips and the returns publish them, parsed into dates.

Labels are kept exactly as published (``2017/18``, ``2015 - 17``, ``2017/18 Q2`` ...); this module
gives each its start and end dates, granularity and a sortable key.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache


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


def financial_quarter(label: str) -> tuple[int, int]:
    """``2017-18-Q2`` or ``2017/18 Q2`` -> (2017, 2): the financial year's first calendar year and quarter."""
    p = parse_period(label)
    if p.granularity != "quarter" or "Q" not in label or not re.match(r"^\d{4}[/-]\d{2}", label):
        raise PeriodParseError(f"{label!r} is not a financial-year quarter like 2017-18-Q2")
    year = p.start.year if p.start.month >= 4 else p.start.year - 1
    return year, int(label[-1])
