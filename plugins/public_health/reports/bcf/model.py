"""Plain data for the Better Care Fund (BCF) quarterly return and its board summary.

The shapes follow the national 2016/17 BCF quarterly reporting template (see the Leicestershire
HWB papers, 2016): a cover sheet with sign-off, the six BCF metrics (four national, two local)
with plan and actual by quarter, confirmation of the eight national conditions, narrative
commentary and the non-elective admission (NEA) activity plan mapped to the HWB footprint.

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
    gap_notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NationalCondition:
    """One of the BCF national conditions and whether the HWB confirms it is met."""

    code: str
    text: str
    confirmed: bool | None = None
    note: str | None = None


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
    #: Officer / provider free text keyed like "progress", "challenges", "plans_next_quarter".
    narrative: dict[str, str] = field(default_factory=dict)
    #: Labels of the cover-sheet sign-off fields, left blank for people to fill in.
    sign_off_fields: list[str] = field(default_factory=list)
    #: NEA plan table rows: label -> [Q1, Q2, Q3, Q4, total] (None where unknown).
    nea: dict[str, list[float | None]] | None = None
