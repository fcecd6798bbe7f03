"""Consistency checks over one service's KPI figures: the slips a published performance report makes.

``check_service`` takes the figures a quarterly performance report prints for one service (history and
this year's provider returns, as ``(kpi, period, measure) -> value``), its comments and its ratings, and
returns :class:`Finding` s worded as a person would say them: KPI *names*, quarter headings such as
``Q2 2017/18``, the figures and the arithmetic. Pure Python: no SQL, no Airflow, no pandas.

Periods are quarter labels (``2017-18-Q2``, read with :class:`~public_health.periods.FinancialQuarter`)
or financial-year columns (``2016-17``). Measures: ``target``, ``actual``, ``actual_to_date``,
``numerator``, ``denominator``. A missing figure is simply absent.

Tolerances. Figures are printed rounded, so every comparison allows for the printed precision: a value
printed with ``d`` decimals stands for anything within ``0.5 × 10^-d``. Percentages compared with a
ratio also allow ``percent_tolerance_points`` (default 0.5) on top: a whole-number percentage may differ
from the exact ratio by up to 1 point by default. Counts are compared exactly up to that rounding (0.5).

``affects_rating`` is True when the figure is one a rating rests on: a target, actual or (for
cumulative/running KPIs) actual to date of a KPI with a target (``target_kind`` not ``none``) that is
not information only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from public_health.periods import FinancialQuarter

Severity = Literal["error", "warning"]

RULES: dict[str, str] = {
    "percent_not_ratio": "A percentage differs from 100 × its numerator ÷ its denominator (beyond rounding), or cannot "
    "be any ratio of its counts: 0% of a positive count, a positive percentage of a zero count or of nothing, a year's "
    "percentage that is not the ratio of the year's totals, or percentages of one fixed population that imply "
    "different populations.",
    "percent_of_running_total": "A percentage matches its numerator over a running total (or a to-date over a "
    "quarter), not the quarter's numerator ÷ denominator.",
    "percent_over_100": "A share (a percentage of something) is above 100%.",
    "to_date_not_sum": "An actual to date differs from the sum of the year's quarterly actuals up to that quarter "
    "(for a running KPI: the previous to date plus the quarter's actual).",
    "to_date_no_reset": "A cumulative to date does not start again in Q1: it carries on from the year before.",
    "running_total_stalled": "An actual to date equals the previous quarter's although the quarter's actual is "
    "positive.",
    "quarter_duplicated": "Every figure of a quarter repeats the figures of an earlier quarter.",
    "annual_not_sum_or_mean": "A year column's actual is neither the sum nor the mean of the year's four quarters.",
    "target_inconsistent": "Targets disagree with each other: a cumulative target falls within a year or differs "
    "from the year's target, a per-quarter target changes within a year, a percentage's target is above 100 beside "
    "percentage targets, or a cumulative target to date stands alone in a year the KPI was already reported.",
    "figure_after_quarter": "A figure is given for a quarter after the report's quarter.",
    "rating_differs_from_contents": "The rating on the service's page differs from the rating on the contents page.",
    "comment_contradicts_table": "A comment's stated change (direction, amount or percentage), or what it says of "
    "targets or returns (a target met, a target not set, KPIs not returned), contradicts the table.",
    "percent_without_counts": "A percentage is printed for a period where its numerator or denominator count (the KPIs "
    "it is configured to divide) is blank, so it cannot be checked.",
    "part_exceeds_whole": "A count that is part of another (``part_of``) is more than it, or the parts of one whole "
    "add up to more than it.",
    "activity_without_base": "A count of activity is positive in a period where the count it cannot happen without "
    "(``base_kpi``) is 0, e.g. delegates without training sessions.",
}

_SEVERITY: dict[str, Severity] = {
    "percent_not_ratio": "error",
    "percent_of_running_total": "error",
    "percent_over_100": "error",
    "to_date_not_sum": "error",
    "to_date_no_reset": "error",
    "running_total_stalled": "error",
    "quarter_duplicated": "warning",
    "annual_not_sum_or_mean": "warning",
    "target_inconsistent": "warning",
    "figure_after_quarter": "warning",
    "rating_differs_from_contents": "error",
    "comment_contradicts_table": "warning",
    "percent_without_counts": "warning",
    "part_exceeds_whole": "error",
    "activity_without_base": "error",
}

_EPS = 1e-9


class KpiLike(Protocol):
    """What the checks read of a KPI (``public_health.returns.services.Kpi`` satisfies it).

    ``unit``: count, percent, rate, score, currency, days. ``target_kind``: none, per_quarter,
    cumulative, running, half_yearly, annual. Running KPIs also have ``running_from`` (a quarter label). Optional,
    read with ``getattr``: ``polarity``, ``numerator_measure`` / ``denominator_measure`` (which figure of the
    numerator / denominator KPI a percentage divides), ``fixed_denominator`` (the unprinted denominator is a population
    that stays the same through a year), ``part_of`` (a count that is part of another count KPI) and ``base_kpi``
    (a count of activity that cannot happen when that KPI's count is 0).
    """

    code: str
    name: str
    unit: str
    target_kind: str
    numerator_kpi: str | None
    denominator_kpi: str | None
    information_only: bool


@dataclass(frozen=True)
class ServiceFigures:
    service_code: str
    service_name: str
    kpis: tuple[KpiLike, ...]
    values: Mapping[tuple[str, str, str], float]
    comments: tuple[tuple[str, str], ...] = ()
    as_of: FinancialQuarter | None = None
    page_rating: str | None = None
    contents_rating: str | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    kpi_code: str | None
    periods: tuple[str, ...]
    measure: str | None
    message: str
    affects_rating: bool


# -- periods ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class _Year:
    """A financial-year column, ``2016-17``: ``year`` is its first calendar year."""

    year: int

    @property
    def label(self) -> str:
        return f"{self.year}-{(self.year + 1) % 100:02d}"

    @property
    def heading(self) -> str:
        return f"{self.year}/{(self.year + 1) % 100:02d}"

    def quarters(self) -> list[FinancialQuarter]:
        return FinancialQuarter(self.year, 1).year_quarters()


_YEAR_LABEL = re.compile(r"(\d{4})-(\d{2})")


def _parse_year(label: str) -> _Year | None:
    """``2016-17`` -> _Year(2016); anything else (a quarter, a malformed year) -> None."""
    m = _YEAR_LABEL.fullmatch(label)
    if m is None:
        return None
    first = int(m.group(1))
    if (first + 1) % 100 != int(m.group(2)):
        return None
    return _Year(first)


def _parse_quarter(label: str) -> FinancialQuarter | None:
    try:
        return FinancialQuarter.parse(label)
    except ValueError:
        return None


def _sort_key(label: str) -> tuple[int, int, str]:
    """Oldest first: a quarter by year and number, a year column after its Q4, anything else last."""
    q = _parse_quarter(label)
    if q is not None:
        return (q.year, q.number, label)
    y = _parse_year(label)
    if y is not None:
        return (y.year, 5, label)
    return (9999, 9, label)


def _heading(label: str) -> str:
    q = _parse_quarter(label)
    if q is not None:
        return q.heading
    y = _parse_year(label)
    return y.heading if y is not None else label


# -- numbers ---------------------------------------------------------------------------------------------
def _num(value: float) -> str:
    """1533 -> '1,533'; 37.5 -> '37.5'; 0.333333 -> '0.33'."""
    if abs(value - round(value)) < 1e-6:
        return f"{int(round(value)):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    """A computed percentage, to one decimal where it is not whole: '37.5%', '123%'."""
    return f"{_num(round(value, 1))}%"


def _decimals(value: float) -> int:
    """Decimal places the value is printed with (37.5 -> 1, 96 -> 0)."""
    text = f"{value:.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _half_unit(value: float, kpi: KpiLike | None = None) -> float:
    """Half the last printed digit: the rounding a printed value may hide."""
    d = _decimals(value)
    configured = getattr(kpi, "decimals", None) if kpi is not None else None
    if isinstance(configured, int) and configured > d:
        d = configured
    return 0.5 * 10 ** (-d)


# -- the figures, indexed ----------------------------------------------------------------------------------
@dataclass
class _Ctx:
    figures: ServiceFigures
    tolerance: float
    kpis: dict[str, KpiLike] = field(default_factory=dict)
    quarters: list[FinancialQuarter] = field(default_factory=list)
    years: list[_Year] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kpis = {k.code: k for k in self.figures.kpis}
        qs: set[FinancialQuarter] = set()
        ys: set[_Year] = set()
        for _kpi, label, _measure in self.figures.values:
            q = _parse_quarter(label)
            if q is not None:
                qs.add(q)
                continue
            y = _parse_year(label)
            if y is not None:
                ys.add(y)
        self.quarters = sorted(qs)
        self.years = sorted(ys)

    def get(self, kpi: str, label: str, measure: str) -> float | None:
        value = self.figures.values.get((kpi, label, measure))
        if value is None:
            return None
        value = float(value)
        return None if math.isnan(value) else value

    def q(self, kpi: str, quarter: FinancialQuarter, measure: str) -> float | None:
        return self.get(kpi, quarter.label, measure)

    def has_measure(self, kpi: str, measure: str) -> bool:
        return any(k == kpi and m == measure for k, _p, m in self.figures.values)

    def name(self, code: str) -> str:
        kpi = self.kpis.get(code)
        return kpi.name if kpi is not None else code


def _has_target(kpi: KpiLike) -> bool:
    return kpi.target_kind != "none" and not kpi.information_only


def _affects(kpi: KpiLike, measure: str | None) -> bool:
    if not _has_target(kpi):
        return False
    if measure in ("target", "actual"):
        return True
    return measure == "actual_to_date" and kpi.target_kind in ("cumulative", "running")


def _finding(rule: str, kpi: KpiLike | None, periods: Iterable[str], measure: str | None, message: str) -> Finding:
    return Finding(
        rule=rule,
        severity=_SEVERITY[rule],
        kpi_code=kpi.code if kpi is not None else None,
        periods=tuple(sorted(set(periods), key=_sort_key)),
        measure=measure,
        message=message,
        affects_rating=_affects(kpi, measure) if kpi is not None else False,
    )


# -- percentages -------------------------------------------------------------------------------------------
_SHARE_NAME = re.compile(r"^\s*(%|percentage\b|proportion\b)", re.I)
_SHARE_OF = re.compile(r"^\s*(?:%|percentage|proportion)\s+of\s+(?:the\s+)?([A-Za-z]+)", re.I)


def _is_share(kpi: KpiLike) -> bool:
    if kpi.unit != "percent":
        return False
    return bool(kpi.numerator_kpi and kpi.denominator_kpi) or bool(_SHARE_NAME.match(kpi.name))


def _measure_of(kpi: KpiLike, which: str, measure: str) -> str:
    """The measure of the numerator / denominator KPI a percentage of ``measure`` divides (configurable)."""
    configured = getattr(kpi, f"{which}_measure", None)
    return str(configured) if configured else measure


def _count_of(ctx: _Ctx, code: str, label: str, measure: str) -> float | None:
    """A count figure; a target missing for a quarter is its year column's (a population held as a year's target)."""
    value = ctx.get(code, label, measure)
    q = _parse_quarter(label)
    if value is None and measure == "target" and q is not None:
        value = ctx.get(code, _Year(q.year).label, "target")
    return value


def _numerator(ctx: _Ctx, kpi: KpiLike, label: str, measure: str) -> float | None:
    if kpi.numerator_kpi:
        return _count_of(ctx, kpi.numerator_kpi, label, _measure_of(kpi, "numerator", measure))
    return ctx.get(kpi.code, label, "numerator") if measure == "actual" else None


def _denominator(ctx: _Ctx, kpi: KpiLike, label: str, measure: str) -> float | None:
    if kpi.denominator_kpi:
        return _count_of(ctx, kpi.denominator_kpi, label, _measure_of(kpi, "denominator", measure))
    return ctx.get(kpi.code, label, "denominator") if measure == "actual" else None


def _ratio_parts(ctx: _Ctx, kpi: KpiLike, label: str, measure: str) -> tuple[float, float] | None:
    """(numerator, denominator) behind a percentage: its numerator/denominator KPIs' figures of the same
    period and measure (or the measures configured), else the KPI's own ``numerator``/``denominator`` figures."""
    if kpi.numerator_kpi and kpi.denominator_kpi:
        n = _count_of(ctx, kpi.numerator_kpi, label, _measure_of(kpi, "numerator", measure))
        d = _count_of(ctx, kpi.denominator_kpi, label, _measure_of(kpi, "denominator", measure))
        if n is not None and d is not None:
            return n, d
    if measure == "actual":
        n = ctx.get(kpi.code, label, "numerator")
        d = ctx.get(kpi.code, label, "denominator")
        if n is not None and d is not None:
            return n, d
    return None


def _pooled(ctx: _Ctx, kpi: KpiLike, year: _Year) -> tuple[float, float, list[FinancialQuarter]] | None:
    """A year's summed numerator and denominator, from its quarters (its half-years for a half-yearly KPI), when
    the KPI divides numerator/denominator KPIs and every one of those quarters prints both."""
    if not (kpi.numerator_kpi and kpi.denominator_kpi):
        return None
    quarters = [q for q in year.quarters() if q.number in (2, 4)] if _is_half_yearly(kpi) else year.quarters()
    parts = [_ratio_parts(ctx, kpi, q.label, "actual") for q in quarters]
    if any(p is None for p in parts):
        return None
    return sum(p[0] for p in parts if p), sum(p[1] for p in parts if p), quarters


def _to_date(ctx: _Ctx, code: str, quarter: FinancialQuarter) -> tuple[float, str] | None:
    """A KPI's running total for the year up to ``quarter``: its printed actual to date, else the sum of its
    quarterly actuals (from Q2 on, when all are present). Returns (value, how it was found)."""
    td = ctx.q(code, quarter, "actual_to_date")
    if td is not None:
        return td, f"the actual to date for {quarter.heading}"
    if quarter.number == 1:
        return None
    parts = [ctx.q(code, x, "actual") for x in quarter.quarters_to_date()]
    if any(p is None for p in parts):
        return None
    return sum(p for p in parts if p is not None), f"the year's total to {quarter.heading}"


def _percent_labels(ctx: _Ctx, kpi: KpiLike) -> list[tuple[str, str]]:
    """(period, measure) of a percentage's actuals and actuals to date, oldest first."""
    keys = {(p, m) for k, p, m in ctx.figures.values if k == kpi.code and m in ("actual", "actual_to_date")}
    return sorted(keys, key=lambda i: (_sort_key(i[0]), i[1]))


def _check_percent_ratios(ctx: _Ctx) -> Iterator[Finding]:
    for kpi in ctx.figures.kpis:
        if kpi.unit != "percent":
            continue
        for key, measure in _percent_labels(ctx, kpi):
            actual = ctx.get(kpi.code, key, measure)
            if actual is None:
                continue
            parts = _ratio_parts(ctx, kpi, key, measure)
            if parts is None or parts[1] <= 0:
                finding = _impossible_share(ctx, kpi, key, measure, actual) or _year_not_pooled(ctx, kpi, key, actual)
                if finding is not None:
                    yield finding
                continue
            n, d = parts
            expected = 100 * n / d
            allow = _half_unit(actual, kpi) + ctx.tolerance
            if abs(actual - expected) <= allow:
                continue
            explained = _running_total_explanation(ctx, kpi, key, actual) if measure == "actual" else None
            if explained is not None:
                yield explained
                continue
            to_date = " to date" if measure == "actual_to_date" else ""
            yield _finding(
                "percent_not_ratio", kpi, [key], measure,
                f"{kpi.name} is {_num(actual)}%{to_date} in {_heading(key)}, but {_num(n)} ÷ {_num(d)} = "
                f"{_pct(expected)} (a difference of {_num(round(abs(actual - expected), 1))} points, more than "
                f"rounding allows){_other_base(ctx, kpi, key, measure, actual)}.",
            )


def _other_base(ctx: _Ctx, kpi: KpiLike, label: str, measure: str, actual: float) -> str:
    """For a percentage of a population held as a year's target: say so when it matches last year's population."""
    q = _parse_quarter(label)
    y = _Year(q.year) if q is not None else _parse_year(label)
    if not kpi.denominator_kpi or _measure_of(kpi, "denominator", measure) != "target" or y is None:
        return ""
    n = _numerator(ctx, kpi, label, measure)
    before = ctx.get(kpi.denominator_kpi, _Year(y.year - 1).label, "target")
    if n is None or not before or abs(actual - 100 * n / before) > _half_unit(actual, kpi) + ctx.tolerance:
        return ""
    return (f"; {_num(actual)}% is {_num(n)} ÷ {_num(before)}, the {_Year(y.year - 1).heading} "
            f"“{ctx.name(kpi.denominator_kpi)}”: the year before's base")


def _impossible_share(ctx: _Ctx, kpi: KpiLike, label: str, measure: str, actual: float) -> Finding | None:
    """A percentage its counts rule out whatever the unprinted base: 0% of a positive count, a positive percentage
    of a zero count, a percentage of a zero denominator."""
    n, d = _numerator(ctx, kpi, label, measure), _denominator(ctx, kpi, label, measure)
    half = _half_unit(actual, kpi)
    num = f"“{ctx.name(kpi.numerator_kpi)}”" if kpi.numerator_kpi else "its numerator"
    den = f"“{ctx.name(kpi.denominator_kpi)}”" if kpi.denominator_kpi else "its denominator"
    if d is not None and abs(d) < _EPS and (actual > half or (n is not None and n > 0)):
        why = f"{den} is 0, and a percentage of nothing is no percentage at all"
    elif d is None and n is not None and n > 0 and actual < half:
        why = (f"{num} is {_num(n)}: a positive count printed as {_num(actual)}% would need more than "
               f"{_num(math.floor(100 * n / half))} in {den}, which is not printed")
    elif n is not None and abs(n) < _EPS and actual >= 2 * half:
        why = f"{num} is 0, and 0 of any number is 0%"
    else:
        return None
    to_date = " to date" if measure == "actual_to_date" else ""
    return _finding("percent_not_ratio", kpi, [label], measure,
                    f"{kpi.name} is {_num(actual)}%{to_date} in {_heading(label)}, but {why}.")


def _year_not_pooled(ctx: _Ctx, kpi: KpiLike, label: str, actual: float) -> Finding | None:
    """A year column's percentage against the ratio of the year's summed numerators and denominators."""
    year = _parse_year(label)
    pooled = _pooled(ctx, kpi, year) if year is not None else None
    if year is None or pooled is None or pooled[1] <= 0:
        return None
    n, d, quarters = pooled
    expected = 100 * n / d
    if abs(actual - expected) <= _half_unit(actual, kpi) + ctx.tolerance:
        return None
    own = [ctx.q(kpi.code, q, "actual") for q in quarters]
    mean = ""
    if all(v is not None for v in own):
        values = [v for v in own if v is not None]
        if abs(actual - sum(values) / len(values)) <= _half_unit(actual, kpi) + ctx.tolerance:
            mean = (f"; {_num(actual)}% is the mean of the quarterly percentages "
                    f"({', '.join(_num(v) for v in values)}), which does not weigh them by their denominators")
    return _finding(
        "percent_not_ratio", kpi, [label, *(q.label for q in quarters)], "actual",
        f"{kpi.name} is {_num(actual)}% in the {year.heading} column, but the year's quarters add up to {_num(n)} "
        f"“{ctx.name(kpi.numerator_kpi or '')}” of {_num(d)} “{ctx.name(kpi.denominator_kpi or '')}”, "
        f"{_pct(expected)}{mean}.",
    )


def _implied_bases(ctx: _Ctx, kpi: KpiLike) -> dict[int, list[tuple[str, float, float, int, int]]]:
    """For a percentage of a fixed unprinted population: by financial year, (period, count, percentage, least and
    most population) each printed percentage of a positive count allows."""
    out: dict[int, list[tuple[str, float, float, int, int]]] = {}
    for label, measure in _percent_labels(ctx, kpi):
        pct, n = ctx.get(kpi.code, label, measure), _numerator(ctx, kpi, label, measure)
        q, y = _parse_quarter(label), _parse_year(label)
        year = q.year if q is not None else (y.year if y is not None else None)
        if measure != "actual" or pct is None or n is None or n <= 0 or year is None:
            continue
        allow = _half_unit(pct, kpi) + ctx.tolerance
        if pct <= allow:
            continue
        low = math.ceil(100 * n / (pct + allow) - _EPS)
        high = math.floor(100 * n / (pct - allow) + _EPS)
        out.setdefault(year, []).append((label, n, pct, low, high))
    return out


def _check_fixed_denominators(ctx: _Ctx) -> Iterator[Finding]:
    """A percentage of a population that stays the same through a year (``fixed_denominator``), its base unprinted:
    the populations its percentages imply must have a number in common within each year."""
    for kpi in ctx.figures.kpis:
        if not getattr(kpi, "fixed_denominator", False) or kpi.unit != "percent" or not kpi.numerator_kpi:
            continue
        for year, implied in sorted(_implied_bases(ctx, kpi).items()):
            if len(implied) < 2 or max(i[3] for i in implied) <= min(i[4] for i in implied):
                continue
            listed = "; ".join(f"{_num(n)} at {_num(p)}% needs {lo:,} to {hi:,} ({_heading(label)})"
                               for label, n, p, lo, hi in implied)
            finding = _finding(
                "percent_not_ratio", kpi, [i[0] for i in implied], "actual",
                f"{kpi.name}: its base is not printed but stays the same through {_Year(year).heading}, and its "
                f"percentages need different bases: {listed}. No one number fits them all.",
            )
            yield Finding(finding.rule, "warning", finding.kpi_code, finding.periods, finding.measure,
                          finding.message, finding.affects_rating)


def _check_percent_counts(ctx: _Ctx) -> Iterator[Finding]:
    """A percentage of numerator/denominator KPIs printed while one of them is blank in the same period (a year
    column whose quarters give the year's totals is judged by percent_not_ratio instead)."""
    for kpi in ctx.figures.kpis:
        if kpi.unit != "percent" or not (kpi.numerator_kpi and kpi.denominator_kpi):
            continue
        for label, measure in _percent_labels(ctx, kpi):
            actual = ctx.get(kpi.code, label, measure)
            n, d = _numerator(ctx, kpi, label, measure), _denominator(ctx, kpi, label, measure)
            year = _parse_year(label)
            if measure != "actual" or actual is None or (n is not None and d is not None):
                continue
            if (year is not None and _pooled(ctx, kpi, year) is not None) or _impossible_share(
                    ctx, kpi, label, measure, actual) is not None:
                continue
            if n is not None and abs(n) < _EPS and actual < _half_unit(actual, kpi):
                continue  # 0% of 0: right whatever the base
            blank = [f"“{ctx.name(c)}”" for c, v in ((kpi.numerator_kpi, n), (kpi.denominator_kpi, d)) if v is None]
            shown = "" if n is None else f" (“{ctx.name(kpi.numerator_kpi)}” is {_num(n)})"
            if d is not None:
                shown = f" (“{ctx.name(kpi.denominator_kpi)}” is {_num(d)})"
            yield _finding(
                "percent_without_counts", kpi, [label], measure,
                f"{kpi.name} is {_num(actual)}% in {_heading(label)}, but {' and '.join(blank)} "
                f"{'are' if len(blank) > 1 else 'is'} blank for {_heading(label)}{shown}: the percentage cannot be "
                f"checked.",
            )


def _running_total_explanation(ctx: _Ctx, kpi: KpiLike, label: str, actual: float) -> Finding | None:
    """The percentage matches a running total in place of the quarter's figure: name which."""
    q = _parse_quarter(label)
    if q is None or not (kpi.numerator_kpi and kpi.denominator_kpi):
        return None
    n = ctx.q(kpi.numerator_kpi, q, "actual")
    d = ctx.q(kpi.denominator_kpi, q, "actual")
    n_td = _to_date(ctx, kpi.numerator_kpi, q)
    d_td = _to_date(ctx, kpi.denominator_kpi, q)
    num_name, den_name = ctx.name(kpi.numerator_kpi), ctx.name(kpi.denominator_kpi)
    options: list[tuple[float, float, str]] = []
    if n is not None and d_td is not None:
        options.append((n, d_td[0], f"the quarter's “{num_name}” over {d_td[1]} of “{den_name}”"))
    if n_td is not None and d is not None:
        options.append((n_td[0], d, f"{n_td[1]} of “{num_name}” over the quarter's “{den_name}”"))
    if n_td is not None and d_td is not None:
        options.append((n_td[0], d_td[0], f"{n_td[1]} of “{num_name}” over {d_td[1]} of “{den_name}”"))
    allow = _half_unit(actual, kpi) + ctx.tolerance
    for top, bottom, words in options:
        if bottom > 0 and abs(actual - 100 * top / bottom) <= allow:
            own = f"the quarter's figures give {_num(n)} ÷ {_num(d)} = {_pct(100 * n / d)}" if (
                n is not None and d) else "the quarter's own figures are not all shown"
            return _finding(
                "percent_of_running_total", kpi, [label], "actual",
                f"{kpi.name} is {_num(actual)}% in {q.heading}, but {own}; {_num(actual)}% is {_num(top)} ÷ "
                f"{_num(bottom)}, {words}: the percentage was taken of a running total.",
            )
    return None


def _check_percent_over_100(ctx: _Ctx) -> Iterator[Finding]:
    for kpi in ctx.figures.kpis:
        if not _is_share(kpi):
            continue
        m = _SHARE_OF.match(kpi.name)
        what = f"a share of {m.group(1).lower()}" if m else "a share"
        for code, label, measure in sorted(ctx.figures.values, key=lambda i: _sort_key(i[1])):
            if code != kpi.code or measure not in ("actual", "actual_to_date"):
                continue
            value = ctx.get(code, label, measure)
            if value is None or value <= 100 + _EPS:
                continue
            parts = _ratio_parts(ctx, kpi, label, measure)
            behind = ""
            if parts is not None and kpi.numerator_kpi and kpi.denominator_kpi:
                behind = (f" ({_num(parts[0])} “{ctx.name(kpi.numerator_kpi)}” of {_num(parts[1])} "
                          f"“{ctx.name(kpi.denominator_kpi)}”)")
            elif parts is not None:
                behind = f" ({_num(parts[0])} of {_num(parts[1])})"
            to_date = " to date" if measure == "actual_to_date" else ""
            yield _finding(
                "percent_over_100", kpi, [label], measure,
                f"{kpi.name} is {_num(value)}%{to_date} in {_heading(label)}: {what} cannot exceed 100%{behind}.",
            )


# -- parts and wholes ------------------------------------------------------------------------------------------
def _check_parts(ctx: _Ctx) -> Iterator[Finding]:
    """Counts configured as parts of another count (``part_of``): a part cannot exceed its whole, and the parts
    of one whole (which do not overlap) cannot add up to more than it. Said of the part when one part alone is
    over, else of the whole."""
    wholes: dict[str, list[KpiLike]] = {}
    for kpi in ctx.figures.kpis:
        whole = getattr(kpi, "part_of", None)
        if whole and whole in ctx.kpis and whole != kpi.code:
            wholes.setdefault(whole, []).append(kpi)
    for code, parts in wholes.items():
        codes = {p.code for p in parts}
        labels = sorted({p for c, p, m in ctx.figures.values if c in codes and m in ("actual", "actual_to_date")},
                        key=_sort_key)
        for label in labels:
            yield from _parts_over(ctx, ctx.kpis[code], parts, label)


def _parts_over(ctx: _Ctx, whole: KpiLike, parts: list[KpiLike], label: str) -> Iterator[Finding]:
    said: list[str] = []
    over: set[str] = set()
    measures: list[str] = []
    for measure in ("actual", "actual_to_date"):
        total = ctx.get(whole.code, label, measure)
        got = [(p, ctx.get(p.code, label, measure)) for p in parts]
        present = [(p, v) for p, v in got if v is not None]
        if total is None or not present:
            continue
        summed = sum(v for _p, v in present if v is not None)
        if summed <= total + 0.5:
            continue
        measures.append(measure)
        words = " to date" if measure == "actual_to_date" else ""
        if len(present) == 1:
            part, value = present[0]
            over.add(part.code)
            said.append(f"{_num(value or 0)}{words} “{part.name}” against {_num(total)}{words} “{whole.name}”")
        else:
            listed = " + ".join(f"{_num(v or 0)} “{p.name}”" for p, v in present)
            over.update(p.code for p, v in present if v is not None and v > total + 0.5)
            said.append(f"{listed} = {_num(summed)}{words}, against {_num(total)}{words} “{whole.name}”")
    if not said:
        return
    subject = ctx.kpis[next(iter(over))] if len(parts) == 1 and len(over) == 1 else whole
    kind = "is part of" if len(parts) == 1 else "are parts of"
    names = " and ".join(f"“{p.name}”" for p in parts)
    yield _finding(
        "part_exceeds_whole", subject, [label], measures[0] if len(measures) == 1 else None,
        f"In {_heading(label)}: {'; '.join(said)}. {names} {kind} “{whole.name}”, so "
        f"{'it cannot be more' if len(parts) == 1 else 'together they cannot add up to more'}.",
    )


def _check_bases(ctx: _Ctx) -> Iterator[Finding]:
    """A count of activity (``base_kpi`` set) positive where the count it cannot happen without is 0. Said of the
    base: its 0 is the figure the activity contradicts."""
    for kpi in ctx.figures.kpis:
        base_code = getattr(kpi, "base_kpi", None)
        base = ctx.kpis.get(base_code) if base_code else None
        if base is None or base.code == kpi.code:
            continue
        labels = sorted({p for c, p, m in ctx.figures.values if c == kpi.code and m == "actual"}, key=_sort_key)
        for label in labels:
            value, base_value = ctx.get(kpi.code, label, "actual"), ctx.get(base.code, label, "actual")
            if value is None or base_value is None or value <= 0 or abs(base_value) > _EPS:
                continue
            yield _finding(
                "activity_without_base", base, [label], "actual",
                f"{base.name} is 0 in {_heading(label)}, but {kpi.name} is {_num(value)} in {_heading(label)}, "
                f"which cannot happen without any.",
            )


# -- running totals ----------------------------------------------------------------------------------------
def _to_date_kpis(ctx: _Ctx) -> list[KpiLike]:
    """KPIs whose actual to date is a running sum of quarterly actuals: cumulative and running KPIs, and count
    KPIs without a target that print an actual to date."""
    out = []
    for kpi in ctx.figures.kpis:
        if kpi.target_kind in ("cumulative", "running"):
            out.append(kpi)
        elif kpi.target_kind == "none" and kpi.unit == "count" and ctx.has_measure(kpi.code, "actual_to_date"):
            out.append(kpi)
    return out


def _running_from(kpi: KpiLike) -> FinancialQuarter | None:
    value = getattr(kpi, "running_from", None)
    if value is None:
        return None
    if isinstance(value, FinancialQuarter):
        return value
    return _parse_quarter(str(value))


def _bare_name(name: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", name).strip().lower()


def _increments(ctx: _Ctx, kpi: KpiLike) -> tuple[str, str]:
    """Whose quarterly actuals a KPI's to date adds up: its own, or, for a running KPI printed without them, the
    one other count KPI whose name is the running KPI's name without its bracketed note (the report prints the
    quarter's 'Actual' and the programme's 'Actual to date' as two rows: "Checks carried out" and "Checks carried
    out (5 year programme to date)"). Returns (code, words naming it in a message)."""
    if kpi.target_kind != "running" or ctx.has_measure(kpi.code, "actual"):
        return kpi.code, ""
    bare = _bare_name(kpi.name)
    pairs = [k for k in ctx.figures.kpis if k.code != kpi.code and k.unit == kpi.unit
             and k.target_kind != "running" and _bare_name(k.name) == bare and ctx.has_measure(k.code, "actual")]
    if len(pairs) != 1:
        return kpi.code, ""
    return pairs[0].code, f" (the actual of “{pairs[0].name}”)"


def _previous_year_to_date(ctx: _Ctx, code: str, year: int) -> tuple[float, str] | None:
    """The previous financial year's closing to date: its Q4 to date, else its year column's to date."""
    q4 = FinancialQuarter(year - 1, 4)
    value = ctx.q(code, q4, "actual_to_date")
    if value is not None:
        return value, q4.heading
    column = _Year(year - 1)
    value = ctx.get(code, column.label, "actual_to_date")
    if value is not None:
        return value, f"the {column.heading} column"
    return None


def _check_to_dates(ctx: _Ctx) -> Iterator[Finding]:
    """to_date_no_reset, running_total_stalled and to_date_not_sum, one explanation per figure: a to date that
    stalls is reported as stalled, one that carries on from last year as not reset, the rest as not a sum."""
    for kpi in _to_date_kpis(ctx):
        reported: set[str] = set()
        yield from _stalled(ctx, kpi, reported)
        if kpi.target_kind == "running":
            yield from _running_not_sum(ctx, kpi, reported)
            continue
        offsets = {}
        for finding, year, offset in _no_reset(ctx, kpi, reported):
            offsets[year] = offset
            yield finding
        yield from _not_sum(ctx, kpi, reported, offsets)


def _stalled(ctx: _Ctx, kpi: KpiLike, reported: set[str]) -> Iterator[Finding]:
    source, whose = _increments(ctx, kpi)
    for q in ctx.quarters:
        if q.number == 1 and kpi.target_kind != "running":
            continue  # a cumulative to date starts again in Q1; a Q1 equal to last Q4 is to_date_no_reset's case
        td, prev_td, actual = (ctx.q(kpi.code, q, "actual_to_date"), ctx.q(kpi.code, q.previous(), "actual_to_date"),
                               ctx.q(source, q, "actual"))
        if td is None or prev_td is None or actual is None or actual <= 0:
            continue
        if abs(td - prev_td) > _EPS:
            continue
        reported.add(q.label)
        yield _finding(
            "running_total_stalled", kpi, [q.previous().label, q.label], "actual_to_date",
            f"{kpi.name}: the actual to date is {_num(td)} in both {q.previous().heading} and {q.heading}, although "
            f"{_num(actual)} were added in {q.heading}{whose} ({_num(prev_td)} + {_num(actual)} = "
            f"{_num(prev_td + actual)}).",
        )


def _no_reset(ctx: _Ctx, kpi: KpiLike, reported: set[str]) -> Iterator[tuple[Finding, int, float]]:
    for year in sorted({q.year for q in ctx.quarters}):
        first = None
        for q in FinancialQuarter(year, 1).year_quarters():
            td = ctx.q(kpi.code, q, "actual_to_date")
            actuals = [ctx.q(kpi.code, x, "actual") for x in q.quarters_to_date()]
            if td is not None and all(a is not None for a in actuals):
                first = (q, td, sum(a for a in actuals if a is not None))
                break
        if first is None or first[0].label in reported:
            continue
        q, td, total = first
        allow = _half_unit(td, kpi) * (q.number + 1)
        previous = _previous_year_to_date(ctx, kpi.code, year)
        carries_on = previous is not None and abs(td - (previous[0] + total)) <= allow and previous[0] > allow
        if not carries_on and not (q.number == 1 and td > total + allow):
            continue
        so_far = f"{_num(total)} (the actual for {q.heading})" if q.number == 1 else (
            f"{_num(total)} (the actuals from Q1 to {q.heading})")
        if carries_on and previous is not None:
            how = (f"{_num(td)} to date in {q.heading} is {_num(previous[0])} (the to date of {previous[1]}) + "
                   f"{so_far}: it carries on from the year before instead of starting again in Q1")
            periods = [q.label, FinancialQuarter(year - 1, 4).label if "column" not in previous[1]
                       else _Year(year - 1).label]
        else:
            how = (f"{_num(td)} to date in {q.heading} is more than {so_far}: it does not start again in Q1 "
                   f"(it is {_num(td - total)} too high)")
            periods = [q.label]
        reported.add(q.label)
        finding = _finding(
            "to_date_no_reset", kpi, periods, "actual_to_date",
            f"{kpi.name}: {how}. The assessment will not use this to date.",
        )
        yield finding, year, td - total


def _not_sum(ctx: _Ctx, kpi: KpiLike, reported: set[str], offsets: Mapping[int, float]) -> Iterator[Finding]:
    for q in ctx.quarters:
        td = ctx.q(kpi.code, q, "actual_to_date")
        if td is None or q.label in reported:
            continue
        actuals = [ctx.q(kpi.code, x, "actual") for x in q.quarters_to_date()]
        if any(a is None for a in actuals):
            continue
        values = [a for a in actuals if a is not None]
        total = sum(values)
        allow = _half_unit(td, kpi) + sum(_half_unit(a, kpi) for a in values if _decimals(a) > 0)
        if abs(td - total) <= allow:
            continue
        if q.year in offsets and abs(td - total - offsets[q.year]) <= allow:
            continue  # the same carry-over as the year's first to date: already reported as to_date_no_reset
        sums = " + ".join(_num(a) for a in values)
        yield _finding(
            "to_date_not_sum", kpi, [x.label for x in q.quarters_to_date()], "actual_to_date",
            f"{kpi.name}: the actual to date for {q.heading} is {_num(td)}, but the year's quarterly actuals add up "
            f"to {_num(total)} ({sums}); it is {_num(abs(td - total))} too {'high' if td > total else 'low'}.",
        )


def _running_not_sum(ctx: _Ctx, kpi: KpiLike, reported: set[str]) -> Iterator[Finding]:
    start = _running_from(kpi)
    source, whose = _increments(ctx, kpi)
    for q in ctx.quarters:
        td, actual = ctx.q(kpi.code, q, "actual_to_date"), ctx.q(source, q, "actual")
        if td is None or actual is None or q.label in reported or (start is not None and q < start):
            continue
        if start is not None and q == start:
            before, words, periods = 0.0, f"the total runs from {q.heading}", [q.label]
        else:
            prev = ctx.q(kpi.code, q.previous(), "actual_to_date")
            found = (prev, q.previous().heading) if prev is not None else (
                _previous_year_to_date(ctx, kpi.code, q.year) if q.number == 1 else None)
            if found is None or found[0] is None:
                continue
            before = found[0]
            words = f"{_num(before)} to date {'in' if 'column' in found[1] else 'at'} {found[1]}"
            periods = [q.previous().label if prev is not None else _Year(q.year - 1).label, q.label]
        allow = _half_unit(td, kpi) + (_half_unit(actual, kpi) if _decimals(actual) else 0)
        if abs(td - (before + actual)) <= allow:
            continue
        yield _finding(
            "to_date_not_sum", kpi, periods, "actual_to_date",
            f"{kpi.name}: the running total for {q.heading} is {_num(td)}, but {words} plus {_num(actual)} in "
            f"{q.heading}{whose} makes {_num(before + actual)}; it is {_num(abs(td - before - actual))} too "
            f"{'high' if td > before + actual else 'low'}.",
        )


# -- quarters and years --------------------------------------------------------------------------------------
def _check_duplicated(ctx: _Ctx) -> Iterator[Finding]:
    by_quarter: dict[FinancialQuarter, dict[tuple[str, str], float]] = {q: {} for q in ctx.quarters}
    for (code, label, measure), _raw in ctx.figures.values.items():
        q = _parse_quarter(label)
        value = ctx.get(code, label, measure)
        if q is None or measure != "actual" or value is None:
            continue  # a copied return repeats the actuals; the to dates then run on from them
        by_quarter[q][(code, measure)] = value
    for i, later in enumerate(ctx.quarters):
        these = by_quarter[later]
        if len(these) < 3 or all(abs(v) < _EPS for v in these.values()):
            continue
        for earlier in reversed(ctx.quarters[:i]):
            those = by_quarter[earlier]
            if those.keys() != these.keys() or any(abs(those[k] - these[k]) > _EPS for k in these):
                continue
            rated = any(c in ctx.kpis and _affects(ctx.kpis[c], m) for c, m in these)
            finding = Finding(
                rule="quarter_duplicated", severity=_SEVERITY["quarter_duplicated"], kpi_code=None,
                periods=(earlier.label, later.label), measure=None,
                message=f"Every actual for {later.heading} ({len(these)} figures across "
                        f"{len({c for c, _ in these})} KPIs) is the same as for {earlier.heading}: the "
                        f"{later.heading} return looks like a copy of {earlier.heading}'s.",
                affects_rating=rated,
            )
            yield finding
            break


def _is_half_yearly(kpi: KpiLike) -> bool:
    return kpi.target_kind == "half_yearly" or getattr(kpi, "frequency", None) == "half_yearly"


def _check_annual(ctx: _Ctx) -> Iterator[Finding]:
    """A year column's actual against its quarters (or, for a half-yearly KPI, its two half-years in Q2 and Q4):
    their sum or their mean; a percentage may also be the ratio of the year's totals, and a percentage, rate,
    score or days figure without a numerator and denominator anything within the quarters' range (a weighted
    mean). With quarters missing, a KPI whose to date is the year's sum must equal its Q4 actual to date."""
    summed = {k.code for k in _to_date_kpis(ctx) if k.target_kind != "running"}
    for kpi in ctx.figures.kpis:
        for year in ctx.years:
            value = ctx.get(kpi.code, year.label, "actual")
            if value is None:
                continue
            quarters = [q for q in year.quarters() if q.number in (2, 4)] if _is_half_yearly(kpi) else year.quarters()
            found = [(q, ctx.q(kpi.code, q, "actual")) for q in quarters]
            parts = [(q, v) for q, v in found if v is not None]
            if len(parts) == len(quarters):
                yield from _year_against_parts(ctx, kpi, year, value, parts)
                continue
            q4 = FinancialQuarter(year.year, 4)
            td = ctx.q(kpi.code, q4, "actual_to_date")
            if kpi.code in summed and td is not None and abs(td - value) > _half_unit(value, kpi):
                yield _finding(
                    "annual_not_sum_or_mean", kpi, [year.label, q4.label], "actual",
                    f"{kpi.name} is {_num(value)} in the {year.heading} column, but the actual to date at "
                    f"{q4.heading} is {_num(td)}; the year's total and the to date at its end should be the same.",
                )


def _year_against_parts(
    ctx: _Ctx, kpi: KpiLike, year: _Year, value: float, parts: list[tuple[FinancialQuarter, float]]
) -> Iterator[Finding]:
    values = [v for _q, v in parts]
    total, mean = sum(values), sum(values) / len(values)
    rounded = sum(_half_unit(v, kpi) for v in values) if (
        kpi.unit != "count" or any(_decimals(v) for v in values)) else 0.0
    own = _half_unit(value, kpi)
    if abs(value - total) <= own + rounded or abs(value - mean) <= own + rounded / len(values):
        return
    if kpi.unit == "percent" and (_annual_ratio_matches(ctx, kpi, year, value) or _pooled(ctx, kpi, year)):
        return  # a percentage with the year's totals is judged against their ratio (percent_not_ratio)
    weighted = kpi.unit in ("percent", "rate", "score", "days") and not (kpi.numerator_kpi and kpi.denominator_kpi)
    if weighted and min(values) - own <= value <= max(values) + own:
        return
    listed = ", ".join(f"{_num(v)} ({q.heading})" for q, v in parts)
    what = "half-years" if len(parts) == 2 else "quarters"
    yield _finding(
        "annual_not_sum_or_mean", kpi, [year.label, *(q.label for q, _v in parts)], "actual",
        f"{kpi.name} is {_num(value)} in the {year.heading} column, but the year's {what} are {listed}: they add "
        f"up to {_num(total)} and average {_num(round(mean, 2))}, and it is neither.",
    )


def _annual_ratio_matches(ctx: _Ctx, kpi: KpiLike, year: _Year, value: float) -> bool:
    """A year's percentage may be the ratio of the year's totals: accept it when it is."""
    if not (kpi.numerator_kpi and kpi.denominator_kpi):
        return False
    nums = [ctx.q(kpi.numerator_kpi, q, "actual") for q in year.quarters()]
    dens = [ctx.q(kpi.denominator_kpi, q, "actual") for q in year.quarters()]
    if any(v is None for v in nums + dens):
        return False
    n = sum(v for v in nums if v is not None)
    d = sum(v for v in dens if v is not None)
    return d > 0 and abs(value - 100 * n / d) <= _half_unit(value, kpi) + ctx.tolerance


def _check_targets(ctx: _Ctx) -> Iterator[Finding]:
    """Only the figures are used. For a cumulative KPI: (1) a quarterly target below the one before it in the
    same year. For a cumulative, annual or half-yearly KPI: (2) a year column's target that differs from that
    year's Q4 target (both printed). For a per_quarter KPI:
    (3) quarterly targets that are not all the same within a year (a per-quarter target is one figure a year)."""
    for kpi in ctx.figures.kpis:
        if kpi.unit == "percent":
            yield from _percent_targets(ctx, kpi)
        if kpi.target_kind not in ("cumulative", "per_quarter", "annual", "half_yearly"):
            continue
        for year in sorted({q.year for q in ctx.quarters} | {y.year for y in ctx.years}):
            quarters = _Year(year).quarters()
            targets = [(q, ctx.q(kpi.code, q, "target")) for q in quarters]
            present = [(q, t) for q, t in targets if t is not None]
            if kpi.target_kind != "per_quarter":
                yield from _cumulative_targets(ctx, kpi, _Year(year), present)
            elif len({t for _q, t in present}) > 1:
                listed = ", ".join(f"{_num(t)} ({q.heading})" for q, t in present)
                yield _finding(
                    "target_inconsistent", kpi, [q.label for q, _t in present], "target",
                    f"{kpi.name} has a per-quarter target, but its quarterly targets in {_Year(year).heading} "
                    f"differ: {listed}.",
                )


def _percent_targets(ctx: _Ctx, kpi: KpiLike) -> Iterator[Finding]:
    """A percentage's target above 100 (a count) beside targets that are percentages."""
    targets = sorted(((p, ctx.get(c, p, m)) for c, p, m in ctx.figures.values if c == kpi.code and m == "target"),
                     key=lambda i: _sort_key(i[0]))
    shares = [(p, t) for p, t in targets if t is not None and 0 < t <= 100]
    for label, target in targets:
        if target is None or target <= 100 or not shares:
            continue
        beside = [p for p, _t in shares if _parse_year(p) is not None] or [p for p, _t in shares]
        listed = ", ".join(f"{_num(t)}% ({_heading(p)})" for p, t in shares[:4]) + (", …" if len(shares) > 4 else "")
        yield _finding(
            "target_inconsistent", kpi, [label, *beside], "target",
            f"{kpi.name} is a percentage, but its target for {_heading(label)} is {_num(target)}, which cannot be a "
            f"percentage (a count target?), while its other targets are percentages: {listed}.",
        )


def _lone_target(
    ctx: _Ctx, kpi: KpiLike, year: _Year, present: list[tuple[FinancialQuarter, float]]
) -> Iterator[Finding]:
    """A cumulative target to date that starts after Q1, with no target for the year, although the KPI reported
    figures in the year's earlier quarters: a target to date counts from Q1."""
    if not present or ctx.get(kpi.code, year.label, "target") is not None:
        return
    first, target = present[0]
    earlier = [q for q in first.quarters_to_date()[:-1] if ctx.q(kpi.code, q, "actual") is not None]
    if first.number == 1 or target <= 0 or not earlier:
        return
    reported = ", ".join(f"{_num(ctx.q(kpi.code, q, 'actual') or 0)} in {q.heading}" for q in earlier)
    yield _finding(
        "target_inconsistent", kpi, [*(q.label for q in earlier), first.label], "target",
        f"{kpi.name} has a cumulative target to date of {_num(target)} for {first.heading}, but no target for "
        f"{', '.join(q.heading for q in earlier)} ({reported} reported) and none for {year.heading}: a target to "
        f"date counts from Q1, so it cannot start in {first.heading} on its own.",
    )


def _cumulative_targets(
    ctx: _Ctx, kpi: KpiLike, year: _Year, present: list[tuple[FinancialQuarter, float]]
) -> Iterator[Finding]:
    if kpi.target_kind == "cumulative":
        yield from _lone_target(ctx, kpi, year, present)
    for (q1, t1), (q2, t2) in zip(present, present[1:], strict=False):
        if kpi.target_kind == "cumulative" and t2 < t1 - _EPS:
            yield _finding(
                "target_inconsistent", kpi, [q1.label, q2.label], "target",
                f"{kpi.name} has a cumulative target, but it falls from {_num(t1)} in {q1.heading} to {_num(t2)} in "
                f"{q2.heading}: a target to date cannot go down within a year.",
            )
    annual = ctx.get(kpi.code, year.label, "target")
    q4 = FinancialQuarter(year.year, 4)
    q4_target = ctx.q(kpi.code, q4, "target")
    if annual is not None and q4_target is not None and abs(annual - q4_target) > _half_unit(annual, kpi):
        yield _finding(
            "target_inconsistent", kpi, [q4.label, year.label], "target",
            f"{kpi.name} has a target of {_num(annual)} in the {year.heading} column but a target of "
            f"{_num(q4_target)} by {q4.heading}, the end of that year; the two should be the same.",
        )


def _check_after_quarter(ctx: _Ctx) -> Iterator[Finding]:
    as_of = ctx.figures.as_of
    if as_of is None:
        return
    late: dict[str, list[tuple[str, str, float]]] = {}
    for (code, label, measure), _raw in ctx.figures.values.items():
        value = ctx.get(code, label, measure)
        if measure == "target" or value is None:
            continue
        q = _parse_quarter(label)
        y = _parse_year(label) if q is None else None
        if (q is not None and q > as_of) or (y is not None and y.year > as_of.year):
            late.setdefault(code, []).append((label, measure, value))
    for kpi in ctx.figures.kpis:
        items = sorted(late.get(kpi.code, []), key=lambda i: (_sort_key(i[0]), i[1]))
        if not items:
            continue
        listed = "; ".join(f"{_measure_words(m)} {_num(v)} for {_heading(p)}" for p, m, v in items)
        measures = {m for _p, m, _v in items}
        finding = _finding(
            "figure_after_quarter", kpi, [p for p, _m, _v in items], measures.pop() if len(measures) == 1 else None,
            f"{kpi.name} has figures for a quarter after the report's quarter ({as_of.heading}): {listed}. They are "
            f"not used for the rating.",
        )
        yield Finding(finding.rule, finding.severity, finding.kpi_code, finding.periods, finding.measure,
                      finding.message, False)


def _measure_words(measure: str) -> str:
    return {"actual_to_date": "actual to date"}.get(measure, measure)


def _check_ratings(ctx: _Ctx) -> Iterator[Finding]:
    page, contents = ctx.figures.page_rating, ctx.figures.contents_rating
    if not page or not contents or "redacted" in (page.strip().lower(), contents.strip().lower()):
        return
    if page.strip().lower() == contents.strip().lower():
        return
    yield Finding(
        rule="rating_differs_from_contents", severity=_SEVERITY["rating_differs_from_contents"], kpi_code=None,
        periods=(ctx.figures.as_of.label,) if ctx.figures.as_of is not None else (), measure=None,
        message=f"{ctx.figures.service_name} is rated {page.strip()} on its page but {contents.strip()} on the "
                f"contents page.",
        affects_rating=True,
    )


# -- comments ----------------------------------------------------------------------------------------------------
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_QREF = re.compile(
    r"\b(?:(?P<y1a>\d{4})\s*[/-]\s*(?P<y2a>\d{2})\s+)?Q(?P<q>[1-4])\b(?:\s+(?P<y1>\d{4})\s*[/-]\s*(?P<y2>\d{2})\b)?",
    re.I,
)
_BASE_BEFORE = re.compile(r"(?:compared?\s+(?:to|with)|than|since|from|on|versus|vs\.?)\s*(?:the\s+)?$", re.I)
_SUBJECT_BEFORE = re.compile(r"(?:\bin|\bduring|\bfor)\s*(?:the\s+)?$", re.I)
_YEAR_MENTION = re.compile(r"\b(?:19|20)\d\d\b")
_QUARTER_WORD = re.compile(r"\b(?:this|last|previous|latest|the)\s+quarter\b", re.I)
_UP_WORDS = (r"increased|increases|increase|increasing|rose|risen|rise|rises|rising|grew|grown|growth|gone\s+up|"
             r"went\s+up")
_DOWN_WORDS = (r"decreased|decreases|decrease|decreasing|fell|fallen|falls|fall|dropped|drops|drop|gone\s+down|"
               r"went\s+down|declined|declines|decline|reduced|reduction")
_DIRECTION = re.compile(
    rf"\b(?:(?P<up>{_UP_WORDS})|(?P<down>{_DOWN_WORDS})|(?P<upby>up)(?=\s+by\s+{_NUMBER})|"
    rf"(?P<downby>down)(?=\s+by\s+{_NUMBER}))\b(?!\s+(?:below|under|short|out|above|over)\b)",
    re.I,
)
_AMOUNT_AFTER = re.compile(rf"\s+(?:by|of)\s+(?P<num>{_NUMBER})\s*(?P<pct>%|per\s*cent\b|percent\b)?", re.I)
_EXTRA = re.compile(rf"\b(?P<num>{_NUMBER})\s+(?P<dir>extra|more|fewer)\b", re.I)
_FROM_TO = re.compile(rf"\bfrom\s+(?P<a>{_NUMBER})\b(?!\s*%)(?:\s+in\s+\S+)?\s+to\s+(?P<b>{_NUMBER})\b(?!\s*%)", re.I)
_NEGATED = re.compile(r"\b(?:not|no|never|nor)\s+(?:\w+\s+)?$|n't\s+(?:\w+\s+)?$", re.I)
_SENTENCES = re.compile(r"(?<!\d)[.;!?]+(?!\d)")
_SPLIT = re.compile(r"\b(?:due\s+to|because|however|although|whereas|but|as\s+a\s+result)\b", re.I)
_STOP = set("""
a an and are as at be been being by for from has have had in into is it its of on or our over per since so than that
the their there these this those to was were which who with within we all also any each some both such very still
number numbers numbr total totals percentage percenrage percent proportion rate rates actual actuals target targets
date quarter quarters guarter year years compared compare comparison previous last latest compared again overall
sharp sharpe significant significantly slight slightly extra more fewer less making made carried out due kpi kpis
data figure figures service services during following terms term seen see overall eg ie etc around about
increase increased increases increasing rose risen rise rises rising grew grown growth up gone went
decrease decreased decreases decreasing fell fallen fall falls drop dropped drops down declined declines decline
reduced reduction
""".split())
_TOKEN = re.compile(r"[a-z][a-z']*")


def _stem(word: str) -> str:
    w = word.lower().replace("'", "")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    for suffix in ("ment", "ing", "ers", "er", "ed", "ion", "ance"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[: -len(suffix)]
            break
    return w[:6]


def _stems(text: str) -> set[str]:
    out = set()
    for token in _TOKEN.findall(text.lower()):
        token = token.strip("'")
        if len(token) < 2 or token in _STOP:
            continue
        stem = _stem(token)
        if stem not in _STOP:
            out.add(stem)
    return out


@dataclass(frozen=True)
class _Claim:
    """What one clause of a comment says changed."""

    clause: str
    sentence: str
    direction: int  # +1 up, -1 down, 0 unstated
    direction_words: tuple[str, ...]
    amounts: tuple[float, ...]
    percents: tuple[float, ...]
    from_to: tuple[float, float] | None
    subject: FinancialQuarter
    base: FinancialQuarter
    quarter_signal: bool


def _to_float(text: str) -> float:
    return float(text.replace(",", ""))


def _quarter_refs(clause: str, said_for: FinancialQuarter) -> list[tuple[re.Match[str], FinancialQuarter]]:
    refs = []
    for m in _QREF.finditer(clause):
        y1, y2 = m.group("y1") or m.group("y1a"), m.group("y2") or m.group("y2a")
        if y1 is not None and y2 is not None:
            if (int(y1) + 1) % 100 != int(y2):
                continue
            q = FinancialQuarter(int(y1), int(m.group("q")))
        else:
            q = FinancialQuarter(said_for.year, int(m.group("q")))
            if q > said_for:
                q = FinancialQuarter(said_for.year - 1, int(m.group("q")))
        refs.append((m, q))
    return refs


def _parse_claim(clause: str, sentence: str, said_for: FinancialQuarter) -> _Claim | None:
    """Read one clause, or None when it says no change or says it about a year (not a quarter) or a target."""
    refs = _quarter_refs(clause, said_for)
    without_refs = _QREF.sub(" ", clause)
    if _YEAR_MENTION.search(without_refs) or re.search(r"\btargets?\b", clause, re.I):
        return None
    ups, downs, words = 0, 0, []
    amounts: list[float] = []
    percents: list[float] = []
    for m in _DIRECTION.finditer(clause):
        if _NEGATED.search(clause[: m.start()]):
            return None
        up = bool(m.group("up") or m.group("upby"))
        ups, downs = ups + up, downs + (not up)
        words.append(m.group(0).lower())
        after = _AMOUNT_AFTER.match(clause, m.end())
        if after is not None:
            (percents if after.group("pct") else amounts).append(_to_float(after.group("num")))
    for m in _EXTRA.finditer(clause):
        up = m.group("dir").lower() != "fewer"
        ups, downs = ups + up, downs + (not up)
        amounts.append(_to_float(m.group("num")))
    from_to = _FROM_TO.search(clause)
    if ups and downs:
        return None
    if not (ups or downs or from_to):
        return None
    base = subject = None
    others = []
    for m, q in refs:
        before = clause[: m.start()]
        if from_to is not None and from_to.start() <= m.start() <= from_to.end():
            if base is None:
                base = q
            else:
                subject = q
        elif _BASE_BEFORE.search(before):
            base = q
        elif _SUBJECT_BEFORE.search(before) and subject is None:
            subject = q
        else:
            others.append(q)
    if subject is None and len(set(others)) == 1:
        subject = others[0]
    subject = subject or said_for
    base = base or subject.previous()
    if base == subject:  # "up on Q2" said in Q2: the same quarter a year before
        base = FinancialQuarter(subject.year - 1, subject.number)
    if base > subject:
        return None
    return _Claim(
        clause=clause.strip(),
        sentence=sentence.strip(),
        direction=1 if ups else (-1 if downs else 0),
        direction_words=tuple(words),
        amounts=tuple(amounts),
        percents=tuple(percents),
        from_to=(_to_float(from_to.group("a")), _to_float(from_to.group("b"))) if from_to else None,
        subject=subject,
        base=base,
        quarter_signal=bool(refs) or bool(_QUARTER_WORD.search(clause)),
    )


def _kpi_named(ctx: _Ctx, text: str) -> KpiLike | None:
    """The one KPI whose name shares the most word stems with the text (strictly more than any other)."""
    words = _stems(text)
    scored = sorted(((len(words & _stems(k.name)), i) for i, k in enumerate(ctx.figures.kpis)), reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return ctx.figures.kpis[scored[0][1]]


def _identify(ctx: _Ctx, claim: _Claim) -> KpiLike | None:
    """The one KPI the clause is about: the KPI whose name shares the most word stems with it (strictly more
    than any other); when no KPI shares a word, the one KPI whose actual changed by exactly the stated amount."""
    words = _stems(claim.clause)
    if any(words & _stems(k.name) for k in ctx.figures.kpis):
        return _kpi_named(ctx, claim.clause)
    if not claim.amounts or claim.direction == 0:
        return None
    matches = []
    for kpi in ctx.figures.kpis:
        a, b = ctx.q(kpi.code, claim.base, "actual"), ctx.q(kpi.code, claim.subject, "actual")
        if a is not None and b is not None and any(abs((b - a) - claim.direction * n) <= 0.5 for n in claim.amounts):
            matches.append(kpi)
    return matches[0] if len(matches) == 1 else None


def _check_comments(ctx: _Ctx) -> Iterator[Finding]:
    for said_label, text in ctx.figures.comments:
        said_for = _parse_quarter(said_label)
        if said_for is None:
            continue
        for sentence in _SENTENCES.split(text):
            yield from _sentence_claims(ctx, sentence, said_for)
            for clause in _SPLIT.split(sentence):
                claim = _parse_claim(clause, sentence, said_for) if clause.strip() else None
                kpi = _identify(ctx, claim) if claim is not None else None
                finding = _compare_claim(ctx, kpi, claim, said_for) if kpi is not None and claim is not None else None
                if finding is not None:
                    yield finding


# What a sentence says of targets and returns ----------------------------------------------------------------
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_TARGET_MET = re.compile(
    r"\b(?:achieved|met|reached|exceeded|surpassed)\s+(?:the\s+|its\s+|their\s+)?targets?\b"
    r"\s+for\s+the\s+first\s+(?P<n>\d|one|two|three|four|five)\s+years?\b", re.I)
_QUARTER_TARGET_MET = re.compile(
    rf"\bQ(?P<q>[1-4])\s+targets?\s+(?:was|were|has\s+been|have\s+been|is)\s+(?:(?P<adv>[a-z]+)\s+)?"
    rf"(?:met|achieved|exceeded|reached)\b(?:\s+by\s+(?:(?P<qual>over|more\s+than|about|around|nearly|almost)\s+)?"
    rf"(?P<pct>{_NUMBER})\s*%)?(?:\s+(?:from|on|against)\s+the\s+(?:set\s+)?(?P<set>{_NUMBER})\s+target)?", re.I)
_TARGET_NOT_SET = re.compile(
    r"\b(?P<y1>\d{4})\s*[/-]\s*(?P<y2>\d{2})\s+targets?\s+(?:(?:has|have|was|were|is|are)\s+)?(?:been\s+)?not\s+"
    r"(?:yet\s+)?(?:been\s+)?(?:set|agreed)\b", re.I)
_NOT_RETURNED = re.compile(
    r"\bKPIs?\b[^.;]*?\b(?:not|never)\s+(?:been\s+|yet\s+)?(?:answered|returned|reported|submitted|provided)\b|"
    r"\bno\s+(?:Q[1-4]\s+)?KPIs?\s+(?:(?:were|was|have\s+been|has\s+been)\s+)?"
    r"(?:answered|returned|reported|submitted|provided)\b", re.I)


def _comment_finding(kpi: KpiLike, periods: Iterable[str], said_for: FinancialQuarter, sentence: str,
                     verdict: str) -> Finding:
    finding = _finding("comment_contradicts_table", kpi, periods, "actual",
                       f"A comment for {said_for.heading} says “{sentence.strip()}”, but {verdict}.")
    return Finding(finding.rule, finding.severity, finding.kpi_code, finding.periods, finding.measure,
                   finding.message, False)


def _sentence_claims(ctx: _Ctx, sentence: str, said_for: FinancialQuarter) -> Iterator[Finding]:
    """A target said to be met (for the first N years, or a quarter's target, by a stated margin), a year's
    target said not to be set, KPIs said not to be returned for a quarter: each against the table."""
    for m in _TARGET_MET.finditer(sentence):
        kpi = _kpi_named(ctx, sentence)
        if kpi is not None and not _NEGATED.search(sentence[: m.start()]):
            n = m.group("n").lower()
            yield from _years_met(ctx, kpi, int(_WORD_NUMBERS.get(n, n)), sentence, said_for)
    for m in _QUARTER_TARGET_MET.finditer(sentence):
        kpi = _kpi_named(ctx, sentence)
        if kpi is not None and (m.group("adv") or "").lower() not in ("not", "never"):
            yield from _quarter_met(ctx, kpi, m, sentence, said_for)
    for m in _TARGET_NOT_SET.finditer(sentence):
        year = _parse_year(f"{m.group('y1')}-{m.group('y2')}")
        if year is not None:
            yield from _targets_not_set(ctx, year, sentence, said_for)
    if _NOT_RETURNED.search(sentence):
        yield from _not_returned(ctx, sentence, said_for)


def _year_of(label: str) -> _Year | None:
    q = _parse_quarter(label)
    return _Year(q.year) if q is not None else _parse_year(label)


def _year_end(ctx: _Ctx, kpi: KpiLike, year: _Year) -> tuple[float | None, float | None]:
    """(the year's target, the most the table credits the KPI with for the year): its Q4 to date, year column or
    quarters' sum, whichever is highest."""
    q4 = FinancialQuarter(year.year, 4)
    target = ctx.get(kpi.code, year.label, "target")
    target = target if target is not None else ctx.q(kpi.code, q4, "target")
    quarters = [ctx.q(kpi.code, q, "actual") for q in year.quarters()]
    found = [ctx.q(kpi.code, q4, "actual_to_date"), ctx.get(kpi.code, year.label, "actual"),
             ctx.get(kpi.code, year.label, "actual_to_date"),
             sum(v for v in quarters if v is not None) if all(v is not None for v in quarters) else None]
    present = [v for v in found if v is not None]
    return target, (max(present) if present else None)


def _years_met(ctx: _Ctx, kpi: KpiLike, count: int, sentence: str, said_for: FinancialQuarter) -> Iterator[Finding]:
    """"achieved the target for the first N years": the first N years the table gives the KPI a target."""
    if kpi.target_kind not in ("cumulative", "annual") or getattr(kpi, "polarity", "high_is_good") != "high_is_good":
        return
    years = sorted({y for c, p, m in ctx.figures.values if c == kpi.code and m == "target"
                    and (ctx.get(c, p, m) or 0) > 0 for y in [_year_of(p)] if y is not None})[:count]
    if len(years) < count:
        return
    missed = []
    for year in years:
        target, best = _year_end(ctx, kpi, year)
        if target is None or best is None:
            return
        if best < target - _half_unit(target, kpi):
            missed.append((year, best, target))
    if missed:
        listed = " and ".join(f"{y.heading} ({_num(b)} against {_num(t)})" for y, b, t in missed)
        yield _comment_finding(kpi, [y.label for y, _b, _t in missed], said_for, sentence,
                               f"{kpi.name} missed its target in {listed}")


def _quarter_met(ctx: _Ctx, kpi: KpiLike, m: re.Match[str], sentence: str,
                 said_for: FinancialQuarter) -> Iterator[Finding]:
    q = FinancialQuarter(said_for.year, int(m.group("q")))
    q = FinancialQuarter(q.year - 1, q.number) if q > said_for else q
    target, actual, td = (ctx.q(kpi.code, q, "target"), ctx.q(kpi.code, q, "actual"),
                          ctx.q(kpi.code, q, "actual_to_date"))
    if target is None or target <= 0 or getattr(kpi, "polarity", "high_is_good") != "high_is_good":
        return
    readings = [(v, w) for v, w in ((td, "to date"), (actual, "in the quarter")) if v is not None]
    if kpi.target_kind not in ("cumulative", "running"):
        readings = [(v, w) for v, w in readings if w == "in the quarter"]
    if not readings:
        return
    problems = []
    half = _half_unit(target, kpi)
    if m.group("set") and abs(_to_float(m.group("set")) - target) > half:
        problems.append(f"the table's target for {q.heading} is {_num(target)}, not {m.group('set')}")
    listed = " and ".join(f"{_num(v)} {w}" for v, w in readings)
    if all(v < target - half for v, _w in readings):
        problems.append(f"{kpi.name} is {listed} against a target of {_num(target)}: the target was missed")
    elif m.group("pct"):
        stated, allow = _to_float(m.group("pct")), 0.5 + ctx.tolerance
        above = 1.0 if (m.group("qual") or "").lower() in ("over", "more than") else 0.0
        margins = [(100 * (v - target) / target, v, w) for v, w in readings]
        if not any(stated - allow <= g <= stated + above + allow for g, _v, _w in margins):
            said = " and ".join(f"{_num(v)} {w} is {_pct(g)} over it" for g, v, w in margins)
            why = ""
            if actual and td and abs(100 * actual / td - stated) <= allow + above:
                why = (f" ({_num(stated)}% is {_num(actual)} ÷ {_num(td)}, the quarter's figure as a share of the "
                       f"running total)")
            problems.append(f"against the target of {_num(target)} for {q.heading}, {said}, not {_num(stated)}%{why}")
    if problems:
        yield _comment_finding(kpi, [q.label], said_for, sentence, "; ".join(problems))


def _targets_not_set(ctx: _Ctx, year: _Year, sentence: str, said_for: FinancialQuarter) -> Iterator[Finding]:
    """A year's target said not to be set, while the table prints targets (other than 0, the report's "no
    target") for that year: said of the KPI the sentence names, else of every KPI with one."""
    named = _kpi_named(ctx, _TARGET_NOT_SET.sub(" ", sentence))
    for kpi in [named] if named is not None else ctx.figures.kpis:
        targets = sorted(((p, ctx.get(c, p, m)) for c, p, m in ctx.figures.values
                          if c == kpi.code and m == "target" and _year_of(p) == year), key=lambda i: _sort_key(i[0]))
        printed = [(p, t) for p, t in targets if t is not None and t > 0]
        if printed:
            listed = ", ".join(f"{_num(t)} ({_heading(p)})" for p, t in printed)
            yield _comment_finding(kpi, [p for p, _t in printed], said_for, sentence,
                                   f"the table prints {year.heading} targets for {kpi.name}: {listed}")


def _not_returned(ctx: _Ctx, sentence: str, said_for: FinancialQuarter) -> Iterator[Finding]:
    """KPIs said not to be returned for one named quarter, while the table prints actuals for it."""
    quarters = {q for _m, q in _quarter_refs(sentence, said_for)}
    if len(quarters) != 1:
        return
    q = quarters.pop()
    named = _kpi_named(ctx, sentence)
    for kpi in [named] if named is not None else ctx.figures.kpis:
        value = ctx.q(kpi.code, q, "actual")
        if value is not None:
            yield _comment_finding(kpi, [q.label], said_for, sentence,
                                   f"the table prints {_num(value)} for {kpi.name} in {q.heading}")


def _compare_claim(ctx: _Ctx, kpi: KpiLike, claim: _Claim, said_for: FinancialQuarter) -> Finding | None:
    before, after = ctx.q(kpi.code, claim.base, "actual"), ctx.q(kpi.code, claim.subject, "actual")
    if before is None or after is None:
        return None
    name_words = _TOKEN.findall(kpi.name.lower())
    direction = claim.direction
    if direction and claim.direction_words and all(
            any(n.startswith(w[:5]) for n in name_words) for w in claim.direction_words):
        direction = 0  # the direction word is part of the KPI's name ("showing a major reduction")
    running = ""
    if direction and not claim.quarter_signal and ctx.has_measure(kpi.code, "actual_to_date"):
        running = _running_sum_note(ctx, kpi, claim)
        direction = direction if running else 0  # "an increase" may mean the to date: judged only when it cannot
    change = after - before
    allow = max(_half_unit(before, kpi), _half_unit(after, kpi))
    problems: list[str] = []
    right: list[str] = []
    if direction and (direction * change < 0 or abs(change) <= allow):
        moved = "stayed the same" if abs(change) <= allow else ("a rise" if change > 0 else "a fall")
        said = "a rise" if direction > 0 else "a fall"
        problems.append(f"that is {moved}{'' if abs(change) <= allow else ' of ' + _num(abs(change))}, not {said}")
    elif direction:
        word = "a rise" if change > 0 else "a drop"
        for n in claim.amounts:
            if abs(abs(change) - n) <= allow:
                right.append(f"{word} of {_num(n)} is right")
            else:
                problems.append(f"that is {word} of {_num(abs(change))}, not {_num(n)}")
        for p in claim.percents:
            if abs(before) < _EPS:
                continue
            exact = 100 * abs(change) / abs(before)
            if kpi.unit == "percent" and abs(abs(change) - p) <= allow + ctx.tolerance:
                right.append(f"a change of {_num(abs(change))} percentage points is right")
            elif abs(exact - p) > 0.5 + ctx.tolerance:
                because = _percent_explanation(ctx, kpi, claim, p)
                problems.append(f"{_num(abs(change))} ÷ {_num(before)} = {_pct(exact)}, not {_num(p)}%{because}")
            else:
                right.append(f"{_num(abs(change))} ÷ {_num(before)} = {_pct(exact)} is right")
    if claim.from_to is not None:
        a, b = claim.from_to
        if abs(a - before) > allow or abs(b - after) > allow:
            problems.append(f"the comment says from {_num(a)} to {_num(b)}")
    if not problems:
        return None
    moved = (f"went from {_num(before)} in {claim.base.heading} to {_num(after)} in {claim.subject.heading}"
             if abs(change) > allow else f"was {_num(after)} in both {claim.base.heading} and {claim.subject.heading}")
    verdict = "; ".join(problems) + running
    if right:
        verdict = f"{' and '.join(right)}, but {verdict}"
    finding = _finding(
        "comment_contradicts_table", kpi, [claim.base.label, claim.subject.label], "actual",
        f"A comment for {said_for.heading} says “{claim.sentence}”, but {kpi.name} {moved}: {verdict}.",
    )
    return Finding(finding.rule, finding.severity, finding.kpi_code, finding.periods, finding.measure,
                   finding.message, False)


def _running_sum_note(ctx: _Ctx, kpi: KpiLike, claim: _Claim) -> str:
    """A change said of a KPI that also prints a to date, without naming the quarter: when the to date is the year's
    running sum (the previous to date plus the quarter's actual, Q2 on), which only ever rises, the comment can only
    be about the quarter's figure. Returns the words saying so, or "" when the to date is not such a sum."""
    subject, base = claim.subject, claim.base
    if subject.number == 1 or base != subject.previous():
        return ""
    td_before, td_after = ctx.q(kpi.code, base, "actual_to_date"), ctx.q(kpi.code, subject, "actual_to_date")
    actual = ctx.q(kpi.code, subject, "actual")
    if td_before is None or td_after is None or actual is None:
        return ""
    if abs(td_after - (td_before + actual)) > _half_unit(td_after, kpi):
        return ""
    return (f" (the running total to date went from {_num(td_before)} to {_num(td_after)}, but a running total only "
            f"ever rises within a year, so the comment is read as about the quarter's figure)")


def _percent_explanation(ctx: _Ctx, kpi: KpiLike, claim: _Claim, stated: float) -> str:
    """Say what the stated percentage does match, when something obvious does."""
    after = ctx.q(kpi.code, claim.subject, "actual")
    before = ctx.q(kpi.code, claim.base, "actual")
    if after is None or before is None:
        return ""
    change = abs(after - before)
    td = ctx.q(kpi.code, claim.subject, "actual_to_date")
    if td and abs(100 * change / td - stated) <= 0.5:
        return (f" ({_num(stated)}% is {_num(change)} ÷ {_num(td)}, the actual to date for {claim.subject.heading}: "
                f"the change was divided by the running total)")
    prev = claim.subject.previous()
    prev_value = ctx.q(kpi.code, prev, "actual")
    if prev != claim.base and prev_value and abs(100 * abs(after - prev_value) / prev_value - stated) <= 0.5:
        return (f" ({_num(stated)}% is the change from {prev.heading}: {_num(prev_value)} to {_num(after)}, "
                f"{_pct(100 * abs(after - prev_value) / prev_value)})")
    if after and abs(100 * change / after - stated) <= 0.5:
        return f" ({_num(stated)}% is {_num(change)} ÷ {_num(after)}, the change divided by the new figure)"
    return ""


# -- the entry point ---------------------------------------------------------------------------------------------
_CHECKS = (
    _check_percent_over_100,
    _check_percent_ratios,
    _check_fixed_denominators,
    _check_percent_counts,
    _check_parts,
    _check_bases,
    _check_to_dates,
    _check_duplicated,
    _check_annual,
    _check_targets,
    _check_after_quarter,
    _check_ratings,
    _check_comments,
)


def check_service(figures: ServiceFigures, *, percent_tolerance_points: float = 0.5) -> list[Finding]:
    """Every consistency finding for one service's figures, rule by rule, oldest period first within a rule."""
    ctx = _Ctx(figures, percent_tolerance_points)
    findings: list[Finding] = []
    for check in _CHECKS:
        findings.extend(check(ctx))
    return findings
