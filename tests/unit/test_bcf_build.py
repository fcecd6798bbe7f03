"""The BCF return built from a real (empty) warehouse: every metric is present, and a missing actual
is a gap note in the workbook and the summary, never a zero."""

from __future__ import annotations

import openpyxl
import pytest
from sqlalchemy import text

from public_health.config import load_settings
from public_health.reports.bcf.build import assemble, build_return


def test_missing_actuals_are_gap_notes_not_zeros(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("PH_OUTPUT_DIR", str(tmp_path / "out"))
    settings = load_settings()
    data = assemble(warehouse, settings, "2016-17-Q2")
    assert len(data.metrics) == 6 and len(data.conditions) == 8
    nea = next(m for m in data.metrics if m.code == "non_elective_admissions")
    q2 = next(q for q in nea.quarters if q.quarter == "2016-17-Q2")
    assert q2.plan == 15422 and q2.actual is None and q2.variance is None and nea.on_track is None
    assert any("Actual not available for 2016-17 Q2" in n for n in nea.gap_notes)

    result = build_return(warehouse, settings, "2016-17-Q2")
    book = openpyxl.load_workbook(tmp_path / "out" / "bcf" / "2016-17-Q2" / "bcf-return.xlsx")
    assert {"Cover", "Metrics", "National Conditions", "Narrative"} <= set(book.sheetnames)
    cells = [c.value for row in book["Metrics"].iter_rows() for c in row]
    assert any(isinstance(v, str) and v.startswith("Not available") for v in cells)
    assert not any(c.data_type == "f" for ws in book for row in ws.iter_rows() for c in row)
    html = (tmp_path / "out" / "bcf" / "2016-17-Q2" / "board-summary.html").read_text()
    assert "Actual not available for 2016-17 Q2" in html
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit.report_build WHERE report = 'bcf_return'")).scalar_one() == 1
    assert len(result["outputs"]) == 3


def test_unknown_planning_year_is_named(warehouse):
    from public_health.config import ConfigError

    with pytest.raises(ConfigError, match="bcf/2012-13.yaml"):
        assemble(warehouse, load_settings(), "2012-13-Q1")
