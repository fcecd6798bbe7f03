"""What the quarterly performance report shows, as plain data (assembled from the warehouse by
``data.py``, rendered to HTML, PDF and XLSX by ``render.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class PhofRow:
    """One PHOF indicator on a service page: the home area's latest value against England."""

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


@dataclass(frozen=True)
class KpiCell:
    value: float | None
    missing_reason: str | None = None   # shown instead of a number (never 0)


@dataclass(frozen=True)
class KpiRow:
    """One KPI with its figures by financial-year quarter: quarters like '2017-18-Q1'."""

    code: str
    name: str
    unit: str                  # count, percent, rate, score, currency, days
    target_kind: str           # none, per_quarter, cumulative, annual, half_yearly
    section: str | None
    information_only: bool
    target: dict[str, KpiCell]
    actual: dict[str, KpiCell]
    actual_to_date: dict[str, KpiCell]
    assessment: str            # met, near_miss, missed, no_target, no_data
    assessment_note: str | None = None


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
    quarters: list[str]        # the KPI table's quarter columns, oldest first
    phof: list[PhofRow]
    kpis: list[KpiRow]
    comments: list[Comment]
    actions: list[Action]
    warnings: list[DataWarning]


@dataclass(frozen=True)
class ReportData:
    quarter: str               # 2017-18-Q2
    quarter_label: str         # "2017/18 Quarter 2 (July to September 2017)"
    area_code: str
    area_name: str
    generated_at: datetime
    services: list[ServicePage]
    batches: list[int] = field(default_factory=list)   # audit.load_batch ids behind the figures
