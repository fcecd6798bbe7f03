"""A small warehouse loaded with the project's own sample data by the pipelines' own steps, for the tests
that run what analysts run (docs/queries/*.sql, the README's examples) on DuckDB and on PostgreSQL.

What it holds, and where each part comes from (nothing here invents a figure):

- two nights of the Fingertips refresh (``pipelines.fingertips_refresh``: sync_metadata, select_batches,
  download_batch, validate_batch, load_indicators) against the offline stub serving the curated PHOF
  dataset (``demo.fingertips_stub.default_demo_dataset``), for one tracked indicator; between the nights
  the publisher revises its latest Leicestershire value (``FixtureDataset.revise``, as
  tests/integration/test_fingertips_dag.py does), so the second night updates it and keeps the old
  version in history;
- the published report's KPI history (``demo.history_sample.write_history``) of :data:`SERVICES`, imported
  by ``pipelines.history_import.import_history``;
- those services' files of the sample shared drive (``demo.shared_drive.build_sample_drive``: the
  published 2017/18 Q1 and Q2 returns, dated when they were sent in 2017), taken by
  ``pipelines.provider_returns`` (sync_config, scan, process_files); every other service's returns are
  missing.

Each backend is loaded once per test session and shared by every module that asks for it
(:func:`sample_warehouse`); its PostgreSQL database is dropped when the session ends.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from public_health.config import CONFIG_DIR
from public_health.periods import FinancialQuarter

#: The tracked indicator (PHOF 2.04, under 18 conceptions, as config/indicator_sets/
#: performance_report_services.yaml lists it) and the area whose latest value the publisher revises
#: between the two nights.
REVISED_INDICATOR = 20401
INDICATOR_SET = "performance_report_services"
AREA = "E10000018"   # Leicestershire
#: Services whose KPI history and sample returns (2017/18 Q1, typed as text, and Q2) load; every other
#: service's returns are missing. One service keeps the load quick: each file passes the gate on its own.
SERVICES = ("healthy_together",)
AS_OF = FinancialQuarter(2017, 2)
#: The day the return tracker is synced as of: returns are expected up to settings' track_until.
TODAY = date(2018, 5, 1)
NIGHTS = ("scheduled__2018-05-01T01:00:00+00:00", "scheduled__2018-05-02T01:00:00+00:00")


@dataclass(frozen=True)
class SampleWarehouse:
    """A loaded warehouse: its SQLAlchemy URL, the folder of its files, and what the second night revised."""

    backend: str
    url: str
    work: Path
    revised: tuple[int, str, str]   # indicator id, area code, period label


_LOADED: dict[str, SampleWarehouse] = {}
_DRIVE: list[Path] = []


def sample_warehouse(request: pytest.FixtureRequest, backend: str) -> SampleWarehouse:
    """The sample warehouse on ``backend`` ("duckdb" or "postgresql"), loaded on first use in the session."""
    if backend not in _LOADED:
        factory = request.getfixturevalue("tmp_path_factory")
        if not _DRIVE:
            from public_health.demo.shared_drive import build_sample_drive

            _DRIVE.append(factory.mktemp("sample-drive"))
            build_sample_drive(_DRIVE[0])   # files keep their 2017 dates (no clock)
        work = factory.mktemp(f"analyst-{backend}")
        if backend == "duckdb":
            url = f"duckdb:///{work / 'warehouse.duckdb'}"
        else:
            url = _new_database(request.getfixturevalue("postgres_server"), request.config)
        _LOADED[backend] = load(url, work, _DRIVE[0])
    return _LOADED[backend]


def _new_database(server: str, config: pytest.Config) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"ph_test_analyst_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    config.add_cleanup(drop)
    url = make_url(server.replace("postgresql://", "postgresql+psycopg://", 1)).set(database=name)
    return url.render_as_string(hide_password=False)


def _config(work: Path) -> Path:
    cfg = work / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    settings = yaml.safe_load((cfg / "settings.yaml").read_text(encoding="utf-8"))
    settings["indicator_sets"] = ["analyst_sample"]
    settings["fingertips"]["retry"].update(max_attempts=2, backoff_initial_s=0.05, backoff_max_s=0.1)
    (cfg / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    listed = yaml.safe_load((cfg / "indicator_sets" / f"{INDICATOR_SET}.yaml").read_text(encoding="utf-8"))
    (cfg / "indicator_sets" / "analyst_sample.yaml").write_text(yaml.safe_dump({
        "name": "analyst_sample", "title": "Analyst examples", "source": f"config/indicator_sets/{INDICATOR_SET}.yaml",
        "indicators": [i for i in listed["indicators"] if i["id"] == REVISED_INDICATOR],
    }), encoding="utf-8")
    return cfg


def load(url: str, work: Path, drive: Path) -> SampleWarehouse:
    """Migrate the warehouse at ``url`` and load it as the module docstring says, taking the returns of
    :data:`SERVICES` from the sample drive at ``drive``."""
    from sqlalchemy.engine import make_url

    from public_health.demo.fingertips_stub import StubServer, default_demo_dataset

    cfg = _config(work)
    dataset = default_demo_dataset(cfg)
    server = StubServer(dataset).start()
    env = {"PH_CONFIG_DIR": str(cfg), "PH_DATA_DIR": str(work / "data"), "PH_OUTPUT_DIR": str(work / "out"),
           "PH_SHARED_DRIVE": str(work / "drive"), "WAREHOUSE_URL": url, "FINGERTIPS_BASE_URL": server.base_url,
           "FINGERTIPS_OFFLINE": "0"}
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            revised = _load_all(url, work, dataset, drive)
    finally:
        server.stop()
    return SampleWarehouse(make_url(url).get_backend_name(), url, work, revised)


def _load_all(url: str, work: Path, dataset, drive: Path) -> tuple[int, str, str]:  # noqa: ANN001 - the stub's dataset
    from public_health.config import load_settings
    from public_health.warehouse.engine import make_engine
    from public_health.warehouse.migrations import migrate

    settings = load_settings()
    engine = make_engine(url)
    try:
        migrate(engine)
        _night(settings, engine, NIGHTS[0])
        with engine.connect() as conn:
            period = conn.execute(
                text("SELECT max(period_label) FROM core.fact_indicator_value WHERE indicator_id = :i"
                     " AND area_code = :a"), {"i": REVISED_INDICATOR, "a": AREA}).scalar_one()
        old = dataset.value_of(REVISED_INDICATOR, AREA, period)["value"]
        dataset.revise(REVISED_INDICATOR, AREA, period, round(old * 1.1 + 1, 1))
        _night(settings, engine, NIGHTS[1])
        _history(settings, engine, work)
        _returns(settings, engine, drive)
    finally:
        engine.dispose()
    return REVISED_INDICATOR, AREA, period


def _night(settings, engine, run_id: str) -> None:  # noqa: ANN001
    from public_health.pipelines import fingertips_refresh as ft
    from public_health.warehouse.audit import RunContext

    run = RunContext("fingertips_refresh", run_id, "load")
    ft.sync_metadata(settings, engine)
    for batch in ft.select_batches(settings, engine, run):
        items = ft.validate_batch(settings, engine, ft.download_batch(settings, engine, batch, run), run)
        results = ft.load_indicators(settings, engine, items)
        assert all(r.status in ("loaded", "unchanged") for r in results), results


def _history(settings, engine, work: Path) -> None:  # noqa: ANN001
    from public_health.demo.history_sample import write_history
    from public_health.pipelines.history_import import import_history
    from public_health.returns.services import load_services
    from public_health.warehouse.audit import RunContext

    services = load_services()
    path = work / "history.csv"
    write_history(path, {code: services[code] for code in SERVICES})
    result = import_history(settings, engine, path, AS_OF, RunContext("kpi_history_import", "manual__history", "import_file"))
    assert result.status == "loaded", result


def _returns(settings, engine, drive: Path) -> None:  # noqa: ANN001
    from public_health.pipelines import provider_returns as pr
    from public_health.warehouse.audit import RunContext

    for path in drive.rglob("*"):
        if path.is_file() and path.parent.name in SERVICES:
            target = settings.shared_drive / path.relative_to(drive)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)   # keeps the modification time: when the provider sent it
    pr.sync_config(settings, engine, TODAY)
    found = pr.scan(settings, engine, now=time.time())
    results = pr.process_files(settings, engine, list(found.new), RunContext("provider_returns", "scheduled__returns",
                                                                           "process"))
    assert [r.status.startswith("loaded") for r in results] == [True, True], results
