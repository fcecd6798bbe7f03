"""Properties of the return parser: whatever a provider sends, the answer is a parsed return or a
ReturnParseError naming the file (and, for a bad cell, the sheet and cell), never another exception."""

from __future__ import annotations

import io
import math
import tempfile
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError

from public_health.periods import FinancialQuarter
from public_health.returns.cells import MISSING_REASONS, ReturnParseError, parse_value
from public_health.returns.parse import parse_return
from public_health.returns.template import KPI_FIRST_ROW, KPI_SHEET, SHEETS, Prefill, value_column, write_template
from tests.unit.return_standins import Kpi, Service

QUARTER = "2017-18-Q2"
NAME = f"sexual_health_{QUARTER}.xlsx"
UNITS = ("count", "percent", "rate", "score", "currency", "days")
PROPS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])




SH = Service(
    "sexual_health",
    "Integrated sexual health service",
    "A provider",
    kpis=[Kpi(f"sh_{unit}", f"A {unit} KPI", unit, target_kind="cumulative") for unit in UNITS],
)
SERVICES = {SH.code: SH}
_DIR = Path(tempfile.mkdtemp(prefix="return-props-"))
TEMPLATE = write_template(
    SH,
    FinancialQuarter.parse(QUARTER),
    _DIR / "template" / NAME,
    Prefill(
        figures={(k.code, QUARTER, "actual"): 1 for k in SH.kpis},
        comments=[("A comment", "A lead", "12/10/2017")],
        actions=[("An action", "31/01/2018")],
    ),
).read_bytes()
VALUE_CELLS = [
    (KPI_FIRST_ROW + i, value_column(q, m))
    for i in range(len(SH.kpis))
    for q in range(1, 5)
    for m in ("target", "actual", "actual_to_date")
]
_counter = iter(range(10**9))


def fresh_path(name: str = NAME) -> Path:
    folder = _DIR / str(next(_counter))
    folder.mkdir()
    return folder / name


def assert_names_file(err: ReturnParseError, path: Path) -> None:
    assert str(err).startswith(f"{path.name}: ") or str(err).startswith(f"{path.name}, "), str(err)
    assert err.file == path


cell_values = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="0123456789,.% -\u00a0\u2013eE+£", max_size=12),
    st.sampled_from(
        [
            "n/a",
            "TBC",
            "Not yet available",
            "redacted",
            "-",
            "90%",
            "0.96",
            "1,232",
            "=1+1",
            "=A1",
            "#DIV/0!",
            "#N/A",
            "NaN",
            "inf",
            "1e400",
            "\u0663",
            "12.5",
        ]
    ),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)),
    st.dates(min_value=datetime(1900, 3, 1).date()),
    st.booleans(),
)


@PROPS
@given(value=cell_values, where=st.sampled_from(VALUE_CELLS), percent_format=st.booleans())
def test_any_kpi_cell_value_parses_or_names_sheet_and_cell(value, where, percent_format):
    row, col = where
    coord = f"{get_column_letter(col)}{row}"
    wb = openpyxl.load_workbook(io.BytesIO(TEMPLATE))
    cell = wb[KPI_SHEET].cell(row=row, column=col)
    try:
        cell.value = value
    except IllegalCharacterError:
        assume(False)
    if percent_format:
        cell.number_format = "0%"
    path = fresh_path()
    wb.save(path)
    try:
        parsed = parse_return(path, SERVICES)
    except ReturnParseError as err:
        assert_names_file(err, path)
        assert f"sheet {KPI_SHEET}" in str(err) and f"cell {coord}" in str(err), str(err)
        assert (err.sheet, err.cell) == (KPI_SHEET, coord)
        return
    for v in parsed.values:
        assert (v.value is None) == (v.missing_reason is not None)
        assert v.missing_reason is None or v.missing_reason in MISSING_REASONS
        assert v.value is None or math.isfinite(v.value)
    assert len(parsed.frame()) == len(parsed.values)


@PROPS
@given(data=st.binary(max_size=3000), zip_magic=st.booleans())
def test_random_bytes_are_not_a_workbook(data, zip_magic):
    path = fresh_path()
    path.write_bytes((b"PK\x03\x04" if zip_magic else b"") + data)
    try:
        parse_return(path, SERVICES)
    except ReturnParseError as err:
        assert_names_file(err, path)
        assert "not a readable workbook" in str(err)
    else:
        raise AssertionError("random bytes parsed as a return")


@PROPS
@given(cut=st.integers(min_value=0, max_value=len(TEMPLATE) - 1))
def test_truncated_workbook_is_an_error_naming_the_file(cut):
    path = fresh_path()
    path.write_bytes(TEMPLATE[:cut])
    try:
        parse_return(path, SERVICES)
    except ReturnParseError as err:
        assert_names_file(err, path)
        assert "not a readable workbook" in str(err)
    else:
        raise AssertionError(f"a workbook cut at {cut} of {len(TEMPLATE)} bytes parsed")


@PROPS
@given(offset=st.integers(min_value=0, max_value=len(TEMPLATE) - 1), byte=st.integers(min_value=0, max_value=255))
def test_corrupted_byte_parses_or_names_the_file(offset, byte):
    data = bytearray(TEMPLATE)
    data[offset] = byte
    path = fresh_path()
    path.write_bytes(bytes(data))
    try:
        parse_return(path, SERVICES)
    except ReturnParseError as err:
        assert_names_file(err, path)


sheet_names = st.text(
    alphabet=st.characters(blacklist_characters="[]:*?/\\'", blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=31,
)


@PROPS
@given(sheet=st.sampled_from(SHEETS), delete=st.booleans(), new_name=sheet_names)
def test_deleted_or_renamed_sheets(sheet, delete, new_name):
    wb = openpyxl.load_workbook(io.BytesIO(TEMPLATE))
    assume(new_name not in wb.sheetnames)
    if delete:
        wb.remove(wb[sheet])
    else:
        wb[sheet].title = new_name
    path = fresh_path()
    try:
        wb.save(path)
    except (ValueError, IllegalCharacterError):
        assume(False)
    try:
        parse_return(path, SERVICES)
    except ReturnParseError as err:
        assert_names_file(err, path)
        assert sheet in str(err), str(err)
    else:
        # only the Instructions sheet is optional, and a rename that differs only in case/punctuation is tolerated
        key = "".join(c for c in new_name.casefold() if c.isascii() and c.isalnum())
        assert sheet == "Instructions" or (not delete and key == sheet.casefold()), (sheet, delete, new_name)


def _zip_without(member_prefix: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(TEMPLATE)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith(member_prefix):
                dst.writestr(item, src.read(item.filename))
    return out.getvalue()


@PROPS
@given(member=st.sampled_from(zipfile.ZipFile(io.BytesIO(TEMPLATE)).namelist()))
def test_workbook_missing_a_part(member):
    path = fresh_path()
    path.write_bytes(_zip_without(member))
    try:
        parse_return(path, SERVICES)
    except ReturnParseError as err:
        assert_names_file(err, path)


raw_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet="0123456789,.%£ -\u00a0\u2212eE+", max_size=15),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.datetimes(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    raw=raw_values,
    unit=st.sampled_from(UNITS),
    measure=st.sampled_from(["target", "actual", None]),
    number_format=st.sampled_from([None, "General", "0%", "0.0%", '0"%"', "@"]),
)
def test_parse_value_returns_or_raises_value_error(raw, unit, measure, number_format):
    kpi = Kpi("k", "k", unit)
    try:
        value, reason, note = parse_value(raw, kpi, number_format=number_format, measure=measure)
    except ValueError as exc:
        assert str(exc).startswith("expected"), str(exc)
        return
    assert (value is None) == (reason is not None)
    assert reason is None or reason in MISSING_REASONS
    if value is not None:
        assert isinstance(value, float) and math.isfinite(value)
        if unit == "count" and measure != "target":
            assert value.is_integer()
    assert note is None or isinstance(note, str)
    assert isinstance(raw, str | int | float | Decimal) or raw is None
