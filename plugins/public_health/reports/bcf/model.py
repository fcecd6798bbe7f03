"""Plain data for the Better Care Fund (BCF) quarterly return and its board summary.

The shapes follow the national 2016/17 BCF quarterly reporting template (see the Leicestershire
HWB papers, 2016): a cover sheet with sign-off, the six BCF metrics (four national, two local)
with plan and actual by quarter and a status, the eight national conditions as answered, narrative
commentary, the non-elective admission (NEA) activity plan mapped to the HWB footprint, and pay for
performance / risk share. Every figure from the papers travels with its source ("Item 12, line 11074").

Everything here is frozen and holds no logic: calculations live elsewhere, rendering in
:mod:`public_health.reports.bcf.view`, ``html`` and ``xlsx``. A missing figure is ``None`` with a reason
in ``missing_note``, never ``0``. Quarters are :class:`~public_health.periods.FinancialQuarter`
objects (``BcfReturn.quarter``, ``MetricQuarter.quarter``); ``planning_year`` is the financial year
as its configuration file is named (``FinancialQuarter.financial_year``, ``2016-17``), not a quarter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from public_health.periods import FinancialQuarter


@dataclass(frozen=True)
class MetricQuarter:
    """Plan and actual for one metric in one quarter."""

    quarter: FinancialQuarter
    plan: float | None
    actual: float | None
    variance: float | None = None
    variance_pct: float | None = None
    #: Why the actual (or plan) is missing, e.g. "data released July 2017"; None when present.
    missing_note: str | None = None


@dataclass(frozen=True)
class MetricStatus:
    """How a metric is judged on the return: computed from actuals, as the papers report it, or not at
    all, always with the reason.

    ``basis`` is ``"computed"`` (plan against actual up to the reporting quarter), ``"reported"`` (the
    papers' own words for ``period``, which may be an earlier year than the return's) or ``"none"``.
    """

    on_track: bool | None
    basis: str
    reason: str
    #: Where the papers say it, e.g. "Item 13, line 11243"; None for a computed status.
    source: str | None = None
    #: The period the papers' status is for, e.g. "2015/16"; None for a computed status.
    period: str | None = None


@dataclass(frozen=True)
class MetricLine:
    """One BCF metric over the planning year."""

    code: str
    name: str
    unit: str
    frequency: str
    #: "lower" when a lower value is better (e.g. admissions), "higher" otherwise.
    polarity: str
    quarters: list[MetricQuarter]
    ytd_plan: float | None = None
    ytd_actual: float | None = None
    ytd_variance: float | None = None
    on_track: bool | None = None
    annual_plan: float | None = None
    #: Where the actuals come from, e.g. "SUS via Arden & GEM CSU".
    actual_source: str = ""
    #: Notes on the line as a whole (e.g. when an annual metric's actual comes); a missing quarter's
    #: reason is its ``MetricQuarter.missing_note``, and the view turns both into the printed notes.
    gap_notes: list[str] = field(default_factory=list)
    #: The status printed for the line; None means "judge from on_track" (computed or not assessed).
    status: MetricStatus | None = None
    #: Where the plan figures are printed in the papers, e.g. "Item 5 template, lines 2313-2316".
    plan_source: str | None = None


@dataclass(frozen=True)
class NationalCondition:
    """One of the BCF national conditions and how the HWB answers it."""

    code: str
    text: str
    confirmed: bool | None = None
    note: str | None = None
    #: The answer as the papers give it: "Yes", "No" or "No - in development"; None when unanswered.
    answer: str | None = None
    #: Where the papers give the answer (or why there is none).
    source: str | None = None


@dataclass(frozen=True)
class TableRow:
    """One row of a table as the papers print it (or worked from printed figures), with its source."""

    label: str
    #: One value per column; None where the papers print nothing.
    values: list[float | None]
    source: str = ""
    #: Pounds (printed with £) rather than a count.
    money: bool = False
    #: A row the return works out (a sum, a check) rather than one the papers print.
    worked: bool = False
    #: Detail for the workbook only (e.g. each CCG's own plan), left off the one-page summary.
    detail: bool = False


@dataclass(frozen=True)
class SourcedTable:
    """A table of figures from the papers, with notes that explain it (e.g. rounding)."""

    title: str
    columns: list[str]
    rows: list[TableRow]
    notes: list[str] = field(default_factory=list)

    def row(self, label: str) -> TableRow:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(label)


@dataclass(frozen=True)
class Amount:
    """A sum of money on the return: what it is, how it is got and where the papers print it."""

    label: str
    value: float | None
    working: str
    source: str


@dataclass(frozen=True)
class FinanceSection:
    """Pay for performance (2015) or the NEA risk share (2016-17): a table, amounts and notes."""

    title: str
    table: SourcedTable | None
    amounts: list[Amount] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BcfReturn:
    """Everything needed to fill in one quarterly BCF return and its one-page board summary."""

    planning_year: str
    quarter: FinancialQuarter
    hwb_name: str
    hwb_code: str
    generated_at: datetime
    metrics: list[MetricLine]
    conditions: list[NationalCondition] = field(default_factory=list)
    #: Why the conditions carry no answers, when the papers give none for the year.
    conditions_unanswered: str | None = None
    #: Officer / provider free text keyed like "progress", "challenges", "plans_next_quarter".
    narrative: dict[str, str] = field(default_factory=dict)
    #: Labels of the cover-sheet sign-off fields, left blank for people to fill in.
    sign_off_fields: list[str] = field(default_factory=list)
    #: The non-elective admission (NEA) plan of template section 5.1: the CCG rows as printed, the
    #: HWB totals, the reduction and the plan after it (columns Q1..Q4 and the year).
    nea: SourcedTable | None = None
    #: Pay for performance and risk share.
    finance: list[FinanceSection] = field(default_factory=list)
    #: How the outputs cite the papers: "<short> = <title>", one per paper cited.
    sources: list[str] = field(default_factory=list)
