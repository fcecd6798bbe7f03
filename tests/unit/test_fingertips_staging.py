"""Columnar staging of a Fingertips batch: one indicator's rows, the derived columns, content hashes."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from public_health.fingertips.parse import parse_all_data_csv, read_all_data_csv, to_frame
from public_health.fingertips.staging import (
    DERIVED_COLUMNS,
    content_sha256,
    legacy_content_sha256,
    rounding_of,
    split_by_indicator,
    stage_frame,
    stage_table,
)
from tests.unit.test_fingertips_parse import ROWS, write


def _published(table: pa.Table) -> list[str]:
    return [c for c in table.column_names if c != "unparsed_fields"]


def _rows(tmp_path, rows=None, name="data.csv") -> pa.Table:
    return read_all_data_csv(write(tmp_path, rows=ROWS if rows is None else rows, name=name), strict=False)


def test_read_gives_the_types_and_the_frame_is_the_pandas_parse(tmp_path):
    table = _rows(tmp_path)
    assert table.schema.field("indicator_id").type == pa.int64()
    assert table.schema.field("value").type == pa.float64() and table.schema.field("area_code").type == pa.string()
    pd.testing.assert_frame_equal(to_frame(table), parse_all_data_csv(write(tmp_path, name="again.csv"),
                                                                       strict=False))


def test_a_field_that_is_not_a_number_is_read_as_text_and_noted(tmp_path):
    rows = [*ROWS[:2], ROWS[2].replace(",8.9,7.9,", ",8.9,n/a,")]
    table = _rows(tmp_path, rows)
    assert table.column("unparsed_fields").to_pylist() == [None, None, "Lower CI 95.0 limit: 'n/a'"]
    assert table.column("lower_ci_95").to_pylist()[2] is None and table.column("value").to_pylist()[2] == 8.9


def test_split_keeps_published_order_and_positions(tmp_path):
    other = [r.replace("20401,", "90362,", 1) for r in ROWS]
    together = _rows(tmp_path, [*ROWS, *other], "together.csv")
    groups = split_by_indicator(together)
    assert [(g.indicator_id, g.positions.tolist()) for g in groups] == [(20401, [0, 1, 2, 3]), (90362, [4, 5, 6, 7])]
    assert groups[1].table.equals(together.slice(4, 4))

    no_id = ROWS[2].replace("20401,", ",", 1)
    mixed = _rows(tmp_path, [ROWS[0], other[0], no_id, ROWS[1], other[1], ROWS[2]], "mixed.csv")
    groups = split_by_indicator(mixed)
    assert [(g.indicator_id, g.positions.tolist()) for g in groups] == [
        (20401, [0, 3, 5]), (90362, [1, 4]), (None, [2])]
    assert groups[0].table.equals(mixed.take([0, 3, 5]))
    assert split_by_indicator(mixed.slice(0, 0)) == []


def test_content_hash_is_the_same_for_the_same_rows_and_changes_with_any_value(tmp_path):
    table = _rows(tmp_path)
    cols = _published(table)
    digest = content_sha256(table, cols)
    assert content_sha256(to_frame(table), cols) == digest                      # pandas or Arrow
    assert content_sha256(_rows(tmp_path, name="b.csv"), cols) == digest          # another read of the same text
    group = split_by_indicator(_rows(tmp_path, [*ROWS, ROWS[0].replace("20401,", "1,", 1)], "c.csv"))[1]
    assert content_sha256(group.table, cols) == digest                            # a slice of a larger file

    changed = {
        "a value": [ROWS[0].replace(",13.08,", ",13.09,"), *ROWS[1:]],
        "a text": [ROWS[0].replace("Decreasing and getting better", "Increasing"), *ROWS[1:]],
        "a missing value": [ROWS[0].replace(",Not compared,Not compared,", ",,Not compared,"), *ROWS[1:]],
        "the order": [ROWS[1], ROWS[0], *ROWS[2:]],
        "a row fewer": ROWS[:3],
    }
    for what, rows in changed.items():
        assert content_sha256(_rows(tmp_path, rows, "d.csv"), cols) != digest, what


def test_legacy_content_hash_is_the_hash_recorded_before(tmp_path):
    """The hash the refresh recorded before the typed hash: sha256 of the columns, then pandas' row hashes of
    every value as text (kept so that content recorded then is still recognised)."""
    table = _rows(tmp_path)
    cols = _published(table)
    frame = parse_all_data_csv(write(tmp_path, name="again.csv"), strict=False)
    digest = hashlib.sha256(",".join(cols).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame[cols].astype(str), index=False).to_numpy().tobytes())
    assert legacy_content_sha256(table, cols) == digest.hexdigest() == legacy_content_sha256(frame, cols)
    assert legacy_content_sha256(table, cols) != content_sha256(table, cols)


def test_stage_table_derives_what_stage_frame_derives(tmp_path):
    rows = [
        *ROWS,
        ROWS[2].replace(",8.9,7.9,10.0,", ",8.9,12.0,10.0,"),                        # inverted interval
        ROWS[2].replace(",8.9,7.9,10.0,7.3,10.7,", ",18.9,7.9,10.0,7.3,10.7,"),       # far outside
        ROWS[2].replace(",8.9,7.9,10.0,", ",10.04,7.9,10.0,"),                        # within rounding
        ROWS[2].replace(",<18 yrs,,,2021,8.9,", ",<18 yrs,Deciles,Most deprived,2021,11.9,"),   # category
        ROWS[2].replace(",2021,", ",2021/22 Q9,"),                                    # unknown period form
    ]
    table = _rows(tmp_path, rows)
    staged = stage_table(table)
    assert staged.column_names == [*table.column_names, *DERIVED_COLUMNS]
    frame = stage_frame(to_frame(table))
    as_pandas = staged.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"), pa.int64(): pd.Int64Dtype(),
                                               pa.float64(): pd.Float64Dtype()}.get)
    pd.testing.assert_frame_equal(as_pandas, frame)
    flagged = {c: [i for i, v in enumerate(staged.column(c).to_pylist()) if v] for c in DERIVED_COLUMNS[1:]}
    assert flagged["ci_95_inverted"] == [4] and flagged["upper_ci_95_below_value"] == [5]
    assert flagged["value_outside_ci_by_rounding"] == [6] and flagged["category_value_outside_ci"] == [7]
    assert flagged["suppressed_value"] == [3]
    assert staged.column("period_parses").to_pylist() == [True] * 8 + [False]
    assert "value 10.04 above upper 95% limit 10 (within rounding 0.505)" in staged.column(
        "value_outside_ci_by_rounding").to_pylist()


@pytest.mark.parametrize("values, expected", [
    ([15.6, 15.59, 20.0, 0.125], [0.05, 0.005, 0.5, 0.0005]),
    ([np.nan, 1e-13, 1234.5678], [np.nan, 0.5, 0.00005]),
])
def test_rounding_is_half_a_unit_in_the_last_published_digit(values, expected):
    np.testing.assert_allclose(rounding_of(np.array(values)), expected)
