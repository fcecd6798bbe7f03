"""Direction of travel (DOT) of an indicator from the previous reporting period to the latest.

The rule is the one Fingertips uses for the change from the previous period
(``ukhsa-collaboration/fingertips-open``, ``PholioVisualisationWS/Analysis/TrendBetweenTwoValuesCalculator.cs``,
which applies ``DoubleOverlappingCIsComparer``): the 95% confidence intervals of the two periods are
compared; if they do not overlap the change is significant, and its direction is the direction of the
values. Touching intervals count as overlapping, so no significant change.

Polarity turns the direction into "Improving"/"Worsening"; with polarity ``neither`` it stays
"Increasing"/"Decreasing".

No previous period, or a missing value or confidence limit in either period, gives "Not available".
This is a deliberate choice: the performance report shows a DOT for every PHOF indicator and has a
"DOT not available" symbol for exactly this case, so we say so rather than guess a direction from point
values alone.
"""

from __future__ import annotations

from enum import StrEnum

from public_health.stats.significance import Estimate, check_limits, check_polarity, intervals_overlap


class Direction(StrEnum):
    IMPROVING = "Improving"
    WORSENING = "Worsening"
    NO_SIGNIFICANT_CHANGE = "No significant change"
    NOT_AVAILABLE = "Not available"
    INCREASING = "Increasing"
    DECREASING = "Decreasing"


#: One period's value with its 95% confidence limits (any of them may be missing): the same value type
#: the significance tests take.
Point = Estimate


def direction_of_travel(latest: Point, previous: Point | None, *, polarity: str) -> Direction:
    """Direction of travel from ``previous`` to ``latest``; see the module docstring.

    >>> direction_of_travel(Point(70.0, 68.0, 72.0), Point(60.0, 58.0, 62.0), polarity="high_is_good")
    <Direction.IMPROVING: 'Improving'>
    """
    check_polarity(polarity)
    if previous is None or not latest.complete or not previous.complete:
        return Direction.NOT_AVAILABLE
    assert latest.value is not None and latest.lower is not None and latest.upper is not None
    assert previous.value is not None and previous.lower is not None and previous.upper is not None
    check_limits(latest.lower, latest.upper, "latest period")
    check_limits(previous.lower, previous.upper, "previous period")
    if intervals_overlap(latest.lower, latest.upper, previous.lower, previous.upper):
        return Direction.NO_SIGNIFICANT_CHANGE
    increased = latest.value > previous.value
    if polarity == "neither":
        return Direction.INCREASING if increased else Direction.DECREASING
    improved = increased if polarity == "high_is_good" else not increased
    return Direction.IMPROVING if improved else Direction.WORSENING
