"""Commissioned services and their KPIs, loaded from ``config/services/*.yaml``.

One YAML file per service (``config/services/<code>.yaml``) plus ``config/services/_defaults.yaml``
for settings shared by every service (when a provider's return is due, RAG thresholds). Each file
is validated when loaded; a wrong key or value raises :class:`ServiceConfigError` (a
:class:`~public_health.config.ConfigError`) naming the file and the dotted key, e.g.
``config/services/healthy_together.yaml: kpis.3.target: percent target must be between 0 and 100
(got 150)``.

The ``reference_*`` keys hold what the published 2017/18 Q2 report itself shows (figures, comments,
actions, RAG). They are kept exactly as published, errors included, so tests and sample data can
check that the pipeline catches them; they are never used as live data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from public_health.config import ConfigError, QuarterLabel, _rel, config_dir, read_yaml, validate_file

CODE_PATTERN = r"^[a-z0-9_]+$"
QUARTER_PATTERN = r"^\d{4}-\d{2}-Q[1-4]$"
YEAR_PATTERN = r"^\d{4}-\d{2}$"
PERIOD_PATTERN = r"^\d{4}-\d{2}(-Q[1-4])?$"
DEFAULTS_FILE = "_defaults.yaml"

Unit = Literal["count", "percent", "rate", "score", "currency", "days"]
Polarity = Literal["high_is_good", "low_is_good", "neither"]
#: How a KPI is assessed against its target (the assessment itself is ``stats.rag``):
#: ``per_quarter`` the quarter's actual vs the quarter's target; ``cumulative`` within the financial
#: year, the actual to date vs the target to date (quarter ``target`` figures hold the cumulative
#: target, else ``targets[year]`` pro rata); ``running`` a multi-year running total since
#: ``running_from`` vs the running target to date (quarter ``target`` figures hold it);
#: ``half_yearly``; ``annual`` (assessed in Q4); ``none``, no target.
TargetKind = Literal["none", "per_quarter", "cumulative", "running", "annual", "half_yearly"]
Frequency = Literal["quarterly", "half_yearly", "annual"]
Measure = Literal["target", "actual", "actual_to_date", "numerator", "denominator"]
Rag = Literal["Red", "Amber", "Green", "Grey"]
MissingReason = Literal[
    "not_yet_available",  # "Not yet available"
    "pending",  # "Pending" (return not in, or definition to be agreed)
    "tbc",  # "tbc"
    "redacted",  # "Redacted"
    "not_applicable",  # "n/a", "N/A", "#N/A"
    "not_recorded",  # "Data not recorded"
    "dash",  # "-" in a cell
]


class ServiceConfigError(ConfigError):
    """A service configuration file is invalid. The message names the file and the dotted key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_financial_year(label: str) -> None:
    start, end = int(label[:4]), int(label[5:7])
    if (start + 1) % 100 != end:
        raise ValueError(f"{label!r} is not a financial year like 2017-18")


class RagRules(_Strict):
    """Thresholds for the computed RAG rating of a service's KPIs against target."""

    amber_margin_pct: float = Field(
        ge=0, le=100, description="Green: target met; Amber: missed by at most this % of target; else Red"
    )
    grey_when_checks_fail: bool = Field(
        default=True, description="Rate Grey when the latest return failed its data-quality checks"
    )


class ServiceDefaults(_Strict):
    return_due_days: int = Field(ge=0, le=366, description="Days after quarter end a provider return is due")
    rag_rules: RagRules


class Kpi(_Strict):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, description="As the report writes it")
    section: str | None = Field(default=None, description="Heading the KPI sits under in the report's table")
    unit: Unit
    polarity: Polarity
    target_kind: TargetKind
    frequency: Frequency = "quarterly"
    target: float | None = None
    targets: dict[str, float] = Field(default_factory=dict, description="Per financial year, e.g. 2017-18")
    numerator_kpi: str | None = Field(default=None, pattern=CODE_PATTERN)
    denominator_kpi: str | None = Field(default=None, pattern=CODE_PATTERN)
    #: Which figure of ``numerator_kpi`` / ``denominator_kpi`` the percentage divides, when not the one with the
    #: percentage's own measure: e.g. ``actual_to_date`` for a count printed only as a to date, ``target`` for a
    #: population held as a year's target (a quarter without its own target then uses its year column's).
    numerator_measure: Measure | None = None
    denominator_measure: Measure | None = None
    #: For a percentage whose denominator is not printed but is a population that stays the same through a
    #: financial year (e.g. the city's primary schools): the checks compare the denominators its percentages imply.
    #: Needs ``numerator_kpi`` and no ``denominator_kpi``.
    fixed_denominator: bool = False
    #: A count that is a part of another count KPI of the service (high risks of all risks reported). Parts of one
    #: whole must not overlap: together they cannot exceed it.
    part_of: str | None = Field(default=None, pattern=CODE_PATTERN)
    #: A count of activity that cannot happen without this other count KPI's (delegates need training sessions):
    #: it cannot be positive in a period where that one is 0.
    base_kpi: str | None = Field(default=None, pattern=CODE_PATTERN)
    score_scale: tuple[float, float] | None = None
    decimals: int = Field(default=0, ge=0, le=4)
    information_only: bool = False
    #: For ``target_kind: running``: the quarter the running total starts (e.g. 2013-14-Q1 for a
    #: five-year programme that began in April 2013). Required for running KPIs, refused otherwise.
    running_from: QuarterLabel | None = None
    note: str | None = None

    @field_validator("target")
    @classmethod
    def _percent_target(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None and info.data.get("unit") == "percent" and not 0 <= v <= 100:
            raise ValueError("percent target must be between 0 and 100")
        return v

    @field_validator("targets")
    @classmethod
    def _percent_targets(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for year, value in v.items():
            if not re.match(YEAR_PATTERN, year):
                raise ValueError(f"keys must be financial years like 2017-18 (got {year!r})")
            _check_financial_year(year)
            if info.data.get("unit") == "percent" and not 0 <= value <= 100:
                raise ValueError(f"{year}: percent target must be between 0 and 100 (got {value:g})")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Kpi:
        if self.target_kind == "none" and (self.target is not None or self.targets):
            raise ValueError("target_kind is 'none' but a target is given: set target_kind or remove the target")
        if self.target_kind == "running" and self.running_from is None:
            raise ValueError("running_from: required for target_kind 'running' (the quarter the running total starts)")
        if self.target_kind != "running" and self.running_from is not None:
            raise ValueError(f"running_from: only for target_kind 'running' (target_kind is {self.target_kind!r})")
        if self.score_scale is not None:
            if self.unit != "score":
                raise ValueError("score_scale is only for unit 'score'")
            if self.score_scale[0] >= self.score_scale[1]:
                raise ValueError(f"score_scale must be [low, high] with low < high (got {list(self.score_scale)})")
        if self.numerator_kpi is not None and self.numerator_kpi == self.code:
            raise ValueError("numerator_kpi names the KPI itself")
        if self.denominator_kpi is not None and self.denominator_kpi == self.code:
            raise ValueError("denominator_kpi names the KPI itself")
        for key in ("part_of", "base_kpi"):
            if getattr(self, key) is not None and getattr(self, key) == self.code:
                raise ValueError(f"{key} names the KPI itself")
        if self.numerator_measure is not None and self.numerator_kpi is None:
            raise ValueError("numerator_measure needs numerator_kpi")
        if self.denominator_measure is not None and self.denominator_kpi is None:
            raise ValueError("denominator_measure needs denominator_kpi")
        if self.fixed_denominator and (self.unit != "percent" or self.numerator_kpi is None or self.denominator_kpi):
            raise ValueError("fixed_denominator is for a percentage with numerator_kpi and no denominator_kpi")
        return self


class ReferenceFigure(_Strict):
    """One figure as the published report shows it: KPI × period × measure."""

    kpi: str = Field(pattern=CODE_PATTERN)
    period: str = Field(pattern=PERIOD_PATTERN, description="2017-18-Q2 (Q1 = Apr-Jun) or 2017-18 for a year")
    measure: Measure
    value: float | None
    missing_reason: MissingReason | None = None
    note: str | None = None
    line: int | None = Field(default=None, ge=1, description="1-based line of the reference text it is printed on")

    @field_validator("period")
    @classmethod
    def _year(cls, v: str) -> str:
        _check_financial_year(v[:7])
        return v

    @model_validator(mode="after")
    def _value_or_reason(self) -> ReferenceFigure:
        if self.value is None and self.missing_reason is None:
            raise ValueError("value is null: give a missing_reason (e.g. not_yet_available, pending, tbc)")
        if self.value is not None and self.missing_reason is not None:
            raise ValueError("a figure with a value cannot also have a missing_reason")
        return self


class ReferenceComment(_Strict):
    text: str = Field(min_length=1)
    lead: str | None = None
    date: str | None = Field(default=None, description="As the report writes it (e.g. 07/11/2017, Nov-17)")
    line: int | None = Field(default=None, ge=1, description="1-based line of the reference text its words start on")


class ReferenceAction(_Strict):
    text: str = Field(min_length=1)
    action_by: str | None = Field(default=None, description="As the report writes it")
    line: int | None = Field(default=None, ge=1, description="1-based line of the reference text its words start on")


class Service(_Strict):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, description="As the report's contents page writes it")
    page_title: str | None = Field(default=None, description="The heading of the service's page")
    provider: str | None = Field(description="As the report names it (null only when redacted)")
    purpose: str | None = Field(description="The report's text (null only when redacted)")
    redacted: bool = False
    page_in_reference: int | None = Field(default=None, ge=1)
    phof_indicators: list[str] = Field(default_factory=list, description="'Relevant PHOF indicators' as listed")
    phof_indicator_ids: list[int] = Field(default_factory=list, description="Fingertips indicator ids")
    note: str | None = None
    return_due_days: int = Field(ge=0, le=366)
    rag_rules: RagRules
    #: False for a return that feeds another product (e.g. the BCF local NHS activity return) and has
    #: no page in the quarterly performance report.
    performance_report: bool = True
    #: Quarters this service's returns are expected for, when not settings.returns.track_from/until
    #: (a contract that starts or ends, a return tied to a planning year).
    track_from: QuarterLabel | None = None
    track_until: QuarterLabel | None = None
    kpis: list[Kpi] = Field(default_factory=list)
    reference_figures: list[ReferenceFigure] = Field(default_factory=list)
    reference_comments: list[ReferenceComment] = Field(default_factory=list)
    reference_actions: list[ReferenceAction] = Field(default_factory=list)
    reference_rag: Rag | Literal["Redacted"] | None = Field(
        default=None, description="Overall progress rating on the service's page ('Redacted' when the page is withheld)"
    )
    contents_rag: Rag | Literal["Redacted"] | None = Field(
        default=None, description="Summary RAG the contents page shows for the service"
    )

    @model_validator(mode="before")
    @classmethod
    def _window_years(cls, data: Any) -> Any:
        """A tracking window's quarters must name real financial years (``2017-18``, not ``2017-19``)."""
        if isinstance(data, dict):
            for key in ("track_from", "track_until"):
                value = data.get(key)
                if isinstance(value, str) and re.match(QUARTER_PATTERN, value):
                    try:
                        _check_financial_year(value[:7])
                    except ValueError as exc:
                        raise ValueError(f"{key}: {exc}") from None
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Service:
        if self.track_from and self.track_until and self.track_from > self.track_until:
            raise ValueError(f"track_from {self.track_from} is after track_until {self.track_until}")
        if not self.redacted:
            for key in ("provider", "purpose"):
                if not getattr(self, key):
                    raise ValueError(f"{key}: required unless the service is redacted")
            if not self.kpis:
                raise ValueError("kpis: a service that is not redacted needs at least one KPI")
        by_code: dict[str, Kpi] = {}
        for i, kpi in enumerate(self.kpis):
            if kpi.code in by_code:
                raise ValueError(f"kpis.{i}.code: KPI code {kpi.code!r} is used twice in this service")
            by_code[kpi.code] = kpi
        for i, kpi in enumerate(self.kpis):
            for key in ("numerator_kpi", "denominator_kpi"):
                ref = getattr(kpi, key)
                if ref is None:
                    continue
                if ref not in by_code:
                    raise ValueError(f"kpis.{i}.{key}: {ref!r} is not a KPI of this service")
                if by_code[ref].unit != "count":
                    raise ValueError(f"kpis.{i}.{key}: {ref!r} must have unit 'count' (has {by_code[ref].unit!r})")
            for key in ("part_of", "base_kpi"):
                ref = getattr(kpi, key)
                if ref is None:
                    continue
                if ref not in by_code:
                    raise ValueError(f"kpis.{i}.{key}: {ref!r} is not a KPI of this service")
                if kpi.unit != "count" or by_code[ref].unit != "count":
                    raise ValueError(f"kpis.{i}.{key}: both {kpi.code!r} and {ref!r} must have unit 'count'")
        seen: set[tuple[str, str, str]] = set()
        for i, fig in enumerate(self.reference_figures):
            if fig.kpi not in by_code:
                raise ValueError(f"reference_figures.{i}.kpi: {fig.kpi!r} is not a KPI of this service")
            key3 = (fig.kpi, fig.period, fig.measure)
            if key3 in seen:
                raise ValueError(f"reference_figures.{i}: {fig.kpi} {fig.period} {fig.measure} is listed twice")
            seen.add(key3)
        return self

    def kpi(self, code: str) -> Kpi:
        for k in self.kpis:
            if k.code == code:
                return k
        raise KeyError(f"service {self.code!r} has no KPI {code!r}")

    def figure(self, kpi: str, period: str, measure: str = "actual") -> ReferenceFigure | None:
        for f in self.reference_figures:
            if (f.kpi, f.period, f.measure) == (kpi, period, measure):
                return f
        return None


def _services_dir(folder: Path | None) -> Path:
    """``config_dir`` may be the config folder (holding ``services/``) or the services folder itself."""
    if folder is None:
        return config_dir() / "services"
    return folder / "services" if (folder / "services").is_dir() else folder


def load_defaults(config_dir: Path | None = None) -> ServiceDefaults:
    path = _services_dir(config_dir) / DEFAULTS_FILE
    try:
        return validate_file(ServiceDefaults, path)
    except ServiceConfigError:
        raise
    except ConfigError as exc:
        raise ServiceConfigError(str(exc)) from None


def _merged(raw: Any, defaults: ServiceDefaults) -> Any:
    if not isinstance(raw, dict):
        return raw
    merged = dict(raw)
    merged.setdefault("return_due_days", defaults.return_due_days)
    rules = merged.get("rag_rules")
    if rules is None:
        merged["rag_rules"] = defaults.rag_rules.model_dump()
    elif isinstance(rules, dict):
        merged["rag_rules"] = {**defaults.rag_rules.model_dump(), **{k: v for k, v in rules.items() if v is not None}}
    return merged


def _load_path(path: Path, defaults: ServiceDefaults) -> Service:
    try:
        service: Service = validate_file(Service, path, _merged(read_yaml(path), defaults))
    except ServiceConfigError:
        raise
    except ConfigError as exc:
        raise ServiceConfigError(str(exc)) from None
    if service.code != path.stem:
        raise ServiceConfigError(f"{_rel(path)}: code: must equal the file name {path.stem!r} (got {service.code!r})")
    return service


def load_service(code: str, config_dir: Path | None = None) -> Service:
    """Load one service, ``config/services/<code>.yaml``, with the shared defaults merged in."""
    folder = _services_dir(config_dir)
    path = folder / f"{code}.yaml"
    if not path.exists():
        raise ServiceConfigError(f"{_rel(path)}: file not found (no service {code!r})")
    return _load_path(path, load_defaults(config_dir))


def load_services(config_dir: Path | None = None) -> dict[str, Service]:
    """Load every service under ``config/services`` (except ``_defaults.yaml``), sorted by code."""
    folder = _services_dir(config_dir)
    if not folder.is_dir():
        raise ServiceConfigError(f"{_rel(folder)}: folder not found")
    defaults = load_defaults(config_dir)
    services = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == DEFAULTS_FILE:
            continue
        service = _load_path(path, defaults)
        services[service.code] = service
    return dict(sorted(services.items()))


def report_services(config_dir: Path | None = None) -> dict[str, Service]:
    """The services with a page in the quarterly performance report (``performance_report: true``)."""
    return {code: s for code, s in load_services(config_dir).items() if s.performance_report}
