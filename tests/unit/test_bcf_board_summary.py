"""Acceptance: the one-page board summaries built from a real warehouse carry the papers' figures.

The warehouse is the one the provider returns pipeline loads with the BCF activity returns of 2015-16
Q1 and Q2 (``activity_loaded``, shared with test_bcf_build.py); the summaries are built by
``build_return`` as the ``bcf_return`` DAG builds them, and read back from the PDF with pypdf.

* 2015-16 Q2 carries the 2015 pay-for-performance table (Item 12, paragraph 15): planned 56,273,
  forecast 59,258, variance 2,985 in total, the formula's result and the agreed £1m / £2m split.
* 2016-17 Q2 carries the NEA risk share, £2,582,170 (template 5.1: 1,733 admissions x £1,490).
* No 2016/17 metric reads "Not assessed" without the reason beside it.
* Each summary is exactly one page.
"""

from __future__ import annotations

import re

from pypdf import PdfReader

from public_health.periods import FinancialQuarter
from public_health.reports.bcf.build import build_return
from tests.unit.test_bcf_build import activity_loaded  # noqa: F401  (the fixture)

QUARTERS = ("2015-16-Q2", "2016-17-Q2")
#: A metric's status reads "Not assessed" only with its reason: the papers' words and line, or why not.
NOT_ASSESSED_WITH_REASON = re.compile(
    r"Not assessed.{0,600}?Status: (as the papers report it, [^“]{0,80}“[^”]{5,}” \([^)]*line \d+\)|not assessed: \w.{10,})"
)


def _summary_text(settings, label: str) -> tuple[int, str]:
    reader = PdfReader(settings.output_dir / "bcf" / label / "board-summary.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def test_board_summaries_carry_the_papers_figures_on_one_page(warehouse, activity_loaded):  # noqa: F811
    texts = {}
    for label in QUARTERS:
        build_return(warehouse, activity_loaded, FinancialQuarter.parse(label))
        pages, texts[label] = _summary_text(activity_loaded, label)
        assert pages == 1, f"the {label} board summary runs to {pages} pages"

    p4p = texts["2015-16-Q2"]
    for figure in ("56,273", "59,258", "2,985"):
        assert figure in p4p, figure
    assert "Planned activity 13,746 13,909 14,209 14,409 56,273 Item 12, lines 11057-11060, 11074" in p4p
    assert "Forecast activity 14,303 14,747 14,808 15,400 59,258 Item 12, lines 11062-11065, 11075" in p4p
    assert "Activity variance 557 838 599 991 2,985 Item 12, lines 11067-11070, 11076" in p4p
    # The formula pays nothing (admissions rose); the partners agreed £1m kept, £2m into the BCF.
    assert "Formula result £0" in p4p
    assert "Agreed: kept by the CCGs £1,000,000" in p4p and "(Item 12, line 11124)" in p4p
    assert "Agreed: paid into the BCF £2,000,000" in p4p

    risk = texts["2016-17-Q2"]
    assert "£2,582,170" in risk
    assert "1,733 admissions avoided x £1,490 an admission (Item 5 template, lines 2109, 2116, 2129, 2137)" in risk
    assert "Local risk pool recommended £1,000,000" in risk
    # The CCG rows as printed, and the rounding note that explains the printed HWB total.
    assert "NHS West Leicestershire CCG (96.2% / 52.7%) 7,981 8,233 8,106 8,107 32,426" in risk
    assert "Rounding: the printed CCG rows add up to 15,388 / 15,862 / 15,624 / 15,621" in risk
    # The national conditions as the papers answer them.
    assert "5 of 8 answered “Yes”" in risk and "No - in development: Plans to be jointly agreed" in risk

    metrics = risk.split("Metric Plan Actual Variance", 1)[1].split("Non-elective admissions plan", 1)[0]
    not_assessed = metrics.count("Not assessed")
    assert len(NOT_ASSESSED_WITH_REASON.findall(metrics)) == not_assessed, metrics
    assert "(data will be released in July 2017)" in metrics   # the one 2016/17 metric not assessed
    assert metrics.count("(reported)") == 5 and metrics.count("(Item 13, line") == 4
