"""Staging a parsed Fingertips frame for the gate: the derived columns its rules read, and content hashes.

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
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

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


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def rounding_of(values: np.ndarray) -> np.ndarray:
    """Half a unit in the last decimal place each number was published with (NaN stays NaN)."""
    out = np.full(values.shape, np.nan)
    todo = ~np.isnan(values)
    for d in range(_MAX_DECIMALS + 1):
        if not todo.any():
            break
        exact = todo & (np.abs(np.round(values, d) - values) <= 1e-9 * np.maximum(1.0, np.abs(values)))
        out[exact] = 0.5 * 10.0**-d
        todo &= ~exact
    out[todo] = 0.5 * 10.0**-_MAX_DECIMALS
    return out


def _text(mask: np.ndarray, make: list[str] | pd.Series) -> pd.Series:
    return pd.Series(np.where(mask, make, None), dtype=object).astype(pd.StringDtype("pyarrow"))


def _fmt(a: np.ndarray) -> pd.Series:
    return pd.Series(a).map(lambda x: f"{x:g}")


def stage_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (from :func:`~public_health.fingertips.parse.parse_all_data_csv`) with the derived columns."""
    out = frame.copy()
    index = out.index
    labels = out["time_period"].dropna().unique()
    parses = {label: try_parse_period(label) is not None for label in labels}
    out["period_parses"] = out["time_period"].map(parses).fillna(False).astype(bool)

    value = _floats(out["value"])
    tol_value = rounding_of(value)
    category = out["category_type"].fillna("").astype(str).str.strip().ne("").to_numpy()
    limits = {col: _floats(out[col]) for col, _ in _LIMITS}
    tols = {col: rounding_of(a) for col, a in limits.items()}
    derived: dict[str, pd.Series] = {}
    for level, lo_col, hi_col in (("95", "lower_ci_95", "upper_ci_95"), ("99_8", "lower_ci_99_8", "upper_ci_99_8")):
        lo, hi = limits[lo_col], limits[hi_col]
        inverted = lo > hi  # NaN compares False: a missing limit is not an inverted interval
        derived[f"ci_{level}_inverted"] = _text(inverted, "lower limit " + _fmt(lo) + " > upper limit " + _fmt(hi))

    rounding_note = pd.Series([None] * len(out), dtype=object)
    category_note = pd.Series([None] * len(out), dtype=object)
    for col, level in _LIMITS:
        limit = limits[col]
        allowed = tol_value + tols[col]
        gap = (limit - value) if col.startswith("lower") else (value - limit)   # > 0: value outside the limit
        side = "below lower" if col.startswith("lower") else "above upper"
        text = "value " + _fmt(value) + f" {side} {level} limit " + _fmt(limit)
        beyond = (gap > allowed + 1e-12) & ~category
        within = (gap > 0) & (gap <= allowed + 1e-12) & ~category
        name = f"{col}_above_value" if col.startswith("lower") else f"{col}_below_value"
        derived[name] = _text(beyond, text)
        note = text + " (within rounding " + _fmt(allowed) + ")"
        rounding_note = rounding_note.where(~pd.Series(within) | rounding_note.notna(), note)
        outside = (gap > 0) & category
        cat_text = text + " (category " + out["category_type"].astype(str).str.cat(
            out["category"].astype(str), sep=": ").reset_index(drop=True) + ")"
        category_note = category_note.where(~pd.Series(outside) | category_note.notna(), cat_text)
    derived["value_outside_ci_by_rounding"] = rounding_note.astype(pd.StringDtype("pyarrow"))
    derived["category_value_outside_ci"] = category_note.astype(pd.StringDtype("pyarrow"))

    note = out["value_note"].astype(object).where(out["value_note"].notna(), None)
    suppressed = np.isnan(value) & note.notna().to_numpy()
    derived["suppressed_value"] = _text(suppressed, note.fillna("").astype(str).reset_index(drop=True))
    for name, series in derived.items():
        series.index = index
        out[name] = series
    return out


def content_sha256(frame: pd.DataFrame, columns: list[str]) -> str:
    """sha256 of the rows' published content (``columns`` in order, rows in published order): equal hashes mean
    the indicator's content did not change."""
    digest = hashlib.sha256(",".join(columns).encode("utf-8"))
    if len(frame):
        hashed = pd.util.hash_pandas_object(frame[columns].astype(str), index=False)
        digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()
