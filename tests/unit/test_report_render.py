"""The performance report renderer: HTML (summary, service pages, escaping, missing figures), PDF,
XLSX (formula-looking provider text stays text) and the KPI charts."""

from __future__ import annotations

import html as htmllib
import logging
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from public_health.periods import FinancialQuarter
from public_health.reports.performance.charts import kpi_chart_svg
from public_health.reports.performance.html import render_html, write_html, write_pdf
from public_health.reports.performance.model import (
    Action,
    Comment,
    DataWarning,
    KpiCell,
    KpiRow,
    PhofRow,
    Rating,
    ReportData,
    ServicePage,
)
from public_health.reports.performance.view import format_datetime, format_number, missing_words
from public_health.reports.performance.xlsx import write_xlsx

log = logging.getLogger(__name__)

QUARTERS = FinancialQuarter.range(FinancialQuarter.parse("2016-17-Q3"), FinancialQuarter.parse("2017-18-Q4"))
FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "@SUM(A1)", "-2"]
SCRIPT_COMMENT = "Figures checked <script>alert('x')</script> & agreed"


def _cells(values: dict[FinancialQuarter | str, float | str | None]) -> dict[FinancialQuarter, KpiCell]:
    """Cells keyed by quarter (the fixtures below write quarters as their labels for readability)."""
    return {
        FinancialQuarter.parse(q): KpiCell(v, None) if isinstance(v, int | float) else KpiCell(None, v)
        for q, v in values.items()
    }


def _kpi(
    code: str,
    name: str,
    *,
    unit: str = "percent",
    target_kind: str = "per_quarter",
    target=None,
    actual=None,
    to_date=None,
    assessment: str = "met",
    section: str | None = None,
    info: bool = False,
) -> KpiRow:
    return KpiRow(
        code=code,
        name=name,
        unit=unit,
        target_kind=target_kind,
        section=section,
        information_only=info,
        target=_cells(target or {}),
        actual=_cells(actual or {}),
        actual_to_date=_cells(to_date or {}),
        assessment=assessment,
    )


def _page(code: str, name: str, rating: Rating, **kw) -> ServicePage:
    base = dict(
        code=code,
        name=name,
        provider="Leicestershire Partnership Trust",
        purpose="A purpose.",
        redacted=False,
        rating=rating,
        return_status="received_valid",
        return_file=f"{code}_q2.xlsx",
        quarters=QUARTERS,
        phof=[],
        kpis=[],
        comments=[],
        actions=[],
        warnings=[],
    )
    base.update(kw)
    return ServicePage(**base)


NEW_BABY = _kpi(
    "new_baby_review",
    "% of babies receiving a new baby review at 10-14 days",
    section="10-14 days New baby review",
    target={q: 90.0 for q in QUARTERS},
    actual={"2016-17-Q3": 92.0, "2016-17-Q4": 92.0, "2017-18-Q1": 92.0, "2017-18-Q2": 96.0},
)
FOUR_MONTH = _kpi(
    "four_month_review",
    "% of babies receiving a 4 month review",
    section="4 month review",
    target={"2017-18-Q1": 90.0, "2017-18-Q2": 90.0},
    actual={"2017-18-Q1": "not_yet_available", "2017-18-Q2": "tbc", "2016-17-Q4": "blank", "2016-17-Q3": "redacted"},
    assessment="no_data",
)
COMPLETERS = _kpi(
    "cwm_completers",
    "Numbers of participants completing the child weight management course",
    unit="count",
    target_kind="cumulative",
    section="Child Weight Management Programme",
    target={"2017-18-Q1": 18.75, "2017-18-Q2": 37.5, "2017-18-Q3": 56.25, "2017-18-Q4": 75},
    actual={"2017-18-Q1": 25, "2017-18-Q2": 12},
    to_date={"2017-18-Q1": 25, "2017-18-Q2": 37},
    assessment="near_miss",
)
SMOKE = _kpi(
    "smoke",
    "Percentage of pregnant women exposed to household smoke",
    target_kind="none",
    actual={"2017-18-Q2": 30.0},
    assessment="no_target",
    info=True,
)
EMPTY = _kpi("empty", "A KPI with no figures yet", target_kind="none", assessment="no_data")


def report_data() -> ReportData:
    green = _page(
        "healthy_together",
        "Healthy Together: Healthy Child Programme (0-19s)",
        Rating("Green", "Green", ["All KPIs with targets met or within tolerance"]),
        provider="Leicestershire <b>Partnership</b> Trust",
        phof=[
            PhofRow(
                92196,
                "2.02ii",
                "Breastfeeding prevalence at 6-8 weeks after birth",
                "%",
                "2016/17",
                57.3,
                55.9,
                58.7,
                44.4,
                "Better",
                "Improving",
                "2015/16",
                55.1,
            ),
            PhofRow(
                90731,
                "2.04",
                "Under 18 conceptions",
                "per 1,000",
                "2016",
                22.1,
                19.8,
                24.6,
                18.8,
                "Worse",
                "Not available",
            ),
            PhofRow(
                20601,
                None,
                "Infant mortality",
                None,
                None,
                None,
                None,
                None,
                3.9,
                "Not compared",
                "No significant change",
            ),
        ],
        kpis=[NEW_BABY, SMOKE, FOUR_MONTH, COMPLETERS, EMPTY],
        comments=[Comment(SCRIPT_COMMENT, "CM", date(2017, 11, 7)), *[Comment(f, "CM", None) for f in FORMULAS]],
        actions=[Action("Work with LPT on breastfeeding status recording", date(2018, 1, 31)), Action("=1+2", None)],
        warnings=[DataWarning("warning", "Breastfeeding status recorded for 123% of babies (over 100%)", "KPIs!N14")],
        return_status="received_with_warnings",
    )
    grey = _page(
        "sexual_health",
        "Integrated Sexual Health Services",
        Rating("Grey", "Grey", ["Provider return quarantined: figures cannot be relied on"]),
        provider="Midlands Partnership NHS Foundation Trust",
        return_status="quarantined",
        kpis=[
            _kpi(
                "chlamydia",
                "Chlamydia screens",
                unit="count",
                target={"2017-18-Q2": 1000},
                actual={"2017-18-Q2": "not_yet_available"},
                assessment="no_data",
            )
        ],
        warnings=[
            DataWarning("error", "Sheet 'KPIs' is missing the Q2 2017-18 column", "sexual_health_q2.xlsx"),
            DataWarning("warning", "Return arrived 12 days after the deadline"),
        ],
    )
    overridden = _page(
        "stop_smoking",
        "Smoking Cessation Service",
        Rating(
            "Red",
            "Amber",
            ["4-week quit rate missed target in two consecutive quarters"],
            override_rating="Amber",
            override_reason="Recovery plan agreed with the provider in October",
            override_by="Consultant in Public Health (RS)",
            override_on=date(2017, 11, 3),
        ),
        provider="Leicester City Council Stop Smoking Service",
        kpis=[
            _kpi(
                "quits",
                "Number of 4-week quits",
                unit="count",
                target={q: 300 for q in QUARTERS},
                actual={"2017-18-Q1": 210, "2017-18-Q2": 198},
                assessment="missed",
            )
        ],
    )
    redacted = _page(
        "turning_point",
        "Substance Misuse: Turning Point",
        Rating("Grey", "Grey", []),
        provider=None,
        purpose=None,
        redacted=True,
        return_status="not_yet_due",
        return_file=None,
    )
    return ReportData(
        quarter=FinancialQuarter.parse("2017-18-Q2"),
        area_code="E06000016",
        area_name="Leicester",
        generated_at=datetime(2017, 11, 14, 9, 30),
        services=[green, grey, overridden, redacted],
        batches=[1, 2],
    )


@pytest.fixture(scope="module")
def data() -> ReportData:
    return report_data()


@pytest.fixture(scope="module")
def html(data: ReportData) -> str:
    return render_html(data)


def _section(html: str, code: str) -> str:
    start = html.index(f'<section id="service-{code}"')
    return html[start : html.index("</section>", start)]


def _summary(html: str) -> str:
    return html[html.index('<section id="summary"') : html.index("</section>")]


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_document_is_self_contained_and_accessible(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en-GB">' in html
    assert "Division of Public Health Performance Report" in html
    assert "2017/18 Quarter 2 (July to September 2017)" in html
    assert "Leicester" in html and "14 November 2017, 09:30" in html
    # nothing fetched from elsewhere
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert 'scope="col"' in html and 'scope="row"' in html and "<caption" in html
    assert "@page" in html and "size: A4 landscape" in html and "break-before: page" in html


def _summary_row(html: str, name: str) -> str:
    summary = _summary(html)
    body = summary[summary.index("<tbody>") : summary.index("</tbody>")]
    rows = [r for r in re.findall(r"<tr>.*?</tr>", body, flags=re.S) if htmllib.escape(name, quote=False) in r]
    assert len(rows) == 1, name
    return rows[0]


def test_summary_lists_every_service_with_rating_and_link(html: str, data: ReportData) -> None:
    body = _summary(html)
    body = body[body.index("<tbody>") : body.index("</tbody>")]
    assert body.count("<tr>") == len(data.services) == 4
    for code, name, rating in [
        ("healthy_together", "Healthy Together: Healthy Child Programme (0-19s)", "Green"),
        ("sexual_health", "Integrated Sexual Health Services", "Grey"),
        ("stop_smoking", "Smoking Cessation Service", "Amber"),
    ]:
        row = _summary_row(html, name)
        assert f'href="#service-{code}"' in row
        assert f'<span class="rag rag-{rating.lower()}">{rating}</span>' in row
        assert f'id="service-{code}"' in html
    # the override shows the computed rating beside the final one
    assert "computed rating Red" in _summary_row(html, "Smoking Cessation Service")
    assert "computed rating" not in _summary_row(html, "Integrated Sexual Health Services")
    # the redacted service is listed, shown as Redacted, without a link or a page
    row = _summary_row(html, "Substance Misuse: Turning Point")
    assert "Redacted" in row and "href" not in row
    assert 'id="service-turning_point"' not in html


def test_legend_uses_the_reports_definitions(html: str) -> None:
    text = _text(_summary(html))
    assert "Green: no issue identified, no action required" in text
    assert "Amber: some concerns to be addressed" in text
    assert "Red: serious issues, immediate action required" in text
    assert "Grey: problems with data or other technical aspects make a judgement unreliable" in text
    for words in [
        "▲ Better Leicester value significantly better than England",
        "● Similar Leicester value not significantly different to England",
        "▼ Worse Leicester value significantly worse than England",
        "○ Not compared",
        "↑ Improving",
        "↓ Worsening",
        "→ No significant change",
        "– Not available",
        "✓ Met",
        "≈ Near miss",
        "✗ Missed",
    ]:
        assert words in text, words


def test_service_sections(html: str, data: ReportData) -> None:
    for page in data.services:
        if page.redacted:
            continue
        sec = _section(html, page.code)
        assert f"<h2>{htmllib.escape(page.name, quote=False)}</h2>" in sec
        assert "Key Performance Indicators" in sec and "Comments on performance" in sec and "Key actions" in sec
    green = _text(_section(html, "healthy_together"))
    assert "Purpose of service: A purpose." in green
    assert "2.02ii" in green and "57.3 (55.9 – 58.7)" in green and "44.4" in green
    assert "▲ Better" in green and "↑ Improving" in green and "▼ Worse" in green
    assert "from 55.1 in 2015/16" in green
    assert "Q2 2017-18 this quarter" in green
    assert "96%" in green and "✓ Met" in green and "≈ Near miss" in green
    assert "(information only)" in green and "Information only" in green
    # cumulative KPI has an Actual to date row
    cwm = _section(html, "healthy_together").split("Numbers of participants completing")[1].split("</tbody>")[0]
    assert "Actual to date" in cwm and ">37<" in cwm and ">18.75<" in cwm and ">56.25<" in cwm


def test_provider_markup_is_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; agreed" in html
    assert "<b>Partnership</b>" not in html and "Leicestershire &lt;b&gt;Partnership&lt;/b&gt; Trust" in html


def test_missing_figures_show_their_reason_never_zero(html: str) -> None:
    sec = _section(html, "healthy_together")
    row = sec.split("% of babies receiving a 4 month review")[1].split("</tbody>")[0]
    actual = row[row.index(">Actual<") :]
    actual = actual[: actual.index("</tr>")]
    cells = re.findall(r'<td class="cell[^"]*">(.*?)</td>', actual)
    # Q3 16-17 redacted, Q4 16-17 blank, Q1 not yet available, Q2 tbc, Q3/Q4 not due: empty
    assert [_text(c) for c in cells] == ["Redacted", "Not provided", "Not yet available", "tbc", "", ""]
    assert all(">0<" not in c and "0%" not in c for c in cells)


def test_override_shows_both_ratings_reason_and_decider(html: str) -> None:
    sec = _section(html, "stop_smoking")
    text = _text(sec)
    assert '<span class="rag rag-red">Red</span>' in sec and '<span class="rag rag-amber">Amber</span>' in sec
    assert "computed Red, final Amber" in text
    assert "Recovery plan agreed with the provider in October" in text
    assert "Decided by Consultant in Public Health (RS) on 3 Nov 2017" in text
    assert "4-week quit rate missed target in two consecutive quarters" in text
    assert "✗ Missed" in text


def test_grey_service_shows_why_and_every_warning(html: str) -> None:
    sec = _section(html, "sexual_health")
    box = sec[sec.index('<aside class="dq"') : sec.index("</aside>")]
    text = _text(box)
    assert "rated Grey" in text and "Quarantined" in text
    # Why it is Grey is said once, in the rating box, not repeated in the data-quality box.
    assert "Provider return quarantined: figures cannot be relied on" not in text
    assert _text(sec).count("Provider return quarantined: figures cannot be relied on") == 1
    assert "Error: Sheet 'KPIs' is missing the Q2 2017-18 column (sexual_health_q2.xlsx)" in text
    assert "Warning: Return arrived 12 days after the deadline" in text
    green = _section(html, "healthy_together")
    assert "Breastfeeding status recorded for 123% of babies" in green and '<aside class="dq"' in green
    assert '<aside class="dq"' not in _section(html, "stop_smoking")


def test_charts_inline_with_text_alternative(html: str) -> None:
    sec = _section(html, "healthy_together")
    charts = re.findall(r'<figure class="chart".*?</figure>', sec, flags=re.S)
    # KPIs with targets: new baby review, 4 month review (targets only), completers; not the info-only one
    assert len(charts) == 3
    for fig in charts:
        assert '<svg role="img" class="kpi-chart"' in fig and "<title>" in fig and "<figcaption" in fig
    assert "Q2 2017-18: target 90%, actual 96%" in charts[0]
    assert "actual to date against target" in charts[2]


def test_rendering_is_deterministic(data: ReportData, html: str) -> None:
    assert render_html(report_data()) == html


def test_kpi_chart_svg() -> None:
    svg = kpi_chart_svg(NEW_BABY, QUARTERS)
    assert svg is not None and svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "DOCTYPE" not in svg
    assert kpi_chart_svg(NEW_BABY, QUARTERS) == svg
    assert kpi_chart_svg(EMPTY, QUARTERS) is None
    assert kpi_chart_svg(FOUR_MONTH, QUARTERS[:2]) is None  # 2016-17 Q3 and Q4: only missing figures there


def test_write_html(tmp_path: Path, data: ReportData, html: str) -> None:
    path = write_html(data, tmp_path / "out" / "report.html")
    assert path.read_text(encoding="utf-8") == html


def test_pdf_is_a_real_pdf(tmp_path: Path, data: ReportData, html: str) -> None:
    from pypdf import PdfReader

    started = time.perf_counter()
    path = write_pdf(data, tmp_path / "report.pdf", html=html)
    elapsed = time.perf_counter() - started
    assert path.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(path)
    pages = len(reader.pages)
    print(f"PDF: {pages} pages, {path.stat().st_size:,} bytes, {elapsed:.2f}s")
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "Division of Public Health Performance Report" in text
    for page in data.services:
        if not page.redacted:
            assert page.name in text
    assert pages >= 4  # summary and one page (at least) per non-redacted service
    first = " ".join((reader.pages[0].extract_text() or "").split())
    assert "Healthy Together" in first and "Redacted" in first


def test_xlsx_tables_and_formula_text_stays_text(tmp_path: Path, data: ReportData) -> None:
    from openpyxl import load_workbook

    path = write_xlsx(data, tmp_path / "report.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "KPIs", "PHOF", "Comments", "Actions", "Data quality", "Return tracker"]

    summary = {r[1]: r for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    headers = [c.value for c in wb["Summary"][1]]
    col = {h: i for i, h in enumerate(headers)}
    assert set(summary) == {p.code for p in data.services}
    assert summary["stop_smoking"][col["Computed rating"]] == "Red"
    assert summary["stop_smoking"][col["Override rating"]] == "Amber"
    assert summary["stop_smoking"][col["Final rating"]] == "Amber"
    assert summary["sexual_health"][col["Return status"]].startswith("Quarantined")
    assert summary["turning_point"][col["Final rating"]] == "Redacted"

    kpi_headers = [c.value for c in wb["KPIs"][1]]
    k = {h: i for i, h in enumerate(kpi_headers)}
    rows = list(wb["KPIs"].iter_rows(min_row=2, values_only=True))
    tbc = [
        r
        for r in rows
        if r[k["KPI code"]] == "four_month_review" and r[k["Period"]] == "2017-18-Q2" and r[k["Measure"]] == "Actual"
    ]
    assert len(tbc) == 1 and tbc[0][k["Value"]] is None and tbc[0][k["Missing reason"]] == "tbc"
    to_date = [r for r in rows if r[k["KPI code"]] == "cwm_completers" and r[k["Measure"]] == "Actual to date"]
    assert [r[k["Value"]] for r in to_date] == [25, 37]
    assert not [r for r in rows if r[0] == "turning_point"]
    assert len(list(wb["PHOF"].iter_rows(min_row=2))) == 3
    assert len(list(wb["Data quality"].iter_rows(min_row=2))) == 3

    texts = {}
    for sheet in ("Comments", "Actions"):
        for row in wb[sheet].iter_rows(min_row=2):
            texts[row[2].value] = row[2]
    for formula in [*FORMULAS, "=1+2", SCRIPT_COMMENT]:
        cell = texts[formula]
        assert cell.data_type == "s", (formula, cell.data_type)
        assert cell.value == formula
    assert texts["+1+1"].quotePrefix and texts["@SUM(A1)"].quotePrefix
    # no cell anywhere is a formula
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)


def test_xlsx_bytes_are_stable(tmp_path: Path, data: ReportData) -> None:
    a = write_xlsx(data, tmp_path / "a.xlsx").read_bytes()
    b = write_xlsx(report_data(), tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_timings(tmp_path: Path, data: ReportData) -> None:
    """Not an assertion on speed: prints how long each output takes on this data."""
    t0 = time.perf_counter()
    html = render_html(data)
    t1 = time.perf_counter()
    write_pdf(data, tmp_path / "t.pdf", html=html)
    t2 = time.perf_counter()
    write_xlsx(data, tmp_path / "t.xlsx")
    t3 = time.perf_counter()
    print(f"timings: HTML {t1 - t0:.2f}s, PDF {t2 - t1:.2f}s, XLSX {t3 - t2:.2f}s")


def test_formatting_helpers() -> None:
    assert [format_number(v, u) for v, u in [(90, "percent"), (18.75, "count"), (1232, "count"), (-0.001, None)]] == [
        "90%",
        "18.75",
        "1,232",
        "0",
    ]
    assert format_number(1234.5, "currency") == "£1,234.50"
    assert [missing_words(r) for r in ["blank", None, "", "tbc", "not_yet_available", "redacted", "dash"]] == [
        "Not provided",
        "Not provided",
        "Not provided",
        "tbc",
        "Not yet available",
        "Redacted",
        "Not provided",
    ]
    assert format_datetime(datetime(2017, 11, 14, 9, 30)) == "14 November 2017, 09:30"
    assert format_datetime(datetime(2017, 11, 14, 9, 30, tzinfo=UTC)) == "14 November 2017, 09:30 UTC"


# PHOF source, extraction date and the demonstration-data notice ------------------------------------

DEMO_NOTICE = "Demonstration data, not published figures"
EXTRACTED = datetime(2017, 11, 1, 2, 15, tzinfo=UTC)


def demo_report_data() -> ReportData:
    """The report above with its PHOF figures as the offline stub would leave them."""
    import dataclasses

    from public_health.reports.performance.model import PhofSource

    base = report_data()
    pages = [
        dataclasses.replace(
            p, phof=[dataclasses.replace(r, source="Office for National Statistics (ONS)", extracted_at=EXTRACTED)
                     for r in p.phof])
        for p in base.services
    ]
    source = PhofSource(profile="Public Health Outcomes Framework (Fingertips profile 19)", as_of=date(2017, 9, 30),
                        extracted_at=EXTRACTED, demonstration=True, hosts=("127.0.0.1",))
    return dataclasses.replace(base, services=pages, phof_source=source)


def _phof_tables(html: str) -> list[str]:
    """Each service's PHOF table with the source note under it."""
    return re.findall(r'<table class="phof">.*?<div class="phof-source".*?</div>', html, flags=re.S)


def test_every_phof_table_names_its_source_and_extraction_date(html: str) -> None:
    tables = _phof_tables(html)
    assert len(tables) == 1            # only Healthy Together lists PHOF indicators here
    note = _text(tables[0][tables[0].index('<div class="phof-source"'):])
    assert "Source: Fingertips, Public Health England/OHID." in note
    assert "Extracted from Fingertips: not recorded." in note
    assert DEMO_NOTICE not in html     # published figures (no provenance said otherwise): no notice


def test_demonstration_data_is_said_in_the_header_and_on_every_phof_table(tmp_path: Path) -> None:
    from pypdf import PdfReader

    data = demo_report_data()
    html = render_html(data)
    header = _text(html[html.index('<header class="report-header">') : html.index("</header>")])
    assert DEMO_NOTICE in header and "127.0.0.1" in header and "fingertips.phe.org.uk" in header
    tables = _phof_tables(html)
    assert len(tables) == sum(1 for p in data.services if p.phof and not p.redacted) == 1
    for table in tables:
        note = _text(table[table.index('<div class="phof-source"'):])
        assert DEMO_NOTICE in note
        assert ("Source: Fingertips, Public Health England/OHID: Public Health Outcomes Framework "
                "(Fingertips profile 19).") in note
        assert "Indicator data source: Office for National Statistics (ONS)." in note
        assert "Extracted from Fingertips: 1 November 2017, 02:15 UTC." in note
        assert "latest period ending on or before 30 Sep 2017" in note
    # The PDF is printed from that HTML: its text says so too (pypdf reads it back).
    path = write_pdf(data, tmp_path / "demo.pdf", html=html)
    reader = PdfReader(path)
    first = " ".join((reader.pages[0].extract_text() or "").split())
    assert DEMO_NOTICE in first
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert text.count(DEMO_NOTICE) >= 1 + len(tables)


def test_xlsx_phof_sheet_says_source_extraction_and_demonstration(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(write_xlsx(demo_report_data(), tmp_path / "demo.xlsx"))
    headers = [c.value for c in wb["PHOF"][1]]
    col = {h: i for i, h in enumerate(headers)}
    rows = list(wb["PHOF"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3
    for row in rows:
        assert row[col["Data source"]] == "Office for National Statistics (ONS)"
        assert row[col["Published by"]] == ("Fingertips, Public Health England/OHID: Public Health Outcomes "
                                            "Framework (Fingertips profile 19)")
        assert row[col["Extracted"]] == datetime(2017, 11, 1, 2, 15)
        assert row[col["Data status"]].startswith(DEMO_NOTICE)
    published = load_workbook(write_xlsx(report_data(), tmp_path / "published.xlsx"))
    statuses = {r[col["Data status"]] for r in published["PHOF"].iter_rows(min_row=2, values_only=True)}
    assert statuses == {"Published figures"}
