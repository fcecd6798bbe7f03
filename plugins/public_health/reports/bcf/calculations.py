"""Pure Better Care Fund (BCF) calculations: NEA apportionment, reductions, risk share, plan vs actual.

Worked examples are the Leicestershire HWB papers of 2016 (see ``tests/unit/test_bcf_calculations.py``).
No function here treats a missing figure as 0: a missing actual gives ``None`` variances and an
``on_track`` of ``None``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

Polarity = Literal["lower", "higher", "neither"]
#: A period key of a plan: a FinancialQuarter in the return, or any key (``"Q1"``, ``"year"``).
P = TypeVar("P", bound=Hashable)


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


def apportion_nea(ccgs: Iterable[Any]) -> list[float]:
    """HWB quarterly NEA plan: for each quarter, Σ over CCGs of CCG plan × resident share.

    ``ccgs`` are :class:`~public_health.reports.bcf.config.CcgNeaPlan` objects or mappings with
    ``quarterly_plan`` (four numbers) and ``resident_share`` (0-1). Unrounded; round for display.
    """
    totals: list[float] | None = None
    for ccg in ccgs:
        plan = list(_get(ccg, "quarterly_plan"))
        share = float(_get(ccg, "resident_share"))
        if not 0 <= share <= 1:
            raise ValueError(f"resident_share must be between 0 and 1, got {share}")
        if totals is None:
            totals = [0.0] * len(plan)
        if len(plan) != len(totals):
            raise ValueError("every CCG needs the same number of quarters")
        totals = [t + float(p) * share for t, p in zip(totals, plan, strict=True)]
    if totals is None:
        raise ValueError("no CCGs to apportion")
    return totals


def planned_reduction(
    hwb_plan: Sequence[float],
    *,
    reduction: Sequence[float] | None = None,
    reduction_pct: float | None = None,
) -> list[float]:
    """Additional BCF reduction per quarter: given directly, or ``reduction_pct`` % of the plan."""
    if (reduction is None) == (reduction_pct is None):
        raise ValueError("give exactly one of reduction or reduction_pct")
    if reduction is not None:
        if len(reduction) != len(hwb_plan):
            raise ValueError("reduction needs one figure per quarter of the plan")
        return [float(r) for r in reduction]
    assert reduction_pct is not None
    return [float(p) * reduction_pct / 100 for p in hwb_plan]


def plan_after_reduction(hwb_plan: Sequence[float], reduction: Sequence[float]) -> list[float]:
    """HWB NEA plan after the additional BCF reduction, quarter by quarter."""
    if len(reduction) != len(hwb_plan):
        raise ValueError("reduction needs one figure per quarter of the plan")
    return [float(p) - float(r) for p, r in zip(hwb_plan, reduction, strict=True)]


def reduction_pct(plan: float, reduction: float) -> float:
    """The reduction as a percentage of the plan (the template's 'Plan Reduction %')."""
    if plan == 0:
        raise ValueError("plan is 0: no percentage")
    return float(reduction) / float(plan) * 100


def risk_share_value(avoided_admissions: float, cost_per_admission: float | None) -> float | None:
    """Value of the risk share: cost of the non-elective activity the plan seeks to avoid."""
    if cost_per_admission is None:
        return None
    return float(avoided_admissions) * float(cost_per_admission)


@dataclass(frozen=True)
class PlanActualRow(Generic[P]):
    """One period of plan vs actual (``period`` is the plan's key for it). ``variance`` is actual − plan
    (positive: above plan)."""

    period: P
    plan: float | None
    actual: float | None
    variance: float | None
    variance_pct: float | None
    ytd_plan: float | None
    ytd_actual: float | None
    ytd_variance: float | None
    on_track: bool | None


def _on_track(plan: float | None, actual: float | None, polarity: Polarity) -> bool | None:
    if plan is None or actual is None or polarity == "neither":
        return None
    return actual <= plan if polarity == "lower" else actual >= plan


def plan_vs_actual(
    plan: Mapping[P, float | None],
    actual: Mapping[P, float | None],
    polarity: Polarity,
    *,
    cumulative: bool = True,
) -> list[PlanActualRow[P]]:
    """Rows in the plan's period order with variance, variance %, year to date and on-track.

    A period whose actual is missing (absent or ``None``) has ``None`` variance and ``on_track``;
    the year-to-date actual becomes ``None`` from the first missing actual on, because a sum with a
    gap is not a year-to-date figure. With ``cumulative=True`` (counts such as admissions)
    ``on_track`` compares the year-to-date actual with the year-to-date plan. ``cumulative=False``
    (rates and percentages that cannot be summed) leaves the year-to-date fields ``None`` and
    judges each period on its own.
    """
    if polarity not in ("lower", "higher", "neither"):
        raise ValueError(f"polarity must be 'lower', 'higher' or 'neither', got {polarity!r}")
    unknown = [k for k in actual if k not in plan]
    if unknown:
        raise ValueError(f"actuals for periods not in the plan: {unknown}")
    rows: list[PlanActualRow[P]] = []
    ytd_p: float | None = 0.0
    ytd_a: float | None = 0.0
    for period, p in plan.items():
        a = actual.get(period)
        variance = None if p is None or a is None else a - p
        variance_pct = None if variance is None or not p else variance / p * 100
        if cumulative:
            ytd_p = None if ytd_p is None or p is None else ytd_p + p
            ytd_a = None if ytd_a is None or a is None else ytd_a + a
            ytd_v = None if ytd_p is None or ytd_a is None else ytd_a - ytd_p
            on_track = _on_track(ytd_p, ytd_a, polarity) if a is not None else None
            rows.append(PlanActualRow(period, p, a, variance, variance_pct, ytd_p, ytd_a, ytd_v, on_track))
        else:
            rows.append(
                PlanActualRow(period, p, a, variance, variance_pct, None, None, None, _on_track(p, a, polarity))
            )
    return rows


def pay_for_performance(planned_reduction: float, achieved_reduction: float | None, amount: float) -> float | None:
    """Amount released in proportion to the reduction achieved: capped at 100%, floored at 0.

    ``None`` when the achieved reduction is not known (never assumed 0).
    """
    if planned_reduction <= 0:
        raise ValueError(f"planned_reduction must be positive, got {planned_reduction}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if achieved_reduction is None:
        return None
    fraction = min(max(float(achieved_reduction) / float(planned_reduction), 0.0), 1.0)
    return float(amount) * fraction
