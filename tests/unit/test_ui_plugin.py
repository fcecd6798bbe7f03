"""The "Public health data" page, served by Airflow's own API app with the plugin mounted, behind Airflow's login.

The warehouse is a real DuckDB file holding sample returns taken by the provider returns pipeline
(``tests/browser/sample_returns.py``); what the page should show is read back from the warehouse with
SQL written here, not from the page's own queries.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from html import unescape
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest
from sqlalchemy import text

from tests.browser.sample_returns import SERVICES, load_sample_returns

RUN_ID = "manual__2026-01-05T09:00:00+00:00"       # the provider_returns run the sample returns are loaded by
PAGE = "/public-health/"


@pytest.fixture(scope="module")
def warehouse_env(tmp_path_factory):
    """Settings pointing at a fresh DuckDB warehouse with the sample returns loaded, as the page will read it."""
    from public_health.config import load_settings
    from public_health.warehouse.audit import RunContext
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    tmp = tmp_path_factory.mktemp("ui-warehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_URL", f"duckdb:///{tmp / 'warehouse.duckdb'}")
        mp.setenv("PH_DATA_DIR", str(tmp / "data"))
        mp.setenv("PH_SHARED_DRIVE", str(tmp / "share"))
        settings = load_settings()
        engine = make_engine(settings.warehouse_url)
        migrate(engine)
        loaded = load_sample_returns(settings, engine, RunContext("provider_returns", RUN_ID, "process"),
                                     date(2026, 1, 5))
        engine.dispose()
        yield {"settings": settings, "loaded": loaded, "db": tmp / "warehouse.duckdb"}


@pytest.fixture(scope="module")
def client(airflow_db, warehouse_env):
    """Airflow's API app (core) as the API server builds it, plugins mounted, and a TestClient on it."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    return TestClient(create_app("core"))


@pytest.fixture(scope="module")
def token(client):
    """A JWT for the generated admin user, obtained the way the UI's login form does."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    password = SimpleAuthManager.get_passwords()["admin"]
    response = client.post("/auth/token", json={"username": "admin", "password": password})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def q(settings, sql, **params):
    import sqlalchemy

    engine = sqlalchemy.create_engine(settings.warehouse_url, connect_args={"read_only": True},
                                      poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def tracker_rows(html: str, quarter: str) -> dict[str, str]:
    """service -> status of the return-status table for a quarter, as the page shows it."""
    table = re.search(rf'<table class="return-status" id="return-status-{quarter}">(.*?)</table>', html, re.S)
    assert table, f"no return status table for {quarter}"
    return dict(re.findall(r'<tr data-service="([^"]+)" data-status="([^"]+)">', table.group(1)))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Login ----------------------------------------------------------------------------------------------


def test_the_plugin_is_registered_with_a_nav_entry_and_an_app(client, token):
    response = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    [plugin] = [p for p in response.json()["plugins"] if p["name"] == "public_health_ui"]
    [view] = plugin["external_views"]
    assert (view["name"], view["url_route"], view["href"], view["destination"]) == (
        "Public health data", "public-health", "public-health/", "nav")
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/public-health"]


@pytest.mark.parametrize("path", [PAGE, f"{PAGE}?quarter=2017-18-Q2", f"{PAGE}report/1"])
def test_anonymous_requests_are_refused(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "return-status" not in response.text and "Quarantined" not in response.text


def test_a_forged_token_is_refused(client, token):
    header, payload, _signature = token.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    for kwargs in ({"headers": {"Authorization": f"Bearer {forged}"}}, {"cookies": {"_token": forged}}):
        response = client.get(PAGE, **kwargs)
        assert response.status_code == 403, kwargs
        assert "return-status" not in response.text


def test_the_ui_session_cookie_and_a_bearer_token_both_get_the_page(client, token, warehouse_env):
    by_cookie = client.get(PAGE, cookies={"_token": token})
    client.cookies.clear()
    by_header = client.get(PAGE, headers={"Authorization": f"Bearer {token}"})
    for response in (by_cookie, by_header):
        assert response.status_code == 200, response.text[:500]
        assert response.headers["content-type"].startswith("text/html")
        assert '<table class="return-status"' in response.text


# The page's figures -----------------------------------------------------------------------------------


def test_default_page_shows_the_trackers_current_and_previous_quarter(client, token, warehouse_env):
    from public_health.periods import FinancialQuarter

    settings = warehouse_env["settings"]
    labels = [r[0] for r in q(settings, "SELECT DISTINCT period_label FROM core.return_expected")]
    current = max(FinancialQuarter.parse(label) for label in labels)
    html = client.get(PAGE, headers={"Authorization": f"Bearer {token}"}).text
    for quarter in (current, current.previous()):
        expected = dict(q(settings, "SELECT service_code, status FROM mart.return_status WHERE period_label = :p",
                          p=quarter.label))
        assert expected, quarter
        assert tracker_rows(html, quarter.label) == expected


def test_a_chosen_quarter_shows_each_services_status_and_the_run_that_loaded_it(client, token, warehouse_env):
    settings, loaded = warehouse_env["settings"], warehouse_env["loaded"]
    html = client.get(f"{PAGE}?quarter=2017/18 Q2", headers={"Authorization": f"Bearer {token}"}).text
    for label in ("2017-18-Q2", "2017-18-Q1"):
        shown = tracker_rows(html, label)
        expected = dict(q(settings, "SELECT service_code, status FROM mart.return_status WHERE period_label = :p",
                          p=label))
        assert shown == expected
        for service in SERVICES:     # the sample drive has both services' returns for both quarters
            assert shown[service] != "missing", (label, service)
        assert {s for s, status in shown.items() if status == "missing"} == set(shown) - set(SERVICES)
    # Each loaded service's row links to the provider_returns run that took its latest file.
    link = f'href="../dags/provider_returns/runs/{quote(RUN_ID, safe="")}"'
    for service in SERVICES:
        row = re.search(rf'<tr data-service="{service}" data-status="[^"]+">(.*?)</tr>', html, re.S).group(1)
        assert link in row, row
    assert {o.status for o in loaded.outcomes} >= {"quarantined"}


def test_latest_loads_count_what_audit_load_batch_holds(client, token, warehouse_env):
    settings = warehouse_env["settings"]
    html = client.get(PAGE, headers={"Authorization": f"Bearer {token}"}).text
    row = re.search(r'<tr data-source="provider_return">(.*?)</tr>', html, re.S).group(1)
    [(batches, read, inserted)] = q(
        settings, "SELECT count(*), sum(rows_read), sum(rows_inserted) FROM audit.load_batch WHERE run_id = :r",
        r=RUN_ID)
    assert f"{batches}:" in row
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[:2] == [f"{read:,}", f"{inserted:,}"]
    for never in ("fingertips", "kpi_history_import"):
        assert "never loaded" in re.search(rf'<tr data-source="{never}">(.*?)</tr>', html, re.S).group(1)


def test_quarantined_files_are_listed_with_a_report_that_opens(client, token, warehouse_env):
    settings, loaded = warehouse_env["settings"], warehouse_env["loaded"]
    auth = {"Authorization": f"Bearer {token}"}
    html = client.get(PAGE, headers=auth).text
    quarantined = [o for o in loaded.outcomes if o.status == "quarantined"]
    assert quarantined and all(loaded.files[o.file].expect == "quarantine" for o in quarantined)
    table = re.search(r'<table id="quarantined-files">(.*?)</table>', html, re.S).group(1)
    for outcome in quarantined:
        row = re.search(rf'<tr data-batch="{outcome.batch_id}">(.*?)</tr>', table, re.S).group(1)
        assert unescape(outcome.file) in unescape(row)
        assert f'href="report/{outcome.batch_id}"' in row
        [(report_path,)] = q(settings, "SELECT report_path FROM audit.load_batch WHERE batch_id = :b",
                             b=outcome.batch_id)
        report = client.get(f"{PAGE}report/{outcome.batch_id}", headers=auth)
        assert report.status_code == 200
        assert report.text == Path(report_path).read_text(encoding="utf-8")
        assert Path(outcome.file).name in report.text
    # A batch without a report is a 404, never a file from elsewhere.
    [(loaded_batch,)] = q(settings, "SELECT min(batch_id) FROM audit.load_batch WHERE status = 'loaded'")
    assert client.get(f"{PAGE}report/{loaded_batch}", headers=auth).status_code == 404


def test_failing_checks_of_the_latest_load_are_listed(client, token, warehouse_env):
    settings = warehouse_env["settings"]
    html = client.get(PAGE, headers={"Authorization": f"Bearer {token}"}).text
    failed = q(settings, "SELECT count(*) FROM audit.dq_result d JOIN audit.load_batch b ON b.batch_id = d.batch_id"
                         " WHERE b.run_id = :r AND NOT d.success", r=RUN_ID)[0][0]
    assert failed > 0     # the sample Healthy Together Q2 return carries the report's 123% (a warning)
    rows = re.findall(r'<tr data-source="provider_return" data-severity="(error|warning)">', html)
    assert len(rows) == failed


# Read only, and what it says when it cannot read ---------------------------------------------------------


def test_the_page_writes_nothing_and_releases_the_warehouse(client, token, warehouse_env):
    db = warehouse_env["db"]
    before = sha256(db)
    for path in (PAGE, f"{PAGE}?quarter=2017-18-Q1"):
        assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert sha256(db) == before
    # A writer can open the file at once: the page's read-only connection is closed.
    duckdb.connect(str(db)).close()


def test_no_warehouse_and_a_bad_quarter_are_said_plainly(client, token, warehouse_env, tmp_path, monkeypatch):
    auth = {"Authorization": f"Bearer {token}"}
    bad = client.get(f"{PAGE}?quarter=2017-Q9", headers=auth)
    assert bad.status_code == 400 and "is not a financial-year quarter" in unescape(bad.text)
    monkeypatch.setenv("WAREHOUSE_URL", f"duckdb:///{tmp_path / 'none.duckdb'}")
    missing = client.get(PAGE, headers=auth)
    assert missing.status_code == 503
    assert "there is no warehouse at" in missing.text and not (tmp_path / "none.duckdb").exists()


# The page's queries on both warehouses -----------------------------------------------------------------


def test_the_page_reads_duckdb_and_postgresql_alike(warehouse, tmp_path, monkeypatch):
    """warehouse.status on each backend (the conftest ``warehouse``: a migrated DuckDB file, then a PostgreSQL
    database), compared with the marts and audit tables read directly."""
    from public_health.config import load_settings
    from public_health.periods import FinancialQuarter
    from public_health.ui.page import gather
    from public_health.warehouse.audit import RunContext

    url = warehouse.url.render_as_string(hide_password=False)
    monkeypatch.setenv("WAREHOUSE_URL", url)
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PH_SHARED_DRIVE", str(tmp_path / "share"))
    settings = load_settings()
    loaded = load_sample_returns(settings, warehouse, RunContext("provider_returns", RUN_ID, "process"), date(2026, 1, 5))

    page = gather(settings, FinancialQuarter(2017, 2))

    def rows(sql, **params):
        with warehouse.connect() as conn:
            return conn.execute(text(sql), params).all()

    assert [b.quarter.label for b in page.quarters] == ["2017-18-Q2", "2017-18-Q1"]
    for block in page.quarters:
        expected = dict(rows("SELECT service_code, status FROM mart.return_status WHERE period_label = :p",
                             p=block.quarter.label))
        assert {r.service_code: r.status for r in block.rows} == expected
        for r in block.rows:
            assert (r.dag_id, r.run_id) == (("provider_returns", RUN_ID) if r.service_code in SERVICES else (None, None))
    [provider] = [s for s in page.sources if s.source == "provider_return"]
    [(batches,)] = rows("SELECT count(*) FROM audit.load_batch WHERE run_id = :r", r=RUN_ID)
    assert provider.load.batches == batches and provider.load.run_id == RUN_ID
    assert [s.load for s in page.sources if s.source != "provider_return"] == [None, None]
    assert sorted(f.batch_id for f in page.quarantined) == sorted(
        o.batch_id for o in loaded.outcomes if o.status == "quarantined")
    [(failing,)] = rows("SELECT count(*) FROM audit.dq_result d JOIN audit.load_batch b ON b.batch_id = d.batch_id"
                        " WHERE b.run_id = :r AND NOT d.success", r=RUN_ID)
    assert len(page.failed_checks) == failing


def test_the_page_engine_cannot_write(warehouse):
    from sqlalchemy.exc import DBAPIError

    from public_health.warehouse.status import read_only_engine

    engine = read_only_engine(warehouse.url.render_as_string(hide_password=False))
    try:
        with pytest.raises(DBAPIError, match="(?i)read.only"), engine.begin() as conn:
            conn.execute(text("CREATE TABLE audit.page_wrote_this (i INTEGER)"))
    finally:
        engine.dispose()
