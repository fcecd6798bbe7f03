"""Which Fingertips batches a night downloads (issue 13: a night with nothing changed makes no data request)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from public_health.config import load_settings
from public_health.pipelines.fingertips_refresh import select_batches
from public_health.warehouse.audit import RunContext

UPLOADED = datetime(2026, 11, 3, tzinfo=UTC)
LATER = datetime(2026, 11, 20, tzinfo=UTC)


def _indicators(engine, rows) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        for indicator_id, published, loaded in rows:
            conn.execute(text(
                "INSERT INTO core.dim_indicator (indicator_id, name, last_data_upload, loaded_data_upload,"
                " indicator_sets, updated_at) VALUES (:i, :n, :p, :l, 'phof', :u)"
            ), {"i": indicator_id, "n": f"indicator {indicator_id}", "p": published, "l": loaded, "u": UPLOADED})


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("PH_DATA_DIR", str(tmp_path / "data"))
    return load_settings()


def _due(engine, settings, **kwargs) -> list[list[int]]:  # noqa: ANN001
    batches = select_batches(settings, engine, RunContext("fingertips_refresh", "run-1", "extract.select_batches"),
                             **kwargs)
    return [sorted(b.indicator_ids) for b in batches]


def test_an_indicator_without_data_is_not_downloaded_every_night(warehouse, settings) -> None:
    # 91548: listed by Fingertips with no data, so no upload date; the others loaded what was published.
    _indicators(warehouse, [(90362, UPLOADED, UPLOADED), (91548, None, None), (92441, UPLOADED, UPLOADED)])
    assert _due(warehouse, settings) == []
    # Once Fingertips has data for it (an upload date), it is due, as a new upload of any other would be.
    with warehouse.begin() as conn:
        conn.execute(text("UPDATE core.dim_indicator SET last_data_upload = :p WHERE indicator_id = 91548"),
                     {"p": LATER})
    assert any(91548 in ids for ids in _due(warehouse, settings))


def test_new_uploads_and_never_loaded_indicators_are_due(warehouse, settings) -> None:
    _indicators(warehouse, [(90362, LATER, UPLOADED), (92441, UPLOADED, None), (93014, UPLOADED, UPLOADED)])
    due = {i for ids in _due(warehouse, settings) for i in ids}
    assert {90362, 92441} <= due
    # full_refresh asks for everything, the indicator without data included.
    _indicators(warehouse, [(91548, None, None)])
    assert {i for ids in _due(warehouse, settings, full_refresh=True) for i in ids} == {90362, 91548, 92441, 93014}
