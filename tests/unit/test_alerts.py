"""Issue 12 (points 2 and 3): a failed task alerts once, by email through Airflow's SMTP connection or, without
one, at ERROR in its log; a run's quarantined, late and missing returns come in one digest; and a failed task's log
ends with one line saying what failed, for what, and what to do (a DuckDB lock: who holds the file).

Real parts throughout: an aiosmtpd server on 127.0.0.1, the connection as AIRFLOW_CONN_SMTP_DEFAULT, DAGs run with
dag.test() (their tasks call the real return parser and pipelines), and a DuckDB lock held by another process."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

BASE_URL = "http://airflow.example.test:8080"
TEAM = ["phi-team@example.org", "duty-analyst@example.org"]
Q2, Q3 = "2017-18-Q2", "2017-18-Q3"
TEST_DAGS = Path(__file__).resolve().parents[1] / "alert_dags" / "alert_test_dags.py"


# An SMTP server and the connection to it -------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def _connection(port: int) -> str:
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {
        "disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.org", "timeout": 10,
        "retry_limit": 0}})


@pytest.fixture
def env(tmp_path, monkeypatch, airflow_db):
    """Settings for one test: its own data, shared drive and DuckDB warehouse; alerts to the team; no SMTP
    connection unless the test makes one."""
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PH_SHARED_DRIVE", str(tmp_path / "drive"))
    monkeypatch.setenv("WAREHOUSE_URL", f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    monkeypatch.setenv("PH_ALERT_RECIPIENTS", ", ".join(TEAM))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE_URL + "/")
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    # dag.test() finds a DAG's serialized version in a bundle: this test's DAGs are in their own.
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([
        {"name": "alerts-test-dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(TEST_DAGS.parent)}},
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
    ]))
    (tmp_path / "drive").mkdir()
    return tmp_path


@pytest.fixture(scope="module")
def dags():
    """tests/alert_dags/alert_test_dags.py, imported as the DAG processor would."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("alert_test_dags", TEST_DAGS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def ours(self, level: int = logging.DEBUG) -> list[logging.LogRecord]:
        return [r for r in self.records if r.name.startswith("public_health.airflow_support") and r.levelno >= level]


@contextmanager
def captured():
    """Every record the package's Airflow adapters log while a DAG runs in this process."""
    handler, logger = _Records(), logging.getLogger("public_health.airflow_support")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _html(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _text(message: email.message.EmailMessage) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", _html(message)))


def _section(body: str, heading: str) -> dict[str, list[str]]:
    """The numbered items under a heading of a digest: first line -> the lines under it."""
    import re

    lines = body.split(f"\n{heading}")[1].split("\n\n")[0].splitlines()[1:]
    items: dict[str, list[str]] = {}
    for line in lines:
        m = re.match(r"^  \d+\. (.*)$", line)
        if m:
            current = items.setdefault(m.group(1), [])
        else:
            current.append(line.strip())
    return items


def _states(run) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): str(ti.state).split(".")[-1].lower() for ti in run.get_task_instances()}


# (1) and (3): a bad provider return fails a mapped task --------------------------------------------------


def _bad_return(folder: Path) -> tuple[Path, str]:
    """A real return template for the smoking cessation service with text typed in a number cell."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    from public_health.periods import FinancialQuarter
    from public_health.returns.services import load_services
    from public_health.returns.template import KPI_FIRST_ROW, KPI_SHEET, value_column, write_template

    path = write_template(load_services()["smoking_cessation"], FinancialQuarter.parse(Q2),
                          folder / f"smoking_cessation_{Q2}.xlsx")
    book = openpyxl.load_workbook(path)
    column = value_column(2, "actual")
    book[KPI_SHEET].cell(row=KPI_FIRST_ROW, column=column).value = "about ninety"
    book.save(path)
    return path, f"{get_column_letter(column)}{KPI_FIRST_ROW}"


@pytest.fixture
def bad_return(env):
    return _bad_return(env / "drive")


def _run_reading_dag(dags, path: Path, monkeypatch):
    monkeypatch.setenv(dags.RETURNS_ENV, str(path))
    with captured() as logs:
        run = dags.bad_return_dag.test()
    return run, logs


def _expected_log_url(run_id: str) -> str:
    return f"{BASE_URL}/dags/alerts_bad_return/runs/{quote(run_id, safe='')}/tasks/read_return/mapped/0?try_number=1"


def test_a_failed_task_sends_one_email_naming_dag_task_file_and_row_with_a_link_to_its_log(
        env, dags, bad_return, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _connection(controller.port))
    path, cell = bad_return
    run, logs = _run_reading_dag(dags, path, monkeypatch)

    assert _states(run) == {("list_returns", -1): "success", ("read_return", 0): "failed", ("watcher", -1): "failed"}
    assert len(inbox.messages) == 1, [m["Subject"] for _, m in inbox.messages]   # not one from the watcher too
    to, message = inbox.messages[0]
    assert sorted(to) == sorted(TEAM)
    assert message["Subject"] == (f"[public health data] FAILED alerts_bad_return.read_return [{path.name}]: "
                                  f"file {path.name}, sheet KPIs, cell {cell} (row 5)")
    body = _text(message)
    assert "DAG:         alerts_bad_return\n" in body
    assert f"Task:        read_return [{path.name}] (map index 0)\n" in body
    assert f"For:         file {path.name}, sheet KPIs, cell {cell} (row 5)\n" in body
    assert (f"Error:       ReturnParseError: {path.name}, sheet KPIs, cell {cell}: expected a number or one of "
            f"(blank, -, n/a, tbc, Not yet available, Redacted) for KPI ss_quit_dates (count), found 'about ninety'\n"
            ) in body
    assert ("What to do:  correct the cell named above (or ask the provider for a corrected file) and save the "
            "file to the shared drive again; the next run picks it up\n") in body
    log_url = _expected_log_url(run.run_id)
    assert f"Task log:    {log_url}\n" in body
    assert f'<a href="{log_url}">' in _html(message)
    # The log ends with the one line: what failed, for which file and cell, and what to do.
    last = logs.ours()[-1]
    assert last.levelno == logging.ERROR
    assert last.getMessage() == (
        "FAILED alerts_bad_return.watcher for the run as a whole: AirflowFailException: a task of this run failed "
        "(see the tasks in state failed or upstream_failed), so the run fails; the summary tasks report it but never "
        "turn the run green. What to do: see the alert and log of the task that failed; once it succeeds (clear it "
        "after removing the cause), clear this watcher too and the run can end green (failed at once: not retried).")
    reader = [r.getMessage() for r in logs.ours(logging.ERROR) if "read_return" in r.getMessage()]
    expected_line = (
        f"FAILED alerts_bad_return.read_return [{path.name}] for file {path.name}, sheet KPIs, cell {cell} (row 5): "
        f"ReturnParseError: {path.name}, sheet KPIs, cell {cell}: expected a number or one of (blank, -, n/a, tbc, "
        "Not yet available, Redacted) for KPI ss_quit_dates (count), found 'about ninety'. What to do: correct the "
        "cell named above (or ask the provider for a corrected file) and save the file to the shared drive again; "
        "the next run picks it up.")
    # Logged by explain_failure when the body raised, then again by the callback after Airflow's traceback.
    assert reader == [expected_line, expected_line]
    assert body.endswith(f"The task's log ends with:\n{expected_line}")


def test_without_an_smtp_connection_the_same_alert_is_logged_at_error_and_nothing_is_sent(
        env, dags, bad_return, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    path, _cell = bad_return
    # The same failure with the connection: what was mailed.
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _connection(controller.port))
    mailed_run, _ = _run_reading_dag(dags, path, monkeypatch)
    [(_to, mailed)] = inbox.messages
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")

    run, logs = _run_reading_dag(dags, path, monkeypatch)
    assert _states(run)[("read_return", 0)] == "failed"
    assert len(inbox.messages) == 1                      # nothing more was sent
    alerts = [r.getMessage() for r in logs.ours(logging.ERROR) if r.getMessage().startswith("[public health data]")]
    assert len(alerts) == 1                              # one alert: the watcher's failure is not alerted
    same = f"{mailed['Subject']}\n\n{_text(mailed)}".replace(mailed_run.run_id, run.run_id).replace(
        quote(mailed_run.run_id, safe=""), quote(run.run_id, safe=""))
    assert alerts[0] == same
    assert any(r.getMessage() == "alert not emailed (no Airflow connection 'smtp_default')" for r in logs.ours())
    assert not any("could not look up" in r.getMessage() for r in logs.ours())   # asked, and told it is not there


# (2) one digest for a run with several quarantined files --------------------------------------------------


def _returns_drive(drive: Path) -> dict[str, str]:
    """Three returns that cannot load (text in a number cell, a negative count, an unknown service on the cover)
    and one good return sent after its due date; file name -> what becomes of it."""
    import openpyxl

    from public_health.periods import FinancialQuarter
    from public_health.returns.services import load_services
    from public_health.returns.template import KPI_FIRST_ROW, KPI_SHEET, value_column, write_template

    services = load_services()

    def template(code: str, quarter: str) -> Path:
        return write_template(services[code], FinancialQuarter.parse(quarter), drive / f"{code}_{quarter}.xlsx")

    def edit(path: Path, sheet: str, cell: tuple[int, int] | str, value) -> Path:
        book = openpyxl.load_workbook(path)
        if isinstance(cell, str):
            book[sheet][cell] = value
        else:
            book[sheet].cell(row=cell[0], column=cell[1]).value = value
        book.save(path)
        return path

    q2_actual = value_column(2, "actual")
    files = {
        edit(template("smoking_cessation", Q2), KPI_SHEET, (KPI_FIRST_ROW, q2_actual), "about ninety"): "text",
        edit(template("nhs_health_checks", Q2), KPI_SHEET, (KPI_FIRST_ROW, q2_actual), -5): "negative",
        edit(template("oral_health_promotion", Q2), "Cover", "B3", "chiropody"): "unknown service",
    }
    sent = datetime(2017, 10, 20).timestamp()
    for path in files:
        os.utime(path, (sent, sent))
    late = template("healthy_together", Q3)
    after_due = datetime(2018, 3, 1).timestamp()   # Q3 returns were due on 30 January 2018
    os.utime(late, (after_due, after_due))
    return {**{p.name: what for p, what in files.items()}, late.name: "late"}


def test_one_digest_per_run_lists_every_quarantined_file_and_late_and_missing_returns(
        env, dags, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", _connection(controller.port))
    files = _returns_drive(env / "drive")
    dag = dags.digest_dag

    with captured():
        run = dag.test()
    assert _states(run) == {("process_files", -1): "success", ("summarise", -1): "failed"}
    # One message for the run: the digest; the summary's own failure (over the same files) is not alerted again.
    assert len(inbox.messages) == 1, [m["Subject"] for _, m in inbox.messages]
    to, message = inbox.messages[0]
    assert sorted(to) == sorted(TEAM)
    assert message["Subject"].startswith("[public health data] alerts_returns_digest run: 3 file(s) quarantined, "
                                         "1 return(s) late, ")
    body = _text(message)
    quarantined = _section(body, "Quarantined in this run")
    assert sorted(quarantined) == sorted(name for name, what in files.items() if what != "late")
    for name, (first, report) in quarantined.items():
        assert first.startswith("first error: ") and report.startswith("report: ")
        kept = json.loads(Path(report.removeprefix("report: ")).with_name("report.json").read_text())
        assert kept["source_ref"] == name and kept["batch_id"]
    assert quarantined[f"smoking_cessation_{Q2}.xlsx"][0] == (
        f"first error: smoking_cessation_{Q2}.xlsx, sheet KPIs, cell I5: expected a number or one of (blank, -, n/a, "
        "tbc, Not yet available, Redacted) for KPI ss_quit_dates (count), found 'about ninety'")
    assert quarantined[f"nhs_health_checks_{Q2}.xlsx"][0] == (
        "first error: Counts are not negative at sheet KPIs, cell I5 (row 5): -5.0 (1 row(s) in all)")
    assert quarantined[f"oral_health_promotion_{Q2}.xlsx"][0].startswith(
        f"first error: oral_health_promotion_{Q2}.xlsx, sheet Cover, cell B3: unknown service code 'chiropody'")
    assert list(_section(body, "Late returns (received after the due date), by service")) == [
        f"healthy_together (Healthy Together: Healthy Child Programme (0-19s); Leicestershire Partnership Trust): "
        f"{Q3} due 2018-01-30, received 2018-03-01"]
    missing = list(_section(body, "Missing returns (past the due date, nothing received), by service"))
    assert "smoking_cessation (Smoking Cessation Service; Leicester City Stop Smoking Service): 2017-18-Q3 due " \
           "2018-01-30, 2017-18-Q4 due 2018-04-30" in missing
    # Healthy Together's Q3 return arrived (late): only its Q4 return is missing.
    assert [m.rsplit("): ", 1)[1] for m in missing if m.startswith("healthy_together ")] == [
        "2017-18-Q4 due 2018-04-30"]
    assert message["Subject"].endswith(f"{2 * len(missing) - 1} return(s) missing")
    assert f"Run:             {BASE_URL}/dags/alerts_returns_digest/runs/{quote(run.run_id, safe='')}\n" in body

    # The next run has nothing new: no file, and the late and missing returns were reported: nothing is sent.
    again = dag.test()
    assert _states(again) == {("process_files", -1): "success", ("summarise", -1): "success"}
    assert len(inbox.messages) == 1


def test_digest_of_a_run_with_nothing_to_report_is_none(env):
    from public_health.airflow_support.alerts import run_digest
    from public_health.airflow_support.runtime import TaskWhere

    where = TaskWhere("provider_returns", "publish.summarise", "manual__1")
    assert run_digest({"files": {"loaded": 3}, "problems": []}, where, []) == (None, set())
    fingertips = {"batches": {"loaded": 4}, "inserted": 10, "updated": 0, "problems": [], "held": []}
    assert run_digest(fingertips, where, None) == (None, set())


def test_a_fingertips_digest_names_new_and_held_indicators_and_a_held_one_is_news_once(env):
    """A summary shaped as pipelines.fingertips_refresh.run_summary returns it: the indicator quarantined tonight is
    listed with its report and first error (from its report.json); one held since an earlier night is listed; the
    next night, with nothing new, nothing is sent."""
    from public_health.airflow_support.alerts import run_digest
    from public_health.airflow_support.runtime import TaskWhere

    report = env / "data" / "quarantine" / "fingertips" / "ab12" / "indicator-90362" / "report.md"
    report.parent.mkdir(parents=True)
    report.write_text("# Quarantined\n")
    report.with_name("report.json").write_text(json.dumps({"error": None, "validation": {"outcomes": [
        {"success": True, "severity": "error", "description": "Values are numbers", "column": "value"},
        {"success": False, "severity": "error", "column": None, "unexpected_count": 2,
         "description": "One row per indicator, area, sex, age, category and period",
         "unexpected_examples": [{"line": 14, "value": "E06000016"}]}]}}))
    tonight = {
        "batches": {"loaded": 3, "quarantined": 1, "held": 1}, "inserted": 120, "updated": 4,
        "problems": [{"batch_id": 31, "status": "quarantined", "source_ref": "https://fingertips.example/all_data",
                      "error_summary": "indicator 90362: fingertips_indicator_values: 1 error(s)",
                      "report_path": str(report)}],
        "held": [{"indicator_id": 20401, "since": "2026-11-20T02:00:07+00:00", "batch_id": 12,
                  "error_summary": "still held", "report_path": "/data/quarantine/fingertips/cd34/report.md"},
                 {"indicator_id": 90362, "since": "2026-11-29T02:00:05+00:00", "batch_id": 31,
                  "error_summary": "indicator 90362: ...", "report_path": str(report)}],
    }
    where = TaskWhere("fingertips_refresh", "publish.summarise", "scheduled__2026-11-29T02:00:00+00:00", try_number=1)
    alert, keys = run_digest(tonight, where, None, frozenset({"held|20401|2026-11-20T02:00:07+00:00"}))
    assert alert.subject == ("[public health data] fingertips_refresh run: 1 indicator(s) quarantined, "
                             "1 indicator(s) held")
    assert _section(alert.body, "Quarantined in this run") == {"indicator 90362": [
        "first error: One row per indicator, area, sex, age, category and period at line 14: 'E06000016' "
        "(2 row(s) in all)", f"report: {report}"]}
    assert list(_section(alert.body, "Still held in quarantine")) == [
        "indicator 20401 held since 2026-11-20T02:00:07+00:00 (batch 12; report: "
        "/data/quarantine/fingertips/cd34/report.md) (reported before)"]
    assert keys == {"held|20401|2026-11-20T02:00:07+00:00", "held|90362|2026-11-29T02:00:05+00:00"}
    tomorrow = {**tonight, "problems": [], "batches": {"loaded": 4, "held": 2}}
    assert run_digest(tomorrow, where, None, frozenset(keys)) == (None, keys)


# (4) the warehouse file held by another process ---------------------------------------------------------


@pytest.fixture
def held_warehouse(tmp_path):
    """A DuckDB file another process holds open (as an analyst's DuckDB session would)."""
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"c = duckdb.connect({str(path)!r}); print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    yield path, holder.pid
    holder.stdin.close()
    holder.wait(timeout=30)


def test_a_locked_warehouse_says_who_holds_it_and_is_retried_not_failed_at_once(
        env, dags, held_warehouse, monkeypatch):
    path, pid = held_warehouse
    monkeypatch.setenv("WAREHOUSE_URL", f"duckdb:///{path}")
    program = os.readlink(f"/proc/{pid}/exe")
    with captured() as logs:
        run = dags.locked_dag.test()

    [ti] = run.get_task_instances()
    assert str(ti.state).endswith("failed") and ti.try_number == 2     # retried once: a lock is transient
    lines = [r.getMessage() for r in logs.ours(logging.WARNING) if r.getMessage().startswith("FAILED ")]
    holder = f"the warehouse file {path} is held by {program} (PID {pid})"
    how = (f"To read the warehouse without blocking loads, open a copy: cp {path} /tmp/wh.duckdb && "
           f"duckdb -readonly /tmp/wh.duckdb (or use PostgreSQL's analyst role).")
    first = (f"FAILED alerts_locked_warehouse.load for quarter 2017-18-Q2: {holder}, so this task could not open "
             f"it. The load will succeed when re-run after that connection is closed (Airflow retries it: this was "
             f"try 1 of 2). {how}")
    last = (f"FAILED alerts_locked_warehouse.load for quarter 2017-18-Q2: {holder}, so this task could not open "
            f"it. The load will succeed when re-run after that connection is closed: close it, then clear this task "
            f"in the Airflow UI. {how}")
    # Each attempt's log: the line when the body raised, and again at its end (retry, then failure callback).
    assert lines == [first, first, last, last]
    assert logs.ours()[-1].getMessage() == last


def test_the_lock_message_of_duckdb_1_names_the_user_too():
    from public_health.airflow_support.runtime import WarehouseLock, warehouse_lock

    error = OSError('IO Error: Could not set lock on file "/srv/ph/data/warehouse.duckdb": Conflicting lock is held '
                    "in /usr/local/bin/duckdb (PID 4242) by user analyst. See also https://duckdb.org/docs/")
    lock = warehouse_lock(RuntimeError("indicator loads failed"))
    assert lock is None
    try:
        try:
            raise error
        except OSError as inner:
            raise RuntimeError("indicator 90362: load failed") from inner
    except RuntimeError as outer:
        lock = warehouse_lock(outer)
    assert lock == WarehouseLock("/srv/ph/data/warehouse.duckdb", "/usr/local/bin/duckdb", 4242, "analyst")
    assert lock.holder == "/usr/local/bin/duckdb (PID 4242, user analyst)"


def test_a_lock_error_is_never_made_a_fail_now_even_inside_a_permanent_error(held_warehouse):
    from public_health.airflow_support.runtime import no_retry_when_permanent, warehouse_lock
    from public_health.pipelines.fingertips_refresh import RefreshError
    from public_health.warehouse.engine import make_engine

    path, pid = held_warehouse
    engine = make_engine(f"duckdb:///{path}")
    with pytest.raises(Exception) as opened:
        engine.connect()
    engine.dispose()
    lock = warehouse_lock(opened.value)
    assert (lock.file, lock.pid) == (str(path), pid)

    with pytest.raises(RefreshError):   # permanent, but the lock behind it can clear: not AirflowFailException
        with no_retry_when_permanent():
            raise RefreshError("indicator loads failed") from opened.value
    with pytest.raises(Exception) as other:   # a permanent error without a lock still fails at once
        with no_retry_when_permanent():
            raise RefreshError("indicator 90362: no such indicator")
    assert type(other.value).__name__ == "AirflowFailException"
