"""What the quarterly performance report shows, as plain data (assembled from the warehouse by
``data.py``, formatted by ``view.py`` and rendered to HTML and PDF by ``html.py``, XLSX by ``xlsx.py``).

Quarters are :class:`~public_health.periods.FinancialQuarter` objects: ``ReportData.quarter``,
``ServicePage.quarters`` and the keys of ``KpiRow.target``/``actual``/``actual_to_date``. The renderers
print them from the object (``label``, ``title``, ``number``, ``financial_year``), never by re-parsing text.
(``PhofRow.period`` is a Fingertips period label as published, not a quarter.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from public_health.periods import FinancialQuarter


@dataclass(frozen=True)
class PhofRow:
    """One PHOF indicator on a service page: the home area's value for the latest period ending by the
    report quarter's end, against England's for the same period; the direction of travel is from the
    period before it."""

    indicator_id: int
    phof_code: str | None
    name: str
    unit: str | None
    period: str | None
    area_value: float | None
    area_lower: float | None
    area_upper: float | None
    england_value: float | None
    significance: str          # Better, Similar, Worse, Higher, Lower, Not compared
    direction: str             # Improving, Worsening, No significant change, Increasing, Decreasing, Not available
    previous_period: str | None = None
    previous_value: float | None = None
    note: str | None = None
    #: The indicator's data source as Fingertips publishes it (core.dim_indicator.source).
    source: str | None = None
    #: When the figures shown (this area's, the previous period's and England's) were loaded: the
    #: newest finish time of the load batches that last changed them (UTC).
    extracted_at: datetime | None = None


@dataclass(frozen=True)
class KpiCell:
    value: float | None
    missing_reason: str | None = None   # shown instead of a number (never 0)


@dataclass(frozen=True)
class KpiRow:
    """One KPI with its figures by financial-year quarter (keyed by FinancialQuarter)."""

    code: str
    name: str
    unit: str                  # count, percent, rate, score, currency, days
    target_kind: str           # none, per_quarter, cumulative, annual, half_yearly
    section: str | None
    information_only: bool
    target: dict[FinancialQuarter, KpiCell]
    actual: dict[FinancialQuarter, KpiCell]
    actual_to_date: dict[FinancialQuarter, KpiCell]
    assessment: str            # met, near_miss, missed, no_target, no_data
    assessment_note: str | None = None
    #: For a cumulative or running KPI, the to-date series its chart plots against its to-date target: the
    #: stated actual to date, or, where a finding flags it, the sum of the year's actuals (``recomputed``).
    chart_to_date: dict[FinancialQuarter, float] = field(default_factory=dict)
    recomputed: frozenset[FinancialQuarter] = frozenset()
    #: Financial-year columns (``2016-17``) the report prints before its quarters: year -> measure -> cell.
    years: dict[str, dict[str, KpiCell]] = field(default_factory=dict)


@dataclass(frozen=True)
class Comment:
    text: str
    lead: str | None
    on: date | None


@dataclass(frozen=True)
class Action:
    text: str
    action_by: date | None


@dataclass(frozen=True)
class DataWarning:
    """A data-quality finding about the service's return for the quarter (or its absence)."""

    severity: str              # error, warning
    message: str
    where: str | None = None   # sheet and cell, or file


@dataclass(frozen=True)
class Rating:
    computed: str              # Green, Amber, Red, Grey
    final: str                 # the override's rating when there is one, else computed
    reasons: list[str]
    override_rating: str | None = None
    override_reason: str | None = None
    override_by: str | None = None
    override_on: date | None = None


@dataclass(frozen=True)
class ServicePage:
    code: str
    name: str
    provider: str | None
    purpose: str | None
    redacted: bool
    rating: Rating
    return_status: str         # received_valid, received_with_warnings, quarantined, late, missing, not_yet_due
    return_file: str | None
    quarters: list[FinancialQuarter]   # the KPI table's quarter columns, oldest first
    phof: list[PhofRow]
    kpis: list[KpiRow]
    comments: list[Comment]
    actions: list[Action]
    warnings: list[DataWarning]
    #: Consistency findings over the page's figures (``quality.consistency.Finding``: rule, severity,
    #: KPI, periods, measure, message), each shown beside the figure it is about.
    findings: list[Any] = field(default_factory=list)
    #: Financial-year columns shown before the quarters (``2015-16``), oldest first: the years before the
    #: report's own for which the warehouse holds whole-year figures (imported history, say).
    years: list[str] = field(default_factory=list)
    #: The return tracker's rows: each quarter of the year to date, its return status and latest file.
    returns: list[tuple[FinancialQuarter, str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class PhofSource:
    """Where the report's PHOF figures come from, for the note on every PHOF table."""

    #: The framework, e.g. "Public Health Outcomes Framework (Fingertips profile 19)".
    profile: str | None = None
    #: Periods shown end on or before this day (the report quarter's end).
    as_of: date | None = None
    #: The newest finish time of the load batches behind the PHOF figures shown (UTC).
    extracted_at: datetime | None = None
    #: True when any figure shown was not loaded from the live Fingertips API (the offline stub, a test
    #: server, or a load with no audit record): the report then says "demonstration data".
    demonstration: bool = False
    #: Hosts the shown figures were downloaded from, sorted.
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportData:
    quarter: FinancialQuarter  # its title is the cover line: "2017/18 Quarter 2 (July to September 2017)"
    area_code: str
    area_name: str
    generated_at: datetime
    services: list[ServicePage]
    batches: list[int] = field(default_factory=list)   # audit.load_batch ids behind the figures
    phof_source: PhofSource = field(default_factory=PhofSource)
