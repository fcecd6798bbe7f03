"""Staging a parsed Fingertips batch for the gate: one indicator's rows, the derived columns its rules read, and
content hashes.

The gate (``include/expectations/fingertips_indicator_values.json``) only checks columns; what a rule needs
beyond the published columns is computed here, once, so the suite stays plain data:

* ``period_parses``: the time period is in a form :mod:`public_health.periods` knows.
* ``ci_95_inverted`` / ``ci_99_8_inverted``: the interval's lower limit is above its upper limit (text naming
  both limits, empty when fine). Wrong whatever the publisher's conventions.
* ``lower_ci_95_above_value`` (and the upper and 99.8% variants): on an ordinary row (no category type) the
  value lies outside its own interval by more than the rounding of the published digits allows.
* ``value_outside_ci_by_rounding``: the value lies outside its interval by no more than that rounding (value
  15.6 published to one decimal, upper limit 15.59 to two: the unrounded value may be 15.58). Fingertips
  rounds values and limits separately; a warning, not an error.
* ``category_value_outside_ci``: a category row (deprivation decile, ethnic group ... : ``category_type`` not
  empty) whose interval does not surround its value. Such rows are published with intervals of their own
  construction; a warning.
* ``suppressed_value``: no value, with a value note saying why (disclosure control, quality): a warning.

The rounding allowed between a value and a limit is half a unit in the last published digit of each (the
digits are recovered from the parsed number: the shortest decimal that reads back as it).

The work is columnar (Arrow and numpy): a text is only written for a row a rule flags. :func:`stage_table`
stages an Arrow table (the pipeline's way); :func:`stage_frame` the same for a pandas frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from public_health.periods import try_parse_period

#: Columns added here (never loaded: the load takes the fact columns only).
DERIVED_COLUMNS = (
    "period_parses",
    "ci_95_inverted",
    "ci_99_8_inverted",
    "lower_ci_95_above_value",
    "upper_ci_95_below_value",
    "lower_ci_99_8_above_value",
    "upper_ci_99_8_below_value",
    "value_outside_ci_by_rounding",
    "category_value_outside_ci",
    "suppressed_value",
)
_MAX_DECIMALS = 12
_LIMITS = (("lower_ci_95", "95%"), ("upper_ci_95", "95%"), ("lower_ci_99_8", "99.8%"), ("upper_ci_99_8", "99.8%"))
_NUMBERS = ("value", *(c for c, _ in _LIMITS))
_TEXTS = ("time_period", "category_type", "category", "value_note")


def rounding_of(values: np.ndarray) -> np.ndarray:
    """Half a unit in the last decimal place each number was published with (NaN stays NaN)."""
    out = np.full(values.shape, np.nan)
    todo = np.flatnonzero(~np.isnan(values))
    for d in range(_MAX_DECIMALS + 1):
        if not len(todo):
            break
        v = values[todo]
        exact = np.abs(np.round(v, d) - v) <= 1e-9 * np.maximum(1.0, np.abs(v))
        out[todo[exact]] = 0.5 * 10.0**-d
        todo = todo[~exact]
    out[todo] = 0.5 * 10.0**-_MAX_DECIMALS
    return out


def _g(x: float) -> str:
    return f"{x:g}"


def _texts_at(n: int, where: np.ndarray, texts: list[str | None]) -> pa.Array:
    """A text column of ``n`` rows: ``texts`` at the positions ``where``, null elsewhere."""
    if not len(where):
        return pa.nulls(n, pa.string())
    out = np.full(n, None, dtype=object)
    out[where] = texts
    return pa.array(out, pa.string())


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Numbers as float64 with NaN for a missing value."""
    return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")


def _derived(columns: pa.Table) -> dict[str, pa.Array]:
    """The derived columns from ``columns``: time_period, category_type, category, value_note (text) and value
    and the four limits (numbers)."""
    n = columns.num_rows
    period = columns.column("time_period")
    labels = [x for x in pc.unique(period).to_pylist() if x is not None]
    known = pa.array([label for label in labels if try_parse_period(label) is not None], pa.string())
    derived: dict[str, pa.Array] = {
        "period_parses": pc.fill_null(pc.is_in(period, value_set=known), False).combine_chunks()
    }

    value = _floats(columns.column("value"))
    limits = {col: _floats(columns.column(col)) for col, _ in _LIMITS}
    category_type = columns.column("category_type")
    category = pc.not_equal(pc.utf8_trim_whitespace(pc.fill_null(category_type, "")), "")
    category = np.asarray(category.to_numpy(zero_copy_only=False), dtype=bool)

    for level, lo_col, hi_col in (("95", "lower_ci_95", "upper_ci_95"), ("99_8", "lower_ci_99_8", "upper_ci_99_8")):
        lo, hi = limits[lo_col], limits[hi_col]
        where = np.flatnonzero(lo > hi)   # NaN compares False: a missing limit is not an inverted interval
        derived[f"ci_{level}_inverted"] = _texts_at(
            n, where, [f"lower limit {_g(a)} > upper limit {_g(b)}" for a, b in zip(lo[where], hi[where], strict=True)]
        )

    rounding_note: dict[int, str] = {}    # row -> text, the first limit that flags it wins
    category_note: dict[int, str | None] = {}
    for col, level in _LIMITS:
        limit = limits[col]
        lower = col.startswith("lower")
        gap = (limit - value) if lower else (value - limit)   # > 0: the value is outside the limit
        side = "below lower" if lower else "above upper"
        name = f"{col}_above_value" if lower else f"{col}_below_value"
        outside = np.flatnonzero(gap > 0)                     # NaN compares False
        if not len(outside):
            derived[name] = pa.nulls(n, pa.string())
            continue
        allowed = rounding_of(value[outside]) + rounding_of(limit[outside])
        g = gap[outside]
        is_category = category[outside]
        text = {int(i): f"value {_g(value[i])} {side} {level} limit {_g(limit[i])}" for i in outside}
        beyond = outside[(g > allowed + 1e-12) & ~is_category]
        derived[name] = _texts_at(n, beyond, [text[int(i)] for i in beyond])
        for i, a in zip(outside[(g <= allowed + 1e-12) & ~is_category],
                        allowed[(g <= allowed + 1e-12) & ~is_category], strict=True):
            rounding_note.setdefault(int(i), f"{text[int(i)]} (within rounding {_g(a)})")
        in_category = outside[is_category]
        if len(in_category):
            types = category_type.take(pa.array(in_category)).to_pylist()
            names = columns.column("category").take(pa.array(in_category)).to_pylist()
            for i, t, c in zip(in_category, types, names, strict=True):
                # a category without its text has no note (as pandas' str.cat leaves it missing)
                category_note.setdefault(int(i), None if t is None or c is None else
                                         f"{text[int(i)]} (category {t}: {c})")
    rows = np.fromiter(rounding_note, dtype=np.int64, count=len(rounding_note))
    derived["value_outside_ci_by_rounding"] = _texts_at(n, rows, list(rounding_note.values()))
    rows = np.fromiter(category_note, dtype=np.int64, count=len(category_note))
    derived["category_value_outside_ci"] = _texts_at(n, rows, list(category_note.values()))

    note = columns.column("value_note")
    suppressed = pc.and_(pa.array(np.isnan(value)), pc.is_valid(note))
    derived["suppressed_value"] = pc.if_else(suppressed, note, pa.scalar(None, pa.string())).combine_chunks()
    return {name: derived[name] for name in DERIVED_COLUMNS}


def stage_table(rows: pa.Table) -> pa.Table:
    """``rows`` (an Arrow table from :func:`~public_health.fingertips.parse.read_all_data_csv`, or one indicator's
    slice of it) with the derived columns appended."""
    needed = rows.select([*_TEXTS, *_NUMBERS])
    out = rows
    for name, column in _derived(needed).items():
        out = out.append_column(name, column)
    return out


def stage_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (from :func:`~public_health.fingertips.parse.parse_all_data_csv`) with the derived columns."""
    texts = {c: pa.array(frame[c].astype(object).to_numpy(), pa.string(), from_pandas=True) for c in _TEXTS}
    numbers = {c: pa.array(pd.to_numeric(frame[c], errors="coerce").astype("float64").to_numpy(na_value=np.nan),
                           pa.float64()) for c in _NUMBERS}
    out = frame.copy()
    for name, column in _derived(pa.table({**texts, **numbers})).items():
        if name == "period_parses":
            out[name] = pd.Series(np.asarray(column.to_numpy(zero_copy_only=False), dtype=bool), index=frame.index)
        else:
            out[name] = pd.Series(pd.array(column.to_pylist(), dtype=pd.StringDtype("pyarrow")), index=frame.index)
    return out


# One indicator's rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorRows:
    """The rows of one indicator (``None``: rows without a readable indicator id) in published order, and the
    position of each in the file's body (0 is the first line after the header)."""

    indicator_id: int | None
    table: pa.Table
    positions: np.ndarray


def split_by_indicator(table: pa.Table) -> list[IndicatorRows]:
    """``table`` cut into one :class:`IndicatorRows` per indicator id (rows without one last). Rows keep their
    order; an indicator published in one run of lines (as Fingertips writes them) is a slice, not a copy."""
    n = table.num_rows
    if not n:
        return []
    ids = table.column("indicator_id")
    valid = np.asarray(ids.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.asarray(pc.fill_null(ids, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    starts = np.concatenate(([0], np.flatnonzero((values[1:] != values[:-1]) | (valid[1:] != valid[:-1])) + 1))
    ends = np.append(starts[1:], n)
    keys = [(int(values[s]) if valid[s] else None) for s in starts]
    if len(set(keys)) == len(keys):   # each indicator in one run: zero-copy slices
        groups = [IndicatorRows(k, table.slice(s, e - s), np.arange(s, e)) for k, s, e in zip(keys, starts, ends,
                                                                                              strict=True)]
    else:
        order = np.lexsort((values, ~valid))   # stable: published order within each indicator, nulls last
        v, ok = values[order], valid[order]
        starts = np.concatenate(([0], np.flatnonzero((v[1:] != v[:-1]) | (ok[1:] != ok[:-1])) + 1))
        ends = np.append(starts[1:], n)
        groups = []
        for s, e in zip(starts, ends, strict=True):
            positions = order[s:e]
            groups.append(IndicatorRows(int(v[s]) if ok[s] else None, table.take(pa.array(positions)), positions))
    return sorted(groups, key=lambda g: (g.indicator_id is None, g.indicator_id or 0))


# Content hashes ---------------------------------------------------------------------------------

_MISSING = np.uint64(np.iinfo(np.uint64).max)


def _as_table(rows: pa.Table | pd.DataFrame, columns: list[str]) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows.select(columns)
    return pa.Table.from_pandas(rows[columns], preserve_index=False)


def _value_hashes(column: pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each value of ``column`` (by type: text by its UTF-8, numbers by value; null apart)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    n = len(column)
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        target = pa.int64()
    elif pa.types.is_floating(kind):
        target = pa.float64()
    elif pa.types.is_null(kind):
        return np.full(n, _MISSING, dtype=np.uint64)
    else:
        target = None
    if target is not None:   # numbers: hashed by their 64-bit value (pandas' hash, NaN and -0.0 canonical)
        values = pc.fill_null(column.cast(target), 0).to_numpy(zero_copy_only=False)
        out = pd.util.hash_array(np.asarray(values))
    else:                    # text (or anything else as text): each distinct value hashed once
        encoded = pc.dictionary_encode(column if pa.types.is_string(kind) or pa.types.is_large_string(kind)
                                       else column.cast(pa.string()))
        uniques = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        hashed = pd.util.hash_array(uniques, categorize=False) if len(uniques) else np.zeros(1, np.uint64)
        out = hashed.take(np.asarray(pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False)))
    if column.null_count:
        out[np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = _MISSING
    return out


def _combine(arrays: Iterable[np.ndarray], n: int) -> np.ndarray:
    """One hash per row from each column's (the tuple hash of CPython, as pandas combines columns)."""
    out = np.full(n, 0x345678, dtype=np.uint64)
    mult = np.uint64(1000003)
    arrays = list(arrays)
    for i, a in enumerate(arrays):
        inverse = len(arrays) - i
        out ^= a
        out *= mult
        mult = np.uint64(int(mult) + 82520 + inverse + inverse)
    out += np.uint64(97531)
    return out


def content_sha256(rows: pa.Table | pd.DataFrame, columns: list[str]) -> str:
    """sha256 of the rows' published content (``columns`` in order, rows in published order, each value by its
    type): equal hashes mean the indicator's content did not change."""
    table = _as_table(rows, columns)
    digest = hashlib.sha256(("typed:" + ",".join(columns)).encode("utf-8"))
    if table.num_rows:
        combined = _combine((_value_hashes(table.column(c)) for c in columns), table.num_rows)
        digest.update(combined.tobytes())
    return digest.hexdigest()


def legacy_content_sha256(rows: pa.Table | pd.DataFrame, columns: list[str]) -> str:
    """The content hash as recorded before :func:`content_sha256` (every value as the text pandas gives it). The
    refresh computes it only when the hash on record for an indicator is not the current one, so content recorded
    before still counts as unchanged (or still held) rather than new."""
    from public_health.fingertips.parse import to_frame

    frame = to_frame(rows.select(columns)) if isinstance(rows, pa.Table) else rows
    digest = hashlib.sha256(",".join(columns).encode("utf-8"))
    if len(frame):
        hashed = pd.util.hash_pandas_object(frame[columns].astype(str), index=False)
        digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()
