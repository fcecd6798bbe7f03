"""validate_batch on a landed file, both warehouses: content recorded under the hash used before the typed content
hash is still recognised (unchanged stays unchanged, held stays held), and only then is the old hash computed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text

import public_health.fingertips.staging as staging
from public_health.config import load_settings
from public_health.fingertips.parse import read_all_data_csv
from public_health.pipelines.fingertips_refresh import SOURCE, load_indicators, unit_url, validate_batch
from public_health.pipelines.records import FingertipsBatch, LandedFile
from public_health.warehouse import audit
from public_health.warehouse.audit import NO_ROWS, BatchEnd, BatchSource, RunContext
from public_health.warehouse.phof import upsert_areas, upsert_indicators
from tests.unit.test_fingertips_parse import ROWS, write

INDICATOR = 20401
LEGACY_HASH = staging.legacy_content_sha256   # the real one, for the tests' own use (the pipeline's is counted)
AREAS = ["E92000001", "E12000004", "E10000018", "E06000016"]


@pytest.fixture
def setup(warehouse, warehouse_url, tmp_path):
    settings = load_settings(env={"WAREHOUSE_URL": warehouse_url, "PH_DATA_DIR": str(tmp_path / "data"),
                                  "FINGERTIPS_BASE_URL": "http://fingertips.invalid/api", "FINGERTIPS_OFFLINE": "0"})
    with warehouse.begin() as conn:
        upsert_areas(conn, [{"area_code": a, "area_name": a, "short_name": a, "area_type_id": 1, "area_type": "x",
                             "parent_area_code": None} for a in AREAS])
        upsert_indicators(conn, [{"indicator_id": INDICATOR, "name": "Under 18s conceptions",
                                  "indicator_sets": "test"}])
    path = write(tmp_path, rows=ROWS[:3])
    batch = FingertipsBatch((INDICATOR,), {INDICATOR: None}, f"http://fingertips.invalid/api/all_data?{INDICATOR}")
    landed = LandedFile(batch, path, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size, 0.0)
    return settings, warehouse, landed


def _record(engine, settings, content: str, status: str) -> int:
    """An earlier night's decisive attempt for the indicator, with the content hash it recorded."""
    batch_id = audit.start_batch(engine, BatchSource(SOURCE, unit_url(settings, INDICATOR), indicator_id=INDICATOR,
                                                     content_sha256=content), RunContext("d", "earlier", "t"))
    with engine.begin() as conn:
        audit.finish_batch(conn, batch_id, BatchEnd(status, NO_ROWS, error_summary="duplicate keys",
                                                    report_path="/q/report.md"))
    return batch_id


def _hashes(path: Path) -> tuple[str, str]:
    table = read_all_data_csv(path, strict=False)
    cols = [c for c in table.column_names if c != "unparsed_fields"]
    return staging.content_sha256(table, cols), LEGACY_HASH(table, cols)


@pytest.fixture
def legacy_calls(monkeypatch):
    calls = []
    def counted(*args, **kwargs):
        calls.append(args)
        return LEGACY_HASH(*args, **kwargs)

    monkeypatch.setattr(staging, "legacy_content_sha256", counted)
    return calls


def test_a_first_load_loads_without_the_old_hash_and_the_next_night_is_unchanged(setup, legacy_calls):
    settings, engine, landed = setup
    [checked] = validate_batch(settings, engine, landed, RunContext("d", "first", "t"))
    assert checked.status == "validated" and checked.content_sha256 == _hashes(landed.landing_path)[0]
    assert checked.staged_path.exists() and checked.timings["validate_s"] >= 0
    [loaded] = load_indicators(settings, engine, [checked])
    assert (loaded.status, loaded.inserted) == ("loaded", 3) and not checked.staged_path.exists()
    with engine.connect() as conn:
        dq = conn.execute(text("SELECT count(*) FROM audit.dq_result WHERE batch_id = :b"),
                          {"b": checked.batch_id}).scalar_one()
    assert dq == 21   # every expectation of the suite, recorded for the indicator
    [again] = validate_batch(settings, engine, landed, RunContext("d", "second", "t"))
    assert again.status == "unchanged"
    assert legacy_calls == []   # nothing was recorded under the old hash: it was never computed


def test_content_loaded_under_the_old_hash_is_unchanged_and_recorded_under_the_new(setup, legacy_calls):
    settings, engine, landed = setup
    new, old = _hashes(landed.landing_path)
    _record(engine, settings, old, "loaded")
    [checked] = validate_batch(settings, engine, landed, RunContext("d", "upgrade night", "t"))
    assert checked.status == "unchanged" and checked.content_sha256 == new
    assert len(legacy_calls) == 1
    [again] = validate_batch(settings, engine, landed, RunContext("d", "night after", "t"))
    assert again.status == "unchanged" and len(legacy_calls) == 1   # the new hash is on record now


def test_content_held_under_the_old_hash_stays_held_since_the_first_quarantine(setup, legacy_calls):
    settings, engine, landed = setup
    new, old = _hashes(landed.landing_path)
    first = _record(engine, settings, old, "quarantined")
    [checked] = validate_batch(settings, engine, landed, RunContext("d", "upgrade night", "t"))
    assert checked.status == "held" and checked.content_sha256 == new and f"(batch {first})" in checked.error
    [again] = validate_batch(settings, engine, landed, RunContext("d", "night after", "t"))
    assert again.status == "held" and f"(batch {first})" in again.error and len(legacy_calls) == 1


def test_changed_content_is_checked_again(setup, legacy_calls):
    settings, engine, landed = setup
    _record(engine, settings, "0" * 64, "quarantined")   # some other content was quarantined
    [checked] = validate_batch(settings, engine, landed, RunContext("d", "corrected", "t"))
    assert checked.status == "validated" and len(legacy_calls) == 1
