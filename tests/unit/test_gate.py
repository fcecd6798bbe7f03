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


# The Fingertips suite: what is wrong vs how the publisher does it (issue 10) --------------------------------


def _fingertips_rows(**overrides):
    """Three ordinary, clean rows of one indicator as the parser and staging produce them."""
    from public_health.fingertips.staging import stage_frame

    base = {
        "indicator_id": [1, 1, 1], "indicator_name": ["x"] * 3, "parent_code": ["E12000004"] * 3,
        "parent_name": ["East Midlands"] * 3, "area_code": ["E10000018", "E06000016", "E06000017"],
        "area_name": ["a", "b", "c"], "area_type": ["UTLA"] * 3, "sex": ["Persons"] * 3, "age": ["All ages"] * 3,
        "category_type": ["", "", ""], "category": ["", "", ""], "time_period": ["2022"] * 3,
        "time_period_sortable": [20220000] * 3, "value": [15.2, 20.0, 30.0], "lower_ci_95": [14.0, 18.0, 28.0],
        "upper_ci_95": [16.0, 22.0, 32.0], "lower_ci_99_8": [13.0, 17.0, 27.0], "upper_ci_99_8": [17.0, 23.0, 33.0],
        "count": [10.0, 20.0, 30.0], "denominator": [100.0, 100.0, 100.0], "value_note": [None, None, None],
        "recent_trend": [None] * 3, "compared_to_england": [None] * 3, "compared_to_parent": [None] * 3,
        "compared_to_parent_label": ["Region"] * 3, "compared_to_goal": [None] * 3, "new_data": [None] * 3,
        "time_period_range": ["1y"] * 3, "unparsed_fields": [None, None, None],
    }
    base.update(overrides)
    frame = pd.DataFrame(base)
    for col in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count", "denominator"):
        frame[col] = frame[col].astype("Float64")
    frame["indicator_id"] = frame["indicator_id"].astype("Int64")
    return stage_frame(frame)


def _check(frame):
    return validate_frame("fingertips_indicator_values", frame, {
        "known_area_codes": ["E10000018", "E06000016", "E06000017"], "requested_indicator_ids": [1]})


def test_fingertips_clean_rows_pass_without_warnings():
    out = _check(_fingertips_rows())
    assert out.passed and not out.warnings, out.summary()


def test_publisher_conventions_are_warnings_with_examples():
    frame = _fingertips_rows(
        value=[15.6, 20.0, 45.0], upper_ci_95=[15.59, 22.0, 32.0],        # rounded apart; category outside
        category_type=["", "", "County & UA deprivation deciles in England (IMD2019, 4/21 geography)"],
        category=["", "", "Most deprived decile (IMD2019)"],
    )
    frame.loc[1, "value"] = pd.NA
    frame.loc[1, "value_note"] = "Value suppressed for disclosure control due to small count"
    frame = _fingertips_rows(**{c: frame[c].tolist() for c in ("value", "upper_ci_95", "category_type",
                                                                "category", "value_note")})
    out = _check(frame)
    assert out.passed, out.summary()
    warned = {o.rule: o for o in out.warnings}
    assert set(warned) == {"rounding", "category_interval", "suppressed"}
    assert "value 15.6 above upper 95% limit 15.59" in warned["rounding"].unexpected_examples[0]["value"]
    assert warned["rounding"].unexpected_examples[0]["line"] == 2
    assert "deprivation deciles" in warned["category_interval"].unexpected_examples[0]["value"]
    assert "suppressed" in warned["suppressed"].unexpected_examples[0]["value"]


@pytest.mark.parametrize("overrides, rule", [
    ({"area_code": [None, "E06000016", "E06000017"]}, "missing_keys"),
    ({"unparsed_fields": [None, "Value: 'n/a*'", None]}, "unparseable_values"),
    ({"area_code": ["E10000018", "E06000016", "W06000001"]}, "unknown_area"),
    ({"area_code": ["E10000018", "E10000018", "E06000017"]}, "duplicate_keys"),
    ({"lower_ci_95": [17.0, 18.0, 28.0]}, "ci_inverted"),                       # lower 17 > upper 16
    ({"value": [50.0, 20.0, 30.0], "lower_ci_95": [60.0, 18.0, 28.0], "upper_ci_95": [70.0, 22.0, 32.0]},
     "value_outside_ci"),
])
def test_what_is_wrong_quarantines(overrides, rule):
    out = _check(_fingertips_rows(**overrides))
    assert not out.passed
    assert rule in {o.rule for o in out.errors}, out.summary()


def test_every_fingertips_rule_says_why_and_what_a_person_can_do():
    suite = load_suite("fingertips_indicator_values")
    for exp in suite["expectations"]:
        meta = exp["meta"]
        assert meta.get("rule") and meta.get("why") and meta.get("fix"), exp
        assert "send it again" not in meta["fix"].lower(), meta["fix"]
    errors = [e["meta"]["fix"] for e in suite["expectations"] if e["meta"]["severity"] == "error"]
    assert any("Wait for the publisher" in f and "exceptions" in f and "report it" in f for f in errors)
    rules = {e["meta"]["rule"] for e in suite["expectations"]}
    for exc in suite["exceptions"]:   # each shipped exception names a real rule, one indicator, why and who
        assert exc["rule"] in rules and isinstance(exc["indicator_id"], int)
        assert len(exc["reason"]) > 40 and exc["added_by"]


def test_an_exception_with_a_reason_accepts_one_rule_for_one_indicator():
    from public_health.quality.gate import apply_exceptions

    out = _check(_fingertips_rows(area_code=["E10000018", "E10000018", "E06000017"]))
    exceptions = [{"rule": "duplicate_keys", "indicator_id": 2, "reason": "not this one"},
                  {"rule": "duplicate_keys", "indicator_id": 1, "reason": "two rows as published", "added_by": "JB"}]
    assert apply_exceptions(out, exceptions, {"indicator_id": 1}) == 1
    assert out.passed and "accepted by exception: two rows as published, JB" in out.warnings[0].description


def test_an_exception_needs_a_reason(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "exceptions": [{"rule": "x", "indicator_id": 1}],
                                                 "expectations": []}))
    with pytest.raises(SuiteError, match=r"exceptions\[0\]: an exception needs a rule and a reason"):
        load_suite("s", tmp_path)


def test_quarantine_report_for_one_indicator_says_why_and_what_to_do(tmp_path):
    out = _check(_fingertips_rows(area_code=["E10000018", "E10000018", "E06000017"]))
    raw = tmp_path / "rows.csv"
    raw.write_text("Indicator ID\n1\n")
    report = quarantine(raw, tmp_path / "q", QuarantineSource("fingertips", "http://x", "cd" * 32, 3,
                                                              default_fix="Wait.", scope="indicator 1"),
                        outcome=out, extra={"what_to_do": ["Wait for the publisher's correction."]})
    md = report.read_text()
    assert report.parent.name == "indicator-1"
    assert "Nothing from indicator 1 was loaded" in md and "## What to do" in md
    assert "Two rows with the same key" in md           # the rule's why
    assert "Correct the source and send it again" not in md
