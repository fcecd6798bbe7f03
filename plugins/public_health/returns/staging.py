"""A parsed return as a frame ready for the gate: one row per figure, indexed by where it was read,
with the derived columns the checks in ``include/expectations/provider_kpi_values.json`` test."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from public_health.periods import FinancialQuarter
from public_health.returns.cells import ParsedReturn

Key = tuple[str, str, str]  # (kpi_code, period label, measure), as the warehouse keys figures


def stage_return(
    parsed: ParsedReturn,
    services: Mapping[str, Any],
    previous: Mapping[Key, float | None] | None = None,
) -> pd.DataFrame:
    """``parsed``: the return as read. ``previous``: figures the warehouse already holds for the service
    (used when the return itself does not carry the previous quarter); see :func:`figures_before`."""
    frame = parsed.frame()   # a new frame of its own
    figures = parsed.values
    # The frame holds quarter labels; each row's quarter is its figure's (frame() keeps their order).
    quarters: list[FinancialQuarter] = [v.period for v in figures]
    own: FinancialQuarter = parsed.period
    service = services.get(parsed.service_code)
    kpis = {k.code: k for k in service.kpis} if service is not None else {}
    location = [f"{s}!{c}" if s else str(c) for s, c in zip(frame["sheet"], frame["cell"], strict=True)]
    frame.index = pd.Index(location, name="location")
    derived: dict[str, Any] = {}   # the columns added, in order, set at once
    derived["kpi_key"] = pd.array([f"{s}|{k}" for s, k in zip(frame["service_code"], frame["kpi_code"], strict=True)],
                                  dtype=frame["service_code"].dtype)

    # Row by row in plain Python (a return is tens of rows: pandas per-column operations cost more than they save).
    value = frame["value"].to_numpy(dtype="float64")
    missing = np.isnan(value)
    labels = [q.label for q in quarters]
    measures = [v.measure for v in figures]
    kpi_of = [kpis.get(v.kpi_code) for v in figures]

    # Figures belong to the return's financial year (an error otherwise); only targets may run ahead of its
    # quarter (a later quarter's actual is a warning: published reports have printed them, so they load).
    flags = bool if figures else float   # (as a column of no rows is)
    derived["period_in_return_year"] = np.array([q.year == own.year for q in quarters], dtype=flags)
    derived["period_not_after_return"] = np.array(
        [q <= own or m == "target" for q, m in zip(quarters, measures, strict=True)], dtype=flags
    )

    values: dict[Key, float | None] = dict(previous or {})
    for v, label, x, gap in zip(figures, labels, value, missing, strict=True):
        values[(v.kpi_code, label, v.measure)] = None if gap else float(x)

    unit = [getattr(k, "unit", None) for k in kpi_of]
    is_pct = np.array([u == "percent" and m in ("target", "actual", "actual_to_date") for u, m in
                       zip(unit, measures, strict=True)], dtype=bool)
    is_count = np.array([u == "count" and m != "target" for u, m in zip(unit, measures, strict=True)], dtype=bool)
    whole_required = is_count & np.array([(getattr(k, "decimals", None) or 0) == 0 for k in kpi_of], dtype=bool)
    derived["percent_value"] = np.where(is_pct, value, np.nan)
    derived["count_value"] = np.where(is_count, value, np.nan)
    with np.errstate(invalid="ignore"):
        derived["count_fraction"] = np.where(whole_required & ~missing, np.mod(value, 1), np.nan)

    numerators, denominators, gaps, to_date, change = [], [], [], [], []
    for quarter, label, v, kpi, x, gap in zip(quarters, labels, figures, kpi_of, value, missing, strict=True):
        num = den = pct_gap = drop = pct_change = None
        if kpi is not None and v.measure == "actual" and getattr(kpi, "numerator_kpi", None):
            num = values.get((kpi.numerator_kpi, label, "actual"))
            den = values.get((kpi.denominator_kpi, label, "actual"))
            if getattr(kpi, "unit", None) == "percent" and num is not None and den and not gap:
                pct_gap = abs(float(x) - 100.0 * num / den)
        cumulative_count = kpi is not None and kpi.target_kind == "cumulative" and kpi.unit == "count"
        if cumulative_count and v.measure == "actual_to_date" and not gap:
            if quarter.number > 1:
                before = values.get((v.kpi_code, quarter.previous().label, "actual_to_date"))
                if before is not None:
                    drop = float(x) - before
        if kpi is not None and v.measure == "actual" and not gap:
            before = values.get((v.kpi_code, quarter.previous().label, "actual"))
            if before:
                pct_change = 100.0 * (float(x) - before) / abs(before)
        numerators.append(num)
        denominators.append(den)
        gaps.append(pct_gap)
        to_date.append(drop)
        change.append(pct_change)
    derived["numerator"] = pd.array(numerators, dtype="Float64")
    derived["denominator"] = pd.array(denominators, dtype="Float64")
    derived["percent_gap"] = pd.array(gaps, dtype="Float64")
    derived["to_date_change"] = pd.array(to_date, dtype="Float64")
    derived["change_vs_previous_pct"] = pd.array(change, dtype="Float64")
    return pd.concat([frame, pd.DataFrame(derived, index=frame.index)], axis=1)


def comparison_quarters(quarter: FinancialQuarter) -> list[FinancialQuarter]:
    """The quarters whose figures a return for ``quarter`` is compared with: the quarter before it and its
    financial year's quarters to date (the return's own figures override those held for its quarters)."""
    return [quarter.previous(), *quarter.quarters_to_date()]


def figures_before(
    parsed: ParsedReturn, held: Mapping[Key, float], earlier: Iterable[ParsedReturn] = ()
) -> dict[Key, float]:
    """The ``previous`` figures to stage ``parsed`` with, as the warehouse will hold them when its turn comes:
    ``held`` (what the warehouse held for the service when the run began) with, oldest first, the figures of each
    of ``earlier``, the run's returns before it that load (a loaded figure replaces the one held; a loaded blank
    removes it, as core then holds no value). Only the quarters of :func:`comparison_quarters` are kept, and only
    the returns of ``parsed``'s service count. Staging every file of a run from these makes the gate order-free:
    a resubmission in the same run is compared with the file before it."""
    wanted = {q.label for q in comparison_quarters(parsed.period)}
    figures = {k: v for k, v in held.items() if k[1] in wanted}
    for other in earlier:
        if other.service_code != parsed.service_code:
            continue
        for v in other.values:
            label = v.period.label
            if label not in wanted:
                continue
            key = (v.kpi_code, label, v.measure)
            if v.value is None or pd.isna(v.value):
                figures.pop(key, None)
            else:
                figures[key] = float(v.value)
    return figures


def gate_parameters(services: Mapping[str, Any], tolerance_points: float, change_warning_pct: float) -> dict[str, Any]:
    return {
        "known_services": sorted(services),
        "known_kpis": sorted(f"{code}|{k.code}" for code, s in services.items() for k in s.kpis),
        "percent_tolerance_points": tolerance_points,
        "change_warning_pct": change_warning_pct,
        "change_warning_pct_negative": -change_warning_pct,
    }
