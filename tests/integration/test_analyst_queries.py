"""Every analysts' question in docs/queries/*.sql runs, as written, on DuckDB and on PostgreSQL loaded with
the sample data (tests/integration/_analyst_data.py: two nights of Fingertips with a revision between them,
the published KPI history and sample returns of two services), and answers with rows and the columns
below. Each file says at its top what it answers and which parameters to edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from public_health.warehouse.engine import make_engine
from tests.integration._analyst_data import AREA, NIGHTS, sample_warehouse

pytestmark = pytest.mark.integration

QUERIES_DIR = Path(__file__).resolve().parents[2] / "docs" / "queries"
QUERIES = sorted(QUERIES_DIR.glob("*.sql"))

EXPECTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "indicator_latest_vs_comparators.sql": (
        "phof_code", "indicator_name", "area_name", "sex", "age", "category_type", "category", "period_label",
        "unit", "value", "lower_ci_95", "upper_ci_95", "england_value", "difference_from_england",
        "compared_to_england", "region_value", "compared_to_parent", "nearest_neighbour_average",
        "nearest_neighbour_count", "recent_trend", "value_note"),
    "service_kpi_trend.sql": (
        "service_name", "kpi_code", "kpi_name", "unit", "target_kind", "period_label", "target", "actual",
        "actual_missing_reason", "actual_to_date", "previous_actual", "change_from_previous", "derived_percentage",
        "source_file"),
    "late_or_missing_returns.sql": (
        "period_label", "service_name", "provider_name", "status", "due_date", "received_at", "days_after_due",
        "files_received", "latest_file_status", "error_summary", "report_path"),
    "last_night_load.sql": (
        "run_id", "batch_id", "indicator_id", "indicator_name", "outcome", "rows_read", "rows_inserted",
        "rows_updated", "rows_unchanged", "held_since", "error_summary", "report_path", "started_at",
        "finished_at"),
    "last_night_revisions.sql": (
        "indicator_id", "indicator_name", "area_code", "area_name", "sex", "age", "category_type", "category",
        "period_label", "old_value", "new_value", "change", "old_lower_ci_95", "old_upper_ci_95", "new_lower_ci_95",
        "new_upper_ci_95", "old_value_note", "new_value_note", "old_batch_id", "revised_by_batch_id"),
}


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def sample(request):
    return sample_warehouse(request, request.param)


def run_file(url: str, sql: str) -> tuple[list[str], list[dict]]:
    """Run the file's text as an analyst's client would: through the driver, as written."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            cursor = conn.connection.cursor()
            cursor.execute(sql)
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
            cursor.close()
            conn.rollback()
    finally:
        engine.dispose()
    return columns, rows


def test_every_query_file_states_its_question_and_parameters_and_is_expected_here():
    assert QUERIES, f"no SQL files in {QUERIES_DIR}"
    assert sorted(p.name for p in QUERIES) == sorted(EXPECTED_COLUMNS) == sorted(CHECKS)
    for path in QUERIES:
        header = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("--"):
                break
            header.append(line)
        text = "\n".join(header)
        assert text.startswith("-- Question: "), f"{path.name}: the first line must say the question"
        assert "-- Parameters" in text, f"{path.name}: the header must say which parameters to edit (or none)"


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_query_answers_with_rows_and_its_columns(sample, path):
    columns, rows = run_file(sample.url, path.read_text(encoding="utf-8"))
    assert tuple(columns) == EXPECTED_COLUMNS[path.name]
    assert rows, f"{path.name} returned no rows on {sample.backend}"
    CHECKS[path.name](rows, sample)


def _latest(rows, sample):
    [row] = rows   # the indicator is published for one sex and age, whole population only
    assert row["area_name"] == "Leicestershire" and row["phof_code"] == "2.04"
    assert row["england_value"] is not None and row["region_value"] is not None
    assert row["nearest_neighbour_count"] > 0 and row["nearest_neighbour_average"] is not None
    assert row["difference_from_england"] == pytest.approx(row["value"] - row["england_value"])
    assert row["period_label"] == sample.revised[2]


def _trend(rows, sample):
    assert {r["service_name"] for r in rows} == {"Healthy Together: Healthy Child Programme (0-19s)"}
    labels = [r["period_label"] for r in rows]
    assert "2015-16-Q1" in labels and "2017-18-Q2" in labels and not [x for x in labels if len(x) == 7]
    seconds = [r for r in rows if r["previous_actual"] is not None and r["actual"] is not None]
    assert seconds and all(r["change_from_previous"] == pytest.approx(r["actual"] - r["previous_actual"])
                           for r in seconds)


def _late(rows, sample):
    assert {r["status"] for r in rows} <= {"missing", "late", "quarantined"}
    missing = [r for r in rows if r["status"] == "missing"]
    assert missing and all(r["received_at"] is None and r["days_after_due"] > 0 for r in missing)
    # The two services that sent their Q1 and Q2 returns are not missing for those quarters.
    names = {(r["period_label"], r["service_name"]) for r in rows}
    assert ("2017-18-Q1", "Healthy Together: Healthy Child Programme (0-19s)") not in names
    assert ("2017-18-Q3", "Healthy Together: Healthy Child Programme (0-19s)") in names


def _load(rows, sample):
    assert {r["run_id"] for r in rows} == {NIGHTS[1]}
    [row] = rows
    assert (row["indicator_id"], row["outcome"], row["rows_updated"], row["rows_inserted"]) == (
        sample.revised[0], "loaded", 1, 0)


def _revisions(rows, sample):
    [row] = rows
    assert (row["indicator_id"], row["area_code"], row["period_label"]) == sample.revised
    assert row["area_code"] == AREA and row["old_value"] != row["new_value"]
    assert row["change"] == pytest.approx(row["new_value"] - row["old_value"])
    assert row["revised_by_batch_id"] > row["old_batch_id"]


CHECKS = {
    "indicator_latest_vs_comparators.sql": _latest,
    "service_kpi_trend.sql": _trend,
    "late_or_missing_returns.sql": _late,
    "last_night_load.sql": _load,
    "last_night_revisions.sql": _revisions,
}
