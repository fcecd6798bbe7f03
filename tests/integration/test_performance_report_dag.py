"""The quarterly performance report, built by its DAG from a warehouse the other DAGs loaded (stub
Fingertips data, the published report's history imported, and the sample provider returns), checked
for content, not just existence, and against the published 2017/18 Q2 report itself."""

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
from public_health.demo.history_sample import write_history
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
        history = write_history(root / "data" / "samples" / "history.csv")
        assert history > 1500
        run = load_dag("kpi_history_import.py", "kpi_history_import_dag").test(
            run_conf={"file": str(root / "data" / "samples" / "history.csv"), "as_of": QUARTER})
        assert str(run.state).endswith("success")
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


def test_a_quarantined_draft_does_not_hide_the_return_that_followed_it(built):
    page = _section(built["html"], "hiv_prevention_positive")
    assert "Quarantined" not in page and "about 30" not in page
    engine = make_engine(built["url"])
    with engine.connect() as conn:
        statuses = dict(conn.execute(text(
            "SELECT file_path, status FROM core.return_received WHERE service_code = 'hiv_prevention_positive'"
            " AND period_label = :q"), {"q": QUARTER}).all())
    engine.dispose()
    assert "quarantined" in statuses.values(), statuses
    assert any(v.startswith("loaded") for v in statuses.values()), statuses


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
        run = built["dag"].test(run_conf={"quarter": "2012-13-Q1"})
    assert str(run.state).endswith("failed")
    assert not (built["root"] / "out" / "reports" / "performance" / "2012-13-Q1" / "report.html").exists()
    engine = make_engine(built["url"])
    from public_health.config import load_settings
    from public_health.reports.performance.data import ReportError, assemble

    with pytest.raises(ReportError, match="no provider returns or KPI figures for 2012-13-Q1"):
        assemble(engine, load_settings(Path(built["root"] / "config" / "settings.yaml"), env={}),
                 FinancialQuarter.parse("2012-13-Q1"))
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



# Beside the published report ---------------------------------------------------------------------


def _xlsx_rows(path: Path, sheet: str) -> list[dict]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    book.close()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_every_service_has_every_figure_the_published_report_prints(built):
    """Each of the 24 services with figures shows, in report-data.xlsx, every quarter's figure the
    published report prints for the report's three financial years (not those it prints as Pending
    or leaves empty), and with the published value."""
    from public_health.demo.shared_drive import report_services
    from public_health.returns.services import load_services

    services = load_services(built["root"] / "config")
    kpis = _xlsx_rows(built["folder"] / "report-data.xlsx", "KPIs")
    shown = {(r["Service code"], r["KPI code"], r["Period"], r["Measure"]): r["Value"] for r in kpis}
    measure = {"target": "Target", "actual": "Actual", "actual_to_date": "Actual to date"}
    # What the published page prints: every quarter of 2015/16 to 2017/18, and the year columns before 2017/18.
    printed = {q.label for q in FinancialQuarter.range(FinancialQuarter(2015, 1), FinancialQuarter(2017, 4))}
    missing, checked = [], 0
    for service in report_services(services):
        for fig in service.reference_figures:
            year_column = re.fullmatch(r"\d{4}-\d{2}", fig.period) and fig.period < "2017-18"
            if fig.value is None or fig.measure not in measure or not (fig.period in printed or year_column):
                continue
            checked += 1
            got = shown.get((service.code, fig.kpi, fig.period, measure[fig.measure]))
            if got is None or abs(float(got) - fig.value) > 1e-6:
                missing.append((service.code, fig.kpi, fig.period, fig.measure, fig.value, got))
    assert len(report_services(services)) == 24
    assert checked > 2000
    assert not missing, f"{len(missing)} published figures not shown as printed: {missing[:20]}"


def test_no_more_than_two_services_are_grey_and_each_says_why(built):
    from public_health.returns.services import load_services

    services = load_services(built["root"] / "config")
    summary = _xlsx_rows(built["folder"] / "report-data.xlsx", "Summary")
    grey = [r for r in summary if r["Final rating"] in ("Grey", "Redacted")]
    print("\nservice                          computed  final     published (page / contents)")
    for r in summary:
        s = services[r["Service code"]]
        print(f"{r['Service code']:<32} {r['Computed rating']!s:<9} {r['Final rating']!s:<9} "
              f"{s.reference_rag!s} / {s.contents_rag!s}")
    assert len(grey) <= 2, [(r["Service code"], r["Rating reasons"]) for r in grey]
    for r in grey:
        if r["Final rating"] == "Redacted":     # the published report redacts the page; so does this one
            assert services[r["Service code"]].redacted
            continue
        assert r["Rating reasons"], r["Service code"]
        assert _section(built["html"], r["Service code"]).count("Grey") >= 1


def test_findings_are_on_the_page_in_the_data_quality_sheet_and_in_the_tracker(built):
    dq = _xlsx_rows(built["folder"] / "report-data.xlsx", "Data quality")
    tracker = _xlsx_rows(built["folder"] / "report-data.xlsx", "Return tracker")
    kpis = _xlsx_rows(built["folder"] / "report-data.xlsx", "KPIs")
    over = [r for r in dq if r["Service code"] == "healthy_together" and r["Rule"] == "percent_over_100"]
    assert over and "123%" in over[0]["Message"] and "ht_" not in over[0]["Message"]
    flagged = [r for r in kpis if r["KPI code"] == "ht_bf_status_68w_pct" and r["Period"] == QUARTER
               and r["Measure"] == "Actual"]
    assert flagged and "percent_over_100" in (flagged[0]["Data-quality findings"] or "")
    q2 = [r for r in tracker if r["Service code"] == "healthy_together" and r["Quarter"] == QUARTER]
    assert q2 and q2[0]["Findings"] >= 1 and "percent_over_100" in q2[0]["Finding rules"]
    page = html.unescape(_section(built["html"], "healthy_together"))
    assert "cannot exceed 100%" in page or "over 100%" in page
    assert 'class="flag"' in _section(built["html"], "healthy_together")


def test_reference_slips_the_samples_carry_are_reported_by_name(built):
    """docs/data-quality/reference-slips.md lists the published report's own slips; each one whose figures
    the samples carry is reported by the checks, under its rule's name, for its service, KPI and period."""
    from public_health.returns.services import load_services

    services = load_services(built["root"] / "config")
    dq = _xlsx_rows(built["folder"] / "report-data.xlsx", "Data quality")
    found = {(r["Service code"], r["Rule"]): r for r in dq if r["Rule"]}
    by_kpi: dict[tuple[str, str], list[dict]] = {}
    kpi_names = {(code, k.code): k.name for code, s in services.items() for k in s.kpis}
    for r in dq:
        if r["Rule"]:
            by_kpi.setdefault((r["Service code"], r["Rule"]), []).append(r)
    slips = reference_slips()
    carried = [slip for slip in slips if slip_is_carried(slip, services)]
    assert len(carried) >= 40, f"only {len(carried)} of {len(slips)} slips carried by the samples"
    # A carried slip the checks cannot prove from the figures is listed in the doc as not reported, with why.
    explained = not_reported_with_a_reason()
    assert len(explained & {s["id"] for s in carried}) <= 5, explained
    unreported = []
    for slip in carried:
        if slip["id"] in explained:
            continue
        rows = by_kpi.get((slip["service"], slip["rule"]), [])
        name = kpi_names.get((slip["service"], slip["kpi"]))
        periods = {p.strip() for p in slip["periods"].split(",") if p.strip() not in ("", "-")}
        hit = [r for r in rows if (name is None or r["KPI"] == name)
               and (not periods or periods & set((r["Periods"] or "").split(", ")))]
        if not hit:
            unreported.append((slip["id"], slip["service"], slip["kpi"], slip["periods"], slip["rule"]))
    assert not unreported, f"slips carried by the samples but not reported: {unreported}"
    assert found


SLIPS = Path(__file__).resolve().parents[2] / "docs" / "data-quality" / "reference-slips.md"
#: Rules the samples cannot carry: the built report's page and contents ratings are one computed value.
NOT_CARRIED_RULES = {"rating_differs_from_contents", "other"}


def reference_slips() -> list[dict[str, str]]:
    """The table of docs/data-quality/reference-slips.md as rows of its columns."""
    lines = [line for line in SLIPS.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("| id |")):]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:6] == ["id", "service", "lines", "kpi", "periods", "rule"], header
    rows = []
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"S\d+", cells[0]):
            rows.append(dict(zip(header, cells, strict=False)))
    return rows


def not_reported_with_a_reason() -> set[str]:
    """Slip ids the doc's "What the checks report" section says are not reported, each with its reason."""
    section = SLIPS.read_text(encoding="utf-8").split("## What the checks report", 1)[1]
    found = re.findall(r"^- \*\*(S\d+)\*\*: not reported\. (\S.{20,})$", section, flags=re.M)
    return {slip_id for slip_id, _why in found}


def slip_is_carried(slip: dict[str, str], services: dict) -> bool:
    """A slip is carried by the samples when its rule is one the checks have and what it is about is in the
    samples: the figures of its KPI for every period it names (all transcribed figures are in the history
    file or the returns), or, for a comment, the service's comments (the Q2 return carries the page's)."""
    from public_health.quality.consistency import RULES

    if slip["rule"] not in RULES or slip["rule"] in NOT_CARRIED_RULES or slip["service"] not in services:
        return False
    service = services[slip["service"]]
    if slip["rule"] == "comment_contradicts_table":
        return bool(service.reference_comments)
    periods = [p.strip() for p in slip["periods"].split(",") if p.strip() not in ("", "-")]
    have = {(f.kpi, f.period) for f in service.reference_figures if f.value is not None}
    if slip["kpi"] == "-":
        return all(any(p == period for _, period in have) for p in periods)
    return bool(periods) and all((slip["kpi"], p) in have for p in periods)


def test_slips_table_is_well_formed():
    from public_health.quality.consistency import RULES

    rules = set(RULES) | {"other"}
    slips = reference_slips()
    assert slips
    for slip in slips:
        assert slip["rule"] in rules, slip
        assert slip["severity"] in ("error", "warning"), slip
        assert re.fullmatch(r"[\d, -]+", slip["lines"]), slip
