"""Fingertips (fingertips.phe.org.uk): the API client and the all_data CSV parser.

Names are re-exported lazily so that importing the package (e.g. from a DAG file) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Area": "client",
    "FingertipsClient": "client",
    "FingertipsError": "client",
    "IndicatorMeta": "client",
    "LandedFile": "client",
    "REQUIRED_COLUMNS": "parse",
    "FingertipsParseError": "parse",
    "parse_all_data_csv": "parse",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
