"""The quarterly performance report, built by its DAG from a warehouse the other two DAGs loaded
(stub Fingertips data and the sample provider returns), checked for content, not just existence."""

from __future__ import annotations

import html
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
    server = StubServer(default_demo_dataset()).start()
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
