"""Scheduled outputs built from the warehouse: the performance report and the BCF return."""

from __future__ import annotations

from typing import Any

from public_health.periods import FinancialQuarter


def require_quarter(quarter: Any) -> FinancialQuarter:
    """``quarter`` itself, when it is a FinancialQuarter. A report's entry points take the object the
    caller parsed once at its boundary; a label string is refused (TypeError), never re-parsed here."""
    if not isinstance(quarter, FinancialQuarter):
        raise TypeError(f"quarter must be a FinancialQuarter (parse it once: FinancialQuarter.parse({quarter!r})), "
                        f"not {type(quarter).__name__}")
    return quarter
