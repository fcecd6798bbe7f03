"""The PHOF fact load: insert, revise with history, unchanged, and all-or-nothing, on both dialects."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from public_health.warehouse import audit
from public_health.warehouse.audit import BatchSource, RunContext
from public_health.warehouse.phof import load_indicator_values

STRING_COLS = ["indicator_name", "parent_code", "parent_name", "area_code", "area_name", "area_type", "sex", "age",
               "category_type", "category", "time_period", "value_note", "recent_trend", "compared_to_england",
               "compared_to_parent", "compared_to_parent_label", "compared_to_goal", "new_data", "time_period_range"]
FLOAT_COLS = ["value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count", "denominator"]


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "indicator_id": 90630, "indicator_name": "Under 18s conception rate / 1,000", "parent_code": "E12000004",
        "parent_name": "East Midlands region", "area_name": "Leicestershire", "area_type": "Counties & UAs",
        "sex": "Female", "age": "<18 yrs", "category_type": "", "category": "", "value_note": None,
        "recent_trend": "Decreasing", "compared_to_england": "Better", "compared_to_parent": "Similar",
        "compared_to_parent_label": "Region", "compared_to_goal": None, "new_data": None, "time_period_range": "1y",
        "lower_ci_99_8": None, "upper_ci_99_8": None, "count": 160.0, "denominator": 12000.0,
    }
    data = [{**base, **r} for r in rows]
    df = pd.DataFrame(data)
    df["indicator_id"] = df["indicator_id"].astype("Int64")
    df["time_period_sortable"] = pd.array([20170000] * len(df), dtype="Int64")
    for c in STRING_COLS:
        df[c] = df[c].astype("string")
    for c in FLOAT_COLS:
        df[c] = df[c].astype("Float64")
    return df


ROWS = [
    {"area_code": "E10000018", "time_period": "2016", "value": 13.1, "lower_ci_95": 11.2, "upper_ci_95": 15.2},
    {"area_code": "E10000018", "time_period": "2017", "value": 12.4, "lower_ci_95": 10.6, "upper_ci_95": 14.4},
    {"area_code": "E06000016", "time_period": "2017", "value": 21.9, "lower_ci_95": 19.1, "upper_ci_95": 25.0},
]


def _load(engine, df, source_ref="https://example.test/all_data"):
    batch = audit.start_batch(engine, BatchSource("fingertips", source_ref, sha256="x" * 64, landing_path=None),
                              RunContext("d", "r", "t"))
    return batch, load_indicator_values(engine, batch, df, indicator_upload_dates={90630: None})


def _facts(engine):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT area_code, period_label, value, lower_ci_95, batch_id FROM core.fact_indicator_value"
            " ORDER BY area_code, period_label")).all()


def _seed_indicator(engine):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO core.dim_indicator (indicator_id, name, updated_at, indicator_sets)"
                          " VALUES (90630, 'Under 18s conception rate / 1,000', current_timestamp, 'phof')"))


def test_first_load_inserts_everything(warehouse):
    _seed_indicator(warehouse)
    batch, counts = _load(warehouse, frame(ROWS))
    assert (counts.inserted, counts.updated, counts.unchanged, counts.status) == (3, 0, 0, "loaded")
    facts = _facts(warehouse)
    assert [(f.area_code, f.period_label, f.value) for f in facts] == [
        ("E06000016", "2017", 21.9), ("E10000018", "2016", 13.1), ("E10000018", "2017", 12.4)]
    with warehouse.connect() as conn:
        row = conn.execute(text("SELECT status, rows_read, rows_inserted, rows_updated, rows_unchanged, dag_id, run_id"
                                " FROM audit.load_batch WHERE batch_id = :b"), {"b": batch}).one()
        periods = conn.execute(text("SELECT period_label, start_date, granularity FROM core.dim_period"
                                    " ORDER BY period_label")).all()
    assert tuple(row) == ("loaded", 3, 3, 0, 0, "d", "r")
    assert [p.period_label for p in periods] == ["2016", "2017"]
    assert str(periods[0].start_date) == "2016-01-01" and periods[0].granularity == "calendar_year"


def test_same_batch_again_changes_nothing(warehouse):
    _seed_indicator(warehouse)
    _load(warehouse, frame(ROWS))
    before = _facts(warehouse)
    _, counts = _load(warehouse, frame(ROWS))
    assert (counts.inserted, counts.updated, counts.unchanged, counts.status) == (0, 0, 3, "unchanged")
    assert _facts(warehouse) == before
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM core.fact_indicator_value_history")).scalar_one() == 0


def test_revision_updates_fact_and_keeps_old_version(warehouse):
    _seed_indicator(warehouse)
    first, _ = _load(warehouse, frame(ROWS))
    revised = [dict(r) for r in ROWS]
    revised[1].update(value=12.9, lower_ci_95=11.0, upper_ci_95=14.9)   # Fingertips revised 2017
    revised.append({"area_code": "E06000017", "time_period": "2017", "value": 5.2, "lower_ci_95": 2.1,
                    "upper_ci_95": 10.7})                                  # Rutland newly published
    second, counts = _load(warehouse, frame(revised))
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 2)
    facts = {(f.area_code, f.period_label): f for f in _facts(warehouse)}
    assert facts[("E10000018", "2017")].value == 12.9 and facts[("E10000018", "2017")].batch_id == second
    assert facts[("E10000018", "2016")].batch_id == first
    with warehouse.connect() as conn:
        hist = conn.execute(text("SELECT area_code, period_label, value, lower_ci_95, batch_id, superseded_by_batch_id"
                                 " FROM core.fact_indicator_value_history")).all()
    assert [tuple(h) for h in hist] == [("E10000018", "2017", 12.4, 10.6, first, second)]


def test_null_to_value_and_note_change_count_as_revisions(warehouse):
    _seed_indicator(warehouse)
    rows = [dict(ROWS[0], value=None, lower_ci_95=None, upper_ci_95=None, value_note="Value suppressed")]
    _load(warehouse, frame(rows))
    _, counts = _load(warehouse, frame([dict(ROWS[0])]))
    assert counts.updated == 1


def test_failure_mid_load_leaves_nothing(warehouse, monkeypatch):
    _seed_indicator(warehouse)
    import public_health.warehouse.phof as phof

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(phof, "finish_batch", boom)   # fails after the facts were written, inside the transaction
    with pytest.raises(RuntimeError, match="disk full"):
        _load(warehouse, frame(ROWS))
    assert _facts(warehouse) == []
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM core.dim_period")).scalar_one() == 0
