"""Deterministic fixture data for the Fingertips stub: profiles, indicators, areas and data rows.

Data rows are never held in memory: each block (indicator x sex x age x period, all areas) is computed
on demand from a seeded random generator, so a dataset of any size costs almost nothing until it is
served, and serving the same dataset twice gives byte-identical CSV. Revisions made with
:meth:`FixtureDataset.revise` are kept as overrides on top of the generated values.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from public_health.demo.fingertips_stub import realistic
from public_health.demo.fingertips_stub.areas import CIPFA_NEIGHBOURS, ENGLAND, REGIONS, UPPER_TIER

log = logging.getLogger(__name__)

AREA_TYPE_ENGLAND = 15
AREA_TYPE_REGION = 6
AREA_TYPE_UTLA = 502

AREA_TYPES: list[dict] = [
    {"Id": AREA_TYPE_ENGLAND, "Name": "England", "Short": "England", "IsSearchable": False,
     "CanBeDisplayedOnMap": False},
    {"Id": AREA_TYPE_REGION, "Name": "Regions (statistical)", "Short": "Region", "IsSearchable": True,
     "CanBeDisplayedOnMap": True},
    {"Id": AREA_TYPE_UTLA, "Name": "Upper tier local authorities (4/23)", "Short": "Counties & UAs (from Apr 2023)",
     "IsSearchable": True, "CanBeDisplayedOnMap": True},
]
# Districts and unitary authorities: served only by the national dataset (national.py), not in AREA_TYPES.
AREA_TYPE_LTLA = 501
AREA_TYPE_LTLA_JSON: dict = {"Id": AREA_TYPE_LTLA, "Name": "Lower tier local authorities (4/23)",
                             "Short": "Districts & UAs (from Apr 2023)", "IsSearchable": True,
                             "CanBeDisplayedOnMap": True}
AREA_TYPE_SHORT = {t["Id"]: t["Short"] for t in (*AREA_TYPES, AREA_TYPE_LTLA_JSON)}

# Fingertips polarity ids (PholioObjects Constants.PolarityIds) and their names.
POLARITY_NAMES = {
    -1: "Not applicable",
    0: "RAG - Low is good",
    1: "RAG - High is good",
    99: "BOB - Blue orange blue",
}

ALL_DATA_HEADER: tuple[str, ...] = (
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type",
    "Sex", "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit",
    "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator",
    "Value note", "Recent Trend", "Compared to England value or percentiles",
    "Compared to {parent} value or percentiles", "Time period Sortable", "New data", "Compared to goal",
    "Time period range",
)

GRANULARITIES = ("calendar_year", "financial_year", "academic_year", "rolling_3y", "fy_quarter")
LATEST_YEAR = 2023  # start year of the latest period served

PROFILE_ID_PHOF = 19
DEFAULT_LAST_UPLOAD = datetime(2024, 5, 7, 9, 30, 0)

NOTE_SUPPRESSED = "Value suppressed for disclosure control due to small count"
NOTE_QUALITY = "There is a data quality issue with this value"


@dataclass
class IndicatorSpec:
    """One indicator as the stub publishes it (metadata plus how its values are generated)."""

    indicator_id: int
    name: str
    unit: str = "per 1,000"
    value_type: str = "Crude rate"
    year_type: str = "Calendar"
    polarity_id: int = 0
    granularity: str = "calendar_year"
    sexes: tuple[str, ...] = ("Persons",)
    ages: tuple[str, ...] = ("All ages",)
    kind: str = "rate"  # rate | percent | years | count
    base: float = 20.0
    multiplier: float = 1000.0
    source: str = "Office for National Statistics (ONS)"
    phof_code: str | None = None
    definition: str | None = None
    has_goal: bool = False
    group_id: int = 1000049
    last_upload: datetime = DEFAULT_LAST_UPLOAD
    # Curated (real-shaped) indicators only; see realistic.py and phof_indicators.yaml.
    ci_method: str = "Byar's method"
    model: dict | None = None
    has_data: bool = True
    england_only: bool = False
    categories: dict | None = None
    rounding: dict | None = None

    @property
    def polarity(self) -> str:
        return POLARITY_NAMES[self.polarity_id]


@dataclass(frozen=True)
class StubArea:
    code: str
    name: str
    short_name: str
    area_type_id: int
    parent_code: str | None


@dataclass(frozen=True)
class Revision:
    value: float
    lower_ci_95: float
    upper_ci_95: float
    lower_ci_99_8: float
    upper_ci_99_8: float
    count: float | None
    denominator: float | None
    value_note: str | None


# --------------------------------------------------------------------------------------------------
# Periods


def period_labels(granularity: str, n_periods: int, latest_year: int = LATEST_YEAR) -> list[tuple[str, int, str]]:
    """(label, sortable, range) for the ``n_periods`` periods ending with the latest, oldest first."""
    out: list[tuple[str, int, str]] = []
    if granularity == "rolling_5fy":  # five financial years, cumulative: "2014/15 - 18/19"
        for k in range(n_periods - 1, -1, -1):
            start = latest_year - k - 4
            out.append((f"{start}/{(start + 1) % 100:02d} - {(start + 4) % 100:02d}/{(start + 5) % 100:02d}",
                        start * 10000, "5y"))
        return out
    if granularity == "fy_quarter":
        for k in range(n_periods - 1, -1, -1):
            idx = (latest_year * 4 + 3) - k  # latest: Q4 of latest financial year
            year, q = divmod(idx, 4)
            out.append((f"{year}/{(year + 1) % 100:02d} Q{q + 1}", year * 10000 + (q + 1) * 100, "1q"))
        return out
    for k in range(n_periods - 1, -1, -1):
        year = latest_year - k
        if granularity == "calendar_year":
            out.append((str(year), year * 10000, "1y"))
        elif granularity in ("financial_year", "academic_year"):
            out.append((f"{year}/{(year + 1) % 100:02d}", year * 10000, "1y"))
        elif granularity == "rolling_3y":
            start = year - 2
            out.append((f"{start} - {year % 100:02d}", start * 10000, "3y"))
        else:
            raise ValueError(f"unknown granularity {granularity!r}; expected one of {GRANULARITIES}")
    return out


# --------------------------------------------------------------------------------------------------
# The dataset


def _csv_field(text: str) -> str:
    """Quote as the Fingertips CsvWriter does: only when the text holds a comma, quote or newline."""
    if '"' in text:
        text = text.replace('"', '""')
    if any(c in text for c in ',"\n'):
        return f'"{text}"'
    return text


def _num_strings(arr: np.ndarray) -> list[str]:
    """Numbers as the API writes them (shortest form, integers without a decimal point), NaN as ''."""
    rounded = np.round(arr.astype(float), 5)
    finite = np.isfinite(rounded)
    if finite.all() and (rounded == np.floor(rounded)).all() and np.abs(rounded).max(initial=0) < 1e15:
        return [str(x) for x in rounded.astype(np.int64).tolist()]
    out = []
    for x in rounded.tolist():
        if x != x:
            out.append("")
        elif x == int(x):
            out.append(str(int(x)))
        else:
            out.append(repr(x))
    return out


@dataclass(frozen=True)
class _Block:
    """Which block of rows: one sex, one age band, one period of an indicator."""

    sex_i: int
    sex: str
    age_i: int
    age: str
    p_idx: int
    label: str
    sortable: int
    prange: str


@dataclass
class FixtureDataset:
    """Everything the stub serves. Build one with :func:`generate_dataset` or :func:`default_demo_dataset`."""

    profiles: list[dict]
    indicators: dict[int, IndicatorSpec]
    areas: dict[str, StubArea]
    child_codes: list[str]
    neighbours: dict[str, list[str]]
    n_periods: int = 5
    seed: int = 19
    revisions: dict[tuple[int, str, str, str, str], Revision] = field(default_factory=dict)
    latest_year: int = LATEST_YEAR
    # Curated datasets: every upper-tier authority whose numbers feed the regions and England (a
    # superset of child_codes) with its region, and rows published off-method on purpose.
    universe_codes: list[str] | None = None
    universe_parents: dict[str, str] = field(default_factory=dict)
    quirks: dict[tuple[int, str], list[dict]] = field(default_factory=dict)

    # ---- lookups -------------------------------------------------------------------------------
    @property
    def region_codes(self) -> list[str]:
        return [c for c, a in self.areas.items() if a.area_type_id == AREA_TYPE_REGION]

    def areas_of_type(self, area_type_id: int) -> list[StubArea]:
        if area_type_id == AREA_TYPE_UTLA:
            return [self.areas[c] for c in self.child_codes]
        return [a for a in self.areas.values() if a.area_type_id == area_type_id]

    # ---- what the server asks (the national dataset answers for more area types) ------------------
    def area_types_json(self) -> list[dict]:
        """The area types listed by ``/api/area_types``."""
        return AREA_TYPES

    def available_area_type_ids(self) -> tuple[int, ...]:
        """The area types ``/api/available_data`` lists for every indicator."""
        return (AREA_TYPE_ENGLAND, AREA_TYPE_REGION, AREA_TYPE_UTLA)

    def serving(self, child_area_type_id: int) -> FixtureDataset | None:
        """The dataset whose ``child_codes`` are the areas of ``child_area_type_id`` (all_data's child areas, the
        area lists); None when that area type is not served as a child."""
        return self if child_area_type_id == AREA_TYPE_UTLA else None

    def children_of(self, area_type_id: int, parent_code: str) -> list[StubArea]:
        """Areas of ``area_type_id`` whose parent is ``parent_code`` (``/api/areas/by_parent_area_code``)."""
        return [a for a in self.areas_of_type(area_type_id) if a.parent_code == parent_code]

    def parent_map(self, parent_area_type_id: int) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for code in self.child_codes:
            parent = ENGLAND[0] if parent_area_type_id == AREA_TYPE_ENGLAND else self.areas[code].parent_code
            out.setdefault(str(parent), []).append(code)
        return out

    def periods(self, indicator_id: int) -> list[tuple[str, int, str]]:
        spec = self.indicators[indicator_id]
        if spec.model is not None:  # curated: 2010 (2010/11) to the dataset's latest year
            n = realistic.series_length(spec.granularity, realistic.FIRST_YEAR, self.latest_year)
            return period_labels(spec.granularity, n, self.latest_year)
        return period_labels(spec.granularity, self.n_periods, self.latest_year)

    def row_count(self, indicator_ids: list[int] | None = None) -> int:
        ids = self.indicators if indicator_ids is None else [i for i in indicator_ids if i in self.indicators]
        per_block = 1 + len(self.region_codes) + len(self.child_codes)
        total = 0
        for i in ids:
            spec = self.indicators[i]
            if not spec.has_data:
                continue
            n_p = len(self.periods(i)) if spec.model is not None else self.n_periods
            rows = 1 if spec.england_only else per_block
            total += len(spec.sexes) * len(spec.ages) * n_p * rows
            if spec.categories:
                total += len(spec.ages) * n_p * len(spec.categories["england"])
        return total

    # ---- revisions -----------------------------------------------------------------------------
    def revise(self, indicator_id: int, area_code: str, time_period: str, new_value: float, *,
               uploaded_at: datetime | None = None, **published: Any) -> None:
        """Change a published value (CIs move with it, keeping their widths) and bump the upload date.

        ``published`` may name the row's ``sex`` and ``age`` (default: the indicator's first), a
        ``value_note``, and set any other published number as given (lower_ci_95, upper_ci_95,
        lower_ci_99_8, upper_ci_99_8, count, denominator), consistent or not: that is how tests
        publish data that must fail the gate.
        """
        sex: str | None = published.pop("sex", None)
        age: str | None = published.pop("age", None)
        value_note: str | None = published.pop("value_note", None)
        spec = self.indicators.get(indicator_id)
        if spec is None:
            raise KeyError(f"indicator {indicator_id} is not in the fixture dataset")
        if area_code not in self.areas:
            raise KeyError(f"area {area_code} is not in the fixture dataset")
        labels = [p[0] for p in self.periods(indicator_id)]
        if time_period not in labels:
            raise KeyError(f"indicator {indicator_id} has no period {time_period!r}; it has {labels}")
        sex = sex or spec.sexes[0]
        age = age or spec.ages[0]
        current = self.value_of(indicator_id, area_code, time_period, sex=sex, age=age)
        old_v = current["value"]
        if old_v is None or math.isnan(old_v):
            old_v, lo95, hi95, lo998, hi998 = new_value, new_value, new_value, new_value, new_value
        else:
            lo95, hi95 = current["lower_ci_95"], current["upper_ci_95"]
            lo998, hi998 = current["lower_ci_99_8"], current["upper_ci_99_8"]
        shift = new_value - old_v
        self.revisions[(indicator_id, area_code, sex, age, time_period)] = Revision(
            value=new_value,
            lower_ci_95=min(lo95 + shift, new_value), upper_ci_95=max(hi95 + shift, new_value),
            lower_ci_99_8=min(lo998 + shift, new_value), upper_ci_99_8=max(hi998 + shift, new_value),
            count=current["count"], denominator=current["denominator"], value_note=value_note,
        )
        if published:
            unknown = set(published) - set(Revision.__dataclass_fields__) - {"value"}
            if unknown:
                raise TypeError(f"revise() cannot set {sorted(unknown)}")
            key = (indicator_id, area_code, sex, age, time_period)
            self.revisions[key] = dataclasses.replace(self.revisions[key], **published)
        stamp = uploaded_at or datetime.now().replace(microsecond=0)
        spec.last_upload = max(stamp, spec.last_upload + timedelta(seconds=1))
        log.info("fixture: revised indicator %s %s %s to %s (last upload now %s)", indicator_id, area_code,
                 time_period, new_value, spec.last_upload)

    def value_of(self, indicator_id: int, area_code: str, time_period: str, *, sex: str | None = None,
                 age: str | None = None) -> dict[str, float | None]:
        """The numbers the stub publishes for one row (after revisions)."""
        spec = self.indicators[indicator_id]
        sex = sex or spec.sexes[0]
        age = age or spec.ages[0]
        periods = self.periods(indicator_id)
        p_idx = [p[0] for p in periods].index(time_period)
        block = self._block(spec, spec.sexes.index(sex), spec.ages.index(age), p_idx)
        i = block["codes"].index(area_code)
        out = {k: (None if math.isnan(float(block[k][i])) else float(block[k][i]))
               for k in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count",
                         "denominator")}
        rev = self.revisions.get((indicator_id, area_code, sex, age, time_period))
        if rev is not None:
            out.update(value=rev.value, lower_ci_95=rev.lower_ci_95, upper_ci_95=rev.upper_ci_95,
                       lower_ci_99_8=rev.lower_ci_99_8, upper_ci_99_8=rev.upper_ci_99_8)
        return out

    # ---- value generation ----------------------------------------------------------------------
    def _area_order(self) -> list[str]:
        return [ENGLAND[0], *self.region_codes, *self.child_codes]

    def _population(self) -> np.ndarray:
        """A stable population size per child area (20,000 to 1.5 million)."""
        cached = self.__dict__.get("_pop_cache")
        if cached is not None and len(cached) == len(self.child_codes):
            return cached
        pops = []
        for code in self.child_codes:
            h = int(code[3:]) * 2654435761 % 1000003
            pops.append(20000 + (h / 1000003) ** 2 * 1_480_000)
        arr = np.array(pops)
        self.__dict__["_pop_cache"] = arr
        return arr

    def _regions(self) -> tuple[list[str], np.ndarray]:
        """Region codes and, per child area, the index of its region (-1 if none); cached."""
        key = (len(self.areas), len(self.child_codes))
        cached = self.__dict__.get("_regions_cache")
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        region_codes = self.region_codes
        index = {c: i for i, c in enumerate(region_codes)}
        region_of = np.array([index.get(str(self.areas[c].parent_code), -1) for c in self.child_codes], dtype=int)
        self.__dict__["_regions_cache"] = (key, region_codes, region_of)
        return region_codes, region_of

    def _area_effects(self, spec: IndicatorSpec) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, spec.indicator_id, 7])
        level = rng.normal(0.0, 0.18, len(self.child_codes))
        trend = rng.normal(0.0, 0.03, len(self.child_codes))
        return level, trend

    def _block(self, spec: IndicatorSpec, sex_i: int, age_i: int, p_idx: int) -> dict:
        """Numbers for every area of one (indicator, sex, age, period), England and regions first."""
        if spec.model is not None:
            return realistic.real_block(self, spec, sex_i, p_idx)
        n_child = len(self.child_codes)
        rng = np.random.default_rng([self.seed, spec.indicator_id, sex_i, age_i, p_idx])
        level, trend = self._area_effects(spec)
        pop = self._population()
        sex_factor = (1.0, 0.93, 1.07)[sex_i % 3] if spec.kind != "years" else (1.0, 0.97, 1.03)[sex_i % 3]
        age_factor = 1.0 + 0.15 * age_i
        centre = spec.base * sex_factor * age_factor * (1.0 + 0.02 * (p_idx - self.n_periods / 2))
        noise = rng.normal(0.0, 0.04, n_child)
        if spec.kind == "years":
            child_v = centre + centre * 0.04 * level + trend * p_idx + noise
        else:
            child_v = centre * np.exp(level + trend * p_idx + noise)
        if spec.kind == "percent":
            child_v = np.clip(child_v, 0.5, 99.5)
            denom = np.maximum(np.round(pop * 0.012 * (1 + 0.1 * rng.random(n_child))), 30)
        elif spec.kind == "rate":
            denom = np.round(pop * 0.2 * (1 + 0.05 * rng.random(n_child)))
        else:
            denom = np.round(pop)

        # Regions and England aggregate their children (weighted by denominator).
        region_codes, region_of = self._regions()
        n_reg = len(region_codes)
        members = region_of >= 0
        reg_d = np.bincount(region_of[members], weights=denom[members], minlength=n_reg)
        weighted = np.bincount(region_of[members], weights=(child_v * denom)[members], minlength=n_reg)
        empty = reg_d == 0
        reg_v = np.where(empty, centre, weighted / np.where(empty, 1.0, reg_d))
        reg_d = np.where(empty, float(pop.mean() * 10), reg_d)
        eng_d = np.array([denom.sum() if n_child else float(pop.mean() * 150)])
        eng_v = np.array([float(np.average(child_v, weights=denom)) if n_child else centre])
        value = np.concatenate([eng_v, reg_v, child_v])
        den = np.concatenate([eng_d, reg_d, denom])

        if spec.kind == "percent":
            count = np.round(value / 100.0 * den)
            p = np.clip(count / den, 1e-6, 1 - 1e-6)
            value = p * 100.0
            se = np.sqrt(p * (1 - p) / den) * 100.0
        elif spec.kind == "rate":
            count = np.round(value / spec.multiplier * den)
            count = np.maximum(count, 0)
            value = count / den * spec.multiplier
            se = np.sqrt(np.maximum(count, 1.0)) / den * spec.multiplier
        elif spec.kind == "count":
            count = np.round(value)
            value = count
            se = np.sqrt(np.maximum(count, 1.0))
        else:  # years (life expectancy): no count or denominator
            count = np.full(len(value), np.nan)
            se = np.full(len(value), 0.25)
            se[1 + len(region_codes):] = 0.35 + 0.3 * rng.random(n_child)
            se[0] = 0.05
        lo95, hi95 = value - 1.96 * se, value + 1.96 * se
        lo998, hi998 = value - 3.09 * se, value + 3.09 * se
        if spec.kind in ("percent", "rate", "count"):
            lo95, lo998 = np.maximum(lo95, 0.0), np.maximum(lo998, 0.0)
        if spec.kind == "percent":
            hi95, hi998 = np.minimum(hi95, 100.0), np.minimum(hi998, 100.0)
        denominator = den if spec.kind in ("percent", "rate") else np.full(len(value), np.nan)
        # Some small-area values are suppressed (small counts) or flagged.
        notes = [""] * len(value)
        u = rng.random(len(value))
        for i in range(1 + len(region_codes), len(value)):
            if u[i] < 0.02:
                notes[i] = NOTE_SUPPRESSED
                value[i] = lo95[i] = hi95[i] = lo998[i] = hi998[i] = np.nan
                count[i] = np.nan
            elif u[i] > 0.985:
                notes[i] = NOTE_QUALITY
        return {
            "codes": self._area_order(), "value": value, "lower_ci_95": lo95, "upper_ci_95": hi95,
            "lower_ci_99_8": lo998, "upper_ci_99_8": hi998, "count": count, "denominator": denominator,
            "notes": notes, "trend": trend,
        }

    # ---- CSV -----------------------------------------------------------------------------------
    def all_data_header(self, parent_area_type_id: int) -> list[str]:
        cols = list(ALL_DATA_HEADER)
        if parent_area_type_id == AREA_TYPE_ENGLAND:
            cols[22] = "Compared to percentiles"
        else:
            cols[22] = cols[22].format(parent=AREA_TYPE_SHORT.get(parent_area_type_id, "Region"))
        return cols

    def iter_all_data_lines(self, indicator_ids: list[int], parent_area_type_id: int = AREA_TYPE_REGION,
                            newline: str = "\r\n") -> Iterator[list[str]]:
        """Yield the CSV body as batches of lines (each batch one block), header excluded."""
        region_codes = self.region_codes
        n_reg = len(region_codes)
        area_order = self._area_order()
        eng_code, eng_name = ENGLAND
        prefixes: list[str] = []
        for code in area_order:
            area = self.areas[code]
            if area.area_type_id == AREA_TYPE_ENGLAND:
                parent = ("", "")
            elif area.area_type_id == AREA_TYPE_REGION or parent_area_type_id == AREA_TYPE_ENGLAND:
                parent = (eng_code, eng_name)
            else:
                p = self.areas[str(area.parent_code)]
                parent = (p.code, p.name)
            prefixes.append(",".join(_csv_field(x) for x in (*parent, area.code, area.name,
                                                             AREA_TYPE_SHORT[area.area_type_id])))
        for indicator_id in indicator_ids:
            spec = self.indicators.get(indicator_id)
            if spec is None or not spec.has_data:
                continue
            head = f"{spec.indicator_id},{_csv_field(spec.name)}"
            periods = self.periods(indicator_id)
            for sex_i, sex in enumerate(spec.sexes):
                for age_i, age in enumerate(spec.ages):
                    for p_idx, (label, sortable, prange) in enumerate(periods):
                        yield self._block_lines(spec, _Block(sex_i, sex, age_i, age, p_idx, label, sortable,
                                                             prange), head, prefixes, (n_reg, newline))

    def _block_lines(self, spec: IndicatorSpec, block: _Block, head: str, prefixes: list[str],
                     layout: tuple[int, str]) -> list[str]:
        sex_i, sex, age_i, age, p_idx, label, sortable, prange = dataclasses.astuple(block)
        n_reg, newline = layout
        b = self._block(spec, sex_i, age_i, p_idx)
        codes = b["codes"]
        arrays = {k: b[k].copy() for k in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8")}
        notes, trend = b["notes"], b["trend"]
        for i, code in enumerate(codes):
            rev = self.revisions.get((spec.indicator_id, code, sex, age, label))
            if rev is not None:
                arrays["value"][i], arrays["lower_ci_95"][i], arrays["upper_ci_95"][i] = (
                    rev.value, rev.lower_ci_95, rev.upper_ci_95)
                arrays["lower_ci_99_8"][i], arrays["upper_ci_99_8"][i] = rev.lower_ci_99_8, rev.upper_ci_99_8
                if rev.value_note is not None:
                    notes[i] = rev.value_note
        value = arrays["value"].tolist()
        lo95 = arrays["lower_ci_95"].tolist()
        hi95 = arrays["upper_ci_95"].tolist()
        s_value, s_lo95, s_hi95, s_lo998, s_hi998 = (_num_strings(arrays[k]) for k in (
            "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8"))
        s_count, s_den = _num_strings(b["count"]), _num_strings(b["denominator"])
        eng_v = value[0]
        region_value = dict(zip(codes[1 : 1 + n_reg], value[1 : 1 + n_reg], strict=True))
        n_periods = len(self.periods(spec.indicator_id)) if spec.model is not None else self.n_periods
        latest = p_idx == n_periods - 1
        new_data = "New data" if latest else ""
        pol = spec.polarity_id
        better_if_higher = pol == 1
        mid = f"{_csv_field(sex)},{_csv_field(age)},,,{_csv_field(label)}"
        tail_common = f"{sortable},{new_data}"
        lines: list[str] = []
        n_child_start = 1 + n_reg
        for i, code in enumerate(codes):
            v = value[i]
            if i == 0:
                vs_eng = vs_parent = "Not compared"
            else:
                vs_eng = _compare(v, lo95[i], hi95[i], eng_v, pol, better_if_higher)
                if i < n_child_start:
                    vs_parent = "Not compared"
                else:
                    parent = self.areas[code].parent_code
                    pv = region_value.get(str(parent), eng_v)
                    vs_parent = _compare(v, lo95[i], hi95[i], pv, pol, better_if_higher)
            if p_idx < 4 or v != v:  # Fingertips needs five points for a recent trend
                trend_label = "Cannot be calculated"
            else:
                t = trend[i - n_child_start] if i >= n_child_start else 0.0
                trend_label = _trend_label(t, pol)
            goal = ""
            if spec.has_goal and v == v:
                goal = "Green" if vs_eng == "Better" else ("Red" if vs_eng == "Worse" else "Amber")
            lines.append(
                f"{head},{prefixes[i]},{mid},{s_value[i]},{s_lo95[i]},{s_hi95[i]},{s_lo998[i]},"
                f"{s_hi998[i]},{s_count[i]},{s_den[i]},{notes[i]},{trend_label},{vs_eng},{vs_parent},"
                f"{tail_common},{goal},{prange}{newline}"
            )
        for cat in b.get("categories", []):
            nums = {k: _num_strings(np.array([cat[k]], float))[0] for k in (
                "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count", "denominator")}
            vs_eng = _compare(cat["value"], cat["lower_ci_95"], cat["upper_ci_95"], eng_v, pol, better_if_higher)
            cat_mid = (f"{_csv_field(sex)},{_csv_field(age)},{_csv_field(cat['category_type'])},"
                       f"{_csv_field(cat['category'])},{_csv_field(label)}")
            lines.append(
                f"{head},{prefixes[0]},{cat_mid},{nums['value']},{nums['lower_ci_95']},{nums['upper_ci_95']},"
                f"{nums['lower_ci_99_8']},{nums['upper_ci_99_8']},{nums['count']},{nums['denominator']},,"
                f"Cannot be calculated,{vs_eng},Not compared,{tail_common},,{prange}{newline}"
            )
        return lines

    def all_data_csv(self, indicator_ids: list[int], parent_area_type_id: int = AREA_TYPE_REGION,
                     newline: str = "\r\n") -> str:
        """The whole CSV as one string (for small datasets and tests)."""
        parts = [",".join(_csv_field(c) for c in self.all_data_header(parent_area_type_id)) + newline]
        for lines in self.iter_all_data_lines(indicator_ids, parent_area_type_id, newline):
            parts.extend(lines)
        return "".join(parts)

    # ---- JSON shapes ---------------------------------------------------------------------------
    def area_json(self, code: str) -> dict:
        a = self.areas[code]
        return {"Code": a.code, "Name": a.name, "Short": a.short_name, "AreaTypeId": a.area_type_id}

    def indicator_metadata_json(self, indicator_id: int) -> dict:
        s = self.indicators[indicator_id]
        descriptive = {"Name": s.name, "Definition": s.definition or s.name, "DataSource": s.source}
        if s.phof_code:
            descriptive["IndicatorNumber"] = s.phof_code
        return {
            "IID": s.indicator_id,
            "Descriptive": descriptive,
            "Unit": {"Id": 1, "Value": s.multiplier if (s.kind == "rate" or s.model is not None) else 1.0,
                     "Label": s.unit},
            "ValueType": {"Id": 1, "Name": s.value_type},
            "YearType": {"Id": 1, "Name": s.year_type},
            "ConfidenceIntervalMethod": {"Id": 1, "Name": s.ci_method},
            # An indicator listed with no data uploaded has no DataChange (the pipeline then expects no rows).
            "DataChange": {"LastUploadedAt": s.last_upload.isoformat(timespec="milliseconds"),
                           "LastDeletedAt": "0001-01-01T00:00:00"} if s.has_data else None,
            "SpecialCases": None,
            "Status": None,
        }


def _compare(v: float, lo: float, hi: float, ref: float, polarity_id: int, better_if_higher: bool) -> str:
    if v != v or ref != ref or lo != lo or hi != hi:
        return "Not compared"
    if lo > ref:
        direction = "higher"
    elif hi < ref:
        direction = "lower"
    else:
        return "Similar" if polarity_id in (0, 1, 99) else "Not compared"
    if polarity_id == 99:
        return "Higher" if direction == "higher" else "Lower"
    if polarity_id not in (0, 1):
        return "Not compared"
    return "Better" if (direction == "higher") == better_if_higher else "Worse"


def _trend_label(t: float, polarity_id: int) -> str:
    if abs(t) < 0.02:
        return "No significant change"
    up = t > 0
    if polarity_id == 1:
        return "Increasing and getting better" if up else "Decreasing and getting worse"
    if polarity_id == 0:
        return "Increasing and getting worse" if up else "Decreasing and getting better"
    return "Increasing" if up else "Decreasing"


# --------------------------------------------------------------------------------------------------
# Building datasets

# Real Fingertips indicator ids. Verified ones come from the constants in
# ukhsa-collaboration/fingertips-open (PholioVisualisationWS/PholioObjects/Constants.cs IndicatorIds)
# and from fingertipsR's tests; the period granularity, units and polarities are realistic choices.
_P = "public health outcomes framework"
DEMO_INDICATORS: list[IndicatorSpec] = [
    IndicatorSpec(90366, "Life expectancy at birth", "Years", "Life expectancy", "Calendar", -1, "rolling_3y",
                  ("Male", "Female"), kind="years", base=80.5, phof_code="A01b"),
    IndicatorSpec(90362, "Healthy life expectancy at birth", "Years", "Life expectancy", "Calendar", 1, "rolling_3y",
                  ("Male", "Female"), kind="years", base=63.0, phof_code="A01a"),
    IndicatorSpec(91102, "Life expectancy at 65", "Years", "Life expectancy", "Calendar", -1, "rolling_3y",
                  ("Male", "Female"), ("65 yrs",), kind="years", base=19.8, phof_code="A01c"),
    IndicatorSpec(10101, "Children in low income families (under 16s)", "%", "Proportion", "Calendar", 0,
                  "calendar_year", ages=("<16 yrs",), kind="percent", base=17.0, phof_code="B01b",
                  source="HM Revenue and Customs"),
    IndicatorSpec(10301, "Pupil absence", "%", "Proportion", "Academic", 0, "academic_year", ages=("5-15 yrs",),
                  kind="percent", base=4.6, phof_code="B03", source="Department for Education"),
    IndicatorSpec(10401, "First time entrants to the youth justice system", "per 100,000", "Crude rate",
                  "Calendar", 0, "calendar_year", ages=("10-17 yrs",), kind="rate", base=220.0,
                  multiplier=100000, phof_code="B04", source="Ministry of Justice"),
    IndicatorSpec(20401, "Under 18s conception rate / 1,000", "per 1,000", "Crude rate", "Calendar", 0,
                  "calendar_year", ("Female",), ("<18 yrs",), kind="rate", base=16.0, phof_code="C02a",
                  has_goal=False),
    IndicatorSpec(90639, "Under 16s conception rate / 1,000", "per 1,000", "Crude rate", "Calendar", 0,
                  "calendar_year", ("Female",), ("13-15 yrs",), kind="rate", base=2.5, phof_code="C02b"),
    IndicatorSpec(93085, "Smoking status at time of delivery", "%", "Proportion", "Financial", 0, "fy_quarter",
                  ("Female",), ("All ages",), kind="percent", base=9.5, phof_code="C06",
                  source="NHS Digital", has_goal=True),
    IndicatorSpec(90634, "School readiness: percentage of children achieving a good level of development at the "
                  "end of Reception", "%", "Proportion", "Academic", 1, "academic_year", ("Persons", "Male", "Female"),
                  ("5 yrs",), kind="percent", base=65.0, phof_code="B02a", source="Department for Education"),
    IndicatorSpec(20602, "Year 6: Prevalence of overweight (including obesity)", "%", "Proportion", "Financial", 0,
                  "financial_year", ("Persons", "Male", "Female"), ("10-11 yrs",), kind="percent", base=35.0,
                  phof_code="C09b", source="National Child Measurement Programme"),
    IndicatorSpec(90323, "Year 6: Prevalence of obesity (including severe obesity)", "%", "Proportion",
                  "Financial", 0, "financial_year", ("Persons", "Male", "Female"), ("10-11 yrs",), kind="percent",
                  base=22.0, source="National Child Measurement Programme"),
    IndicatorSpec(93088, "Percentage of adults (aged 18 plus) classified as overweight or obese", "%", "Proportion",
                  "Financial", 0, "financial_year", ages=("18+ yrs",), kind="percent", base=63.5, phof_code="C16",
                  source="Active Lives Adult Survey, Sport England"),
    IndicatorSpec(93014, "Percentage of physically active adults", "%", "Proportion", "Financial", 1,
                  "financial_year", ("Persons", "Male", "Female"), ("19+ yrs",), kind="percent", base=66.0,
                  phof_code="C17a", source="Active Lives Adult Survey, Sport England", has_goal=True),
    IndicatorSpec(92443, "Smoking Prevalence in adults (18+) - current smokers (APS)", "%", "Proportion",
                  "Calendar", 0, "calendar_year", ("Persons", "Male", "Female"), ("18+ yrs",), kind="percent",
                  base=13.5, phof_code="C18", source="Annual Population Survey", has_goal=True),
    IndicatorSpec(90777, "Chlamydia detection rate per 100,000 aged 15 to 24", "per 100,000", "Crude rate",
                  "Calendar", 1, "calendar_year", ("Persons", "Male", "Female"), ("15-24 yrs",), kind="rate",
                  base=1900.0, multiplier=100000, phof_code="D02a", source="UKHSA GUMCAD / CTAD"),
    IndicatorSpec(90791, "HIV late diagnosis in people first diagnosed with HIV in the UK", "%", "Proportion",
                  "Calendar", 0, "rolling_3y", ages=("15+ yrs",), kind="percent", base=43.0, phof_code="D07",
                  source="UKHSA HIV and AIDS Reporting System"),
    IndicatorSpec(90742, "Syphilis diagnostic rate per 100,000", "per 100,000", "Crude rate", "Calendar", 99,
                  "calendar_year", kind="rate", base=12.0, multiplier=100000, source="UKHSA GUMCAD"),
    IndicatorSpec(92254, "Total prescribed LARC excluding injections rate / 1,000", "per 1,000", "Crude rate",
                  "Calendar", 1, "calendar_year", ("Female",), ("15-44 yrs",), kind="rate", base=40.0,
                  source="NHS Business Services Authority"),
    IndicatorSpec(91361, "Incidence of TB", "per 100,000", "Crude rate", "Calendar", 0, "rolling_3y", kind="rate",
                  base=8.0, multiplier=100000, source="UKHSA Enhanced TB Surveillance"),
    IndicatorSpec(91367, "Proportion of drug sensitive TB notifications who had completed a full course of "
                  "treatment by 12 months", "%", "Proportion", "Calendar", 1, "calendar_year", kind="percent",
                  base=85.0, source="UKHSA Enhanced TB Surveillance"),
    IndicatorSpec(41402, "Hip fractures in people aged 65 and over", "per 100,000", "Directly standardised rate",
                  "Financial", 0, "financial_year", ages=("65+ yrs",), kind="rate", base=560.0, multiplier=100000,
                  phof_code="E13", source="NHS England Hospital Episode Statistics"),
    IndicatorSpec(92199, "GCSE attainment (average attainment 8 score)", "Score", "Mean", "Academic", 1,
                  "academic_year", ages=("15-16 yrs",), kind="years", base=46.5, source="Department for Education"),
    IndicatorSpec(91111, "Cumulative percentage of the eligible population aged 40 to 74 offered an NHS Health "
                  "Check", "%", "Proportion", "Financial", 1, "financial_year", ages=("40-74 yrs",), kind="percent",
                  base=60.0, source="Office for Health Improvement and Disparities"),
    IndicatorSpec(93500, "Percentage of deaths that occur in the usual place of residence", "%", "Proportion",
                  "Calendar", 99, "calendar_year", kind="percent", base=47.0, source="Office for National Statistics"),
    IndicatorSpec(92708, "Population (resident)", "Persons", "Count", "Calendar", -1, "calendar_year", kind="count",
                  base=400000.0, source="Office for National Statistics mid-year estimates"),
    IndicatorSpec(93427, "C. difficile infection counts and rates", "per 100,000", "Crude rate", "Financial", 0,
                  "financial_year", kind="rate", base=25.0, multiplier=100000, source="UKHSA HCAI surveillance"),
    IndicatorSpec(90641, "Excess winter deaths index", "%", "Ratio", "Calendar", 0, "rolling_3y", kind="percent",
                  base=20.0, source="Office for National Statistics"),
]

_GROUPS = {
    1000049: "Overarching indicators",
    1000041: "Wider determinants of health",
    1000042: "Health improvement",
    1000043: "Health protection",
    1000044: "Healthcare and premature mortality",
}


def _assign_groups(specs: list[IndicatorSpec]) -> None:
    by_prefix = {"A": 1000049, "B": 1000041, "C": 1000042, "D": 1000043, "E": 1000044}
    ids = sorted(_GROUPS)
    for n, s in enumerate(specs):
        s.group_id = by_prefix.get((s.phof_code or "?")[0], ids[n % len(ids)])


def _profiles(specs: list[IndicatorSpec]) -> list[dict]:
    group_ids = sorted({s.group_id for s in specs if s.group_id in _GROUPS})
    return [
        {
            "Id": PROFILE_ID_PHOF, "Name": "Public Health Outcomes Framework",
            "Key": "public-health-outcomes-framework", "GroupIds": group_ids,
            "GroupMetadata": [{"Id": g, "Name": _GROUPS.get(g, f"Domain {g}"), "ProfileId": PROFILE_ID_PHOF,
                               "Sequence": n + 1} for n, g in enumerate(group_ids)],
        },
        {"Id": 45, "Name": "Sexual and Reproductive Health Profiles", "Key": "sexualhealth",
         "GroupIds": [8000057], "GroupMetadata": [{"Id": 8000057, "Name": "Key indicators", "ProfileId": 45,
                                                    "Sequence": 1}]},
    ]


def _build_areas(n_areas: int | None) -> tuple[dict[str, StubArea], list[str]]:
    areas: dict[str, StubArea] = {ENGLAND[0]: StubArea(ENGLAND[0], ENGLAND[1], ENGLAND[1], AREA_TYPE_ENGLAND, None)}
    for code, name in REGIONS.items():
        short = name.replace(" region (statistical)", "")
        areas[code] = StubArea(code, name, short, AREA_TYPE_REGION, ENGLAND[0])
    utla = list(UPPER_TIER)
    if n_areas is not None:
        if n_areas < 3:
            raise ValueError("n_areas must be at least 3 (Leicestershire, Leicester and Rutland are always present)")
        keep = {"E10000018", "E06000016", "E06000017"}
        chosen = [u for u in utla if u[0] in keep]
        chosen += [u for u in utla if u[0] not in keep][: max(0, n_areas - len(chosen))]
        regions = list(REGIONS)
        for k in range(max(0, n_areas - len(chosen))):
            chosen.append((f"E06{900001 + k:06d}", f"Synthetic Unitary {k + 1}", regions[k % len(regions)]))
        utla = sorted(chosen)
    children = []
    for code, name, region in utla:
        areas[code] = StubArea(code, name, name, AREA_TYPE_UTLA, region)
        children.append(code)
    return areas, children


def _build_neighbours(areas: dict[str, StubArea], children: list[str], seed: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    child_set = set(children)
    for code, nns in CIPFA_NEIGHBOURS.items():
        if code in child_set:
            out[code] = [c for c in nns if c in child_set]
    for i, code in enumerate(children):
        if code in out:
            continue
        kind = code[:3]
        same = [c for c in children if c != code and c[:3] == kind] or [c for c in children if c != code]
        rng = np.random.default_rng([seed, i, 31])
        picks = rng.permutation(len(same))[:15]
        out[code] = [same[j] for j in sorted(picks)]
    return out


def generate_dataset(*, indicators: int | list[int] = 10, n_areas: int | None = None,
                     sexes: tuple[str, ...] = ("Persons",), ages: tuple[str, ...] = ("All ages",),
                     n_periods: int = 5, seed: int = 19) -> FixtureDataset:
    """A synthetic dataset of any size, identical for identical arguments.

    ``indicators``: how many (ids 90001.., default 10), or the ids themselves. Every indicator is
    published for the given sexes and ages over ``n_periods`` periods, for England, the nine regions
    and ``n_areas`` upper-tier authorities (default: all 153; LLR always included).
    """
    if n_periods < 1:
        raise ValueError("n_periods must be at least 1")
    indicator_ids = [90001 + k for k in range(indicators)] if isinstance(indicators, int) else list(indicators)
    rng = np.random.default_rng([seed, 1])
    kinds = [("rate", "per 100,000", "Directly standardised rate", 100000.0, 350.0),
             ("percent", "%", "Proportion", 1.0, 40.0),
             ("rate", "per 1,000", "Crude rate", 1000.0, 18.0),
             ("years", "Years", "Life expectancy", 1.0, 79.0)]
    specs: list[IndicatorSpec] = []
    for n, iid in enumerate(indicator_ids):
        kind, unit, vtype, mult, base = kinds[n % len(kinds)]
        gran = GRANULARITIES[n % len(GRANULARITIES)]
        polarity = (0, 1, 99, -1)[int(rng.integers(0, 4))]
        year_type = {"financial_year": "Financial", "academic_year": "Academic", "fy_quarter": "Financial"}.get(
            gran, "Calendar")
        specs.append(IndicatorSpec(
            int(iid), f"Synthetic indicator {iid}", unit, vtype, year_type, polarity, gran, tuple(sexes), tuple(ages),
            kind=kind, base=base * float(rng.uniform(0.7, 1.3)), multiplier=mult,
            source="Fixture generator", phof_code=None, has_goal=bool(n % 5 == 0),
            last_upload=DEFAULT_LAST_UPLOAD + timedelta(days=n),
        ))
    _assign_groups(specs)
    areas, children = _build_areas(n_areas)
    return FixtureDataset(
        profiles=_profiles(specs), indicators={s.indicator_id: s for s in specs}, areas=areas,
        child_codes=children, neighbours=_build_neighbours(areas, children, seed), n_periods=n_periods, seed=seed,
    )


def _configured_indicator_ids(config_dir: Path | None = None) -> dict[int, tuple[str, str | None]]:
    """Indicator ids (with names and PHOF codes) listed in config/indicator_sets/*.yaml, if any."""
    try:
        import yaml

        from public_health.config import config_dir as _config_dir
    except ImportError:  # pragma: no cover - both are project dependencies
        return {}
    folder = (config_dir or _config_dir()) / "indicator_sets"
    found: dict[int, tuple[str, str | None]] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.warning("fixture: skipping %s: %s", path, exc)
            continue
        for item in raw.get("indicators") or []:
            if isinstance(item, dict) and str(item.get("id", "")).isdigit():
                found.setdefault(int(item["id"]), (str(item.get("name") or ""), item.get("phof_code")))
    return found


_UNIT_MULTIPLIER = {"%": 100.0, "per 1,000": 1000.0, "per 10,000": 10000.0, "per 100,000": 100000.0, "Years": 1.0}
_KIND_OF_MODEL = {"proportion": "percent", "percent_no_ci": "percent", "crude_rate": "rate", "dsr": "rate",
                  "isr": "percent", "ewd": "percent", "years": "years", "years_no_ci": "years"}
DEMO_MIN_PER_REGION = 4


def demo_area_codes() -> list[str]:
    """The upper-tier authorities the demo serves (all 153 still feed the regions and England).

    Leicestershire, Leicester and Rutland, their CIPFA nearest neighbours, every East Midlands
    authority, and at least four authorities (the first in ONS code order) from every region.
    """
    keep = {"E10000018", "E06000016", "E06000017"}
    for code, nns in CIPFA_NEIGHBOURS.items():
        keep.add(code)
        keep.update(nns)
    keep.update(code for code, _, region in UPPER_TIER if region == "E12000004")
    for region in REGIONS:
        members = [code for code, _, r in UPPER_TIER if r == region]
        have = [c for c in members if c in keep]
        keep.update([c for c in members if c not in keep][: max(0, DEMO_MIN_PER_REGION - len(have))])
    return sorted(keep)


def curated_specs() -> list[IndicatorSpec]:
    """One spec per indicator of phof_indicators.yaml (real metadata plus its value model)."""
    data = realistic.load_curated()
    groups = data.get("groups", {})
    specs = []
    for e in data["indicators"]:
        period = e["period"]
        gran = (e.get("demo_period") or {}).get("granularity") or period["granularity"]
        unit = str(e["unit"])
        specs.append(IndicatorSpec(
            indicator_id=int(e["id"]), name=str(e["name"]), unit=unit, value_type=str(e["value_type"]),
            year_type=str(period["year_type"]), polarity_id=int(e["polarity"]), granularity=gran,
            sexes=tuple(e.get("sexes") or ("Persons",)), ages=(str(e.get("age") or "All ages"),),
            kind=_KIND_OF_MODEL[e["model"]["kind"]], base=0.0, multiplier=_UNIT_MULTIPLIER.get(unit, 1.0),
            source=str(e["source"]), definition=e.get("note"), group_id=int(groups.get(e.get("group"), 1000049)),
            ci_method=str(e["ci_method"]), model=dict(e["model"]), has_data=bool(e.get("has_data", True)),
            england_only=bool(e.get("england_only", False)), categories=e.get("categories"),
            rounding=e.get("rounding"),
        ))
    return specs


def default_demo_dataset(config_dir: Path | None = None, *, all_areas: bool = False) -> FixtureDataset:
    """Real-shaped demo data: the curated PHOF indicators (phof_indicators.yaml), 2010 to 2025.

    Every id listed in config/indicator_sets/*.yaml is served; ids missing from the curated file
    fall back to a generic proportion (logged). Areas: England, the nine regions and the
    authorities of :func:`demo_area_codes`; values are generated for all 153 so the regions and
    England aggregate every authority (``all_areas=True`` serves all 153).
    """
    specs = curated_specs()
    curated_ids = {s.indicator_id for s in specs}
    configured = _configured_indicator_ids(config_dir)
    template = next(s for s in specs if s.model and s.model["kind"] == "proportion" and s.has_data)
    for iid, (name, _phof) in sorted(configured.items()):
        if iid not in curated_ids:
            log.warning("fixture: indicator %s is not in phof_indicators.yaml; serving a generic proportion", iid)
            specs.append(IndicatorSpec(**{**template.__dict__, "indicator_id": iid, "name": name or f"Indicator {iid}",
                                          "source": "Fixture generator (not curated)", "categories": None,
                                          "rounding": None, "definition": None}))
    for n, s in enumerate(specs):
        if phof := configured.get(s.indicator_id, ("", None))[1]:
            s.phof_code = phof
        s.definition = s.definition or f"{s.name} ({s.unit})."
        s.last_upload = DEFAULT_LAST_UPLOAD - timedelta(days=7 * (n % 20))
    areas, children = _build_areas(None)
    served = set(children) if all_areas else set(demo_area_codes())
    universe = list(children)
    parents = {c: str(areas[c].parent_code) for c in universe}
    for code in universe:
        if code not in served:
            del areas[code]
    children = [c for c in children if c in served]
    quirks: dict[tuple[int, str], list[dict]] = {}
    for q in realistic.load_curated().get("quirks") or []:
        quirks.setdefault((int(q["indicator_id"]), str(q["time_period"])), []).append(dict(q))
    return FixtureDataset(profiles=_profiles(specs), indicators={s.indicator_id: s for s in specs}, areas=areas,
                          child_codes=children, neighbours=_build_neighbours(areas, children, 19),
                          n_periods=realistic.series_length("calendar_year"), seed=19,
                          latest_year=realistic.LAST_YEAR, universe_codes=universe, universe_parents=parents,
                          quirks=quirks)
