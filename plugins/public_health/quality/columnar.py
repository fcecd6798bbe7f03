"""A suite's expectations evaluated column by column over an Arrow table, with Great Expectations' semantics.

Great Expectations' pandas engine builds a metric graph (pydantic models, per-row Python for some metrics)
for every validation: about half a second per call plus about 0.7 s per 100,000 rows here. The Fingertips gate
checks every indicator of a national download that way. This module evaluates the expectation types such
suites use as whole-column Arrow / numpy operations and reads only the first examples of what fails, giving
the same outcome as Great Expectations (``tests/unit/test_gate_columnar.py`` runs both on the same rows):

* ``expect_table_columns_to_match_set`` (``column_set``, ``exact_match``): observed value = the sorted columns;
* ``expect_column_values_to_be_null`` / ``expect_column_values_to_not_be_null`` (``column``);
* ``expect_column_values_to_be_between`` (``column``, ``min_value``, ``max_value``, ``strict_min``,
  ``strict_max``) and ``expect_column_values_to_be_in_set`` (``column``, ``value_set``): missing values are
  not checked;
* ``expect_compound_columns_to_be_unique`` (``column_list``): every row of a duplicated key is unexpected
  (missing equals missing), rows whose key is all missing are not checked.

A missing value in an example reads as Great Expectations shows it for the parser's nullable columns: ``<NA>``
(``None`` inside a compound key).

Anything else (another type or argument, a column the table lacks, a ``$PARAMETER`` not supplied, a value set of
another type than its column) is not guessed at: :func:`validate_table` returns None and the caller runs Great
Expectations itself on the rows as pandas (:meth:`TableRows.to_pandas`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .gate import MAX_EXAMPLES, ExpectationOutcome, ValidationOutcome, _column_of, _jsonable

#: How Great Expectations shows a missing value of a pandas nullable column in its examples.
MISSING = str(pd.NA)

_KWARGS = {
    "expect_table_columns_to_match_set": {"column_set", "exact_match"},
    "expect_column_values_to_be_null": {"column"},
    "expect_column_values_to_not_be_null": {"column"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_values_to_be_in_set": {"column", "value_set"},
    "expect_compound_columns_to_be_unique": {"column_list"},
}
_PANDAS_TYPES = {pa.string(): pd.StringDtype("pyarrow"), pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}


class Unsupported(Exception):
    """An expectation this module does not evaluate exactly as Great Expectations would."""


@dataclass(frozen=True)
class TableRows:
    """Rows to validate: an Arrow table and each row's label (as a pandas index: e.g. its position in the
    source file), None for 0, 1, 2 ..."""

    table: pa.Table
    index: np.ndarray | None = None

    def label(self, position: int) -> Any:
        return position if self.index is None else self.index[position].item()

    def to_pandas(self) -> pd.DataFrame:
        """The rows as pandas (nullable dtypes, Arrow-backed text) with their labels as the index."""
        frame = self.table.to_pandas(types_mapper=_PANDAS_TYPES.get)
        if self.index is not None:
            frame.index = pd.Index(self.index)
        return frame


@dataclass(frozen=True)
class _Result:
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    examples: tuple[tuple[Any, int], ...] = ()   # (value, row position), at most MAX_EXAMPLES


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        name = value["$PARAMETER"]
        if name not in parameters:
            raise Unsupported(f"parameter {name!r} not supplied")
        return parameters[name]
    return value


def _column(table: pa.Table, name: Any) -> pa.Array:
    if not isinstance(name, str) or name not in table.column_names:
        raise Unsupported(f"no column {name!r}")
    column = table.column(name).combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column


def _missing(column: pa.Array) -> np.ndarray:
    """True where pandas sees a missing value (null, and NaN in a float column)."""
    nan_is_null = pa.types.is_floating(column.type)
    return np.asarray(pc.is_null(column, nan_is_null=nan_is_null).to_numpy(zero_copy_only=False), dtype=bool)


def _values(column: pa.Array, positions: np.ndarray, missing: Any = MISSING) -> list[Any]:
    taken = column.take(pa.array(positions, pa.int64())).to_pylist()
    return [missing if v is None or (isinstance(v, float) and v != v) else v for v in taken]


def _map_result(column: pa.Array, unexpected: np.ndarray) -> _Result:
    where = np.flatnonzero(unexpected)
    first = where[:MAX_EXAMPLES]
    return _Result(not len(where), len(column), int(len(where)), None,
                   tuple(zip(_values(column, first), first.tolist(), strict=True)))


def _table_columns(table: pa.Table, kwargs: dict[str, Any]) -> _Result:
    column_set, exact = kwargs.get("column_set"), kwargs.get("exact_match")
    if not isinstance(column_set, (list, tuple, set)) or not isinstance(exact, bool):
        raise Unsupported("column_set must be a list and exact_match given")
    actual, expected = set(table.column_names), set(column_set)
    success = not (expected - actual) and (not exact or not (actual - expected))
    return _Result(success, observed_value=sorted(actual))


def _between(column: pa.Array, kwargs: dict[str, Any]) -> _Result:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    strict_low, strict_high = kwargs.get("strict_min", False), kwargs.get("strict_max", False)
    numbers = (low, high)
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise Unsupported("between on a column that is not numeric")
    if all(v is None for v in numbers) or any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)))
                                              for v in numbers):
        raise Unsupported("min_value / max_value must be numbers")
    if not isinstance(strict_low, bool) or not isinstance(strict_high, bool):
        raise Unsupported("strict_min / strict_max must be true or false")
    missing = _missing(column)
    values = np.asarray(pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False))
    inside = np.ones(len(values), dtype=bool)
    if low is not None:
        inside &= (values > low) if strict_low else (values >= low)
    if high is not None:
        inside &= (values < high) if strict_high else (values <= high)
    return _map_result(column, ~inside & ~missing)


def _in_set(column: pa.Array, kwargs: dict[str, Any]) -> _Result:
    value_set = kwargs.get("value_set")
    if not isinstance(value_set, (list, tuple, set)):
        raise Unsupported("value_set must be a list")
    try:
        allowed = pa.array(list(value_set), type=column.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
        raise Unsupported(f"value_set does not fit the column's type: {exc}") from exc
    inside = np.asarray(pc.fill_null(pc.is_in(column, value_set=allowed), False).to_numpy(zero_copy_only=False),
                        dtype=bool)
    return _map_result(column, ~inside & ~_missing(column))


def _compound_unique(table: pa.Table, kwargs: dict[str, Any]) -> _Result:
    names = kwargs.get("column_list")
    if not isinstance(names, (list, tuple)) or not names:
        raise Unsupported("column_list must be a list of columns")
    columns = [_column(table, c) for c in names]
    n = table.num_rows
    all_missing = np.ones(n, dtype=bool)
    # Each row's key as one integer: the columns' value codes in mixed radix (renumbered when it would overflow).
    key, radix = np.zeros(n, dtype=np.int64), 1
    for column in columns:
        missing = _missing(column)
        all_missing &= missing
        encoded = pc.dictionary_encode(column)
        codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64) + 1
        codes[missing] = 0                       # missing equals missing (NaN included)
        base = len(encoded.dictionary) + 1
        if radix * base >= 1 << 62:
            _, key = np.unique(key, return_inverse=True)
            key, radix = key.astype(np.int64).ravel(), int(key.max()) + 1
        key, radix = key * base + codes, radix * base
    checked = key[~all_missing]
    if radix <= max(4 * n, 1 << 16):   # a small key space: count without sorting
        duplicated = np.bincount(checked, minlength=radix)[key] > 1
    else:
        values, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.ravel()
        duplicated = np.bincount(inverse[~all_missing], minlength=len(values))[inverse] > 1
    unexpected = duplicated & ~all_missing
    where = np.flatnonzero(unexpected)
    first = where[:MAX_EXAMPLES]
    # a missing part of a key is None in Great Expectations' rows (not the text of a missing value)
    rows = [dict(zip(names, values, strict=True))
            for values in zip(*(_values(c, first, None) for c in columns), strict=True)]
    return _Result(not len(where), n, int(len(where)), None, tuple(zip(rows, first.tolist(), strict=True)))


def _evaluate(table: pa.Table, kind: str, kwargs: dict[str, Any]) -> _Result:
    if kind == "expect_table_columns_to_match_set":
        return _table_columns(table, kwargs)
    if kind == "expect_compound_columns_to_be_unique":
        return _compound_unique(table, kwargs)
    column = _column(table, kwargs.get("column"))
    if kind == "expect_column_values_to_be_null":
        return _map_result(column, ~_missing(column))
    if kind == "expect_column_values_to_not_be_null":
        return _map_result(column, _missing(column))
    if kind == "expect_column_values_to_be_between":
        return _between(column, kwargs)
    return _in_set(column, kwargs)


def _outcome(
    i: int, exp: dict[str, Any], result: _Result, rows: TableRows, where: tuple[int, str]
) -> ExpectationOutcome:
    meta = exp.get("meta", {})
    row_offset, row_label = where
    examples = []
    for value, position in result.examples:
        example: dict[str, Any] = {"value": _jsonable(value)}
        label = rows.label(position)
        if isinstance(label, int) and not isinstance(label, bool):
            example[row_label] = label + row_offset
        elif isinstance(label, str):
            example[row_label] = label
        examples.append(example)
    return ExpectationOutcome(
        index=i,
        expectation=exp["type"],
        column=_column_of(exp.get("kwargs", {})),
        severity=meta.get("severity", "error"),
        success=result.success,
        description=meta["description"],
        fix=meta.get("fix"),
        kwargs=_jsonable(dict(exp.get("kwargs", {}))),
        element_count=result.element_count,
        unexpected_count=result.unexpected_count,
        observed_value=_jsonable(result.observed_value),
        unexpected_examples=examples,
        rule=meta.get("rule"),
        why=meta.get("why"),
    )


def validate_table(suite_data: dict[str, Any], rows: TableRows, parameters: dict[str, Any] | None,
                   where: tuple[int, str] = (2, "line")) -> ValidationOutcome | None:
    """Evaluate the suite (``load_suite`` data) over ``rows``; examples name ``where[1]`` = label + ``where[0]``.
    None when an expectation is not one this module evaluates exactly (see the module docstring)."""
    started = time.perf_counter()
    parameters = parameters or {}
    outcomes = []
    try:
        for i, exp in enumerate(suite_data["expectations"]):
            kind, raw = exp.get("type"), exp.get("kwargs", {})
            if kind not in _KWARGS or not isinstance(raw, dict) or set(raw) - _KWARGS[kind]:
                raise Unsupported(f"expectations[{i}]: {kind} with {sorted(raw)}")
            kwargs = {k: _resolve(v, parameters) for k, v in raw.items()}
            outcomes.append(_outcome(i, exp, _evaluate(rows.table, kind, kwargs), rows, where))
    except Unsupported:
        return None
    return ValidationOutcome(suite_data["name"], rows.table.num_rows, outcomes, time.perf_counter() - started)
