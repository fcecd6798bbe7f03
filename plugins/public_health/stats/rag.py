"""Red/Amber/Green/Grey rating of a commissioned service from its KPI results.

Definitions are the performance report's own (Division of Public Health Performance Report):
Green, no issue identified; Amber, some concerns to be addressed; Red, serious issues, immediate
action required; Grey, problems with data or other technical aspects make a judgement unreliable.

KPI rules (:func:`assess_kpi`)
    * ``high_is_good``: met when actual >= target; ``low_is_good``: met when actual <= target.
      Polarity ``neither`` with a target (for example an average score on a 1-10 scale) is read as
      ``high_is_good``: the target is a minimum.
    * A miss is a *near miss* when the shortfall is at most ``amber_margin_pct`` % of the target
      (e.g. target 90%, margin 10: 81% is a near miss, 80.9% a miss).
    * ``per_quarter``: the quarter's actual against the quarter's target.
    * ``cumulative`` (within the financial year): the year-to-date actual against the year-to-date
      target: the cumulative target for the quarter when one is given, else the pro-rata share of the
      annual target, ``annual_target * quarter / 4`` (the report itself prints such targets: 18.75, 37.5,
      56.25, 75 for an annual 75). The year-to-date actual is the stated actual to date, unless the
      checks found it unreliable (it does not restart at the year boundary, or is not the sum of the
      year's actuals): then the sum of the year's quarterly actuals is used and the basis says so; with
      no such sum the KPI is ``no_data`` (a flagged to-date is a data-quality finding, never a rating
      input). In Q1 the quarter's actual stands in for a missing actual to date.
    * ``running`` (a multi-year running total, e.g. a five-year programme): the running total to date
      (``actual_to_date``) against the programme's own target to date for the quarter (``target``).
    * ``half_yearly``: assessed in Q2 and Q4 only, actual against the half-year target (half the annual
      target when no half-year target is given). In Q1 and Q3 the status is ``no_target``.
    * ``annual``: assessed in Q4 only, actual to date (or the actual) against the annual target (or the
      target). In Q1-Q3 the status is ``no_target``.
    * Information-only KPIs and KPIs without a target are ``no_target``; a target with no figure is
      ``no_data``.

Service rules (:func:`service_rag`)
    * Grey when the quarter's return is missing or quarantined, or failed its data-quality checks.
    * Otherwise, over the KPIs assessed against a target: Red if any missed, else Amber if any near
      miss, else Green.
    * Grey when no KPI could be assessed against a target (none has one this quarter, or none with a
      target has a figure): a Green would claim "no issue identified" with nothing checked.
    * KPIs with a target but no figure are named in the reasons but do not change the colour otherwise.
    * When a KPI the rating rests on has figures with data-quality findings (``flagged``), the reasons
      say so: the colour is computed as usual, but it is marked as resting on questioned figures.
    * An :class:`Override` (a documented human decision) sets the final rating; the computed rating is
      kept beside it; the reasons explain the computed rating only (the override carries its own reason).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from public_health.config import ConfigError, _rel, validate_file
from public_health.stats.significance import check_polarity

Rag = Literal["Green", "Amber", "Red", "Grey"]
RAG_RATINGS: tuple[str, ...] = ("Green", "Amber", "Red", "Grey")
TargetKind = Literal["none", "per_quarter", "cumulative", "running", "annual", "half_yearly"]
TARGET_KINDS: frozenset[str] = frozenset({"none", "per_quarter", "cumulative", "running", "annual", "half_yearly"})
Status = Literal["met", "near_miss", "missed", "no_target", "no_data"]
GREY_RETURN_STATUSES: frozenset[str] = frozenset({"missing", "quarantined"})
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class KpiResult:
    """One KPI's figures for one quarter, as the assessment needs them."""

    kpi_code: str
    unit: str
    polarity: str
    target_kind: str
    target: float | None
    actual: float | None
    actual_to_date: float | None
    annual_target: float | None
    quarter: int
    information_only: bool = False
    #: The KPI's name as the report writes it (reasons name KPIs, never codes).
    kpi_name: str = ""
    #: The sum of the year's quarterly actuals up to the quarter, when every one of them is given.
    year_actuals_sum: float | None = None
    #: Why the stated actual to date is not used (a data-quality finding), or None.
    to_date_finding: str | None = None
    #: Where the target came from when the return gave none (e.g. "the contract's target in config/services").
    target_source: str | None = None

    def __post_init__(self) -> None:
        check_polarity(self.polarity)
        if self.target_kind not in TARGET_KINDS:
            raise ValueError(f"{self.kpi_code}: target_kind must be one of {sorted(TARGET_KINDS)}")
        if self.quarter not in (1, 2, 3, 4):
            raise ValueError(f"{self.kpi_code}: quarter must be 1-4, got {self.quarter!r}")


@dataclass(frozen=True)
class KpiAssessment:
    status: Status
    shortfall_pct: float | None
    basis: str
    kpi_code: str = ""
    kpi_name: str = ""


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _fmt(x: float, unit: str) -> str:
    """2,530; 18.75; 90% (thousands separators, at most two decimals, no trailing zeros)."""
    rounded = round(x, 2)
    text = f"{int(rounded):,}" if float(rounded).is_integer() else f"{rounded:,.2f}".rstrip("0").rstrip(".")
    return f"{text}%" if unit == "percent" else text


def assess_kpi(r: KpiResult, amber_margin_pct: float) -> KpiAssessment:
    """Compare one KPI with its target for the quarter; the rules are in the module docstring."""
    if not 0 <= amber_margin_pct <= 100:
        raise ValueError(f"amber_margin_pct must be between 0 and 100, got {amber_margin_pct!r}")
    q = r.quarter

    def result(status: Status, basis: str, shortfall: float | None = None) -> KpiAssessment:
        return KpiAssessment(status, shortfall, basis, r.kpi_code, r.kpi_name or r.kpi_code)

    if r.information_only:
        return result("no_target", "information only: not assessed against a target")
    if r.target_kind == "none":
        return result("no_target", "no target set")
    if r.target_kind == "half_yearly" and q not in (2, 4):
        return result("no_target", f"half-yearly KPI: assessed in Q2 and Q4 only, not Q{q}")
    if r.target_kind == "annual" and q != 4:
        return result("no_target", f"annual KPI: assessed in Q4 only, not Q{q}")

    target, actual = _num(r.target), _num(r.actual)
    annual, to_date = _num(r.annual_target), _num(r.actual_to_date)
    if r.target_kind == "per_quarter":
        target_desc, actual_desc = f"Q{q} target", f"Q{q} actual"
    elif r.target_kind == "cumulative":
        if target is not None:
            target_desc = f"cumulative target to Q{q}"
        elif annual is not None:
            target = annual * q / 4
            target_desc = f"pro-rata target to Q{q} ({q}/4 of annual target {_fmt(annual, r.unit)})"
        else:
            target_desc = "cumulative target"
        if r.to_date_finding is not None:
            actual = _num(r.year_actuals_sum)
            actual_desc = (f"sum of the year's actuals to Q{q} (the stated actual to date is not used: "
                           f"{r.to_date_finding})")
        elif to_date is None and q != 1 and r.year_actuals_sum is not None:
            actual = _num(r.year_actuals_sum)
            actual_desc = f"year to date at Q{q} (the sum of the year's actuals: no actual to date was given)"
        else:
            actual = to_date if to_date is not None or q != 1 else actual
            actual_desc = f"actual to date at Q{q}"
    elif r.target_kind == "running":
        target_desc, actual = "programme target to date", to_date
        actual_desc = "running total to date"
    elif r.target_kind == "half_yearly":
        if target is None and annual is not None:
            target = annual / 2
            target_desc = f"half-year target (half of annual target {_fmt(annual, r.unit)})"
        else:
            target_desc = "half-year target"
        actual_desc = "H1 actual" if q == 2 else "H2 actual"
    else:  # annual, Q4
        target = annual if annual is not None else target
        target_desc = "annual target"
        actual = to_date if to_date is not None else actual
        actual_desc = "actual for the year"

    if target is None:
        return result("no_target", f"no {target_desc} given")
    if actual is None:
        return result("no_data", f"no {actual_desc} against {target_desc} {_fmt(target, r.unit)}")

    low_is_good = r.polarity == "low_is_good"
    note = ""
    if r.polarity == "neither":
        note = " (polarity 'neither': the target is read as a minimum)"
    sign = "<=" if low_is_good else ">="
    if r.target_source:
        note += f" (target: {r.target_source})"
    basis = f"{actual_desc} {_fmt(actual, r.unit)} {sign} {target_desc} {_fmt(target, r.unit)}{note}"
    if (actual <= target) if low_is_good else (actual >= target):
        return result("met", basis, 0.0)
    basis = basis.replace(f" {sign} ", " against ", 1)
    if target == 0:
        return result("missed", f"{basis}: any shortfall against a target of 0 is a miss")
    gap = (actual - target) if low_is_good else (target - actual)
    shortfall = gap / abs(target) * 100
    if shortfall <= amber_margin_pct + _TOLERANCE:
        return result("near_miss", f"{basis}: short by {shortfall:.1f}% of target", shortfall)
    return result("missed", f"{basis}: short by {shortfall:.1f}% of target", shortfall)


@dataclass(frozen=True)
class Override:
    """A documented human decision that replaces the computed rating of a service."""

    rating: str
    reason: str
    decided_by: str
    decided_on: date

    def __post_init__(self) -> None:
        if self.rating not in RAG_RATINGS:
            raise ValueError(f"rating must be one of {list(RAG_RATINGS)}, got {self.rating!r}")
        for name in ("reason", "decided_by"):
            if not str(getattr(self, name) or "").strip():
                raise ValueError(f"{name} is required for an override")
        if not isinstance(self.decided_on, date):
            raise ValueError(f"decided_on must be a date, got {self.decided_on!r}")


@dataclass(frozen=True)
class RagResult:
    computed: str
    final: str
    reasons: list[str] = field(default_factory=list)
    override: Override | None = None

    @property
    def overridden(self) -> bool:
        return self.override is not None and self.final != self.computed


def _names(items: list[KpiAssessment]) -> str:
    return "; ".join(a.kpi_name or a.kpi_code or "(unnamed KPI)" for a in items)


def service_rag(
    assessments: Iterable[KpiAssessment],
    *,
    return_status: str,
    checks_failed: bool,
    override: Override | None = None,
    flagged: Iterable[str] = (),
) -> RagResult:
    """Rate a service for a quarter from its KPI assessments; the rules are in the module docstring."""
    items = list(assessments)
    reasons: list[str] = []
    computed: str
    if return_status in GREY_RETURN_STATUSES or checks_failed:
        if return_status == "missing":
            reasons.append("The provider return for the quarter is missing.")
        elif return_status == "quarantined":
            reasons.append("The provider return for the quarter was quarantined.")
        if checks_failed:
            reasons.append("The provider return failed its data-quality checks.")
        reasons.append("Grey: problems with the data make a judgement unreliable.")
        computed = "Grey"
    else:
        assessed = [a for a in items if a.status in ("met", "near_miss", "missed")]
        missed = [a for a in assessed if a.status == "missed"]
        near = [a for a in assessed if a.status == "near_miss"]
        no_data = [a for a in items if a.status == "no_data"]
        if not assessed:
            computed = "Grey"
            reasons.append("No KPI could be assessed against a target this quarter.")
        elif missed:
            computed = "Red"
        elif near:
            computed = "Amber"
        else:
            computed = "Green"
            if len(assessed) == 1:
                reasons.append(f"The one KPI assessed against a target met it: {_names(assessed)}.")
            else:
                reasons.append(f"All {len(assessed)} KPIs assessed against a target met them: {_names(assessed)}.")
        reasons += [f"{_names([a])} missed its target: {a.basis}." for a in missed]
        reasons += [f"{_names([a])} narrowly missed its target: {a.basis}." for a in near]
        if no_data:
            reasons.append(f"No figure this quarter for KPIs with a target: {_names(no_data)}.")
        rated = {a.kpi_code for a in assessed}
        on_flagged = [a for a in assessed if a.kpi_code in set(flagged)]
        if on_flagged and rated:
            reasons.append(
                f"This rating rests on figures with data-quality findings ({_names(on_flagged)}): "
                "see the findings beside them before relying on it."
            )

    # The reasons say why the computed rating was computed; an override is kept beside it (``override``),
    # and shown once, with its own reason, by whoever prints the rating.
    final = override.rating if override is not None else computed
    return RagResult(computed=computed, final=final, reasons=reasons, override=override)


# Override files ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OverrideEntry(_Strict):
    service: str = Field(pattern=r"^[a-z0-9_]+$", description="Service code, as in config/services")
    rating: Rag
    reason: str = Field(min_length=1)
    decided_by: str = Field(min_length=1, description="Role of the person who decided")
    decided_on: date
    reference_line: int | None = Field(
        default=None, ge=1, description="Line of the published report the rating is transcribed from, if any"
    )

    @field_validator("reason", "decided_by")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


class OverrideFile(_Strict):
    quarter: str = Field(pattern=r"^\d{4}-\d{2}-Q[1-4]$")
    overrides: list[OverrideEntry] = Field(default_factory=list)

    @field_validator("overrides")
    @classmethod
    def _one_per_service(cls, v: list[OverrideEntry]) -> list[OverrideEntry]:
        codes = [o.service for o in v]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"services listed more than once: {dupes}")
        return v


def load_overrides(path: Path, *, known_services: Iterable[str] | None = None) -> dict[str, Override]:
    """Read ``config/overrides/<YYYY-YY-Qn>.yaml`` into ``{service code: Override}``.

    Raises :class:`ConfigError` naming the file and the dotted key (``overrides.0.reason``) when the
    file is invalid, when ``quarter`` differs from the file name, or when a service is not in
    ``known_services`` (if given).
    """
    parsed: OverrideFile = validate_file(OverrideFile, path)
    if parsed.quarter != path.stem:
        raise ConfigError(f"{_rel(path)}: quarter: must match the file name {path.stem!r} (got {parsed.quarter!r})")
    if known_services is not None:
        known = set(known_services)
        for i, entry in enumerate(parsed.overrides):
            if entry.service not in known:
                raise ConfigError(f"{_rel(path)}: overrides.{i}.service: unknown service {entry.service!r}")
    return {
        e.service: Override(rating=e.rating, reason=e.reason, decided_by=e.decided_by, decided_on=e.decided_on)
        for e in parsed.overrides
    }
