"""The performance report's KPI charts: actual (or actual to date) against target by quarter, as
inline SVG with a text alternative (drawn by the shared :mod:`public_health.reports.charts`, and
cached there by content: the same KPI figures give the same SVG, drawn once)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from public_health.periods import FinancialQuarter
from public_health.reports.charts import chart_cache, describe, inline_svg, nan_gaps, render_svg, slug
from public_health.reports.performance.model import KpiCell, KpiRow, ReportData, ServicePage
from public_health.reports.performance.view import column_heading, format_number, is_number

#: KPIs with targets charted per service page, in table order.
MAX_CHARTS_PER_SERVICE = 6


def _series(cells: dict[FinancialQuarter, KpiCell], quarters: list[FinancialQuarter]) -> list[float | None]:
    out: list[float | None] = []
    for q in quarters:
        cell = cells.get(q)
        out.append(float(cell.value) if cell is not None and is_number(cell.value) else None)  # type: ignore[arg-type]
    return out


def _chart_actual(row: KpiRow, quarters: list[FinancialQuarter]) -> tuple[str, list[float | None]]:
    """Which actual series to plot: for cumulative and running KPIs the to-date series their targets are
    set on (``KpiRow.chart_to_date``: a flagged stated to-date replaced by the sum of the year's actuals),
    so like is plotted against like; otherwise the quarter's actual."""
    if row.target_kind in ("cumulative", "running") and row.chart_to_date:
        label = "Actual to date" if not row.recomputed else "Year to date (sum of the year's actuals)"
        return label, [row.chart_to_date.get(q) for q in quarters]
    if row.target_kind in ("cumulative", "running"):
        return "Actual to date", [None for _ in quarters]
    return "Actual", _series(row.actual, quarters)


def chart_description(row: KpiRow, quarters: list[FinancialQuarter]) -> str:
    """The chart's text alternative: what is plotted and every plotted figure."""
    label, actual = _chart_actual(row, quarters)
    target = _series(row.target, quarters)
    parts = []
    for q, a, t in zip(quarters, actual, target, strict=True):
        if a is None and t is None:
            continue
        bits = []
        if t is not None:
            bits.append(f"target {format_number(t, row.unit)}")
        bits.append(f"{label.lower()} {format_number(a, row.unit) if a is not None else 'not available'}")
        parts.append(f"{column_heading(q)}: {', '.join(bits)}")
    return describe(row.name, f"{label.lower()} against target by quarter", parts)


def kpi_chart_svg(row: KpiRow, quarters: list[FinancialQuarter], id_prefix: str | None = None) -> str | None:
    """A small line chart of actual (or actual to date) against target by quarter, as inline SVG.

    None when the KPI has no figures in ``quarters``. The SVG carries ``role="img"`` and a
    ``<title>`` with :func:`chart_description`; its ids start with ``id_prefix`` (default
    ``kpi-<code>``) and are stable across runs, as is everything else in it. Cached by content
    (:data:`~public_health.reports.charts.chart_cache`): the key is everything the chart and its text
    alternative are drawn from.
    """
    label, actual = _chart_actual(row, quarters)
    target = _series(row.target, quarters)
    if all(v is None for v in actual + target):
        return None
    prefix = slug(id_prefix or f"kpi-{row.code}")
    key = ("performance-kpi", prefix, row.code, row.name, row.unit, label, tuple(actual), tuple(target),
           tuple(q.label for q in quarters))
    return chart_cache.get(key, lambda: _draw_kpi_chart(row, quarters, (label, actual, target), prefix))


def _draw_kpi_chart(
    row: KpiRow, quarters: list[FinancialQuarter], series: tuple[str, list[float | None], list[float | None]],
    prefix: str,
) -> str:
    """Draw the chart :func:`kpi_chart_svg` describes: ``series`` is (actual's label, actual, target)."""
    label, actual, target = series

    def draw(ax: Any) -> None:
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        xs = list(range(len(quarters)))
        if any(v is not None for v in target):
            ax.plot(xs, nan_gaps(target), linestyle="--", marker="s", markersize=3.5, color="#8a4b00", label="Target")
        ax.plot(xs, nan_gaps(actual), linestyle="-", marker="o", markersize=4, color="#1f4e79", label=label)
        ax.set_xticks(xs)
        ax.set_xticklabels([f"Q{q.number}\n{q.financial_year}" for q in quarters], fontsize=6)
        ax.set_xlim(-0.5, len(quarters) - 0.5)
        values = [v for v in actual + target if v is not None]
        if min(values) >= 0:
            ax.set_ylim(bottom=0, top=max(values) * 1.1 if max(values) > 0 else 1)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(v, row.unit)))
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.legend(loc="best", fontsize=6, frameon=False)

    document = render_svg(draw, salt=f"kpi-{row.code}", size=(4.0, 2.2), font_size=7)
    return inline_svg(document, prefix, chart_description(row, quarters), "kpi-chart")


def service_charts(page: ServicePage) -> list[dict[str, Any]]:
    """The charts on a service page: its KPIs with a target (not information only), in table
    order, at most :data:`MAX_CHARTS_PER_SERVICE`."""
    charts: list[dict[str, Any]] = []
    for row in page.kpis:
        if len(charts) >= MAX_CHARTS_PER_SERVICE:
            break
        if row.information_only or not any(is_number(c.value) for c in row.target.values()):
            continue
        chart_id = f"chart-{page.code}-{row.code}"
        svg = kpi_chart_svg(row, page.quarters, id_prefix=chart_id)
        if svg is not None:
            charts.append(
                {
                    "id": slug(chart_id),
                    "svg": Markup(svg),
                    "name": row.name,
                    "description": chart_description(row, page.quarters),
                }
            )
    return charts


def report_charts(data: ReportData) -> dict[str, list[dict[str, Any]]]:
    """:func:`service_charts` of every service page the report prints (not redacted), by service code."""
    return {page.code: service_charts(page) for page in data.services if not page.redacted}
