"""parse_all_data_csv: real header, comparator column naming, errors that locate the problem, dtypes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from public_health.fingertips.parse import REQUIRED_COLUMNS, FingertipsParseError, parse_all_data_csv

# The header exactly as the API writes it (fingertips-open CsvBuilderIndicatorDataHeaderWriter.cs, plus
# the newer trailing "Time period range").
HEADER = (
    "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age,Category Type,"
    "Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,Lower CI 99.8 limit,Upper CI 99.8 limit,"
    "Count,Denominator,Value note,Recent Trend,Compared to England value or percentiles,"
    "Compared to Region value or percentiles,Time period Sortable,New data,Compared to goal,Time period range"
)
ROWS = [
    "20401,Under 18s conception rate / 1,000,,,E92000001,England,England,Female,<18 yrs,,,2021,13.08,12.94,13.22,"
    "12.86,13.3,9486,725180,,Decreasing and getting better,Not compared,Not compared,20210000,New data,,1y",
    "20401,Under 18s conception rate / 1,000,E92000001,England,E12000004,East Midlands region (statistical),Region,"
    "Female,<18 yrs,,,2021,13.3,12.9,13.7,12.6,14.0,1012,76123,,No significant change,Similar,Not compared,"
    "20210000,New data,,1y",
    "20401,Under 18s conception rate / 1,000,E12000004,East Midlands region (statistical),E10000018,Leicestershire,"
    "Counties & UAs (from Apr 2023),Female,<18 yrs,,,2021,8.9,7.9,10.0,7.3,10.7,168,18876,,"
    "Decreasing and getting better,Better,Better,20210000,New data,Green,1y",
    '20401,Under 18s conception rate / 1,000,E12000004,East Midlands region (statistical),E06000016,"Leicester, City",'
    "Counties & UAs (from Apr 2023),Female,<18 yrs,Deprivation deciles,Most deprived decile,2021,,,,,,,,"
    "Value suppressed for disclosure control due to small count,Cannot be calculated,Not compared,Not compared,"
    "20210000,,,1y",
]


def _fix_name(line: str) -> str:
    # the indicator name holds a comma, so the API quotes it
    return line.replace("Under 18s conception rate / 1,000", '"Under 18s conception rate / 1,000"')


def write(tmp_path: Path, header: str = HEADER, rows: list[str] | None = None, newline: str = "\r\n",
          name: str = "data.csv") -> Path:
    rows = ROWS if rows is None else rows
    path = tmp_path / name
    path.write_text(newline.join([header, *(_fix_name(r) for r in rows)]) + newline, encoding="utf-8")
    return path


EXPECTED_DTYPES = {
    "indicator_id": "Int64", "indicator_name": "string", "parent_code": "string", "parent_name": "string",
    "area_code": "string", "area_name": "string", "area_type": "string", "sex": "string", "age": "string",
    "category_type": "string", "category": "string", "time_period": "string", "time_period_sortable": "Int64",
    "value": "Float64", "lower_ci_95": "Float64", "upper_ci_95": "Float64", "lower_ci_99_8": "Float64",
    "upper_ci_99_8": "Float64", "count": "Float64", "denominator": "Float64", "value_note": "string",
    "recent_trend": "string", "compared_to_england": "string", "compared_to_parent": "string",
    "compared_to_parent_label": "string", "compared_to_goal": "string", "new_data": "string",
    "time_period_range": "string",
}


def test_real_header_parses_with_expected_columns_and_dtypes(tmp_path: Path) -> None:
    frame = parse_all_data_csv(write(tmp_path))
    assert list(frame.columns) == list(EXPECTED_DTYPES)
    assert {c: str(t) for c, t in frame.dtypes.items()} == EXPECTED_DTYPES
    assert len(frame) == 4
    first, leics, leicester = frame.iloc[0], frame.iloc[2], frame.iloc[3]
    assert first["indicator_id"] == 20401 and first["indicator_name"] == "Under 18s conception rate / 1,000"
    assert pd.isna(first["parent_code"]) and first["area_code"] == "E92000001"
    assert first["category_type"] == "" and first["category"] == ""  # empty -> "" not NA
    assert first["time_period_sortable"] == 20210000 and first["value"] == 13.08 and first["count"] == 9486
    assert leics["compared_to_england"] == "Better" and leics["compared_to_parent"] == "Better"
    assert leics["compared_to_parent_label"] == "Region" and leics["compared_to_goal"] == "Green"
    assert leics["new_data"] == "New data" and leics["time_period_range"] == "1y"
    assert leicester["area_name"] == "Leicester, City" and leicester["category"] == "Most deprived decile"
    assert pd.isna(leicester["value"]) and pd.isna(leicester["denominator"]) and pd.isna(leicester["new_data"])
    assert leicester["value_note"].startswith("Value suppressed")
    assert pd.isna(first["value_note"]) and pd.isna(first["compared_to_goal"])


def test_lf_line_endings_and_bom(tmp_path: Path) -> None:
    path = write(tmp_path, newline="\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    frame = parse_all_data_csv(path)
    assert len(frame) == 4 and frame["indicator_id"].iloc[0] == 20401


def test_comparator_named_after_another_parent_type(tmp_path: Path) -> None:
    header = HEADER.replace("Compared to Region value or percentiles", "Compared to ICB value or percentiles")
    frame = parse_all_data_csv(write(tmp_path, header=header))
    assert frame["compared_to_parent"].tolist()[2] == "Better"
    assert set(frame["compared_to_parent_label"]) == {"ICB"}


def test_comparator_when_parent_is_england(tmp_path: Path) -> None:
    header = HEADER.replace("Compared to Region value or percentiles", "Compared to percentiles")
    frame = parse_all_data_csv(write(tmp_path, header=header))
    assert frame["compared_to_parent"].iloc[2] == "Better"
    assert frame["compared_to_parent_label"].isna().all()


def test_optional_columns_absent_give_na(tmp_path: Path) -> None:
    cols = HEADER.split(",")
    keep = [i for i, c in enumerate(cols) if c not in ("New data", "Compared to goal", "Time period range")]
    rows = []
    import csv
    import io

    for r in ROWS:
        fields = next(csv.reader([_fix_name(r)]))
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow([fields[i] for i in keep])
        rows.append(out.getvalue())
    path = tmp_path / "old.csv"
    path.write_text("\r\n".join([",".join(cols[i] for i in keep), *rows]) + "\r\n", encoding="utf-8")
    frame = parse_all_data_csv(path)
    assert frame["compared_to_goal"].isna().all() and frame["new_data"].isna().all()
    assert frame["time_period_range"].isna().all()
    assert str(frame["time_period_range"].dtype) == "string"


def test_target_data_is_the_old_name_of_compared_to_goal(tmp_path: Path) -> None:
    frame = parse_all_data_csv(write(tmp_path, header=HEADER.replace("Compared to goal", "Target data")))
    assert frame["compared_to_goal"].iloc[2] == "Green"


@pytest.mark.parametrize("column", ["Area Code", "Lower CI 95.0 limit", "Compared to England value or percentiles"])
def test_missing_required_column_is_named(tmp_path: Path, column: str) -> None:
    header = HEADER.replace(column, "Something else")
    path = write(tmp_path, header=header)
    with pytest.raises(FingertipsParseError) as info:
        parse_all_data_csv(path, source_url="http://example/api/all_data")
    msg = str(info.value)
    assert column in msg and str(path) in msg and "http://example/api/all_data" in msg


def test_missing_parent_comparator_is_named(tmp_path: Path) -> None:
    header = HEADER.replace("Compared to Region value or percentiles", "Whatever")
    with pytest.raises(FingertipsParseError, match="Compared to <parent area type> value or percentiles"):
        parse_all_data_csv(write(tmp_path, header=header))


def test_required_columns_are_the_real_names() -> None:
    assert REQUIRED_COLUMNS[0] == "Indicator ID" and "Lower CI 99.8 limit" in REQUIRED_COLUMNS
    assert set(REQUIRED_COLUMNS) <= set(HEADER.split(","))


def test_bad_number_is_located(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[2] = rows[2].replace(",8.9,7.9,", ",8.9,n/a,")
    path = write(tmp_path, rows=rows)
    with pytest.raises(FingertipsParseError) as info:
        parse_all_data_csv(path)
    msg = str(info.value)
    assert str(path) in msg and "line 4" in msg and "Lower CI 95.0 limit" in msg and "'n/a'" in msg


def test_bad_integer_is_located(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[1] = rows[1].replace("20210000", "2021/22")
    with pytest.raises(FingertipsParseError, match=r"line 3: column 'Time period Sortable': '2021/22'"):
        parse_all_data_csv(write(tmp_path, rows=rows))


def test_ragged_row_is_an_error(tmp_path: Path) -> None:
    rows = [*ROWS, "20401,too,short"]
    with pytest.raises(FingertipsParseError, match="columns"):
        parse_all_data_csv(write(tmp_path, rows=rows))


def test_empty_and_header_only_files_give_zero_rows(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for path in (empty, write(tmp_path, rows=[], name="header.csv")):
        frame = parse_all_data_csv(path)
        assert len(frame) == 0
        assert {c: str(t) for c, t in frame.dtypes.items()} == EXPECTED_DTYPES


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FingertipsParseError, match="file not found"):
        parse_all_data_csv(tmp_path / "nope.csv")


def test_duplicate_columns_rejected(tmp_path: Path) -> None:
    header = HEADER.replace("Time period range", "Value")
    with pytest.raises(FingertipsParseError, match="more than once"):
        parse_all_data_csv(write(tmp_path, header=header))


# Issue 10: the pipeline parses leniently so one indicator's bad field quarantines only that indicator -------


def test_lenient_parse_notes_bad_fields_per_row_instead_of_failing(tmp_path: Path) -> None:
    rows = list(ROWS)
    rows[2] = rows[2].replace(",8.9,7.9,", ",8.9,n/a,")
    rows[1] = rows[1].replace("20210000", "2021/22")
    frame = parse_all_data_csv(write(tmp_path, rows=rows), strict=False)
    assert len(frame) == 4
    notes = frame["unparsed_fields"].tolist()
    assert notes[0] is pd.NA or notes[0] is None
    assert notes[1] == "Time period Sortable: '2021/22'" and pd.isna(frame.loc[1, "time_period_sortable"])
    assert notes[2] == "Lower CI 95.0 limit: 'n/a'" and pd.isna(frame.loc[2, "lower_ci_95"])
    assert frame.loc[2, "value"] == 8.9
    assert {c: str(t) for c, t in frame.drop(columns="unparsed_fields").dtypes.items()} == EXPECTED_DTYPES


def test_missing_rows_are_described_with_the_url(tmp_path: Path) -> None:
    from public_health.fingertips.parse import describe_missing_rows

    url = "http://stub/api/all_data/csv/by_indicator_id?indicator_ids=20401,90362"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header = write(tmp_path, rows=[], name="header.csv")
    other = write(tmp_path, name="other.csv")
    msg = describe_missing_rows(parse_all_data_csv(empty, strict=False), 20401, empty, url)
    assert url in msg and "an empty body" in msg and "20401" in msg
    assert "only the CSV header" in describe_missing_rows(parse_all_data_csv(header), 20401, header, url)
    assert "none of them for indicator 90362" in describe_missing_rows(parse_all_data_csv(other), 90362, other, url)


def test_an_indicators_rows_are_copied_as_received(tmp_path: Path) -> None:
    from public_health.fingertips.parse import write_indicator_rows

    other = ROWS[0].replace("20401,", "90362,", 1)
    path = write(tmp_path, rows=[ROWS[0], other, ROWS[1]])
    kept = write_indicator_rows(path, 20401, tmp_path / "q" / "rows.csv").read_bytes()
    lines = kept.split(b"\r\n")
    assert lines[0].decode() == HEADER and len([x for x in lines[1:] if x]) == 2
    assert all(x.startswith(b"20401,") for x in lines[1:] if x)
