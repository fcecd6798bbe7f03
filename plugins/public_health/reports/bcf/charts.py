"""The BCF summary's trend charts: plan against actual by quarter, as small inline SVG with a text
alternative (drawn by the shared :mod:`public_health.reports.charts`, and cached there by content)."""

from __future__ import annotations

from typing import Any

from public_health.periods import FinancialQuarter
from public_health.reports.bcf.model import MetricLine
from public_health.reports.bcf.view import format_value, is_number, quarter_words
from public_health.reports.charts import chart_cache, describe, inline_svg, nan_gaps, render_svg, slug


def chart_description(line: MetricLine, reporting_quarter: FinancialQuarter) -> str:
    parts = []
    for q in line.quarters:
        actual = format_value(q.actual, line.unit) if q.actual is not None else "not available"
        parts.append(f"{quarter_words(q.quarter)} plan {format_value(q.plan, line.unit)}, actual {actual}")
    return describe(line.name, "plan against actual by quarter", parts)


def trend_chart_svg(line: MetricLine, reporting_quarter: FinancialQuarter) -> str | None:
    """A small plan (dashed, squares) against actual (solid, circles) line chart by quarter; cached by
    content (everything the chart and its text alternative are drawn from is the key)."""
    plan = [q.plan for q in line.quarters]
    actual = [q.actual for q in line.quarters]
    if not any(is_number(v) for v in plan + actual):
        return None
    key = ("bcf-trend", line.code, line.name, line.unit, reporting_quarter.label,
           tuple((q.quarter.label, q.plan, q.actual) for q in line.quarters))
    return chart_cache.get(key, lambda: _draw_trend_chart(line, reporting_quarter))


def _draw_trend_chart(line: MetricLine, reporting_quarter: FinancialQuarter) -> str:
    plan = [q.plan for q in line.quarters]
    actual = [q.actual for q in line.quarters]
    values = [v for v in plan + actual if is_number(v)]

    def draw(ax: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        xs = list(range(len(line.quarters)))
        ax.plot(xs, nan_gaps(plan), linestyle="--", marker="s", markersize=2.5, linewidth=0.9, color="#8a4b00")
        ax.plot(xs, nan_gaps(actual), linestyle="-", marker="o", markersize=3, linewidth=1.2, color="#1f4e79")
        ax.set_xticks(xs)
        ax.set_xticklabels([f"Q{q.quarter.number}" for q in line.quarters])
        ax.set_xlim(-0.4, len(xs) - 0.6)
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.25 or abs(hi) * 0.1 or 1
        ax.set_ylim(lo - pad, hi + pad)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
        ax.tick_params(length=2, pad=1)
        ax.spines[["top", "right"]].set_visible(False)

    prefix = f"bcf-{slug(line.code, default='m')}"
    document = render_svg(draw, salt=prefix, size=(1.9, 0.75), font_size=6)
    return inline_svg(document, prefix, chart_description(line, reporting_quarter), "trend")
