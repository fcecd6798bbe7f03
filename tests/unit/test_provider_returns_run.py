"""A run of provider returns checked in one pass of the gate gives what taking the files one run at a time gives:
each file is compared with the warehouse and with the run's earlier files that load (never with one that was
quarantined or failed), a resubmission in the same run compares with the file before it, and the run uses one
warehouse connection. On DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from public_health.config import load_settings
from public_health.periods import FinancialQuarter
from public_health.returns.cells import KpiValue, ParsedReturn
from public_health.returns.staging import comparison_quarters, figures_before

CHANGE = "The actual changed by more than"


# figures_before -----------------------------------------------------------------------------------


def _parsed(service, period, figures):
    values = [KpiValue(k, FinancialQuarter.parse(p), m, v, None if v is not None else "blank", "KPIs", f"F{i}",
                       str(v)) for i, (k, p, m, v) in enumerate(figures)]
    return ParsedReturn(Path("r.xlsx"), service, FinancialQuarter.parse(period), "xlsx", values)


def test_figures_before_overlays_earlier_loads_of_the_same_service_in_order():
    held = {("a", "2016-17-Q4", "actual"): 10.0, ("a", "2016-17-Q3", "actual"): 9.0,   # Q3: not compared
            ("b", "2016-17-Q4", "actual"): 5.0}
    first = _parsed("s", "2016-17-Q4", [("a", "2016-17-Q4", "actual", 20.0), ("b", "2016-17-Q4", "actual", None)])
    second = _parsed("s", "2016-17-Q4", [("a", "2016-17-Q4", "actual", 30.0)])
    other_service = _parsed("t", "2016-17-Q4", [("a", "2016-17-Q4", "actual", 99.0)])
    now = _parsed("s", "2017-18-Q1", [("a", "2017-18-Q1", "actual", 1.0)])
    assert [q.label for q in comparison_quarters(now.period)] == ["2016-17-Q4", "2017-18-Q1"]
    assert figures_before(now, held) == {("a", "2016-17-Q4", "actual"): 10.0, ("b", "2016-17-Q4", "actual"): 5.0}
    # the later load wins; a loaded blank leaves no figure (core then holds none); other services do not count
    assert figures_before(now, held, [first, second, other_service]) == {("a", "2016-17-Q4", "actual"): 30.0}
    assert figures_before(now, held, [second, first]) == {("a", "2016-17-Q4", "actual"): 20.0}


# a run against one file a run ---------------------------------------------------------------------


def _drive(root: Path) -> list[Path]:
    """Healthy Together's 2016-17 Q4 return, a broken resubmission of it, its 2017-18 Q1 return (a big change
    on the Q4 of the first file), a corrected Q1 resubmission, a byte copy of that, and another service's return
    in between; oldest first."""
    from public_health.demo.shared_drive import return_figures
    from public_health.returns.services import load_services
    from public_health.returns.template import Prefill, write_template

    services = load_services()
    ht, sc = services["healthy_together"], services["smoking_cessation"]
    q1 = return_figures(ht, "2017-18-Q1")
    q4 = {(k, "2016-17-Q4", m): v for (k, p, m), v in q1.items() if p == "2017-18-Q1" and m == "actual"}
    broken_q4 = {**q4, ("ht_antenatal_visits", "2016-17-Q4", "actual"): 2718.0,
                 ("ht_nbr_denom", "2016-17-Q4", "actual"): -5.0}
    big_q1 = {**q1, ("ht_antenatal_visits", "2017-18-Q1", "actual"): 2718.0}
    folder = root / "Leicestershire Partnership Trust" / "healthy_together"
    files = [
        write_template(ht, FinancialQuarter.parse("2016-17-Q4"), folder / "healthy_together_2016-17-Q4.xlsx",
                       Prefill(figures=q4)),
        write_template(ht, FinancialQuarter.parse("2016-17-Q4"), folder / "healthy_together_2016-17-Q4 v2.xlsx",
                       Prefill(figures=broken_q4)),
        write_template(sc, FinancialQuarter.parse("2017-18-Q1"), root / "other" / "smoking_cessation_2017-18-Q1.xlsx",
                       Prefill(figures=return_figures(sc, "2017-18-Q1"))),
        write_template(ht, FinancialQuarter.parse("2017-18-Q1"), folder / "healthy_together_2017-18-Q1.xlsx",
                       Prefill(figures=big_q1)),
        write_template(ht, FinancialQuarter.parse("2017-18-Q1"), folder / "healthy_together_2017-18-Q1 v2.xlsx",
                       Prefill(figures=q1)),
    ]
    files.append(shutil.copy2(files[-1], folder / "healthy_together_2017-18-Q1 v2 (copy).xlsx"))
    start = time.time() - 86400
    for i, path in enumerate(files):
        os.utime(path, (start + 60 * i, start + 60 * i))
    return [Path(p) for p in files]


def _run(warehouse, root: Path, data: Path, one_at_a_time: bool):
    from datetime import date

    from public_health.pipelines.provider_returns import process_files, scan, sync_config
    from public_health.warehouse.audit import RunContext

    settings = load_settings(env={"PH_DATA_DIR": str(data), "PH_SHARED_DRIVE": str(root)})
    sync_config(settings, warehouse, date(2018, 1, 1))
    found = sorted(scan(settings, warehouse, now=time.time()).new, key=lambda c: c.mtime)
    batches = [[c] for c in found] if one_at_a_time else [found]
    connects = []

    def connected(conn):
        connects.append(conn)

    event.listen(warehouse, "engine_connect", connected)
    try:
        outcomes = [o for batch in batches for o in process_files(settings, warehouse, batch, RunContext())]
    finally:
        event.remove(warehouse, "engine_connect", connected)
    with warehouse.connect() as conn:
        tables = {
            name: [tuple(r) for r in conn.execute(text(sql)).all()]
            for name, sql in {
                "facts": "SELECT service_code, kpi_code, period_label, measure, value, source_file, batch_id"
                         " FROM core.fact_kpi_value ORDER BY 1, 2, 3, 4",
                "history": "SELECT service_code, kpi_code, period_label, measure, value, batch_id,"
                           " superseded_by_batch_id FROM core.fact_kpi_value_history ORDER BY 1, 2, 3, 4, 6",
                "received": "SELECT batch_id, file_path, status, is_resubmission, error_count, warning_count,"
                            " error_summary FROM core.return_received ORDER BY batch_id",
                "checks": "SELECT batch_id, expectation_index, success, element_count, unexpected_count,"
                          " unexpected_examples FROM audit.dq_result ORDER BY 1, 2",
                "batches": "SELECT batch_id, source_ref, status, rows_read, rows_inserted, rows_updated"
                           " FROM audit.load_batch ORDER BY batch_id",
            }.items()
        }
    return outcomes, tables, len(connects)


def _comparable(outcome):
    data = outcome.to_dict()
    data.pop("report")   # the quarantine folder is under each run's own data folder
    return data


@pytest.fixture
def second_warehouse(warehouse_url, tmp_path, request):
    """Another empty, migrated warehouse of the same kind as ``warehouse``."""
    import uuid

    import psycopg

    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    database = None
    if warehouse_url.startswith("duckdb"):
        url = f"duckdb:///{tmp_path / 'one_at_a_time.duckdb'}"
    else:
        from sqlalchemy.engine import make_url

        server = request.getfixturevalue("postgres_server")
        database = f"ph_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        url = make_url(warehouse_url).set(database=database).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()
    if database is not None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_a_run_checked_in_one_pass_is_the_same_as_one_file_a_run(warehouse, second_warehouse, tmp_path,
                                                                  monkeypatch):
    import public_health.quality.gate as gate

    passes = []
    validate_frames = gate.validate_frames

    def counted(suite, frames, *args, **kwargs):
        passes.append(len(frames))
        return validate_frames(suite, frames, *args, **kwargs)

    root = tmp_path / "share"
    files = _drive(root)
    monkeypatch.setattr(gate, "validate_frames", counted)
    together, tables, connects = _run(warehouse, root, tmp_path / "together", one_at_a_time=False)
    # one pass over the six files; one more over the three Q1 files, staged at first as if the broken Q4
    # resubmission would load
    assert passes == [6, 3]
    alone, alone_tables, _ = _run(second_warehouse, root, tmp_path / "alone", one_at_a_time=True)

    assert [_comparable(o) for o in together] == [_comparable(o) for o in alone]
    assert tables == alone_tables
    assert connects == 1   # one warehouse connection for the whole run

    by_name = {Path(o.file).name: o for o in together}
    assert [by_name[p.name].status for p in files][:3] == ["loaded", "quarantined", "loaded"]
    assert by_name["healthy_together_2016-17-Q4 v2.xlsx"].status == "quarantined"
    big = by_name["healthy_together_2017-18-Q1.xlsx"]
    # compared with the first Q4 return (906 -> 2718), not with the quarantined one that said 2718
    assert big.status == "loaded_with_warnings" and any(CHANGE in w for w in big.warnings), big
    again = by_name["healthy_together_2017-18-Q1 v2.xlsx"]
    assert again.status in ("loaded", "loaded_with_warnings") and again.resubmission
    assert not any(CHANGE in w for w in again.warnings)
    assert by_name["healthy_together_2017-18-Q1 v2 (copy).xlsx"].status == "unchanged"
    assert any(h[1] == "ht_antenatal_visits" and h[4] == 2718.0 for h in tables["history"])   # superseded figure


def test_an_earlier_file_that_fails_to_load_is_not_compared_with(warehouse, second_warehouse, tmp_path,
                                                                  monkeypatch):
    """The gate pass took the first Q4 return to load; it fails in its load, so the Q1 return is checked
    again against what the warehouse does hold (no Q4 figure: no change to warn of)."""
    import public_health.warehouse.returns as wh_returns

    load_return = wh_returns.load_return

    def failing(conn, **kwargs):
        if kwargs["source_file"].endswith("healthy_together_2016-17-Q4.xlsx"):
            raise RuntimeError("disk full")
        return load_return(conn, **kwargs)

    monkeypatch.setattr(wh_returns, "load_return", failing)
    root = tmp_path / "share"
    _drive(root)
    together, tables, _ = _run(warehouse, root, tmp_path / "together", one_at_a_time=False)
    alone, alone_tables, _ = _run(second_warehouse, root, tmp_path / "alone", one_at_a_time=True)

    assert [_comparable(o) for o in together] == [_comparable(o) for o in alone]
    assert tables == alone_tables
    by_name = {Path(o.file).name: o for o in together}
    assert by_name["healthy_together_2016-17-Q4.xlsx"].status == "failed"
    assert not any(CHANGE in w for w in by_name["healthy_together_2017-18-Q1.xlsx"].warnings)
