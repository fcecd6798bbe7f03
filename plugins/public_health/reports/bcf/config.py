"""Per-planning-year Better Care Fund (BCF) configuration, ``config/bcf/<year>.yaml``.

Each national BCF year has its own metric set (2016-17 had six, 2025-26 three), so the set lives in
configuration, one file per planning year. Files are validated with
:func:`public_health.config.validate_file`, so a wrong key or value raises
:class:`~public_health.config.ConfigError` naming the file and the dotted key, e.g.
``config/bcf/2016-17.yaml: nea_plan.ccgs.1.resident_share: Input should be less than or equal to 1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from public_health.config import AREA_CODE_PATTERN, ConfigError, _rel, config_dir, validate_file

PLANNING_YEAR_PATTERN = r"^\d{4}-\d{2}$"
#: Plan keys: a financial-year quarter ("Q1".."Q4") or the whole year ("year", or "2016-17").
PERIOD_KEY_PATTERN = r"^(Q[1-4]|year|\d{4}-\d{2})$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hwb(_Strict):
    name: str = Field(min_length=1)
    area_code: str = Field(pattern=AREA_CODE_PATTERN)


class Rate(_Strict):
    """Turn a local return's count into the metric's rate: count / population x per.

    The 2016-17 template plans delayed transfers of care as delayed days per 100,000 population aged
    18+, with the population it pre-populates per quarter (sheet 5, section 5.4, row 95).
    """

    per: float = Field(gt=0, description="e.g. 100000 for a rate per 100,000")
    #: Population by period key (Q1..Q4, or 'year' for every quarter).
    population: dict[str, float] = Field(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _keys(self) -> Rate:
        import re

        bad = [k for k in self.population if not re.match(r"^(Q[1-4]|year)$", k)]
        if bad:
            raise ValueError(f"population keys must be Q1..Q4 or 'year', got {bad}")
        small = [k for k, v in self.population.items() if v <= 0]
        if small:
            raise ValueError(f"population must be positive, not for {small}")
        return self

    def denominator(self, quarter: int) -> float | None:
        return self.population.get(f"Q{quarter}", self.population.get("year"))


class ActualSource(_Strict):
    """Where the actuals for a metric come from."""

    kind: Literal["fingertips", "local_return", "none"]
    indicator_id: int | None = Field(default=None, ge=1, description="Fingertips indicator id")
    service_code: str | None = Field(default=None, description="config/services/<code>.yaml of the return")
    kpi_code: str | None = Field(default=None, description="KPI code within that service's return")
    #: For a local return: divide the count by another KPI of the same return (e.g. delayed days by
    #: delayed discharges for an average length of delay).
    denominator_kpi_code: str | None = None
    #: For a local return: turn the count into a rate per population.
    rate: Rate | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ActualSource:
        if self.kind == "fingertips" and self.indicator_id is None:
            raise ValueError("kind 'fingertips' needs an indicator_id")
        if self.kind == "local_return" and not (self.service_code and self.kpi_code):
            raise ValueError("kind 'local_return' needs a service_code and a kpi_code")
        if self.kind != "local_return" and (self.rate or self.denominator_kpi_code or self.kpi_code):
            raise ValueError(f"kpi_code, denominator_kpi_code and rate are only for kind 'local_return' "
                             f"(kind is {self.kind!r})")
        if self.rate is not None and self.denominator_kpi_code is not None:
            raise ValueError("give rate or denominator_kpi_code, not both")
        if self.kind != "fingertips" and self.indicator_id is not None:
            raise ValueError(f"indicator_id is only for kind 'fingertips' (kind is {self.kind!r})")
        return self


class BcfMetric(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, description="The metric's name exactly as the source papers give it")
    unit: str = Field(min_length=1)
    frequency: Literal["quarterly", "annual"]
    #: "lower" when a lower value is better (admissions, delays), "higher" when higher is better.
    polarity: Literal["lower", "higher", "neither"]
    #: Planned value by period key ("Q1".."Q4" or "year"); empty when no plan is known.
    plan: dict[str, float] = Field(default_factory=dict)
    actual_source: ActualSource
    definition: str | None = None

    @model_validator(mode="after")
    def _plan_keys(self) -> BcfMetric:
        import re

        bad = [k for k in self.plan if not re.match(PERIOD_KEY_PATTERN, k)]
        if bad:
            raise ValueError(f"plan keys must be Q1..Q4, 'year' or a planning year like 2016-17, got {bad}")
        quarters = [k for k in self.plan if k.startswith("Q")]
        if self.frequency == "annual" and quarters:
            raise ValueError(f"an annual metric cannot have quarterly plan values {quarters}")
        return self


class CcgNeaPlan(_Strict):
    """One contributing CCG's non-elective admission (NEA) operating plan."""

    name: str = Field(min_length=1)
    #: CCG total NEA plan, Q1..Q4.
    quarterly_plan: list[float] = Field(min_length=4, max_length=4)
    #: Share of the CCG's registered population resident in the HWB area (0-1).
    resident_share: float = Field(ge=0, le=1)
    #: The papers' own mapped HWB figures for this CCG (Q1..Q4), kept to check the apportionment.
    published_hwb_plan: list[float] | None = Field(default=None, min_length=4, max_length=4)


class NeaPlan(_Strict):
    ccgs: list[CcgNeaPlan] = Field(min_length=1)
    #: Additional BCF reduction per quarter (Q1..Q4), or a percentage of the HWB plan; not both.
    planned_reduction: list[float] | None = Field(default=None, min_length=4, max_length=4)
    reduction_pct: float | None = Field(default=None, ge=0, le=100)
    #: The HWB plan Q1..Q4 as published (mapped with unrounded shares), when the papers give it.
    published_hwb_plan: list[float] | None = Field(default=None, min_length=4, max_length=4)
    risk_share: bool = False

    @model_validator(mode="after")
    def _one_reduction(self) -> NeaPlan:
        if self.planned_reduction is not None and self.reduction_pct is not None:
            raise ValueError("give planned_reduction (per quarter) or reduction_pct, not both")
        names = [c.name for c in self.ccgs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"CCGs listed twice: {dupes}")
        return self


class BcfYear(_Strict):
    planning_year: str = Field(pattern=PLANNING_YEAR_PATTERN)
    source: str = Field(min_length=1, description="Where the metric definitions and plans came from")
    hwb: Hwb
    #: Cost of one non-elective admission (GBP) used for the risk-share value; None when not set.
    cost_per_admission: float | None = Field(default=None, gt=0)
    metrics: list[BcfMetric] = Field(min_length=1)
    nea_plan: NeaPlan | None = None

    @model_validator(mode="after")
    def _unique_codes(self) -> BcfYear:
        codes = [m.code for m in self.metrics]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"metric codes listed twice: {dupes}")
        return self

    def metric(self, code: str) -> BcfMetric:
        for m in self.metrics:
            if m.code == code:
                return m
        raise KeyError(code)


def load_bcf_year(year: str, config_dir: Path | None = None) -> BcfYear:
    """Load and validate ``config/bcf/<year>.yaml`` (``year`` like ``"2016-17"``)."""
    path = (config_dir or _default_config_dir()) / "bcf" / f"{year}.yaml"
    cfg: BcfYear = validate_file(BcfYear, path)
    if cfg.planning_year != year:
        raise ConfigError(f"{_rel(path)}: planning_year: must equal the file name {year!r} (got {cfg.planning_year!r})")
    return cfg


_default_config_dir = config_dir
