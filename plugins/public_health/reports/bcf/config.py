"""Per-planning-year Better Care Fund (BCF) configuration, ``config/bcf/<year>.yaml``.

Each national BCF year has its own metric set (2016-17 had six, 2025-26 three), so the set lives in
configuration, one file per planning year. Files are validated with
:func:`public_health.config.validate_file`, so a wrong key or value raises
:class:`~public_health.config.ConfigError` naming the file and the dotted key, e.g.
``config/bcf/2016-17.yaml: nea_plan.ccgs.1.resident_pct.value: Input should be less than or equal to 100``.

Every figure taken from the papers is a :class:`Figure`: the value as printed and the 1-based line of
the reference text it is printed on (``config/bcf/papers.yaml`` names the text and which paper each
range of lines belongs to). Words taken from the papers (a condition's answer, a reported status) are a
:class:`Quote` the same way. ``tests/unit/test_bcf_transcription.py`` checks each one against the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from public_health.config import AREA_CODE_PATTERN, ConfigError, _rel, config_dir, validate_file

PLANNING_YEAR_PATTERN = r"^\d{4}-\d{2}$"
#: Plan keys: a financial-year quarter ("Q1".."Q4") or the whole year ("year", or "2016-17").
PERIOD_KEY_PATTERN = r"^(Q[1-4]|year|\d{4}-\d{2})$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# Transcriptions from the papers
# --------------------------------------------------------------------------------------------------


class Figure(_Strict):
    """A figure as the papers print it (slips included) and the 1-based line of the reference text
    that prints it. Money is in pounds (the papers' "£3m" is 3000000); percentages are as printed
    (85.3 for "85.3%")."""

    value: float
    line: int = Field(ge=1)


class Quote(_Strict):
    """Words as the papers print them, on one line of the reference text (1-based)."""

    text: str = Field(min_length=1)
    line: int = Field(ge=1)


def _values(figures: list[Figure]) -> list[float]:
    return [f.value for f in figures]


def iter_transcriptions(model: BaseModel, path: str = "") -> Iterator[tuple[str, Figure | Quote]]:
    """Every :class:`Figure` and :class:`Quote` in ``model`` with its dotted key, e.g.
    ``nea_plan.ccgs.0.plan.2``: what the transcription test checks against the reference text."""
    for name in type(model).model_fields:
        yield from _walk(getattr(model, name), f"{path}{name}")


def _walk(value: object, key: str) -> Iterator[tuple[str, Figure | Quote]]:
    if isinstance(value, Figure | Quote):
        yield key, value
    elif isinstance(value, BaseModel):
        yield from iter_transcriptions(value, f"{key}.")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{key}.{i}")
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _walk(item, f"{key}.{k}")


# --------------------------------------------------------------------------------------------------
# The papers (config/bcf/papers.yaml)
# --------------------------------------------------------------------------------------------------


class Paper(_Strict):
    """One paper of the reference text: the lines it occupies and how the outputs cite it."""

    first_line: int = Field(ge=1)
    last_line: int = Field(ge=1)
    #: Short name printed beside each figure, e.g. "Item 12".
    short: str = Field(min_length=1)
    title: str = Field(min_length=1)


class Papers(_Strict):
    #: The reference text (a file name) the line numbers count in, and its SHA-256.
    reference: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    papers: list[Paper] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Papers:
        last = 0
        for i, paper in enumerate(self.papers):
            if paper.first_line <= last or paper.last_line < paper.first_line:
                raise ValueError(f"papers.{i}: lines must be in order and not overlap ({paper.first_line}-"
                                 f"{paper.last_line} after {last})")
            last = paper.last_line
        return self

    def paper_of(self, line: int) -> Paper | None:
        return next((p for p in self.papers if p.first_line <= line <= p.last_line), None)

    def cite(self, *lines: int) -> str:
        """Where the papers print a figure: ``Item 12, line 11074``, ``Item 12, lines 11057-11060, 11074``
        (runs of consecutive lines joined); lines of different papers are grouped by paper
        (``Item 5, line 613; Item 5 template, line 2137``)."""
        if not lines:
            raise ValueError("cite needs at least one line")
        groups: dict[str, list[int]] = {}
        for line in sorted(set(lines)):
            paper = self.paper_of(line)
            groups.setdefault(paper.short if paper else self.reference, []).append(line)
        parts = []
        for name, nums in groups.items():
            runs: list[list[int]] = []
            for n in nums:
                if runs and n == runs[-1][-1] + 1:
                    runs[-1].append(n)
                else:
                    runs.append([n])
            text = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
            parts.append(f"{name}, line{'s' if len(nums) > 1 else ''} {text}")
        return "; ".join(parts)

    def legend(self, cited: str) -> list[str]:
        """``<short> = <title>`` for each paper named in ``cited`` (text holding citations)."""
        return [f"{p.short} = {p.title}" for p in self.papers if f"{p.short}, line" in cited]


def load_papers(directory: Path | None = None) -> Papers:
    """Load ``config/bcf/papers.yaml``."""
    return validate_file(Papers, (directory or _default_config_dir()) / "bcf" / "papers.yaml")


# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------


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
    population: dict[str, Figure] = Field(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _keys(self) -> Rate:
        bad = [k for k in self.population if not re.match(r"^(Q[1-4]|year)$", k)]
        if bad:
            raise ValueError(f"population keys must be Q1..Q4 or 'year', got {bad}")
        small = [k for k, v in self.population.items() if v.value <= 0]
        if small:
            raise ValueError(f"population must be positive, not for {small}")
        return self

    def denominator(self, quarter: int) -> float | None:
        figure = self.population.get(f"Q{quarter}", self.population.get("year"))
        return None if figure is None else figure.value


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


class ReportedStatus(_Strict):
    """How the papers themselves report a metric's performance, for when no actual can be computed.

    ``period`` is what the papers report on (e.g. "2015/16 forecast"), which may not be the planning
    year of the return: the summary says so. ``not_assessed`` is for papers that say why there is no
    judgement yet (e.g. "data will be released in July 2017")."""

    status: Literal["on_track", "off_track", "not_assessed"]
    period: str = Field(min_length=1)
    quote: Quote


class BcfMetric(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, description="The metric's name as the source papers give it")
    unit: str = Field(min_length=1)
    frequency: Literal["quarterly", "annual"]
    #: "lower" when a lower value is better (admissions, delays), "higher" when higher is better.
    polarity: Literal["lower", "higher", "neither"]
    #: Planned value by period key ("Q1".."Q4" or "year"); empty when no plan is known.
    plan: dict[str, Figure] = Field(default_factory=dict)
    actual_source: ActualSource
    reported_status: ReportedStatus | None = None
    definition: str | None = None

    @model_validator(mode="after")
    def _plan_keys(self) -> BcfMetric:
        bad = [k for k in self.plan if not re.match(PERIOD_KEY_PATTERN, k)]
        if bad:
            raise ValueError(f"plan keys must be Q1..Q4, 'year' or a planning year like 2016-17, got {bad}")
        quarters = [k for k in self.plan if k.startswith("Q")]
        if self.frequency == "annual" and quarters:
            raise ValueError(f"an annual metric cannot have quarterly plan values {quarters}")
        if "count" in self.unit.lower() and re.search(r"\bper\s+100,?000\b", self.name, re.I):
            raise ValueError("a metric counted in admissions (unit 'count') cannot be named a rate 'per 100,000'; "
                             "say how the papers name it in `definition`")
        return self

    @property
    def plan_values(self) -> dict[str, float]:
        """The plan as plain numbers by period key."""
        return {k: f.value for k, f in self.plan.items()}


# --------------------------------------------------------------------------------------------------
# Non-elective admissions (NEA) plan and risk share (template section 5.1)
# --------------------------------------------------------------------------------------------------


class CcgNeaPlan(_Strict):
    """One contributing CCG's row of template section 5.1, as printed."""

    name: str = Field(min_length=1)
    #: '% CCG registered population that has resident population in <HWB>', printed to 0.1%.
    resident_pct: Figure
    #: '% <HWB> resident population that is in CCG registered population', printed to 0.1%.
    hwb_population_pct: Figure
    #: 'CCG Total Non-Elective Admission Plan', Q1..Q4, and its 'Total (Q1 - Q4)'.
    plan: list[Figure] = Field(min_length=4, max_length=4)
    plan_total: Figure
    #: 'HWB Non-Elective Admission Plan': the template's mapped figures, Q1..Q4 and total.
    hwb_plan: list[Figure] = Field(min_length=4, max_length=4)
    hwb_plan_total: Figure

    @model_validator(mode="after")
    def _percentages(self) -> CcgNeaPlan:
        for key in ("resident_pct", "hwb_population_pct"):
            if not 0 <= getattr(self, key).value <= 100:
                raise ValueError(f"{key} must be a percentage between 0 and 100")
        return self

    @property
    def quarterly_plan(self) -> list[float]:
        return _values(self.plan)

    @property
    def resident_share(self) -> float:
        """The printed resident share as a fraction (0-1), for :func:`calculations.apportion_nea`."""
        return self.resident_pct.value / 100

    @property
    def published_hwb_plan(self) -> list[float]:
        return _values(self.hwb_plan)


class RiskShare(_Strict):
    """The NEA risk share of template section 5.1 and the local risk pool the papers recommend."""

    #: 'Are you putting in place a local risk sharing agreement on NEA?' and its answer.
    agreed: Quote
    #: The template's value of the additional NEA reduction (reduction x cost of an NEA), Q1..Q4, total.
    value: list[Figure] = Field(min_length=4, max_length=4)
    value_total: Figure
    #: The risk pool the partners recommended locally, and the avoided admissions it was based on.
    local_risk_pool: Figure | None = None
    local_risk_pool_admissions: Figure | None = None


class NeaPlan(_Strict):
    ccgs: list[CcgNeaPlan] = Field(min_length=1)
    #: The 'Totals' row of the CCG plans, Q1..Q4 and total.
    ccg_plan_totals: list[Figure] = Field(min_length=4, max_length=4)
    ccg_plan_total: Figure
    #: 'Total HWB Planned Non-Elective Admissions', Q1..Q4 and total, as printed.
    hwb_plan: list[Figure] = Field(min_length=4, max_length=4)
    hwb_plan_total: Figure
    #: 'HWB Quarterly Additional Reduction Figure', Q1..Q4 and total; or a percentage of the plan.
    planned_reduction: list[Figure] | None = Field(default=None, min_length=4, max_length=4)
    planned_reduction_total: Figure | None = None
    reduction_pct: float | None = Field(default=None, ge=0, le=100)
    #: 'HWB NEA Plan (after reduction)' total, as printed.
    after_reduction_total: Figure | None = None
    risk_share: RiskShare | None = None

    @model_validator(mode="after")
    def _one_reduction(self) -> NeaPlan:
        if self.planned_reduction is not None and self.reduction_pct is not None:
            raise ValueError("give planned_reduction (per quarter) or reduction_pct, not both")
        names = [c.name for c in self.ccgs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"CCGs listed twice: {dupes}")
        return self

    @property
    def published_hwb_plan(self) -> list[float]:
        return _values(self.hwb_plan)

    @property
    def reduction_values(self) -> list[float] | None:
        return None if self.planned_reduction is None else _values(self.planned_reduction)


# --------------------------------------------------------------------------------------------------
# The 2015 pay-for-performance scheme (calendar year 2015, reported in 2015-16)
# --------------------------------------------------------------------------------------------------


class PayForPerformance(_Strict):
    """Total emergency admissions plan against forecast for the pay-for-performance period, the
    target it paid on and the pot, and the split the partners agreed instead of the formula."""

    period: str = Field(min_length=1, description="e.g. 'January to December 2015'")
    quarter_labels: list[str] = Field(min_length=4, max_length=4)
    planned: list[Figure] = Field(min_length=4, max_length=4)
    forecast: list[Figure] = Field(min_length=4, max_length=4)
    variance: list[Figure] = Field(min_length=4, max_length=4)
    planned_total: Figure
    forecast_total: Figure
    variance_total: Figure
    #: The revised baseline the 3.5% reduction target was taken from, the % and the admissions.
    baseline: Figure
    reduction_pct: Figure
    target_reduction: Figure
    #: The pay-for-performance pot, paid in 'on a proportionate basis relative to the actual reduction'.
    pot: Figure
    #: What the partners agreed instead: kept by the CCGs, paid into the BCF.
    retained_by_ccgs: Figure
    paid_into_bcf: Figure
    #: Admissions the schemes avoided (reported) and predicted (the basis of the agreement).
    schemes_avoided: Figure
    schemes_predicted: Figure


# --------------------------------------------------------------------------------------------------
# The planning year
# --------------------------------------------------------------------------------------------------


class BcfYear(_Strict):
    planning_year: str = Field(pattern=PLANNING_YEAR_PATTERN)
    source: str = Field(min_length=1, description="Where the metric definitions and plans came from")
    hwb: Hwb
    #: Cost of one non-elective admission (GBP) used for the risk-share value; None when not set.
    cost_per_admission: Figure | None = None
    metrics: list[BcfMetric] = Field(min_length=1)
    nea_plan: NeaPlan | None = None
    pay_for_performance: PayForPerformance | None = None

    @model_validator(mode="after")
    def _unique_codes(self) -> BcfYear:
        codes = [m.code for m in self.metrics]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"metric codes listed twice: {dupes}")
        if self.cost_per_admission is not None and self.cost_per_admission.value <= 0:
            raise ValueError("cost_per_admission must be positive")
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


# --------------------------------------------------------------------------------------------------
# National conditions (config/bcf/<year>.conditions.yaml)
# --------------------------------------------------------------------------------------------------

#: The answers the national template offers for a condition.
CONDITION_ANSWERS = ("Yes", "No", "No - in development")


class Condition(_Strict):
    code: str = Field(min_length=1)
    text: str = Field(min_length=1)
    #: The line that prints the condition's (first line of) text, when the papers list it.
    text_line: int | None = Field(default=None, ge=1)
    #: The answer as the papers give it ('Yes', 'No' or 'No - in development'), and its comment lines.
    answer: Quote | None = None
    comments: list[Quote] = Field(default_factory=list)

    @model_validator(mode="after")
    def _answer(self) -> Condition:
        if self.answer is not None and self.answer.text not in CONDITION_ANSWERS:
            raise ValueError(f"answer must be one of {list(CONDITION_ANSWERS)}, got {self.answer.text!r}")
        return self


class Conditions(_Strict):
    #: Why the conditions carry no answers, when the papers do not answer them for this year.
    unanswered: str | None = None
    conditions: list[Condition] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_condition_answered_or_a_reason(self) -> Conditions:
        missing = [c.code for c in self.conditions if c.answer is None]
        if missing and not self.unanswered:
            raise ValueError(f"conditions {missing} have no answer: answer them or say why in `unanswered`")
        return self


def load_conditions(year: str, directory: Path | None = None) -> Conditions | None:
    """``config/bcf/<year>.conditions.yaml``, or None when the year has none."""
    path = (directory or _default_config_dir()) / "bcf" / f"{year}.conditions.yaml"
    return validate_file(Conditions, path) if path.exists() else None


_default_config_dir = config_dir
