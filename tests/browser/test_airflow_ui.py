"""Airflow started by `make up`, used in headless Debian Chromium through Playwright.

The test runs the Makefile's own `up` target: a temporary Airflow home, a free local port, the
repository's dags/ and plugins/, a temporary DuckDB warehouse, and the bundled Fingertips stub
(`python -m public_health.demo.fingertips_stub --port N`, FINGERTIPS_OFFLINE=1 with FINGERTIPS_BASE_URL
pointed at it). PATH does not hold the virtualenv, as on a fresh clone with none activated. One setting is
added: the scheduler makes no timetable runs ([scheduler] use_job_schedule), so the run the test triggers is
the only run (unpausing a nightly DAG would otherwise start the run it last missed first). Before Airflow
starts, the provider returns pipeline takes a few sample returns into the warehouse (outside Airflow), so
the "Public health data" page has a return tracker to show.

In the browser it logs in with the password Airflow generated, finds every project DAG in the DAG list,
triggers fingertips_refresh from its page (unpaused through the REST API first, so only that DAG runs),
waits for the run to succeed (REST API, bounded), and opens the run's grid and graph and the plugin page,
whose run links must open the run in the Airflow UI. Screenshots go to output/screenshots/. Every process
started here is stopped in teardown, its whole process group and any descendant that left it.

Needs /usr/bin/chromium (Debian's; .ci/run installs it): without it the test fails under CI=true and is
skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from tests.browser.sample_returns import SERVICES, load_sample_returns

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "output" / "screenshots"
PROJECT_DAGS = ("bcf_return", "fingertips_refresh", "kpi_history_import", "performance_report", "provider_returns")
START_TIMEOUT_S = 150       # make up: init (db migrate), standalone healthy, every project DAG parsed
RUN_TIMEOUT_S = 300         # the triggered run, from trigger to success
UI_TIMEOUT_MS = 60_000
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def needs(ok: bool, message: str) -> None:
    """Skip when something this test needs is missing; under CI=true that is a failure instead."""
    if not ok:
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Processes --------------------------------------------------------------------------------------------


@dataclass
class Started:
    name: str
    process: subprocess.Popen
    log: Path


@dataclass
class Processes:
    """Processes this test started, each in a session of its own, stopped as whole process groups."""

    started: list[Started] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> Started:
        with log.open("wb") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        started = Started(name, process, log)
        self.started.append(started)
        return started

    def stop(self) -> None:
        import psutil

        for s in reversed(self.started):
            try:       # descendants first, in case one has left the group (found before anything is stopped)
                descendants = psutil.Process(s.process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                descendants = []
            for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
                try:
                    os.killpg(s.process.pid, sig)
                except ProcessLookupError:
                    pass
                for d in descendants:
                    try:
                        d.send_signal(sig)
                    except psutil.NoSuchProcess:
                        pass
                _, alive = psutil.wait_procs(descendants, timeout=wait_s)
                try:
                    s.process.wait(timeout=wait_s)
                except subprocess.TimeoutExpired:
                    continue
                if not alive:
                    break
        self.started.clear()


def tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


# Airflow's REST API ---------------------------------------------------------------------------------------


@dataclass
class Api:
    base: str
    token: str | None = None

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, method=method, headers=headers,
                                         data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> object:
        status, body = self.call("GET", path)
        assert status == 200, (path, status, body)
        return body


@dataclass
class Airflow:
    base: str
    home: Path
    password: str
    api: Api


def wait_until_up(base: str, make: Started, deadline: float) -> None:
    """Until the API answers and the scheduler, triggerer and DAG processor report healthy."""
    api = Api(base)
    while True:
        assert make.process.poll() is None, f"make up exited ({make.process.returncode}):\n{tail(make.log)}"
        try:
            status, health = api.call("GET", "/api/v2/monitor/health")
        except OSError:
            status, health = 0, None
        if status == 200 and all(
            (health.get(c) or {}).get("status") == "healthy" for c in ("scheduler", "triggerer", "dag_processor")
        ):
            return
        assert time.monotonic() < deadline, f"Airflow not healthy in {START_TIMEOUT_S}s ({health}):\n{tail(make.log)}"
        time.sleep(2)


@pytest.fixture
def airflow(tmp_path):
    """`make up` on a free port with a temporary home, warehouse and data folder, and the stub server."""
    needs(CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian chromium (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        needs(False, f"playwright is not installed: {exc}")

    from public_health.config import load_settings
    from public_health.warehouse.audit import RunContext
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    places = {
        "WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        "PH_DATA_DIR": str(tmp_path / "data"),
        "PH_OUTPUT_DIR": str(tmp_path / "output"),
        "PH_SHARED_DRIVE": str(tmp_path / "shared_drive"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in places.items():
            mp.setenv(key, value)
        mp.delenv("PH_CONFIG_DIR", raising=False)
        settings = load_settings()
        engine = make_engine(settings.warehouse_url)
        migrate(engine)
        load_sample_returns(settings, engine, RunContext(), date.today())
        engine.dispose()
    timings["sample returns"] = time.monotonic() - t0

    venv_bin = (ROOT / ".venv" / "bin").resolve()
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "PH_", "FINGERTIPS_", "MAKE", "PYTEST_"))
        and k not in ("WAREHOUSE_URL", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MFLAGS")
    }
    env["PATH"] = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != venv_bin
    )
    env.update(places)
    # The one deviation from make up: no timetable runs, so that unpausing fingertips_refresh does not also
    # start the nightly run it missed (catchup=False still runs the latest); the run the test triggers is the
    # only one.
    env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"

    processes = Processes()
    try:
        stub_port, port = free_port(), free_port()
        while port == stub_port:
            port = free_port()
        stub = processes.start(
            "fingertips stub",
            [sys.executable, "-m", "public_health.demo.fingertips_stub", "--port", str(stub_port)],
            {**env, "PYTHONPATH": str(ROOT / "plugins")},
            tmp_path / "stub.log",
        )
        stub_url = f"http://127.0.0.1:{stub_port}/api"
        while True:     # the stub answers before Airflow starts (it serves the DAG run later)
            assert stub.process.poll() is None, tail(stub.log)
            try:
                socket.create_connection(("127.0.0.1", stub_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() - t0 < START_TIMEOUT_S, tail(stub.log)
                time.sleep(0.2)
        env.update(FINGERTIPS_OFFLINE="1", FINGERTIPS_BASE_URL=stub_url)
        home = tmp_path / "airflow_home"
        make = processes.start(
            "make up",
            ["make", "--no-print-directory", "-C", str(ROOT), "up", f"PORT={port}", f"AIRFLOW_HOME={home}"],
            env,
            tmp_path / "make-up.log",
        )
        base = f"http://localhost:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        wait_until_up(base, make, deadline)
        assert stub.process.poll() is None, tail(stub.log)
        timings["make up until healthy"] = time.monotonic() - t0 - timings["sample returns"]

        # What make up printed: the port it serves on, and how to log in.
        printed = make.log.read_text(errors="replace")
        assert f"Starting Airflow standalone on {base} (port {port}" in printed, printed[:3000]
        assert "Log in as 'admin'" in printed and f"{base}/plugin/public-health" in printed
        assert f"DAG runs use the local stub server at {stub_url}" in printed
        password_file = home / "simple_auth_manager_passwords.json.generated"
        assert password_file.stat().st_mode & 0o777 == 0o600, oct(password_file.stat().st_mode)
        password = json.loads(password_file.read_text())["admin"]

        api = Api(base)
        status, body = api.call("POST", "/auth/token", {"username": "admin", "password": password})
        assert status == 201, body
        api.token = body["access_token"]
        while True:      # the DAG processor has parsed every project DAG
            found = {d["dag_id"] for d in api.get("/api/v2/dags?limit=100")["dags"]}
            if set(PROJECT_DAGS) <= found:
                break
            assert time.monotonic() < deadline, f"DAGs parsed: {sorted(found)}\n{tail(make.log)}"
            time.sleep(2)
        timings["DAGs parsed"] = time.monotonic() - t0 - sum(timings.values())
        yield Airflow(base, home, password, api), timings
    finally:
        processes.stop()


# The test ---------------------------------------------------------------------------------------------------


def wait_for_run(airflow: Airflow, dag_id: str, run_id: str) -> dict:
    path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run = airflow.api.get(path)
        if run["state"] in ("success", "failed"):
            break
        assert time.monotonic() < deadline, f"{dag_id} {run_id} still {run['state']} after {RUN_TIMEOUT_S}s"
        time.sleep(3)
    if run["state"] != "success":
        tis = airflow.api.get(f"{path}/taskInstances?limit=200")["task_instances"]
        bad = [f"{t['task_id']}[{t['map_index']}]: {t['state']}" for t in tis if t["state"] not in ("success", "skipped")]
        errors = []
        for log in sorted((airflow.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}").rglob("*.log")):
            errors += [line[:600] for line in log.read_text(errors="replace").splitlines() if '"level":"error"' in line]
        pytest.fail(f"{dag_id} run {run_id} {run['state']}: {bad}\n" + "\n".join(errors[:10]))
    return run


def test_airflow_ui_from_make_up(airflow):
    from playwright.sync_api import expect, sync_playwright

    airflow, timings = airflow
    base, api = airflow.base, airflow.api
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    # The plugin's page is refused without a login on the real server too.
    assert Api(base).call("GET", "/public-health/")[0] == 401

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Europe/London",
                                          locale="en-GB")
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.new_page()

            # Log in with the generated admin password.
            page.goto(base + "/")
            page.wait_for_url("**/auth/login**")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(airflow.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/")

            # Every project DAG is in the DAG list.
            page.goto(base + "/dags")
            for dag_id in PROJECT_DAGS:
                expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "dag-list.png")

            # Unpause fingertips_refresh only (through the API, so no other DAG starts), then trigger it in the UI.
            status, body = api.call("PATCH", "/api/v2/dags/fingertips_refresh", {"is_paused": False})
            assert status == 200 and body["is_paused"] is False, body
            page.goto(base + "/dags/fingertips_refresh")
            page.get_by_role("button", name="Trigger Dag").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_role("button", name="Trigger", exact=True).click()
            page.wait_for_url("**/dags/fingertips_refresh/runs/**")
            run_id = unquote(page.url.split("/runs/", 1)[1].split("?")[0].split("/")[0])
            triggered = api.get(f"/api/v2/dags/fingertips_refresh/dagRuns/{quote(run_id, safe='')}")
            assert (triggered["run_type"], triggered["triggered_by"]) == ("manual", "ui"), triggered
            assert {d["dag_id"] for d in api.get("/api/v2/dags?paused=false")["dags"]} == {"fingertips_refresh"}

            t_run = time.monotonic()
            wait_for_run(airflow, "fingertips_refresh", run_id)
            timings["run until success"] = time.monotonic() - t_run

            # The successful run's grid, then its graph.
            run_url = f"{base}/dags/fingertips_refresh/runs/{quote(run_id, safe='')}"
            page.goto(run_url)
            expect(page.get_by_text("watcher", exact=True).first).to_be_visible()
            expect(page.get_by_text("Success", exact=False).first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "run-grid.png")
            page.get_by_role("button", name="Show Graph (Press g)").click()
            expect(page.locator(".react-flow__node").first).to_be_visible()
            expand = page.get_by_role("button", name="Expand all task groups")
            if expand.count():      # the DAG's task groups, opened (a DAG without groups has nothing to expand)
                expand.click()
            page.wait_for_timeout(1500)   # the graph lays itself out and fits the view
            page.screenshot(path=SCREENSHOTS / "run-graph.png")

            # The plugin's page, from the navigation bar: framed in the UI, read from the warehouse.
            page.goto(base + "/dags")
            page.get_by_role("link", name="Public health data").click()
            page.wait_for_url("**/plugin/public-health")
            frame = page.frame_locator('iframe[title="Public health data"]')
            tables = frame.locator("table.return-status")
            expect(tables.first).to_be_visible()
            assert tables.count() == 2         # the tracker's current quarter and the one before
            expect(frame.locator("tr[data-service='healthy_together']").first).to_be_visible()
            fingertips = frame.locator("#latest-loads tr[data-source='fingertips'] a.run-link")
            expected_href = f"../dags/fingertips_refresh/runs/{quote(run_id, safe='')}"
            assert fingertips.get_attribute("href") == expected_href
            # The quarter the sample returns are for: their services' returns are in, the others missing.
            frame.get_by_role("link", name="2017-18-Q2", exact=True).click()
            q2 = frame.locator("#return-status-2017-18-Q2")
            expect(q2).to_be_visible()
            for service in SERVICES:
                assert q2.locator(f"tr[data-service='{service}']").get_attribute("data-status") != "missing"
            assert q2.locator("tr[data-status='missing']").count() == q2.locator("tr").count() - 1 - len(SERVICES)
            # A quarantined sample file's report opens with the same login.
            report = frame.locator("#quarantined-files a.report-link").first
            response = page.request.get(f"{base}/public-health/{report.get_attribute('href')}")
            assert response.status == 200 and response.text().startswith("# Quarantined"), response.text()[:300]
            q2.locator("tr[data-service='healthy_together']").scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=SCREENSHOTS / "public-health-page.png")

            # Its run link opens the run in the Airflow UI itself, not inside the frame.
            fingertips.click()
            page.wait_for_url(run_url)
            expect(page.get_by_text("watcher", exact=True).first).to_be_visible()
            assert page.locator('iframe[title="Public health data"]').count() == 0

            # The whole page, opened on its own with the same login.
            page.goto(base + "/public-health/")
            expect(page.locator("table.return-status").first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "public-health-page-full.png", full_page=True)
        finally:
            browser.close()
    timings["browser"] = time.monotonic() - t0 - timings["run until success"]
    print("\ntimings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
