"""The whole PHOF profile at national volume, for the Fingertips stub and the national benchmark.

Every indicator of profile 19 × England, the nine regions, the counties and unitary authorities (area type
502) and the districts and UAs (area type 501) × every period from 2010 (2010/11) to 2025 (2025/26).

* **Indicators.** The curated ones the project tracks (:func:`fixtures.default_demo_dataset`: real metadata
  and value models from phof_indicators.yaml, plus any id of config/indicator_sets/ missing from it), and
  as many more as make profile 19 as large as the real one: :data:`PHOF_PROFILE_SIZE` indicators
  (``fingertips_data(ProfileID = 19)`` has 169 separate indicator names:
  https://fergustaylor.github.io/post/public-health-outcomes-framework/). The extra ones are not real
  indicators: ids from :data:`UNCURATED_ID_START`, each a copy of a curated indicator's metadata and
  value model (cycling in id order through those with data and no special case), named as such.
* **Areas.** Real ONS codes throughout: England, the regions and the 153 upper-tier authorities of
  areas.py, and the 164 districts of its 21 counties (``areas.DISTRICTS``). Values are generated for
  the 296 lower-tier areas (districts, UAs, metropolitan districts, London boroughs); a county is the
  sum (counts, denominators) or population-weighted mean (years) of its districts, a region and England
  of their lower-tier areas, so a UA's row is the same number whether asked for as 502 or as 501.
* **Serving.** Like Fingertips, ``all_data`` returns England, the parent areas and the child areas of
  the requested child area type: ``child_area_type_id=502`` (counties and UAs) or ``501`` (districts and
  UAs), parents 6 (regions) or 15 (England). The area endpoints agree with the rows' parent codes:
  ``areas/by_area_type`` for 15, 6, 502 and 501; ``parent_to_child_areas`` for 502 or 501 under 6 or 15,
  and 501 under 502 (a county's districts; a UA is its own child); ``areas/by_parent_area_code`` under a
  region or a county. :meth:`NationalDataset.serving` gives the dataset of each child area type; the two
  share indicators, revisions and the values (same seed, same numbers).
* **Streaming.** Nothing is rendered until asked: each (indicator, sex, period) block is computed from
  the seed when it is served (:meth:`FixtureDataset.iter_all_data_lines`), so serving a million rows holds
  one block at a time.

``national_dataset(scale=0.05)`` keeps an evenly spread 5% of the indicators (for quick runs); the areas
and periods are always complete.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from public_health.demo.fingertips_stub import realistic as R
from public_health.demo.fingertips_stub.areas import DISTRICTS, ENGLAND, REGIONS, UPPER_TIER
from public_health.demo.fingertips_stub.fixtures import (
    _GROUPS,
    AREA_TYPE_ENGLAND,
    AREA_TYPE_LTLA,
    AREA_TYPE_LTLA_JSON,
    AREA_TYPE_REGION,
    AREA_TYPE_UTLA,
    AREA_TYPES,
    DEFAULT_LAST_UPLOAD,
    FixtureDataset,
    IndicatorSpec,
    StubArea,
    _build_areas,
    _build_neighbours,
    _profiles,
    default_demo_dataset,
)

#: Indicators in the real PHOF profile (profile 19): see the module docstring for the source.
PHOF_PROFILE_SIZE = 169
#: First id of the indicators added to make the profile its real size (outside Fingertips' id range).
UNCURATED_ID_START = 990001


# ---- geography ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NationalGeography:
    """Every area once (England, regions, counties and UAs, districts) and which lower-tier areas make it up."""

    codes: tuple[str, ...]
    index: dict[str, int]
    ltla_codes: tuple[str, ...]
    #: (len(codes), len(ltla_codes)) of 0/1: row i sums the lower-tier areas that make up codes[i].
    membership: np.ndarray
    population: np.ndarray
    deprivation: np.ndarray
    county_of: dict[str, str]
    region_of: dict[str, str]

    @property
    def n_regions(self) -> int:
        return len(REGIONS)


def _district_population(codes: list[str]) -> np.ndarray:
    """A stable population per district (40,000 to 300,000; districts are smaller than unitary authorities)."""
    return np.array([40_000 + R._code_hash(c) ** 2 * 260_000 for c in codes])


def build_geography() -> NationalGeography:
    county_of = {code: county for code, _, county in DISTRICTS}
    counties = set(county_of.values())
    utla_region = {code: region for code, _, region in UPPER_TIER}
    missing = counties - set(utla_region)
    if missing:
        raise ValueError(f"areas.DISTRICTS names counties that are not upper-tier areas: {sorted(missing)}")
    utla = [code for code, _, _ in UPPER_TIER]
    districts = [code for code, _, _ in DISTRICTS]
    ltla = sorted(districts + [c for c in utla if c not in counties])
    region_of = {c: utla_region[county_of.get(c, c)] for c in ltla}
    region_of.update({c: utla_region[c] for c in utla})
    codes = (ENGLAND[0], *REGIONS, *utla, *districts)
    pos = {c: i for i, c in enumerate(ltla)}
    members = np.zeros((len(codes), len(ltla)))
    members[0, :] = 1.0
    for r, region in enumerate(REGIONS, start=1):
        members[r, [pos[c] for c in ltla if region_of[c] == region]] = 1.0
    for i, code in enumerate(codes[1 + len(REGIONS):], start=1 + len(REGIONS)):
        if code in counties:
            members[i, [pos[d] for d in districts if county_of[d] == code]] = 1.0
        else:
            members[i, pos[code]] = 1.0
    is_district = np.array([c in county_of for c in ltla])
    population = np.where(is_district, _district_population(ltla), R.area_population(ltla))
    return NationalGeography(codes=codes, index={c: i for i, c in enumerate(codes)}, ltla_codes=tuple(ltla),
                             membership=members, population=population, deprivation=R.area_deprivation(ltla),
                             county_of=county_of, region_of=region_of)


# ---- the dataset ----------------------------------------------------------------------------------


@dataclass
class NationalDataset(FixtureDataset):
    """One child area type's view of the national data (``serving(502)`` and ``serving(501)`` share everything else)."""

    child_area_type_id: int = AREA_TYPE_UTLA
    geography: NationalGeography | None = field(default=None, repr=False, compare=False)
    views: dict[int, NationalDataset] = field(default_factory=dict, repr=False, compare=False)

    # ---- what the server asks ---------------------------------------------------------------------
    def area_types_json(self) -> list[dict]:
        return [*AREA_TYPES, AREA_TYPE_LTLA_JSON]

    def available_area_type_ids(self) -> tuple[int, ...]:
        return (AREA_TYPE_ENGLAND, AREA_TYPE_REGION, AREA_TYPE_UTLA, AREA_TYPE_LTLA)

    def serving(self, child_area_type_id: int) -> NationalDataset | None:
        return self.views.get(child_area_type_id)

    def areas_of_type(self, area_type_id: int) -> list[StubArea]:
        view = self.views.get(area_type_id)
        if view is not None:
            return [view.areas[c] for c in view.child_codes]
        return [a for a in self.areas.values() if a.area_type_id == area_type_id]

    def children_of(self, area_type_id: int, parent_code: str) -> list[StubArea]:
        """Under a region: its areas of the type; under a county (type 501): its districts; a UA: itself."""
        county_of = self._geo.county_of
        out = []
        for a in self.areas_of_type(area_type_id):
            if a.parent_code == parent_code:
                out.append(a)
            elif area_type_id == AREA_TYPE_LTLA and county_of.get(a.code, a.code) == parent_code:
                out.append(a)
        return out

    def parent_map(self, parent_area_type_id: int) -> dict[str, list[str]]:
        if parent_area_type_id == AREA_TYPE_UTLA and self.child_area_type_id == AREA_TYPE_LTLA:
            out: dict[str, list[str]] = {}
            for code in self.child_codes:
                out.setdefault(self._geo.county_of.get(code, code), []).append(code)
            return out
        return super().parent_map(parent_area_type_id)

    # ---- sizes ------------------------------------------------------------------------------------
    def distinct_row_count(self) -> int:
        """Rows with distinct keys across every area type: each area once (what the warehouse ends up holding)."""
        n_areas = len(self._geo.codes)
        total = 0
        for spec in self.indicators.values():
            if not spec.has_data:
                continue
            n_p = len(self.periods(spec.indicator_id))
            total += len(spec.sexes) * len(spec.ages) * n_p * (1 if spec.england_only else n_areas)
            if spec.categories:
                total += len(spec.ages) * n_p * len(spec.categories["england"])
        return total

    def served_row_counts(self) -> dict[int, int]:
        """Rows of all_data for every indicator, per child area type (England and the regions are in each)."""
        return {t: view.row_count() for t, view in sorted(self.views.items(), reverse=True)}

    # ---- values -----------------------------------------------------------------------------------
    @property
    def _geo(self) -> NationalGeography:
        if self.geography is None:
            raise RuntimeError("a NationalDataset needs its geography: build it with national_dataset()")
        return self.geography

    def _rows(self) -> np.ndarray:
        """Positions in the geography of this view's England, regions and child areas, in serving order."""
        cached = self.__dict__.get("_rows_cache")
        if cached is None:
            cached = np.array([self._geo.index[c] for c in self._area_order()], dtype=int)
            self.__dict__["_rows_cache"] = cached
        return cached

    def _block(self, spec: IndicatorSpec, sex_i: int, age_i: int, p_idx: int) -> dict:
        return national_block(self, spec, sex_i, p_idx)


def national_block(ds: NationalDataset, spec: IndicatorSpec, sex_i: int, p_idx: int) -> dict:
    """One (indicator, sex, period) block for ``ds``'s England, regions and child areas (England alone for an
    England-only indicator), cut from the values of every area (:func:`_all_areas`)."""
    full = _all_areas(ds, spec, sex_i, p_idx)
    n_lead = 1 + ds._geo.n_regions
    keep = np.array([0]) if spec.england_only else ds._rows()
    block: dict[str, Any] = {k: np.asarray(v, float)[keep] for k, v in full["arrays"].items()}
    block["codes"] = ds._area_order()[: len(keep)]
    block["notes"] = [full["notes"][i] for i in keep]
    block["trend"] = full["trend"][keep[n_lead:]] if not spec.england_only else np.zeros(0)
    if "categories" in full:
        block["categories"] = full["categories"]
    return block


def _all_areas(ds: NationalDataset, spec: IndicatorSpec, sex_i: int, p_idx: int) -> dict:
    """Values of every area of the geography, generated for the lower-tier areas by the curated indicator's own
    model (realistic.py) and summed or averaged into counties, regions and England."""
    geo = ds._geo
    m = spec.model or {}
    kind = m["kind"]
    members, pop, dep = geo.membership, geo.population, geo.deprivation
    n, n_all, n_lead = len(geo.ltla_codes), len(geo.codes), 1 + geo.n_regions
    label, sortable, _ = ds.periods(spec.indicator_id)[p_idx]
    year = R.period_start_year(spec.granularity, sortable)
    span = R._SPAN_YEARS.get(spec.granularity, 1.0)
    sex = spec.sexes[sex_i]
    target = R.england_target(spec, sex, year)
    mult = float(spec.multiplier)

    rng_ind = np.random.default_rng([ds.seed, spec.indicator_id, 11, AREA_TYPE_LTLA])
    z_area = rng_ind.normal(size=n)
    drift = rng_ind.normal(0.0, 0.012, n)
    factor_child = np.exp(rng_ind.normal(0.0, 0.08, n))
    rng = np.random.default_rng([ds.seed, spec.indicator_id, sex_i, p_idx, 5, AREA_TYPE_LTLA])
    spread = float(m.get("spread", 0.2))
    sign = R._dep_sign(spec)
    eff = spread * (0.6 * sign * dep + 0.8 * z_area) + drift * (year - 2018)
    if sex_i and kind not in ("years", "years_no_ci"):
        eff = eff + (0.05 if sex == "Male" else -0.05)

    def agg(x: np.ndarray) -> np.ndarray:
        return members @ x

    out: dict[str, np.ndarray] = {}
    count = den = np.full(n_all, np.nan)
    if kind in R.COUNT_KINDS:
        child_den, child_count = R.child_counts(R.CountDraw(kind, m, target, mult, factor_child), pop, span, eff, rng)
        count, den = agg(child_count), agg(child_den)
        factor: np.ndarray | float = 1.0
        if kind == "dsr":
            factor = agg(child_den * factor_child) / np.maximum(den, 1.0)
        value = R.point_value(kind, count, den, mult, factor)
        out.update(R.limits(kind, count, den, mult, factor))
    elif kind == "years":
        child_v = target + spread * (0.6 * sign * dep + 0.8 * z_area) + drift * 10 * (year - 2018)
        child_v = child_v + rng.normal(0.0, 0.15, n)
        popn = agg(pop)
        value = agg(child_v * pop) / popn
        se = float(m.get("se_at_300k", 0.3)) * np.sqrt(300_000 / popn)
        if spec.england_only:
            value[0] = target
        out.update(R.limits("years", value, value, 1.0, se=se))
    elif kind == "years_no_ci":
        child_v = spread * (0.6 * sign * dep + 0.8 * z_area) + rng.normal(0.0, 0.15, n)
        value = agg(child_v * pop) / agg(pop)
        value[:n_lead] = np.nan   # a gap from England: not published for England or the regions
        out.update(R.limits(kind, value, value, 1.0))
    else:  # percent_no_ci
        value = agg(target * np.exp(eff) * pop) / agg(pop)
        out.update(R.limits(kind, value, value, 1.0))

    # Rows published off-method on purpose (phof_indicators.yaml quirks), before rounding.
    for q in ds.quirks.get((spec.indicator_id, label), []):
        i = geo.index.get(str(q["area_code"]))
        if i is None:
            continue
        count, den, value = count.copy(), den.copy(), np.array(value, float)
        count[i], den[i] = float(q["count"]), float(q["denominator"])
        value[i] = R.point_value(kind, count[i:i + 1], den[i:i + 1], mult)[0]
        for k, arr in R.limits(kind, count[i:i + 1], den[i:i + 1], mult).items():
            out[k] = np.array(out[k], float)
            out[k][i] = arr[0]

    value = np.array(value, float)
    res = {k: np.array(v, float) for k, v in out.items()}
    notes = [""] * n_all
    threshold = int(m.get("suppress", 0) or 0)
    if kind in R.COUNT_KINDS and threshold > 0:
        small = np.flatnonzero((count >= 1) & (count <= threshold))
        for i in small[small >= n_lead]:
            notes[i] = R.NOTE_SUPPRESSED
            value[i] = count[i] = np.nan
            for k in res:
                res[k][i] = np.nan
    rounding = spec.rounding or {}
    if "value" in rounding:
        value = np.round(value, int(rounding["value"]))
    if "ci" in rounding:
        res = {k: np.round(v, int(rounding["ci"])) for k, v in res.items()}
    counted = kind in R.COUNT_KINDS
    arrays = {"value": value, **res, "count": count if counted else np.full(n_all, np.nan),
              "denominator": den if counted else np.full(n_all, np.nan)}
    full: dict[str, Any] = {"arrays": arrays, "notes": notes,
                            "trend": 2.0 * agg(drift) / members.sum(axis=1)}
    if spec.categories and sex_i == 0:
        full["categories"] = R._category_rows(ds, spec, target, float(den[0]), rng)
    return full


# ---- building it ------------------------------------------------------------------------------------


#: Value models the uncurated indicators are not modelled on: excess winter deaths publish negative counts, which the
#: gate accepts for 90360 alone (an ``exceptions`` entry of the Fingertips suite, naming that indicator).
_SPECIAL_KINDS = frozenset({"ewd"})


def profile_specs(config_dir: Path | None = None) -> list[IndicatorSpec]:
    """The curated indicators (as the demo serves them) plus uncurated ones up to :data:`PHOF_PROFILE_SIZE` in
    profile 19, in id order. Each uncurated indicator copies a curated one that has data and no special case
    (:data:`_SPECIAL_KINDS`), in turn: the curated indicators the pipeline treats apart (no data uploaded; negative
    counts accepted by a gate exception) stay as they are, once each."""
    curated = sorted(default_demo_dataset(config_dir).indicators.values(), key=lambda s: s.indicator_id)
    phof = [s for s in curated if s.group_id in _GROUPS]
    templates = [s for s in phof if s.has_data and (s.model or {}).get("kind") not in _SPECIAL_KINDS]
    if not templates:
        raise ValueError("no curated PHOF indicator to model the rest of the profile on")
    extra = []
    for k in range(max(0, PHOF_PROFILE_SIZE - len(phof))):
        t = templates[k % len(templates)]
        iid = UNCURATED_ID_START + k
        name = f"Uncurated PHOF indicator {k + 1} (modelled on {t.indicator_id} {t.name})"
        extra.append(dataclasses.replace(
            t, indicator_id=iid, name=name, phof_code=None, definition=f"{name} ({t.unit}).",
            source=f"Fixture generator (not a real indicator; metadata and model of {t.indicator_id})",
            model=dict(t.model or {}), last_upload=DEFAULT_LAST_UPLOAD - timedelta(days=7 * ((len(curated) + k) % 20)),
        ))
    return curated + extra


def pick_indicators(ids: list[int], scale: float) -> list[int]:
    """An evenly spread ``scale`` share of ``ids`` (at least one), the same every time."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    ordered = sorted(ids)
    n = max(1, round(scale * len(ordered)))
    return [ordered[(i * len(ordered)) // n] for i in range(n)]


def national_dataset(*, scale: float = 1.0, seed: int = 19, config_dir: Path | None = None,
                     indicator_ids: list[int] | None = None) -> NationalDataset:
    """The national dataset (see the module docstring); its own view is the counties and UAs (502), and
    ``serving(501)`` the districts and UAs. Identical for identical arguments. ``indicator_ids`` (instead of
    ``scale``) serves just those indicators of the profile."""
    specs = profile_specs(config_dir)
    if indicator_ids is not None:
        unknown = sorted(set(indicator_ids) - {s.indicator_id for s in specs})
        if unknown:
            raise KeyError(f"indicators {unknown} are not in the national profile")
        chosen = set(indicator_ids)
    else:
        chosen = set(pick_indicators([s.indicator_id for s in specs], scale))
    specs = [s for s in specs if s.indicator_id in chosen]
    geo = build_geography()
    utla_areas, utla_codes = _build_areas(None)
    districts = {code: StubArea(code, name, name, AREA_TYPE_LTLA, geo.region_of[code]) for code, name, _ in DISTRICTS}
    ltla_areas = {**utla_areas, **districts}
    for code in geo.ltla_codes:
        if code in utla_areas:
            ltla_areas[code] = dataclasses.replace(utla_areas[code], area_type_id=AREA_TYPE_LTLA)
    quirks: dict[tuple[int, str], list[dict]] = {}
    for q in R.load_curated().get("quirks") or []:
        if int(q["indicator_id"]) in chosen:
            quirks.setdefault((int(q["indicator_id"]), str(q["time_period"])), []).append(dict(q))
    views: dict[int, NationalDataset] = {}
    shared: dict[str, Any] = {
        "profiles": _profiles(specs), "indicators": {s.indicator_id: s for s in specs},
        "neighbours": _build_neighbours(utla_areas, utla_codes, seed), "n_periods": R.series_length("calendar_year"),
        "seed": seed, "revisions": {}, "latest_year": R.LAST_YEAR, "quirks": quirks, "geography": geo, "views": views,
    }
    views[AREA_TYPE_UTLA] = NationalDataset(areas={**utla_areas, **districts}, child_codes=list(utla_codes),
                                            child_area_type_id=AREA_TYPE_UTLA, **shared)
    views[AREA_TYPE_LTLA] = NationalDataset(areas=ltla_areas, child_codes=list(geo.ltla_codes),
                                            child_area_type_id=AREA_TYPE_LTLA, **shared)
    return views[AREA_TYPE_UTLA]
