"""Small stand-ins for the configured Service and Kpi (same attribute names), for parser and template
tests that need services the configuration does not have."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Kpi:
    code: str
    name: str
    unit: str
    polarity: str = "high_is_good"
    target_kind: str = "per_quarter"
    frequency: str = "quarterly"
    target: float | None = None
    targets: dict = field(default_factory=dict)
    numerator_kpi: str | None = None
    denominator_kpi: str | None = None
    score_scale: tuple | None = None
    decimals: int = 0


@dataclass
class Service:
    code: str
    name: str
    provider: str | None
    purpose: str | None = "Purpose"
    redacted: bool = False
    phof_indicator_ids: list = field(default_factory=list)
    return_due_days: int | None = 30
    kpis: list = field(default_factory=list)
    reference_figures: list = field(default_factory=list)
