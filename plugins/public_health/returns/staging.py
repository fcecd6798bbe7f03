"""A parsed return as a frame ready for the gate: one row per figure, indexed by where it was read,
with the derived columns the checks in ``include/expectations/provider_kpi_values.json`` test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    (used when the return itself does not carry the previous quarter)."""
    frame = parsed.frame().copy()
    # The frame holds quarter labels; each row's quarter is its figure's (frame() keeps their order).
    quarters: list[FinancialQuarter] = [v.period for v in parsed.values]
    own: FinancialQuarter = parsed.period
    service = services.get(parsed.service_code)
    kpis = {k.code: k for k in service.kpis} if service is not None else {}
    location = [f"{s}!{c}" if s else str(c) for s, c in zip(frame["sheet"], frame["cell"], strict=True)]
    frame.index = pd.Index(location, name="location")
    frame["kpi_key"] = frame["service_code"] + "|" + frame["kpi_code"]

    # Figures belong to the return's financial year (an error otherwise); only targets may run ahead of its
    # quarter (a later quarter's actual is a warning: published reports have printed them, so they load).
    frame["period_in_return_year"] = [q.year == own.year for q in quarters]
    frame["period_not_after_return"] = [
        q <= own or m == "target" for q, m in zip(quarters, frame["measure"], strict=True)
    ]

    values: dict[Key, float | None] = dict(previous or {})
    for row in frame.itertuples():
        values[(row.kpi_code, row.period, row.measure)] = None if pd.isna(row.value) else float(row.value)

    unit = frame["kpi_code"].map(lambda c: getattr(kpis.get(c), "unit", None))
    decimals = frame["kpi_code"].map(lambda c: getattr(kpis.get(c), "decimals", None) or 0)
    is_pct = (unit == "percent") & frame["measure"].isin(["target", "actual", "actual_to_date"])
    frame["percent_value"] = frame["value"].where(is_pct)
    is_count = (unit == "count") & (frame["measure"] != "target")
    frame["count_value"] = frame["value"].where(is_count)
    whole_required = is_count & (decimals == 0)
    frame["count_fraction"] = (frame["value"] % 1).where(whole_required & frame["value"].notna())

    numerators, denominators, gaps, to_date, change = [], [], [], [], []
    for quarter, row in zip(quarters, frame.itertuples(), strict=True):
        kpi = kpis.get(row.kpi_code)
        num = den = gap = drop = pct_change = None
        if kpi is not None and row.measure == "actual" and getattr(kpi, "numerator_kpi", None):
            num = values.get((kpi.numerator_kpi, row.period, "actual"))
            den = values.get((kpi.denominator_kpi, row.period, "actual"))
            if getattr(kpi, "unit", None) == "percent" and num is not None and den and not pd.isna(row.value):
                gap = abs(float(row.value) - 100.0 * num / den)
        cumulative_count = kpi is not None and kpi.target_kind == "cumulative" and kpi.unit == "count"
        if cumulative_count and row.measure == "actual_to_date" and not pd.isna(row.value):
            if quarter.number > 1:
                before = values.get((row.kpi_code, quarter.previous().label, "actual_to_date"))
                if before is not None:
                    drop = float(row.value) - before
        if kpi is not None and row.measure == "actual" and not pd.isna(row.value):
            before = values.get((row.kpi_code, quarter.previous().label, "actual"))
            if before:
                pct_change = 100.0 * (float(row.value) - before) / abs(before)
        numerators.append(num)
        denominators.append(den)
        gaps.append(gap)
        to_date.append(drop)
        change.append(pct_change)
    frame["numerator"] = pd.array(numerators, dtype="Float64")
    frame["denominator"] = pd.array(denominators, dtype="Float64")
    frame["percent_gap"] = pd.array(gaps, dtype="Float64")
    frame["to_date_change"] = pd.array(to_date, dtype="Float64")
    frame["change_vs_previous_pct"] = pd.array(change, dtype="Float64")
    return frame


def gate_parameters(services: Mapping[str, Any], tolerance_points: float, change_warning_pct: float) -> dict[str, Any]:
    return {
        "known_services": sorted(services),
        "known_kpis": sorted(f"{code}|{k.code}" for code, s in services.items() for k in s.kpis),
        "percent_tolerance_points": tolerance_points,
        "change_warning_pct": change_warning_pct,
        "change_warning_pct_negative": -change_warning_pct,
    }
