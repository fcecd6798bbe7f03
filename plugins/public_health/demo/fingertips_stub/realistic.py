"""Real-shaped demo values for the curated PHOF indicators (phof_indicators.yaml).

Each curated indicator carries a ``model`` saying how its numbers arise, so that values, counts,
denominators and confidence intervals fit together the way Fingertips publishes them:

* ``proportion`` (unit %): count ~ Binomial(denominator, p); value = count / denominator x 100;
  95% and 99.8% limits by the **Wilson score** interval.
* ``crude_rate`` (per 1,000 / 10,000 / 100,000): count ~ Poisson; value = count / denominator x
  multiplier; limits by **Byar's** approximation to the exact Poisson interval, applied to every count
  (PHE uses exact Poisson below 10 events; Byar's is within a few percent there).
* ``dsr`` (directly standardised rate): value = count / denominator x multiplier x f, where f is the
  area's fixed age-structure factor (regions and England: denominator-weighted mean of their
  children's f). Limits by **Dobson's** method with var(DSR) approximated by DSR^2 / count (equal
  age-band weights), which reduces to DSR x Byar(count) / count, i.e. f x multiplier x Byar / denominator.
* ``isr`` (indirectly standardised ratio, %): count = observed, denominator = expected;
  value = O / E x 100, limits Byar(O) / E x 100.
* ``ewd`` (excess winter deaths index, %): winter deaths W ~ Poisson; denominator = expected deaths E;
  count = W - E; value = (W - E) / E x 100; limits (Byar(W) - E) / E x 100.
* ``years`` (life expectancy, slope index): value in years; limits value +- z x se with
  se = se_at_300k x sqrt(300,000 / population) (a normal approximation to Chiang II); no count or
  denominator published.
* ``years_no_ci`` / ``percent_no_ci``: a value only ("No confidence intervals available").

Every area's values come from a stable per-area deprivation score (worse outcomes in more deprived
areas, in the indicator's direction) plus an indicator-specific effect, around England's anchor values
from the YAML. Values are generated for **all** 153 upper-tier authorities; regions and England are the
sums (counts, denominators) or population-weighted means (years) over all of them, and the dataset
serves the chosen subset of authorities. Comparisons with England follow from the 95% CI and the
polarity (:func:`fixtures._compare`). Counts from 1 to ``suppress`` are published suppressed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from public_health.demo.fingertips_stub.fixtures import FixtureDataset, IndicatorSpec

CURATED_PATH = Path(__file__).with_name("phof_indicators.yaml")
Z95 = 1.959963984540054
Z998 = 3.090232306167813
NOTE_SUPPRESSED = "Value suppressed for disclosure control due to small count"
FIRST_YEAR = 2010
#: The last period served starts in 2025 (calendar 2025, 2025/26, 2023 - 25): every one has ended by now
#: (late 2026), as published data always has; fixed, not read from the clock, so output is reproducible.
LAST_YEAR = 2025

DECILES = (
    "Most deprived decile (IMD2019)", "Second most deprived decile (IMD2019)",
    "Third more deprived decile (IMD2019)", "Fourth more deprived decile (IMD2019)",
    "Fifth more deprived decile (IMD2019)", "Fifth less deprived decile (IMD2019)",
    "Fourth less deprived decile (IMD2019)", "Third less deprived decile (IMD2019)",
    "Second least deprived decile (IMD2019)", "Least deprived decile (IMD2019)",
)

COUNT_KINDS = ("proportion", "crude_rate", "dsr", "isr", "ewd")
UNIT_RANGES: dict[str, tuple[float, float]] = {
    # (low, high) a published value of the unit may take
    "%": (0.0, 100.0),
    "per 1,000": (0.0, 1000.0),
    "per 10,000": (0.0, 10000.0),
    "per 100,000": (0.0, 100000.0),
    "Years": (0.0, 100.0),
}
KIND_RANGES: dict[str, tuple[float, float]] = {
    "isr": (0.0, 2000.0),          # a ratio x 100 can exceed 100%
    "ewd": (-100.0, 300.0),        # excess winter deaths index can be negative
    "years_no_ci": (-20.0, 20.0),  # a gap in years
}
_SPAN_YEARS = {"rolling_3y": 3.0, "rolling_5fy": 5.0, "fy_quarter": 0.25}


@lru_cache(maxsize=1)
def load_curated(path: Path = CURATED_PATH) -> dict[str, Any]:
    """The curated YAML, parsed once."""
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def value_range(spec: IndicatorSpec) -> tuple[float, float]:
    """The range a published value of this indicator may take (by model kind, else by unit)."""
    kind = (spec.model or {}).get("kind", "")
    return KIND_RANGES.get(kind) or UNIT_RANGES.get(spec.unit, (-math.inf, math.inf))


# ---- confidence interval methods ------------------------------------------------------------------


def wilson(count: np.ndarray, den: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, as fractions (0-1)."""
    count = np.asarray(count, float)
    den = np.asarray(den, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / den
        mid = 2 * count + z * z
        half = z * np.sqrt(z * z + 4 * count * (1 - p))
        scale = 2 * (den + z * z)
        return (mid - half) / scale, (mid + half) / scale


def byar(count: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the exact Poisson limits of an observed count."""
    o = np.asarray(count, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(o > 0, o, 1.0)
        lo = np.where(o > 0, safe * (1 - 1 / (9 * safe) - z / (3 * np.sqrt(safe))) ** 3, 0.0)
        o1 = o + 1
        hi = o1 * (1 - 1 / (9 * o1) + z / (3 * np.sqrt(o1))) ** 3
    return np.maximum(lo, 0.0), hi


def limits(kind: str, count: np.ndarray, den: np.ndarray, mult: float, factor: np.ndarray | float = 1.0,
           se: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """95% and 99.8% limits of ``kind`` (see the module docstring), as published values. For kinds with no
    count (``years`` and those published without limits) ``count`` carries the values themselves."""
    out: dict[str, np.ndarray] = {}
    for tag, z in (("95", Z95), ("99_8", Z998)):
        if kind == "proportion":
            lo, hi = wilson(count, den, z)
            lo, hi = lo * 100.0, hi * 100.0
        elif kind in ("crude_rate", "dsr"):
            lo, hi = byar(count, z)
            lo, hi = lo / den * mult * factor, hi / den * mult * factor
        elif kind == "isr":
            lo, hi = byar(count, z)
            lo, hi = lo / den * 100.0, hi / den * 100.0
        elif kind == "ewd":
            winter = np.asarray(count, float) + den
            lo, hi = byar(winter, z)
            lo, hi = (lo - den) / den * 100.0, (hi - den) / den * 100.0
        elif kind == "years":
            assert se is not None
            lo, hi = count - z * se, count + z * se
        else:
            n = len(np.atleast_1d(count))
            lo = hi = np.full(n, np.nan)
        out[f"lower_ci_{tag}"], out[f"upper_ci_{tag}"] = lo, hi
    return out


def point_value(kind: str, count: np.ndarray, den: np.ndarray, mult: float,
                factor: np.ndarray | float = 1.0) -> np.ndarray:
    """The published value from a count and denominator."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "proportion":
            return count / den * 100.0
        if kind == "crude_rate":
            return count / den * mult
        if kind == "dsr":
            return count / den * mult * factor
        if kind == "isr":
            return count / den * 100.0
        if kind == "ewd":
            return count / den * 100.0
    raise ValueError(f"{kind} has no count-based value")


# ---- periods ----------------------------------------------------------------------------------------


def series_length(granularity: str, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> int:
    """How many periods span first_year (start) to last_year (end or start) for a granularity."""
    years = last_year - first_year + 1
    if granularity == "rolling_3y":
        return years - 2
    if granularity == "rolling_5fy":
        return years - 4
    if granularity == "fy_quarter":
        return years * 4
    return years


def period_start_year(granularity: str, sortable: int) -> float:
    year = sortable // 10000
    if granularity == "fy_quarter":
        return year + ((sortable // 100) % 100 - 1) / 4.0
    return float(year)


# ---- the model ------------------------------------------------------------------------------------


def _anchor_value(anchors: dict, year: float) -> float:
    pts = sorted((int(k), float(v)) for k, v in anchors.items())
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return float(np.interp(year, xs, ys))


def england_target(spec: IndicatorSpec, sex: str, year: float) -> float:
    england = spec.model["england"]
    first = next(iter(england.values()))
    if isinstance(first, dict):
        anchors = england.get(sex) or england.get("Persons") or first
    else:
        anchors = england
    return _anchor_value(anchors, year)


def _code_hash(code: str) -> float:
    h = 0
    for ch in code:
        h = (h * 131 + ord(ch)) % 2_147_483_647
    return (h * 2654435761 % 1_000_003) / 1_000_003


# Known populations (ONS mid-2021, rounded) for the areas the demo reports on.
_KNOWN_POP = {"E06000017": 41_000, "E06000016": 368_000, "E10000018": 713_000}
# Deprivation scores (sd units, + = more deprived) for the same areas.
_KNOWN_DEP = {"E06000017": -1.6, "E06000016": 1.5, "E10000018": -0.9}


def area_population(codes: list[str]) -> np.ndarray:
    return np.array([_KNOWN_POP.get(c, 50_000 + _code_hash(c) ** 2 * 900_000) for c in codes])


def area_deprivation(codes: list[str]) -> np.ndarray:
    out = []
    for c in codes:
        if c in _KNOWN_DEP:
            out.append(_KNOWN_DEP[c])
        else:
            out.append(float(np.random.default_rng([int(_code_hash(c) * 1e6), 3]).normal()))
    return np.array(out)


def _dep_sign(spec: IndicatorSpec) -> float:
    """+1 when more deprived areas have higher values (bad things), -1 when lower (good things)."""
    return -1.0 if spec.polarity_id == 1 else 1.0



@dataclass(frozen=True)
class CountDraw:
    """What drawing one indicator's child-area counts takes: its ``kind`` and curated ``model``, England's
    ``target``, the ``mult``iplier and each child's standardisation factor (``factor_child``, for a DSR)."""

    kind: str
    model: Mapping[str, Any]
    target: float
    mult: float
    factor_child: np.ndarray


def child_counts(draw: CountDraw, pop: np.ndarray, span: float, eff: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each child area's denominator and count for one indicator, sex and period, drawn from ``rng`` in a fixed
    order (the same seed gives the same figures; the national and the fixture datasets share it)."""
    kind, m, target, mult, factor_child = draw.kind, draw.model, draw.target, draw.mult, draw.factor_child
    if "sample" in m:
        child_den = np.round(float(m["sample"]) * np.clip(np.sqrt(pop / 350_000), 0.5, 2.0) * max(span, 0.25))
    else:
        child_den = np.round(pop * float(m["den"]) * span)
    child_den = np.maximum(child_den, 1.0)
    if kind == "proportion":
        base = min(max(target / 100.0, 1e-4), 1 - 1e-4)
        p = 1 / (1 + np.exp(-(math.log(base / (1 - base)) + eff)))
        child_count = rng.binomial(child_den.astype(np.int64), np.clip(p, 1e-5, 0.995)).astype(float)
    elif kind in ("crude_rate", "dsr"):
        lam = child_den * (target / mult) * np.exp(eff) / (factor_child if kind == "dsr" else 1.0)
        child_count = rng.poisson(lam).astype(float)
    elif kind == "isr":
        child_count = rng.poisson(child_den * target / 100.0 * np.exp(eff)).astype(float)
    else:  # ewd: count = winter deaths - expected
        winter = rng.poisson(child_den * (1 + target / 100.0 * np.exp(eff)))
        child_count = winter.astype(float) - child_den
    return child_den, child_count


def real_block(ds: FixtureDataset, spec: IndicatorSpec, sex_i: int, p_idx: int) -> dict:
    """One (indicator, sex, period) block: England, regions, served children (plus category rows)."""
    m = spec.model
    kind = m["kind"]
    cache = ds.__dict__.setdefault("_real_cache", {})
    universe = ds.universe_codes or ds.child_codes
    key = ("geo", len(universe), len(ds.child_codes))
    if key not in cache:
        region_codes = ds.region_codes
        index = {c: i for i, c in enumerate(region_codes)}
        region_of = np.array([index[str(ds.areas[c].parent_code)] if c in ds.areas
                              else index[ds.universe_parents[c]] for c in universe])
        pos = {c: i for i, c in enumerate(universe)}
        served = np.array([pos[c] for c in ds.child_codes], dtype=int)
        cache[key] = (region_codes, region_of, served, area_population(universe), area_deprivation(universe))
    region_codes, region_of, served, pop, dep = cache[key]
    n, n_reg = len(universe), len(region_codes)
    periods = ds.periods(spec.indicator_id)
    label, sortable, _ = periods[p_idx]
    year = period_start_year(spec.granularity, sortable)
    span = _SPAN_YEARS.get(spec.granularity, 1.0)
    sex = spec.sexes[sex_i]
    target = england_target(spec, sex, year)
    mult = float(spec.multiplier)

    rng_ind = np.random.default_rng([ds.seed, spec.indicator_id, 11])
    z_area = rng_ind.normal(size=n)
    drift = rng_ind.normal(0.0, 0.012, n)
    factor_child = np.exp(rng_ind.normal(0.0, 0.08, n))
    rng = np.random.default_rng([ds.seed, spec.indicator_id, sex_i, p_idx, 5])
    spread = float(m.get("spread", 0.2))
    sign = _dep_sign(spec)
    eff = spread * (0.6 * sign * dep + 0.8 * z_area) + drift * (year - 2018)
    if sex_i and kind not in ("years", "years_no_ci"):
        eff = eff + (0.05 if sex == "Male" else -0.05)

    def agg(x: np.ndarray) -> tuple[np.ndarray, float]:
        return np.bincount(region_of, weights=x, minlength=n_reg), float(x.sum())

    out: dict[str, Any] = {}
    count = den = np.full(1 + n_reg + n, np.nan)
    factor: np.ndarray | float = 1.0
    if kind in COUNT_KINDS:
        child_den, child_count = child_counts(CountDraw(kind, m, target, mult, factor_child), pop, span, eff, rng)
        reg_c, eng_c = agg(child_count)
        reg_d, eng_d = agg(child_den)
        count = np.concatenate([[eng_c], reg_c, child_count])
        den = np.concatenate([[eng_d], reg_d, child_den])
        if kind == "dsr":
            reg_f, eng_f = agg(child_den * factor_child)
            factor = np.concatenate([[eng_f / eng_d], reg_f / np.maximum(reg_d, 1.0), factor_child])
        value = point_value(kind, count, den, mult, factor)
        out.update(limits(kind, count, den, mult, factor))
    elif kind == "years":
        child_v = target + spread * (0.6 * sign * dep + 0.8 * z_area) + drift * 10 * (year - 2018)
        child_v = child_v + rng.normal(0.0, 0.15, n)
        reg_pv, eng_pv = agg(child_v * pop)
        reg_p, eng_p = agg(pop)
        value = np.concatenate([[eng_pv / eng_p], reg_pv / reg_p, child_v])
        popn = np.concatenate([[eng_p], reg_p, pop])
        se = float(m.get("se_at_300k", 0.3)) * np.sqrt(300_000 / popn)
        if spec.england_only:
            value[0] = target
        out.update(limits("years", value, value, 1.0, se=se))
    elif kind == "years_no_ci":
        child_v = spread * (0.6 * sign * dep + 0.8 * z_area) + rng.normal(0.0, 0.15, n)
        value = np.concatenate([np.full(1 + n_reg, np.nan), child_v])
        out.update(limits(kind, value, value, 1.0))
    else:  # percent_no_ci
        child_v = target * np.exp(eff)
        reg_pv, eng_pv = agg(child_v * pop)
        reg_p, eng_p = agg(pop)
        value = np.concatenate([[eng_pv / eng_p], reg_pv / reg_p, child_v])
        out.update(limits(kind, value, value, 1.0))

    # Baked-in quirks (rows published off-method on purpose), before rounding.
    for q in ds.quirks.get((spec.indicator_id, label), []):
        i = _row_index(ds, region_codes, universe, q["area_code"])
        count = count.copy()
        den = den.copy()
        count[i], den[i] = float(q["count"]), float(q["denominator"])
        value = value.copy()
        value[i] = point_value(kind, count[i:i + 1], den[i:i + 1], mult)[0]
        lim = limits(kind, count[i:i + 1], den[i:i + 1], mult)
        for k, arr in lim.items():
            out[k] = out[k].copy()
            out[k][i] = arr[0]

    # Select England, regions and the served children (or England alone).
    keep = np.array([0] if spec.england_only else [0, *range(1, 1 + n_reg), *(1 + n_reg + served)], dtype=int)
    codes = ds._area_order()[: len(keep)]
    value = np.asarray(value, float)[keep]
    res = {k: np.asarray(v, float)[keep] for k, v in out.items()}
    count = np.asarray(count, float)[keep]
    den = np.asarray(den, float)[keep]
    notes = [""] * len(keep)
    threshold = int(m.get("suppress", 0) or 0)
    if kind in COUNT_KINDS and threshold > 0:
        for i in range(1 + n_reg, len(keep)):
            if 1 <= count[i] <= threshold:
                notes[i] = NOTE_SUPPRESSED
                value[i] = count[i] = np.nan
                for k in res:
                    res[k][i] = np.nan
    rounding = spec.rounding or {}
    if "value" in rounding:
        value = np.round(value, int(rounding["value"]))
    if "ci" in rounding:
        res = {k: np.round(v, int(rounding["ci"])) for k, v in res.items()}
    trend = (drift * 2.0)[served] if not spec.england_only else np.zeros(0)
    block = {
        "codes": codes, "value": value, "count": count if kind in COUNT_KINDS else np.full(len(keep), np.nan),
        "denominator": den if kind in COUNT_KINDS else np.full(len(keep), np.nan),
        "notes": notes, "trend": trend, **res,
    }
    if spec.categories and sex_i == 0:
        block["categories"] = _category_rows(ds, spec, target, float(den[0]), rng)
    return block


def _row_index(ds: FixtureDataset, region_codes: list[str], universe: list[str], code: str) -> int:
    if code == ds._area_order()[0]:
        return 0
    if code in region_codes:
        return 1 + region_codes.index(code)
    return 1 + len(region_codes) + universe.index(code)


def _category_rows(ds: FixtureDataset, spec: IndicatorSpec, target: float, eng_den: float,
                   rng: np.random.Generator) -> list[dict]:
    cats = spec.categories or {}
    shape = np.array(cats["england"], float)
    p = np.clip(shape * (target / shape.mean()) / 100.0, 1e-4, 0.999)
    den = np.full(len(p), round(eng_den / len(p)))
    count = rng.binomial(den.astype(np.int64), p).astype(float)
    value = count / den * 100.0
    lim = limits("proportion", count, den, 1.0)
    return [{"category_type": cats["type"], "category": DECILES[k], "value": value[k], "count": count[k],
             "denominator": den[k], **{name: arr[k] for name, arr in lim.items()}} for k in range(len(p))]
