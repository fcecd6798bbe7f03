"""The performance report's PHOF rows as of the report's quarter: the latest period ending on or before
the quarter's end (core.dim_period.end_date), the direction of travel from the period before it,
England for the same period; the data source and extraction time of the figures shown; and the
demonstration-data flag for figures not loaded from the live Fingertips API. On DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date

import pandas as pd
import pytest
from sqlalchemy import text

from public_health.config import is_live_fingertips_url, load_settings
from public_health.periods import FinancialQuarter
from public_health.reports.performance.data import _phof_rows, _PhofQuery, _with_provenance
from public_health.warehouse import audit
from public_health.warehouse.audit import BatchSource, RunContext
from public_health.warehouse.phof import load_indicator_values

AREA, ENGLAND = "E06000016", "E92000001"
QUARTER = FinancialQuarter.parse("2017-18-Q2")          # ends 2017-09-30
LIVE = "https://fingertips.phe.org.uk/api/all_data/csv/by_indicator_id?indicator_ids=90001,90002"
STUB = "http://127.0.0.1:8999/api/all_data/csv/by_indicator_id?indicator_ids=90001,90002"

STRING_COLS = ["indicator_name", "parent_code", "parent_name", "area_code", "area_name", "area_type", "sex", "age",
               "category_type", "category", "time_period", "value_note", "recent_trend", "compared_to_england",
               "compared_to_parent", "compared_to_parent_label", "compared_to_goal", "new_data", "time_period_range"]
FLOAT_COLS = ["value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count", "denominator"]

# Financial years: 2017/18 ends 2018-03-31, after the quarter; 2016/17 (ends 2017-03-31) is the latest shown.
FY = {"2014/15": 30.0, "2015/16": 25.0, "2016/17": 20.0, "2017/18": 10.0, "2018/19": 5.0}
# Quarters: 2017/18 Q2 ends on the quarter's last day (shown); Q3 is after it.
QTR = {"2017/18 Q1": 50.0, "2017/18 Q2": 60.0, "2017/18 Q3": 70.0}
# Calendar years: 2017 ends 2017-12-31, after the quarter; 2016 is the latest shown.
CAL = {"2015": 8.0, "2016": 7.5, "2017": 7.0}


def _frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "indicator_name": "x", "parent_code": "E12000004", "parent_name": "East Midlands region",
        "area_name": "Leicester", "area_type": "Counties & UAs", "sex": "Persons", "age": "All ages",
        "category_type": "", "category": "", "value_note": None, "recent_trend": None, "compared_to_england": None,
        "compared_to_parent": None, "compared_to_parent_label": None, "compared_to_goal": None, "new_data": None,
        "time_period_range": "1y", "lower_ci_99_8": None, "upper_ci_99_8": None, "count": None,
        "denominator": None,
    }
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["indicator_id"] = df["indicator_id"].astype("Int64")
    df["time_period_sortable"] = pd.array([20170000] * len(df), dtype="Int64")
    for c in STRING_COLS:
        df[c] = df[c].astype("string")
    for c in FLOAT_COLS:
        df[c] = df[c].astype("Float64")
    return df


def _rows(indicator_id: int, values: dict[str, float], england_offset: float) -> list[dict]:
    out = []
    for period, value in values.items():
        for area, v in ((AREA, value), (ENGLAND, value + england_offset)):
            out.append({"indicator_id": indicator_id, "area_code": area, "time_period": period, "value": v,
                        "lower_ci_95": v - 1.0, "upper_ci_95": v + 1.0})
    return out


def _seed(engine, source_ref: str = STUB) -> int:
    with engine.begin() as conn:
        for iid, name, source in [
            (90001, "Financial-year indicator", "Office for National Statistics"),
            (90002, "Quarterly indicator", "NHS England"),
            (90003, "Calendar-year indicator", None),
            (90004, "Indicator first published after the quarter", "UKHSA"),
        ]:
            conn.execute(text(
                "INSERT INTO core.dim_indicator (indicator_id, phof_code, name, unit, polarity_code, source,"
                " updated_at) VALUES (:i, 'X', :n, '%', 'low_is_good', :s, current_timestamp)"),
                {"i": iid, "n": name, "s": source})
        conn.execute(text("INSERT INTO core.area_comparator (area_code, comparator_code, kind, rank)"
                          " VALUES (:a, :e, 'england', 1)"), {"a": AREA, "e": ENGLAND})
    rows = _rows(90001, FY, 3.0) + _rows(90002, QTR, -2.0) + _rows(90003, CAL, 1.0) + _rows(90004, {"2018/19": 1.0}, 0)
    batch = audit.start_batch(engine, BatchSource("fingertips", source_ref, sha256="x" * 64), RunContext("d", "r", "t"))
    load_indicator_values(engine, batch, _frame(rows), indicator_upload_dates={})
    return batch


def _phof(engine, ids=(90001, 90002, 90003, 90004, 99999)):
    with engine.connect() as conn:
        rows = _phof_rows(conn, _PhofQuery(AREA, ENGLAND, QUARTER.end, tuple(ids)))
        pages, source = _with_provenance(conn, load_settings(env={}), QUARTER.end, {"page": rows})
    return {r.indicator_id: r for r in pages["page"]}, source


def _period_ends(engine) -> dict[str, date]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT period_label, end_date FROM core.dim_period")).all()
    return {r.period_label: r.end_date if isinstance(r.end_date, date) else date.fromisoformat(str(r.end_date))
            for r in rows}


def test_the_latest_period_ending_by_the_quarter_end_with_the_one_before_and_england_for_it(warehouse):
    _seed(warehouse)
    ends = _period_ends(warehouse)
    assert any(end > QUARTER.end for end in ends.values())      # the warehouse holds later periods
    rows, _ = _phof(warehouse)

    fy = rows[90001]
    assert (fy.period, fy.area_value, fy.england_value) == ("2016/17", 20.0, 23.0)
    assert (fy.previous_period, fy.previous_value) == ("2015/16", 25.0)
    assert fy.direction == "Improving"        # low is good, 20 (19-21) against 25 (24-26)
    assert fy.significance == "Better"        # 20 (19-21) against England's 23 for the same period

    qtr = rows[90002]      # a period ending on the quarter's last day is in
    assert (qtr.period, qtr.area_value, qtr.england_value, qtr.previous_period) == ("2017/18 Q2", 60.0, 58.0,
                                                                                     "2017/18 Q1")
    cal = rows[90003]      # calendar 2017 ends 31 December 2017: after the quarter
    assert (cal.period, cal.previous_period) == ("2016", "2015")

    later = rows[90004]    # only a later period: shown, without a value, saying why
    assert later.period is None and later.area_value is None and later.england_value is None
    assert later.previous_period is None and "30 September 2017" in (later.note or "")
    assert 99999 not in rows                  # unknown to the warehouse: not shown

    for row in rows.values():
        for label in (row.period, row.previous_period):
            assert label is None or ends[label] <= QUARTER.end, (row.indicator_id, label)


def test_source_and_extraction_time_of_the_figures_shown(warehouse):
    batch = _seed(warehouse)
    with warehouse.connect() as conn:
        finished = conn.execute(text("SELECT finished_at FROM audit.load_batch WHERE batch_id = :b"),
                                {"b": batch}).scalar_one()
    finished = finished.replace(tzinfo=UTC) if finished.tzinfo is None else finished.astimezone(UTC)
    rows, source = _phof(warehouse)
    assert rows[90001].source == "Office for National Statistics" and rows[90002].source == "NHS England"
    assert rows[90003].source is None
    assert rows[90001].extracted_at == finished and rows[90001].extracted_at.tzinfo is not None
    assert rows[90004].extracted_at is None               # nothing shown, nothing extracted
    assert source.extracted_at == finished
    assert source.as_of == date(2017, 9, 30)
    assert source.profile == "Public Health Outcomes Framework (Fingertips profile 19)"


def test_figures_from_the_stub_are_demonstration_data(warehouse):
    _seed(warehouse, STUB)
    _, source = _phof(warehouse)
    assert source.demonstration and source.hosts == ("127.0.0.1",)


def test_figures_from_the_live_api_are_not(warehouse):
    _seed(warehouse, LIVE)
    _, source = _phof(warehouse)
    assert not source.demonstration and source.hosts == ("fingertips.phe.org.uk",)
    # a table with nothing to show claims nothing
    _, empty = _phof(warehouse, ids=())
    assert not empty.demonstration and empty.extracted_at is None


@pytest.mark.parametrize(
    ("url", "live"),
    [
        ("https://fingertips.phe.org.uk/api/all_data/csv", True),
        ("http://FINGERTIPS.PHE.ORG.UK:443/api", True),
        ("https://www.fingertips.phe.org.uk/api", True),
        ("http://127.0.0.1:8999/api/all_data/csv", False),
        ("https://fingertips.phe.org.uk.example.test/api", False),
        ("https://notfingertips.phe.org.uk/api", False),
        ("/data/landing/fingertips/x.csv", False),
        (None, False),
    ],
)
def test_live_host_check(url, live):
    assert is_live_fingertips_url(url) is live
