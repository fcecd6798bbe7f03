"""Significance of an area's value against a benchmark (England, region, nearest neighbours).

The rules follow the methods Fingertips uses (checked against the Fingertips source,
``ukhsa-collaboration/fingertips-open``, ``PholioVisualisationWS/Analysis/``):

``method="benchmark_in_ci"`` (the default; Fingertips comparator method 1,
``SingleOverlappingCIsForOneCILevelComparer``)
    The area's confidence interval is compared with the benchmark's *point value*. If the
    benchmark value lies inside the area's interval, limits included, the area is "Similar";
    otherwise the area value is significantly higher or lower than the benchmark.

``method="ci_overlap"`` (Fingertips comparator method 12, ``DoubleOverlappingCIsComparer``)
    The area's interval is compared with the benchmark's interval. Overlapping intervals (touching
    counts as overlapping) mean "Similar"; otherwise the area is significantly higher or lower.

Polarity turns "higher"/"lower" into "better"/"worse": with ``high_is_good`` higher is better,
with ``low_is_good`` lower is better (Fingertips ``IndicatorComparer.AdjustForPolarity``). With
``neither`` (Fingertips' blue/orange/blue colouring) the answer stays "Higher"/"Lower"/"Similar".

A missing value, a missing confidence limit or a missing benchmark gives "Not compared"
(Fingertips ``Significance.None``). The confidence level is the caller's choice: pass the 95% limits
for the usual comparison or the 99.8% limits for the stricter one, and say which with ``level``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Polarity = Literal["high_is_good", "low_is_good", "neither"]
Method = Literal["benchmark_in_ci", "ci_overlap"]
POLARITIES: frozenset[str] = frozenset({"high_is_good", "low_is_good", "neither"})
METHODS: frozenset[str] = frozenset({"benchmark_in_ci", "ci_overlap"})
LEVELS: frozenset[float] = frozenset({95.0, 99.8})


class Significance(StrEnum):
    BETTER = "Better"
    SIMILAR = "Similar"
    WORSE = "Worse"
    HIGHER = "Higher"
    LOWER = "Lower"
    NOT_COMPARED = "Not compared"


@dataclass(frozen=True)
class Estimate:
    """A value with its confidence limits at one level (any of them may be missing): an area's value,
    or a benchmark's (whose limits only the ``ci_overlap`` method reads)."""

    value: float | None
    lower: float | None = None
    upper: float | None = None

    @property
    def complete(self) -> bool:
        """Value and both limits present (none missing or NaN)."""
        return not (is_missing(self.value) or is_missing(self.lower) or is_missing(self.upper))


@dataclass(frozen=True)
class BenchmarkComparison:
    """A comparison with the settings that produced it, for storing next to the result."""

    significance: Significance
    level: float
    method: Method
    benchmark_value: float | None


def is_missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def check_polarity(polarity: str) -> None:
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {sorted(POLARITIES)}, got {polarity!r}")


def check_limits(lower: float, upper: float, what: str) -> None:
    if lower > upper:
        raise ValueError(f"{what}: lower confidence limit {lower:g} is above the upper limit {upper:g}")


def intervals_overlap(lower_a: float, upper_a: float, lower_b: float, upper_b: float) -> bool:
    """True when two closed intervals share at least one point (touching intervals overlap)."""
    return lower_a <= upper_b and lower_b <= upper_a


def judge_direction(higher: bool, polarity: str) -> Significance:
    """Significantly higher (``higher=True``) or lower, read through the polarity."""
    if polarity == "neither":
        return Significance.HIGHER if higher else Significance.LOWER
    good = higher if polarity == "high_is_good" else not higher
    return Significance.BETTER if good else Significance.WORSE


def compare_to_benchmark(
    area: Estimate,
    benchmark: Estimate | None,
    *,
    polarity: str,
    method: str = "benchmark_in_ci",
    level: float = 95.0,
) -> Significance:
    """Compare an area's value and confidence limits with a benchmark; see the module docstring.

    ``benchmark`` needs only its value for ``benchmark_in_ci``; ``ci_overlap`` uses its limits too.
    ``None`` (no benchmark) compares like a benchmark with no value.

    >>> compare_to_benchmark(Estimate(52.0, 49.0, 55.0), Estimate(60.0), polarity="high_is_good")
    <Significance.WORSE: 'Worse'>
    """
    check_polarity(polarity)
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    if float(level) not in LEVELS:
        raise ValueError(f"level must be 95 or 99.8, got {level!r}")
    value, lower, upper = area.value, area.lower, area.upper
    benchmark = benchmark or Estimate(None)
    benchmark_value = benchmark.value
    if is_missing(value) or is_missing(lower) or is_missing(upper) or is_missing(benchmark_value):
        return Significance.NOT_COMPARED
    assert value is not None and lower is not None and upper is not None and benchmark_value is not None
    check_limits(lower, upper, "area")

    if method == "benchmark_in_ci":
        if lower <= benchmark_value <= upper:
            return Significance.SIMILAR
    else:
        benchmark_lower, benchmark_upper = benchmark.lower, benchmark.upper
        if is_missing(benchmark_lower) or is_missing(benchmark_upper):
            return Significance.NOT_COMPARED
        assert benchmark_lower is not None and benchmark_upper is not None
        check_limits(benchmark_lower, benchmark_upper, "benchmark")
        if intervals_overlap(lower, upper, benchmark_lower, benchmark_upper):
            return Significance.SIMILAR
    return judge_direction(value > benchmark_value, polarity)


def benchmark_comparison(
    area: Estimate,
    benchmark: Estimate | None,
    *,
    polarity: str,
    method: Method = "benchmark_in_ci",
    level: float = 95.0,
) -> BenchmarkComparison:
    """:func:`compare_to_benchmark`, returning the level and method with the answer."""
    significance = compare_to_benchmark(area, benchmark, polarity=polarity, method=method, level=level)
    return BenchmarkComparison(significance, float(level), method, benchmark.value if benchmark else None)


def nearest_neighbour_average(values: list[float | None]) -> float | None:
    """Unweighted mean of the nearest neighbours' values that are present; None if none are.

    A missing (None or NaN) neighbour is left out rather than counted as zero. This average is a
    local summary for the report; Fingertips shows the neighbours' values but does not publish it.
    """
    present = [float(v) for v in values if v is not None and not is_missing(v)]
    if not present:
        return None
    return math.fsum(present) / len(present)
