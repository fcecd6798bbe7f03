"""Charts cached by content (the same chart input gives the same SVG, drawn once; a different input never
shares an entry) and the PDF printed with the charts lifted out as images: the same bytes as printing the
page with every chart inline."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from public_health.periods import FinancialQuarter
from public_health.reports import charts as shared
from public_health.reports.bcf import charts as bcf_charts
from public_health.reports.bcf.model import MetricLine, MetricQuarter
from public_health.reports.charts import ChartCache, chart_cache, charts_as_images
from public_health.reports.performance import charts as perf_charts
from public_health.reports.performance.charts import kpi_chart_svg, report_charts
from public_health.reports.performance.html import render_html, write_pdf
from public_health.reports.performance.model import KpiCell
from tests.unit.test_report_render import FOUR_MONTH, NEW_BABY, QUARTERS, report_data


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    chart_cache.clear()
    yield
    chart_cache.clear()


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The salt of every chart matplotlib draws (both reports' chart modules call ``render_svg``)."""
    drawn: list[str] = []
    original = shared.render_svg

    def counting(draw, salt, size, font_size):  # noqa: ANN001, ANN202 - the same signature as render_svg
        drawn.append(salt)
        return original(draw, salt, size, font_size)

    monkeypatch.setattr(perf_charts, "render_svg", counting)
    monkeypatch.setattr(bcf_charts, "render_svg", counting)
    return drawn


def _with_actual(row, quarter: str, value: float):  # noqa: ANN001, ANN202
    actual = dict(row.actual)
    actual[FinancialQuarter.parse(quarter)] = KpiCell(value, None)
    return dataclasses.replace(row, actual=actual)


def test_the_same_kpi_chart_is_drawn_once(draws: list[str]) -> None:
    first = kpi_chart_svg(NEW_BABY, QUARTERS)
    again = kpi_chart_svg(dataclasses.replace(NEW_BABY), list(QUARTERS))   # equal input, new objects
    assert first is not None and again == first
    assert draws == ["kpi-new_baby_review"]
    assert (chart_cache.hits, chart_cache.misses) == (1, 1)


def test_a_cached_chart_is_what_drawing_it_afresh_gives(draws: list[str]) -> None:
    cached = kpi_chart_svg(NEW_BABY, QUARTERS)
    chart_cache.clear()
    assert kpi_chart_svg(NEW_BABY, QUARTERS) == cached
    assert len(draws) == 2


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda row: _with_actual(row, "2017-18-Q2", 95.0), id="one figure"),
        pytest.param(lambda row: dataclasses.replace(row, unit="count"), id="unit"),
        pytest.param(lambda row: dataclasses.replace(row, name=row.name + " (revised)"), id="name"),
        pytest.param(lambda row: dataclasses.replace(row, code="other_review"), id="code"),
        pytest.param(lambda row: dataclasses.replace(row, target_kind="cumulative"), id="what is plotted"),
    ],
)
def test_a_different_kpi_chart_input_is_never_served_from_the_cache(change, draws: list[str]) -> None:  # noqa: ANN001
    original = kpi_chart_svg(NEW_BABY, QUARTERS)
    changed = kpi_chart_svg(change(NEW_BABY), QUARTERS)
    assert changed is not None and changed != original
    assert len(draws) == 2 and chart_cache.hits == 0
    assert kpi_chart_svg(NEW_BABY, QUARTERS) == original and len(draws) == 2   # both still cached


def test_quarters_and_id_prefix_are_part_of_the_key(draws: list[str]) -> None:
    whole = kpi_chart_svg(NEW_BABY, QUARTERS)
    fewer = kpi_chart_svg(NEW_BABY, QUARTERS[2:])
    page_a = kpi_chart_svg(NEW_BABY, QUARTERS, id_prefix="chart-a-new_baby_review")
    page_b = kpi_chart_svg(NEW_BABY, QUARTERS, id_prefix="chart-b-new_baby_review")
    assert len({whole, fewer, page_a, page_b}) == 4 and len(draws) == 4
    assert 'id="chart-a-new_baby_review-' in page_a and 'id="chart-b-new_baby_review-' not in page_a


def test_no_chart_is_not_cached(draws: list[str]) -> None:
    assert kpi_chart_svg(FOUR_MONTH, QUARTERS[:2]) is None
    assert not draws and len(chart_cache) == 0


def _trend(actual_q2: float | None) -> MetricLine:
    quarters = FinancialQuarter.parse("2016-17-Q1").year_quarters()
    figures = [(15388.0, 15400.0), (15862.0, actual_q2), (15624.0, None), (15621.0, None)]
    return MetricLine(code="NEA", name="Non-elective admissions", unit="admissions (count)", frequency="quarterly",
                      polarity="lower", quarters=[MetricQuarter(q, plan, actual)
                                                  for q, (plan, actual) in zip(quarters, figures, strict=True)])


def test_bcf_trend_charts_share_the_cache_by_content(draws: list[str]) -> None:
    reporting = FinancialQuarter.parse("2016-17-Q2")
    first = bcf_charts.trend_chart_svg(_trend(15900.0), reporting)
    assert bcf_charts.trend_chart_svg(_trend(15900.0), reporting) == first
    assert draws == ["bcf-NEA"]
    other = bcf_charts.trend_chart_svg(_trend(15700.0), reporting)
    assert other is not None and other != first and len(draws) == 2


def test_the_cache_forgets_the_least_recently_used_chart() -> None:
    cache = ChartCache(maxsize=2)
    made: list[str] = []

    def draw(name: str) -> str:
        made.append(name)
        return f"<svg>{name}</svg>"

    for name in ("a", "b", "a", "c", "a", "b"):
        assert cache.get(("k", name), lambda name=name: draw(name)) == f"<svg>{name}</svg>"
    # "b" was the least recently used when "c" came in, so it is drawn again; "a" never is.
    assert made == ["a", "b", "c", "b"] and len(cache) == 2


def test_keys_that_only_look_alike_stay_apart() -> None:
    cache = ChartCache()
    assert cache.get(("k", 1), lambda: "int") == "int"
    assert cache.get(("k", 1.0), lambda: "float") == "float"
    assert cache.get(("k", "1"), lambda: "str") == "str"
    assert cache.get(("k", None), lambda: "none") == "none"
    assert cache.misses == 4 and cache.hits == 0


# Charts as images for the printer ---------------------------------------------------------------------


def test_charts_as_images_lifts_each_chart_into_an_image() -> None:
    html = render_html(report_data())
    inline = re.findall(r'<svg role="img".*?</svg>', html, flags=re.S)
    assert len(inline) >= 3
    printable, images = charts_as_images(html)
    assert '<svg role="img"' not in printable
    tags = re.findall(r"<img [^>]*>", printable)
    assert len(tags) == len(inline) and len(images) == len(set(inline))
    for svg, tag in zip(inline, tags, strict=True):
        digest = hashlib.sha256(svg.encode()).hexdigest()
        assert images[digest] == svg.encode()
        title = re.search(r"<title>([^<]*)</title>", svg).group(1)
        assert tag == f'<img class="kpi-chart" src="chart:{digest}" alt="{title}">'
    # everything but the charts is untouched
    assert re.sub(r"<img [^>]*>", "", printable) == re.sub(r'<svg role="img".*?</svg>', "", html, flags=re.S)


def test_the_same_chart_twice_is_one_image_and_a_broken_one_stays_inline() -> None:
    svg = kpi_chart_svg(NEW_BABY, QUARTERS)
    assert svg is not None
    broken = svg.replace("</g>", "", 1)         # not well-formed XML: left for the HTML parser
    printable, images = charts_as_images(f"<p>{svg}</p><p>{svg}</p><p>{broken}</p><svg><rect/></svg>")
    assert len(images) == 1 and printable.count(f"chart:{next(iter(images))}") == 2
    assert broken in printable and "<svg><rect/></svg>" in printable


def test_pdf_with_charts_as_images_is_the_same_bytes_as_printing_them_inline(tmp_path: Path) -> None:
    from weasyprint import HTML

    data = report_data()
    html = render_html(data, report_charts(data))
    assert '<svg role="img" class="kpi-chart"' in html
    path = write_pdf(data, tmp_path / "images.pdf", html=html)
    HTML(string=html).render().write_pdf(tmp_path / "inline.pdf")
    assert path.read_bytes() == (tmp_path / "inline.pdf").read_bytes()
