"""The Great Expectations gate: suite files as data, severities, located failures, quarantine reports."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from public_health.quality.gate import EXPECTATIONS_DIR, SuiteError, load_suite, validate_frame
from public_health.quality.quarantine import QuarantineSource, quarantine


def test_every_suite_file_is_valid_json_with_descriptions():
    files = sorted(EXPECTATIONS_DIR.glob("*.json"))
    assert files
    for f in files:
        suite = load_suite(f.stem)
        assert suite["name"] == f.stem
        assert all(e["meta"]["description"] for e in suite["expectations"])


def _suite(tmp_path, expectations):
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "expectations": expectations}))
    return tmp_path


def test_errors_block_and_warnings_do_not(tmp_path):
    d = _suite(tmp_path, [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "pct", "min_value": 0, "max_value": 100},
         "meta": {"severity": "error", "description": "Percentages are between 0 and 100"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "code", "value_set": {"$PARAMETER": "codes"}},
         "meta": {"severity": "warning", "description": "Codes are known"}},
    ])
    df = pd.DataFrame({"pct": [96.0, 123.0, 50.0], "code": ["a", "b", "zz"]})
    out = validate_frame("s", df, {"codes": ["a", "b"]}, directory=d)
    assert not out.passed
    [err] = out.errors
    assert err.unexpected_count == 1 and err.unexpected_examples == [{"value": 123.0, "line": 3}]
    [warn] = out.warnings
    assert warn.unexpected_examples == [{"value": "zz", "line": 4}]
    assert "Percentages are between 0 and 100 (1 rows)" in out.summary()

    ok = validate_frame("s", df[df.pct <= 100], {"codes": ["a", "b"]}, directory=d)
    assert ok.passed and len(ok.warnings) == 1


def test_row_offset_and_label_are_the_callers(tmp_path):
    d = _suite(tmp_path, [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"},
                           "meta": {"description": "x present"}}])
    out = validate_frame("s", pd.DataFrame({"x": [1.0, None]}), directory=d, row_offset=10, row_label="excel_row")
    assert out.errors[0].unexpected_examples[0]["excel_row"] == 11


def test_bad_suite_files_are_named(tmp_path):
    with pytest.raises(SuiteError, match="suite file not found"):
        load_suite("missing", tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"name": "bad", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}, "meta": {"severity": "fatal", "description": "d"}}]}))
    with pytest.raises(SuiteError, match=r"bad.json: expectations\[0\].meta.severity"):
        load_suite("bad", tmp_path)
    (tmp_path / "unknown.json").write_text(json.dumps({"name": "unknown", "expectations": [
        {"type": "expect_the_impossible", "kwargs": {}, "meta": {"description": "d"}}]}))
    with pytest.raises(SuiteError, match=r"unknown.json: expectations\[0\] \(expect_the_impossible\)"):
        validate_frame("unknown", pd.DataFrame({"x": [1]}), directory=tmp_path)


def test_quarantine_keeps_raw_file_and_writes_reports(tmp_path):
    d = _suite(tmp_path, [{"type": "expect_column_values_to_be_between", "kwargs": {"column": "pct", "max_value": 100},
                           "meta": {"description": "Percentages at most 100", "fix": "Check the figure with the provider"}}])
    out = validate_frame("s", pd.DataFrame({"pct": [123.0]}), directory=d)
    raw = tmp_path / "return.csv"
    raw.write_text("pct\n123\n")
    report = quarantine(raw, tmp_path / "q", QuarantineSource("provider_return", str(raw), "ab" * 32, 7), outcome=out)
    assert raw.exists()
    folder = report.parent
    assert (folder / "return.csv").read_text() == "pct\n123\n"
    md = report.read_text()
    assert "Percentages at most 100" in md and "line 2: 123.0" in md and "Check the figure with the provider" in md
    data = json.loads((folder / "report.json").read_text())
    assert data["batch_id"] == 7 and data["validation"]["passed"] is False
