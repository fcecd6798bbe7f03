"""Command line: ``python -m public_health.cli {migrate,demo,up-info,status}`` (the Makefile calls these).

Output here is for a person at a terminal, so it is written to stdout; everything else logs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from public_health.config import PROJECT_ROOT, ConfigError, load_settings
from public_health.periods import FinancialQuarter
from public_health.warehouse.engine import make_engine, redacted
from public_health.warehouse.migrations import migrate

log = logging.getLogger("public_health.cli")


_terminal = None  # where say() writes: the real stdout, also when the demo sends the rest to its log file


def say(message: str = "") -> None:
    out = _terminal or sys.stdout
    out.write(message + "\n")
    out.flush()


def log_to_file(path: Path) -> Path:
    """From here on, everything but say() goes to ``path``: Airflow's task logs, library warnings, the
    tracebacks of expected failures (a quarantine fails its run on purpose). The terminal keeps what a
    person needs; the full detail stays in the log. Redirects the file descriptors, so output written
    by threads and C libraries goes there too."""
    global _terminal
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    if _terminal is None:
        _terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    logging.captureWarnings(True)
    return path


def cmd_migrate(_args: argparse.Namespace) -> int:
    settings = load_settings()
    engine = make_engine(settings.warehouse_url)
    applied = migrate(engine)
    engine.dispose()
    say(
        f"warehouse {redacted(settings.warehouse_url)}: "
        + (f"applied {', '.join(applied)}" if applied else "schema up to date")
    )
    return 0


def load_dag(file_name: str, attribute: str):  # noqa: ANN201 - an Airflow DAG
    """Import a DAG file from dags/ the way the DAG processor would, and return its DAG object."""
    path = PROJECT_ROOT / "dags" / file_name
    spec = importlib.util.spec_from_file_location(f"dags_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, attribute)


def choose_fingertips_mode() -> str:
    """'live' or 'offline': one quick probe of the live API unless offline is configured already.

    Offline, the demo serves the stub itself: started here (once, for the life of this process, so for
    the whole demo) and named in FINGERTIPS_BASE_URL, which the DAG runs' settings read. When offline is
    configured and FINGERTIPS_BASE_URL already points away from the live API (e.g. at ``make stub``),
    that stub is used as it is.
    """
    from public_health.config import is_live_fingertips_url
    from public_health.fingertips.client import FingertipsClient, RetryPolicy

    settings = load_settings()
    if settings.fingertips.offline and not is_live_fingertips_url(settings.fingertips.base_url):
        return "offline"
    if not settings.fingertips.offline:
        client = FingertipsClient(
            settings.fingertips.base_url,
            connect_timeout=settings.fingertips.probe_timeout_s,
            read_timeout=settings.fingertips.probe_timeout_s,
            retry=RetryPolicy(max_attempts=1),
        )
        if client.probe(settings.fingertips.probe_timeout_s):
            return "live"
        os.environ["FINGERTIPS_OFFLINE"] = "1"
    from public_health.demo.fingertips_stub import serve_offline_stub

    logging.getLogger("public_health.demo.fingertips_stub.server").setLevel(logging.ERROR)  # the CLI says it itself
    os.environ["FINGERTIPS_BASE_URL"] = serve_offline_stub()
    return "offline"


def run_dag(dag: Any, conf: dict[str, Any] | None = None) -> Any:
    """Run a DAG end to end in this process with dag.test(); returns the DagRun."""
    for noisy in ("airflow", "sqlalchemy", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return dag.test(run_conf=conf or {})


def quiet_airflow() -> None:
    """Task logs stay in Airflow's log files; the terminal gets the demo's own summary (set before
    Airflow is first imported)."""
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")


def phof_counts(url: str, areas: list[str]) -> list[tuple[str, str, int, int]]:
    from public_health.warehouse.phof import area_value_counts

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in area_value_counts(conn, areas)]
    finally:
        engine.dispose()


def warehouse_totals(url: str) -> dict[str, int]:
    from public_health.warehouse.audit import table_row_counts

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return table_row_counts(conn)
    finally:
        engine.dispose()


def cmd_demo(_args: argparse.Namespace) -> int:
    quiet_airflow()
    from datetime import UTC, datetime

    configured = load_settings().fingertips  # before an offline run points FINGERTIPS_BASE_URL at the stub
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = log_to_file(load_settings().data_dir / "logs" / f"demo-{stamp}.log")
    say(f"Full log of this run (task logs, warnings, tracebacks): {log_path}")
    mode = choose_fingertips_mode()
    settings = load_settings()
    if mode == "offline":
        why = (
            "FINGERTIPS_OFFLINE is set" if configured.offline
            else f"the live API ({configured.base_url}) cannot be reached from here (one probe, "
            f"{configured.probe_timeout_s:g}s)"
        )
        say(
            f"Fingertips: {why}, so this demo runs OFFLINE against the local stub server "
            f"({settings.fingertips.base_url}) with its fixture dataset. Set FINGERTIPS_OFFLINE=0 on a machine "
            "with internet to use the live API."
        )
    else:
        say(f"Fingertips: using the live API at {settings.fingertips.base_url}")
    say("\nRunning the nightly DAG fingertips_refresh end to end (dag.test()) ...")
    dag = load_dag("fingertips_refresh.py", "fingertips_refresh_dag")
    dag_run = run_dag(dag)
    state = str(getattr(dag_run, "state", "unknown"))
    from public_health.pipelines.fingertips_refresh import run_summary

    engine = make_engine(settings.warehouse_url)
    summary = run_summary(engine, getattr(dag_run, "run_id", None))
    engine.dispose()
    say(f"DAG run {getattr(dag_run, 'run_id', '?')}: {state}")
    say(
        f"  batches by status: {json.dumps(summary['batches'])}; fact rows inserted {summary['inserted']}, "
        f"updated {summary['updated']}"
    )
    for p in summary["problems"]:
        say(one_line(f"  ! batch {p['batch_id']} {p['status']}: {p['error_summary']}", p.get("report_path")))

    history_ok = demo_history_import(settings)
    returns_ok = demo_provider_returns(settings)
    report_ok = demo_performance_report(settings)
    bcf_ok = demo_bcf_return(settings)

    say("\nPHOF indicator values in the warehouse for the focus areas:")
    counts = phof_counts(settings.warehouse_url, settings.areas.focus)
    for code, name, n, n_ind in counts:
        say(f"  {code}  {name:<20} {n:>7} values  {n_ind:>4} indicators")
    say("\nWarehouse totals:")
    for table, n in warehouse_totals(settings.warehouse_url).items():
        say(f"  {table:<38} {n:>9}")
    say(f"\nWarehouse: {redacted(settings.warehouse_url)}")
    say(f"  landing files:  {settings.landing_dir}")
    say(f"  quarantine:     {settings.quarantine_dir}")
    say(
        "  query it:       .venv/bin/python -c \"import duckdb; print(duckdb.connect('"
        f"{settings.warehouse_url.removeprefix('duckdb:///')}', read_only=True)"
        ".sql('select * from mart.phof_latest limit 5'))\""
    )
    say("  Airflow UI:     make up   (http://localhost:8080)")
    say(f"  full log:       {log_path}")
    ok = (
        state.endswith("success")
        and all(n > 0 for _, _, n, _ in counts)
        and len(counts) == len(settings.areas.focus)
        and history_ok
        and returns_ok
        and report_ok
        and bcf_ok
    )
    if not ok:
        say("\nDEMO FAILED: the DAG run did not succeed or a focus area has no values (see above; the full log is "
            f"{log_path}).")
        return 1
    return 0


DEMO_QUARTER = FinancialQuarter(2017, 2)  # the published report's quarter: 2017/18 Q2


def demo_history_import(settings: Any, quarter: FinancialQuarter = DEMO_QUARTER) -> bool:
    """The published report's earlier tables as a KPI history file (written once), imported by the
    kpi_history_import DAG as a team's spreadsheets of history would be."""
    from public_health.demo.history_sample import FILE_NAME, write_history

    path = settings.data_dir / "samples" / FILE_NAME
    if not path.exists():
        count = write_history(path)
        say(f"\nKPI history: {count} figures of the published report's earlier quarters and years written to {path}")
    else:
        say(f"\nKPI history: {path} (already there; not rewritten)")
    say("Importing it (DAG kpi_history_import, dag.test()) ...")
    dag_run = run_dag(load_dag("kpi_history_import.py", "kpi_history_import_dag"),
                      {"file": str(path), "as_of": quarter.label})
    state = str(getattr(dag_run, "state", ""))
    say(f"DAG run {getattr(dag_run, 'run_id', '?')}: {state}")
    return state.endswith("success")


def demo_provider_returns(settings: Any, quarter: FinancialQuarter = DEMO_QUARTER) -> bool:
    """Sample shared drive (written once), the provider returns DAG, and the return tracker."""
    from public_health.demo.shared_drive import build_sample_drive, write_manifest
    from public_health.pipelines.provider_returns import run_summary, status_table

    root = settings.shared_drive
    if not root.exists() or not any(p.is_file() for p in root.rglob("*")):
        written = build_sample_drive(root)
        manifest = write_manifest(written, root, settings.data_dir / "samples" / "sample-drive-manifest.csv")
        say(f"\nSample shared drive written to {root} ({len(written)} files: every service's 2017/18 Q1 and Q2 "
            f"returns as published, and the files broken on purpose, each named in {manifest})")
    else:
        say(f"\nShared drive: {root} (already there; not rewritten)")
    say("Running the provider returns DAG provider_returns end to end (dag.test()) ...")
    dag_run = run_dag(load_dag("provider_returns.py", "provider_returns_dag"))
    engine = make_engine(settings.warehouse_url)
    try:
        summary = run_summary(engine, getattr(dag_run, "run_id", None))
        rows = status_table(engine, quarter)
    finally:
        engine.dispose()
    files = summary["files"]
    say(f"DAG run {getattr(dag_run, 'run_id', '?')}: {getattr(dag_run, 'state', '?')}; files this run: "
        + (json.dumps(files) if files else "none new (a no-op run)"))
    for p in summary["problems"]:
        reason = str(p["error_summary"]).removeprefix(str(p["source_ref"])).lstrip(",: ")
        say(one_line(f"  {p['status']} (as intended): {p['source_ref']}: {reason}", p.get("report_path"), width=300))
    by_status: dict[str, list[str]] = {}
    for r in rows:
        by_status.setdefault(r["status"], []).append(r["service_code"])
    say(f"Return status for {quarter} (mart.return_status): "
        + ", ".join(f"{len(codes)} {status}" for status, codes in sorted(by_status.items())))
    for status, codes in sorted(by_status.items()):
        if not status.startswith("received"):
            say(f"  {status}: {', '.join(codes)}")
    # Quarantines are expected (the sample drive has bad files); an error that is not a quarantine is not.
    return str(getattr(dag_run, "state", "")).endswith("success") or bool(summary["problems"]) and all(
        p["status"] == "quarantined" for p in summary["problems"]
    )


def cmd_import_history(args: argparse.Namespace) -> int:
    """The kpi_history_import DAG's work from the command line (checks, quarantine, one transaction)."""
    from public_health.pipelines.history_import import main as import_history

    return import_history([str(args.file)] + (["--as-of", args.as_of] if args.as_of else []))


def cmd_templates(args: argparse.Namespace) -> int:
    from public_health.pipelines.provider_returns import write_templates

    quarter = FinancialQuarter.from_typed(args.quarter)  # a clear error for a malformed quarter
    settings = load_settings()
    written = write_templates(settings, quarter, overwrite=True)
    say(f"{len(written)} return templates for {quarter} in {settings.output_dir / 'templates' / quarter.label}")
    return 0


def one_line(message: str, report: str | None = None, width: int = 160) -> str:
    """An expected failure as one line: the message cut to ``width``, then its report."""
    indent = message[: len(message) - len(message.lstrip())]
    text = indent + " ".join(message.split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text + (f" (report: {report})" if report else "")


def demo_performance_report(settings: Any, quarter: FinancialQuarter = DEMO_QUARTER) -> bool:
    """Build the quarterly performance report for the demo quarter and say where it is."""
    from public_health.reports.performance.build import REPORT
    from public_health.reports.performance.data import output_dir
    from public_health.warehouse.reports import latest_report_build

    say(f"\nBuilding the {quarter} performance report (DAG performance_report, dag.test()) ...")
    dag_run = run_dag(load_dag("performance_report.py", "performance_report_dag"), {"quarter": quarter.label})
    state = str(getattr(dag_run, "state", ""))
    engine = make_engine(settings.warehouse_url)
    try:
        with engine.connect() as conn:
            build = latest_report_build(conn, REPORT, quarter)
    finally:
        engine.dispose()
    say(f"DAG run {getattr(dag_run, 'run_id', '?')}: {state}")
    folder = output_dir(settings, quarter)
    if build is not None:
        say(f"Performance report {quarter} (build {build.build_id}, recorded in audit.report_build):")
        for name in ("report.html", "report.pdf", "report-data.xlsx"):
            say(f"  {folder / name}")
    return state.endswith("success") and build is not None


BCF_DEMO_QUARTERS = (FinancialQuarter(2015, 2), FinancialQuarter(2016, 2))


def demo_bcf_return(settings: Any, quarters: tuple[FinancialQuarter, ...] = BCF_DEMO_QUARTERS) -> bool:
    """Build the BCF quarterly return for the reference years and say where it is and what is missing.

    2015-16 Q2 has actuals (the local NHS activity returns on the sample drive carry the 2015/16
    actuals the BCF planning template printed); 2016-17 Q2 has the papers' plans and no actuals yet.
    """
    from public_health.reports.bcf.build import assemble
    from public_health.reports.bcf.view import format_value, status_of

    ok = True
    for quarter in quarters:
        say(f"\nBuilding the BCF return for {quarter} (DAG bcf_return, dag.test()) ...")
        dag_run = run_dag(load_dag("bcf_return.py", "bcf_return_dag"), {"quarter": quarter.label})
        state = str(getattr(dag_run, "state", ""))
        folder = settings.output_dir / "bcf" / quarter.label
        say(f"DAG run {getattr(dag_run, 'run_id', '?')}: {state}")
        engine = make_engine(settings.warehouse_url)
        try:
            data = assemble(engine, settings, quarter)
        finally:
            engine.dispose()
        say(f"  {'metric':<28} {'plan':>14} {'actual':>10} {'variance':>10}  status")
        for m in data.metrics:
            q = next((x for x in m.quarters if x.quarter == quarter), None)
            cells = [
                format_value(q.plan, m.unit) if q else format_value(m.annual_plan, m.unit) + " (year)",
                format_value(q.actual, m.unit) if q else "-",
                format_value(q.variance, m.unit, signed=True) if q else "-",
            ]
            cells = ["-" if c == "Not available" else c for c in cells]
            say(f"  {m.code:<28} {cells[0]:>14} {cells[1]:>10} {cells[2]:>10}  {status_of(m)[1]}")
        gaps = sum(len(m.gap_notes) for m in data.metrics)
        say(f"  {gaps} gap note(s) in the return and the summary (never zeros). Outputs:")
        for name in ("bcf-return.xlsx", "board-summary.html", "board-summary.pdf"):
            say(f"  {folder / name}")
        ok = ok and state.endswith("success") and (folder / "bcf-return.xlsx").exists()
    return ok


def cmd_up_info(_args: argparse.Namespace) -> int:
    """What `make up` starts and how to log in. The Makefile exports the port, base URL and Airflow home it
    starts Airflow with; this reads them from the environment, so what it prints is what Airflow serves."""
    home = Path(os.environ.get("AIRFLOW_HOME", PROJECT_ROOT / "airflow_home"))
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    url = (os.environ.get("AIRFLOW__API__BASE_URL") or f"http://localhost:{port}/").rstrip("/")
    passwords = Path(os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
                     or home / "simple_auth_manager_passwords.json.generated")
    say(f"Starting Airflow standalone on {url} (port {port}; Ctrl-C stops it).")
    mode = f"mode {passwords.stat().st_mode & 0o777:04o}" if passwords.exists() else "not created yet"
    generated = passwords.is_file() and passwords.stat().st_size > 0
    say(
        f"Log in as 'admin'. The password is in {passwords} ({mode}): "
        + (f"`cat {passwords}` shows it."
           if generated else "Airflow generates it on this first start, and the API server prints it below "
           "(\"Password for user 'admin'\").")
    )
    say(f"Public health data (return status, latest loads, quarantine, data quality): {url}/plugin/public-health")
    say("Times: DAG schedules run on Europe/London time. The UI shows times in your browser's time zone; to see "
        "Europe/London on any machine, pick it with the clock button low in the UI's navigation bar (it shows the "
        "offset in use: +00:00 in winter, +01:00 in summer).")
    fingertips = load_settings().fingertips
    if fingertips.offline:
        from public_health.config import is_live_fingertips_url

        if is_live_fingertips_url(fingertips.base_url):
            say(f"FINGERTIPS_OFFLINE is set but FINGERTIPS_BASE_URL is the live API ({fingertips.base_url}): "
                "Fingertips DAG runs will fail until it points at a stub (`make stub`; `make up` starts one).")
        else:
            say(f"FINGERTIPS_OFFLINE is set: DAG runs use the local stub server at {fingertips.base_url}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="public_health.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply warehouse migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="run the pipelines end to end and say where the results are").set_defaults(
        func=cmd_demo
    )
    sub.add_parser("up-info", help="what `make up` starts and how to log in").set_defaults(func=cmd_up_info)
    templates = sub.add_parser("templates", help="write blank provider return workbooks for a quarter")
    templates.add_argument("--quarter", required=True, help="financial-year quarter, e.g. 2017-18-Q2")
    templates.set_defaults(func=cmd_templates)
    history = sub.add_parser("import-history", help="import a KPI history file (CSV or XLSX) into the warehouse")
    history.add_argument("file", type=Path, help="service, kpi, period, measure, value, note: one figure a row")
    history.add_argument("--as-of", help="the quarter the history runs to, e.g. 2017-18-Q2 (default: the last ended)")
    history.set_defaults(func=cmd_import_history)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        say(f"configuration error:\n{exc}")
        return 2
    except ValueError as exc:
        say(f"error: {exc}")
        return 2


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # DuckDB's bindings print reference-leak noise while the interpreter tears down; everything is
    # committed and closed by now, so leave without running those finalizers.
    os._exit(code)
