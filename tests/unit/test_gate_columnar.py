"""The column-wise gate (quality.columnar) gives the outcome Great Expectations gives on the same rows.

Each case validates the same rows twice: as a pandas frame (Great Expectations itself) and as Arrow rows
(``quality.columnar``), and compares every field of every expectation's outcome, examples included.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from public_health.fingertips.parse import read_all_data_csv, to_frame
from public_health.fingertips.staging import split_by_indicator, stage_frame, stage_table
from public_health.quality.columnar import TableRows, validate_table
from public_health.quality.gate import load_suite, validate_frame
from tests.unit.test_fingertips_parse import ROWS, write

SUITE = "fingertips_indicator_values"
KNOWN = ["E92000001", "E12000004", "E10000018", "E06000016"]


def _comparable(outcome):
    return asdict(outcome)


def _both(suite, frame: pd.DataFrame, parameters, directory=None):
    """(Great Expectations' outcome, the column-wise outcome) of the same rows."""
    by_gx = validate_frame(suite, frame, parameters, directory=directory)
    rows = TableRows(pa.Table.from_pandas(frame, preserve_index=False), np.asarray(frame.index))
    columnar = validate_table(load_suite(suite, directory), rows, parameters)
    return by_gx, columnar


def _assert_same(suite, frame, parameters, directory=None):
    by_gx, columnar = _both(suite, frame, parameters, directory)
    assert columnar is not None, "the suite should be evaluated column-wise"
    assert [_comparable(o) for o in columnar.outcomes] == [_comparable(o) for o in by_gx.outcomes]
    assert (columnar.suite, columnar.rows, columnar.passed) == (by_gx.suite, by_gx.rows, by_gx.passed)
    return columnar


def _faulty_csv(tmp_path: Path) -> Path:
    """The parser test's rows, many times over for three indicators, with one of each fault the suite knows."""
    rows = []
    for indicator in (20401, 90362, 41001):
        for k, row in enumerate(ROWS * 3):
            row = row.replace("20401,", f"{indicator},", 1).replace(",2021,", f",{2019 + k % 3},", 1)
            rows.append(row)
    rows += [
        ROWS[0].replace("20401,", "20401,", 1),                                   # a duplicate key
        ROWS[1].replace("E12000004,East Midlands region (statistical),Region",   # no area code
                        ",East Midlands region (statistical),Region"),
        ROWS[2].replace("20401,", ",", 1).replace(",2021,8.9", ",,8.9"),          # no indicator id, no period
        ROWS[2].replace("E10000018,Leicestershire", "W06000001,Wrexham").replace(",2021,", ",2017/18 Q5,"),
        ROWS[2].replace(",8.9,7.9,10.0,", ",8.9,12.0,10.0,"),                     # inverted 95% interval
        ROWS[2].replace(",8.9,7.9,10.0,7.3,10.7,", ",18.9,7.9,10.0,7.3,10.7,"),   # value far above its interval
        ROWS[2].replace(",8.9,7.9,10.0,", ",10.04,7.9,10.0,").replace("2021", "2016"),   # within rounding
        ROWS[2].replace(",168,18876,", ",-5,0,").replace("2021", "2015"),         # negative count, zero denominator
        ROWS[2].replace("Female,<18 yrs", "Other,<18 yrs"),                       # a new sex label
        ROWS[2].replace(",8.9,7.9,", ",8.9,n/a,").replace("2021", "2014"),        # a field that is not a number
        ROWS[0].replace("20401,", "99999,", 1),                                   # an indicator nobody asked for
        ROWS[2].replace(",<18 yrs,,,2021,8.9,", ",<18 yrs,Deprivation deciles,Most deprived decile,2013,11.9,"),
    ]
    return write(tmp_path, rows=rows)


def test_fingertips_suite_same_outcome_per_indicator_as_great_expectations(tmp_path):
    path = _faulty_csv(tmp_path)
    frame = stage_frame(to_frame(read_all_data_csv(path, strict=False)))
    table = stage_table(read_all_data_csv(path, strict=False))
    parameters = {"known_area_codes": KNOWN, "requested_indicator_ids": [20401, 90362, 41001]}
    failed_rules = set()
    for group in split_by_indicator(read_all_data_csv(path, strict=False)):
        rows = frame.iloc[group.positions]
        by_gx = validate_frame(SUITE, rows, parameters)
        columnar = validate_frame(SUITE, TableRows(table.take(pa.array(group.positions)), group.positions),
                                  parameters)
        assert [_comparable(o) for o in columnar.outcomes] == [_comparable(o) for o in by_gx.outcomes]
        failed_rules |= {o.rule for o in columnar.outcomes if not o.success}
    # every kind of fault was exercised, so the comparison above covered failing outcomes with examples
    assert failed_rules >= {"duplicate_keys", "missing_keys", "unknown_area", "period_form", "ci_inverted",
                            "value_outside_ci", "rounding", "negative_count", "denominator_not_positive",
                            "sex_label", "unparseable_values", "unrequested_indicator", "category_interval",
                            "suppressed"}


def test_fingertips_suite_on_a_large_clean_indicator_and_a_faulty_one(tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    value = np.round(rng.uniform(5, 50, n), 1)
    frame = pd.DataFrame({
        "indicator_id": pd.array([7] * n, dtype="Int64"), "indicator_name": "x", "parent_code": "E12000004",
        "parent_name": "p", "area_code": pd.array(rng.choice(KNOWN, n), dtype="string[pyarrow]"),
        "area_name": "a", "area_type": "t", "sex": "Persons", "age": "All ages", "category_type": "",
        "category": pd.array([str(i) for i in range(n)], dtype="string[pyarrow]"), "time_period": "2019/20",
        "time_period_sortable": pd.array([20190000] * n, dtype="Int64"),
        "value": pd.array(value, dtype="Float64"), "lower_ci_95": pd.array(value - 1, dtype="Float64"),
        "upper_ci_95": pd.array(value + 1, dtype="Float64"), "lower_ci_99_8": pd.array(value - 2, dtype="Float64"),
        "upper_ci_99_8": pd.array(value + 2, dtype="Float64"),
        "count": pd.array(rng.integers(0, 100, n).astype(float), dtype="Float64"),
        "denominator": pd.array(rng.integers(1, 1000, n).astype(float), dtype="Float64"),
        "value_note": pd.array([None] * n, dtype="string[pyarrow]"), "recent_trend": "r",
        "compared_to_england": "c", "compared_to_parent": "c", "compared_to_parent_label": "Region",
        "compared_to_goal": pd.array([None] * n, dtype="string[pyarrow]"), "new_data": "n",
        "time_period_range": "1y", "unparsed_fields": pd.array([None] * n, dtype="string[pyarrow]"),
    })
    for c in frame.columns:   # text as the parser gives it (missing is pd.NA)
        if not isinstance(frame[c].dtype, (pd.Int64Dtype, pd.Float64Dtype)):
            frame[c] = frame[c].astype(pd.StringDtype("pyarrow"))
    parameters = {"known_area_codes": KNOWN, "requested_indicator_ids": [7]}
    clean = _assert_same(SUITE, stage_frame(frame), parameters)
    assert clean.passed and not clean.warnings

    faulty = frame.copy()
    faulty.loc[rng.choice(n, 40, replace=False), "count"] = -1.0          # more failures than examples kept
    faulty.loc[rng.choice(n, 30, replace=False), "value"] = pd.NA
    faulty.loc[10:60, "category"] = "0"                                    # 51 rows sharing one key with row 0
    faulty.loc[[3, 4], ["area_code", "sex", "age", "category_type", "category", "time_period"]] = pd.NA
    faulty.loc[[3, 4], "indicator_id"] = pd.NA                             # two rows whose key is all missing
    faulty.index = faulty.index + 100                                      # rows found further down a file
    out = _assert_same(SUITE, stage_frame(faulty), parameters)
    assert {o.rule for o in out.errors} >= {"negative_count", "duplicate_keys", "missing_keys"}


def _suite(tmp_path, expectations):
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "expectations": expectations}))
    return tmp_path


def _exp(kind, **kwargs):
    return {"type": kind, "kwargs": kwargs, "meta": {"severity": "error", "description": f"{kind} {kwargs}"}}


def test_each_expectation_type_and_argument_as_great_expectations(tmp_path):
    d = _suite(tmp_path, [
        _exp("expect_table_columns_to_match_set", column_set=["n", "f", "s"], exact_match=False),
        _exp("expect_table_columns_to_match_set", column_set=["n", "f", "s"], exact_match=True),
        _exp("expect_table_columns_to_match_set", column_set=["n", "missing"], exact_match=False),
        _exp("expect_column_values_to_be_between", column="f", min_value=0, max_value=10),
        _exp("expect_column_values_to_be_between", column="f", min_value=0, max_value=10, strict_min=True,
             strict_max=True),
        _exp("expect_column_values_to_be_between", column="n", max_value=2),
        _exp("expect_column_values_to_be_between", column="n", min_value=2, strict_min=True),
        _exp("expect_column_values_to_be_in_set", column="s", value_set={"$PARAMETER": "codes"}),
        _exp("expect_column_values_to_be_in_set", column="n", value_set=[1, 2]),
        _exp("expect_column_values_to_be_in_set", column="b", value_set=[True]),
        _exp("expect_column_values_to_be_null", column="s"),
        _exp("expect_column_values_to_not_be_null", column="f"),
        _exp("expect_column_values_to_not_be_null", column="s"),
        _exp("expect_compound_columns_to_be_unique", column_list=["n", "s"]),
    ])
    frame = pd.DataFrame({
        "n": pd.array([1, 2, 3, None, 2, None], dtype="Int64"),
        "f": pd.array([0.0, 10.0, 5.5, None, -1.0, 11.0], dtype="Float64"),
        "s": pd.array(["a", "b", None, "zz", "b", None], dtype="string[pyarrow]"),
        "b": [True, False, True, True, False, True],
        "extra": pd.array(["x"] * 6, dtype="string[pyarrow]"),
    })
    out = _assert_same("s", frame, {"codes": ["a", "b"]}, directory=d)
    assert [o.success for o in out.outcomes] == [True, False, False, False, False, False, False, False, False,
                                                  False, False, False, False, False]


def test_what_it_does_not_evaluate_exactly_is_left_to_great_expectations(tmp_path):
    frame = pd.DataFrame({"x": pd.array([1.0, None, 3.0], dtype="Float64")})
    rows = TableRows(pa.Table.from_pandas(frame, preserve_index=False))
    for expectation, parameters in [
        (_exp("expect_column_values_to_match_regex", column="x", regex="^1"), {}),      # another type
        (_exp("expect_column_values_to_not_be_null", column="x", mostly=0.5), {}),      # another argument
        (_exp("expect_column_values_to_not_be_null", column="y"), {}),                  # a column it lacks
        (_exp("expect_column_values_to_be_in_set", column="x", value_set=["a"]), {}),   # a set of another type
        (_exp("expect_column_values_to_be_in_set", column="x", value_set={"$PARAMETER": "p"}), {}),   # unsupplied
    ]:
        d = _suite(tmp_path, [expectation])
        assert validate_table(load_suite("s", d), rows, parameters) is None, expectation
        # validate_frame then runs Great Expectations on the rows as pandas: the same outcome (or error) either way
        try:
            expected = [_comparable(o) for o in validate_frame("s", frame, parameters, directory=d).outcomes]
        except Exception as exc:  # noqa: BLE001 - whatever Great Expectations raises, the Arrow rows raise too
            with pytest.raises(type(exc)):
                validate_frame("s", rows, parameters, directory=d)
            continue
        assert [_comparable(o) for o in validate_frame("s", rows, parameters, directory=d).outcomes] == expected


def test_arrow_rows_are_located_by_their_labels(tmp_path):
    d = _suite(tmp_path, [_exp("expect_column_values_to_not_be_null", column="x")])
    table = pa.table({"x": pa.array([1.0, None, None])})
    out = validate_frame("s", TableRows(table, np.array([40, 41, 42])), directory=d, row_offset=2)
    assert out.errors[0].unexpected_examples == [{"value": "<NA>", "line": 43}, {"value": "<NA>", "line": 44}]
    plain = validate_frame("s", table, directory=d, row_offset=10, row_label="excel_row")
    assert [e["excel_row"] for e in plain.errors[0].unexpected_examples] == [11, 12]


def test_a_compound_key_of_many_distinct_columns_as_great_expectations(tmp_path):
    """Keys whose combined codes would not fit in 64 bits are renumbered as they are built."""
    n = 4000
    rng = np.random.default_rng(5)
    columns = {f"c{i}": pd.array(rng.permutation(n).astype(str), dtype="string[pyarrow]") for i in range(7)}
    frame = pd.DataFrame(columns)
    for c in columns:
        frame.loc[[10, 20, 30], c] = frame.loc[0, c]                     # three copies of row 0's key
        frame.loc[41, c] = frame.loc[40, c]
    frame.loc[[40, 41], "c3"] = pd.NA                                    # missing equals missing
    d = _suite(tmp_path, [_exp("expect_compound_columns_to_be_unique", column_list=list(columns))])
    out = _assert_same("s", frame, {}, directory=d)
    assert out.outcomes[0].unexpected_count == 6
