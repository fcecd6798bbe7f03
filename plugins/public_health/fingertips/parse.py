"""Parse the Fingertips ``all_data/csv`` CSV into a typed Arrow table (or a pandas frame).

The header is checked first (missing columns are named); the body is read once with pyarrow's multithreaded
CSV reader with each column's type given (whole numbers, numbers, text), so the numbers never exist as text.
Only when a numeric field does not read as a number is the body read again as text and cast column by column,
so that the value can be reported with its file, line, column and text. With ``strict=False`` (the pipeline's
mode) a field that is not a number does not stop the file: it becomes empty and the row's
``unparsed_fields`` names the column and the text, so the gate can quarantine just that indicator.
The comparator column whose name follows the parent area
type (``Compared to Region value or percentiles``, ``Compared to percentiles`` when the parent is England)
becomes ``compared_to_parent``, with the area type recorded in ``compared_to_parent_label``.

:func:`read_all_data_csv` gives the Arrow table the pipeline keeps columnar down to the warehouse;
:func:`parse_all_data_csv` the same rows as a pandas frame (nullable dtypes) for everything else.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

log = logging.getLogger(__name__)


class FingertipsParseError(ValueError):
    """The file is not a Fingertips all_data CSV as expected. The message names the file (and line)."""


# Real header name -> output column, in output order (the parent comparator is handled separately).
_STRING = "string"
_INT = "int"
_FLOAT = "float"

REQUIRED_COLUMNS: tuple[str, ...] = (
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type", "Sex",
    "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit",
    "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("Time period Sortable", "New data", "Compared to goal", "Time period range")
ENGLAND_COMPARATOR = "Compared to England value or percentiles"
_PARENT_COMPARATOR = re.compile(r"^Compared to (?:(?P<label>.+) value or percentiles|percentiles)$")
_ALIASES = {"Target data": "Compared to goal"}  # older API versions

OUTPUT_COLUMNS: list[tuple[str, str, str | None]] = [
    # (output name, kind, source header or None for derived)
    ("indicator_id", _INT, "Indicator ID"),
    ("indicator_name", _STRING, "Indicator Name"),
    ("parent_code", _STRING, "Parent Code"),
    ("parent_name", _STRING, "Parent Name"),
    ("area_code", _STRING, "Area Code"),
    ("area_name", _STRING, "Area Name"),
    ("area_type", _STRING, "Area Type"),
    ("sex", _STRING, "Sex"),
    ("age", _STRING, "Age"),
    ("category_type", _STRING, "Category Type"),
    ("category", _STRING, "Category"),
    ("time_period", _STRING, "Time period"),
    ("time_period_sortable", _INT, "Time period Sortable"),
    ("value", _FLOAT, "Value"),
    ("lower_ci_95", _FLOAT, "Lower CI 95.0 limit"),
    ("upper_ci_95", _FLOAT, "Upper CI 95.0 limit"),
    ("lower_ci_99_8", _FLOAT, "Lower CI 99.8 limit"),
    ("upper_ci_99_8", _FLOAT, "Upper CI 99.8 limit"),
    ("count", _FLOAT, "Count"),
    ("denominator", _FLOAT, "Denominator"),
    ("value_note", _STRING, "Value note"),
    ("recent_trend", _STRING, "Recent Trend"),
    ("compared_to_england", _STRING, ENGLAND_COMPARATOR),
    ("compared_to_parent", _STRING, None),
    ("compared_to_parent_label", _STRING, None),
    ("compared_to_goal", _STRING, "Compared to goal"),
    ("new_data", _STRING, "New data"),
    ("time_period_range", _STRING, "Time period range"),
]
# Empty text stays "" (not NA) in these columns; elsewhere an empty field is NA.
_KEEP_EMPTY = {"category_type", "category"}

_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_INTEGER = r"^\s*[-+]?\d+\s*$"

_PANDAS_TYPES = {pa.string(): pd.StringDtype("pyarrow"), pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}


def _where(path: Path, source_url: str | None) -> str:
    return f"{path}" + (f" (downloaded from {source_url})" if source_url else "")


def _read_header(path: Path, source_url: str | None) -> list[str] | None:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise FingertipsParseError(f"{_where(path, source_url)}: line 1: not UTF-8 text ({exc})") from exc
    if not first.strip():
        return None
    header = next(csv.reader([first]))
    return [h.strip() for h in header]


def _cast_lenient(col: pa.ChunkedArray, kind: str, header_name: str, problems: dict[int, list[str]]) -> pa.Array:
    """Cast what parses; a field that does not becomes null and is noted in ``problems`` (row -> texts)."""
    trimmed = pc.utf8_trim_whitespace(col)
    nulled = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    target = pa.int64() if kind == _INT else pa.float64()
    try:
        return pc.cast(nulled, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    pattern = _INTEGER if kind == _INT else _NUMBER
    ok = pc.or_(pc.is_null(nulled), pc.match_substring_regex(nulled, pattern)).combine_chunks()
    for i in pc.indices_nonzero(pc.invert(ok)).to_pylist():
        problems.setdefault(i, []).append(f"{header_name}: {col[i].as_py()!r}")
    cleaned = pc.if_else(ok, nulled, pa.scalar(None, pa.string()))
    try:
        return pc.cast(cleaned, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. an integer too large: every text is a problem
        for i in range(len(col)):
            if col[i].as_py():
                problems.setdefault(i, []).append(f"{header_name}: {col[i].as_py()!r}")
        return pa.nulls(len(col), target)


def _cast(col: pa.ChunkedArray, kind: str, header_name: str, path: Path, source_url: str | None) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(col)
    nulled = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    target = pa.int64() if kind == _INT else pa.float64()
    try:
        return pc.cast(nulled, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        pattern = _INTEGER if kind == _INT else _NUMBER
        ok = pc.or_(pc.is_null(nulled), pc.match_substring_regex(nulled, pattern)).combine_chunks()
        bad = pc.index(ok, False).as_py()
        if bad is None or bad < 0:
            raise FingertipsParseError(
                f"{_where(path, source_url)}: column {header_name!r}: values are not "
                f"{'whole numbers' if kind == _INT else 'numbers'} ({exc})"
            ) from exc
        value = col[bad].as_py()
        expected = "a whole number" if kind == _INT else "a number (or an empty field)"
        raise FingertipsParseError(
            f"{_where(path, source_url)}: line {bad + 2}: column {header_name!r}: {value!r} is not {expected}"
        ) from None


_ARROW_TYPES = {_INT: pa.int64(), _FLOAT: pa.float64(), _STRING: pa.string()}


def _empty_table(strict: bool) -> pa.Table:
    fields = [pa.field(name, _ARROW_TYPES[kind]) for name, kind, _ in OUTPUT_COLUMNS]
    if not strict:
        fields.append(pa.field("unparsed_fields", pa.string()))
    return pa.schema(fields).empty_table()


def _read_body(path: Path, header: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    """The body with the given column types; an empty field is null (text columns included)."""
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=16 << 20, encoding="utf8"),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
        ),
    )


def _parent_comparator(header: list[str], path: Path, source_url: str | None) -> tuple[str, str | None]:
    """The parent comparator column of a checked header, and the parent area type its name gives."""
    parent_cols = [h for h in header if h != ENGLAND_COMPARATOR and _PARENT_COMPARATOR.match(h)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if not parent_cols:
        missing.append("Compared to <parent area type> value or percentiles")
    if missing:
        raise FingertipsParseError(
            f"{_where(path, source_url)}: line 1: the header lacks required Fingertips column(s) {missing}; "
            f"expected the all_data CSV header (found {header})"
        )
    if len(parent_cols) > 1:
        raise FingertipsParseError(f"{_where(path, source_url)}: line 1: more than one parent comparator column: "
                                   f"{parent_cols}")
    match = _PARENT_COMPARATOR.match(parent_cols[0])
    return parent_cols[0], (match.group("label") if match else None)


def read_all_data_csv(path: Path, source_url: str | None = None, *, strict: bool = True) -> pa.Table:
    """Read a Fingertips all_data CSV into an Arrow table (columns of ``OUTPUT_COLUMNS``: int64, float64 and
    string; plus ``unparsed_fields`` when not ``strict``); see the module docstring. Raises FingertipsParseError
    for a file that is not that CSV (header, shape) and, when ``strict``, for the first field that is not a
    number; otherwise such fields are listed per row in the extra column ``unparsed_fields``."""
    path = Path(path)
    if not path.exists():
        raise FingertipsParseError(f"{_where(path, source_url)}: file not found")
    header = _read_header(path, source_url)
    if header is None:
        log.info("%s is empty: no rows", path)
        return _empty_table(strict)
    header = [_ALIASES.get(h, h) for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FingertipsParseError(f"{_where(path, source_url)}: line 1: columns named more than once: {dupes}")
    parent_col, parent_label = _parent_comparator(header, path, source_url)

    kinds = {source: kind for _, kind, source in OUTPUT_COLUMNS if source is not None}
    typed = {h: _ARROW_TYPES[kinds.get(h, _STRING)] for h in header}
    try:
        try:
            table = _read_body(path, header, typed)   # the usual case: every number reads as one
            as_text = False
        except pa.ArrowInvalid:                       # a field is not a number: read as text to say which
            table = _read_body(path, header, dict.fromkeys(header, pa.string()))
            as_text = True
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FingertipsParseError(
            f"{_where(path, source_url)}: not a well-formed CSV with the {len(header)} columns of its header: {exc}"
        ) from exc
    n = table.num_rows
    problems: dict[int, list[str]] = {}
    columns: dict[str, pa.ChunkedArray | pa.Array] = {}
    for name, kind, source in OUTPUT_COLUMNS:
        if name == "compared_to_parent":
            source = parent_col
        if name == "compared_to_parent_label":
            columns[name] = (pa.repeat(pa.scalar(parent_label, pa.string()), n) if parent_label
                             else pa.nulls(n, pa.string()))
            continue
        if source is None or source not in header:
            columns[name] = pa.nulls(n, _ARROW_TYPES[kind])
            continue
        col = table.column(source)
        if kind == _STRING:
            columns[name] = pc.fill_null(col, "") if name in _KEEP_EMPTY else col
        elif not as_text:
            columns[name] = col
        else:
            text = pc.fill_null(col, "")   # the text reader made empty fields null; the casts expect ""
            columns[name] = (_cast(text, kind, source, path, source_url) if strict
                             else _cast_lenient(text, kind, source, problems))
    if not strict:
        if problems:
            notes = [None] * n
            for i, texts in problems.items():
                notes[i] = "; ".join(texts)
            columns["unparsed_fields"] = pa.array(notes, pa.string())
        else:
            columns["unparsed_fields"] = pa.nulls(n, pa.string())
    out = pa.table(columns)
    log.info("parsed %s: %d rows, %d indicators; parent comparator %r", path.name, n,
             pc.count_distinct(out.column("indicator_id")).as_py(), parent_col)
    return out


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An all_data table (from :func:`read_all_data_csv`) as pandas: nullable Int64 / Float64 and Arrow strings."""
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get)


def parse_all_data_csv(path: Path, source_url: str | None = None, *, strict: bool = True) -> pd.DataFrame:
    """:func:`read_all_data_csv` as a pandas frame (see :func:`to_frame`)."""
    return to_frame(read_all_data_csv(path, source_url, strict=strict))


def describe_missing_rows(frame: pd.DataFrame | pa.Table, indicator_id: int, path: Path, source_url: str | None) -> str:
    """Why an indicator Fingertips says has data has no rows in a download: an empty body, a header-only CSV or
    a file without that indicator's rows (``frame``: the rows read, a pandas frame or an Arrow table). The
    message names the URL (and the landed file)."""
    url = source_url or str(path)
    size = Path(path).stat().st_size if Path(path).exists() else 0
    if size == 0:
        what = "an empty body (0 bytes)"
    elif len(frame) == 0:
        what = "only the CSV header and no rows"
    else:
        what = f"{len(frame)} rows, none of them for indicator {indicator_id}"
    return (
        f"GET {url} answered HTTP 200 with {what}, although Fingertips lists data uploaded for indicator "
        f"{indicator_id} (landed as {path}). Nothing of the indicator was loaded and its last-upload date in the "
        "warehouse is unchanged, so the next run fetches it again; if it persists, check the indicator and area "
        "types at https://fingertips.phe.org.uk and report it to the Fingertips team with this URL."
    )


def write_indicator_rows(path: Path, indicator_id: int, dest: Path) -> Path:
    """Copy the header and the lines of one indicator (first field = its id), bytes as received, to ``dest``:
    the rows a person sends the publisher. Returns ``dest``."""
    prefix = f"{indicator_id},".encode()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "rb") as src, open(dest, "wb") as out:
        first = src.readline()
        out.write(first)
        for line in src:
            if line.lstrip(b"\xef\xbb\xbf").startswith(prefix):
                out.write(line)
    return dest
