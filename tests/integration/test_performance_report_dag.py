"""The quarterly performance report, built by its DAG from a warehouse the other two DAGs loaded
(stub Fingertips data and the sample provider returns), checked for content, not just existence."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from public_health.config import CONFIG_DIR
from public_health.demo.fingertips_stub import StubServer, default_demo_dataset
from public_health.demo.shared_drive import build_sample_drive
from public_health.periods import FinancialQuarter
from public_health.warehouse.engine import make_engine

pytestmark = pytest.mark.integration
QUARTER = "2017-18-Q2"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, airflow_db):
    """Run the Fingertips and provider returns DAGs once into a DuckDB warehouse for every test here."""
    from public_health.cli import load_dag

    root = tmp_path_factory.mktemp("report")
    cfg = root / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    settings = yaml.safe_load((cfg / "settings.yaml").read_text())
    settings["fingertips"]["retry"].update(max_attempts=2, backoff_initial_s=0.05, backoff_max_s=0.1)
    (cfg / "settings.yaml").write_text(yaml.safe_dump(settings))
    build_sample_drive(root / "drive", clock=time.time())
    # Twelve periods (2012 to 2023 for a calendar-year indicator) rather than the demo's six: the
    # warehouse then holds PHOF periods on both sides of the 2017-18 Q2 report's end (30 Sep 2017).
    server = StubServer(dataclasses.replace(default_demo_dataset(), n_periods=12)).start()
    url = f"duckdb:///{root / 'warehouse.duckdb'}"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"PH_CONFIG_DIR": str(cfg), "PH_DATA_DIR": str(root / "data"), "PH_OUTPUT_DIR": str(root / "out"),
                     "PH_SHARED_DRIVE": str(root / "drive"), "WAREHOUSE_URL": url,
                     "FINGERTIPS_BASE_URL": server.base_url, "FINGERTIPS_OFFLINE": "0"}.items():
            mp.setenv(k, v)
        assert str(load_dag("fingertips_refresh.py", "fingertips_refresh_dag").test().state).endswith("success")
        load_dag("provider_returns.py", "provider_returns_dag").test()   # fails by design: bad samples quarantined
        yield {"root": root, "url": url, "dag": load_dag("performance_report.py", "performance_report_dag")}
    server.stop()


@pytest.fixture(scope="module")
def built(loaded):
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"PH_CONFIG_DIR": str(loaded["root"] / "config"), "PH_DATA_DIR": str(loaded["root"] / "data"),
                     "PH_OUTPUT_DIR": str(loaded["root"] / "out"), "WAREHOUSE_URL": loaded["url"]}.items():
            mp.setenv(k, v)
        run = loaded["dag"].test(run_conf={"quarter": QUARTER})
        assert str(run.state).endswith("success")
        folder = loaded["root"] / "out" / "reports" / "performance" / QUARTER
        yield {"folder": folder, "html": (folder / "report.html").read_text(), **loaded}


def _section(html: str, code: str) -> str:
    start = html.index(f'id="service-{code}"')
    end = html.find('<section id="service-', start + 10)
    return html[start: end if end > 0 else len(html)]


def test_outputs_exist_under_the_quarter_folder(built):
    for name in ("report.html", "report.pdf", "report-data.xlsx"):
        assert (built["folder"] / name).stat().st_size > 1000


def test_healthy_together_shows_the_reference_figures_and_override(built):
    page = _section(built["html"], "healthy_together")
    assert "96" in page and "1,232" in page.replace("1232", "1,232") and "1,284" in page.replace("1284", "1,284")
    assert "Amber" in page and "Green" in page          # the override beside the computed rating
    assert "Consultant in Public Health" in page


def test_quarantined_service_is_grey_with_the_reason(built):
    page = _section(built["html"], "hiv_prevention_positive")
    assert "Grey" in page and "quarantined" in page.lower()
    assert "about 30" in page or "cell I5" in page


def test_summary_lists_every_configured_service_with_a_rating(built):
    from public_health.returns.services import load_services

    services = load_services(built["root"] / "config")
    summary = html.unescape(built["html"][: built["html"].index('id="service-')])
    in_report = [s for s in services.values() if s.performance_report]
    assert len(in_report) == 25
    for service in in_report:
        assert service.name in summary, service.code
    # The BCF local activity return is tracked, but has no page in the report.
    assert services["bcf_nhs_activity"].name not in built["html"]
    for rating in ("Green", "Amber", "Grey"):
        assert rating in summary


def test_pdf_is_a_real_document_with_every_heading(built):
    from pypdf import PdfReader

    from public_health.returns.services import load_services

    reader = PdfReader(built["folder"] / "report.pdf")
    pages = len(reader.pages)
    print(f"\nperformance report PDF: {pages} pages")
    text_all = "\n".join(p.extract_text() or "" for p in reader.pages)
    squashed = " ".join(text_all.split())
    assert "Division of Public Health Performance Report" in squashed
    pages_expected = [s for s in load_services(built["root"] / "config").values()
                      if s.performance_report and not s.redacted]
    for service in pages_expected:
        assert " ".join(service.name.split())[:30] in squashed, service.name
    assert pages > len(pages_expected) // 2
    if shutil.which("pdftoppm"):   # page images too, where poppler is installed
        import subprocess

        subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "2", str(built["folder"] / "report.pdf"),
                        str(built["root"] / "page")], check=True, timeout=120)
        images = sorted(built["root"].glob("page-*.png"))
        assert len(images) == 2 and all(i.stat().st_size > 1000 for i in images)


def test_build_is_recorded_and_repeatable(built):
    engine = make_engine(built["url"])
    with engine.connect() as conn:
        first = conn.execute(text("SELECT content_sha256, batch_ids, outputs FROM audit.report_build"
                                  " WHERE period_label = :q ORDER BY build_id"), {"q": QUARTER}).all()
    assert first and first[-1].batch_ids
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"PH_CONFIG_DIR": str(built["root"] / "config"), "PH_DATA_DIR": str(built["root"] / "data"),
                     "PH_OUTPUT_DIR": str(built["root"] / "out"), "WAREHOUSE_URL": built["url"]}.items():
            mp.setenv(k, v)
        assert str(built["dag"].test(run_conf={"quarter": QUARTER}).state).endswith("success")
    with engine.connect() as conn:
        builds = conn.execute(text("SELECT content_sha256 FROM audit.report_build WHERE period_label = :q"
                                   " ORDER BY build_id"), {"q": QUARTER}).all()
    engine.dispose()
    assert len(builds) == len(first) + 1 and builds[-1].content_sha256 == first[-1].content_sha256


def test_quarter_without_data_is_refused(built):
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"PH_CONFIG_DIR": str(built["root"] / "config"), "PH_DATA_DIR": str(built["root"] / "data"),
                     "PH_OUTPUT_DIR": str(built["root"] / "out"), "WAREHOUSE_URL": built["url"]}.items():
            mp.setenv(k, v)
        run = built["dag"].test(run_conf={"quarter": "2015-16-Q1"})
    assert str(run.state).endswith("failed")
    assert not (built["root"] / "out" / "reports" / "performance" / "2015-16-Q1" / "report.html").exists()
    engine = make_engine(built["url"])
    from public_health.config import load_settings
    from public_health.reports.performance.data import ReportError, assemble

    with pytest.raises(ReportError, match="no provider returns or KPI figures for 2015-16-Q1"):
        assemble(engine, load_settings(Path(built["root"] / "config" / "settings.yaml"), env={}),
                 FinancialQuarter.parse("2015-16-Q1"))
    engine.dispose()


# PHOF as of the quarter, its source and extraction date, and the demonstration-data notice ---------

QUARTER_END = FinancialQuarter.parse(QUARTER).end       # 2017-09-30
DEMO_NOTICE = "Demonstration data, not published figures"


def _period_ends(url: str) -> dict[str, object]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT period_label, end_date FROM core.dim_period")).all()
    engine.dispose()
    return {r.period_label: r.end_date for r in rows}


def _phof_tables(page_html: str) -> list[str]:
    return re.findall(r'<table class="phof">.*?<div class="phof-source".*?</div>', page_html, flags=re.S)


def _cells(row_html: str) -> list[str]:
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, flags=re.S)]


def test_phof_shows_no_period_ending_after_the_quarter(built):
    """Built from a warehouse holding PHOF periods after 30 Sep 2017: none of them is shown, in the HTML
    or the XLSX; each value is for the latest period ending by then, the direction from the one before."""
    from openpyxl import load_workbook

    ends = _period_ends(built["url"])
    later = {label for label, end in ends.items() if end > QUARTER_END}
    assert later and {label for label, end in ends.items() if end <= QUARTER_END}   # both sides held

    tables = _phof_tables(built["html"])
    assert tables
    shown = []
    for table in tables:
        body = table[table.index("<tbody>"): table.index("</tbody>")]
        for row in re.findall(r"<tr>.*?</tr>", body, flags=re.S):
            cells = _cells(row)
            period = cells[2]
            if period != "Not available":
                shown.append(period)
                assert ends[period] <= QUARTER_END, (cells[1], period)
            previous = re.search(r"from .+ in (.+)$", cells[6])
            if previous:
                assert ends[previous.group(1)] <= QUARTER_END, (cells[1], previous.group(1))
                assert ends[previous.group(1)] < ends[period]
    assert shown, "no PHOF value shown at all: the test would prove nothing"

    wb = load_workbook(built["folder"] / "report-data.xlsx")
    headers = [c.value for c in wb["PHOF"][1]]
    col = {h: i for i, h in enumerate(headers)}
    rows = list(wb["PHOF"].iter_rows(min_row=2, values_only=True))
    with_values = [r for r in rows if r[col["Period"]]]
    assert with_values
    for r in rows:
        for key in ("Period", "Previous period"):
            if r[col[key]]:
                assert r[col[key]] not in later and ends[r[col[key]]] <= QUARTER_END, (r[col["Indicator ID"]], key)


def test_every_phof_table_names_its_source_and_extraction_date(built):
    engine = make_engine(built["url"])
    with engine.connect() as conn:
        finished = conn.execute(text(
            "SELECT max(finished_at) FROM audit.load_batch WHERE source = 'fingertips' AND status = 'loaded'"
        )).scalar_one()
        sources = {r[0] for r in conn.execute(text("SELECT source FROM core.dim_indicator WHERE source IS NOT NULL"))}
    engine.dispose()
    tables = _phof_tables(built["html"])
    for table in tables:
        note = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", table[table.index('<div class="phof-source"'):])).split())
        assert "Source: Fingertips, Public Health England/OHID: Public Health Outcomes Framework" in note
        assert "Indicator data source:" in note and any(s in note for s in sources)
        assert "Extracted from Fingertips:" in note and "not recorded" not in note
        assert f"{finished.year}" in note.split("Extracted from Fingertips:")[1]


def test_offline_build_says_demonstration_data_in_html_and_pdf(built):
    """The stub serves on 127.0.0.1, not fingertips.phe.org.uk: the header and every PHOF table say the
    figures are demonstration data, and so does the PDF's text (read back with pypdf)."""
    from openpyxl import load_workbook
    from pypdf import PdfReader

    page = built["html"]
    header = page[page.index('<header class="report-header">'): page.index("</header>")]
    assert DEMO_NOTICE in header
    tables = _phof_tables(page)
    assert tables and all(DEMO_NOTICE in t for t in tables)

    reader = PdfReader(built["folder"] / "report.pdf")
    assert DEMO_NOTICE in " ".join((reader.pages[0].extract_text() or "").split())
    squashed = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert squashed.count(DEMO_NOTICE) >= 1 + len(tables)

    wb = load_workbook(built["folder"] / "report-data.xlsx")
    headers = [c.value for c in wb["PHOF"][1]]
    statuses = {r[headers.index("Data status")] for r in wb["PHOF"].iter_rows(min_row=2, values_only=True)}
    assert statuses and all(s.startswith(DEMO_NOTICE) for s in statuses)

